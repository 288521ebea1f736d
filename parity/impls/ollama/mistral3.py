"""Mistral 3 / Pixtral in ollama f63eea3: ``model/models/mistral3/imageproc.go`` and ``model.go``.

Composite over white; if either side exceeds ``longest_edge``, divide both by the larger ratio and
floor; round each side up to a multiple of the patch size (Go integer division: a side floored to 0
still gets one patch); ``imageproc.Resize`` bilinear to that size (aspect not kept exactly);
``Normalize`` channel-first with CLIP mean/std. ``vision.longest_edge`` is not written by
``convert/convert_mistral.go``, so it is the Go default 1540 (also for a checkpoint whose own limit
is smaller, such as pixtral-12b's 1024: the ``pixtral`` preset runs with its patch size 16 and 1540).
"""

from __future__ import annotations

import math

import numpy as np

from parity.decode.go import GoImage
from parity.families import pixtral as geometry
from parity.trace import TraceBuilder

from .imageproc import (
    CLIP_MEAN,
    CLIP_STD,
    go_div,
    normalize_chw_ollama,
    resize_bilinear_ollama,
    rgb_of,
    setting,
)

OLLAMA_LONGEST_EDGE = 1540


def plan_mistral3(height: int, width: int, patch: int, longest_edge: int, spatial_merge_size: int) -> dict:
    w, h = width, height
    ratio = max(h / longest_edge, w / longest_edge)
    if ratio > 1.0:
        w, h = math.floor(width / ratio), math.floor(height / ratio)
    pw, ph = go_div(w - 1, patch) + 1, go_div(h - 1, patch) + 1
    return geometry.make_plan((height, width), (h, w), (ph * patch, pw * patch), patch,
                              geometry.tokens_ollama((ph, pw), spatial_merge_size)).to_dict()


def stages_mistral3(img: GoImage, preset, tb: TraceBuilder) -> None:
    patch = int(setting(preset, "patch_size"))
    longest = int(setting(preset, "ollama_longest_edge", OLLAMA_LONGEST_EDGE))
    h, w = img.size
    merge = int(setting(preset, "spatial_merge_size", 2))
    plan = tb.add("plan", plan_mistral3(h, w, patch, longest, merge), "plan",
                  note=f"longest edge {longest} (Ollama's hard-coded limit)")
    resized = resize_bilinear_ollama(img, tuple(plan["resized"]))
    tb.add("resize", rgb_of(resized), "HWC")
    chw = normalize_chw_ollama(resized, CLIP_MEAN, CLIP_STD)
    tb.add("normalize", chw, "C,H,W")
    tb.add("pack", chw, "C,H,W")
    tb.add("image_sizes", np.array([plan["resized"]], dtype=np.int64), "images,hw")
