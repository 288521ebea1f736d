"""LLaVA-NeXT ("anyres") geometry: pick a pinpoint resolution, fit, pad centred, cut into tiles.

As in LLaVA ``llava/mm_utils.py`` ``process_anyres_image`` (llava-torch 1.2.2.post1) and transformers
``image_processing_utils.select_best_resolution`` / ``get_patch_output_size`` with
``models/llava_next/image_processing{,_pil}_llava_next.py`` (transformers 5.23.0):

1. For each pinpoint (h, w): scale = min(w / img_w, h / img_h); effective = min(int(img_w * scale) *
   int(img_h * scale), img_w * img_h); wasted = h * w - effective. Keep the first pinpoint with the
   largest effective, ties broken by strictly smaller wasted (so list order decides exact ties).
2. Fit without distortion: the limiting side becomes the pinpoint side, the other
   min(ceil(side * scale), pinpoint side) (ceil, unlike mllama's floor).
3. Pad to the pinpoint with 0, centred: offset (target - new) // 2 on each axis.
4. Tiles of ``tile`` x ``tile`` row-major; the overview (the whole image squashed to tile x tile) goes
   first, so num_patches = rows * cols + 1.

Pinpoint order: transformers reads each ``image_grid_pinpoints`` entry as (height, width), the LLaVA
repo as (width, height). The lists are symmetric as sets, so the only effect is which of two tied
transposes wins (e.g. every image small enough that nothing is downscaled picks the first
smallest-area pinpoint: transformers (336, 672), LLaVA (672, 336) as (h, w)).

Tokens: the LLaVA repo (v1.2.2 ``llava/model/llava_arch.py``, ``spatial_unpad``) keeps (tile/p)^2
overview features, lays the tile features out as one (rows*s) x (cols*s) map (s = tile/p), removes the
padding rows/columns (``unpad_image``, ``int()`` of the scaled side) and appends one ``image_newline``
per remaining row; transformers' ``LlavaNextProcessor._get_number_of_features`` does the same with
``int(round(x, 7))``, plus num_additional_image_tokens, minus one for the 'default' strategy.
llama.cpp (mtmd 0c1e570 and c392e50's llava.cpp) encodes the overview and every tile as separate
(tile/p)^2 chunks: no unpadding, no image_newline.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from parity.families.base import Plan, Tokens, summary_fields

#: how an impl reads one pinpoint pair
PINPOINT_ORDERS = ("hw", "wh")


def pinpoints_hw(pinpoints, order: str) -> list[tuple[int, int]]:
    """The pinpoints as (h, w) pairs, in list order, read the way ``order`` says."""
    if order not in PINPOINT_ORDERS:
        raise ValueError(f"pinpoint order must be one of {PINPOINT_ORDERS}, got {order!r}")
    return [(int(a), int(b)) if order == "hw" else (int(b), int(a)) for a, b in pinpoints]


def select_best_resolution(img_h: int, img_w: int, candidates_hw) -> tuple[int, int]:
    """Step 1 over (h, w) candidates, first wins on exact ties."""
    best, best_effective, best_wasted = None, 0, math.inf
    for h, w in candidates_hw:
        scale = min(w / img_w, h / img_h)
        effective = min(int(img_w * scale) * int(img_h * scale), img_w * img_h)
        wasted = h * w - effective
        if effective > best_effective or (effective == best_effective and wasted < best_wasted):
            best, best_effective, best_wasted = (h, w), effective, wasted
    return best


def fit_size(img_h: int, img_w: int, target_h: int, target_w: int) -> tuple[int, int]:
    """(new_h, new_w) of step 2."""
    scale_w, scale_h = target_w / img_w, target_h / img_h
    if scale_w < scale_h:
        return min(math.ceil(img_h * scale_w), target_h), target_w
    return target_h, min(math.ceil(img_w * scale_h), target_w)


def pad_offset(new_h: int, new_w: int, target_h: int, target_w: int) -> tuple[int, int]:
    """(top, left) of step 3."""
    return (target_h - new_h) // 2, (target_w - new_w) // 2


def _unpadded(image_hw, cur_h: int, cur_w: int, rounding) -> tuple[int, int]:
    """``unpad_image`` on a (cur_h, cur_w) feature map of an image of ``image_hw``."""
    oh, ow = image_hw
    if ow / oh > cur_w / cur_h:
        pad = (cur_h - rounding(oh * (cur_w / ow))) // 2
        return cur_h - 2 * pad, cur_w
    pad = (cur_w - rounding(ow * (cur_h / oh))) // 2
    return cur_h, cur_w - 2 * pad


def tokens_reference(image_hw, grid, tile: int, patch: int) -> Tokens:
    s = tile // patch
    h, w = _unpadded(image_hw, grid[0] * s, grid[1] * s, int)
    n = s * s + h * w + h
    return Tokens(n, n)


def tokens_hf(image_hw, grid, tile: int, patch: int, num_additional_image_tokens: int, strategy: str) -> Tokens:
    s = tile // patch
    h, w = _unpadded(image_hw, grid[0] * s, grid[1] * s, lambda x: int(round(x, 7)))
    n = s * s + num_additional_image_tokens + h * w + h - (1 if strategy == "default" else 0)
    return Tokens(n, n)


def tokens_llamacpp(num_images: int, tile: int, patch: int) -> Tokens:
    n = (tile // patch) ** 2 * num_images
    return Tokens(n, n)


@dataclass(frozen=True)
class LlavaNextPlan(Plan):
    best_resolution: tuple[int, int]  # [h, w] pinpoint chosen
    overview: tuple[int, int]  # [h, w] of the whole image squashed to one tile
    overview_first: bool  # the overview is encoded before the tiles
    image_sizes: tuple[int, int]  # the side output: [h, w] of the input


def make_plan(image_hw, best, resized, offset, grid, tile: int, overview_first: bool, tokens: Tokens) -> LlavaNextPlan:
    """One impl's plan; a [0, 0] grid means the image was not tiled (overview only)."""
    num_images = grid[0] * grid[1] + 1
    return LlavaNextPlan(**summary_fields(image_hw, resized, best, offset, grid, num_images, tokens),
                         best_resolution=tuple(best), overview=(tile, tile), overview_first=overview_first,
                         image_sizes=tuple(image_hw))


def plan(img_h: int, img_w: int, pinpoints, tile: int, order: str = "hw",
         tokens: Callable[[tuple, tuple], Tokens] | None = None) -> LlavaNextPlan:
    """The plan of the LLaVA repo (order "wh") or transformers (order "hw"); ``tokens(image_hw, grid)``
    counts the tokens (default: none counted)."""
    best = select_best_resolution(img_h, img_w, pinpoints_hw(pinpoints, order))
    resized = fit_size(img_h, img_w, *best)
    grid = (math.ceil(best[0] / tile), math.ceil(best[1] / tile))
    count = tokens((img_h, img_w), grid) if tokens else Tokens(0, 0)
    return make_plan((img_h, img_w), best, resized, pad_offset(*resized, *best), grid, tile, True, count)
