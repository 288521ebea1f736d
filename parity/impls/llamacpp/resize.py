"""``img_tool::resize`` of llama.cpp tools/mtmd/mtmd-image.cpp (commit 0c1e570), and the output type
every preprocessor module returns.

``img_tool::resize(src, dst, target, algo, pad, colour)``: same size -> plain copy; ``PAD_NONE`` ->
direct resize; otherwise an aspect-preserving resize to the inner size, drawn on a canvas of the pad
colour (see ``parity.kernels.pad_llamacpp``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from parity.kernels.pad_llamacpp import pad_canvas_llamacpp, pad_geometry_llamacpp
from parity.kernels.pillow_fixed import resize_pillow_fixed


@dataclass(frozen=True)
class ResizeStep:
    """One ``img_tool::resize`` call: its result before padding and, when padded, the canvas."""

    role: str  # what the result is used for: "image", "overview", "refined", ...
    resized: np.ndarray  # (h, w, 3) uint8 before the pad (the copy when the size already matched)
    padded: np.ndarray | None  # the canvas, or None when no pad was drawn
    plan: dict  # target, filter, pad style, inner size, offset, colour

    @property
    def output(self) -> np.ndarray:
        return self.resized if self.padded is None else self.padded


def resize_llamacpp(img: np.ndarray, width: int, height: int, algo: str, pad: str,
                    color: tuple[int, int, int], role: str) -> ResizeStep:
    src_h, src_w = img.shape[:2]
    plan = {"role": role, "source": [src_w, src_h], "target": [width, height], "filter": algo, "pad": pad}
    if (src_w, src_h) == (width, height):
        plan["copy"] = True  # same size: the C++ copies the buffer, whatever the pad style
        return ResizeStep(role, img.copy(), None, plan)
    if pad == "none":
        return ResizeStep(role, resize_pillow_fixed(img, width, height, algo), None, plan)
    geo = pad_geometry_llamacpp(src_w, src_h, width, height, pad)
    inner = resize_pillow_fixed(img, geo.inner_width, geo.inner_height, algo)
    canvas = pad_canvas_llamacpp(inner, width, height, geo.offset_x, geo.offset_y, color)
    plan.update(inner=[geo.inner_width, geo.inner_height], offset=[geo.offset_x, geo.offset_y],
                color=list(color))
    return ResizeStep(role, inner, canvas, plan)


@dataclass(frozen=True)
class Preprocessed:
    """What a preprocessor produced: its geometry plan, its resize calls in order, and the uint8 images
    in the order mtmd emits them as chunks (each chunk is one encoder input)."""

    plan: dict
    steps: tuple[ResizeStep, ...]
    chunks: tuple[np.ndarray, ...]
    chunk_roles: tuple[str, ...] = field(default=())
    #: the chunks as float32 HWC when the preprocessor normalizes before resizing (Step3-VL); else the
    #: impl normalizes ``chunks`` itself
    normalized: tuple[np.ndarray, ...] = field(default=())
