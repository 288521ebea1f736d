"""LLaVA-1.5 / MobileVLM geometry: optional pad-to-square, shortest-edge resize, center crop.

The authors' pipeline (LLaVA ``llava/mm_utils.py`` ``process_images`` with ``image_aspect_ratio="pad"``,
llava-torch 1.2.2.post1 = haotian-liu/LLaVA v1.2.2; MobileVLM ``mobilevlm/utils.py`` ``process_images``,
Meituan-AutoML/MobileVLM):

1. ``expand2square``: paste the image centred on a square of side max(h, w) filled with the mean
   colour ``tuple(int(m * 255) for m in image_mean)``; the offset on the short side is
   (side - short) // 2.
2. CLIPImageProcessor: resize so the short side is ``shortest_edge`` and the long side is
   int(shortest_edge * long / short) (transformers ``get_resize_output_image_size``,
   default_to_square=False), bicubic.
3. Center crop ``crop`` x ``crop`` at top = (h - crop) // 2, left = (w - crop) // 2.

llava-hf's checkpoint config (CLIPImageProcessor, no ``do_pad``) skips step 1: the model then sees a
center crop of the photo instead of the whole photo on a grey square — a divergence the ``plan``
(``canvas``) and the ``pad`` stage show.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


def mean_fill(image_mean) -> tuple[int, ...]:
    """The pad colour of step 1: int(m * 255) per channel (truncation, not rounding)."""
    return tuple(int(m * 255) for m in image_mean)


def square_canvas(img_h: int, img_w: int) -> tuple[int, int, int]:
    """(side, top, left) of step 1: the image is pasted at (top, left) on a side x side square."""
    side = max(img_h, img_w)
    return side, (side - img_h) // 2, (side - img_w) // 2


def shortest_edge_size(img_h: int, img_w: int, shortest_edge: int) -> tuple[int, int]:
    """(new_h, new_w) of step 2."""
    short, long = (img_w, img_h) if img_w <= img_h else (img_h, img_w)
    new_short, new_long = shortest_edge, int(shortest_edge * long / short)
    return (new_long, new_short) if img_w <= img_h else (new_short, new_long)


def center_crop_box(img_h: int, img_w: int, crop_h: int, crop_w: int) -> tuple[int, int, int, int]:
    """(top, left, height, width) of step 3 (the short side equals the crop here, so no padding)."""
    return (img_h - crop_h) // 2, (img_w - crop_w) // 2, crop_h, crop_w


@dataclass(frozen=True)
class LlavaPlan:
    image_size: tuple[int, int]  # (h, w) decoded
    canvas: tuple[int, int]  # (h, w) after pad-to-square; = image_size when not padded
    pad_offset: tuple[int, int]  # (top, left) of the image on the canvas
    resized: tuple[int, int]  # (h, w) after the shortest-edge resize
    crop: tuple[int, int, int, int]  # (top, left, h, w) in the resized image

    def to_dict(self) -> dict:
        return {k: list(v) for k, v in asdict(self).items()}


def plan(img_h: int, img_w: int, shortest_edge: int, crop: int, pad_to_square: bool) -> LlavaPlan:
    if pad_to_square:
        side, top, left = square_canvas(img_h, img_w)
        canvas, offset = (side, side), (top, left)
    else:
        canvas, offset = (img_h, img_w), (0, 0)
    resized = shortest_edge_size(*canvas, shortest_edge)
    return LlavaPlan((img_h, img_w), canvas, offset, resized, center_crop_box(*resized, crop, crop))
