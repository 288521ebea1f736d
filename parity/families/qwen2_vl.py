"""Qwen2-VL / Qwen2.5-VL geometry: smart-resize to a multiple of patch*merge, then flat patches.

Algorithm as in transformers ``models/qwen2_vl/image_processing_qwen2_vl.py`` (``smart_resize``,
``patchify``; transformers 5.23.0) and QwenLM's qwen-vl-utils ``vision_process.py`` (0.0.14):

1. factor = patch_size * merge_size (28 for Qwen2/2.5-VL, 32 for Qwen3-VL).
2. An aspect ratio max(h, w) / min(h, w) above 200 is refused.
3. Each side is rounded to the nearest multiple of the factor (Python ``round``: half to even).
   qwen-vl-utils, unlike transformers, first raises each rounded side to at least one factor.
4. Too many pixels (> max_pixels): beta = sqrt(h*w / max_pixels), each side floor(side/beta) to the
   factor (transformers: at least one factor). Too few (< min_pixels): beta = sqrt(min_pixels / (h*w)),
   each side ceil(side*beta) to the factor.
5. The resized image is cut into patch_size patches; grid = (t=1, h/patch, w/patch); each merge x
   merge block of patches is contiguous in the output, and every patch is repeated
   ``temporal_patch_size`` times (an image is a 2-frame video), so a row is C*T*P*P values.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from parity.errors import ParityError

#: aspect ratio above which both transformers and qwen-vl-utils refuse an image
MAX_ASPECT_RATIO = 200


def check_aspect_ratio(height: int, width: int) -> None:
    if height < 1 or width < 1:
        raise ParityError(f"image size must be positive, got {height}x{width} (h x w)")
    ratio = max(height, width) / min(height, width)
    if ratio > MAX_ASPECT_RATIO:
        raise ParityError(f"aspect ratio {ratio:g} of a {height}x{width} (h x w) image is over Qwen's limit of "
                          f"{MAX_ASPECT_RATIO} (smart_resize refuses it)")


def smart_resize_hf(height: int, width: int, factor: int, min_pixels: int, max_pixels: int) -> tuple[int, int]:
    """(h, w) per steps 2-4, transformers' variant (no initial clamp to one factor)."""
    check_aspect_ratio(height, width)
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def smart_resize_qwen_vl_utils(height: int, width: int, factor: int, min_pixels: int,
                               max_pixels: int) -> tuple[int, int]:
    """(h, w) per steps 2-4, qwen-vl-utils' variant: rounded sides start at >= one factor, and the
    downscale branch has no lower clamp."""
    check_aspect_ratio(height, width)
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h_bar = math.floor(height / beta / factor) * factor
        w_bar = math.floor(width / beta / factor) * factor
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


@dataclass(frozen=True)
class QwenVLPlan:
    image_size: tuple[int, int]  # (h, w) of the decoded image
    resized: tuple[int, int]  # (h, w) after smart resize, multiples of patch*merge
    image_grid_thw: tuple[int, int, int]  # (t, h/patch, w/patch)
    num_patches: int  # rows of the flat patch tensor = grid h * grid w
    num_tokens: int  # LLM tokens after the merge_size x merge_size merge

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def plan_from_resized(img_h: int, img_w: int, resized: tuple[int, int], patch_size: int,
                      merge_size: int) -> QwenVLPlan:
    grid_h, grid_w = resized[0] // patch_size, resized[1] // patch_size
    return QwenVLPlan((img_h, img_w), resized, (1, grid_h, grid_w), grid_h * grid_w,
                      grid_h * grid_w // (merge_size * merge_size))


def qwen_vl_utils_budget(patch_size: int, merge_size: int, min_tokens: int, max_tokens: int) -> tuple[int, int]:
    """(min_pixels, max_pixels) qwen-vl-utils derives from token counts: tokens * factor**2
    (``IMAGE_MIN_TOKEN_NUM`` = 4, ``IMAGE_MAX_TOKEN_NUM`` = 16384 in 0.0.14)."""
    factor = patch_size * merge_size
    return min_tokens * factor * factor, max_tokens * factor * factor


def plan(img_h: int, img_w: int, patch_size: int, merge_size: int, min_pixels: int,
         max_pixels: int) -> QwenVLPlan:
    """The transformers processor's plan."""
    resized = smart_resize_hf(img_h, img_w, patch_size * merge_size, min_pixels, max_pixels)
    return plan_from_resized(img_h, img_w, resized, patch_size, merge_size)
