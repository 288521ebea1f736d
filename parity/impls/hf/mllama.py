"""Mllama stages from transformers' own code (``models/mllama/image_processing{,_pil}_mllama.py``,
transformers 5.23.0).

PIL backend order (``MllamaImageProcessorPil._preprocess``): resize -> pad -> rescale+normalize on the
whole canvas -> split_to_tiles_np -> pack_images (zero-padded to max tiles).
torchvision backend order (``MllamaImageProcessor._preprocess``): resize -> pad -> split_to_tiles (uint8)
-> fused rescale_and_normalize on the tiles -> pad_batches_and_tiles.
"""

from __future__ import annotations

import numpy as np
import torch
from transformers.image_transforms import split_to_tiles
from transformers.image_utils import ChannelDimension
from transformers.models.mllama import image_processing_mllama as tv_mod
from transformers.models.mllama import image_processing_pil_mllama as pil_mod

from parity.arrays import hwc
from parity.families import mllama as geometry
from parity.trace import TraceBuilder


def _plan(mod, h: int, w: int, tile: int, max_tiles: int, patch: int) -> dict:
    """The plan from transformers' own helpers (the processor's canvas, fit and aspect-ratio id)."""
    canvas_h, canvas_w = (int(v) for v in mod.get_optimal_tiled_canvas(h, w, max_tiles, tile))
    new_h, new_w = mod.get_image_size_fit_to_canvas(h, w, canvas_h, canvas_w, tile)
    grid = (canvas_h // tile, canvas_w // tile)
    ar_id = mod.get_all_supported_aspect_ratios(max_tiles).index(grid) + 1
    return geometry.make_plan((h, w), (canvas_h, canvas_w), (int(new_h), int(new_w)), grid, ar_id,
                              grid[0] * grid[1] * geometry.vision_tokens_per_tile(tile, patch)).to_dict()


def stages_pil(proc, kw: dict, rgb: np.ndarray, preset, tb: TraceBuilder) -> None:

    size, max_tiles = kw["size"], kw["max_image_tiles"]
    chw = proc.process_image(rgb, do_convert_rgb=kw["do_convert_rgb"], input_data_format=ChannelDimension.LAST)
    plan = tb.add("plan", _plan(pil_mod, chw.shape[1], chw.shape[2], size.height, max_tiles, preset["patch_size"]), "plan")
    resized, aspect = proc.resize(chw, size=size, max_image_tiles=max_tiles, resample=kw["resample"])
    tb.add("resize", hwc(resized), "HWC")
    padded = proc.pad(resized, size={"height": size.height, "width": size.width}, aspect_ratio=aspect)
    tb.add("pad", hwc(padded), "HWC")
    x = proc.rescale(padded, kw["rescale_factor"]) if kw["do_rescale"] else padded
    x = proc.normalize(x, kw["image_mean"], kw["image_std"]) if kw["do_normalize"] else x
    tb.add("normalize", x, "C,H,W canvas")
    tiles = pil_mod.split_to_tiles_np(x, *aspect)
    tb.add("tiles", tiles, "tiles,C,H,W")
    padded_pack, num_tiles = pil_mod.pack_images([[tiles]], max_tiles)
    tb.add("pack", padded_pack[0, 0, : num_tiles[0][0]], "tiles,C,H,W")
    _side_outputs(pil_mod.convert_aspect_ratios_to_ids_np([[aspect]], max_tiles),
                  pil_mod.build_aspect_ratio_mask_np([[aspect]], max_tiles), num_tiles, padded_pack, plan, tb)


def stages_torchvision(proc, kw: dict, rgb: np.ndarray, preset, tb: TraceBuilder) -> None:

    size, max_tiles = kw["size"], kw["max_image_tiles"]
    chw = proc.process_image(rgb, do_convert_rgb=kw["do_convert_rgb"], input_data_format=ChannelDimension.LAST)
    plan = tb.add("plan", _plan(tv_mod, chw.shape[-2], chw.shape[-1], size.height, max_tiles, preset["patch_size"]), "plan")
    batch = chw[None]  # _preprocess works on stacked groups of same-shape images
    resized, aspect = proc.resize(image=batch, size=size, resample=kw["resample"], max_image_tiles=max_tiles)
    tb.add("resize", hwc(resized[0].numpy()), "HWC")
    padded = proc.pad(image=resized, size=size, aspect_ratio=aspect)
    tb.add("pad", hwc(padded[0].numpy()), "HWC")
    tiles = split_to_tiles(padded, *aspect)
    tb.add("tiles", tiles[0].numpy(), "tiles,C,H,W uint8")
    x = proc.rescale_and_normalize(tiles, kw["do_rescale"], kw["rescale_factor"], kw["do_normalize"],
                                   kw["image_mean"], kw["image_std"])
    tb.add("normalize", x[0].numpy(), "tiles,C,H,W")
    padded_pack, num_tiles = tv_mod.pad_batches_and_tiles([[x[0]]], max_tiles)
    tb.add("pack", padded_pack[0, 0, : num_tiles[0][0]].numpy(), "tiles,C,H,W")
    with torch.no_grad():
        ids = tv_mod.convert_aspect_ratios_to_ids([[aspect]], max_tiles).numpy()
        mask = tv_mod.build_aspect_ratio_mask([[aspect]], max_tiles).numpy()
    _side_outputs(ids, mask, num_tiles, padded_pack.numpy(), plan, tb)


def _side_outputs(ids, mask, num_tiles, padded_pack, plan, tb: TraceBuilder) -> None:
    tb.add("aspect_ratio_ids", np.asarray(ids, dtype=np.int64), "batch,images")
    tb.add("aspect_ratio_mask", np.asarray(mask, dtype=np.int64), "batch,images,max_tiles")
    tb.add("num_tiles", np.asarray(num_tiles, dtype=np.int64), "batch,images")
    tb.add("pixel_values_padded", np.asarray(padded_pack), "batch,images,max_tiles,C,H,W",
           note="the processor's pixel_values: pack zero-padded to max_image_tiles")
