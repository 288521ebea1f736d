"""Gemma 4 reference: transformers' ``Gemma4ImageProcessorPil`` (PIL backend), called whole, as the
stand-in for the authors' code (no other Gemma 4 image preprocessing is ported here), so
``reference`` equals ``hf-pil`` by construction. The plan is ``parity.families.gemma4``.
"""

from __future__ import annotations

import numpy as np

from parity.families import gemma4
from parity.trace import TraceBuilder


def version() -> str:
    from importlib.metadata import version as v

    return (f"transformers {v('transformers')} Gemma4ImageProcessorPil (transformers' PIL image processor, "
            f"standing in for the authors' code)")


def stages(rgb: np.ndarray, preset, tb: TraceBuilder) -> None:
    from PIL import Image

    from parity.impls.hf import make_processor

    h, w = rgb.shape[:2]
    plan = gemma4.plan(h, w, preset["patch_size"], preset["max_soft_tokens"], preset["pooling_kernel_size"])
    tb.add("plan", plan.to_dict(), "plan", note="parity.families.gemma4")
    out = make_processor(preset, "pil")(Image.fromarray(rgb), return_tensors="np")
    tb.add("pack", np.asarray(out["pixel_values"])[0], "max_patches,P*P*C (zero rows after the real patches)")
    tb.add("image_position_ids", np.asarray(out["image_position_ids"], dtype=np.int64)[0], "max_patches,xy")
    tb.add("num_soft_tokens_per_image", np.asarray(out["num_soft_tokens_per_image"], dtype=np.int64).reshape(-1),
           "images")
