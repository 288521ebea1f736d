"""Gemma 3 geometry: one fixed square resize (896x896, no aspect kept), optionally preceded by
pan-and-scan crops.

Algorithm as in transformers ``models/gemma3/image_processing{,_pil}_gemma3.py`` (``pan_and_scan``,
``_preprocess``; transformers 5.23.0), itself a port of Google's Gemma 3 pan-and-scan:

1. Without pan-and-scan (the checkpoint default: ``do_pan_and_scan`` null, ``Gemma3Processor.images_kwargs``
   default False) the whole image is resized to size x size (bilinear), num_crops = 0.
2. Pan-and-scan, landscape (w >= h): only if w / h >= min_ratio_to_activate. Crops along the width:
   n = floor(w / h + 0.5), then min(n, floor(w / min_crop_size)), clamped to [2, max_num_crops].
   Portrait: the same along the height. Crop size = ceil(side / n); if the smaller crop side is
   < min_crop_size there are no crops. Crops start at multiples of the crop size (the last one may
   be cut short by the image border), row-major.
3. The output is [whole image, crop 1, ..., crop n], each resized to size x size.

Tokens: ``mm_tokens_per_image`` (256) soft tokens per image between ``<start_of_image>`` and
``<end_of_image>``, with "\n\n" before and after (Google's gemma library ``_token_utils.py``,
transformers ``Gemma3Processor``, Ollama f63eea3 ``gemma3/model.go``); llama.cpp mtmd 0c1e570 adds only
the two image markers. (With pan-and-scan crops, transformers adds English text whose token count
needs the tokenizer; the presets keep pan-and-scan off.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from parity.families.base import Plan, Tokens, summary_fields


def pan_and_scan_boxes(img_h: int, img_w: int, min_crop_size: int, max_num_crops: int,
                       min_ratio_to_activate: float) -> list[tuple[int, int, int, int]]:
    """(top, left, height, width) of each crop per step 2, clipped to the image; [] if none."""
    if img_w >= img_h:
        if img_w / img_h < min_ratio_to_activate:
            return []
        n_w = min(int(math.floor(img_w / min_crop_size)), int(math.floor(img_w / img_h + 0.5)))
        n_w, n_h = min(max_num_crops, max(2, n_w)), 1
    else:
        if img_h / img_w < min_ratio_to_activate:
            return []
        n_h = min(int(math.floor(img_h / min_crop_size)), int(math.floor(img_h / img_w + 0.5)))
        n_h, n_w = min(max_num_crops, max(2, n_h)), 1
    crop_w, crop_h = int(math.ceil(img_w / n_w)), int(math.ceil(img_h / n_h))
    if min(crop_w, crop_h) < min_crop_size:
        return []
    return [(top, left, min(crop_h, img_h - top), min(crop_w, img_w - left))
            for top in range(0, crop_h * n_h, crop_h) for left in range(0, crop_w * n_w, crop_w)]


def tokens_with_newlines(mm_tokens_per_image: int, num_crops: int = 0) -> Tokens:
    """The gemma library's, transformers' and Ollama's sequence, per image (whole image and crops). With
    crops, transformers also inserts an English phrase whose tokens are not counted here (they need the
    Gemma tokenizer)."""
    n = num_crops + 1
    return Tokens((mm_tokens_per_image + 4) * n, mm_tokens_per_image * n)


def tokens_llamacpp(mm_tokens_per_image: int) -> Tokens:
    return Tokens(mm_tokens_per_image + 2, mm_tokens_per_image)


@dataclass(frozen=True)
class Gemma3Plan(Plan):
    crops: tuple[tuple[int, int, int, int], ...]  # [top, left, h, w] of each pan-and-scan crop


def make_plan(image_hw, resized, crops, tokens: Tokens, canvas=None, pad_offset=(0, 0)) -> Gemma3Plan:
    """One impl's plan: the whole image and each crop become one ``canvas`` image."""
    return Gemma3Plan(**summary_fields(image_hw, resized, canvas, pad_offset, (1, 1), 1 + len(crops), tokens),
                      crops=tuple(tuple(c) for c in crops))


def plan(img_h: int, img_w: int, size: int, pan_and_scan: bool, min_crop_size: int = 256,
         max_num_crops: int = 4, min_ratio_to_activate: float = 1.2, mm_tokens_per_image: int = 256) -> Gemma3Plan:
    boxes = pan_and_scan_boxes(img_h, img_w, min_crop_size, max_num_crops,
                               min_ratio_to_activate) if pan_and_scan else []
    return make_plan((img_h, img_w), (size, size), boxes, tokens_with_newlines(mm_tokens_per_image, len(boxes)))
