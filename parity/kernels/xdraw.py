"""golang.org/x/image/draw scalers, bit-exact, vectorized.

Ported from golang/image at tag v0.22.0 (the version ollama f63eea3 pins in go.mod):
``draw/scale.go`` (``Kernel``, ``newDistrib``, ``ftou``, the ``BiLinear`` and ``CatmullRom`` kernels)
and ``draw/impl.go`` (``kernelScaler.Scale``, ``scaleX_*``, ``scaleY_RGBA_{Src,Over}``,
``nnInterpolator`` and ``ablInterpolator`` ``scale_RGBA_*``).

Inputs are what Go's scalers read: alpha-premultiplied 16-bit RGBA samples (H, W, 4), i.e. what
``RGBA64At``/``At().RGBA()`` return for the source image type (see ``parity.decode.go``). ``gray=True``
selects the ``*image.Gray`` fast path, whose horizontal pass stores an alpha of exactly 1.

The kernel scaler is two passes in float64: horizontal into a (src_h, dst_w, 4) buffer normalised to
[0, 1], then vertical, clamping colour to alpha and converting with ``ftou``. Every product is rounded
to float64 before it is added (Go writes ``float64(a*b)``), and contributions are added in source
order: we add them in the same order, padding short rows with zero weights (adding +0.0 is exact).
The output is the destination ``*image.RGBA`` bytes (H, W, 4) for a zero (transparent black)
destination; ``Over`` and ``Src`` give the same bytes there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

KERNEL_SUPPORT = {"bilinear": 1.0, "catmullrom": 2.0}


def kernel_bilinear(t: np.ndarray) -> np.ndarray:
    """``draw.BiLinear.At``: 1 - t."""
    return 1.0 - t


def kernel_catmullrom(t: np.ndarray) -> np.ndarray:
    """``draw.CatmullRom.At`` with Go's explicit float64 roundings (no fused multiply-add)."""
    near = ((1.5 * t) - 2.5) * t * t + 1.0
    far = ((((-0.5 * t) + 2.5) * t) - 4.0) * t + 2.0
    return np.where(t < 1.0, near, far)


KERNELS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "bilinear": kernel_bilinear,
    "catmullrom": kernel_catmullrom,
}


@dataclass(frozen=True)
class Distrib:
    """``newDistrib`` for one axis, padded to a fixed number of contributions per output.

    coords, weights: (dst, K); a padded slot has weight 0 and a valid coordinate.
    inv_total: 1 / sum(weights); inv_total_ffff: inv_total / 0xffff (Go's two precomputed factors).
    """

    coords: np.ndarray
    weights: np.ndarray
    inv_total: np.ndarray
    inv_total_ffff: np.ndarray


def distrib_kernel(kernel: str, dst: int, src: int) -> Distrib:
    """Which source pixels each destination pixel reads, and with what weights (``newDistrib``)."""
    support, at = KERNEL_SUPPORT[kernel], KERNELS[kernel]
    scale = float(src) / float(dst)
    half_width, arg_scale = support, 1.0
    if scale > 1:  # downscaling widens the kernel (antialias)
        half_width *= scale
        arg_scale = 1 / scale
    center = (np.arange(dst, dtype=np.float64) + 0.5) * scale - 0.5
    lo = np.maximum(np.floor(center - half_width), 0).astype(np.int64)
    hi = np.minimum(np.ceil(center + half_width), src).astype(np.int64)
    hi = np.maximum(hi, lo)
    k = int((hi - lo).max()) if dst else 0
    coords = lo[:, None] + np.arange(max(k, 1))[None, :]
    valid = coords < hi[:, None]
    t = np.abs((center[:, None] - coords) * arg_scale)
    valid &= t < support
    with np.errstate(invalid="ignore", over="ignore"):
        w = at(t)
    valid &= w != 0
    # Skipped slots move to the end, keeping the order of the others (the order Go adds them in).
    order = np.argsort(~valid, axis=1, kind="stable")
    valid = np.take_along_axis(valid, order, 1)
    keep = max(int(valid.sum(1).max()) if dst else 0, 1)
    weights = np.where(valid, np.take_along_axis(w, order, 1), 0.0)[:, :keep]
    coords = np.where(valid, np.take_along_axis(coords, order, 1), 0)[:, :keep]
    total = np.zeros(dst, dtype=np.float64)
    for j in range(weights.shape[1]):  # Go adds weights one by one, in coordinate order
        total = total + weights[:, j]
    with np.errstate(divide="ignore"):
        inv = 1 / total
    return Distrib(coords, weights, inv, inv / 0xffff)


def ftou_xdraw(f: np.ndarray) -> np.ndarray:
    """``ftou``: int32(0xffff*f + 0.5) (truncation toward zero) clamped to [0, 0xffff], as uint16.

    Clamping before truncating gives the same integers (trunc is monotonic and 0, 0xffff are whole).
    """
    x = 0xFFFF * f
    x += 0.5
    np.clip(x, 0, 0xFFFF, out=x)
    return x.astype(np.uint16)


def _accumulate(src_rows: np.ndarray, d: Distrib) -> np.ndarray:
    """sum_k float64(src_rows[coords[:, k]] * weights[:, k]), added in k order; rows on axis 0."""
    shape = (d.coords.shape[0],) + src_rows.shape[1:]
    bcast = (slice(None),) + (None,) * (src_rows.ndim - 1)
    acc = np.zeros(shape, dtype=np.float64)
    prod = np.empty(shape, dtype=np.float64)
    for j in range(d.coords.shape[1]):
        np.take(src_rows, d.coords[:, j], axis=0, out=prod)
        prod *= d.weights[:, j][bcast]
        acc += prod
    return acc


def _scale_x(src: np.ndarray, d: Distrib, channels: slice) -> np.ndarray:
    """Horizontal pass over (H, W, 4) uint16: (H, dst_w, C) float64 sums, before the 1/total factor.

    Pixels are gathered as whole 8-byte RGBA units (a uint64 view), then widened per channel.
    """
    units = np.ascontiguousarray(src, dtype=np.uint16).view(np.uint64)[..., 0]  # (H, W)
    acc = prod = None
    for j in range(d.coords.shape[1]):
        gathered = np.take(units, d.coords[:, j], axis=1).view(np.uint16).reshape(
            units.shape[0], -1, 4)[..., channels]
        prod = np.multiply(gathered, d.weights[:, j][None, :, None], out=prod, dtype=np.float64)
        if acc is None:
            acc = prod + 0.0  # Go starts its sums at +0.0 (turns a -0.0 product into +0.0)
        else:
            acc += prod
    return acc


def resize_kernel_xdraw(rgba64: np.ndarray, size: tuple[int, int], kernel: str = "bilinear",
                        gray: bool = False) -> np.ndarray:
    """``draw.BiLinear``/``draw.CatmullRom`` ``.Scale`` of a whole image onto a zero ``*image.RGBA``.

    rgba64: (H, W, 4) premultiplied 16-bit samples; size: (dst_h, dst_w). Returns (dst_h, dst_w, 4)
    uint8 (the destination's Pix, premultiplied).
    """
    if kernel not in KERNELS:
        raise ValueError(f"unknown x/image kernel {kernel!r}; valid: {', '.join(KERNELS)}")
    dh, dw = size
    sh, sw = rgba64.shape[:2]
    horizontal, vertical = distrib_kernel(kernel, dw, sw), distrib_kernel(kernel, dh, sh)
    src = np.asarray(rgba64)
    alpha = src[..., 3]
    # An alpha plane equal in every row gives equal horizontal sums in every row: compute one row.
    rows_alike = bool((alpha == alpha[:1]).all())

    # Horizontal pass: tmp is (src_h, dst_w, C), normalised by invTotalWeightFFFF.
    norm = horizontal.inv_total_ffff[None, :, None]
    if gray:  # scaleX_Gray stores alpha 1 exactly
        tmp_colour = _scale_x(src, horizontal, slice(0, 3)) * norm
        tmp_alpha = np.ones((1, dw), dtype=np.float64)
    elif rows_alike:
        tmp_colour = _scale_x(src, horizontal, slice(0, 3)) * norm
        tmp_alpha = (_scale_x(src[:1], horizontal, slice(3, 4)) * norm)[..., 0]
    else:
        tmp = _scale_x(src, horizontal, slice(0, 4)) * norm
        tmp_colour, tmp_alpha = tmp[..., :3], np.ascontiguousarray(tmp[..., 3])

    # Vertical pass: gather whole rows of tmp.
    colour = _accumulate(np.ascontiguousarray(tmp_colour), vertical)  # (dh, dw, 3)
    if tmp_alpha.shape[0] == 1:
        pa = np.zeros((dh, dw), dtype=np.float64)
        for j in range(vertical.coords.shape[1]):
            pa = pa + tmp_alpha * vertical.weights[:, j][:, None]
    else:
        pa = _accumulate(tmp_alpha, vertical)
    np.minimum(colour, pa[..., None], out=colour)  # premultiplied colour never exceeds alpha
    inv = vertical.inv_total[:, None]
    colour *= inv[..., None]
    out = np.empty((dh, dw, 4), dtype=np.uint8)
    out[..., :3] = ftou_xdraw(colour) >> 8
    out[..., 3] = ftou_xdraw(pa * inv) >> 8
    return out


def resize_nearest_xdraw(rgba64: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``draw.NearestNeighbor.Scale`` onto a zero ``*image.RGBA``: source index (2*d+1)*s // (2*D)."""
    dh, dw = size
    sh, sw = rgba64.shape[:2]
    sy = (2 * np.arange(dh, dtype=np.uint64) + 1) * sh // (2 * dh)
    sx = (2 * np.arange(dw, dtype=np.uint64) + 1) * sw // (2 * dw)
    return (np.asarray(rgba64)[sy][:, sx] >> 8).astype(np.uint8)


def _abl_axis(dst: int, src: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """ApproxBiLinear's per-axis sample pair and fractions (``ablInterpolator.scale_*``)."""
    scale = float(src) / float(dst)
    s = (np.arange(dst, dtype=np.float64) + 0.5) * scale - 0.5
    s0 = np.trunc(s).astype(np.int64)  # Go int32(s): truncation; s < 0 is overridden below
    frac0 = s - s0
    frac1 = 1 - frac0
    s1 = s0 + 1
    low, high = s < 0, s1 > src - 1
    s0 = np.where(low, 0, np.where(high, src - 1, s0))
    s1 = np.where(low, 0, np.where(high, src - 1, s1))
    frac0 = np.where(low, 0.0, np.where(high, 1.0, frac0))
    frac1 = np.where(low, 1.0, np.where(high, 0.0, frac1))
    return s0, s1, frac0, frac1


def resize_approxbilinear_xdraw(rgba64: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``draw.ApproxBiLinear.Scale`` onto a zero ``*image.RGBA``: 2x2 taps in float64, uint16 truncation."""
    dh, dw = size
    src = np.asarray(rgba64).astype(np.float64)
    if src.shape[:2] == (dh, dw):  # Scale short-circuits to Copy
        return (np.asarray(rgba64) >> 8).astype(np.uint8)
    y0, y1, fy0, fy1 = _abl_axis(dh, src.shape[0])
    x0, x1, fx0, fx1 = _abl_axis(dw, src.shape[1])
    fx0, fx1 = fx0[None, :, None], fx1[None, :, None]
    fy0, fy1 = fy0[:, None, None], fy1[:, None, None]
    top = fx1 * src[y0][:, x0] + fx0 * src[y0][:, x1]
    bottom = fx1 * src[y1][:, x0] + fx0 * src[y1][:, x1]
    p = fy1 * top + fy0 * bottom
    return (p.astype(np.uint16) >> 8).astype(np.uint8)
