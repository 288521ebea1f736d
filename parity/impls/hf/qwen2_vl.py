"""Qwen2-VL / Qwen2.5-VL / Qwen3-VL stages from transformers' own code
(``models/qwen2_vl/image_processing{,_pil}_qwen2_vl.py``, transformers 5.23.0; Qwen3-VL checkpoints
use the same ``Qwen2VLImageProcessor`` with ``patch_size`` 16).

PIL backend order (``Qwen2VLImageProcessorPil._preprocess``): resize (smart_resize, factor
patch*merge) -> rescale -> normalize -> patchify.
torchvision backend order (``Qwen2VLImageProcessor._preprocess``): resize -> fused
rescale_and_normalize -> patchify.

``pack`` is the flat patch tensor the processor returns as ``pixel_values`` (num_patches,
C*T*P*P), with ``image_grid_thw`` as a side output.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from transformers.image_utils import ChannelDimension
from transformers.models.qwen2_vl import image_processing_pil_qwen2_vl as pil_mod
from transformers.models.qwen2_vl import image_processing_qwen2_vl as tv_mod

from parity.arrays import hwc
from parity.errors import ParityError
from parity.families import qwen2_vl as geometry
from parity.trace import TraceBuilder


def _plan(mod, h: int, w: int, kw: dict, preset) -> dict:
    """Geometry from the module's own smart_resize; its ValueError (ratio > 200) becomes ParityError."""
    try:
        rh, rw = mod.smart_resize(h, w, factor=kw["patch_size"] * kw["merge_size"],
                                  min_pixels=kw["size"].shortest_edge, max_pixels=kw["size"].longest_edge)
    except ValueError as e:
        raise ParityError(f"{preset.name}: transformers smart_resize refuses a {h}x{w} (h x w) image: {e}") from None
    return geometry.plan_from_resized(h, w, (rh, rw), kw["patch_size"], kw["merge_size"]).to_dict()


def stages_pil(proc, kw: dict, rgb: np.ndarray, preset, tb: TraceBuilder) -> None:
    pipeline_pil(proc, kw, rgb, tb, lambda h, w: _plan(pil_mod, h, w, kw, preset),
                 {"size": kw["size"], "resample": kw["resample"], "factor": kw["patch_size"] * kw["merge_size"]})


def stages_torchvision(proc, kw: dict, rgb: np.ndarray, preset, tb: TraceBuilder) -> None:
    pipeline_torchvision(proc, kw, rgb, tb, lambda h, w: _plan(tv_mod, h, w, kw, preset),
                         {"size": kw["size"], "resample": kw["resample"], "factor": kw["patch_size"] * kw["merge_size"]})


def pipeline_pil(proc, kw: dict, rgb: np.ndarray, tb: TraceBuilder, plan: Callable[[int, int], dict],
                 resize_kwargs: dict) -> None:
    """The PIL ``_preprocess`` of Qwen2VLImageProcessorPil and its subclasses (GLM-4V): ``plan(h, w)`` is the
    family's plan of the converted image, ``resize_kwargs`` what that class's ``resize`` takes."""
    chw = proc.process_image(rgb, do_convert_rgb=kw["do_convert_rgb"], input_data_format=ChannelDimension.LAST)
    tb.add("plan", plan(chw.shape[1], chw.shape[2]), "plan")
    x = chw
    if kw["do_resize"]:
        x = proc.resize(x, **resize_kwargs)
        tb.add("resize", hwc(x), "HWC")
    if kw["do_rescale"]:
        x = proc.rescale(x, kw["rescale_factor"])
    if kw["do_normalize"]:
        x = proc.normalize(x, kw["image_mean"], kw["image_std"])
    tb.add("normalize", np.asarray(x), "C,H,W")
    patches, gh, gw = proc.patchify(x, patch_size=kw["patch_size"], merge_size=kw["merge_size"],
                                    temporal_patch_size=kw["temporal_patch_size"])
    tb.add("pack", np.ascontiguousarray(patches), "patches,C*T*P*P (merge-block order)")
    tb.add("image_grid_thw", np.array([[1, gh, gw]], dtype=np.int64), "images,thw")


def pipeline_torchvision(proc, kw: dict, rgb: np.ndarray, tb: TraceBuilder, plan: Callable[[int, int], dict],
                         resize_kwargs: dict) -> None:
    """The torchvision ``_preprocess`` of Qwen2VLImageProcessor and its subclasses (see ``pipeline_pil``)."""
    chw = proc.process_image(rgb, do_convert_rgb=kw["do_convert_rgb"], input_data_format=ChannelDimension.LAST)
    tb.add("plan", plan(chw.shape[-2], chw.shape[-1]), "plan")
    batch = chw[None]  # _preprocess works on stacked groups of same-shape images
    if kw["do_resize"]:
        batch = proc.resize(images=batch, **resize_kwargs)
        tb.add("resize", hwc(batch[0].numpy()), "HWC")
    x = proc.rescale_and_normalize(batch, kw["do_rescale"], kw["rescale_factor"], kw["do_normalize"],
                                   kw["image_mean"], kw["image_std"])
    tb.add("normalize", x[0].numpy(), "C,H,W")
    patches, gh, gw = proc.patchify(x, patch_size=kw["patch_size"], merge_size=kw["merge_size"],
                                    temporal_patch_size=kw["temporal_patch_size"])
    tb.add("pack", patches[0].numpy(), "patches,C*T*P*P (merge-block order)")
    tb.add("image_grid_thw", np.array([[1, gh, gw]], dtype=np.int64), "images,thw")
