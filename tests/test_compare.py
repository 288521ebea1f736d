"""Stage-by-stage comparison (parity.compare, pure): element location, histograms, plan decisions,
canvas vs tiles, zero-padded tiles. The `parity compare` workflow is tested in test_external.py."""

from __future__ import annotations

import numpy as np
import pytest

from parity.compare import LIST_CAP, compare_traces, diff_arrays, diff_records, hist_label, locate
from parity.presets import get_preset
from parity.trace import StageRecord, TraceBuilder

PRESET = get_preset("llama-3.2-vision")
STD = list(PRESET["image_std"])


def trace(impl: str, **stages):
    tb = TraceBuilder()
    for name, (value, layout) in stages.items():
        tb.add(name, value, layout)
    return tb.build("p", impl, "v", "img")


class TestLocate:
    def test_named_axes(self):
        assert locate((2, 0, 17, 300), "tiles,C,H,W", (4, 3, 560, 560)) == {"tile": 2, "channel": 0, "y": 17, "x": 300}
        assert locate((5, 7, 1), "HWC", (10, 10, 3)) == {"y": 5, "x": 7, "channel": 1}

    def test_flat_index_into_ragged_parts(self):
        # parts (3,2,2) = 12 elements, then (3,1,1): flat 13 is part 1, channel 1
        assert locate((13,), "C,H,W", [(3, 2, 2), (3, 1, 1)]) == {"part": 1, "channel": 1, "y": 0, "x": 0}

    def test_unknown_layout_falls_back_to_axis_numbers(self):
        assert locate((1, 2), "", (3, 4)) == {"axis0": 1, "axis1": 2}


class TestDiffArrays:
    def test_worst_element_is_located_with_both_values(self):
        a = np.zeros((2, 3, 4, 4), np.float32)
        b = a.copy()
        b[1, 2, 3, 0] = 0.5
        b[0, 0, 0, 1] = 0.1
        d = diff_arrays("pack", a, b, "tiles,C,H,W", STD)
        assert d.worst_at == {"tile": 1, "channel": 2, "y": 3, "x": 0} and d.worst_values == (0.0, 0.5)
        assert d.first_at == {"tile": 0, "channel": 0, "y": 0, "x": 1}
        # levels use the std of the worst element's channel: 0.5 * 255 * std[2]
        assert d.max_levels == pytest.approx(0.5 * 255 * STD[2])
        assert d.n_diff == 2 and sum(d.histogram.values()) == 2

    def test_uint8_exact_histogram_folds_past_the_cap(self):
        a = np.zeros(100, np.uint8)
        b = np.arange(100, dtype=np.uint8)
        d = diff_arrays("resize", a, b, "HWC")
        assert sum(d.histogram.values()) == d.n_diff == 99
        last = min(d.histogram)
        assert len(d.histogram) == LIST_CAP and hist_label(last, d.histogram) == f">={LIST_CAP}"
        assert d.to_dict()["histogram_levels"][f">={LIST_CAP}"] == 99 - (LIST_CAP - 1)

    def test_nan_and_inf_are_differences_and_never_raise(self):
        a = np.zeros(6, np.float32)
        b = a.copy()
        b[1], b[3], b[4] = np.nan, np.inf, 0.5
        d = diff_arrays("normalize", a, b, "N")
        assert d.n_diff == 3 and d.first_index == (1,) and d.max_abs == np.inf
        assert d.psnr_db is None  # mse is inf: 10 log10(1 / inf) is undefined (it raised a ValueError)
        assert d.worst_index == (1,)  # a NaN counts as the worst, as +inf would
        assert d.histogram == {128: 1, 10**9: 2}  # 0.5 * 255 levels; NaN and inf as 1e9 levels

    def test_finite_stats_are_the_nan_aware_ones(self):
        """Finite stages take the plain reductions: the same numbers as numpy's NaN-aware forms."""
        rng = np.random.default_rng(5)
        a = rng.standard_normal((2, 3, 7, 5)).astype(np.float32)
        b = a + (rng.random(a.shape) < 0.3) * np.float32(0.01)
        d = diff_arrays("pack", a, b, "tiles,C,H,W", STD)
        fa, fb = a.astype(np.float64), b.astype(np.float64)
        delta = np.abs(fb - fa)
        lev = delta * (255.0 * np.asarray(STD, np.float64).reshape(1, 3, 1, 1))
        assert (d.max_abs, d.mean_abs) == (float(np.nanmax(delta)), float(np.nanmean(delta)))
        assert (d.max_levels, d.mean_levels) == (float(np.nanmax(lev)), float(np.nanmean(lev)))
        assert d.nmse == float(np.nansum((fb - fa) ** 2)) / float(np.sum(fa * fa))
        peak, mse = float(np.nanmax(np.abs(fa))), float(np.nansum((fb - fa) ** 2)) / a.size
        assert d.psnr_db == 10 * np.log10(peak * peak / mse)
        assert d.worst_index == np.unravel_index(int(np.nanargmax(delta)), a.shape)

    def test_identical(self):
        a = np.ones((3, 3), np.float32)
        d = diff_arrays("x", a, a.copy())
        assert d.passed and d.n_diff == 0


class TestTraces:
    def test_plan_shows_both_decisions(self):
        a = trace("a", plan=({"grid": [1, 2], "canvas": [560, 1120]}, "plan"), pack=(np.zeros(4, np.float32), "x"))
        b = trace("b", plan=({"grid": [2, 1], "canvas": [560, 1120]}, "plan"), pack=(np.ones(4, np.float32), "x"))
        td = compare_traces(a, b)
        d = td.to_dict()
        assert d["first_divergence"] == "plan" and d["consequences"] == ["pack"]
        plan = d["stages"][0]
        assert plan["plan_diff"] == {"grid": {"a": [1, 2], "b": [2, 1]}}
        assert plan["plan"] == {"a": {"grid": [1, 2], "canvas": [560, 1120]}, "b": {"grid": [2, 1], "canvas": [560, 1120]}}

    def test_first_divergence_serialized_even_though_a_failed_diff_is_falsy(self):
        a = trace("a", resize=(np.zeros((2, 2, 3), np.uint8), "HWC"))
        b = trace("b", resize=(np.ones((2, 2, 3), np.uint8), "HWC"))
        td = compare_traces(a, b)
        assert not td.first_divergence and td.first_divergence is not None
        assert td.to_dict()["first_divergence"] == "resize"

    def test_canvas_is_cut_into_tiles_to_compare(self):
        canvas = np.arange(3 * 4 * 6, dtype=np.float32).reshape(3, 4, 6)
        tiles = np.stack([canvas[:, r * 2:(r + 1) * 2, c * 2:(c + 1) * 2] for r in range(2) for c in range(3)])
        tiles_b = tiles.copy()
        tiles_b[4, 1, 0, 1] += 1  # tile 4 = row 1, col 1 -> canvas y 2, x 3
        a = trace("a", normalize=(canvas, "C,H,W canvas"))
        td = compare_traces(a, trace("b", normalize=(tiles, "tiles,C,H,W")))
        assert td["normalize"].status == "equal" and "cut into row-major tiles" in td["normalize"].note
        d = compare_traces(a, trace("b", normalize=(tiles_b, "tiles,C,H,W")))["normalize"]
        assert d.n_diff == 1 and d.worst_at == {"tile": 4, "channel": 1, "y": 0, "x": 1}

    def test_missing_and_shape(self):
        a = trace("a", pack=(np.zeros((3, 4, 5), np.float32), "C,H,W"), extra=(np.zeros(2), "x"))
        b = trace("b", pack=(np.zeros((4, 5, 3), np.float32), "C,H,W"))
        td = compare_traces(a, b)
        assert td["pack"].status == "shape" and "layout difference" in td["pack"].note
        assert td["extra"].status == "missing"


class TestPlanAndPadding:
    def test_a_plan_key_only_one_side_records_is_a_divergence(self):
        """Every impl of a family records the family's plan type: a missing key is a real difference."""
        a = StageRecord("plan", {"grid": [2, 2], "aspect_ratio_id": 6}, "plan")
        b = StageRecord("plan", {"grid": [2, 2]}, "plan")
        d = diff_records(a, b)
        assert not d.passed and "only the baseline records aspect_ratio_id" in d.note
        assert d.plan_diff == {"aspect_ratio_id": {"a": 6, "b": "<absent>"}}
        c = StageRecord("plan", {"grid": [1, 2]}, "plan")
        assert diff_records(a, c).plan_diff == {"grid": {"a": [2, 2], "b": [1, 2]},
                                                "aspect_ratio_id": {"a": 6, "b": "<absent>"}}

    def test_tiles_zero_padded_to_max_are_compared_on_the_real_tiles(self):
        real = np.arange(2 * 3 * 4 * 4, dtype=np.float32).reshape(2, 3, 4, 4)
        padded = np.zeros((4, 3, 4, 4), np.float32)
        padded[:2] = real
        d = diff_records(StageRecord("pack", real, "tiles,C,H,W"), StageRecord("pack", padded, "max_tiles,C,H,W"))
        assert d.status == "equal" and "padding is all zeros" in d.note
        padded[1, 2, 3, 3] += 1
        padded[3, 0, 0, 0] = 5
        d = diff_records(StageRecord("pack", real, "tiles,C,H,W"), StageRecord("pack", padded, "max_tiles,C,H,W"))
        assert d.n_diff == 1 and d.worst_at == {"tile": 1, "channel": 2, "y": 3, "x": 3}
        assert "NOT all zeros" in d.note
