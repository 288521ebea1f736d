"""Idefics3 / SmolVLM geometry: resize the longest edge to N tiles, grow to whole tiles, split, and
append the whole image squashed to one tile.

Algorithm as in transformers ``models/idefics3/image_processing{,_pil}_idefics3.py`` (transformers
5.23.0; SmolVLM's own processor is the same code). The authors (HuggingFaceM4 / HuggingFaceTB) publish
no other preprocessing than this processor.

1. Longest edge -> ``size.longest_edge`` (up or down): the long side becomes L, the other
   int(L / aspect) (or int(L * aspect)), bumped to the next even number if odd, at least 1; then the
   same rule caps both sides at 4096 (without the even bump).
2. Grow to whole tiles (t = ``max_image_size.longest_edge``): the long side -> ceil(side / t) * t, the
   other -> ceil(int(new_long / aspect) / t) * t, aspect taken from step 1's size. Landscape and square
   images count as landscape.
3. If either side exceeds t: rows = h / t, cols = w / t crops, row-major, then the step-2 image
   resized to t x t as the last frame. Else the image is a single t x t frame.
4. All resizes use the same filter (LANCZOS for the checkpoints).

Tokens: per crop ``<fake_token_around_image><row_i_col_j>`` + image_seq_len, a newline after each
row, then "\n\n" ``<fake_token_around_image><global-img>`` + image_seq_len ``<fake_token_around_image>``
(transformers ``Idefics3Processor``; llama.cpp mtmd 0c1e570's IDEFICS3 template builds the same
sequence); image_seq_len = (tile / patch)^2 / scale_factor^2. Unsplit: the global image alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from parity.families.base import Plan, Tokens, summary_fields

#: absolute cap on either side after step 1 (transformers MAX_IMAGE_SIZE, "4k resolution")
MAX_IMAGE_SIZE = 4096


def resize_longest_edge(img_h: int, img_w: int, longest: int) -> tuple[int, int]:
    """Step 1, first half: long side -> ``longest``, other side truncated then made even."""
    aspect = img_w / img_h
    if img_w >= img_h:
        w, h = longest, int(longest / aspect)
        h += h % 2
    else:
        h, w = longest, int(longest * aspect)
        w += w % 2
    return max(h, 1), max(w, 1)


def cap_to_max_size(h: int, w: int, cap: int = MAX_IMAGE_SIZE) -> tuple[int, int]:
    """Step 1, second half: shrink so the long side is at most ``cap`` (no even bump)."""
    aspect = w / h
    if w >= h and w > cap:
        w, h = cap, int(cap / aspect)
    elif h > w and h > cap:
        h, w = cap, int(cap * aspect)
    return max(h, 1), max(w, 1)


def grow_to_tiles(h: int, w: int, tile: int) -> tuple[int, int]:
    """Step 2."""
    aspect = w / h
    if w >= h:
        w = math.ceil(w / tile) * tile
        h = math.ceil(int(w / aspect) / tile) * tile
    else:
        h = math.ceil(h / tile) * tile
        w = math.ceil(int(h * aspect) / tile) * tile
    return h, w


def image_seq_len(tile: int, patch: int, scale_factor: int) -> int:
    return (tile // patch) ** 2 // (scale_factor * scale_factor)


def tokens(grid, seq_len: int) -> Tokens:
    rows, cols = grid
    glob = seq_len + 3
    if rows == 0:
        return Tokens(glob, seq_len)
    return Tokens(rows * cols * (seq_len + 2) + rows + glob, seq_len * (rows * cols + 1))


@dataclass(frozen=True)
class Idefics3Plan(Plan):
    num_crops: int  # rows * cols (the global image not counted)


def make_plan(image_hw, resized, canvas, grid, seq_len: int) -> Idefics3Plan:
    """One impl's plan; grid [0, 0]: one image, not split."""
    n = grid[0] * grid[1]
    return Idefics3Plan(**summary_fields(image_hw, resized, canvas, (0, 0), grid, n + 1 if n else 1,
                                         tokens(grid, seq_len)), num_crops=n)


def plan(img_h: int, img_w: int, longest_edge: int, tile: int, splitting: bool = True,
         seq_len: int = 0) -> Idefics3Plan:
    resized = cap_to_max_size(*resize_longest_edge(img_h, img_w, longest_edge))
    if not splitting:
        return make_plan((img_h, img_w), resized, (tile, tile), (0, 0), seq_len)
    canvas = grow_to_tiles(*resized, tile)
    if canvas[0] > tile or canvas[1] > tile:
        return make_plan((img_h, img_w), resized, canvas, (canvas[0] // tile, canvas[1] // tile), seq_len)
    return make_plan((img_h, img_w), resized, canvas, (0, 0), seq_len)
