"""Phi-4-multimodal geometry ("dynamic HD"): cover the image with 448-px crops, resize to fit the crop
canvas keeping aspect, pad right/bottom with white, plus a 448x448 global image.

Algorithm as in the checkpoint's remote code ``processing_phi4mm.py``
(microsoft/Phi-4-multimodal-instruct, ``Phi4MMImageProcessor.dynamic_preprocess`` / ``preprocess``)
and transformers ``models/phi4_multimodal/image_processing_phi4_multimodal.py`` (5.23.0):

1. cols = ceil(w / 448), rows = ceil(h / 448). If cols * rows > max_crops (dynamic_hd = 36), pick
   the (cols, rows) with cols * rows in [1, max_crops] whose cols / rows is closest to w / h, scanning
   grids sorted by area (set iteration order within one area); on an exact tie the later grid wins if
   w * h > 0.5 * 448^2 * cols * rows.
2. canvas = (rows * 448, cols * 448). The side with the smaller scale fills its canvas side; the other
   is int(side * scale) (truncated). The rest is padding (white, 255).
3. If a resized side is < 10 pixels the image is refused ("aspect ratio is very extreme").
4. Attention mask at patch resolution (448 / 14 = 32 per crop): ones, minus the last
   floor(pad / 14) columns/rows when the padding is >= 14 px. Image tokens =
   256 + 1 + sum(mask2) + sum(mask2[:, 0]) + 16, where mask2 is the mask sampled every 2nd row and
   column of each crop, laid out as (rows * 16, cols * 16).
5. Encoder input: [global image (canvas resized to 448x448, bicubic), crop 1, ..., crop n], crops
   row-major.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from parity.errors import ParityError
from parity.families.base import Plan, Tokens, summary_fields

#: smallest resized side the authors' code accepts (step 3)
MIN_SIDE = 10


def candidate_grids(max_crops: int, min_crops: int = 1) -> list[tuple[int, int]]:
    """(cols, rows) grids with min_crops <= cols*rows <= max_crops, sorted by area.

    The authors sort a Python ``set`` by area with a stable sort, so grids of equal area keep the
    set's iteration order; building the same set the same way reproduces it.
    """
    grids = {(i, j) for n in range(min_crops, max_crops + 1) for i in range(1, n + 1) for j in range(1, n + 1)
             if min_crops <= i * j <= max_crops}
    return sorted(grids, key=lambda g: g[0] * g[1])


def closest_grid(img_h: int, img_w: int, tile: int, max_crops: int) -> tuple[int, int]:
    """(cols, rows) per step 1, when the covering grid has too many crops."""
    aspect = img_w / img_h
    best, best_diff = (1, 1), float("inf")
    for cols, rows in candidate_grids(max_crops):
        diff = abs(aspect - cols / rows)
        if diff < best_diff:
            best, best_diff = (cols, rows), diff
        elif diff == best_diff and img_w * img_h > 0.5 * tile * tile * cols * rows:
            best = (cols, rows)
    return best


def crop_grid(img_h: int, img_w: int, tile: int, max_crops: int) -> tuple[int, int]:
    """(rows, cols) of crops (step 1)."""
    cols, rows = math.ceil(img_w / tile), math.ceil(img_h / tile)
    if cols * rows > max_crops:
        cols, rows = closest_grid(img_h, img_w, tile, max_crops)
    return rows, cols


def attention_mask(rows: int, cols: int, pad_h: int, pad_w: int, mask_size: int, patch: int) -> np.ndarray:
    """(rows*mask_size, cols*mask_size) float32 mask per step 4."""
    mask = np.ones((rows * mask_size, cols * mask_size), dtype=np.float32)
    if pad_w >= patch:
        mask[:, -(pad_w // patch):] = 0
    if pad_h >= patch:
        mask[-(pad_h // patch):, :] = 0
    return mask


def num_image_tokens(mask: np.ndarray, mask_size: int) -> int:
    """Step 4's token count. Sampling every 2nd row/column of each crop and laying the crops out again
    equals sampling the whole mask when mask_size is even (32 for Phi-4-mm)."""
    rows, cols = mask.shape[0] // mask_size, mask.shape[1] // mask_size
    per_crop = mask.reshape(rows, mask_size, cols, mask_size)[:, ::2, :, ::2]
    sub = -(-mask_size // 2)
    down = per_crop.reshape(rows * sub, cols * sub)
    return int(256 + 1 + down.sum() + down[:, 0].sum() + 16)


@dataclass(frozen=True)
class Phi4mmPlan(Plan):
    padding: tuple[int, int]  # [bottom, right] in pixels, filled white
    num_crops: int  # rows * cols (the global image not counted)


def plan(img_h: int, img_w: int, tile: int = 448, patch: int = 14, max_crops: int = 36) -> Phi4mmPlan:
    rows, cols = crop_grid(img_h, img_w, tile, max_crops)
    canvas_h, canvas_w = rows * tile, cols * tile
    scale_w, scale_h = canvas_w / img_w, canvas_h / img_h
    if scale_w < scale_h:
        new_h, new_w = int(img_h * scale_w), canvas_w
    else:
        new_h, new_w = canvas_h, int(img_w * scale_h)
    if min(new_h, canvas_h) < MIN_SIDE or min(new_w, canvas_w) < MIN_SIDE:
        raise ParityError(f"Phi-4-mm refuses a {img_h}x{img_w} (h x w) image: it would be resized to "
                          f"{new_h}x{new_w}, a side under {MIN_SIDE} px (\"the aspect ratio is very extreme\")")
    pad_h, pad_w = canvas_h - new_h, canvas_w - new_w
    mask = attention_mask(rows, cols, pad_h, pad_w, tile // patch, patch)
    n = num_image_tokens(mask, tile // patch)  # all <|image|> placeholders, newline embeddings included
    return Phi4mmPlan(**summary_fields((img_h, img_w), (new_h, new_w), (canvas_h, canvas_w), (0, 0), (rows, cols),
                                       rows * cols + 1, Tokens(n, n)),
                      padding=(pad_h, pad_w), num_crops=rows * cols)
