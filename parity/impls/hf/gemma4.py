"""Gemma 4 stages from transformers' own code (``models/gemma4/image_processing{,_pil}_gemma4.py``,
transformers 5.23.0).

PIL backend order (``Gemma4ImageProcessorPil._preprocess``): aspect_ratio_preserving_resize ->
rescale -> [normalize] -> convert_image_to_patches -> pad_along_first_dim (to max_patches).
torchvision backend order (``Gemma4ImageProcessor._preprocess``): the same with a fused
rescale_and_normalize.

``pack`` is the image's row of ``pixel_values``: (max_patches, P*P*C), zero rows after the real
patches; side outputs image_position_ids (max_patches, 2; -1 for padding) and
num_soft_tokens_per_image.
"""

from __future__ import annotations

import numpy as np
import torch
from transformers.image_utils import ChannelDimension
from transformers.models.gemma4 import image_processing_gemma4 as tv_mod
from transformers.models.gemma4 import image_processing_pil_gemma4 as pil_mod

from parity.arrays import hwc
from parity.errors import ParityError
from parity.families import gemma4 as geometry
from parity.trace import TraceBuilder


def _plan(mod, h: int, w: int, kw: dict) -> dict:
    max_patches = kw["max_soft_tokens"] * kw["pooling_kernel_size"] ** 2
    try:
        rh, rw = mod.get_aspect_ratio_preserving_size(height=h, width=w, patch_size=kw["patch_size"],
                                                      max_patches=max_patches,
                                                      pooling_kernel_size=kw["pooling_kernel_size"])
    except ValueError as e:
        raise ParityError(f"transformers' Gemma 4 resize refuses a {h}x{w} (h x w) image: {e}") from None
    grid = (rh // kw["patch_size"], rw // kw["patch_size"])
    return geometry.make_plan((h, w), (rh, rw), kw["patch_size"], max_patches,
                              geometry.tokens_hf(grid, kw["pooling_kernel_size"])).to_dict()


def _positions(grid: list[int]) -> np.ndarray:
    """(x, y) of each patch, row-major, as the processor's meshgrid(..., indexing='xy') gives."""
    ys, xs = np.mgrid[0 : grid[0], 0 : grid[1]]
    return np.stack([xs.ravel(), ys.ravel()], axis=-1)


def stages_pil(proc, kw: dict, rgb: np.ndarray, preset, tb: TraceBuilder) -> None:

    x = proc.process_image(rgb, do_convert_rgb=kw["do_convert_rgb"], input_data_format=ChannelDimension.LAST)
    plan = tb.add("plan", _plan(pil_mod, x.shape[1], x.shape[2], kw), "plan")
    if kw["do_resize"]:
        x = proc.aspect_ratio_preserving_resize(image=x, patch_size=kw["patch_size"], max_patches=plan["max_patches"],
                                                pooling_kernel_size=kw["pooling_kernel_size"], resample=kw["resample"])
        tb.add("resize", hwc(x), "HWC")
    if kw["do_rescale"]:
        x = proc.rescale(image=x, scale=kw["rescale_factor"])
    if kw["do_normalize"]:
        x = proc.normalize(image=x, mean=kw["image_mean"], std=kw["image_std"])
    tb.add("normalize", np.asarray(x), "C,H,W")
    patches = pil_mod.convert_image_to_patches(x, kw["patch_size"])
    patches, positions = pil_mod.pad_along_first_dim(patches, _positions(plan["patch_grid"]), plan["max_patches"])
    _record(patches, positions, plan, kw, tb)


def stages_torchvision(proc, kw: dict, rgb: np.ndarray, preset, tb: TraceBuilder) -> None:

    x = proc.process_image(rgb, do_convert_rgb=kw["do_convert_rgb"], input_data_format=ChannelDimension.LAST)
    plan = tb.add("plan", _plan(tv_mod, x.shape[-2], x.shape[-1], kw), "plan")
    if kw["do_resize"]:
        x = proc.aspect_ratio_preserving_resize(image=x, patch_size=kw["patch_size"], max_patches=plan["max_patches"],
                                                pooling_kernel_size=kw["pooling_kernel_size"], resample=kw["resample"])
        tb.add("resize", hwc(x.numpy()), "HWC")
    x = proc.rescale_and_normalize(x, kw["do_rescale"], kw["rescale_factor"], kw["do_normalize"],
                                   kw["image_mean"], kw["image_std"])
    tb.add("normalize", x.numpy(), "C,H,W")
    patches = tv_mod.convert_image_to_patches(x, kw["patch_size"])
    positions = torch.from_numpy(_positions(plan["patch_grid"]))
    patches, positions = tv_mod.pad_along_first_dim(patches, positions, plan["max_patches"])
    _record(patches.numpy(), positions.numpy(), plan, kw, tb)


def _record(patches, positions, plan: dict, kw: dict, tb: TraceBuilder) -> None:
    tb.add("pack", np.asarray(patches), "max_patches,P*P*C (zero rows after the real patches)")
    tb.add("image_position_ids", np.asarray(positions, dtype=np.int64), "max_patches,xy (-1 for padding)")
    tb.add("num_soft_tokens_per_image", np.array([plan["num_embeddings"]], dtype=np.int64), "images")
