"""The LLaVA authors' image preprocessing, ported: ``llava/mm_utils.py`` of haotian-liu/LLaVA v1.2.2
(PyPI ``llava-torch==1.2.2.post1``), the functions ``process_images`` reaches.

Why a port and not the package: llava-torch's metadata pins ``torch==2.0.1`` and
``transformers==4.36.2``; it cannot be installed beside this project's pinned stack without going
around pip's resolver. Only these few PIL-level functions are needed, so they are ported here and
checked against the real module in ``tests/impls/test_llava_mm_utils_port.py``, which installs the
real wheel into a temporary ``--target`` directory (never into the environment) and compares every
function's output on the same inputs.

Behaviour kept exactly, quirks included:
- ``select_best_resolution`` reads pinpoints as (width, height) and truncates the downscaled size
  with ``int()``; a strictly larger effective resolution wins, ties go to less waste, then first seen.
- ``resize_and_pad_image`` fits with ``math.ceil`` and resizes with ``Image.resize``'s default filter
  (bicubic), pasted centred on black.
- ``expand2square`` pastes centred on a colour, which ``process_images`` gives as
  ``int(x * 255)`` of the processor's mean (truncation, not rounding).
- the anyres overview is ``image.resize((shortest_edge, shortest_edge))`` (bicubic, aspect not kept)
  and comes first, before the row-major patches.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image


def select_best_resolution(original_size: tuple[int, int],
                           possible_resolutions: Sequence[Sequence[int]]) -> tuple[int, int]:
    """(width, height) of the pinpoint that keeps the most of the image, then wastes the least."""
    original_width, original_height = original_size
    best_fit = None
    best_effective, least_wasted = 0, math.inf
    for width, height in possible_resolutions:
        scale = min(width / original_width, height / original_height)
        effective = min(int(original_width * scale) * int(original_height * scale), original_width * original_height)
        wasted = width * height - effective
        if effective > best_effective or (effective == best_effective and wasted < least_wasted):
            best_effective, least_wasted, best_fit = effective, wasted, (width, height)
    return best_fit


def resized_size(original_size: tuple[int, int], target_resolution: tuple[int, int]) -> tuple[int, int]:
    """(width, height) ``resize_and_pad_image`` resizes to: the limiting side fills, the other is ceil'd."""
    (original_width, original_height), (target_width, target_height) = original_size, target_resolution
    scale_w, scale_h = target_width / original_width, target_height / original_height
    if scale_w < scale_h:
        return target_width, min(math.ceil(original_height * scale_w), target_height)
    return min(math.ceil(original_width * scale_h), target_width), target_height


def resize_and_pad_image(image: Image.Image, target_resolution: tuple[int, int]) -> Image.Image:
    """Fit into ``target_resolution`` (w, h) keeping the aspect ratio, centred on black."""
    new_width, new_height = resized_size(image.size, target_resolution)
    resized = image.resize((new_width, new_height))  # Pillow's default filter: bicubic
    target_width, target_height = target_resolution
    canvas = Image.new("RGB", (target_width, target_height), (0, 0, 0))
    canvas.paste(resized, ((target_width - new_width) // 2, (target_height - new_height) // 2))
    return canvas


def divide_to_patches(image: Image.Image, patch_size: int) -> list[Image.Image]:
    """Row-major ``patch_size`` squares (``Image.crop``: past the edge is black)."""
    width, height = image.size
    return [image.crop((x, y, x + patch_size, y + patch_size))
            for y in range(0, height, patch_size) for x in range(0, width, patch_size)]


def get_anyres_image_grid_shape(image_size: tuple[int, int], grid_pinpoints: Sequence[Sequence[int]],
                                patch_size: int) -> tuple[int, int]:
    """(columns, rows) of the patch grid for an image of ``image_size`` (w, h)."""
    width, height = select_best_resolution(image_size, grid_pinpoints)
    return width // patch_size, height // patch_size


def expand2square(image: Image.Image, background_color: tuple[int, ...]) -> Image.Image:
    """Pad the short side to a square, the image centred (offsets floor-divided)."""
    width, height = image.size
    if width == height:
        return image
    side = max(width, height)
    result = Image.new(image.mode, (side, side), background_color)
    result.paste(image, ((side - width) // 2, (side - height) // 2))
    return result


def _pixel_values(processor: Any, image: Image.Image) -> np.ndarray:
    return np.asarray(processor.preprocess(image, return_tensors="np")["pixel_values"][0])


def process_anyres_image(image: Image.Image, processor: Any, grid_pinpoints: Sequence[Sequence[int]]) -> np.ndarray:
    """Overview first, then the patches of the padded best-fit canvas, each through the processor."""
    best = select_best_resolution(image.size, grid_pinpoints)
    patches = divide_to_patches(resize_and_pad_image(image, best), processor.crop_size["height"])
    side = processor.size["shortest_edge"]
    overview = image.resize((side, side))
    return np.stack([_pixel_values(processor, p) for p in [overview, *patches]])


def process_images(images: Sequence[Image.Image], processor: Any, image_aspect_ratio: str | None,
                   grid_pinpoints: Sequence[Sequence[int]] | None = None) -> np.ndarray | list[np.ndarray]:
    """``process_images``: 'pad' (expand2square with the mean colour), 'anyres', else the processor.

    Returns numpy arrays where the original returns torch tensors (same values; stacked when all
    shapes agree, as there)."""
    if image_aspect_ratio == "pad":
        colour = tuple(int(x * 255) for x in processor.image_mean)
        out = [_pixel_values(processor, expand2square(im, colour)) for im in images]
    elif image_aspect_ratio == "anyres":
        out = [process_anyres_image(im, processor, grid_pinpoints) for im in images]
    else:
        return np.asarray(processor(list(images), return_tensors="np")["pixel_values"])
    if all(x.shape == out[0].shape for x in out):
        return np.stack(out)
    return out
