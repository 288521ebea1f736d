"""Qwen 2.5-VL and Qwen 3-VL in ollama f63eea3: ``model/models/qwen25vl/process_image.go`` and
``model/models/qwen3vl/imageprocessor.go`` (same pipeline, different constants).

Composite over white, ``SmartResize`` (round-half-even to multiples of patch*merge, then shrink with
floor / grow with ceil to the pixel budget; panics below one factor or above aspect 200),
``imageproc.Resize`` bilinear, ``Normalize`` channel-first, ``createPatches``: merge-window order
(2x2 windows row-major, then row-major inside), each patch (C, T, P, P) with the frame copied T times.

Budgets: qwen25vl minPixels 56*56 and maxPixels 2<<20 (``vision.max_pixels`` is not written by
``convert/convert_qwen25vl.go``), CLIP mean/std constants; qwen3vl min from ``vision.shortest_edge``,
max hard-coded 2<<20 (a FIXME in the source), mean/std from the GGUF (the checkpoint's values).
"""

from __future__ import annotations

import numpy as np

from parity.decode.go import GoImage
from parity.errors import ParityError
from parity.families import qwen2_vl as geometry
from parity.families.qwen2_vl import fit_pixel_budget
from parity.trace import TraceBuilder, sealed

from .imageproc import (
    CLIP_MEAN,
    CLIP_STD,
    go_div,
    normalize_chw_ollama,
    resize_bilinear_ollama,
    rgb_of,
    setting,
)

QWEN25VL_MIN_PIXELS = 56 * 56
OLLAMA_MAX_PIXELS = 2 << 20
TEMPORAL_PATCH_SIZE = 2


def smart_resize_ollama(height: int, width: int, factor: int, min_pixels: int, max_pixels: int) -> tuple[int, int]:
    """``SmartResize`` -> (h, w); Go's panics become ParityError."""
    if height < factor or width < factor:
        raise ParityError(f"ollama panics: height:{height} or width:{width} must be larger than factor:{factor}")
    ratio = go_div(max(height, width), min(height, width))  # integer division in Go
    if ratio > 200:
        raise ParityError(f"ollama panics: absolute aspect ratio must be smaller than 200, got {ratio}")
    h_bar = round(height / factor) * factor  # Python round() is round-half-even, as math.RoundToEven
    w_bar = round(width / factor) * factor
    return fit_pixel_budget(height, width, h_bar, w_bar, factor, min_pixels, max_pixels, clamp_down=False)


def patches_qwen_ollama(chw: np.ndarray, patch: int, merge: int) -> np.ndarray:
    """``createPatches``: (C, H, W) -> (num_patches, C * T * P * P) float32, a new read-only array."""
    c, h, w = chw.shape
    gh, gw = h // patch, w // patch
    x = chw.reshape(c, gh // merge, merge, patch, gw // merge, merge, patch)
    x = x.transpose(1, 4, 2, 5, 0, 3, 6)  # (gh/m, gw/m, mh, mw, C, P, P)
    out = np.empty((gh * gw, c * TEMPORAL_PATCH_SIZE * patch * patch), dtype=np.float32)
    # the frame copied T times: (.., C, T, P, P), written in one pass
    np.copyto(out.reshape(x.shape[:5] + (TEMPORAL_PATCH_SIZE, patch, patch)), x[:, :, :, :, :, None],
              casting="same_kind")
    return sealed(out)


def _stages(img: GoImage, tb: TraceBuilder, patch: int, merge: int, min_pixels: int, max_pixels: int,
            mean, std) -> None:
    h, w = img.size
    rh, rw = smart_resize_ollama(h, w, patch * merge, min_pixels, max_pixels)
    grid = [1, rh // patch, rw // patch]
    tb.add("plan", geometry.make_plan((h, w), (rh, rw), patch, geometry.tokens_hf(grid, merge)).to_dict(), "plan",
           note=f"pixel budget {min_pixels}..{max_pixels} (Ollama's own limits)")
    resized = resize_bilinear_ollama(img, (rh, rw))
    tb.add("resize", rgb_of(resized), "HWC")
    chw = normalize_chw_ollama(resized, mean, std)
    tb.add("normalize", chw, "C,H,W")
    tb.add("pack", patches_qwen_ollama(chw, patch, merge), "patches,C*T*P*P",
           note="merge-window patch order; ggml tensor (patchDim, numPatches)")
    tb.add("image_grid_thw", np.array([grid], dtype=np.int64), "images,thw")


def stages_qwen25vl(img: GoImage, preset, tb: TraceBuilder) -> None:
    _stages(img, tb, int(setting(preset, "patch_size")), int(setting(preset, "merge_size")),
            QWEN25VL_MIN_PIXELS, OLLAMA_MAX_PIXELS, CLIP_MEAN, CLIP_STD)


def stages_qwen3vl(img: GoImage, preset, tb: TraceBuilder) -> None:
    _stages(img, tb, int(setting(preset, "patch_size")), int(setting(preset, "merge_size")),
            int(setting(preset, "min_pixels")), OLLAMA_MAX_PIXELS,
            setting(preset, "image_mean"), setting(preset, "image_std"))
