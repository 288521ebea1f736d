"""Llama 4 geometry: choose a tile canvas of up to ``max_patches`` tiles, fit, pad bottom-right, split,
and add a global tile when there is more than one.

As in Meta's llama-models ``models/llama4/preprocess.py`` (``VariableSizeImageTransform``,
llama-models 0.3.0) and transformers ``models/llama4/image_processing_llama4.py`` (5.23.0):

1. Candidates: for n = max_patches .. 1, every factor pair (a, n // a) of n, a ascending, grouped by
   the ratio a / b in first-seen order; each becomes (a * tile, b * tile).
2. Scores are float32 (int tensors divided by an int in torch): scale = min(cw / img_w, ch / img_h).
   If any scale >= 1 take the smallest such, else the largest; among exact float32 ties take the
   first of the smallest area (torch.argmin).
3. Unless ``resize_to_max_canvas``, the canvas side used for fitting is min(max(img side, tile), canvas
   side); fit without distortion with floor (at least 1); pad right/bottom with 0 to the canvas.
4. Split row-major into (rows, cols) tiles; if rows * cols > 1 append the whole image resized to
   tile x tile.

Candidate order: transformers reads each pair as (height, width); llama-models builds the same
(a, b) list but reads it as (width, height). Only exact ties between a canvas and its transpose can
tell them apart.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass

import numpy as np


def factor_pairs(n: int) -> list[tuple[int, int]]:
    """(a, n // a) for every factor a of n, a ascending."""
    return [(a, n // a) for a in range(1, n + 1) if n % a == 0]


def supported_grids(max_patches: int) -> list[tuple[int, int]]:
    """Step 1 as (a, b) pairs, in the reference's order."""
    by_ratio: dict[float, list[tuple[int, int]]] = defaultdict(list)
    for n in range(max_patches, 0, -1):
        for a, b in factor_pairs(n):
            by_ratio[a / b].append((a, b))
    return [pair for pairs in by_ratio.values() for pair in pairs]


def best_canvas(img_h: int, img_w: int, canvases_hw, resize_to_max_canvas: bool = False) -> tuple[int, int]:
    """Step 2 over (h, w) canvases, scored in float32 as the reference's torch code does."""
    c = np.asarray(canvases_hw, dtype=np.int64)
    scale_h = c[:, 0].astype(np.float32) / np.float32(img_h)
    scale_w = c[:, 1].astype(np.float32) / np.float32(img_w)
    scales = np.minimum(scale_h, scale_w)
    up = scales[scales >= 1]
    if len(up):
        chosen = up.max() if resize_to_max_canvas else up.min()
    else:
        chosen = scales[scales < 1].max()
    tied = c[scales == chosen]
    best = tied[np.argmin(tied[:, 0] * tied[:, 1])]
    return int(best[0]), int(best[1])


def fit_size(img_h: int, img_w: int, canvas_h: int, canvas_w: int, tile: int | None) -> tuple[int, int]:
    """Step 3: (new_h, new_w); ``tile`` None = no upscaling limit (resize_to_max_canvas)."""
    if tile is not None:
        canvas_h, canvas_w = min(max(img_h, tile), canvas_h), min(max(img_w, tile), canvas_w)
    scale_w, scale_h = canvas_w / img_w, canvas_h / img_h
    if scale_w < scale_h:
        new_h, new_w = min(math.floor(img_h * scale_w), canvas_h), canvas_w
    else:
        new_h, new_w = canvas_h, min(math.floor(img_w * scale_h), canvas_w)
    return max(new_h, 1), max(new_w, 1)


@dataclass(frozen=True)
class Llama4Plan:
    image_size: tuple[int, int]  # (h, w) decoded
    canvas: tuple[int, int]  # (h, w)
    grid: tuple[int, int]  # (rows, cols)
    resized: tuple[int, int]  # (h, w)
    num_tiles: int  # rows * cols, plus 1 global tile when > 1

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def plan(img_h: int, img_w: int, tile: int, max_patches: int, order: str = "hw",
         resize_to_max_canvas: bool = False) -> Llama4Plan:
    grids = supported_grids(max_patches)
    canvases = [(a * tile, b * tile) if order == "hw" else (b * tile, a * tile) for a, b in grids]
    canvas = best_canvas(img_h, img_w, canvases, resize_to_max_canvas)
    resized = fit_size(img_h, img_w, *canvas, None if resize_to_max_canvas else tile)
    grid = (canvas[0] // tile, canvas[1] // tile)
    n = grid[0] * grid[1]
    return Llama4Plan((img_h, img_w), canvas, grid, resized, n + 1 if n > 1 else n)
