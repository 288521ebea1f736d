"""LLaVA-1.5 / MobileVLM: the fixed-size branch of ``clip_image_preprocess`` at llama.cpp c392e50.

Source: ggerganov/llama.cpp c392e5094deaf2d1a7c18683214f007fad3fe42b, examples/llava/clip.cpp,
``clip_image_preprocess`` after the projector dispatch. Steps:
1. pad-to-square (when on and the image is not square): a square of the longer side filled with
   (122, 116, 104), the image copied at the top-left corner (LLaVA's ``expand2square`` centres it);
2. an inline bilinear (half-pixel centres, rounded) so the longer side becomes ``image_size``;
3. normalize into a float buffer of image_size x image_size x 3 written with the *resized* row stride:
   when the resized image is not square (spatial_unpad without pinpoints), its rows are packed one after
   the other and the tail of the buffer stays 0.0;
4. ``inp_raw``: that buffer read as image_size x image_size, CHW planar.
"""

from __future__ import annotations

import numpy as np

from parity.families import llava
from parity.impls.llamacpp_legacy.config import LegacyConfig
from parity.kernels.clip_legacy import (
    fixed_resize_size_llamacpp_legacy,
    normalize_llamacpp_legacy,
    pad_to_square_llamacpp_legacy,
    resize_bilinear_fixed_llamacpp_legacy,
    to_planar_llamacpp_legacy,
)
from parity.trace import TraceBuilder

PAD_COLOUR = (122, 116, 104)  # clip.cpp's constant: LLaVA's CLIP mean * 255


def plan_fixed(width: int, height: int, cfg: LegacyConfig) -> tuple[llava.LlavaPlan, bool]:
    """(the plan, whether the resized image's rows are packed into a larger buffer)."""
    pad = cfg.pad_to_square and width != height
    side = max(width, height)
    w, h = (side, side) if pad else (width, height)
    _, nx3, ny3 = fixed_resize_size_llamacpp_legacy(w, h, cfg.image_size)
    packed = (nx3, ny3) != (cfg.image_size, cfg.image_size)
    tokens = llava.tokens_llamacpp(cfg.image_size, cfg.patch_size, cfg.projector)
    plan = llava.make_plan((height, width), (h, w), (ny3, nx3), (0, 0, ny3, nx3), tokens,
                           canvas=(cfg.image_size, cfg.image_size))
    return plan, packed


def fixed_buffer(normalized: np.ndarray, image_size: int) -> np.ndarray:
    """The clip_image_f32 buffer (image_size, image_size, 3): the normalized pixels in row order with
    their own row stride, the rest 0.0 (the buffer is zero-initialised by ``buf.resize``)."""
    flat = np.zeros(image_size * image_size * 3, dtype=np.float32)
    flat[: normalized.size] = normalized.reshape(-1)
    return flat.reshape(image_size, image_size, 3)


def stages_fixed(rgb: np.ndarray, cfg: LegacyConfig, tb: TraceBuilder) -> None:
    h, w = rgb.shape[:2]
    plan, packed = plan_fixed(w, h, cfg)
    padded = plan.padded_square != plan.image_size
    how = "pad-to-square: image at the top-left of a (122, 116, 104) square" if padded else "no pad"
    if packed:
        how += "; the resized rows are packed into the fixed-size buffer"
    tb.add("plan", plan.to_dict(), "plan", note="; ".join(("fixed (clip.cpp c392e50): " + how, *cfg.notes)))
    src = rgb
    if padded:
        src = tb.add("pad", pad_to_square_llamacpp_legacy(rgb, PAD_COLOUR), "HWC",
                     note="image at the top-left of a (122, 116, 104) square")
    resized = tb.add("resize", resize_bilinear_fixed_llamacpp_legacy(src, cfg.image_size), "HWC",
                     note="clip_image_preprocess's inline bilinear (half-pixel centres, rounded)")
    normalized = normalize_llamacpp_legacy(resized, cfg.image_mean, cfg.image_std)
    buf = fixed_buffer(normalized, cfg.image_size)
    tb.add("normalize", buf[None], "slices,H,W,C (clip_image_f32.buf)",
           note="rows packed with the resized width, tail 0.0" if packed else "")
    tb.add("pack", to_planar_llamacpp_legacy(buf)[None], "batch,C,H,W",
           note="inp_raw: one image, CHW planar")
