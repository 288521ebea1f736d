"""Idefics3 / SmolVLM stages from transformers' own code
(``models/idefics3/image_processing{,_pil}_idefics3.py``, transformers 5.23.0).

PIL backend order (``Idefics3ImageProcessorPil._preprocess``): resize (longest edge) ->
resize_for_vision_encoder (whole tiles) -> split_images (crops + global) -> rescale -> normalize -> pad
(to the batch's largest frame, with pixel_attention_mask).
torchvision backend order (``Idefics3ImageProcessor._preprocess``): the same, with a fused
rescale_and_normalize.

``pack`` is the image's frames (num_images, C, t, t): crops row-major, then the global image.
"""

from __future__ import annotations

import numpy as np
import torch
from transformers.image_utils import ChannelDimension, SizeDict
from transformers.models.idefics3.image_processing_pil_idefics3 import get_max_height_width

from parity.arrays import hwc
from parity.errors import ParityError
from parity.families import idefics3 as geometry
from parity.trace import TraceBuilder, sealed


def _plan(h: int, w: int, resized, canvas, rows: int, cols: int, n_images: int, tile: int, preset) -> dict:
    seq_len = geometry.image_seq_len(tile, preset["patch_size"], preset["scale_factor"])
    plan = geometry.make_plan((int(h), int(w)), tuple(int(s) for s in resized), tuple(int(s) for s in canvas),
                              (int(rows), int(cols)), seq_len)
    if plan.num_images != n_images:
        raise ParityError(f"idefics3 plan counts {plan.num_images} images, the processor made {n_images}")
    return plan.to_dict()


def _tile(kw: dict) -> int:
    return kw["max_image_size"]["longest_edge"]


def stages_pil(proc, kw: dict, rgb: np.ndarray, preset, tb: TraceBuilder) -> None:

    x = proc.process_image(rgb, do_convert_rgb=kw["do_convert_rgb"], input_data_format=ChannelDimension.LAST)
    h, w = x.shape[-2:]
    resample, tile = kw["resample"], _tile(kw)
    if kw["do_resize"]:
        x = proc.resize(image=x, size=kw["size"], resample=resample)
    resized = x.shape[-2:]
    if kw["do_image_splitting"]:
        x = proc.resize_for_vision_encoder(x, tile, resample=resample)
        frames, rows, cols = proc.split_images(x, max_image_size=kw["max_image_size"], resample=resample)
    else:
        x = proc.resize(image=x, size=SizeDict(height=tile, width=tile), resample=resample)
        frames, rows, cols = [x], 0, 0
    tb.add("plan", _plan(h, w, resized, x.shape[-2:], rows, cols, len(frames), _tile(kw), preset), "plan")
    tb.add("resize", hwc(x), "HWC", note=f"longest edge -> {resized[0]}x{resized[1]}, then whole tiles")
    tb.add("tiles", sealed(np.stack(frames)), "images,C,H,W uint8")
    if kw["do_rescale"]:
        frames = [proc.rescale(f, kw["rescale_factor"]) for f in frames]
    if kw["do_normalize"]:
        frames = [proc.normalize(f, kw["image_mean"], kw["image_std"]) for f in frames]
    tb.add("normalize", sealed(np.stack(frames)), "images,C,H,W")
    if kw["do_pad"]:

        size = get_max_height_width([frames])  # the batch's largest frame; one image here
        padded = [proc.pad(f, size) for f in frames]
        frames, masks = [p[0] for p in padded], [p[1] for p in padded]
        tb.add("pack", sealed(np.stack(frames).astype(np.float32)), "images,C,H,W")
        tb.add("pixel_attention_mask", sealed(np.stack(masks)), "images,H,W")
    else:
        tb.add("pack", sealed(np.stack(frames)), "images,C,H,W")


def stages_torchvision(proc, kw: dict, rgb: np.ndarray, preset, tb: TraceBuilder) -> None:

    chw = proc.process_image(rgb, do_convert_rgb=kw["do_convert_rgb"], input_data_format=ChannelDimension.LAST)
    h, w = chw.shape[-2:]
    resample, tile = kw["resample"], _tile(kw)
    x = chw[None]  # _preprocess works on stacked groups of same-shape images
    if kw["do_resize"]:
        x = proc.resize(x, kw["size"], resample=resample)
    resized = tuple(x.shape[-2:])
    if kw["do_image_splitting"]:
        x = proc.resize_for_vision_encoder(x, tile, resample=resample)
        frames, rows, cols = proc.split_images(x, max_image_size=kw["max_image_size"], resample=resample)
        frames, rows, cols = frames[0], rows[0], cols[0]
    else:
        x = proc.resize(image=x, size=SizeDict(height=tile, width=tile), resample=resample)
        frames, rows, cols = x, 0, 0
    tb.add("plan", _plan(h, w, resized, x.shape[-2:], rows, cols, frames.shape[0], _tile(kw), preset), "plan")
    tb.add("resize", hwc(x[0].numpy()), "HWC", note=f"longest edge -> {resized[0]}x{resized[1]}, then whole tiles")
    tb.add("tiles", frames.numpy(), "images,C,H,W uint8")
    y = proc.rescale_and_normalize(frames, kw["do_rescale"], kw["rescale_factor"], kw["do_normalize"],
                                   kw["image_mean"], kw["image_std"])
    tb.add("normalize", y.numpy(), "images,C,H,W")
    if kw["do_pad"]:
        size = tuple(y.shape[-2:])
        out = torch.zeros(y.shape, dtype=torch.float32)
        masks = torch.zeros((y.shape[0], *size), dtype=torch.int64)
        for j in range(y.shape[0]):
            out[j], masks[j] = proc.pad(y[j], size)
        tb.add("pack", out.numpy(), "images,C,H,W")
        tb.add("pixel_attention_mask", masks.numpy(), "images,H,W")
    else:
        tb.add("pack", y.numpy(), "images,C,H,W")
