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

import functools
import math
from dataclasses import dataclass

import cv2
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


#: output pixels per banded product: small, so the band holds few zeros (its width is about
#: ``_BLOCK * scale + taps``), yet each BLAS call still has thousands of columns to amortise its cost
_BLOCK = 8


#: the largest m * n * k that OpenBLAS (numpy's BLAS) multiplies on the calling thread (its interface
#: threshold SMP_THRESHOLD_MIN * GEMM_MULTITHREAD_THRESHOLD = 65536 * 4); larger products wake its
#: thread pool, which on a loaded machine costs far more than it saves. Speed only: any split of the
#: columns gives the same exact sums.
_BLAS_SERIAL_MNK = 65536 * 4


@dataclass(frozen=True)
class _Band:
    """A block of output pixels [out0, out1) and the dense slice of the weight matrix it reads."""

    out0: int
    out1: int
    in0: int  # first input pixel any output of the block reads
    in1: int
    weights: np.ndarray  # (out1 - out0, in1 - in0) float64: the int32 weights times 2**-precision_bits


@functools.lru_cache(maxsize=64)
def _bands(in_size: int, out_size: int, filter_name: str, precision_bits: int) -> tuple[_Band, ...]:
    """The weight matrix of one axis cut into row blocks (cached per axis size, filter and precision;
    the precision is a key so a changed ``PRECISION_BITS`` takes effect). Arrays are read-only.

    Built for all blocks at once: every block's dense slice is a view of one buffer, each tap written to
    its (block, row, column) place by a single scatter."""
    c = coefficients_pillow_fixed(in_size, out_size, filter_name)
    unit = 2.0 ** -precision_bits  # a power of two: w * unit is exact, so every product stays exact
    starts = np.arange(0, out_size, _BLOCK)
    block = np.arange(out_size) // _BLOCK  # the block of each output pixel
    lo = np.minimum.reduceat(c.xmin, starts)
    hi = np.maximum.reduceat(c.xmin + c.count, starts)
    rows = np.diff(np.append(starts, out_size))
    width = hi - lo
    offset = np.concatenate([[0], np.cumsum(rows * width)])  # where each block's (rows, width) slice starts
    taps = np.arange(c.weights.shape[1])
    valid = taps[None, :] < c.count[:, None]  # [output pixel, tap]
    out_idx, tap_idx = np.nonzero(valid)
    b = block[out_idx]
    flat = offset[b] + (out_idx - starts[b]) * width[b] + (c.xmin[out_idx] - lo[b] + tap_idx)
    buf = np.zeros(int(offset[-1]), dtype=np.float64)
    buf[flat] = c.weights[out_idx, tap_idx] * unit
    buf.flags.writeable = False
    return tuple(_Band(int(s0), int(s0 + n), int(l0), int(h0), buf[o:o + n * w].reshape(n, w))
                 for s0, n, l0, h0, w, o in zip(starts, rows, lo, hi, width, offset[:-1], strict=True))


def _resample_rows(rows: np.ndarray, in_size: int, out_size: int, filter_name: str) -> np.ndarray:
    """One pass of the C++ along axis 0 of an (in_size, m) uint8 array: out[i] =
    clip8((2**21 + sum_k w[i, k] * rows[xmin[i] + k]) >> 22) for every column at once.

    Computed block by block as a product of a dense slice of the weight matrix (scaled by 2**-22) with
    the float64 rows it reads (one BLAS call per block). Exact in float64 in any summation order, FMA
    or not: each product w * p is an integer below 2**31 times 2**-22, every partial sum a multiple of
    2**-22 below 2**9 (the C++ int32 accumulator never overflows for normalised weights: the positive
    taps sum to < 1.4, so 255 * 1.4 * 2**22 < 2**31), i.e. at most 31 significant bits of 53. So the
    sum is exactly acc * 2**-22, and ``floor(sum + 0.5)`` is the C++'s ``(2**21 + acc) >> 22``."""
    bits = PRECISION_BITS
    bands = _bands(in_size, out_size, filter_name, bits)
    m = rows.shape[1]
    out = np.empty((out_size, m), dtype=np.uint8)
    span = max(b.in1 - b.in0 for b in bands)
    src = np.empty((span, m), dtype=np.float64)  # reused: the block's rows stay in cache
    acc = np.empty((_BLOCK, m), dtype=np.float64)
    for b in bands:
        s = src[:b.in1 - b.in0]
        np.copyto(s, rows[b.in0:b.in1])  # uint8 -> float64, exact
        a = acc[:b.out1 - b.out0]
        cols = max(64, _BLAS_SERIAL_MNK // b.weights.size)
        for c0 in range(0, m, cols):  # products small enough to stay on this thread (see _BLAS_SERIAL_MNK)
            np.matmul(b.weights, s[:, c0:c0 + cols], out=a[:, c0:c0 + cols])
        a += 0.5  # the 1 << (PRECISION_BITS - 1) bias, in units of 2**PRECISION_BITS
        # clip8(v >> 22): the shift floors; clamping to [0, 255] first and then truncating (the cast)
        # gives the same byte, as truncation is floor for values >= 0 and 0, 255 are whole
        np.maximum(a, 0.0, out=a)  # np.clip's value, without its Python-level dispatch (once per block)
        np.minimum(a, 255.0, out=a)
        np.copyto(out[b.out0:b.out1], a, casting="unsafe")
    return out


def _transpose_hw(img: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> (W, H, 3) contiguous: a pure byte move (OpenCV's cache-blocked transpose,
    ~10x numpy's strided copy of 3-byte pixels)."""

    h, w = img.shape[:2]
    return cv2.transpose(np.ascontiguousarray(img)).reshape(w, h, 3)


def resize_pillow_fixed(img: np.ndarray, width: int, height: int, filter_name: str) -> np.ndarray:
    """Resize an (H, W, 3) uint8 image to (height, width, 3): horizontal pass, then vertical."""
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {img.shape} {img.dtype}")
    if not (0 < width <= 65536 and 0 < height <= 65536):
        raise ValueError(f"resize target {width}x{height} is out of range (max 65536)")
    src_h, src_w = img.shape[:2]
    out = img
    if width != src_w:
        # horizontal pass on the transposed image, so that it too runs over contiguous rows
        cols = _resample_rows(_transpose_hw(img).reshape(src_w, src_h * 3), src_w, width, filter_name)
        out = _transpose_hw(cols.reshape(width, src_h, 3))
    if height != src_h:
        out = _resample_rows(out.reshape(src_h, -1), src_h, height, filter_name).reshape(height, width, 3)
    return np.array(out, dtype=np.uint8, copy=True) if out is img else out
