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
(``padded_square``) and the ``pad`` stage show.

Tokens: (crop / patch)^2 = 576 CLIP features, one sequence position each, no delimiters (LLaVA v1.2.2
``llava/model/llava_arch.py``: CLS dropped, ``mm_use_im_start_end`` False); MobileVLM V2's LDPv2
projector pools them to 12x12 = 144. transformers ``LlavaProcessor``: (H/p)(W/p) +
num_additional_image_tokens, minus 1 for ``vision_feature_select_strategy == "default"``.
llama.cpp (mtmd and the llava-cli era): ``clip_n_output_tokens`` (image_size / p)^2, a quarter for
the LDP/LDPv2 projectors.
"""

from __future__ import annotations

from dataclasses import dataclass

from parity.families.base import Plan, Tokens, summary_fields


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


def tokens_reference(crop: int, patch: int, projector_tokens: int | None = None) -> Tokens:
    n = projector_tokens if projector_tokens is not None else (crop // patch) ** 2
    return Tokens(n, n)


def tokens_hf(crop: int, patch: int, num_additional_image_tokens: int, strategy: str) -> Tokens:
    n = (crop // patch) ** 2 + num_additional_image_tokens - (1 if strategy == "default" else 0)
    return Tokens(n, n)


def tokens_llamacpp(image_size: int, patch: int, projector: str) -> Tokens:
    n = (image_size // patch) ** 2 // (4 if projector in ("ldp", "ldpv2") else 1)
    return Tokens(n, n)


@dataclass(frozen=True)
class LlavaPlan(Plan):
    padded_square: tuple[int, int]  # [h, w] after pad-to-square (before the resize); = image_size if none
    crop: tuple[int, int, int, int]  # [top, left, h, w] cut from the resized image


def make_plan(image_hw, padded_square, resized, crop, tokens: Tokens, pad_offset=(0, 0),
              canvas=None) -> LlavaPlan:
    """One impl's plan; ``pad_offset`` is where the image lies on whatever it was padded to, ``canvas``
    the final encoder input (default: the crop)."""
    canvas = canvas if canvas is not None else crop[2:]
    return LlavaPlan(**summary_fields(image_hw, resized, canvas, pad_offset, (1, 1), 1, tokens),
                     padded_square=tuple(padded_square), crop=tuple(crop))


def plan(img_h: int, img_w: int, shortest_edge: int, crop: int, pad_to_square: bool, tokens: Tokens) -> LlavaPlan:
    if pad_to_square:
        side, top, left = square_canvas(img_h, img_w)
        square, offset = (side, side), (top, left)
    else:
        square, offset = (img_h, img_w), (0, 0)
    resized = shortest_edge_size(*square, shortest_edge)
    return make_plan((img_h, img_w), square, resized, center_crop_box(*resized, crop, crop), tokens, offset)
