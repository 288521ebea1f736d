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
   transformers computes this with the canvas sides still 0-d torch tensors, so a scale taken from a
   canvas side is float32; llama-models has Python ints (float64). Near-integer products can floor
   one pixel apart (e.g. 400 high x 4700 wide, 16 tiles of 336: 3947 vs 3948 wide).
4. Split row-major into (rows, cols) tiles; if rows * cols > 1 append the whole image resized to
   tile x tile.

Candidate order: transformers reads each pair as (height, width); llama-models builds the same
(a, b) list but reads it as (width, height). Only exact ties between a canvas and its transpose can
tell them apart.

Tokens (llama-models 0.3.0 ``llama4/chat_format.py`` ``_encode_image``; the same layout in transformers
``Llama4Processor._prompt_split_image`` and Ollama f63eea3 ``llama4/model.go`` ``PostTokenize``):
``<|image_start|>``; with more than one tile, per tile ``per_tile`` ``<|patch|>`` with
``<|tile_x_separator|>`` between the tiles of a row and ``<|tile_y_separator|>`` after each row; then
``<|image|>``, ``per_tile`` patches (the global tile, or the only one) and ``<|image_end|>``.
per_tile = (tile / patch)^2 * pixel_shuffle_ratio^2 = 144. llama.cpp mtmd 0c1e570 emits only
``<|image_start|>`` + every chunk's embeddings (tiles, then the overview) + ``<|image_end|>``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from parity.families.base import Plan, Tokens, summary_fields


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


def fit_size(img_h: int, img_w: int, canvas_h: int, canvas_w: int, tile: int | None,
             arithmetic: str = "python") -> tuple[int, int]:
    """Step 3: (new_h, new_w); ``tile`` None = no upscaling limit (resize_to_max_canvas).

    ``arithmetic``: ``python`` (llama-models: the canvas is a tuple of ints, every scale a float64) or
    ``torch`` (transformers: the canvas sides are 0-d int tensors, and a side taken from the canvas
    — every side when ``tile`` is None, else where min() returns the canvas side, i.e. the canvas side
    is strictly smaller — makes its scale, the comparison and the product float32).
    """
    if arithmetic not in ("python", "torch"):
        raise ValueError(f"arithmetic must be 'python' or 'torch', got {arithmetic!r}")
    if tile is None:
        (th, h32), (tw, w32) = (canvas_h, True), (canvas_w, True)
    else:
        # min(a, b) returns a unless b < a: the tensor only when the canvas side is strictly smaller
        th, h32 = (canvas_h, True) if canvas_h < max(img_h, tile) else (max(img_h, tile), False)
        tw, w32 = (canvas_w, True) if canvas_w < max(img_w, tile) else (max(img_w, tile), False)
    if arithmetic == "python":
        h32 = w32 = False
    scale_w = np.float32(tw) / np.float32(img_w) if w32 else tw / img_w
    scale_h = np.float32(th) / np.float32(img_h) if h32 else th / img_h
    if w32 or h32:  # a float32 tensor against a Python float compares in float32
        smaller_w = np.float32(scale_w) < np.float32(scale_h)
    else:
        smaller_w = scale_w < scale_h
    if smaller_w:
        prod = np.float32(img_h) * scale_w if w32 else img_h * scale_w
        new_h, new_w = min(math.floor(prod), th), tw
    else:
        prod = np.float32(img_w) * scale_h if h32 else img_w * scale_h
        new_h, new_w = th, min(math.floor(prod), tw)
    return max(int(new_h), 1), max(int(new_w), 1)


def tokens_per_tile(tile: int, patch: int, pixel_shuffle_ratio: float) -> int:
    return round((tile // patch) ** 2 * pixel_shuffle_ratio ** 2)


def tokens_meta(grid: tuple[int, int], per_tile: int) -> Tokens:
    """The reference's sequence (and transformers', Ollama's), see the module docstring."""
    tiles = grid[0] * grid[1]
    if tiles > 1:
        return Tokens(3 + per_tile * (tiles + 1) + tiles, per_tile * (tiles + 1))
    return Tokens(3 + per_tile, per_tile)


def tokens_llamacpp(num_chunks: int, per_tile: int) -> Tokens:
    """llama.cpp mtmd: img_beg + every chunk + img_end, no ``<|image|>`` and no tile separators."""
    return Tokens(2 + per_tile * num_chunks, per_tile * num_chunks)


@dataclass(frozen=True)
class Llama4Plan(Plan):
    global_tile: bool  # the whole image resized to one tile is appended (more than one tile)


def make_plan(image_hw, canvas, resized, grid, tokens: Tokens) -> Llama4Plan:
    """The plan from one impl's own numbers (pad right/bottom: no offset)."""
    n = grid[0] * grid[1]
    return Llama4Plan(**summary_fields(image_hw, resized, canvas, (0, 0), grid, n + 1 if n > 1 else n, tokens),
                      global_tile=n > 1)


def plan(img_h: int, img_w: int, tile: int, max_patches: int, order: str = "hw",
         resize_to_max_canvas: bool = False, arithmetic: str = "torch", per_tile: int = 144) -> Llama4Plan:
    grids = supported_grids(max_patches)
    canvases = [(a * tile, b * tile) if order == "hw" else (b * tile, a * tile) for a, b in grids]
    canvas = best_canvas(img_h, img_w, canvases, resize_to_max_canvas)
    resized = fit_size(img_h, img_w, *canvas, None if resize_to_max_canvas else tile, arithmetic)
    grid = (canvas[0] // tile, canvas[1] // tile)
    return make_plan((img_h, img_w), canvas, resized, grid, tokens_meta(grid, per_tile))
