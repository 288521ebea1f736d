"""llama.cpp's aspect-preserving pad, crop and composite (``img_tool`` in tools/mtmd/mtmd-image.cpp).

Source: ggml-org/llama.cpp ``tools/mtmd/mtmd-image.cpp`` at commit 0c1e570 (``img_tool::resize`` with
``PAD_CEIL`` / ``PAD_NEAREST``, ``img_tool::fill``, ``img_tool::composite``, ``img_tool::crop``).

Geometry follows the C++ float32 arithmetic: ``scale = min(tw / sw, th / sh)`` in float, the inner size
``ceil`` (PAD_CEIL) or ``round`` half away from zero (PAD_NEAREST) of ``side * scale`` capped at the
target, and the offset ``(target - inner) / 2`` truncated (PAD_CEIL) or rounded half away from zero
(PAD_NEAREST).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

PAD_STYLES = ("none", "ceil", "nearest")


def round_half_away_f32(x: np.float32) -> int:
    """``std::round`` on a float: half away from zero (float64 holds every float32 exactly)."""
    v = float(x)
    return int(math.copysign(math.floor(abs(v) + 0.5), v))


@dataclass(frozen=True)
class PadGeometry:
    """Where the resized image sits on the target canvas."""

    inner_width: int
    inner_height: int
    offset_x: int
    offset_y: int


def pad_geometry_llamacpp(src_width: int, src_height: int, width: int, height: int, style: str) -> PadGeometry:
    """Inner size and offset of an aspect-preserving pad from (src) to (width, height)."""
    if style not in ("ceil", "nearest"):
        raise ValueError(f"pad style must be 'ceil' or 'nearest', got {style!r}")
    f32 = np.float32
    scale = min(f32(width) / f32(src_width), f32(height) / f32(src_height))  # float, as the C++
    sw, sh = f32(src_width) * scale, f32(src_height) * scale
    if style == "nearest":
        inner_w = min(round_half_away_f32(sw), width)
        inner_h = min(round_half_away_f32(sh), height)
        off_x = round_half_away_f32(f32(width - inner_w) / f32(2.0))
        off_y = round_half_away_f32(f32(height - inner_h) / f32(2.0))
    else:
        inner_w = min(int(math.ceil(float(sw))), width)
        inner_h = min(int(math.ceil(float(sh))), height)
        off_x = (width - inner_w) // 2  # both non-negative: floor == C truncation
        off_y = (height - inner_h) // 2
    return PadGeometry(inner_w, inner_h, off_x, off_y)


def pad_canvas_llamacpp(img: np.ndarray, width: int, height: int, offset_x: int, offset_y: int,
                        color: tuple[int, int, int]) -> np.ndarray:
    """Fill a (height, width, 3) canvas with ``color`` and draw ``img`` at the offset (clipped at edges)."""
    canvas = np.empty((height, width, 3), dtype=np.uint8)
    # filled a row at a time (one long contiguous copy per row; broadcasting 3 bytes is ~50x slower)
    canvas.reshape(height, width * 3)[:] = np.tile(np.asarray(color, dtype=np.uint8), width)
    h, w = img.shape[:2]
    x0, y0 = max(offset_x, 0), max(offset_y, 0)
    x1, y1 = min(offset_x + w, width), min(offset_y + h, height)
    if x1 > x0 and y1 > y0:
        canvas[y0:y1, x0:x1] = img[y0 - offset_y:y1 - offset_y, x0 - offset_x:x1 - offset_x]
    return canvas


def crop_llamacpp(img: np.ndarray, x: int, y: int, w: int, h: int) -> np.ndarray:
    """A copy of the box (x, y, w, h); the box must lie inside the image (GGML_ASSERT in the C++)."""
    H, W = img.shape[:2]
    if not (x >= 0 and y >= 0 and w > 0 and h > 0 and x + w <= W and y + h <= H):
        raise ValueError(f"crop box x={x} y={y} w={w} h={h} outside a {W}x{H} image")
    return img[y:y + h, x:x + w].copy()
