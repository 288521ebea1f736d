"""GLM-4.1V / GLM-OCR stages from transformers' own code (``models/glm4v/image_processing{,_pil}_glm4v.py``;
GLM-OCR's ``Glm46VImageProcessor{,Pil}`` in ``models/glm46v/`` is the same code; transformers 5.23.0).

PIL backend order (``Glm4vImageProcessorPil._preprocess``): resize (``smart_resize`` with factor patch*merge and
temporal_factor) -> rescale -> normalize -> patchify. torchvision backend (``Glm4vImageProcessor._preprocess``):
resize -> fused ``rescale_and_normalize`` -> patchify.

``pack`` is ``pixel_values`` (num_patches, C*T*P*P), with ``image_grid_thw`` as a side output.
"""

from __future__ import annotations

import importlib

import numpy as np
from transformers.image_utils import ChannelDimension

from parity.arrays import hwc
from parity.errors import ParityError
from parity.families import glm4v as geometry
from parity.trace import TraceBuilder


def _plan(proc, h: int, w: int, kw: dict, preset) -> dict:
    """Geometry from the processor module's own ``smart_resize``; its ValueError becomes ParityError."""
    mod = importlib.import_module(type(proc).__module__)
    try:
        rh, rw = mod.smart_resize(num_frames=kw["temporal_patch_size"], height=h, width=w,
                                  temporal_factor=kw["temporal_patch_size"], factor=kw["patch_size"] * kw["merge_size"],
                                  min_pixels=kw["size"].shortest_edge, max_pixels=kw["size"].longest_edge)
    except ValueError as e:
        raise ParityError(f"{preset.name}: transformers smart_resize refuses a {h}x{w} (h x w) image: {e}") from None
    return geometry.make_plan((h, w), (rh, rw), kw["patch_size"],
                              geometry.tokens((rh, rw), kw["patch_size"], kw["merge_size"])).to_dict()


def _resize_kwargs(kw: dict) -> dict:
    return {"size": kw["size"], "resample": kw["resample"], "factor": kw["patch_size"] * kw["merge_size"],
            "temporal_factor": kw["temporal_patch_size"]}


def stages_pil(proc, kw: dict, rgb: np.ndarray, preset, tb: TraceBuilder) -> None:
    chw = proc.process_image(rgb, do_convert_rgb=kw["do_convert_rgb"], input_data_format=ChannelDimension.LAST)
    tb.add("plan", _plan(proc, chw.shape[1], chw.shape[2], kw, preset), "plan")
    x = chw
    if kw["do_resize"]:
        x = proc.resize(x, **_resize_kwargs(kw))
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


def stages_torchvision(proc, kw: dict, rgb: np.ndarray, preset, tb: TraceBuilder) -> None:
    chw = proc.process_image(rgb, do_convert_rgb=kw["do_convert_rgb"], input_data_format=ChannelDimension.LAST)
    tb.add("plan", _plan(proc, chw.shape[-2], chw.shape[-1], kw, preset), "plan")
    batch = chw[None]  # _preprocess works on stacked groups of same-shape images
    if kw["do_resize"]:
        batch = proc.resize(images=batch, **_resize_kwargs(kw))
        tb.add("resize", hwc(batch[0].numpy()), "HWC")
    x = proc.rescale_and_normalize(batch, kw["do_rescale"], kw["rescale_factor"], kw["do_normalize"],
                                   kw["image_mean"], kw["image_std"])
    tb.add("normalize", x[0].numpy(), "C,H,W")
    patches, gh, gw = proc.patchify(x, patch_size=kw["patch_size"], merge_size=kw["merge_size"],
                                    temporal_patch_size=kw["temporal_patch_size"])
    tb.add("pack", patches[0].numpy(), "patches,C*T*P*P (merge-block order)")
    tb.add("image_grid_thw", np.array([[1, gh, gw]], dtype=np.int64), "images,thw")
