"""golang.org/x/image/draw v0.22.0 scalers (parity.kernels.xdraw): weights, impulse responses recorded
from the real Go code (tests/oracles/ollama/cases.json "impulse"), and a scalar loop port as a check of
the vectorized one."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from parity.kernels import xdraw

IMPULSE = json.loads((Path(__file__).parents[1] / "oracles" / "ollama" / "cases.json").read_text())["impulse"]


def impulse(h: int, w: int) -> np.ndarray:
    """An opaque black *image.RGBA with one white pixel in the middle."""
    img = np.zeros((h, w, 4), dtype=np.uint8)
    img[..., 3] = 255
    img[h // 2, w // 2, :3] = 255
    return img


def scale(kernel: str, img: np.ndarray, size) -> np.ndarray:
    if kernel in ("bilinear", "catmullrom"):
        return xdraw.resize_kernel_xdraw(img, size, kernel)
    samples = img.astype(np.uint16) * 0x101
    if kernel == "nearest":
        return xdraw.resize_nearest_xdraw(samples, size)
    return xdraw.resize_approxbilinear_xdraw(samples, size)


def scale_loops(kernel: str, samples: np.ndarray, size, alpha_one: bool = False) -> np.ndarray:
    """Kernel.Scale written as Go's loops (scaleX_RGBA64Image then scaleY_RGBA_Src), pixel by pixel;
    ``alpha_one``: the scaleX_Gray / scaleX_YCbCr* fast paths, which store an alpha of exactly 1."""
    def contribs(dst, src):
        d = xdraw.distrib_kernel(kernel, dst, src)
        return [[(int(c), float(w)) for c, w in zip(d.coords[i], d.weights[i]) if w != 0]
                for i in range(dst)], d.inv_total, d.inv_total_ffff

    (dh, dw), (sh, sw) = size, samples.shape[:2]
    hc, _, hffff = contribs(dw, sw)
    vc, vinv, _ = contribs(dh, sh)
    tmp = [[[0.0] * 4 for _ in range(dw)] for _ in range(sh)]
    for y in range(sh):
        for x in range(dw):
            acc = [0.0] * 4
            for c, w in hc[x]:
                for ch in range(4):
                    acc[ch] += float(samples[y, c, ch]) * w
            tmp[y][x] = [a * hffff[x] for a in acc]
            if alpha_one:
                tmp[y][x][3] = 1.0
    out = np.zeros((dh, dw, 4), dtype=np.uint8)
    for y in range(dh):
        for x in range(dw):
            p = [0.0] * 4
            for c, w in vc[y]:
                for ch in range(4):
                    p[ch] += tmp[c][x][ch] * w
            p[:3] = [min(v, p[3]) for v in p[:3]]
            for ch in range(4):
                i = math.trunc(0xFFFF * (p[ch] * vinv[y]) + 0.5)
                out[y, x, ch] = min(max(i, 0), 0xFFFF) >> 8
    return out


class TestDistrib:
    def test_bilinear_upscale_by_two_weights(self):
        d = xdraw.distrib_kernel("bilinear", 8, 4)
        # output 3 centres on source 1.25: 0.75 of pixel 1, 0.25 of pixel 2
        pairs = {int(c): w for c, w in zip(d.coords[3], d.weights[3]) if w}
        assert pairs == {1: 0.75, 2: 0.25}
        assert d.inv_total[3] == 1.0

    def test_downscale_widens_support(self):
        # scale 4: centre of output 0 is source 1.5, half width 4 -> sources 0..5 (clamped at 0),
        # weight 1 - |1.5 - c| / 4, in coordinate order
        d = xdraw.distrib_kernel("bilinear", 2, 8)
        assert d.coords[0].tolist() == [0, 1, 2, 3, 4, 5]
        assert d.weights[0].tolist() == [0.625, 0.875, 0.875, 0.625, 0.375, 0.125]

    def test_catmullrom_kernel_values(self):
        t = np.array([0.0, 0.5, 1.0, 1.5, 2.0])
        np.testing.assert_array_equal(xdraw.kernel_catmullrom(t), [1.0, 0.5625, 0.0, -0.0625, 0.0])

    def test_ftou_rounds_and_clamps(self):
        f = np.array([-0.5, 0.0, 0.5 / 0xFFFF, 1.0, 1.5])
        assert xdraw.ftou_xdraw(f).tolist() == [0, 0, 1, 0xFFFF, 0xFFFF]


class TestKernelScale:
    @pytest.mark.parametrize("kernel", ["bilinear", "catmullrom", "nearest", "approxbilinear"])
    def test_kernel_purity_dtype_shape(self, kernel):
        img = impulse(9, 7)
        before = img.copy()
        out = scale(kernel, img, (5, 11))
        assert out.dtype == np.uint8 and out.shape == (5, 11, 4)
        np.testing.assert_array_equal(img, before)

    @pytest.mark.parametrize("case", IMPULSE, ids=lambda c: f"{c['kernel']}-{c['src_hw']}-to-{c['dst_hw']}")
    def test_impulse_correctness_vs_go(self, case):
        out = scale(case["kernel"], impulse(*case["src_hw"]), tuple(case["dst_hw"]))
        np.testing.assert_array_equal(out[..., 0], np.array(case["red"], dtype=np.uint8))
        np.testing.assert_array_equal(out[..., 3], np.array(case["alpha"], dtype=np.uint8))

    @pytest.mark.parametrize("kernel", ["bilinear", "catmullrom"])
    @pytest.mark.parametrize("src, dst", [((13, 9), (5, 17)), ((6, 6), (6, 6)), ((3, 20), (7, 4))])
    def test_vectorized_equals_loops_with_alpha(self, kernel, src, dst):
        rng = np.random.default_rng(3)
        a = rng.integers(0, 0x10000, src + (1,), dtype=np.uint32)
        colour = rng.integers(0, 0x10000, src + (3,), dtype=np.uint32) * a // 0xFFFF  # premultiplied
        samples = np.concatenate([colour, a], -1).astype(np.uint16)
        np.testing.assert_array_equal(xdraw.resize_kernel_xdraw(samples, dst, kernel),
                                      scale_loops(kernel, samples, dst))

    @pytest.mark.parametrize("kernel", ["bilinear", "catmullrom"])
    @pytest.mark.parametrize("dtype", ["uint8", "uint16"])
    @pytest.mark.parametrize("src, dst", [((13, 9), (5, 17)), ((3, 20), (7, 4)), ((17, 16), (8, 8))])
    def test_vectorized_equals_loops_opaque(self, kernel, dtype, src, dst):
        # the uniform-alpha path (decoded photos): alpha sums computed apart from the colour
        rng = np.random.default_rng(4)
        top = 0xFF if dtype == "uint8" else 0xFFFF
        pixels = rng.integers(0, top + 1, src + (4,)).astype(dtype)
        pixels[..., 3] = top
        samples = pixels.astype(np.uint16) * (0x101 if dtype == "uint8" else 1)  # what At().RGBA() returns
        np.testing.assert_array_equal(xdraw.resize_kernel_xdraw(pixels, dst, kernel),
                                      scale_loops(kernel, samples, dst))

    @pytest.mark.parametrize("kernel", ["bilinear", "catmullrom"])
    def test_vectorized_equals_loops_alpha_one(self, kernel):
        # *image.YCbCr / *image.Gray: 16-bit opaque samples, alpha stored as exactly 1 after scaleX
        rng = np.random.default_rng(5)
        samples = rng.integers(0, 0x10000, (11, 14, 4)).astype(np.uint16)
        samples[..., 3] = 0xFFFF
        samples[2, 3, :3] = 0xFFFF  # a saturated pixel: the colour clamp to alpha 1 can bind
        np.testing.assert_array_equal(xdraw.resize_kernel_xdraw(samples, (6, 9), kernel, gray=True),
                                      scale_loops(kernel, samples, (6, 9), alpha_one=True))

    def test_gray_fast_path_alpha_is_one(self):
        gray = np.repeat(np.arange(0, 240, 10, dtype=np.uint8).reshape(4, 6, 1), 4, -1)
        gray[..., 3] = 255
        out = xdraw.resize_kernel_xdraw(gray, (3, 5), gray=True)
        assert (out[..., 3] == 255).all() and (out[..., 0] == out[..., 1]).all()

    def test_empty_destination(self):
        assert xdraw.resize_kernel_xdraw(impulse(4, 4), (0, 7)).shape == (0, 7, 4)
