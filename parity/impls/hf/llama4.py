"""Llama 4 stages from transformers' own code (``models/llama4/image_processing_llama4.py``,
transformers 5.23.0; torchvision backend only — there is no ``Llama4ImageProcessorPil``).

``Llama4ImageProcessor._preprocess``: find_supported_resolutions -> get_best_fit -> limit upscaling to
the tile -> get_max_res_without_distortion -> resize -> pad_to_best_fit (right/bottom, 0) ->
rescale_and_normalize (overridden: **bfloat16** arithmetic, as Meta's original) -> split_to_tiles, then
a global tile (resize to tile x tile, same normalization) appended when there is more than one tile.

The processor's ``pixel_values`` are bfloat16; numpy has no bfloat16, so ``normalize`` / ``pack`` are
recorded as float32 (a widening: every bfloat16 value is exact in float32; the bytes differ from the
bfloat16 buffer, which is half as long).
"""

from __future__ import annotations

import numpy as np
import torch
from transformers.image_transforms import split_to_tiles
from transformers.image_utils import ChannelDimension, SizeDict
from transformers.models.llama4 import image_processing_llama4 as mod

from parity.families import llama4 as geometry
from parity.trace import TraceBuilder

_BF16_NOTE = "bfloat16 in transformers, recorded widened to float32 (exact)"


def _f32(t) -> np.ndarray:

    return t.to(torch.float32).numpy()


def stages_torchvision(proc, kw: dict, rgb: np.ndarray, preset, tb: TraceBuilder) -> None:

    size, max_patches, to_max = kw["size"], kw["max_patches"], kw["resize_to_max_canvas"]
    image = proc.process_image(rgb, do_convert_rgb=kw["do_convert_rgb"], input_data_format=ChannelDimension.LAST)
    h, w = image.shape[-2:]
    per_tile = geometry.tokens_per_tile(size.height, preset["patch_size"], preset["pixel_shuffle_ratio"])
    tb.add("plan", geometry.plan(h, w, size.height, max_patches, "hw", to_max, per_tile=per_tile).to_dict(), "plan")
    stacked = image[None]  # _preprocess works on stacked groups of same-shape images
    possible = torch.tensor(mod.find_supported_resolutions(max_num_chunks=max_patches, patch_size=size))
    target = mod.get_best_fit(stacked.shape[-2:], possible, resize_to_max_canvas=to_max)
    if to_max:
        fit_target = target
    else:
        fit_target = (min(max(h, size.height), target[0]), min(max(w, size.height), target[1]))
    new_h, new_w = mod.get_max_res_without_distortion((h, w), fit_target)
    x = proc.resize(stacked, SizeDict(height=max(new_h, 1), width=max(new_w, 1)), resample=kw["resample"])
    tb.add("resize", np.moveaxis(x[0].numpy(), 0, -1), "HWC")
    x = mod.pad_to_best_fit(x, target)
    tb.add("pad", np.moveaxis(x[0].numpy(), 0, -1), "HWC")
    x = proc.rescale_and_normalize(x, kw["do_rescale"], kw["rescale_factor"], kw["do_normalize"],
                                   kw["image_mean"], kw["image_std"])
    tb.add("normalize", _f32(x[0]), "C,H,W canvas", note=_BF16_NOTE)
    rows, cols = int(target[0]) // size.height, int(target[1]) // size.width
    tiles = split_to_tiles(x, rows, cols)
    if rows * cols > 1:
        overview = proc.resize(stacked, size, resample=kw["resample"])
        overview = proc.rescale_and_normalize(overview, kw["do_rescale"], kw["rescale_factor"],
                                              kw["do_normalize"], kw["image_mean"], kw["image_std"])
        tiles = torch.cat([tiles, overview.unsqueeze(1)], dim=1)
    tb.add("tiles", _f32(tiles[0]), "tiles,C,H,W", note="row-major tiles, then the global tile; " + _BF16_NOTE)
    tb.add("pack", _f32(tiles[0]), "tiles,C,H,W", note=_BF16_NOTE)
    tb.add("aspect_ratios", np.array([[rows, cols]], dtype=np.int64), "images,(rows,cols)")
