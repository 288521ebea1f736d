"""Kernels of llama.cpp c392e50 examples/llava/clip.cpp (parity.kernels.clip_legacy).

Correctness is checked two ways: against outputs recorded from the real C++ (tests/oracles/llamacpp-legacy,
exact), and against hand-derived values (the cubic's weights on impulse images, the truncating and
rounding bilinears on ramps, pad geometry with odd remainders).
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from conftest import legacy_oracle_pattern as pattern

from parity.kernels.clip_legacy import (
    _cubic_coefficients,
    divide_to_patches_llamacpp_legacy,
    fixed_resize_size_llamacpp_legacy,
    normalize_llamacpp_legacy,
    pad_to_square_llamacpp_legacy,
    reshape_by_patch_llamacpp_legacy,
    resize_and_pad_llamacpp_legacy,
    resize_and_pad_size_llamacpp_legacy,
    resize_bicubic_llamacpp_legacy,
    resize_bilinear_fixed_llamacpp_legacy,
    resize_bilinear_llamacpp_legacy,
    round_half_away_u8,
    to_planar_llamacpp_legacy,
)

ORACLES = Path(__file__).parent.parent / "oracles" / "llamacpp-legacy"


def kernel_cases(kernel: str) -> list[dict]:
    cases = json.loads((ORACLES / "kernels.json").read_text())["cases"]
    return [c for c in cases if c["kernel"] == kernel]


def assert_same_u8(got: np.ndarray, expected: np.ndarray) -> None:
    assert got.shape == expected.shape, f"shape {got.shape} != {expected.shape}"
    diff = np.argwhere(got != expected)
    assert diff.size == 0, (f"{len(diff)} / {got.size} samples differ; first at {tuple(diff[0])}: "
                            f"{got[tuple(diff[0])]} != {expected[tuple(diff[0])]}")


def check_kernel(fn, img: np.ndarray, *args) -> np.ndarray:
    before = img.copy()
    out = fn(img, *args)
    assert np.array_equal(img, before), "input was modified"
    assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3
    return out


def lagrange_weights(t: Fraction) -> list[Fraction]:
    """The 4-point cubic bicubic_resize evaluates: its coefficients a1..a3 on the differences to the
    centre sample are those of Lagrange interpolation through the nodes -1, 0, 1, 2."""
    nodes = (-1, 0, 1, 2)
    out = []
    for k in nodes:
        w = Fraction(1)
        for m in nodes:
            if m != k:
                w *= (t - m) / Fraction(k - m)
        out.append(w)
    return out


def literal_bicubic_resize(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """clip.cpp c392e50 ``bicubic_resize`` written out sample by sample: float32 scalars where the C++
    has ``float``, Python floats (double) where it has double literals, std::round half away from 0."""
    f32 = np.float32
    ny, nx = img.shape[:2]
    tx, ty = f32(nx) / f32(width), f32(ny) / f32(height)
    out = np.zeros((height, width, 3), dtype=np.uint8)

    def coefficients(d0, d2, d3):
        d0, d2, d3 = float(d0), float(d2), float(d3)
        return (f32(-1.0 / 3 * d0 + d2 - 1.0 / 6 * d3), f32(1.0 / 2 * d0 + 1.0 / 2 * d2),
                f32(-1.0 / 6 * d0 - 1.0 / 2 * d2 + 1.0 / 6 * d3))

    for i in range(height):
        for j in range(width):
            x, y = int(tx * f32(j)), int(ty * f32(i))
            dx, dy = tx * f32(j) - f32(x), ty * f32(i) - f32(y)
            for k in range(3):
                c = []
                for jj in range(4):
                    z = min(max(y - 1 + jj, 0), ny - 1)
                    p = [int(img[z, min(max(x + o, 0), nx - 1), k]) for o in (-1, 0, 1, 2)]
                    a1, a2, a3 = coefficients(p[0] - p[1], p[2] - p[1], p[3] - p[1])
                    c.append(f32(p[1]) + a1 * dx + a2 * dx * dx + a3 * dx * dx * dx)
                a1, a2, a3 = coefficients(c[0] - c[1], c[2] - c[1], c[3] - c[1])
                v = float(c[1] + a1 * dy + a2 * dy * dy + a3 * dy * dy * dy)
                out[i, j, k] = min(max(math.copysign(math.floor(abs(v) + 0.5), v), 0.0), 255.0)
    return out


class TestRoundHalfAway:
    def test_ties_and_clamp(self):
        v = np.array([-3.0, -0.5, 0.49999997, 0.5, 1.5, 2.5, 254.5, 255.4, 300.0], dtype=np.float32)
        assert round_half_away_u8(v).tolist() == [0, 0, 0, 1, 2, 3, 255, 255, 255]


class TestResizeBicubicLlamacppLegacy:
    @pytest.mark.parametrize("size", [(1, 1), (3, 7), (40, 9)])
    def test_kernel_image(self, size):
        img = pattern(11, 13)
        out = check_kernel(resize_bicubic_llamacpp_legacy, img, *size)
        assert out.shape == (size[1], size[0], 3)

    def test_constant_image_stays_constant(self):
        img = np.full((9, 14, 3), 77, dtype=np.uint8)
        assert (resize_bicubic_llamacpp_legacy(img, 31, 5) == 77).all()

    @pytest.mark.parametrize("factor", [2, 4])
    def test_impulse_weights_upscale(self, factor):
        # a one-column impulse (amplitude 128 on 64), constant down each column: the vertical pass is
        # exact, so every output sample is 64 + 128 * (weight of the tap hitting the impulse)
        nx, x_imp = 10, 4
        img = np.full((3, nx, 3), 64, dtype=np.uint8)
        img[:, x_imp] = 192
        out = resize_bicubic_llamacpp_legacy(img, nx * factor, 3)
        expected = []
        for j in range(nx * factor):
            x, t = divmod(Fraction(j, factor), 1)
            w = lagrange_weights(t)
            v = 64 + 128 * sum(w[k] for k in range(4) if min(max(x - 1 + k, 0), nx - 1) == x_imp)
            expected.append(int(v))  # multiples of 1/128 times 128: exact integers, no rounding
        assert out[1, :, 0].tolist() == expected
        assert out[1, :, 0].min() < 64, "negative lobe of the cubic (undershoot) expected"

    def test_downscale_does_not_antialias(self):
        # columns alternate 0 / 255; a 2x downscale samples x = 2j with fraction 0: all 0, no averaging
        img = np.zeros((4, 16, 3), dtype=np.uint8)
        img[:, 1::2] = 255
        out = resize_bicubic_llamacpp_legacy(img, 8, 4)
        assert (out == 0).all()

    def test_first_output_is_the_top_left_sample(self):
        img = pattern(50, 70)
        out = resize_bicubic_llamacpp_legacy(img, 13, 17)
        assert np.array_equal(out[0, 0], img[0, 0])

    @pytest.mark.parametrize("case", kernel_cases("bicubic"), ids=lambda c: f"{c['input_hw']}->{c['target_wh']}")
    def test_image_correctness(self, case):
        # exact: recorded from the real bicubic_resize (tests/oracles/llamacpp-legacy)
        h, w = case["input_hw"]
        expected = np.frombuffer(bytes.fromhex(case["output_hex"]), np.uint8).reshape(*case["output_hw"], 3)
        assert_same_u8(resize_bicubic_llamacpp_legacy(pattern(h, w), *case["target_wh"]), expected)

    @pytest.mark.parametrize("src_hw,target_wh", [((13, 19), (23, 17)), ((21, 17), (7, 9)), ((9, 30), (30, 9)),
                                                  ((1, 6), (11, 2))])
    def test_matches_a_literal_scalar_port(self, src_hw, target_wh):
        # exact: the kernel against bicubic_resize's loop written out per sample (scalar float32/double);
        # the rows include the integer triples whose exact-zero coefficient leaves a double residual
        # (1, 255, 128, 1 and ramps such as 0, 2, 4, 6), so the residuals are exercised
        h, w = src_hw
        img = pattern(h, w)
        img[0, :4] = np.array([1, 255, 128, 1])[:, None]
        img[-1] = np.minimum(np.arange(w)[:, None] * [2, 3, 5], 255)
        expected = literal_bicubic_resize(img, *target_wh)
        assert_same_u8(resize_bicubic_llamacpp_legacy(img, *target_wh), expected)

    def test_double_coefficients_match_the_cpp_expressions(self):
        # the vertical pass's differences are floats; the C++ expressions written out literally
        rng = np.random.default_rng(7)
        d0, d2, d3 = (rng.normal(0, 60, 100_000).astype(np.float32).astype(np.float64) for _ in range(3))
        # integer differences too (the horizontal pass), with triples whose exact value is 0 but whose
        # double evaluation leaves a residual: (-254, -127, -254) for a1, (-2, 2, 4) for a3
        ints = rng.integers(-255, 256, size=(3, 100_000)).astype(np.float64)
        d0, d2, d3 = (np.concatenate([d, i, [r1, r3]]) for d, i, r1, r3 in
                      zip((d0, d2, d3), ints, (-254.0, -127.0, -254.0), (-2.0, 2.0, 4.0)))
        expected = ((-1.0 / 3 * d0 + d2 - 1.0 / 6 * d3).astype(np.float32),
                    (1.0 / 2 * d0 + 1.0 / 2 * d2).astype(np.float32),
                    (-1.0 / 6 * d0 - 1.0 / 2 * d2 + 1.0 / 6 * d3).astype(np.float32))
        got = _cubic_coefficients(d0, d2, d3)
        for g, e in zip(got, expected):
            assert g.dtype == np.float32
            assert np.array_equal(g.view(np.int32), e.view(np.int32))
        assert got[0][-2] != 0 and got[2][-1] != 0, "the double path's residuals must be kept"

    def test_bad_target(self):
        with pytest.raises(ValueError, match="0x4"):
            resize_bicubic_llamacpp_legacy(pattern(4, 4), 0, 4)


class TestResizeBilinearLlamacppLegacy:
    def test_kernel_image(self):
        out = check_kernel(resize_bilinear_llamacpp_legacy, pattern(9, 12), 5, 7)
        assert out.shape == (7, 5, 3)

    def test_truncates(self):
        # ratio (2 - 1) / 4 = 0.25: 0, 63.75, 127.5, 191.25 -> truncated, not rounded
        img = np.zeros((2, 2, 3), dtype=np.uint8)
        img[:, 1] = 255
        out = resize_bilinear_llamacpp_legacy(img, 4, 1)
        assert out[0, :, 0].tolist() == [0, 63, 127, 191]

    @pytest.mark.parametrize("case", kernel_cases("bilinear"), ids=lambda c: f"{c['input_hw']}->{c['target_wh']}")
    def test_image_correctness(self, case):
        h, w = case["input_hw"]
        expected = np.frombuffer(bytes.fromhex(case["output_hex"]), np.uint8).reshape(*case["output_hw"], 3)
        assert_same_u8(resize_bilinear_llamacpp_legacy(pattern(h, w), *case["target_wh"]), expected)


class TestResizeBilinearFixedLlamacppLegacy:
    def test_geometry(self):
        scale, nx3, ny3 = fixed_resize_size_llamacpp_legacy(640, 480, 336)
        assert (nx3, ny3) == (336, 252) and scale == np.float32(640) / np.float32(336)

    def test_extrapolates_at_the_edge_and_rounds_half_away(self):
        # 2x1 -> 4x2 (scale 0.5): s = -0.25, 0.25, 0.75, 1.25; x0 = 0, 0, 0, 1; dx = -0.25 (negative:
        # extrapolation), 0.25, 0.75, 0.25 -> -63.75 (clamped 0), 63.75 -> 64, 191.25 -> 191, 255
        img = np.zeros((1, 2, 3), dtype=np.uint8)
        img[0, 1] = 255
        out = check_kernel(resize_bilinear_fixed_llamacpp_legacy, img, 4)
        assert out.shape == (2, 4, 3)
        assert out[0, :, 0].tolist() == [0, 64, 191, 255]

    def test_identity_at_same_size(self):
        img = pattern(336, 336)
        assert_same_u8(resize_bilinear_fixed_llamacpp_legacy(img, 336), img)


class TestPadToSquareLlamacppLegacy:
    @pytest.mark.parametrize("h,w", [(3, 5), (5, 2), (1, 4)])
    def test_top_left_placement(self, h, w):
        img = pattern(h, w)
        out = check_kernel(pad_to_square_llamacpp_legacy, img)
        side = max(h, w)
        assert out.shape == (side, side, 3)
        assert np.array_equal(out[:h, :w], img)
        background = np.ones((side, side), bool)
        background[:h, :w] = False
        assert (out[background] == [122, 116, 104]).all()

    def test_square_is_a_copy(self):
        img = pattern(4, 4)
        out = pad_to_square_llamacpp_legacy(img)
        assert np.array_equal(out, img) and out is not img


class TestResizeAndPadLlamacppLegacy:
    @pytest.mark.parametrize("src_wh,target_wh,expected", [
        ((17, 13), (12, 20), (12, 10, 0, 5)),    # width-bound; (20 - 10) / 2
        ((17, 13), (12, 21), (12, 10, 0, 5)),    # odd remainder 11: 5 above, 6 below
        ((13, 17), (20, 12), (10, 12, 5, 0)),    # height-bound; ceil(13 * 12/17 = 9.18) = 10
        ((13, 17), (21, 12), (10, 12, 5, 0)),    # odd remainder: 5 left, 6 right
        ((10, 10), (30, 30), (30, 30, 0, 0)),    # equal scales go to the height branch
        ((1500, 1749), (672, 672), (577, 672, 47, 0)),
    ])
    def test_geometry(self, src_wh, target_wh, expected):
        assert resize_and_pad_size_llamacpp_legacy(*src_wh, *target_wh) == expected

    def test_canvas_odd_remainder(self):
        img = pattern(13, 17)
        resized, padded = resize_and_pad_llamacpp_legacy(img, 12, 21)
        assert resized.shape == (10, 12, 3) and padded.shape == (21, 12, 3)
        assert np.array_equal(padded[5:15], resized)
        assert (padded[:5] == 0).all() and (padded[15:] == 0).all()

    @pytest.mark.parametrize("case", kernel_cases("resize_and_pad"), ids=lambda c: f"{c['input_hw']}->{c['target_wh']}")
    def test_image_correctness(self, case):
        h, w = case["input_hw"]
        expected = np.frombuffer(bytes.fromhex(case["output_hex"]), np.uint8).reshape(*case["output_hw"], 3)
        assert_same_u8(resize_and_pad_llamacpp_legacy(pattern(h, w), *case["target_wh"])[1], expected)


class TestDivideToPatchesLlamacppLegacy:
    def test_row_major_with_smaller_remainders(self):
        img = pattern(5, 7)
        patches = divide_to_patches_llamacpp_legacy(img, 3)
        assert [p.shape[:2] for p in patches] == [(3, 3), (3, 3), (3, 1), (2, 3), (2, 3), (2, 1)]
        assert np.array_equal(patches[4], img[3:5, 3:6])


class TestNormalizeLlamacppLegacy:
    def test_formula_in_float32(self):
        img = np.array([[[0, 128, 255]]], dtype=np.uint8)
        mean, std = [0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711]
        out = normalize_llamacpp_legacy(img, mean, std)
        assert out.dtype == np.float32
        f = np.float32
        expected = [(f(v) / f(255.0) - f(m)) / f(s) for v, m, s in zip([0, 128, 255], mean, std)]
        assert out[0, 0].tolist() == [float(e) for e in expected]


class TestLayoutsLlamacppLegacy:
    def test_to_planar(self):
        buf = np.arange(2 * 3 * 3, dtype=np.float32).reshape(2, 3, 3)
        out = to_planar_llamacpp_legacy(buf)
        assert out.shape == (3, 2, 3) and out[1, 1, 2] == buf[1, 2, 1]

    def test_reshape_by_patch_matches_the_loop(self):
        h, w, p = 6, 9, 3
        buf = np.arange(h * w * 3, dtype=np.float32).reshape(h, w, 3)
        n = (h // p) * (w // p)
        expected = np.zeros((p, p * n, 3), np.float32)
        index = 0
        for i in range(0, h, p):  # llava.cpp reshape_by_patch, written out on a tiny array
            for j in range(0, w, p):
                for pi in range(p):
                    for pj in range(p):
                        expected[pi, index * p + pj] = buf[i + pi, j + pj]
                index += 1
        assert np.array_equal(reshape_by_patch_llamacpp_legacy(buf, p), expected)
