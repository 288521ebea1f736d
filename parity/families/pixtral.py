"""Pixtral geometry: scale down to fit max_image_size (aspect kept), then round each side up to whole
patches; one image, no tiles.

Two variants of step 1:
- transformers ``models/pixtral/image_processing_pixtral.py`` ``get_resize_output_image_size``
  (transformers 5.23.0): ratio = max(h / max_h, w / max_w); if ratio > 1 each side becomes
  floor(side / ratio) (floor, "to stay below longest_edge" as its comment says).
- mistral-common ``tokens/tokenizers/image.py`` ``ImageEncoder._image_to_num_tokens`` (1.13.1): the
  same ratio, but each side becomes max(round(side / ratio), 1) (Python round, half to even).
Step 2 (both): tokens per side = (side - 1) // patch + 1 (patch = image_patch_size * spatial_merge_size
in mistral-common); the resized side is tokens * patch. So 0-pixel sides are impossible and sizes
may grow by up to patch - 1 pixels.

Tokens: ``[IMG]`` per patch with ``[IMG_BREAK]`` after each row, the last one replaced by ``[IMG_END]``
(mistral-common 1.13.1 ``ImageEncoder.__call__``; transformers ``PixtralProcessor`` identical); llama.cpp
mtmd 0c1e570 puts the row breaks inside the image embeddings (``v.token_embd.img_break``) and adds
``[IMG_END]`` as text; Ollama f63eea3 ``mistral3`` counts on its patch grid halved by the patch merger.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from parity.families.base import Plan, Tokens, summary_fields


def fit_size_hf(img_h: int, img_w: int, max_size: int) -> tuple[int, int]:
    ratio = max(img_h / max_size, img_w / max_size)
    if ratio > 1:
        return int(math.floor(img_h / ratio)), int(math.floor(img_w / ratio))
    return img_h, img_w


def fit_size_mistral_common(img_h: int, img_w: int, max_size: int) -> tuple[int, int]:
    ratio = max(img_h / max_size, img_w / max_size)
    if ratio > 1:
        return max(round(img_h / ratio), 1), max(round(img_w / ratio), 1)
    return img_h, img_w


def tokens_per_side(side: int, patch: int) -> int:
    """Patches covering ``side`` pixels: ceil(side / patch) written as (side - 1) // patch + 1."""
    return (side - 1) // patch + 1


def tokens_mistral(patch_grid) -> Tokens:
    rows, cols = patch_grid
    return Tokens(rows * (cols + 1), rows * cols)


def tokens_llamacpp(patch_grid) -> Tokens:
    rows, cols = patch_grid
    return Tokens(rows * (cols + 1), rows * cols + rows - 1)


def tokens_ollama(patch_grid, spatial_merge_size: int) -> Tokens:
    return tokens_mistral((patch_grid[0] // spatial_merge_size, patch_grid[1] // spatial_merge_size))


@dataclass(frozen=True)
class PixtralPlan(Plan):
    fitted: tuple[int, int]  # [h, w] after fitting into max_image_size, before patch rounding
    patch_grid: tuple[int, int]  # [rows, cols] of patches


def make_plan(image_hw, fitted, resized, patch: int, tokens: Tokens, canvas=None, pad_offset=(0, 0)) -> PixtralPlan:
    encoded = tuple(canvas) if canvas is not None else tuple(resized)
    return PixtralPlan(**summary_fields(image_hw, resized, encoded, pad_offset, (1, 1), 1, tokens),
                       fitted=tuple(fitted), patch_grid=(encoded[0] // patch, encoded[1] // patch))


def plan(img_h: int, img_w: int, max_size: int, patch: int, variant: str = "hf") -> PixtralPlan:
    """``variant``: ``hf`` (floor) or ``mistral-common`` (round)."""
    fit = {"hf": fit_size_hf, "mistral-common": fit_size_mistral_common}[variant]
    fh, fw = fit(img_h, img_w, max_size)
    grid = (tokens_per_side(fh, patch), tokens_per_side(fw, patch))
    return make_plan((img_h, img_w), (fh, fw), (grid[0] * patch, grid[1] * patch), patch, tokens_mistral(grid))
