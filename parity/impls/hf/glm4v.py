"""GLM-4.1V / GLM-OCR stages from transformers' own code (``models/glm4v/image_processing{,_pil}_glm4v.py``;
GLM-OCR's ``Glm46VImageProcessor{,Pil}`` in ``models/glm46v/`` is the same code; transformers 5.23.0).

PIL backend order (``Glm4vImageProcessorPil._preprocess``): resize (``smart_resize`` with factor patch*merge and
temporal_factor) -> rescale -> normalize -> patchify. torchvision backend (``Glm4vImageProcessor._preprocess``):
resize -> fused ``rescale_and_normalize`` -> patchify: Qwen2-VL's pipeline (``parity.impls.hf.qwen2_vl``)
with its own ``smart_resize`` and ``resize`` arguments.

``pack`` is ``pixel_values`` (num_patches, C*T*P*P), with ``image_grid_thw`` as a side output.
"""

from __future__ import annotations

import importlib

import numpy as np

from parity.errors import ParityError
from parity.families import glm4v as geometry
from parity.impls.hf.qwen2_vl import pipeline_pil, pipeline_torchvision
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
    pipeline_pil(proc, kw, rgb, tb, lambda h, w: _plan(proc, h, w, kw, preset), _resize_kwargs(kw))


def stages_torchvision(proc, kw: dict, rgb: np.ndarray, preset, tb: TraceBuilder) -> None:
    pipeline_torchvision(proc, kw, rgb, tb, lambda h, w: _plan(proc, h, w, kw, preset), _resize_kwargs(kw))
