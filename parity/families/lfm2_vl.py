"""LFM2-VL geometry (LiquidAI): a smart resize to whole 32-pixel cells within a token budget, or -- for an
image too large for one tile -- 512-pixel tiles on the grid closest to its aspect ratio plus a thumbnail.

As transformers 5.23.0 ``models/lfm2_vl/image_processing_lfm2_vl.py`` (``Lfm2VlImageProcessor``) and
``processing_lfm2_vl.py`` compute it:

1. factor = encoder_patch_size * downsample_factor (16 * 2 = 32); the pixel budget is
   [min_image_tokens, max_image_tokens] * patch^2 * downsample^2 (64..256 tokens: 65,536..262,144 px).
2. Too large for one tile: each side rounded to the factor (Python ``round``, half to even; at least one
   *patch*) and the product above max_pixels * max_pixels_tolerance (2.0).
3. Smart resize (``smart_resize``): each side rounded to the factor (at least one factor); above the
   budget both shrink by beta = sqrt(h*w / max_pixels) with floor (at least one factor), below it both
   grow with ceil. The result is the single image, or the thumbnail of a tiled one.
4. Tiled (too large, and splitting on): the (cols, rows) grid among min_tiles..max_tiles tiles whose
   cols/rows is closest to w/h (``tile_ratios``: candidates sorted by area; on an exact tie the later grid
   wins if the image's area exceeds half the grid's), the image resized to (rows*512, cols*512) and cut
   row-major; the thumbnail (step 3's size) follows when ``use_thumbnail`` and the grid is not 1x1.
5. Every image is normalized, cut into 16x16 patches (row-major, each patch (P, P, C)) and padded to
   ``max_num_patches`` rows with a mask.

Runtimes: llama.cpp mtmd 0c1e570 (``mtmd_image_preprocessor_lfm2``) does the same decisions in float32 with
``std::round``/``nearbyint`` and std::sort (its tile resize pads to keep the aspect ratio: ``PAD_CEIL``); Ollama
f63eea3 (``model/models/lfm2/process_image.go``) in float64 with ``math.RoundToEven`` and Go's pdqsort.

Tokens (transformers ``Lfm2VlProcessor._build_image_tokens`` with ``use_image_special_tokens``; llama.cpp
``init_vision`` PROJECTOR_TYPE_LFM2 and ``clip_n_output_tokens``; Ollama ``PostTokenize``): ``<|image_start|>``,
per tile ``<|img_row_R_col_C|>`` + (tile/patch/ds)^2 embeddings, ``<|img_thumbnail|>`` + the thumbnail's
ceil(h/patch/ds) * ceil(w/patch/ds), ``<|image_end|>``; a single image is start + its embeddings + end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from parity.families.base import Plan, Tokens, summary_fields
from parity.families.qwen2_vl import fit_pixel_budget


def smart_resize_hf(height: int, width: int, patch: int, downsample: int, min_tokens: int,
                    max_tokens: int) -> tuple[int, int]:
    """Step 3 -> (h, w), transformers' float64 arithmetic and half-to-even ``round``."""
    factor = patch * downsample
    min_pixels = min_tokens * patch * patch * downsample * downsample
    max_pixels = max_tokens * patch * patch * downsample * downsample
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    return fit_pixel_budget(height, width, h_bar, w_bar, factor, min_pixels, max_pixels)


def too_large_hf(height: int, width: int, patch: int, downsample: int, max_tokens: int,
                 tolerance: float) -> bool:
    """Step 2 (``_is_image_too_large``)."""
    factor = patch * downsample
    h_bar = max(patch, round(height / factor) * factor)
    w_bar = max(patch, round(width / factor) * factor)
    return h_bar * w_bar > max_tokens * patch * patch * downsample * downsample * tolerance


def tokens_per_tile(tile: int, patch: int, downsample: int) -> int:
    """``_compute_tokens_per_tile``: ceil((tile // patch) / downsample)^2."""
    n = math.ceil((tile // patch) / downsample)
    return n * n


def tokens_for_image(hw, patch: int, downsample: int) -> int:
    """``_compute_tokens_for_image``: ceil((h // patch) / ds) * ceil((w // patch) / ds)."""
    return math.ceil((hw[0] // patch) / downsample) * math.ceil((hw[1] // patch) / downsample)


def tokens(grid, tile_tokens: int, thumbnail_tokens: int, thumbnail: bool) -> Tokens:
    """Start/end, a row/col marker per tile, the thumbnail marker: the same layout in all three runtimes
    (each with its own embedding counts)."""
    rows, cols = grid
    if rows * cols > 1:
        n = rows * cols * tile_tokens + (thumbnail_tokens if thumbnail else 0)
        return Tokens(n + 2 + rows * cols + (1 if thumbnail else 0), n)
    return Tokens(thumbnail_tokens + 2, thumbnail_tokens)


@dataclass(frozen=True)
class Lfm2VlPlan(Plan):
    tiled: bool  # split into tiles (step 4) rather than resized whole (step 3)
    tile_size: int  # side of a tile
    thumbnail: tuple[int, int]  # [h, w] of the smart-resized image: the single image, or the tiled one's thumbnail
    has_thumbnail: bool  # the thumbnail is encoded after the tiles


def make_plan(image_hw, tiled: bool, resized, grid, tile: int, thumbnail_hw, has_thumbnail: bool, tok: Tokens,
              canvas=None, pad_offset=(0, 0)) -> Lfm2VlPlan:
    """One impl's plan. ``resized``: the tiled image (rows*tile, cols*tile) -- or, with a pad, the image inside
    ``canvas`` -- else the single image."""
    grid = tuple(grid) if tiled else (1, 1)
    n_images = grid[0] * grid[1] + (1 if has_thumbnail else 0) if tiled else 1
    return Lfm2VlPlan(**summary_fields(image_hw, resized, canvas, pad_offset, grid, n_images, tok), tiled=tiled,
                      tile_size=int(tile), thumbnail=tuple(int(s) for s in thumbnail_hw),
                      has_thumbnail=bool(has_thumbnail))
