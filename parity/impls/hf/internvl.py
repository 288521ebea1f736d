"""InternVL stages from transformers' own code: ``InternVLProcessor`` with its ``GotOcr2ImageProcessor``
(``models/got_ocr2/image_processing{,_pil}_got_ocr2.py``, ``models/internvl/processing_internvl.py``,
transformers 5.23.0). ``InternVLProcessor`` passes ``crop_to_patches=True`` (its ``images_kwargs``) whatever
the checkpoint's preprocessor_config.json says; the preset's ``[hf.config]`` holds it so.

PIL backend (``GotOcr2ImageProcessorPil._preprocess``, when crop_to_patches and max_patches > 1):
``crop_image_to_patches`` = get_optimal_tiled_canvas -> resize to the tile grid -> crops row-major ->
thumbnail (resize of the whole image) when more than one crop; then per crop rescale -> normalize.
torchvision backend (``GotOcr2ImageProcessor._preprocess``, when crop_to_patches): the same crops stacked,
then every crop resized to ``size`` again (a same-size resize) and the fused rescale_and_normalize.

``pack`` is (num_patches, C, tile, tile): the crops, then the thumbnail.
"""

from __future__ import annotations

import numpy as np
import torch
from transformers.image_utils import ChannelDimension, SizeDict
from transformers.models.got_ocr2 import image_processing_got_ocr2 as tv_mod
from transformers.models.got_ocr2 import image_processing_pil_got_ocr2 as pil_mod

from parity.arrays import hwc
from parity.errors import ParityError
from parity.families import internvl as geometry
from parity.trace import TraceBuilder


def _grid(mod, h: int, w: int, kw: dict) -> tuple[int, int]:
    """(cols, rows) as ``crop_image_to_patches`` computes them."""
    size = kw["size"]
    return mod.get_optimal_tiled_canvas((int(h), int(w)), (size.height, size.width), kw["min_patches"],
                                        kw["max_patches"])


def _boxes(cols: int, rows: int, size) -> list[tuple[slice, slice]]:
    """The crop boxes of ``crop_image_to_patches``, row-major."""
    return [(slice(r * size.height, (r + 1) * size.height), slice(c * size.width, (c + 1) * size.width))
            for r in range(rows) for c in range(cols)]


def _plan(h: int, w: int, resized, grid, n_images: int, preset) -> dict:
    plan = geometry.make_plan((int(h), int(w)), tuple(int(s) for s in resized), grid, n_images,
                              geometry.tokens_hf(n_images, preset["image_seq_length"]))
    return plan.to_dict()


def stages_pil(proc, kw: dict, rgb: np.ndarray, preset, tb: TraceBuilder) -> None:

    x = proc.process_image(rgb, do_convert_rgb=kw["do_convert_rgb"], input_data_format=ChannelDimension.LAST)
    h, w = x.shape[-2:]
    size, resample = kw["size"], kw["resample"]
    if kw["crop_to_patches"] and kw["max_patches"] > 1:
        cols, rows = _grid(pil_mod, h, w, kw)
        resized = proc.resize(x, SizeDict(height=size.height * rows, width=size.width * cols), resample=resample)
        frames = [resized[..., ys, xs] for ys, xs in _boxes(cols, rows, size)]
        if len(frames) != 1:
            frames.append(proc.resize(x, size, resample=resample))
    elif kw["do_resize"]:
        rows = cols = 1
        resized = proc.resize(x, size, resample)
        frames = [resized]
    else:
        raise ParityError("InternVL preset without crop_to_patches and do_resize: not a configuration the checkpoint uses")
    tb.add("plan", _plan(h, w, resized.shape[-2:], (rows, cols), len(frames), preset), "plan")
    tb.add("resize", hwc(resized), "HWC", note=f"tile grid {rows}x{cols} (rows x cols)")
    tb.add("tiles", np.stack(frames), "images,C,H,W uint8", note="crops row-major, then the thumbnail")
    if kw["do_rescale"]:
        frames = [proc.rescale(f, kw["rescale_factor"]) for f in frames]
    if kw["do_normalize"]:
        frames = [proc.normalize(f, kw["image_mean"], kw["image_std"]) for f in frames]
    tb.add("normalize", np.stack(frames), "images,C,H,W")
    tb.add("pack", np.stack(frames), "images,C,H,W")


def stages_torchvision(proc, kw: dict, rgb: np.ndarray, preset, tb: TraceBuilder) -> None:

    chw = proc.process_image(rgb, do_convert_rgb=kw["do_convert_rgb"], input_data_format=ChannelDimension.LAST)
    h, w = chw.shape[-2:]
    size, resample = kw["size"], kw["resample"]
    batch = chw[None]  # _preprocess works on stacked groups of same-shape images
    if kw["crop_to_patches"]:
        cols, rows = _grid(tv_mod, h, w, kw)
        resized = proc.resize(batch, SizeDict(height=size.height * rows, width=size.width * cols), resample=resample)
        frames = [resized[0, :, ys, xs] for ys, xs in _boxes(cols, rows, size)]
        if len(frames) != 1:
            frames.append(proc.resize(batch, size, resample=resample)[0])
        frames = torch.stack(frames)
    else:
        raise ParityError("InternVL preset without crop_to_patches: not a configuration the checkpoint uses")
    tb.add("plan", _plan(h, w, resized.shape[-2:], (rows, cols), frames.shape[0], preset), "plan")
    tb.add("resize", hwc(resized[0]), "HWC", note=f"tile grid {rows}x{cols} (rows x cols)")
    tb.add("tiles", frames.numpy(), "images,C,H,W uint8", note="crops row-major, then the thumbnail")
    if kw["do_resize"]:  # the second, per-crop resize of _preprocess (to the size the crops already have)
        frames = proc.resize(image=frames, size=size, resample=resample)
    y = proc.rescale_and_normalize(frames, kw["do_rescale"], kw["rescale_factor"], kw["do_normalize"],
                                   kw["image_mean"], kw["image_std"])
    tb.add("normalize", y.numpy(), "images,C,H,W")
    tb.add("pack", y.numpy(), "images,C,H,W")
