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
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

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


@dataclass(frozen=True)
class Idefics3Plan:
    image_size: tuple[int, int]  # (h, w) decoded
    resized: tuple[int, int]  # (h, w) after step 1
    canvas: tuple[int, int]  # (h, w) after step 2 (multiples of the tile)
    grid: tuple[int, int]  # (rows, cols) of crops; (0, 0) when the image is one tile
    num_crops: int  # rows * cols (the global image not counted)
    num_images: int  # frames fed to the encoder: crops + global image, or 1

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def plan(img_h: int, img_w: int, longest_edge: int, tile: int, splitting: bool = True) -> Idefics3Plan:
    resized = cap_to_max_size(*resize_longest_edge(img_h, img_w, longest_edge))
    if not splitting:
        return Idefics3Plan((img_h, img_w), resized, (tile, tile), (0, 0), 0, 1)
    canvas = grow_to_tiles(*resized, tile)
    if canvas[0] > tile or canvas[1] > tile:
        grid = (canvas[0] // tile, canvas[1] // tile)
        return Idefics3Plan((img_h, img_w), resized, canvas, grid, grid[0] * grid[1], grid[0] * grid[1] + 1)
    return Idefics3Plan((img_h, img_w), resized, canvas, (0, 0), 0, 1)
