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

Tokens: t*h*w / merge^2 ``<|image_pad|>`` between ``<|vision_start|>`` and ``<|vision_end|>``
(transformers ``Qwen2VLProcessor``, the chat template; Ollama f63eea3 ``qwen25vl``/``qwen3vl``
``PostTokenize``; llama.cpp mtmd 0c1e570 ``clip_n_output_tokens``: (nx / 2p) * (ny / 2p) of the image it
encodes; c392e50 ``clip_n_patches_by_img``: ceil(nx / 2p) * ceil(ny / 2p)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from parity.errors import ParityError
from parity.families.base import Plan, Tokens, summary_fields

#: aspect ratio above which both transformers and qwen-vl-utils refuse an image
MAX_ASPECT_RATIO = 200


def check_aspect_ratio(height: int, width: int) -> None:
    if height < 1 or width < 1:
        raise ParityError(f"image size must be positive, got {height}x{width} (h x w)")
    ratio = max(height, width) / min(height, width)
    if ratio > MAX_ASPECT_RATIO:
        raise ParityError(f"aspect ratio {ratio:g} of a {height}x{width} (h x w) image is over Qwen's limit of "
                          f"{MAX_ASPECT_RATIO} (smart_resize refuses it)")


def fit_pixel_budget(height: int, width: int, h_bar: int, w_bar: int, factor: int, min_pixels: int,
                     max_pixels: int, clamp_down: bool = True, frames: int = 1) -> tuple[int, int]:
    """Steps 3-4: the rounded (h_bar, w_bar), rescaled by beta when ``frames`` x its area leaves
    [min_pixels, max_pixels]: floor to factor multiples when over (at least one factor each with
    ``clamp_down``; qwen-vl-utils and Ollama's Qwen code have no such clamp), ceil when under. Every runtime
    computes beta in float64 from the original sides, as here."""
    if frames * h_bar * w_bar > max_pixels:
        beta = math.sqrt(frames * height * width / max_pixels)
        h_bar = math.floor(height / beta / factor) * factor
        w_bar = math.floor(width / beta / factor) * factor
        return (max(factor, h_bar), max(factor, w_bar)) if clamp_down else (h_bar, w_bar)
    if frames * h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (frames * height * width))
        return math.ceil(height * beta / factor) * factor, math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def smart_resize_hf(height: int, width: int, factor: int, min_pixels: int, max_pixels: int) -> tuple[int, int]:
    """(h, w) per steps 2-4, transformers' variant (no initial clamp to one factor)."""
    check_aspect_ratio(height, width)
    return fit_pixel_budget(height, width, round(height / factor) * factor, round(width / factor) * factor, factor,
                            min_pixels, max_pixels)


def smart_resize_qwen_vl_utils(height: int, width: int, factor: int, min_pixels: int,
                               max_pixels: int) -> tuple[int, int]:
    """(h, w) per steps 2-4, qwen-vl-utils' variant: rounded sides start at >= one factor, and the
    downscale branch has no lower clamp."""
    check_aspect_ratio(height, width)
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    return fit_pixel_budget(height, width, h_bar, w_bar, factor, min_pixels, max_pixels, clamp_down=False)


def tokens_hf(grid_thw, merge_size: int) -> Tokens:
    t, h, w = grid_thw
    n = t * h * w // (merge_size * merge_size)
    return Tokens(n + 2, n)


def tokens_llamacpp(encoded_hw, patch_size: int) -> Tokens:
    n = (encoded_hw[1] // (patch_size * 2)) * (encoded_hw[0] // (patch_size * 2))
    return Tokens(n + 2, n)


def tokens_llamacpp_legacy(encoded_hw, patch_size: int) -> Tokens:
    p2 = patch_size * 2
    n = -(-encoded_hw[1] // p2) * -(-encoded_hw[0] // p2)
    return Tokens(n + 2, n)


@dataclass(frozen=True)
class QwenVLPlan(Plan):
    image_grid_thw: tuple[int, int, int]  # (t, h/patch, w/patch) of the encoded image
    num_patches: int  # rows of the flat patch tensor = grid h * grid w


def make_plan(image_hw, resized, patch_size: int, tokens: Tokens, canvas=None, pad_offset=(0, 0)) -> QwenVLPlan:
    """One impl's plan; ``canvas`` is the encoded image when it differs from the resize (a pad, or a second
    resize by the processor)."""
    encoded = tuple(canvas) if canvas is not None else tuple(resized)
    gh, gw = encoded[0] // patch_size, encoded[1] // patch_size
    return QwenVLPlan(**summary_fields(image_hw, resized, encoded, pad_offset, (1, 1), 1, tokens),
                      image_grid_thw=(1, gh, gw), num_patches=gh * gw)


def plan_from_resized(img_h: int, img_w: int, resized: tuple[int, int], patch_size: int,
                      merge_size: int) -> QwenVLPlan:
    """transformers' plan for an image resized to ``resized``."""
    grid = (1, resized[0] // patch_size, resized[1] // patch_size)
    return make_plan((img_h, img_w), resized, patch_size, tokens_hf(grid, merge_size))


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
