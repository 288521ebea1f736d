"""Gemma 4 in ollama f63eea3: ``model/models/gemma4/process_image.go`` and ``model.go``.

No alpha composite (``draw.BiLinear.Scale`` with ``draw.Over`` from the decoded image: transparent
pixels end up over black). Size: scale the area to maxPixels = 280 tokens * (patch*nMerge)^2, floor
each side to a multiple of patch*nMerge (at least one); pack channel-first as float32
``v/255*2 - 1``. Defaults when the GGUF lacks the keys: patch 16, nMerge 3.
"""

from __future__ import annotations

import math

import numpy as np

from parity.decode.go import GoImage
from parity.families import gemma4 as geometry
from parity.trace import TraceBuilder

from .imageproc import resize_bilinear_ollama, rgb_of, setting

MAX_TOKENS = 280


def plan_gemma4(height: int, width: int, patch: int, n_merge: int) -> dict:
    align = patch * n_merge
    max_pixels = MAX_TOKENS * patch * patch * n_merge * n_merge
    if width * height > 0:
        factor = math.sqrt(max_pixels / (width * height))
        th = max(align, math.floor(factor * height / align) * align)
        tw = max(align, math.floor(factor * width / align) * align)
    else:  # an empty image (a JPEG of width or height 0 decodes to 0 x 0): Go's other branch
        th, tw = max(align, height // align * align), max(align, width // align * align)
    grid = (th // patch, tw // patch)
    return geometry.make_plan((height, width), (th, tw), patch, max_pixels // (patch * patch),
                              geometry.tokens_ollama(grid, n_merge)).to_dict()


def stages_gemma4(img: GoImage, preset, tb: TraceBuilder) -> None:
    patch = int(setting(preset, "patch_size", 16))
    n_merge = int(setting(preset, "pooling_kernel_size", 3))
    h, w = img.size
    plan = tb.add("plan", plan_gemma4(h, w, patch, n_merge), "plan")
    resized = resize_bilinear_ollama(img, tuple(plan["resized"]))
    tb.add("resize", rgb_of(resized), "HWC", note="RGBA premultiplied (over black)")
    chw = np.moveaxis(resized[..., :3], -1, 0).astype(np.float32)
    chw /= np.float32(255.0)
    chw *= np.float32(2.0)
    chw -= np.float32(1.0)
    tb.add("normalize", chw, "C,H,W")
    tb.add("pack", chw, "C,H,W")
