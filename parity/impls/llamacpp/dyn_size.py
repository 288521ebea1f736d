"""``mtmd_image_preprocessor_dyn_size`` (Qwen2/2.5/3-VL, Pixtral, Phi-4, Gemma 4): smart resize.

Source: ggml-org/llama.cpp tools/mtmd/mtmd-image.cpp at commit 0c1e570, ``calc_size_preserved_ratio``.
All of it is float32 arithmetic with ``std::round`` (half away from zero), not Python's float64 and
half-to-even ``round``: a side of 70 with factor 28 is 2.5 factors and becomes 84 here (56 in Python).
The target is then reached through ``img_tool::resize`` with ``image_resize_pad`` (``PAD_CEIL`` by
default: an aspect-preserving resize inside the target, padded with black).
"""

from __future__ import annotations

import math

import numpy as np

from parity.impls.llamacpp.hparams import ClipHparams
from parity.impls.llamacpp.resize import Preprocessed, resize_llamacpp
from parity.kernels.pad_llamacpp import round_half_away_f32

f32 = np.float32


def _by_factor(x: np.float32, f: int, how: str) -> int:
    q = f32(x) / f32(f)  # float division, as the C++ lambdas
    if how == "round":
        return round_half_away_f32(q) * f
    return (math.ceil(float(q)) if how == "ceil" else math.floor(float(q))) * f


def smart_resize_llamacpp(width: int, height: int, align: int, min_pixels: int = 0, max_pixels: int = 0,
                          longest_edge: int = 0) -> tuple[int, int]:
    """``img_tool::calc_size_preserved_ratio`` -> (width, height); 0 disables a limit."""
    if align <= 0:
        raise ValueError(f"align must be positive, got {align}")
    if width <= 0 or height <= 0:
        return 0, 0
    if longest_edge > 0:
        scale = min(f32(longest_edge) / f32(width), f32(longest_edge) / f32(height))
        w_bar = _by_factor(f32(width) * scale, align, "ceil")
        h_bar = _by_factor(f32(height) * scale, align, "ceil")
    else:
        w_bar = max(align, _by_factor(f32(width), align, "round"))
        h_bar = max(align, _by_factor(f32(height), align, "round"))
    if max_pixels > 0 and h_bar * w_bar > max_pixels:
        beta = np.sqrt(f32(height) * f32(width) / f32(max_pixels), dtype=np.float32)
        h_bar = max(align, _by_factor(f32(height) / beta, align, "floor"))
        w_bar = max(align, _by_factor(f32(width) / beta, align, "floor"))
    elif min_pixels > 0 and h_bar * w_bar < min_pixels:
        beta = np.sqrt(f32(min_pixels) / (f32(height) * f32(width)), dtype=np.float32)
        h_bar = _by_factor(f32(height) * beta, align, "ceil")
        w_bar = _by_factor(f32(width) * beta, align, "ceil")
    return w_bar, h_bar


def preprocess_dyn_size(img: np.ndarray, hp: ClipHparams) -> Preprocessed:
    h, w = img.shape[:2]
    if hp.image_min_pixels <= 0 or hp.image_max_pixels <= 0:
        raise ValueError("dyn_size needs image_min_pixels and image_max_pixels (GGML_ASSERT in the C++)")
    align = hp.patch_size * hp.n_merge
    tw, th = smart_resize_llamacpp(w, h, align, hp.image_min_pixels, hp.image_max_pixels)
    step = resize_llamacpp(img, tw, th, hp.resize_algo, hp.resize_pad, hp.pad_color, "image")
    plan = {"preprocessor": "dyn_size", "original": [w, h], "align": align,
            "min_pixels": hp.image_min_pixels, "max_pixels": hp.image_max_pixels, "target": [tw, th],
            "resize": [step.plan], "chunks": ["image"]}
    return Preprocessed(plan, (step,), (step.output,), ("image",))
