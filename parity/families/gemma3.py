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
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass


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


@dataclass(frozen=True)
class Gemma3Plan:
    image_size: tuple[int, int]  # (h, w) of the decoded image
    resized: tuple[int, int]  # (h, w) every image (whole + crops) is resized to
    num_crops: int  # pan-and-scan crops besides the whole image
    crops: tuple[tuple[int, int, int, int], ...]  # (top, left, h, w) of each crop

    def to_dict(self) -> dict:
        d = asdict(self)
        d["image_size"], d["resized"] = list(self.image_size), list(self.resized)
        d["crops"] = [list(c) for c in self.crops]
        return d


def plan(img_h: int, img_w: int, size: int, pan_and_scan: bool, min_crop_size: int = 256,
         max_num_crops: int = 4, min_ratio_to_activate: float = 1.2) -> Gemma3Plan:
    boxes = pan_and_scan_boxes(img_h, img_w, min_crop_size, max_num_crops,
                               min_ratio_to_activate) if pan_and_scan else []
    return Gemma3Plan((img_h, img_w), (size, size), len(boxes), tuple(boxes))
