"""Pixel kernels of llama.cpp's llava-cli era ``clip.cpp``, ported bit-exactly in vectorized numpy.

Source: ggerganov/llama.cpp, commit c392e5094deaf2d1a7c18683214f007fad3fe42b,
``examples/llava/clip.cpp`` (``bicubic_resize``, ``bilinear_resize``, ``resize_and_pad_image``,
``divide_to_patches_u8``, ``normalize_image_u8_to_f32``, the inline bilinear of the fixed-size branch of
``clip_image_preprocess``) and ``examples/llava/llava.cpp`` (``reshape_by_patch``).

Bit-exactness rests on reproducing each C++ operation's precision: expressions with ``double``
literals (``-1.0 / 3 * d0``) are evaluated in float64 and narrowed to float32 where the C++ assigns them
to a ``float``; everything else is float32, one rounding per operation in source order. That is the x86-64 build (SSE2, no FMA contraction: clip.cpp does not get
ggml-cpu's ``-march`` flags); an ARM build may contract ``a + b * t`` into FMAs and differ.
``std::round`` is half away from zero, not numpy's half-to-even. Images are (H, W, 3) uint8, as
``clip_image_u8`` holds them (interleaved RGB); kernels never modify their input.
"""

from __future__ import annotations

import cv2
import numpy as np

F32 = np.float32
#: the double constants of bicubic_resize's cubic coefficients (folded by the compiler as doubles)
_THIRD = -1.0 / 3
_HALF = 1.0 / 2
_SIXTH = 1.0 / 6


def _check_image(img: np.ndarray) -> None:
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {img.dtype} {img.shape}")
    if img.shape[0] < 1 or img.shape[1] < 1:
        raise ValueError(f"image has zero size: {img.shape}")


def _check_size(width: int, height: int) -> None:
    if width < 1 or height < 1:
        raise ValueError(f"target size must be positive, got {width}x{height}")


def round_half_away_u8(v: np.ndarray) -> np.ndarray:
    """``(uint8) min(max(std::round(v), 0.0f), 255.0f)`` for float32 ``v``.

    ``floor(v + 0.5)`` in float32 is exact for v >= 0.5 (the sum cannot round across an integer); below
    0.5 the C++ result is 0 after clamping, so those are set directly."""
    r = np.floor(v + F32(0.5))
    r = np.where(v < F32(0.5), F32(0), np.minimum(r, F32(255)))
    return r.astype(np.uint8)


#: elements (output pixels x channels) per block of work: big enough to amortise numpy's per-call cost,
#: small enough that a block's float64 scratch (~6 arrays) stays in cache
_BLOCK_ELEMS = 1 << 15


def _cubic_coefficients_into(samples: np.ndarray, scratch: np.ndarray, out: np.ndarray) -> None:
    """a1, a2, a3 of bicubic_resize from the 4 samples of every element, exactly as the C++ computes them.

    ``samples``: (n, 4, m) float64 holding the differences to the centre sample d0, (unused), d2, d3,
    overwritten; ``scratch``: (n, m) float64; ``out``: (3, n, m) float32 receiving a1, a2, a3.

    The C++ subtracts the centre sample (``d0 = C[0] - C[1]``...: ints for the horizontal pass, floats
    for the vertical one; the caller forms them), then evaluates ``-1.0 / 3 * d0 + d2 - 1.0 / 6 * d3``,
    ``1.0 / 2 * d0 + 1.0 / 2 * d2`` and ``-1.0 / 6 * d0 - 1.0 / 2 * d2 + 1.0 / 6 * d3`` in double (double
    literals) and stores floats. Same roundings here: ``1/6 * d3`` is shared, ``-(1/6 * d0) - d2 / 2`` is
    ``-(1/6 * d0 + d2 / 2)`` (negation and halving are exact), each narrowed once to float32."""
    d0, d2, d3 = samples[:, 0], samples[:, 2], samples[:, 3]
    d3 *= _SIXTH  # 1.0 / 6 * d3, used by a1 and a3
    np.multiply(d0, _THIRD, out=scratch)
    scratch += d2
    scratch -= d3
    np.copyto(out[0], scratch, casting="same_kind")  # a1: double -> float
    np.add(d0, d2, out=scratch)
    scratch *= _HALF
    np.copyto(out[1], scratch, casting="same_kind")  # a2
    d0 *= _SIXTH
    d2 *= _HALF
    d0 += d2
    np.subtract(d3, d0, out=d0)
    np.copyto(out[2], d0, casting="same_kind")  # a3


def _cubic_coefficients(d0: np.ndarray, d2: np.ndarray, d3: np.ndarray):
    """a1, a2, a3 (float32) of bicubic_resize from 1-D float64 differences to the centre sample (a pure
    wrapper of ``_cubic_coefficients_into``, for tests)."""
    d = np.stack([np.asarray(d0, np.float64), np.zeros(np.shape(d0)), np.asarray(d2, np.float64),
                  np.asarray(d3, np.float64)], axis=-2)[None]
    out = np.empty((3,) + d.shape[:1] + d.shape[2:], dtype=F32)
    _cubic_coefficients_into(d, np.empty(out.shape[1:]), out)
    return out[0, 0], out[1, 0], out[2, 0]


def _cubic_eval_into(c1: np.ndarray, a: np.ndarray, t: np.ndarray, out: np.ndarray) -> None:
    """``a0 + a1 * t + a2 * t * t + a3 * t * t * t`` in float32, left to right, into ``out``
    (``a`` = (a1, a2, a3) is overwritten; ``c1`` is a0, the centre sample)."""
    a1, a2, a3 = a
    a1 *= t
    a1 += c1  # a0 + a1 * t (a0 from bytes: exact in float32)
    a2 *= t
    a2 *= t
    a1 += a2
    a3 *= t
    a3 *= t
    a3 *= t
    np.add(a1, a3, out=out)


def _cubic_taps(n_src: int, n_dst: int) -> tuple[np.ndarray, np.ndarray]:
    """Per output index: the 4 clamped source indices (x-1..x+2) and the float32 fraction.

    ``tx = (float)n_src / (float)n_dst; x = (int)(tx * j); dx = tx * j - x`` (float32)."""
    t = F32(n_src) / F32(n_dst)
    p = t * np.arange(n_dst, dtype=F32)
    x = p.astype(np.int64)  # (int) truncation; p >= 0
    frac = p - x.astype(F32)
    idx = np.clip(x[:, None] + np.arange(-1, 3), 0, n_src - 1)
    return idx, frac


def _transpose_hw(img: np.ndarray) -> np.ndarray:
    """(H, W, 3) -> (W, H, 3) contiguous, uint8 or float32: a pure element move (OpenCV's blocked
    transpose, ~10x numpy's strided copy of 3-element pixels)."""

    h, w = img.shape[:2]
    return cv2.transpose(np.ascontiguousarray(img)).reshape(w, h, 3)


def resize_bicubic_llamacpp_legacy(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """clip.cpp ``bicubic_resize``: 4-point cubic *Lagrange* interpolation (through samples x-1..x+2;
    not Keys/Catmull-Rom), no antialiasing at any scale, edge samples clamped; rows are interpolated
    first along x (float32 per source row), then the 4 row results along y, rounded half away from zero.

    Sampling position is ``(int)(src/dst * j)`` with the fraction from the same float32 product (no
    half-pixel centre), so the output is shifted towards the top-left compared with PIL.

    Vectorised as two passes with the C++'s per-element arithmetic: the horizontal one computes
    C[jj] once per (source row, output column, channel), on the transposed image so that the 4 taps
    are whole-row gathers; the vertical one combines the 4 rows each output row reads. Both run in
    blocks of ``_BLOCK_ELEMS`` elements with preallocated scratch."""
    _check_image(img)
    _check_size(width, height)
    ny, nx = img.shape[:2]
    xi, dx = _cubic_taps(nx, width)
    yi, dy = _cubic_taps(ny, height)
    rows = np.unique(yi)  # only source rows some output row reads
    n_rows = len(rows)

    # horizontal pass: C[jj] for every (output column j, source row, channel) -> (width, rows * 3)
    cols = _transpose_hw(img[rows] if n_rows != ny else img).reshape(nx, n_rows * 3)
    m = n_rows * 3
    horiz_t = np.empty((width, m), dtype=F32)
    step = max(1, _BLOCK_ELEMS // m)
    taps = np.empty((step, 4, m), dtype=np.uint8)
    samples = np.empty((step, 4, m), dtype=np.float64)
    scratch = np.empty((step, m), dtype=np.float64)
    coef = np.empty((3, step, m), dtype=F32)
    for j0 in range(0, width, step):
        j1 = min(j0 + step, width)
        n = j1 - j0
        np.take(cols, xi[j0:j1], axis=0, out=taps[:n], mode="clip")  # bytes at x-1, x, x+1, x+2 (clamped)
        s = samples[:n]
        np.copyto(s, taps[:n])
        for k in (0, 2, 3):  # d0, d2, d3: int - int, exact (the C++ subtracts ints, then converts)
            s[:, k] -= s[:, 1]
        _cubic_coefficients_into(s, scratch[:n], coef[:, :n])
        _cubic_eval_into(taps[:n, 1], coef[:, :n], dx[j0:j1, None], horiz_t[j0:j1])
    horiz = _transpose_hw(horiz_t.reshape(width, n_rows, 3)).reshape(n_rows, width * 3)

    # vertical pass: the 4 row results of rows y-1..y+2 for every output row
    pos = np.searchsorted(rows, yi)  # (height, 4) indices into horiz
    m = width * 3
    out = np.empty((height, m), dtype=np.uint8)
    step = max(1, _BLOCK_ELEMS // m)
    c = np.empty((step, 4, m), dtype=F32)
    diff = np.zeros((step, 4, m), dtype=F32)  # column 1 (C[1] - C[1]) stays 0, unused
    samples = np.empty((step, 4, m), dtype=np.float64)
    scratch = np.empty((step, m), dtype=np.float64)
    coef = np.empty((3, step, m), dtype=F32)
    value = np.empty((step, m), dtype=F32)
    for i0 in range(0, height, step):
        i1 = min(i0 + step, height)
        n = i1 - i0
        np.take(horiz, pos[i0:i1], axis=0, out=c[:n], mode="clip")
        for k in (0, 2, 3):  # d0 = C[0] - C[1] ...: float - float stored in a float
            np.subtract(c[:n, k], c[:n, 1], out=diff[:n, k])
        s = samples[:n]
        np.copyto(s, diff[:n])  # then widened to double by the double literals
        _cubic_coefficients_into(s, scratch[:n], coef[:, :n])
        _cubic_eval_into(c[:n, 1], coef[:, :n], dy[i0:i1, None], value[:n])
        _round_half_away_into(value[:n], scratch[:n], out[i0:i1])
    return out.reshape(height, width, 3)


def _round_half_away_into(v: np.ndarray, scratch: np.ndarray, out: np.ndarray) -> None:
    """``(uint8) min(max(std::round(v), 0.0f), 255.0f)`` of float32 ``v`` into uint8 ``out``.

    In float64 ``v + 0.5`` is exact, so its floor is round-half-up of v, which is std::round for
    v >= 0 (negative v clamp to 0 either way); clamping to [0, 255] before the truncating cast gives
    the same byte (truncation is floor for values >= 0; 0 and 255 are whole)."""
    np.copyto(scratch, v)
    scratch += 0.5
    np.clip(scratch, 0.0, 255.0, out=scratch)
    np.copyto(out, scratch, casting="unsafe")


def resize_bilinear_llamacpp_legacy(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """clip.cpp ``bilinear_resize``: ratio ``(src - 1) / dst``, no half-pixel centre, ``x + 1`` neighbour
    read unclamped, result truncated by ``static_cast<uint8_t>``.

    At c392e50 no preprocessor calls it (its calls are commented out in favour of bicubic_resize); it is
    ported for completeness. The C++ reads one sample past a row when the fraction is 0 at the last
    column; that only happens for a 1-pixel source side (see below)."""
    _check_image(img)
    _check_size(width, height)
    ny, nx = img.shape[:2]
    x_ratio = F32(nx - 1) / F32(width)
    y_ratio = F32(ny - 1) / F32(height)
    px = x_ratio * np.arange(width, dtype=F32)
    py = y_ratio * np.arange(height, dtype=F32)
    x0 = px.astype(np.int64)
    y0 = py.astype(np.int64)
    fx = (px - x0.astype(F32))[None, :, None]
    fy = (py - y0.astype(F32))[:, None, None]
    # x_floor + 1 (and y_floor + 1) are read unclamped; with a 1-pixel-wide source the C++ reads the
    # next row's first pixel, reproduced through the flat buffer (capped at its end, where C++ is UB).
    flat = img.reshape(-1, 3).astype(F32)
    x1, y1 = x0 + 1, y0 + 1

    def at(yy, xx):
        return flat[np.minimum(yy[:, None] * nx + xx[None, :], flat.shape[0] - 1)]

    top = at(y0, x0) + (at(y0, x1) - at(y0, x0)) * fx
    bottom = at(y1, x0) + (at(y1, x1) - at(y1, x0)) * fx
    v = top + (bottom - top) * fy
    return v.astype(np.uint8)  # static_cast<uint8_t>: truncation (values stay in [0, 255])


def fixed_resize_size_llamacpp_legacy(width: int, height: int, image_size: int) -> tuple[float, int, int]:
    """Geometry of the fixed-size branch: ``scale = max(nx, ny) / (float)image_size``,
    ``nx3 = int(nx / scale + 0.5f)``; returns (scale as float32, nx3, ny3)."""
    scale = F32(max(width, height)) / F32(image_size)
    nx3 = int(F32(width) / scale + F32(0.5))
    ny3 = int(F32(height) / scale + F32(0.5))
    return scale, nx3, ny3


def resize_bilinear_fixed_llamacpp_legacy(img: np.ndarray, image_size: int) -> np.ndarray:
    """The bilinear inlined in ``clip_image_preprocess`` (fixed-size branch: LLaVA-1.5, MobileVLM):
    aspect kept so the longer side becomes ``image_size``; half-pixel centres
    ``s = (x + 0.5f) * scale - 0.5f``; ``x0 = max(0, floor(s))`` and ``dx = s - x0``, so at the left/top
    edge of an upscale dx is negative and the weights extrapolate; ``x1 = min(x0 + 1, n - 1)``; rounded
    half away from zero and clamped. Returns (ny3, nx3, 3) uint8."""
    _check_image(img)
    ny, nx = img.shape[:2]
    scale, nx3, ny3 = fixed_resize_size_llamacpp_legacy(nx, ny, image_size)

    def axis(n_out: int, n_src: int):
        s = (np.arange(n_out, dtype=F32) + F32(0.5)) * scale - F32(0.5)
        i0 = np.maximum(0, np.floor(s).astype(np.int64))
        i1 = np.minimum(i0 + 1, n_src - 1)
        return i0, i1, s - i0.astype(F32)

    x0, x1, dx = axis(nx3, nx)
    y0, y1, dy = axis(ny3, ny)
    src = img.astype(F32)
    dx = dx[None, :, None]
    dy = dy[:, None, None]
    rows0, rows1 = src[y0], src[y1]
    v0 = rows0[:, x0] * (F32(1) - dx) + rows0[:, x1] * dx
    v1 = rows1[:, x0] * (F32(1) - dx) + rows1[:, x1] * dx
    v = v0 * (F32(1) - dy) + v1 * dy
    return round_half_away_u8(v)


def pad_to_square_llamacpp_legacy(img: np.ndarray, colour=(122, 116, 104)) -> np.ndarray:
    """The LLaVA pad-to-square of ``clip_image_preprocess`` as c392e50 does it: a square of the longer
    side filled with ``colour`` and the image copied at the TOP-LEFT corner (LLaVA's own
    ``expand2square`` centres it). A square input is returned as a copy."""
    _check_image(img)
    ny, nx = img.shape[:2]
    side = max(nx, ny)
    out = np.empty((side, side, 3), dtype=np.uint8)
    # filled a row at a time (one long contiguous copy per row; broadcasting 3 bytes is ~50x slower)
    out.reshape(side, side * 3)[:] = np.tile(np.asarray(colour, dtype=np.uint8), side)
    out[:ny, :nx] = img
    return out


def resize_and_pad_size_llamacpp_legacy(width: int, height: int, target_width: int,
                                        target_height: int) -> tuple[int, int, int, int]:
    """Geometry of ``resize_and_pad_image``: (new_width, new_height, pad_x, pad_y).

    float32 scales ``target / src``; the smaller one wins (ties go to the height scale); the other side
    is ``min(ceil(src * scale), target)``; offsets ``(target - new) / 2`` (floor)."""
    scale_w = F32(target_width) / F32(width)
    scale_h = F32(target_height) / F32(height)
    if scale_w < scale_h:
        new_w = target_width
        new_h = min(int(np.ceil(F32(height) * scale_w)), target_height)
    else:
        new_h = target_height
        new_w = min(int(np.ceil(F32(width) * scale_h)), target_width)
    return new_w, new_h, (target_width - new_w) // 2, (target_height - new_h) // 2


def resize_and_pad_llamacpp_legacy(img: np.ndarray, target_width: int,
                                   target_height: int) -> tuple[np.ndarray, np.ndarray]:
    """``resize_and_pad_image``: bicubic_resize to fit, centred on a black canvas.

    Returns (resized, padded), both (H, W, 3) uint8."""
    _check_image(img)
    _check_size(target_width, target_height)
    ny, nx = img.shape[:2]
    new_w, new_h, pad_x, pad_y = resize_and_pad_size_llamacpp_legacy(nx, ny, target_width, target_height)
    resized = resize_bicubic_llamacpp_legacy(img, new_w, new_h)
    padded = np.zeros((target_height, target_width, 3), dtype=np.uint8)
    padded[pad_y:pad_y + new_h, pad_x:pad_x + new_w] = resized
    return resized, padded


def divide_to_patches_llamacpp_legacy(img: np.ndarray, patch_size: int) -> tuple[np.ndarray, ...]:
    """``divide_to_patches_u8``: row-major patches of ``patch_size``; the last row/column of patches is
    smaller when the size is not a multiple."""
    _check_image(img)
    ny, nx = img.shape[:2]
    return tuple(img[i:i + patch_size, j:j + patch_size].copy()
                 for i in range(0, ny, patch_size) for j in range(0, nx, patch_size))


def normalize_llamacpp_legacy(img: np.ndarray, mean, std) -> np.ndarray:
    """``normalize_image_u8_to_f32``: ``(x / 255.0f - mean[c]) / std[c]`` in float32, layout kept
    (H, W, 3) interleaved, as ``clip_image_f32.buf`` holds it."""
    _check_image(img)
    h, w = img.shape[:2]
    # mean/std repeated along a whole row: same float32 operations, on long contiguous rows
    m = np.tile(np.asarray(mean, dtype=F32), w)
    s = np.tile(np.asarray(std, dtype=F32), w)
    out = img.astype(F32).reshape(h, w * 3)
    out /= F32(255.0)
    out -= m
    out /= s
    return out.reshape(h, w, 3)


def to_planar_llamacpp_legacy(buf: np.ndarray) -> np.ndarray:
    """``clip_image_batch_encode``'s fill of ``inp_raw`` for one image: (H, W, 3) -> (3, H, W)."""
    return np.ascontiguousarray(np.moveaxis(buf, -1, 0))


def reshape_by_patch_llamacpp_legacy(buf: np.ndarray, patch_size: int) -> np.ndarray:
    """llava.cpp ``reshape_by_patch`` (MiniCPM-V, before encoding): the (H, W, 3) float image becomes a
    strip of height ``patch_size`` holding the row-major patches side by side,
    (patch_size, patch_size * n_patches, 3). Only whole patches are kept."""
    h, w = buf.shape[:2]
    gh, gw = h // patch_size, w // patch_size
    x = buf[:gh * patch_size, :gw * patch_size].reshape(gh, patch_size, gw, patch_size, 3)
    # (patch row, pi, patch col, pj, c) -> (pi, patch index = row * gw + col, pj, c)
    x = x.transpose(1, 0, 2, 3, 4).reshape(patch_size, gh * gw * patch_size, 3)
    return np.ascontiguousarray(x)
