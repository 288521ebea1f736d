"""MiniCPM-V slicing (LLaVA-UHD style) at llama.cpp c392e50, overview first.

Sources: ggerganov/llama.cpp c392e5094deaf2d1a7c18683214f007fad3fe42b, examples/llava/clip.cpp
(``ensure_divide``, ``uhd_find_best_resize``, ``uhd_get_refine_size``, ``uhd_best_grid``,
``uhd_slice_image``, the MiniCPM-V branch of ``clip_image_preprocess``) and examples/llava/llava.cpp
(``encode_image_with_clip`` encodes each slice after ``reshape_by_patch`` with patch size 14).

``uhd_slice_image`` runs with its default arguments: at most 9 slices, scale_resolution 448, patch 14.
``multiple = min(ceil(w * h / 448^2), 9)``; with ``multiple <= 1`` only the overview exists (upscaling
allowed), else the overview keeps the aspect under 448^2 pixels, the grid minimises
``|log(w / h) - log(cols / rows)|`` over the factorisations of multiple - 1, multiple, multiple + 1
(first minimum wins), and the refined image (every side a multiple of 14 per slice) is cut row by row.
All resizes are clip.cpp's bicubic_resize. The float arithmetic follows the C++: float32 ratios,
``std::round`` half away from zero, double ``log`` narrowed to float.
"""

from __future__ import annotations

import math

import numpy as np

from parity.arrays import stack_or_tuple
from parity.families import minicpmv
from parity.impls.llamacpp_legacy.config import LegacyConfig
from parity.kernels.clip_legacy import (
    normalize_llamacpp_legacy,
    reshape_by_patch_llamacpp_legacy,
    resize_bicubic_llamacpp_legacy,
    to_planar_llamacpp_legacy,
)
from parity.trace import TraceBuilder

F32 = np.float32
MAX_SLICE_NUMS = 9
SCALE_RESOLUTION = 448
SLICE_ORDER = "overview first, then slices row-major"
#: clip_n_patches for MiniCPM-V: resampler queries per image by minicpmv_version (2: 2.5, 3: 2.6, 4: o-2.6)
QUERY_NUM = {2: 96, 3: 64, 4: 64}
PATCH_SIZE = 14  # uhd_slice_image's default, and llava.cpp's hard-coded reshape_by_patch size


def _round_half_away(x: np.float32) -> float:
    return math.floor(float(x) + 0.5) if x >= 0 else math.ceil(float(x) - 0.5)


def ensure_divide(length: int, patch_size: int) -> int:
    """``max(int(round((float)length / patch_size) * patch_size), patch_size)``."""
    q = F32(length) / F32(patch_size)
    return max(int(F32(_round_half_away(q)) * F32(patch_size)), patch_size)


def find_best_resize(width: int, height: int, allow_upscale: bool,
                     scale_resolution: int = SCALE_RESOLUTION, patch_size: int = PATCH_SIZE) -> tuple[int, int]:
    """``uhd_find_best_resize``: (width, height)."""
    if width * height > scale_resolution * scale_resolution or allow_upscale:
        r = F32(width) / F32(height)
        height = int(F32(scale_resolution) / np.sqrt(r))
        width = int(F32(height) * r)
    return ensure_divide(width, patch_size), ensure_divide(height, patch_size)


def best_grid(multiple: int, log_ratio: np.float32, max_slice_nums: int = MAX_SLICE_NUMS) -> tuple[int, int]:
    """``uhd_best_grid``: (cols, rows)."""
    nums = [i for i in (multiple - 1, multiple, multiple + 1) if i != 1 and i <= max_slice_nums]
    grids = [(m, n // m) for n in nums for m in range(1, n + 1) if n % m == 0]
    best, min_error = (1, 1), F32(np.inf)
    for cols, rows in grids:
        error = F32(abs(float(log_ratio) - math.log(1.0 * cols / rows)))  # double, stored as float
        if error < min_error:
            best, min_error = (cols, rows), error
    return best


def refine_size(width: int, height: int, grid: tuple[int, int]) -> tuple[int, int]:
    """``uhd_get_refine_size`` with allow_upscale = true: (width, height)."""
    cols, rows = grid
    gw = ensure_divide(width, cols) // cols
    gh = ensure_divide(height, rows) // rows
    bw, bh = find_best_resize(gw, gh, True)
    return bw * cols, bh * rows


def slice_multiple(width: int, height: int) -> int:
    """``multiple = fmin(ceil(ratio), max_slice_nums)`` with the float ``ratio = w * h / 448^2``."""
    ratio = F32(1.0 * width * height / (SCALE_RESOLUTION * SCALE_RESOLUTION))
    return int(min(math.ceil(ratio), MAX_SLICE_NUMS))


def plan_uhd(width: int, height: int, query_num: int = 64) -> minicpmv.MiniCPMVPlan:
    log_ratio = F32(math.log(1.0 * width / height))
    multiple = slice_multiple(width, height)
    if multiple <= 1:
        ow, oh = find_best_resize(width, height, True)
        return minicpmv.make_plan((height, width), (oh, ow), (0, 0), (0, 0), PATCH_SIZE, True,
                                  minicpmv.tokens_llamacpp_legacy((0, 0), query_num))
    ow, oh = find_best_resize(width, height, False)
    cols, rows = best_grid(multiple, log_ratio)
    rw, rh = refine_size(width, height, (cols, rows))
    return minicpmv.make_plan((height, width), (oh, ow), (rows, cols), (rh, rw), PATCH_SIZE, True,
                              minicpmv.tokens_llamacpp_legacy((rows, cols), query_num))


def stages_uhd(rgb: np.ndarray, cfg: LegacyConfig, tb: TraceBuilder) -> None:
    h, w = rgb.shape[:2]
    plan = plan_uhd(w, h, QUERY_NUM.get(cfg.minicpmv_version, 64))
    how = (f"minicpmv-uhd (clip.cpp c392e50): max {MAX_SLICE_NUMS} slices, scale_resolution "
           f"{SCALE_RESOLUTION}, patch {PATCH_SIZE}; multiple {slice_multiple(w, h)}; {SLICE_ORDER}")
    tb.add("plan", plan.to_dict(), "plan", note="; ".join((how, *cfg.notes)))
    oh, ow = plan.resized
    overview = resize_bicubic_llamacpp_legacy(rgb, ow, oh)
    slices: tuple[np.ndarray, ...] = (overview,)
    if plan.num_images == 1:
        tb.add("resize", overview, "HWC", note="overview only (multiple <= 1)")
    else:
        rh, rw = plan.refined
        refined = resize_bicubic_llamacpp_legacy(rgb, rw, rh)
        tb.add("resize", (overview, refined), "HWC", note="overview, refined")
        rows, cols = plan.grid
        sh, sw = rh // rows, rw // cols
        slices += tuple(refined[r * sh:(r + 1) * sh, c * sw:(c + 1) * sw] for r in range(rows) for c in range(cols))
    tb.add("tiles", stack_or_tuple(slices), "slices,H,W,C", note=SLICE_ORDER)
    normalized = tuple(normalize_llamacpp_legacy(s, cfg.image_mean, cfg.image_std) for s in slices)
    tb.add("normalize", stack_or_tuple(normalized), "slices,H,W,C")
    packed = tuple(to_planar_llamacpp_legacy(reshape_by_patch_llamacpp_legacy(n, PATCH_SIZE)) for n in normalized)
    tb.add("pack", stack_or_tuple(packed), "slices,C,14,14*patches (reshape_by_patch)",
           note="inp_raw of each clip_image_encode call, in slice order: llava.cpp reshape_by_patch lays each "
                "slice's 14x14 patches side by side in a 14-px strip, then CHW planar")
