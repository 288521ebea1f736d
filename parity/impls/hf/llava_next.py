"""LLaVA-NeXT stages (llava-1.6, granite-vision) from transformers' own code
(``models/llava_next/image_processing{,_pil}_llava_next.py``, transformers 5.23.0).

Both backends (``_preprocess`` -> ``[_]get_image_patches``): select_best_resolution ->
_resize_for_patching -> _pad_for_patching -> divide_to_patches, with the overview (whole image resized
to ``size``) first; then every patch gets resize(size) -> center_crop -> rescale/normalize (the PIL
backend one by one, the torchvision backend per same-shape group with the fused rescale_and_normalize),
stacked, and _pad_for_batching.
"""

from __future__ import annotations

import numpy as np
import torch
from transformers.image_processing_utils import select_best_resolution
from transformers.image_transforms import divide_to_patches, group_images_by_shape, reorder_images
from transformers.image_utils import ChannelDimension, SizeDict, get_image_size

from parity.arrays import hwc
from parity.families import llava_next as geometry
from parity.trace import TraceBuilder


def _size_tuple_and_tile(kw: dict) -> tuple[tuple[int, int], int]:
    """The overview size and patch size exactly as ``_preprocess`` derives them."""
    size, crop = kw["size"], kw["crop_size"]
    size_tuple = (size.height, size.width) if size and size.height and size.width else (size.shortest_edge,) * 2
    if crop and crop.height:
        tile = crop.height
    elif size and size.height:
        tile = size.height
    else:
        tile = size.shortest_edge
    return size_tuple, tile


def _plan(kw: dict, h: int, w: int, tile: int, preset) -> dict:
    def tokens(image_hw, grid):
        return geometry.tokens_hf(image_hw, grid, tile, preset["patch_size"], preset["num_additional_image_tokens"],
                                  preset["vision_feature_select_strategy"])

    return geometry.plan(h, w, kw["image_grid_pinpoints"], tile, order="hw", tokens=tokens).to_dict()




def stages_pil(proc, kw: dict, rgb: np.ndarray, preset, tb: TraceBuilder) -> None:

    size_tuple, tile = _size_tuple_and_tile(kw)
    image = proc.process_image(rgb, do_convert_rgb=kw["do_convert_rgb"], input_data_format=ChannelDimension.LAST)
    tb.add("plan", _plan(kw, image.shape[1], image.shape[2], tile, preset), "plan")
    best = select_best_resolution(image.shape[-2:], kw["image_grid_pinpoints"])
    resized = proc._resize_for_patching(image, best, resample=kw["resample"])
    tb.add("resize", hwc(resized), "HWC")
    padded = proc._pad_for_patching(resized, best)
    tb.add("pad", hwc(padded), "HWC")
    overview = proc.resize(image=image, size=SizeDict(height=size_tuple[0], width=size_tuple[1]),
                           resample=kw["resample"])
    patches = [overview] + divide_to_patches(padded, patch_size=tile)
    uint8_tiles, out = [], []
    for patch in patches:
        if kw["do_resize"]:
            patch = proc.resize(image=patch, size=kw["size"], resample=kw["resample"])
        if kw["do_center_crop"]:
            patch = proc.center_crop(image=patch, size=kw["crop_size"])
        uint8_tiles.append(patch)
        if kw["do_rescale"]:
            patch = proc.rescale(image=patch, scale=kw["rescale_factor"])
        if kw["do_normalize"]:
            patch = proc.normalize(image=patch, mean=kw["image_mean"], std=kw["image_std"])
        out.append(patch)
    tb.add("tiles", np.array(uint8_tiles), "patches,C,H,W uint8", note="overview first, then row-major tiles")
    x = np.array(out)
    tb.add("normalize", x, "patches,C,H,W")
    if kw["do_pad"]:
        x = proc._pad_for_batching([x])[0]
    tb.add("pack", x, "patches,C,H,W")
    tb.add("image_sizes", np.array([image.shape[-2:]], dtype=np.int64), "images,(h,w)")


def stages_torchvision(proc, kw: dict, rgb: np.ndarray, preset, tb: TraceBuilder) -> None:

    size_tuple, tile = _size_tuple_and_tile(kw)
    image = proc.process_image(rgb, do_convert_rgb=kw["do_convert_rgb"], input_data_format=ChannelDimension.LAST)
    tb.add("plan", _plan(kw, image.shape[-2], image.shape[-1], tile, preset), "plan")
    best = select_best_resolution(get_image_size(image, channel_dim=ChannelDimension.FIRST),
                                  kw["image_grid_pinpoints"])
    resized = proc._resize_for_patching(image, best, resample=kw["resample"],
                                        input_data_format=ChannelDimension.FIRST)
    tb.add("resize", hwc(resized.numpy()), "HWC")
    padded = proc._pad_for_patching(resized, best)
    tb.add("pad", hwc(padded.numpy()), "HWC")
    overview = proc.resize(image=image, size=SizeDict(height=size_tuple[0], width=size_tuple[1]),
                           resample=kw["resample"])
    patches = [overview] + divide_to_patches(padded, patch_size=tile)
    grouped, index = group_images_by_shape(patches, disable_grouping=kw["disable_grouping"])
    uint8_groups, out_groups = {}, {}
    for shape, stacked in grouped.items():
        if kw["do_resize"]:
            stacked = proc.resize(image=stacked, size=kw["size"], resample=kw["resample"])
        if kw["do_center_crop"]:
            stacked = proc.center_crop(stacked, kw["crop_size"])
        uint8_groups[shape] = stacked
        mean = tuple(kw["image_mean"]) if isinstance(kw["image_mean"], list) else kw["image_mean"]
        std = tuple(kw["image_std"]) if isinstance(kw["image_std"], list) else kw["image_std"]
        out_groups[shape] = proc.rescale_and_normalize(stacked, kw["do_rescale"], kw["rescale_factor"],
                                                       kw["do_normalize"], mean, std)
    tb.add("tiles", torch.stack(reorder_images(uint8_groups, index)).numpy(), "patches,C,H,W uint8",
           note="overview first, then row-major tiles")
    x = torch.stack(reorder_images(out_groups, index), dim=0)
    tb.add("normalize", x.numpy(), "patches,C,H,W")
    if kw["do_pad"]:
        x = proc._pad_for_batching([x])[0]
    tb.add("pack", x.numpy(), "patches,C,H,W")
    tb.add("image_sizes", np.array([get_image_size(image, ChannelDimension.FIRST)], dtype=np.int64), "images,(h,w)")
