"""Gemma 3 in ollama f63eea3: ``model/models/gemma3/process_image.go`` and ``model.go``.

Composite over white, ``imageproc.Resize`` bilinear to image_size x image_size (no aspect kept, no
pan-and-scan), pack channel-first with mean = std = 0.5 (``ImageNetStandard*``); the encoder input is
``FromFloats(f32s, size, size, channels)``: (C, H, W).
"""

from __future__ import annotations

from parity.decode.go import GoImage
from parity.families import gemma3 as geometry
from parity.trace import TraceBuilder

from .imageproc import (
    STANDARD_MEAN,
    STANDARD_STD,
    normalize_chw_ollama,
    resize_bilinear_ollama,
    rgb_of,
    setting,
)


def stages_gemma3(img: GoImage, preset, tb: TraceBuilder) -> None:
    size = int(setting(preset, "image_size"))
    h, w = img.size
    tokens = geometry.tokens_with_newlines(int(setting(preset, "mm_tokens_per_image", 256)))
    tb.add("plan", geometry.make_plan((h, w), (size, size), (), tokens).to_dict(), "plan")
    resized = resize_bilinear_ollama(img, (size, size))
    tb.add("resize", rgb_of(resized), "HWC")
    pack = normalize_chw_ollama(resized, STANDARD_MEAN, STANDARD_STD)
    tb.add("normalize", pack, "C,H,W")
    tb.add("pack", pack, "C,H,W")
