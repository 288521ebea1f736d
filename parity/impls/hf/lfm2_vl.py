"""LFM2-VL stages from transformers' own code (``models/lfm2_vl/image_processing_lfm2_vl.py``, transformers
5.23.0). transformers has only the torchvision backend (``Lfm2VlImageProcessor``; no ``...Pil``).

Order (``Lfm2VlImageProcessor._preprocess`` -> ``resize_and_split``): ``_is_image_too_large`` and
``smart_resize``; then either ``crop_image_to_patches`` (resize to the tile grid with the backend's
``resize``, ``split_to_tiles`` row-major, the thumbnail resized from the original) or one ``resize`` to the
smart size; then per image the fused ``rescale_and_normalize``, ``convert_image_to_patches`` and
``pad_along_first_dim`` to ``max_num_patches`` rows.

``pack`` is ``pixel_values`` (images, max_num_patches, P*P*C), with ``pixel_attention_mask`` and
``spatial_shapes`` as side outputs.
"""

from __future__ import annotations

import numpy as np
import torch
from transformers.image_utils import ChannelDimension, SizeDict
from transformers.models.lfm2_vl import image_processing_lfm2_vl as mod

from parity.arrays import hwc, stack_or_tuple
from parity.families import lfm2_vl as geometry
from parity.trace import TraceBuilder


def stages_torchvision(proc, kw: dict, rgb: np.ndarray, preset, tb: TraceBuilder) -> None:
    chw = proc.process_image(rgb, do_convert_rgb=kw["do_convert_rgb"], input_data_format=ChannelDimension.LAST)
    h, w = chw.shape[-2:]
    x = chw[None]  # _preprocess works on stacked groups of same-shape images
    patch, ds = kw["encoder_patch_size"], kw["downsample_factor"]
    min_tiles, max_tiles = (kw["min_tiles"], kw["max_tiles"]) if kw["do_image_splitting"] else (1, 1)
    splitting = not min_tiles == max_tiles == 1
    large = proc._is_image_too_large(height=h, width=w, max_image_tokens=kw["max_image_tokens"],
                                     encoder_patch_size=patch, downsample_factor=ds,
                                     max_pixels_tolerance=kw["max_pixels_tolerance"])
    new_w, new_h = proc.smart_resize(height=h, width=w, downsample_factor=ds, min_image_tokens=kw["min_image_tokens"],
                                     max_image_tokens=kw["max_image_tokens"], encoder_patch_size=patch)
    tile = kw["tile_size"]
    if large and splitting:
        images, cols, rows = proc.crop_image_to_patches(x, min_tiles=min_tiles, max_tiles=max_tiles, tile_size=tile,
                                                        thumbnail_size=(new_h, new_w),
                                                        use_thumbnail=kw["use_thumbnail"], resample=kw["resample"])
        frames = list(images[0])
        thumb = kw["use_thumbnail"] and rows * cols != 1
        # the resized image the tiles were cut from (split_to_tiles partitions it): the tiles put back together
        grid = [torch.cat([frames[r * cols + c] for c in range(cols)], dim=-1) for r in range(rows)]
        tb.add("resize", hwc(torch.cat(grid, dim=-2).numpy()), "HWC", note=f"tile grid {rows}x{cols} of {tile}")
    else:
        rows = cols = 1
        thumb = False
        frames = [proc.resize(x, SizeDict(height=new_h, width=new_w),
                                                resample=kw["resample"])[0]]
        tb.add("resize", hwc(frames[0].numpy()), "HWC", note="smart resize")
    tiled = large and splitting
    tile_tok = geometry.tokens_per_tile(tile, patch, ds)
    thumb_tok = geometry.tokens_for_image((new_h, new_w), patch, ds)
    # transformers' processor adds the thumbnail's tokens for a multi-tile image when use_thumbnail is set
    tok = geometry.tokens((rows, cols), tile_tok, thumb_tok, bool(kw["use_thumbnail"]) and rows * cols > 1)
    plan = geometry.make_plan((h, w), tiled, (rows * tile, cols * tile) if tiled else (new_h, new_w), (rows, cols),
                              tile, (new_h, new_w), thumb, tok)
    tb.add("plan", plan.to_dict(), "plan")
    if tiled:
        tb.add("tiles", stack_or_tuple(tuple(f.numpy() for f in frames)), "images,C,H,W uint8",
               note="tiles row-major" + (", then the thumbnail" if thumb else ""))
    normalized, packs, masks, shapes = [], [], [], []
    max_patches = max(kw["max_image_tokens"] * ds**2, (tile // patch) ** 2 if kw["do_image_splitting"] else 0)
    for f in frames:
        y = proc.rescale_and_normalize(f[None], kw["do_rescale"], kw["rescale_factor"], kw["do_normalize"],
                                       kw["image_mean"], kw["image_std"])
        normalized.append(y[0].numpy())
        shapes.append([y.shape[-2] // patch, y.shape[-1] // patch])
        p = mod.convert_image_to_patches(y, patch)
        if kw["do_pad"]:
            p, m = mod.pad_along_first_dim(p, max_patches)
            masks.append(m.numpy())
        packs.append(p[0].numpy())
    tb.add("normalize", stack_or_tuple(tuple(normalized)), "images,C,H,W")
    tb.add("pack", stack_or_tuple(tuple(packs)), "images,patches,P*P*C (row-major patches)",
           note=f"padded to {max_patches} patch rows" if kw["do_pad"] else "")
    if kw["do_pad"]:
        tb.add("pixel_attention_mask", np.stack(masks), "images,patches")
    tb.add("spatial_shapes", torch.tensor(shapes).numpy(), "images,(h_patches,w_patches)")
