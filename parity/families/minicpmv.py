"""MiniCPM-V 2.6 slice geometry: a source image near scale_resolution^2 pixels plus up to
``max_slice_nums`` slices of a refined image, all sides multiples of the ViT patch.

As in the checkpoint's remote code ``openbmb/MiniCPM-V-2_6`` ``image_processing_minicpmv.py``
(``MiniCPMVImageProcessor.slice_image`` / ``get_sliced_grid`` / ``find_best_resize`` /
``get_refine_size``); the same functions, unchanged, are in the 2.5-era copy
theonlyengine/VQA_Model@287e3f85 and HwwwwwwwH/MiniCPM-V-2@3ce0a28d ``image_processing_minicpmv.py``.
Sizes are (width, height) in that code; this module takes and returns (h, w).

1. multiple = min(ceil(w * h / res^2), max_slices). If multiple <= 1: no slices; the source is the
   image resized with upscaling allowed (step 2).
2. best resize (w, h): if w * h > res^2 or upscaling is allowed, h' = int(res / sqrt(w / h)),
   w' = int(h' * (w / h)); then each side becomes max(round(side / patch) * patch, patch)
   (Python round: half to even).
3. Grid candidates: every (m, n // m) factorisation of n in {multiple - 1, multiple, multiple + 1}
   with 1 < n <= max_slices; pick the first with the smallest |log(w / h) - log(m / (n // m))|.
   (cols, rows) = (m, n // m).
4. Refine size: each side rounded to a multiple of its grid count (same rounding rule), then the
   per-slice size gets step 2 with upscaling, times the grid.
5. The source is resized (bicubic) to step 2 without upscaling, the refined image to step 4 and cut
   row-major into rows x cols slices; every slice is normalized and reshaped by patch.

Tokens: each image (source or slice) becomes ``query_num`` (64) resampler queries. The remote code's
``get_slice_image_placeholder`` wraps them: ``<image_id>N</image_id>`` (one token per digit),
``<image>`` 64 ``</image>``, then per slice ``<slice>`` 64 ``</slice>`` with a newline between rows.
llama.cpp mtmd 0c1e570 (MINICPMV_2_6 template): no image id, a newline after every row but the last;
c392e50's minicpmv-cli (the 2.5 layout for every version): ``<slice>`` around all slices, each slice
``<image>`` 64 ``</image>``, a newline after every row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from parity.families.base import Plan, Tokens, summary_fields


def ensure_divide(length: float, multiple: int) -> int:
    return max(round(length / multiple) * multiple, multiple)


def best_resize(w: float, h: float, resolution: int, patch: int, allow_upscale: bool) -> tuple[int, int]:
    """Step 2, (w, h) in and out as in the remote code."""
    if w * h > resolution * resolution or allow_upscale:
        r = w / h
        h = int(resolution / math.sqrt(r))
        w = int(h * r)
    return ensure_divide(w, patch), ensure_divide(h, patch)


def sliced_grid(w: int, h: int, resolution: int, max_slices: int) -> tuple[int, int] | None:
    """Step 1 and 3: (cols, rows), or None when the image is not sliced."""
    multiple = min(math.ceil(w * h / (resolution * resolution)), max_slices)
    if multiple <= 1:
        return None
    log_ratio = math.log(w / h)
    best, best_error = (1, 1), math.inf
    for n in (multiple - 1, multiple, multiple + 1):
        if n == 1 or n > max_slices:
            continue
        for m in range(1, n + 1):
            if n % m == 0:
                error = abs(log_ratio - math.log(m / (n // m)))
                if error < best_error:
                    best, best_error = (m, n // m), error
    return best


def refine_size(w: int, h: int, grid: tuple[int, int], resolution: int, patch: int) -> tuple[int, int]:
    """Step 4, (w, h)."""
    cols, rows = grid
    slice_w, slice_h = ensure_divide(w, cols) / cols, ensure_divide(h, rows) / rows
    bw, bh = best_resize(slice_w, slice_h, resolution, patch, allow_upscale=True)
    return bw * cols, bh * rows


def tokens_reference(grid, query_num: int, image_idx: int = 0) -> Tokens:
    rows, cols = grid
    total = 2 + len(str(image_idx)) + query_num + 2
    if rows:
        total += rows * cols * (query_num + 2) + rows - 1
    return Tokens(total, query_num * (1 + rows * cols))


def tokens_llamacpp(grid, query_num: int) -> Tokens:
    rows, cols = grid
    total = query_num + 2 + rows * cols * (query_num + 2) + (rows - 1 if rows else 0)
    return Tokens(total, query_num * (1 + rows * cols))


def tokens_llamacpp_legacy(grid, query_num: int) -> Tokens:
    rows, cols = grid
    total = query_num + 2 + (2 + rows * cols * (query_num + 2) + rows if rows else 0)
    return Tokens(total, query_num * (1 + rows * cols))


@dataclass(frozen=True)
class MiniCPMVPlan(Plan):
    refined: tuple[int, int]  # [h, w] of the image cut into slices; [0, 0] when not sliced
    overview_first: bool  # the source image is encoded before the slices
    tgt_sizes: tuple[tuple[int, int], ...]  # per image [h / patch, w / patch], in encoding order
    image_sizes: tuple[int, int]  # the side output: (w, h), PIL order, as the remote code returns it


def make_plan(image_hw, source_hw, grid, refined_hw, patch: int, overview_first: bool, tokens: Tokens) -> MiniCPMVPlan:
    """One impl's plan: the source (overview) image, and the refined image cut into a [rows, cols]
    grid ([0, 0] and refined [0, 0]: not sliced)."""
    rows, cols = grid
    source = (source_hw[0] // patch, source_hw[1] // patch)
    tiles = ((refined_hw[0] // rows // patch, refined_hw[1] // cols // patch),) * (rows * cols) if rows else ()
    tgt = (source, *tiles) if overview_first else (*tiles, source)
    canvas = refined_hw if rows else source_hw
    return MiniCPMVPlan(**summary_fields(image_hw, source_hw, canvas, (0, 0), grid, 1 + rows * cols, tokens),
                        refined=tuple(refined_hw), overview_first=overview_first, tgt_sizes=tgt,
                        image_sizes=(image_hw[1], image_hw[0]))


def plan(img_h: int, img_w: int, resolution: int, patch: int, max_slices: int, query_num: int = 64) -> MiniCPMVPlan:
    """The remote code's plan (tokens with image id 0)."""
    grid = sliced_grid(img_w, img_h, resolution, max_slices)
    if grid is None:
        sw, sh = best_resize(img_w, img_h, resolution, patch, allow_upscale=True)
        return make_plan((img_h, img_w), (sh, sw), (0, 0), (0, 0), patch, True,
                         tokens_reference((0, 0), query_num))
    sw, sh = best_resize(img_w, img_h, resolution, patch, allow_upscale=False)
    rw, rh = refine_size(img_w, img_h, grid, resolution, patch)
    cols, rows = grid
    return make_plan((img_h, img_w), (sh, sw), (rows, cols), (rh, rw), patch, True,
                     tokens_reference((rows, cols), query_num))
