"""Gemma 3 in ollama f63eea3: ``model/models/gemma3/process_image.go`` and ``model.go``.

Composite over white, ``imageproc.Resize`` bilinear to image_size x image_size (no aspect kept, no
pan-and-scan), pack channel-first with mean = std = 0.5 (``ImageNetStandard*``); the encoder input is
``FromFloats(f32s, size, size, channels)``: (C, H, W).
"""

from __future__ import annotations

from parity.decode.go import GoImage, composite_over_white
from parity.trace import TraceBuilder

from .imageproc import (
    STANDARD_MEAN,
    STANDARD_STD,
    normalize_chw_ollama,
    record_decode,
    resize_bilinear_ollama,
    rgb_of,
    setting,
)


def stages_gemma3(img: GoImage, preset, tb: TraceBuilder) -> None:
    size = int(setting(preset, "image_size"))
    composited = composite_over_white(img)
    record_decode(img, tb, composited)
    h, w = img.size
    tb.add("plan", {"image_size": [h, w], "resized": [size, size], "num_crops": 0}, "plan")
    resized = resize_bilinear_ollama(composited, (size, size))
    tb.add("resize", rgb_of(resized), "HWC")
    pack = normalize_chw_ollama(resized, STANDARD_MEAN, STANDARD_STD)
    tb.add("normalize", pack, "C,H,W")
    tb.add("pack", pack, "C,H,W")
