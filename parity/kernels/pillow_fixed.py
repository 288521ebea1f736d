"""Pillow's fixed-point separable resampler, as llama.cpp carries it (not the installed Pillow).

Port of ``img_tool::resize_pillow`` in ggml-org/llama.cpp ``tools/mtmd/mtmd-image.cpp`` at commit
0c1e570 (vendored by llama-cpp-python 0.3.36), itself adapted from Pillow's ``libImaging/Resample.c``:

- filters: bilinear (support 1), bicubic with a = -0.5 (support 2), Lanczos-3 (support 3); the support
  widens by the scale when downscaling (antialias);
- coefficients are computed in double, normalised per output pixel, then stored as int32 with 22
  fractional bits (Pillow's "add +/-0.5 then truncate");
- horizontal pass first, then vertical, each accumulating in int32 from a 0.5 bias, shifting right by 22
  and clamping to uint8 (so the intermediate image is uint8);
- a pass whose size does not change is skipped.

The installed Pillow is never called: Pillow 13's resampler differs from the one llama.cpp ported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

PRECISION_BITS = 32 - 8 - 2  # 22 fractional bits: int32 minus 8 pixel bits minus 2 headroom bits

#: filter name -> support radius (in source pixels, before widening for downscale)
FILTER_SUPPORT = {"bilinear": 1.0, "bicubic": 2.0, "lanczos": 3.0}

_PI = 3.141592653589793238462643383279502884
_sin = np.frompyfunc(math.sin, 1, 1)  # libm sin, as std::sin in the C++ (numpy's SIMD sin may differ by 1 ulp)


def _filter_bilinear(x: np.ndarray) -> np.ndarray:
    x = np.abs(x)
    return np.where(x < 1.0, 1.0 - x, 0.0)


def _filter_bicubic(x: np.ndarray) -> np.ndarray:
    a = -0.5
    x = np.abs(x)
    # same operation order as the C++ so every double rounds the same way
    inner = ((a + 2.0) * x - (a + 3.0)) * x * x + 1
    outer = (((x - 5) * x + 8) * x - 4) * a
    return np.where(x < 1.0, inner, np.where(x < 2.0, outer, 0.0))


def _sinc(v: np.ndarray) -> np.ndarray:
    pi_v = v * _PI
    safe = np.where(v == 0.0, 1.0, pi_v)
    s = _sin(safe).astype(np.float64) / safe
    return np.where(v == 0.0, 1.0, s)


def _filter_lanczos(x: np.ndarray) -> np.ndarray:
    inside = (-3.0 <= x) & (x < 3.0)  # half-open window, not symmetric: as in the C++
    return np.where(inside, _sinc(x) * _sinc(x / 3.0), 0.0)


_FILTERS = {"bilinear": _filter_bilinear, "bicubic": _filter_bicubic, "lanczos": _filter_lanczos}


@dataclass(frozen=True)
class ResampleCoefficients:
    """Per output pixel: first input index, number of taps, and int32 weights (22 fractional bits)."""

    xmin: np.ndarray  # (out,) int64
    count: np.ndarray  # (out,) int64
    weights: np.ndarray  # (out, ksize) int32, zero beyond ``count``


def coefficients_pillow_fixed(in_size: int, out_size: int, filter_name: str) -> ResampleCoefficients:
    """The fixed-point coefficients for one axis (``precompute_weights`` in the C++)."""
    if filter_name not in _FILTERS:
        raise ValueError(f"unknown filter {filter_name!r}; valid: {', '.join(_FILTERS)}")
    if in_size <= 0 or out_size <= 0:
        raise ValueError(f"sizes must be positive, got in_size={in_size} out_size={out_size}")
    scale = in_size / out_size
    filterscale = max(scale, 1.0)  # widen only when downscaling
    support = FILTER_SUPPORT[filter_name] * filterscale
    ksize = int(math.ceil(support)) * 2 + 1
    ss = 1.0 / filterscale

    center = (np.arange(out_size, dtype=np.float64) + 0.5) * scale
    # int() truncates toward zero, then the clamp: same as the C++ casts
    xmin = np.maximum(np.trunc(center - support + 0.5).astype(np.int64), 0)
    xmax = np.minimum(np.trunc(center + support + 0.5).astype(np.int64), in_size)
    count = xmax - xmin

    taps = np.arange(ksize, dtype=np.int64)
    valid = taps[None, :] < count[:, None]
    dist = ((taps[None, :] + xmin[:, None]).astype(np.float64) - center[:, None] + 0.5) * ss
    w = np.where(valid, _FILTERS[filter_name](dist), 0.0)

    # the normalising sum accumulates tap by tap, in order (a numpy sum could reorder the additions)
    total = np.zeros(out_size, dtype=np.float64)
    for k in range(ksize):
        total = total + w[:, k]
    nonzero = total != 0.0
    w = np.where(nonzero[:, None], w / np.where(nonzero, total, 1.0)[:, None], w)

    fixed = w * float(1 << PRECISION_BITS) + np.where(w < 0, -0.5, 0.5)
    weights = np.trunc(fixed).astype(np.int32)  # truncation toward zero, as static_cast<int32_t>
    return ResampleCoefficients(xmin, count, weights)


def _clip8(acc: np.ndarray) -> np.ndarray:
    return np.clip(acc >> PRECISION_BITS, 0, 255).astype(np.uint8)


_BLOCK = 4  # output pixels per product in ``_resample_rows`` (small: the band wastes less)


def _resample_rows(rows: np.ndarray, coeffs: ResampleCoefficients) -> np.ndarray:
    """Resample along axis 0 of an (n, m) uint8 array (one pass of the C++, every column at once).

    out[i] = clip8((2**21 + sum_k w[i, k] * rows[xmin[i] + k]) >> 22). Computed as float64 products of a
    banded weight block with the source rows (numpy's einsum loops: single-threaded, no BLAS). Each
    product is an integer below 2**31 and each sum below 2**40, far under 2**53, so float64 is exact in
    any summation order and equals the C++ int32 accumulation (which never overflows for normalised
    weights: the positive taps sum to < 1.4, so 255 * 1.4 * 2**22 < 2**31)."""
    out_size, ksize = coeffs.weights.shape
    src = rows.astype(np.float64)
    result = np.empty((out_size, rows.shape[1]), dtype=np.uint8)
    taps = np.arange(ksize)
    for b0 in range(0, out_size, _BLOCK):
        b1 = min(b0 + _BLOCK, out_size)
        xmin, count, w = coeffs.xmin[b0:b1], coeffs.count[b0:b1], coeffs.weights[b0:b1]
        lo, hi = int(xmin.min()), int((xmin + count).max())
        band = np.zeros((b1 - b0, hi - lo), dtype=np.float64)
        valid = taps[None, :] < count[:, None]
        r = np.broadcast_to(np.arange(b1 - b0)[:, None], valid.shape)[valid]
        c = (xmin[:, None] - lo + taps[None, :])[valid]
        band[r, c] = w[valid]
        acc = np.einsum("ij,jk->ik", band, src[lo:hi]).astype(np.int64) + (1 << (PRECISION_BITS - 1))
        result[b0:b1] = _clip8(acc)
    return result


def _resample_axis(img: np.ndarray, coeffs: ResampleCoefficients, axis: int) -> np.ndarray:
    """One pass along ``axis`` (1 = horizontal, 0 = vertical) of an (H, W, 3) uint8 image."""
    h, w = img.shape[:2]
    if axis == 0:
        return _resample_rows(img.reshape(h, w * 3), coeffs).reshape(-1, w, 3)
    cols = np.ascontiguousarray(img.transpose(1, 0, 2)).reshape(w, h * 3)
    return np.ascontiguousarray(_resample_rows(cols, coeffs).reshape(-1, h, 3).transpose(1, 0, 2))


def resize_pillow_fixed(img: np.ndarray, width: int, height: int, filter_name: str) -> np.ndarray:
    """Resize an (H, W, 3) uint8 image to (height, width, 3): horizontal pass, then vertical."""
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {img.shape} {img.dtype}")
    if not (0 < width <= 65536 and 0 < height <= 65536):
        raise ValueError(f"resize target {width}x{height} is out of range (max 65536)")
    src_h, src_w = img.shape[:2]
    out = img
    if width != src_w:
        out = _resample_axis(out, coefficients_pillow_fixed(src_w, width, filter_name), axis=1)
    if height != src_h:
        out = _resample_axis(out, coefficients_pillow_fixed(src_h, height, filter_name), axis=0)
    return np.array(out, dtype=np.uint8, copy=True) if out is img else out
