"""GLM-OCR in ollama f63eea3: ``model/models/glmocr/imageprocessor.go`` (``ImageProcessor``) and ``model.go``.

Composite over white; ``SmartResize`` in float64: a side below the factor (patch*merge = 28) scales both sides up
by factor/min(h, w) with ``math.Ceil`` (transformers truncates with ``int``); an aspect ratio above 200 only logs a
warning (transformers refuses it); sides rounded with ``math.RoundToEven``; the budget counts 2 frames as
transformers does, but the shrink branch has no lower clamp (a side can become 0). ``imageproc.Resize`` with
x/image ``draw.CatmullRom`` (transformers: bicubic), ``Normalize`` channel-first, ``createPatches`` in merge-window
order with each patch copied over the temporal frames (as Qwen2.5-VL's, ``parity.impls.ollama.qwen``).

GGUF values: ``convert/convert_glmocr.go`` writes ``vision.min_pixels`` / ``vision.max_pixels`` from the
checkpoint's size.shortest_edge / longest_edge and its mean/std; the Go defaults (12,544 / 3,211,264 pixels, CLIP
mean/std) apply when a key is missing.
"""

from __future__ import annotations

import math

import numpy as np

from parity.decode.go import GoImage
from parity.errors import ParityError
from parity.families import glm4v as geometry
from parity.kernels.xdraw import resize_kernel_xdraw
from parity.trace import TraceBuilder

from .imageproc import CLIP_MEAN, CLIP_STD, normalize_chw_ollama, rgb_of, setting
from .qwen import patches_qwen_ollama


def smart_resize_glmocr(height: int, width: int, factor: int, min_pixels: int, max_pixels: int,
                        temporal: int = 2) -> tuple[int, int]:
    """``SmartResize`` -> (h, w)."""
    frames = temporal  # numFrames: a single image counts as temporal_patch_size frames
    if height < factor or width < factor:
        scale = float(factor) / float(min(height, width))
        height, width = int(math.ceil(height * scale)), int(math.ceil(width * scale))
    h_bar = round(height / factor) * factor  # math.RoundToEven = Python's round on a float64
    w_bar = round(width / factor) * factor
    t_bar = round(frames / temporal) * temporal
    if t_bar * h_bar * w_bar > max_pixels:
        beta = math.sqrt(float(frames * height * width) / float(max_pixels))
        h_bar = int(math.floor(height / beta / factor)) * factor
        w_bar = int(math.floor(width / beta / factor)) * factor
    elif t_bar * h_bar * w_bar < min_pixels:
        beta = math.sqrt(float(min_pixels) / float(frames * height * width))
        h_bar = int(math.ceil(height * beta / factor)) * factor
        w_bar = int(math.ceil(width * beta / factor)) * factor
    return h_bar, w_bar


def stages_glmocr(img: GoImage, preset, tb: TraceBuilder) -> None:
    patch = int(setting(preset, "patch_size", 14))
    merge = int(setting(preset, "merge_size", 2))
    temporal = int(setting(preset, "temporal_patch_size", 2))
    if temporal != 2:  # createPatches copies each patch over the frames; the port does GLM's 2
        raise ParityError(f"preset {preset.name!r}: temporal_patch_size {temporal} (the ollama glmocr port does 2)")
    factor = patch * merge
    min_pixels = int(setting(preset, "min_pixels", 8 * patch * patch * merge * merge * temporal))
    max_pixels = int(setting(preset, "max_pixels", 2048 * patch * patch * merge * merge * temporal))
    mean, std = setting(preset, "image_mean", CLIP_MEAN), setting(preset, "image_std", CLIP_STD)
    h, w = img.size
    rh, rw = smart_resize_glmocr(h, w, factor, min_pixels, max_pixels, temporal)
    tb.add("plan", geometry.make_plan((h, w), (rh, rw), patch, geometry.tokens((rh, rw), patch, merge)).to_dict(),
           "plan", note=f"pixel budget {min_pixels}..{max_pixels} over {temporal} frames")
    resized = resize_kernel_xdraw(img.pixels, (rh, rw), "catmullrom", gray=img.alpha_one)
    tb.add("resize", rgb_of(resized), "HWC", note="x/image draw.CatmullRom")
    chw = normalize_chw_ollama(resized, mean, std)
    tb.add("normalize", chw, "C,H,W")
    tb.add("pack", patches_qwen_ollama(chw, patch, merge), "patches,C*T*P*P",
           note="merge-window patch order; FromFloats(patchDim, numPatches)")
    tb.add("image_grid_thw", np.array([[1, rh // patch, rw // patch]], dtype=np.int64), "images,thw")
