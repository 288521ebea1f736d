"""Pixtral stages from transformers' own code (``models/pixtral/image_processing{,_pil}_pixtral.py``,
transformers 5.23.0).

PIL backend order (``PixtralImageProcessorPil._preprocess``): resize (fit into longest_edge, round up
to patches) -> rescale -> normalize -> _pad_for_batching (a no-op for one image).
torchvision backend order (``PixtralImageProcessor._preprocess``): resize -> fused
rescale_and_normalize -> _pad_for_batching.

``pack`` is the one image (C, H, W); ``image_sizes`` = [[H, W]].
"""

from __future__ import annotations

import math

import numpy as np
from transformers.image_processing_utils import get_size_dict
from transformers.image_utils import ChannelDimension, SizeDict
from transformers.models.pixtral import image_processing_pil_pixtral as pil_mod
from transformers.models.pixtral import image_processing_pixtral as tv_mod

from parity.arrays import hwc
from parity.errors import ParityError
from parity.families import pixtral as geometry
from parity.trace import TraceBuilder


def _patch(proc, kw: dict, preset):
    """The patch the image processor is called with: ``PixtralProcessor._process_images`` passes
    patch_size x spatial_merge_size (Mistral 3's 2x2 patch merger; 1 for Pixtral-12B)."""
    patch = SizeDict(**get_size_dict(kw.get("patch_size") or proc.patch_size, default_to_square=True))
    merge = int(preset.get("spatial_merge_size", 1))
    return SizeDict(height=patch.height * merge, width=patch.width * merge)


def _plan(mod, chw, patch, kw: dict, preset) -> dict:

    h, w = chw.shape[-2:]
    longest = kw["size"].longest_edge
    rh, rw = mod.get_resize_output_image_size(chw, size=(longest, longest), patch_size=(patch.height, patch.width),
                                              input_data_format=ChannelDimension.FIRST)
    ratio = max(h / longest, w / longest)
    fitted = [math.floor(h / ratio), math.floor(w / ratio)] if ratio > 1 else [int(h), int(w)]
    if rh <= 0 or rw <= 0:  # floor(side / ratio) == 0 gives 0 patches: HF cannot resize to it
        raise ParityError(f"transformers' Pixtral resize maps a {h}x{w} (h x w) image to {rh}x{rw}: a side "
                          f"floors to 0 pixels (mistral-common clamps it to 1)")
    grid = (int(rh) // patch.height, int(rw) // patch.width)  # merged patches: one [IMG] each
    return geometry.make_plan((int(h), int(w)), fitted, (int(rh), int(rw)), int(preset["patch_size"]),
                              geometry.tokens_mistral(grid)).to_dict()


def stages_pil(proc, kw: dict, rgb: np.ndarray, preset, tb: TraceBuilder) -> None:

    patch = _patch(proc, kw, preset)
    x = proc.process_image(rgb, do_convert_rgb=kw["do_convert_rgb"], input_data_format=ChannelDimension.LAST)
    tb.add("plan", _plan(pil_mod, x, patch, kw, preset), "plan")
    if kw["do_resize"]:
        x = proc.resize(x, size=kw["size"], patch_size=patch, resample=kw["resample"])
        tb.add("resize", hwc(x), "HWC")
    if kw["do_rescale"]:
        x = proc.rescale(x, kw["rescale_factor"])
    if kw["do_normalize"]:
        x = proc.normalize(x, kw["image_mean"], kw["image_std"])
    tb.add("normalize", x, "C,H,W")
    size = x.shape[-2:]
    batch = proc._pad_for_batching(pixel_values=[x], image_sizes=[size]) if kw["do_pad"] else x[None]
    tb.add("pack", batch[0], "C,H,W")
    tb.add("image_sizes", np.array([size], dtype=np.int64), "images,hw")


def stages_torchvision(proc, kw: dict, rgb: np.ndarray, preset, tb: TraceBuilder) -> None:

    patch = _patch(proc, kw, preset)
    chw = proc.process_image(rgb, do_convert_rgb=kw["do_convert_rgb"], input_data_format=ChannelDimension.LAST)
    tb.add("plan", _plan(tv_mod, chw, patch, kw, preset), "plan")
    batch = chw[None]  # _preprocess works on stacked groups of same-shape images
    if kw["do_resize"]:
        batch = proc.resize(image=batch, size=kw["size"], patch_size=patch, resample=kw["resample"])
        tb.add("resize", hwc(batch[0].numpy()), "HWC")
    size = tuple(batch.shape[-2:])
    x = proc.rescale_and_normalize(batch, kw["do_rescale"], kw["rescale_factor"], kw["do_normalize"],
                                   kw["image_mean"], kw["image_std"])
    tb.add("normalize", x[0].numpy(), "C,H,W")
    packed = proc._pad_for_batching(pixel_values=[x[0]], image_sizes=[size]) if kw["do_pad"] else x
    tb.add("pack", packed[0].numpy(), "C,H,W")
    tb.add("image_sizes", np.array([size], dtype=np.int64), "images,hw")
