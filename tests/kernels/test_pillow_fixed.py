"""The fixed-point Pillow resampler llama.cpp carries (parity.kernels.pillow_fixed)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from parity.kernels.pillow_fixed import coefficients_pillow_fixed, resize_pillow_fixed

ORACLES = Path(__file__).parents[1] / "oracles" / "llamacpp"
FILTERS = ("bilinear", "bicubic", "lanczos")


def scalar_weights(in_size: int, out_size: int, name: str) -> list[tuple[int, list[int]]]:
    """An independent scalar rendering of Pillow's Resample.c coefficient computation (for tiny sizes):
    per output pixel (xmin, int weights)."""
    support0 = {"bilinear": 1.0, "bicubic": 2.0, "lanczos": 3.0}[name]

    def f(x: float) -> float:
        if name == "lanczos":
            if not (-3.0 <= x < 3.0):
                return 0.0

            def sinc(v: float) -> float:
                return 1.0 if v == 0.0 else math.sin(v * math.pi) / (v * math.pi)
            return sinc(x) * sinc(x / 3.0)
        x = abs(x)
        if name == "bilinear":
            return 1.0 - x if x < 1.0 else 0.0
        a = -0.5
        if x < 1.0:
            return ((a + 2.0) * x - (a + 3.0)) * x * x + 1
        if x < 2.0:
            return (((x - 5) * x + 8) * x - 4) * a
        return 0.0

    scale = in_size / out_size
    fs = max(scale, 1.0)
    support = support0 * fs
    rows = []
    for xx in range(out_size):
        center = (xx + 0.5) * scale
        xmin = max(int(center - support + 0.5), 0)
        xmax = min(int(center + support + 0.5), in_size)
        ws = [f((x + xmin - center + 0.5) / fs) for x in range(xmax - xmin)]
        total = 0.0
        for w in ws:
            total += w
        ws = [w / total for w in ws] if total != 0.0 else ws
        rows.append((xmin, [int(w * (1 << 22) + (-0.5 if w < 0 else 0.5)) for w in ws]))
    return rows


def clip8(v: int) -> int:
    return min(max(v >> 22, 0), 255)


class TestCoefficients:
    @pytest.mark.parametrize("name", FILTERS)
    @pytest.mark.parametrize("in_size,out_size", [(7, 3), (3, 7), (10, 10), (17, 5), (5, 17), (1, 4), (4, 1)])
    def test_coefficients_match_scalar_reference(self, name, in_size, out_size):
        c = coefficients_pillow_fixed(in_size, out_size, name)
        for xx, (xmin, ws) in enumerate(scalar_weights(in_size, out_size, name)):
            assert c.xmin[xx] == xmin
            assert c.count[xx] == len(ws)
            assert c.weights[xx, :len(ws)].tolist() == ws
            assert not c.weights[xx, len(ws):].any()

    @pytest.mark.parametrize("name", FILTERS)
    def test_weights_sum_to_one_in_fixed_point(self, name):
        c = coefficients_pillow_fixed(1500, 336, name)
        sums = c.weights.astype(np.int64).sum(axis=1)
        # each weight is rounded on its own: the sum is 2**22 within one unit per tap
        assert np.all(np.abs(sums - (1 << 22)) <= c.weights.shape[1])

    def test_unknown_filter(self):
        with pytest.raises(ValueError, match="unknown filter 'nearest'"):
            coefficients_pillow_fixed(4, 2, "nearest")


class TestImpulse:
    """A single bright pixel on black: every output pixel is that pixel's weight, clipped."""

    @pytest.mark.parametrize("name", FILTERS)
    @pytest.mark.parametrize("in_w,out_w,pos", [(9, 4, 4), (9, 21, 0), (9, 21, 8), (12, 5, 7)])
    def test_horizontal_impulse(self, name, in_w, out_w, pos):
        img = np.zeros((1, in_w, 3), dtype=np.uint8)
        img[0, pos] = 255
        out = resize_pillow_fixed(img, out_w, 1, name)
        expected = []
        for xmin, ws in scalar_weights(in_w, out_w, name):
            k = pos - xmin
            w = ws[k] if 0 <= k < len(ws) else 0
            expected.append(clip8((1 << 21) + 255 * w))
        assert out[0, :, 0].tolist() == expected
        assert np.array_equal(out[..., 0], out[..., 2])

    @pytest.mark.parametrize("name", FILTERS)
    def test_vertical_impulse(self, name):
        img = np.zeros((11, 1, 3), dtype=np.uint8)
        img[5, 0] = 200
        out = resize_pillow_fixed(img, 1, 4, name)
        expected = []
        for xmin, ws in scalar_weights(11, 4, name):
            k = 5 - xmin
            expected.append(clip8((1 << 21) + 200 * (ws[k] if 0 <= k < len(ws) else 0)))
        assert out[:, 0, 1].tolist() == expected

    def test_two_passes_round_to_uint8_between(self):
        # 2-D impulse: the vertical pass sees the horizontal pass's uint8 result, not exact sums
        img = np.zeros((9, 9, 3), dtype=np.uint8)
        img[4, 4] = 255
        out = resize_pillow_fixed(img, 4, 4, "bicubic")
        h = resize_pillow_fixed(img, 4, 9, "bicubic")
        v = resize_pillow_fixed(h, 4, 4, "bicubic")
        assert np.array_equal(out, v)


class TestKernel:
    def test_kernel_purity_dtype_shape(self):
        rng = np.random.default_rng(0)
        img = rng.integers(0, 256, (10, 14, 3), dtype=np.uint8)
        before = img.copy()
        out = resize_pillow_fixed(img, 5, 23, "lanczos")
        assert out.dtype == np.uint8 and out.shape == (23, 5, 3)
        assert np.array_equal(img, before)
        same = resize_pillow_fixed(img, 14, 10, "bicubic")
        assert np.array_equal(same, img) and same is not img

    @pytest.mark.parametrize("name", FILTERS)
    def test_constant_image_stays_constant(self, name):
        img = np.full((31, 47, 3), 173, dtype=np.uint8)
        assert np.all(resize_pillow_fixed(img, 13, 60, name) == 173)

    def test_rejects_bad_input(self):
        with pytest.raises(ValueError, match="expected an"):
            resize_pillow_fixed(np.zeros((4, 4), np.uint8), 2, 2, "bilinear")
        with pytest.raises(ValueError, match="out of range"):
            resize_pillow_fixed(np.zeros((4, 4, 3), np.uint8), 0, 2, "bilinear")


def integer_resize(img: np.ndarray, width: int, height: int, name: str) -> np.ndarray:
    """The C++ passes as int64 per-tap accumulations (horizontal, uint8, then vertical): an independent
    rendering of ``resample_horizontal``/``resample_vertical`` from the coefficients."""
    def one_pass(src: np.ndarray, n_out: int) -> np.ndarray:  # along axis 0
        c = coefficients_pillow_fixed(src.shape[0], n_out, name)
        acc = np.full((n_out,) + src.shape[1:], 1 << 21, dtype=np.int64)
        for k in range(c.weights.shape[1]):  # taps beyond ``count`` have weight 0
            rows = np.minimum(c.xmin + k, src.shape[0] - 1)
            acc += c.weights[:, k].astype(np.int64).reshape((-1,) + (1,) * (src.ndim - 1)) * src[rows]
        return np.clip(acc >> 22, 0, 255).astype(np.uint8)

    out = img
    if width != img.shape[1]:
        out = one_pass(out.transpose(1, 0, 2), width).transpose(1, 0, 2)
    if height != img.shape[0]:
        out = one_pass(out, height)
    return out


class TestLargeImages:
    """The banded float64 products against the integer accumulation, on photo-sized inputs (exact)."""

    @pytest.fixture(scope="class")
    def photo(self):
        rng = np.random.default_rng(11)
        y, x = np.mgrid[0:431, 0:517]
        smooth = np.stack([x * 255 // 516, y * 255 // 430, (x + y) % 256], -1)
        return np.clip(smooth + rng.integers(-40, 41, smooth.shape), 0, 255).astype(np.uint8)

    @pytest.mark.parametrize("name", FILTERS)
    @pytest.mark.parametrize("size", [(120, 77), (517, 90), (60, 431), (700, 433), (1021, 870), (9, 5)])
    def test_equals_integer_accumulation(self, photo, name, size):
        np.testing.assert_array_equal(resize_pillow_fixed(photo, *size, name), integer_resize(photo, *size, name))

    def test_saturating_pattern(self):
        # 0/255 checkerboard: the negative lobes push sums below 0 and above 255 (both clamps bind)
        board = (np.indices((64, 80)).sum(0) % 2 * 255).astype(np.uint8)[..., None].repeat(3, -1)
        for name in FILTERS:
            np.testing.assert_array_equal(resize_pillow_fixed(board, 37, 101, name),
                                          integer_resize(board, 37, 101, name))


class TestCorrectness:
    """Bytes recorded from the real C++ (llama.cpp 0c1e570 img_tool::resize); exact, atol 0."""

    @pytest.fixture(scope="class")
    def recorded(self):
        return dict(np.load(ORACLES / "resize.npz"))

    @pytest.mark.parametrize("name", FILTERS)
    @pytest.mark.parametrize("size", ["40x9", "5x30", "17x4", "7x7"])
    def test_resize_correctness_vs_cpp(self, recorded, name, size):
        w, h = map(int, size.split("x"))
        expected = recorded[f"{name}_{size}"]
        assert np.array_equal(resize_pillow_fixed(recorded["src"], w, h, name), expected)

    def test_close_to_installed_pillow(self):
        # a sanity bound only: Pillow 13's own resampler is not what llama.cpp runs, so no exactness
        from PIL import Image

        src = np.random.default_rng(3).integers(0, 256, (64, 80, 3), dtype=np.uint8)
        ours = resize_pillow_fixed(src, 33, 17, "lanczos")
        pil = np.asarray(Image.fromarray(src).resize((33, 17), Image.Resampling.LANCZOS))
        assert ours.shape == pil.shape
        assert np.abs(ours.astype(int) - pil).max() <= 8
