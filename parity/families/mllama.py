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

Tokens: the image takes ONE sequence position (``<|image|>``, id 128256) in llama-models 0.3.0
``llama3/chat_format.py``, transformers ``MllamaProcessor`` and Ollama ``mllama/model.go``
``PostTokenize``; the vision features enter through cross-attention: (tile/14)^2 + 1 = 1601 vision
tokens per tile, the padded tiles masked (llama-models ``llama3/multimodal/model.py``) — except in
Ollama f63eea3, whose ``Forward`` passes no cross-attention mask, so every text token attends all
max_tiles * 1601, the zero tiles included.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from parity.families.base import Plan, Tokens, summary_fields


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


#: one ``<|image|>`` position; the vision tokens enter through cross-attention
TOKENS = Tokens(1, 0)


@dataclass(frozen=True)
class MllamaPlan(Plan):
    aspect_ratio_id: int  # 1-based id of the tile grid the model embeds
    cross_attention_tokens: int  # vision tokens every text token attends (per tile: patches + CLS)


def vision_tokens_per_tile(tile: int, patch: int) -> int:
    return (tile // patch) ** 2 + 1


def make_plan(image_hw, canvas, resized, grid, aspect_ratio_id: int, cross_attention_tokens: int) -> MllamaPlan:
    """The plan from one impl's own numbers (the image is pasted top-left: no pad offset)."""
    num_tiles = grid[0] * grid[1]
    return MllamaPlan(**summary_fields(image_hw, resized, canvas, (0, 0), grid, num_tiles, TOKENS),
                      aspect_ratio_id=aspect_ratio_id, cross_attention_tokens=cross_attention_tokens)


def aspect_ratio_id(grid: tuple[int, int], max_tiles: int) -> int:
    """1-based index of (rows, cols) in the (w, h)-ordered supported list (step 5)."""
    return supported_aspect_ratios(max_tiles).index(grid) + 1


def aspect_ratio_mask(num_tiles: int, max_tiles: int) -> list[int]:
    return [1 if i < max(num_tiles, 1) else 0 for i in range(max_tiles)]


def plan(img_h: int, img_w: int, tile: int, max_tiles: int, patch: int = 14) -> MllamaPlan:
    """The reference's (and transformers') plan: masked cross-attention over the real tiles."""
    canvas = optimal_canvas(img_h, img_w, max_tiles, tile)
    grid = (canvas[0] // tile, canvas[1] // tile)
    resized = fit_to_canvas(img_h, img_w, canvas[0], canvas[1], tile)
    return make_plan((img_h, img_w), canvas, resized, grid, aspect_ratio_id(grid, max_tiles),
                     grid[0] * grid[1] * vision_tokens_per_tile(tile, patch))
