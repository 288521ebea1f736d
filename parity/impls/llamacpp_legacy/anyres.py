"""LLaVA-1.6 "anyres" at llama.cpp c392e50: best pinpoint, resize_and_pad, patches, overview first.

Source: ggerganov/llama.cpp c392e5094deaf2d1a7c18683214f007fad3fe42b, examples/llava/clip.cpp:
``select_best_resolution``, ``resize_and_pad_image``, ``divide_to_patches_u8`` and the anyres branch of
``clip_image_preprocess`` (taken when the mmproj has pinpoints and the image is not padded to a square).

- candidates are the file's pinpoints read as (width, height); the best keeps the most effective pixels
  ``min(int(w0 * s) * int(h0 * s), w0 * h0)`` with float32 ``s``, ties to the least waste, then the
  first in file order;
- resize_and_pad: bicubic_resize (clip.cpp's 4-point cubic) to fit, centred on black;
- the canvas is cut into image_size patches row by row; the overview is the *original* image
  bicubic-resized to image_size x image_size (aspect not kept) and goes first.
"""

from __future__ import annotations

import numpy as np

from parity.arrays import stack_or_tuple
from parity.errors import ParityError
from parity.families import llava_next
from parity.impls.llamacpp_legacy.config import LegacyConfig
from parity.kernels.clip_legacy import (
    divide_to_patches_llamacpp_legacy,
    normalize_llamacpp_legacy,
    resize_and_pad_llamacpp_legacy,
    resize_and_pad_size_llamacpp_legacy,
    resize_bicubic_llamacpp_legacy,
    to_planar_llamacpp_legacy,
)
from parity.trace import TraceBuilder

F32 = np.float32
INT_MAX = 2**31 - 1
SLICE_ORDER = "overview first, then patches row-major"


def select_best_resolution(width: int, height: int,
                           candidates: tuple[tuple[int, int], ...]) -> tuple[int, int] | None:
    """clip.cpp ``select_best_resolution`` over (width, height) candidates; None without candidates.

    The running maximum starts at 0 effective pixels and INT_MAX waste, so a candidate whose truncated
    size is 0 pixels can still be chosen when nothing beats it."""
    best, best_eff, best_waste = None, 0, INT_MAX
    for w, h in candidates:
        scale = min(F32(w) / F32(width), F32(h) / F32(height))
        eff = min(int(F32(width) * scale) * int(F32(height) * scale), width * height)
        waste = w * h - eff
        if eff > best_eff or (eff == best_eff and waste < best_waste):
            best, best_eff, best_waste = (w, h), eff, waste
    return best


def plan_anyres(width: int, height: int, cfg: LegacyConfig) -> llava_next.LlavaNextPlan:
    best = select_best_resolution(width, height, cfg.pinpoints)
    if best is None:
        raise ParityError(f"no usable pinpoint for a {width}x{height} image among {list(cfg.pinpoints)}")
    bw, bh = best
    new_w, new_h, pad_x, pad_y = resize_and_pad_size_llamacpp_legacy(width, height, bw, bh)
    s = cfg.image_size
    grid = (-(-bh // s), -(-bw // s))
    tokens = llava_next.tokens_llamacpp(1 + grid[0] * grid[1], s, cfg.patch_size)
    return llava_next.make_plan((height, width), (bh, bw), (new_h, new_w), (pad_y, pad_x), grid, s, True, tokens)


def stages_anyres(rgb: np.ndarray, cfg: LegacyConfig, tb: TraceBuilder) -> None:
    h, w = rgb.shape[:2]
    plan = plan_anyres(w, h, cfg)
    how = (f"anyres (clip.cpp c392e50): pinpoints (w, h) {[list(p) for p in cfg.pinpoints]}; {SLICE_ORDER}")
    tb.add("plan", plan.to_dict(), "plan", note="; ".join((how, *cfg.notes)))
    bh, bw = plan.best_resolution
    resized, canvas = resize_and_pad_llamacpp_legacy(rgb, bw, bh)
    tb.add("resize", resized, "HWC", note="bicubic_resize inside resize_and_pad_image")
    tb.add("pad", canvas, "HWC", note="refined image centred on black (resize_and_pad_image)")
    overview = resize_bicubic_llamacpp_legacy(rgb, cfg.image_size, cfg.image_size)
    slices = (overview, *divide_to_patches_llamacpp_legacy(canvas, cfg.image_size))
    tb.add("tiles", stack_or_tuple(slices), "slices,H,W,C",
           note=SLICE_ORDER + "; the overview is bicubic_resize of the whole image to image_size square")
    normalized = tuple(normalize_llamacpp_legacy(t, cfg.image_mean, cfg.image_std) for t in slices)
    tb.add("normalize", stack_or_tuple(normalized), "slices,H,W,C")
    tb.add("pack", stack_or_tuple(tuple(to_planar_llamacpp_legacy(n) for n in normalized)), "patches,C,H,W",
           note="inp_raw of each clip_image_encode call, in slice order (overview first)")
