"""Idefics3 / SmolVLM reference: transformers' ``Idefics3ImageProcessorPil`` (PIL backend), called
whole. The authors (HuggingFaceM4 for Idefics3, HuggingFaceTB for SmolVLM) wrote this processor and
publish no other preprocessing; the models were trained with the PIL/NumPy processor (LANCZOS via
PIL), which is why the PIL backend and not the torchvision one (torchvision's own LANCZOS kernel, the
``AutoImageProcessor`` default with torchvision >= 0.27) is the reference. So ``reference`` equals
``hf-pil`` by construction; the plan is ``parity.families.idefics3``.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from parity.families import idefics3
from parity.impls.transformers_processors import make_processor
from parity.trace import TraceBuilder


def stages(rgb: np.ndarray, preset, tb: TraceBuilder) -> None:


    h, w = rgb.shape[:2]
    seq_len = idefics3.image_seq_len(preset["tile_size"], preset["patch_size"], preset["scale_factor"])
    plan = idefics3.plan(h, w, preset["longest_edge"], preset["tile_size"], preset["do_image_splitting"], seq_len)
    tb.add("plan", plan.to_dict(), "plan", note="parity.families.idefics3")
    out = make_processor(preset, "pil")(Image.fromarray(rgb), return_tensors="np")
    tb.add("pack", np.asarray(out["pixel_values"])[0], "images,C,H,W")
    tb.add("pixel_attention_mask", np.asarray(out["pixel_attention_mask"])[0], "images,H,W")
