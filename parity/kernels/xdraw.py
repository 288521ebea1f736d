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

from collections.abc import Callable
from dataclasses import dataclass

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


def _weighted_sum(rows: np.ndarray, coords: np.ndarray, weights: np.ndarray, axis: int) -> np.ndarray:
    """sum_k float64(rows[.., coords[:, k], ..] * weights[:, k]) along ``axis``, added in k order."""
    shape = [1] * rows.ndim
    shape[axis] = -1
    acc = None
    for j in range(coords.shape[1]):
        prod = np.take(rows, coords[:, j], axis=axis)
        prod *= weights[:, j].reshape(shape)
        if acc is None:
            acc = prod + 0.0  # Go starts its sums at +0.0 (turns a -0.0 product into +0.0)
        else:
            acc += prod
    return acc


#: bytes of float64 intermediates per block of destination columns (kept cache-sized: the passes
#: then run on data in cache, which is what makes numpy fast here)
_BLOCK_BYTES = 1 << 20


def samples_float64(img: np.ndarray) -> np.ndarray:
    """Source samples as float64: uint16 arrays are 16-bit samples; uint8 arrays are ``*image.RGBA``
    bytes, whose samples are v*0x101 (exact in float64, so converting first changes no product)."""
    img = np.asarray(img)
    if img.dtype == np.uint8:
        out = img.astype(np.float64)
        out *= 0x101
        return out
    if img.dtype == np.uint16:
        return img.astype(np.float64)
    raise ValueError(f"x/image samples must be uint8 RGBA bytes or uint16 samples, got {img.dtype}")


def _transpose_pixels(img: np.ndarray) -> np.ndarray:
    """(H, W, 4) -> (W, H, 4) contiguous, moving whole pixels (one 4- or 8-byte unit each)."""
    img = np.ascontiguousarray(img)
    unit = {1: np.uint32, 2: np.uint64}[img.dtype.itemsize]
    units = img.view(unit)[..., 0]
    return np.ascontiguousarray(units.T).view(img.dtype).reshape(img.shape[1], img.shape[0], 4)


def resize_kernel_xdraw(rgba64: np.ndarray, size: tuple[int, int], kernel: str = "bilinear",
                        gray: bool = False) -> np.ndarray:
    """``draw.BiLinear``/``draw.CatmullRom`` ``.Scale`` of a whole image onto a zero ``*image.RGBA``.

    rgba64: (H, W, 4) premultiplied 16-bit samples (uint16), or ``*image.RGBA`` bytes (uint8);
    size: (dst_h, dst_w). Returns (dst_h, dst_w, 4) uint8 (the destination's Pix, premultiplied).

    Works on the transposed image, a block of destination columns at a time: the horizontal pass
    (``scaleX_*``) gathers whole source columns, the vertical pass (``scaleY_RGBA_*``) runs on the
    block's intermediate, and each destination pixel sees exactly Go's operations in Go's order.
    """
    if kernel not in KERNELS:
        raise ValueError(f"unknown x/image kernel {kernel!r}; valid: {', '.join(KERNELS)}")
    dh, dw = size
    sh, sw = rgba64.shape[:2]
    if dh <= 0 or dw <= 0 or sh == 0 or sw == 0:  # Go: an empty rectangle draws nothing
        return np.zeros((max(dh, 0), max(dw, 0), 4), dtype=np.uint8)
    horizontal, vertical = distrib_kernel(kernel, dw, sw), distrib_kernel(kernel, dh, sh)
    alpha = np.asarray(rgba64)[..., 3]
    # A uniform alpha plane (opaque images) gives the same alpha sums in every row and column:
    # compute them once per destination column instead of per pixel (same operations, same order).
    uniform = gray or bool((alpha == alpha.flat[0]).all())
    channels = 3 if uniform else 4
    columns = samples_float64(_transpose_pixels(rgba64)[..., :channels])  # (sw, sh, C)
    if uniform:
        a = samples_float64(alpha.flat[:1])[0]
        ones = np.full((1, 1), a)
        tmp_alpha = _weighted_sum(ones[np.zeros(sw, dtype=np.intp)], horizontal.coords, horizontal.weights, 0)[:, 0]
        tmp_alpha = np.ones(dw) if gray else tmp_alpha * horizontal.inv_total_ffff  # scaleX_Gray: alpha 1
    out = np.empty((dw, dh, 4), dtype=np.uint8)
    block = max(1, _BLOCK_BYTES // (sh * channels * 8))
    for x0 in range(0, dw, block):
        xs = slice(x0, min(x0 + block, dw))
        # Horizontal: tmp[x, y] = sum_k src[y, coord_k(x)] * w_k(x), times invTotalWeightFFFF.
        tmp = _weighted_sum(columns, horizontal.coords[xs], horizontal.weights[xs], axis=0)  # (bx, sh, C)
        tmp *= horizontal.inv_total_ffff[xs, None, None]
        # Vertical: p[x, y] = sum_k tmp[x, coord_k(y)] * w_k(y); colour clamped to alpha; ftou.
        p = _weighted_sum(tmp, vertical.coords, vertical.weights, axis=1)  # (bx, dh, C)
        if uniform:
            pa = None
            for j in range(vertical.coords.shape[1]):
                term = tmp_alpha[xs, None] * vertical.weights[None, :, j]
                pa = term + 0.0 if pa is None else pa + term
        else:
            pa = p[..., 3]
        colour = p[..., :3]
        np.minimum(colour, pa[..., None], out=colour)  # premultiplied colour never exceeds alpha
        colour *= vertical.inv_total[None, :, None]
        out[xs, :, :3] = ftou_xdraw(colour) >> 8
        out[xs, :, 3] = ftou_xdraw(pa * vertical.inv_total[None, :]) >> 8
    return _transpose_pixels(out)


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
