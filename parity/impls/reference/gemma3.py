"""Gemma 3 reference: transformers' ``Gemma3ImageProcessorPil`` (PIL backend), called whole, as the
stand-in for the authors' code.

Google's own Gemma 3 preprocessing is the JAX ``gemma`` library (google-deepmind/gemma), which is not
ported here (no JAX in this environment); Google's model card points users at transformers'
``Gemma3Processor``, whose image processor is this one. So ``reference`` equals ``hf-pil`` by
construction for this family, and the recipe says so in its version string. The plan is the family
module's statement of the algorithm (``parity.families.gemma3``), checked against the processor's
``num_crops``.
"""

from __future__ import annotations

import numpy as np

from parity.families import gemma3
from parity.trace import TraceBuilder

STAND_IN = "transformers' PIL image processor, standing in for the authors' code"


def version() -> str:
    from importlib.metadata import version as v

    return f"transformers {v('transformers')} Gemma3ImageProcessorPil ({STAND_IN}: Google's JAX code not ported)"


def stages(rgb: np.ndarray, preset, tb: TraceBuilder) -> None:
    from PIL import Image

    from parity.impls.hf import make_processor

    h, w = rgb.shape[:2]
    pas = bool(preset.hf_config.get("do_pan_and_scan") or False)
    plan = gemma3.plan(h, w, preset["image_size"], pas, preset["pan_and_scan_min_crop_size"],
                       preset["pan_and_scan_max_num_crops"], preset["pan_and_scan_min_ratio_to_activate"])
    tb.add("plan", plan.to_dict(), "plan", note="parity.families.gemma3")
    out = make_processor(preset, "pil")(Image.fromarray(rgb), return_tensors="np")
    tb.add("pack", np.asarray(out["pixel_values"]), "images,C,H,W")
    tb.add("num_crops", np.asarray(out["num_crops"], dtype=np.int64).reshape(-1), "images")
