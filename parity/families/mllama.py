"""Llama 3.2 Vision (mllama) geometry: pick a tiled canvas, fit the image into it, pad, split.

Algorithm as in Meta's llama-models ``models/llama3/multimodal/image_transform.py``
(``VariableSizeImageTransform``) and transformers ``models/mllama/image_processing_mllama.py``
(transformers 5.23.0):

1. Candidate canvases are all tile grids (w, h) with w*h <= max_tiles, each of size
   (h*tile, w*tile).
2. For each canvas the scale is min(canvas_h/img_h, canvas_w/img_w). If any scale is >= 1 take the
   smallest such (least upscaling); else the largest (least downscaling). Ties -> smallest area.
3. The image is resized to fit the canvas with its aspect ratio kept: each target side is first
   clamped to [tile, canvas side], then the side with the smaller scale is kept and the other is
   floor(side * scale), at least 1.
4. Pad right/bottom to the canvas, split row-major into tiles.
5. aspect_ratio_id = 1 + index of (rows, cols) in the supported list — note that the list holds
   (width, height) pairs but is indexed with (height, width), a quirk of the reference kept by HF.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass


def supported_aspect_ratios(max_tiles: int) -> list[tuple[int, int]]:
    """All (w, h) tile grids with w*h <= max_tiles, w-major order."""
    return [(w, h) for w in range(1, max_tiles + 1) for h in range(1, max_tiles + 1) if w * h <= max_tiles]


def optimal_canvas(img_h: int, img_w: int, max_tiles: int, tile: int) -> tuple[int, int]:
    """(canvas_h, canvas_w) per step 2. The grid pairs are used as (h, w) multiples of ``tile``."""
    canvases = [(a * tile, b * tile) for a, b in supported_aspect_ratios(max_tiles)]
    scales = [min(ch / img_h, cw / img_w) for ch, cw in canvases]
    up = [s for s in scales if s >= 1]
    chosen = min(up) if up else max(scales)
    # exact float equality, as the reference compares its own computed scales
    candidates = [c for c, s in zip(canvases, scales) if s == chosen]
    return min(candidates, key=lambda c: c[0] * c[1])  # first of the smallest area


def fit_to_canvas(img_h: int, img_w: int, canvas_h: int, canvas_w: int, tile: int) -> tuple[int, int]:
    """(new_h, new_w) per step 3."""
    target_w = min(max(img_w, tile), canvas_w)
    target_h = min(max(img_h, tile), canvas_h)
    scale_h = target_h / img_h
    scale_w = target_w / img_w
    if scale_w < scale_h:
        return min(math.floor(img_h * scale_w) or 1, target_h), target_w
    return target_h, min(math.floor(img_w * scale_h) or 1, target_w)


@dataclass(frozen=True)
class MllamaPlan:
    image_size: tuple[int, int]  # (h, w) of the decoded image
    canvas: tuple[int, int]  # (h, w)
    grid: tuple[int, int]  # (rows, cols) of tiles
    resized: tuple[int, int]  # (h, w)
    num_tiles: int
    aspect_ratio_id: int

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def aspect_ratio_id(grid: tuple[int, int], max_tiles: int) -> int:
    """1-based index of (rows, cols) in the (w, h)-ordered supported list (step 5)."""
    return supported_aspect_ratios(max_tiles).index(grid) + 1


def aspect_ratio_mask(num_tiles: int, max_tiles: int) -> list[int]:
    return [1 if i < max(num_tiles, 1) else 0 for i in range(max_tiles)]


def plan(img_h: int, img_w: int, tile: int, max_tiles: int) -> MllamaPlan:
    canvas = optimal_canvas(img_h, img_w, max_tiles, tile)
    grid = (canvas[0] // tile, canvas[1] // tile)
    resized = fit_to_canvas(img_h, img_w, canvas[0], canvas[1], tile)
    return MllamaPlan((img_h, img_w), canvas, grid, resized, grid[0] * grid[1],
                      aspect_ratio_id(grid, max_tiles))
