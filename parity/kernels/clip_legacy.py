"""Pixel kernels of llama.cpp's llava-cli era ``clip.cpp``, ported bit-exactly in vectorized numpy.

Source: ggerganov/llama.cpp, commit c392e5094deaf2d1a7c18683214f007fad3fe42b,
``examples/llava/clip.cpp`` (``bicubic_resize``, ``bilinear_resize``, ``resize_and_pad_image``,
``divide_to_patches_u8``, ``normalize_image_u8_to_f32``, the inline bilinear of the fixed-size branch of
``clip_image_preprocess``) and ``examples/llava/llava.cpp`` (``reshape_by_patch``).

Bit-exactness rests on reproducing each C++ operation's precision: expressions with ``double``
literals (``-1.0 / 3 * d0``) are evaluated in float64 and narrowed to float32 where the C++ assigns them
to a ``float`` (or, in bicubic_resize's horizontal pass where the operands are integers, by an
equivalent float32 form checked over every input triple); everything else is float32, one rounding per
operation in source order. That is the x86-64 build (SSE2, no FMA contraction: clip.cpp does not get
ggml-cpu's ``-march`` flags); an ARM build may contract ``a + b * t`` into FMAs and differ.
``std::round`` is half away from zero, not numpy's half-to-even. Images are (H, W, 3) uint8, as
``clip_image_u8`` holds them (interleaved RGB); kernels never modify their input.
"""

from __future__ import annotations

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


def _cubic_coefficients(d0: np.ndarray, d2: np.ndarray, d3: np.ndarray):
    """a1, a2, a3 of bicubic_resize from float64 differences to the centre sample.

    The C++ evaluates ``-1.0 / 3 * d0 + d2 - 1.0 / 6 * d3``, ``1.0 / 2 * d0 + 1.0 / 2 * d2`` and
    ``-1.0 / 6 * d0 - 1.0 / 2 * d2 + 1.0 / 6 * d3`` in double (double literals) and stores floats.
    Rewritten with the same roundings: ``1/6 * d3`` is shared, ``-(1/6 * d0) - d2 / 2`` is
    ``-(1/6 * d0 + d2 / 2)`` (negation and halving are exact)."""
    s3 = _SIXTH * d3
    a1 = _THIRD * d0
    a1 += d2
    a1 -= s3
    a2 = d0 + d2
    a2 *= _HALF
    a3 = _SIXTH * d0
    a3 += _HALF * d2
    np.subtract(s3, a3, out=a3)
    return a1.astype(F32), a2.astype(F32), a3.astype(F32)


def _cubic_coefficients_int(p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, p3: np.ndarray):
    """a1, a2, a3 of the horizontal pass, whose differences are integers, without float64 work.

    Exactly: a1 = (-2 p0 - 3 p1 + 6 p2 - p3) / 6, a2 = (p0 - 2 p1 + p2) / 2, a3 = (-p0 + 3 p1 - 3 p2 + p3) / 6.
    The C++'s double evaluation narrowed to float equals the correctly rounded float32 quotient of the
    integer numerator, except where the numerator is 0 and the double path leaves a residual such as
    -1.4e-14 (checked for all 511^3 difference triples); those elements are recomputed the C++ way."""
    n1 = 6 * p2 - 2 * p0 - 3 * p1 - p3  # |n| <= 12 * 255: int16 is enough
    n3 = p3 - p0 + 3 * (p1 - p2)
    a1 = n1.astype(F32) / F32(6)
    a2 = (p0 + p2 - 2 * p1).astype(F32) * F32(0.5)
    a3 = n3.astype(F32) / F32(6)
    for which, (a, n) in enumerate(((a1, n1), (a3, n3))):
        zero = np.flatnonzero(n.reshape(-1) == 0)
        q0, q1, q2, q3 = (q.reshape(-1)[zero] for q in (p0, p1, p2, p3))
        residual = (q0 != q1) | (q2 != q1) | (q3 != q1)
        if residual.any():
            d1 = q1[residual].astype(np.float64)
            exact = _cubic_coefficients(q0[residual] - d1, q2[residual] - d1, q3[residual] - d1)
            a.reshape(-1)[zero[residual]] = exact[2 * which]
    return a1, a2, a3


def _cubic_eval(a0, a1, a2, a3, t):
    """``a0 + a1 * t + a2 * t * t + a3 * t * t * t`` in float32, left to right (in place on a1..a3)."""
    a1 *= t
    a1 += a0
    a2 *= t
    a2 *= t
    a1 += a2
    a3 *= t
    a3 *= t
    a3 *= t
    a1 += a3
    return a1


def _cubic_taps(n_src: int, n_dst: int) -> tuple[np.ndarray, np.ndarray]:
    """Per output index: the 4 clamped source indices (x-1..x+2) and the float32 fraction.

    ``tx = (float)n_src / (float)n_dst; x = (int)(tx * j); dx = tx * j - x`` (float32)."""
    t = F32(n_src) / F32(n_dst)
    p = t * np.arange(n_dst, dtype=F32)
    x = p.astype(np.int64)  # (int) truncation; p >= 0
    frac = p - x.astype(F32)
    idx = np.clip(x[:, None] + np.arange(-1, 3), 0, n_src - 1)
    return idx, frac


def resize_bicubic_llamacpp_legacy(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """clip.cpp ``bicubic_resize``: 4-point cubic *Lagrange* interpolation (through samples x-1..x+2;
    not Keys/Catmull-Rom), no antialiasing at any scale, edge samples clamped; rows are interpolated
    first along x (float32 per source row), then the 4 row results along y, rounded half away from zero.

    Sampling position is ``(int)(src/dst * j)`` with the fraction from the same float32 product (no
    half-pixel centre), so the output is shifted towards the top-left compared with PIL."""
    _check_image(img)
    _check_size(width, height)
    ny, nx = img.shape[:2]
    xi, dx = _cubic_taps(nx, width)
    yi, dy = _cubic_taps(ny, height)
    rows = np.unique(yi)  # only source rows some output row reads
    src = img[rows].reshape(len(rows), nx * 3).astype(np.int16)
    # horizontal pass on (source row, output column * 3 + channel): C[jj] of the C++ for every row
    chan = np.arange(3)
    p0, p1, p2, p3 = (np.take(src, (xi[:, k, None] * 3 + chan).reshape(-1), axis=1) for k in range(4))
    a1, a2, a3 = _cubic_coefficients_int(p0, p1, p2, p3)
    horiz = _cubic_eval(p1.astype(F32), a1, a2, a3, np.repeat(dx, 3))  # (R, W*3) float32
    # vertical pass: the 4 row results of rows y-1..y+2 for every output row
    pos = np.searchsorted(rows, yi)  # (H, 4) indices into horiz
    c1 = horiz[pos[:, 1]]
    e0 = horiz[pos[:, 0]] - c1  # float - float stored in a float (d0 = C[0] - C[1])
    e2 = horiz[pos[:, 2]] - c1
    e3 = horiz[pos[:, 3]] - c1
    b1, b2, b3 = _cubic_coefficients(e0.astype(np.float64), e2.astype(np.float64), e3.astype(np.float64))
    out = _cubic_eval(c1, b1, b2, b3, dy[:, None])
    return round_half_away_u8(out).reshape(height, width, 3)


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
    out[:] = np.asarray(colour, dtype=np.uint8)
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
    m = np.asarray(mean, dtype=F32)
    s = np.asarray(std, dtype=F32)
    return (img.astype(F32) / F32(255.0) - m) / s


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
