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
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

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


@dataclass(frozen=True)
class LlavaNextPlan:
    image_size: tuple[int, int]  # (h, w) decoded
    best_resolution: tuple[int, int]  # (h, w) pinpoint
    resized: tuple[int, int]  # (h, w) fitted into it
    pad_offset: tuple[int, int]  # (top, left)
    grid: tuple[int, int]  # (rows, cols) of tiles
    num_patches: int  # tiles + the overview
    image_sizes: tuple[int, int]  # the side output: (h, w) of the input

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def plan(img_h: int, img_w: int, pinpoints, tile: int, order: str = "hw") -> LlavaNextPlan:
    best = select_best_resolution(img_h, img_w, pinpoints_hw(pinpoints, order))
    resized = fit_size(img_h, img_w, *best)
    grid = (math.ceil(best[0] / tile), math.ceil(best[1] / tile))
    return LlavaNextPlan((img_h, img_w), best, resized, pad_offset(*resized, *best), grid,
                         grid[0] * grid[1] + 1, (img_h, img_w))
