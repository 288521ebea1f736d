"""Gemma 3 stages from transformers' own code (``models/gemma3/image_processing{,_pil}_gemma3.py``,
transformers 5.23.0).

PIL backend order (``Gemma3ImageProcessorPil._preprocess``): [pan_and_scan] -> for the whole image and
each crop: resize -> rescale -> normalize.
torchvision backend order (``Gemma3ImageProcessor._preprocess``): [pan_and_scan_batched] -> resize ->
fused rescale_and_normalize.

Pan-and-scan runs only when the processor's ``do_pan_and_scan`` is true (off for the checkpoint).
``pack`` is ``pixel_values`` of the image: (1 + num_crops, C, H, W), whole image first.
"""

from __future__ import annotations

import numpy as np
import torch
from transformers.image_utils import ChannelDimension

from parity.arrays import hwc
from parity.families import gemma3 as geometry
from parity.trace import TraceBuilder


def _pas_kwargs(kw: dict) -> dict:
    return {k: kw[k] for k in ("pan_and_scan_min_crop_size", "pan_and_scan_max_num_crops",
                               "pan_and_scan_min_ratio_to_activate")}


def _plan(h: int, w: int, crop_shapes: list[tuple[int, int]], kw: dict, preset) -> dict:
    """Crop boxes rebuilt from the crops HF cut: one row or one column, each starting where the
    previous full-size crop ends."""
    crops, top, left = [], 0, 0
    for ch, cw in crop_shapes:
        crops.append([top, left, ch, cw])
        if w >= h:
            left += cw
        else:
            top += ch
    tokens = geometry.tokens_with_newlines(preset["mm_tokens_per_image"], len(crop_shapes))
    return geometry.make_plan((h, w), (kw["size"].height, kw["size"].width), crops, tokens).to_dict()


def _record(resized: list[np.ndarray], normalized: np.ndarray, num_crops: int, tb: TraceBuilder) -> None:
    images = [hwc(r) for r in resized]
    tb.add("resize", images[0] if len(images) == 1 else tuple(images), "HWC" if len(images) == 1 else "images,HWC",
           note="whole image first, then pan-and-scan crops")
    tb.add("normalize", normalized, "images,C,H,W")
    tb.add("pack", normalized, "images,C,H,W")
    tb.add("num_crops", np.array([num_crops], dtype=np.int64), "images")


def stages_pil(proc, kw: dict, rgb: np.ndarray, preset, tb: TraceBuilder) -> None:

    chw = proc.process_image(rgb, do_convert_rgb=kw["do_convert_rgb"], input_data_format=ChannelDimension.LAST)
    crops = proc.pan_and_scan(image=chw, **_pas_kwargs(kw)) if kw["do_pan_and_scan"] else []
    tb.add("plan", _plan(chw.shape[1], chw.shape[2], [c.shape[1:] for c in crops], kw, preset), "plan")
    resized, normalized = [], []
    for img in [chw, *crops]:
        if kw["do_resize"]:
            img = proc.resize(image=img, size=kw["size"], resample=kw["resample"])
        resized.append(img)
        if kw["do_rescale"]:
            img = proc.rescale(image=img, scale=kw["rescale_factor"])
        if kw["do_normalize"]:
            img = proc.normalize(image=img, mean=kw["image_mean"], std=kw["image_std"])
        normalized.append(img)
    _record(resized, np.stack(normalized), len(crops), tb)


def stages_torchvision(proc, kw: dict, rgb: np.ndarray, preset, tb: TraceBuilder) -> None:

    chw = proc.process_image(rgb, do_convert_rgb=kw["do_convert_rgb"], input_data_format=ChannelDimension.LAST)
    batch = chw[None]  # _preprocess works on stacked groups of same-shape images
    crops = proc.pan_and_scan_batched(images=batch, **_pas_kwargs(kw)) if kw["do_pan_and_scan"] else []
    tb.add("plan", _plan(chw.shape[-2], chw.shape[-1], [tuple(c.shape[-2:]) for c in crops], kw, preset), "plan")
    images = [batch, *crops]
    if kw["do_pan_and_scan"] or kw["do_resize"]:  # with pan-and-scan HF resizes unconditionally
        images = [proc.resize(image=x, size=kw["size"], resample=kw["resample"]) for x in images]
    stacked = torch.cat(images, dim=0)
    x = proc.rescale_and_normalize(stacked, kw["do_rescale"], kw["rescale_factor"], kw["do_normalize"],
                                   kw["image_mean"], kw["image_std"])
    _record([r.numpy() for r in stacked], x.numpy(), len(crops), tb)
