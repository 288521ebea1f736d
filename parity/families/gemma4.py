"""Gemma 4 geometry: aspect-kept resize to the largest size that fits the patch budget with both sides
multiples of pooling_kernel * patch, then flat patches padded to the budget.

Algorithm as in transformers ``models/gemma4/image_processing{,_pil}_gemma4.py``
(``get_aspect_ratio_preserving_size``, ``convert_image_to_patches``, ``pad_along_first_dim``;
transformers 5.23.0):

1. max_patches = max_soft_tokens * pooling_kernel**2 (280 * 9 = 2520); target pixels =
   max_patches * patch**2; scale = sqrt(target / (h * w)) (up or down).
2. side multiple m = pooling_kernel * patch (48); each side -> floor(side * scale / m) * m.
3. Both 0 -> refused. One 0 -> that side = m, the other = min(floor(long / short) * m,
   (max_patches // pooling_kernel**2) * m). More than the target pixels -> refused.
4. If the size is unchanged the image is not resampled at all.
5. Patches row-major, each patch HWC-flattened (P*P*C); positions (x, y) per patch; both padded to
   max_patches rows (pixels with 0, positions with -1). Soft tokens = patches / pooling_kernel**2.

Google's own ``gemma`` library (google-deepmind/gemma @ 7691fd4,
``gemma/gm/nn/gemma4/vision/_preprocessing.py`` ``get_target_dimensions``) differs in step 3: it never
refuses (see ``target_size_gemma_library``); and its samplers default to max_soft_tokens = 1120.

Tokens: patches // pooling_kernel^2 soft tokens between ``<|image>`` and ``<image|>`` (transformers
``Gemma4Processor``; Ollama f63eea3 ``gemma4/model.go`` pools (gw // k) * (gh // k)); Google's gemma
library adds "\n\n" before and after (``_token_utils.add_variable_extra_tokens_for_images``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from parity.errors import ParityError
from parity.families.base import Plan, Tokens, summary_fields


def target_size(img_h: int, img_w: int, patch: int, max_patches: int, pooling_kernel: int) -> tuple[int, int]:
    """(h, w) per steps 1-3."""
    target_px = max_patches * patch * patch
    scale = math.sqrt(target_px / (img_h * img_w))
    m = pooling_kernel * patch
    h = int(math.floor(scale * img_h / m)) * m
    w = int(math.floor(scale * img_w / m)) * m
    if h == 0 and w == 0:
        raise ParityError(f"Gemma 4 refuses a {img_h}x{img_w} (h x w) image: both sides round to 0")
    longest = (max_patches // pooling_kernel**2) * m
    if h == 0:
        h, w = m, min(int(math.floor(img_w / img_h)) * m, longest)
    elif w == 0:
        w, h = m, min(int(math.floor(img_h / img_w)) * m, longest)
    if h * w > target_px:
        raise ParityError(f"Gemma 4 refuses a {img_h}x{img_w} (h x w) image: {h}x{w} exceeds {max_patches} "
                          f"patches of {patch} px")
    return h, w


def target_size_gemma_library(img_h: int, img_w: int, patch: int, max_patches: int,
                              pooling_kernel: int) -> tuple[int, int]:
    """Google's variant of steps 1-3 (gemma library ``get_target_dimensions``): never refuses — both
    sides 0 -> one m x m unit; a 0 side -> m, the other min(max(1, floor(long / short)) * m, longest);
    no check against the target pixels."""
    m = pooling_kernel * patch
    scale = math.sqrt(max_patches * patch * patch / (img_h * img_w))
    h = int(math.floor(scale * img_h / m)) * m
    w = int(math.floor(scale * img_w / m)) * m
    longest = (max_patches // pooling_kernel**2) * m
    if h == 0 and w == 0:
        return m, m
    if h == 0:
        return m, min(max(1, int(math.floor(img_w / img_h))) * m, longest)
    if w == 0:
        return min(max(1, int(math.floor(img_h / img_w))) * m, longest), m
    return h, w


def tokens_hf(patch_grid, pooling_kernel: int) -> Tokens:
    n = patch_grid[0] * patch_grid[1] // pooling_kernel**2
    return Tokens(n + 2, n)


def tokens_gemma_library(patch_grid, pooling_kernel: int) -> Tokens:
    n = patch_grid[0] * patch_grid[1] // pooling_kernel**2
    return Tokens(n + 4, n)


def tokens_ollama(patch_grid, pooling_kernel: int) -> Tokens:
    n = (patch_grid[0] // pooling_kernel) * (patch_grid[1] // pooling_kernel)
    return Tokens(n + 2, n)


@dataclass(frozen=True)
class Gemma4Plan(Plan):
    patch_grid: tuple[int, int]  # [rows, cols] of patches
    num_patches: int  # real patches (the rest of max_patches is padding)
    max_patches: int


def make_plan(image_hw, resized, patch: int, max_patches: int, tokens: Tokens) -> Gemma4Plan:
    grid = (resized[0] // patch, resized[1] // patch)
    return Gemma4Plan(**summary_fields(image_hw, resized, None, (0, 0), (1, 1), 1, tokens),
                      patch_grid=grid, num_patches=grid[0] * grid[1], max_patches=max_patches)


def plan(img_h: int, img_w: int, patch: int, max_soft_tokens: int, pooling_kernel: int,
         variant: str = "hf") -> Gemma4Plan:
    """``variant``: ``hf`` (transformers, refuses degenerate sizes) or ``gemma-library`` (Google's)."""
    max_patches = max_soft_tokens * pooling_kernel**2
    size = {"hf": target_size, "gemma-library": target_size_gemma_library}[variant]
    h, w = size(img_h, img_w, patch, max_patches, pooling_kernel)
    tokens = {"hf": tokens_hf, "gemma-library": tokens_gemma_library}[variant]
    return make_plan((img_h, img_w), (h, w), patch, max_patches, tokens((h // patch, w // patch), pooling_kernel))
