"""Qwen2-VL / Qwen2.5-VL / Qwen3-VL reference: QwenLM's qwen-vl-utils, then the HF processor, as the
model cards' pipeline does.

Pipeline (Qwen2.5-VL and Qwen3-VL READMEs): ``process_vision_info(messages)`` calls qwen-vl-utils
``fetch_image`` (qwen-vl-utils 0.0.14 ``vision_process.py``): ``to_rgb``, its own ``smart_resize``
(factor = image_patch_size * 2, budget 4..16384 tokens) and ``PIL.Image.resize`` with Pillow's default
filter (bicubic); the resized image then goes to ``AutoProcessor`` — transformers 5.23's default for
Qwen2VLImageProcessor is the torchvision backend — with ``do_resize`` left on for Qwen2/2.5-VL (a
no-op on factor-aligned sizes inside the processor's budget) and ``do_resize=False`` for Qwen3-VL.

Findings this surfaces against hf-*: qwen-vl-utils' smart_resize clamps each rounded side to at least
one factor before the budget check, so thin images (e.g. 13x2600 -> 28x2604, not 28x812) keep more pixels than under
transformers' smart_resize; for Qwen3-VL its 4-token minimum (4096 px) is far below the processor's
65536 px, so small images stay small.

Decode: the ``pil-hf`` policy. qwen-vl-utils ``to_rgb`` pastes RGBA over white with the alpha as mask
(the same pixels as ``pil-hf``'s alpha composite, checked on random RGBA) but ``convert('RGB')``s every
other mode, dropping the alpha of LA, PA and palette-with-tRNS images, which ``pil-hf`` composites
over white: for those three modes this reference's decode is not the authors'.
"""

from __future__ import annotations

import numpy as np
import qwen_vl_utils.vision_process as qvu
from PIL import Image

from parity.errors import ParityError
from parity.families import qwen2_vl as geometry
from parity.impls.transformers_processors import make_processor
from parity.trace import TraceBuilder


def stages(rgb: np.ndarray, preset, tb: TraceBuilder) -> None:


    patch, merge = preset["patch_size"], preset["merge_size"]
    factor = patch * merge
    min_pixels = preset["reference_min_tokens"] * factor * factor
    max_pixels = preset["reference_max_tokens"] * factor * factor
    h, w = rgb.shape[:2]
    try:
        rh, rw = qvu.smart_resize(h, w, factor=factor, min_pixels=min_pixels, max_pixels=max_pixels)
        image = qvu.fetch_image({"image": Image.fromarray(rgb), "min_pixels": min_pixels,
                                 "max_pixels": max_pixels}, image_patch_size=patch)
    except ValueError as e:
        raise ParityError(f"{preset.name}: qwen-vl-utils refuses a {h}x{w} (h x w) image: {e}") from None
    resized = np.asarray(image, dtype=np.uint8)
    proc = make_processor(preset, "torchvision")
    try:
        out = proc(image, do_resize=preset["reference_processor_do_resize"], return_tensors="np")
    except ValueError as e:
        raise ParityError(f"{preset.name}: the HF processor refuses the {rh}x{rw} qwen-vl-utils output: {e}") from None
    thw = np.asarray(out["image_grid_thw"], dtype=np.int64)
    gh, gw = int(thw[0, 1]), int(thw[0, 2])
    tokens = geometry.tokens_hf((1, gh, gw), merge)
    tb.add("plan", geometry.make_plan((h, w), (rh, rw), patch, tokens, canvas=(gh * patch, gw * patch)).to_dict(),
           "plan",
           note="resized: qwen-vl-utils smart_resize; grid: the HF processor on its output")
    tb.add("resize", resized, "HWC", note="qwen-vl-utils fetch_image (PIL bicubic)")
    tb.add("pack", np.asarray(out["pixel_values"]), "patches,C*T*P*P (merge-block order)")
    tb.add("image_grid_thw", thw, "images,thw")
