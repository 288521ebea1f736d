"""Tile-grid candidates and their order per runtime, against the real sorts (recorded oracles) and transformers."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest
from transformers.models.lfm2_vl.image_processing_lfm2_vl import find_closest_aspect_ratio

from parity.errors import ParityError
from parity.families import tile_ratios as tr

ORACLES = Path(__file__).parents[1] / "oracles"
CPP = json.loads((ORACLES / "llamacpp" / "std_sort_orders.json").read_text())
GO = json.loads((ORACLES / "ollama" / "go_sort_orders.json").read_text())


def _sha1(pairs) -> str:
    return hashlib.sha1(" ".join(f"{w} {h}" for w, h in pairs).encode()).hexdigest()


def _random_lists() -> list[list[tuple[int, int]]]:
    """The recorded random inputs (README / oracle 'inputs')."""
    rng = random.Random(2026)
    return [[(rng.randint(1, 12), rng.randint(1, 12)) for _ in range(rng.randint(0, 120))] for _ in range(200)]


def by_area_less(a, b) -> bool:
    return tr.area(a) < tr.area(b)


def by_area_cmp(a, b) -> int:
    return tr.area(a) - tr.area(b)


class TestSortsAgainstRealCode:
    @pytest.mark.parametrize("oracle,sort,key", [(CPP, tr.sort_libstdcxx, by_area_less),
                                                 (GO, tr.sort_pdq_go, by_area_cmp)], ids=["libstdc++", "go"])
    def test_candidate_lists(self, oracle, sort, key):
        got = [_sha1(sort(tr.candidate_grids(lo, hi, n), key)) for (lo, hi, n), _ in oracle["cases"]]
        assert got == [sha for _, sha in oracle["cases"]]
        assert len(got) == 270

    @pytest.mark.parametrize("oracle,sort,key", [(CPP, tr.sort_libstdcxx, by_area_less),
                                                 (GO, tr.sort_pdq_go, by_area_cmp)], ids=["libstdc++", "go"])
    def test_random_lists(self, oracle, sort, key):
        assert [_sha1(sort(c, key)) for c in _random_lists()] == oracle["random"]

    def test_unstable_orders_differ_from_a_stable_sort(self):
        # the point of porting the sorts: equal-area grids come out in another order than sorted() keeps
        stable = " ".join(f"{w} {h}" for w, h in tr.ratios_python_list(2, 10))
        assert CPP["lfm2_2_10"] != stable and GO["lfm2_2_10"] != stable and CPP["lfm2_2_10"] != GO["lfm2_2_10"]
        assert " ".join(f"{w} {h}" for w, h in tr.ratios_libstdcxx(2, 10)) == CPP["lfm2_2_10"]
        assert " ".join(f"{w} {h}" for w, h in tr.ratios_go(2, 10)) == GO["lfm2_2_10"]

    def test_introsort_depth_limit_is_refused_not_guessed(self):
        # the heap-sort fallback is not ported; a list that would need it says so in one line
        with pytest.raises(ParityError, match="depth limit"):
            tr._introsort_loop(list(range(40)), 0, 40, 0, lambda a, b: a < b)


class TestCandidates:
    def test_loop_order_then_first_occurrence(self):
        # n = 2 already allows (2, 2): w and h run to n, the product is bounded by max_tiles
        assert tr.candidate_grids(2, 4) == [(1, 2), (2, 1), (2, 2), (1, 3), (3, 1), (1, 4), (4, 1)]

    def test_python_set_order_is_transformers(self):
        from transformers import Lfm2VlImageProcessor

        proc = Lfm2VlImageProcessor()
        for lo, hi in [(2, 10), (1, 12), (2, 9), (3, 30)]:
            assert tr.ratios_python_set(lo, hi) == proc._target_ratios(lo, hi)

    @pytest.mark.parametrize("lo,hi", [(2, 10), (2, 9), (1, 12)])
    def test_closest_grid_f64_is_transformers(self, lo, hi):
        ratios = tr.ratios_python_set(lo, hi)
        rng = random.Random(5)
        sizes = [(rng.randint(1, 4000), rng.randint(1, 4000)) for _ in range(400)]
        sizes += [(w, h) for w in (512, 1024, 1536, 640, 1280) for h in (512, 1024, 1536, 640, 1280)]
        for w, h in sizes:
            assert tr.closest_grid_f64(w / h, ratios, w * h, 512) == find_closest_aspect_ratio(w / h, ratios, w, h, 512)

    def test_tie_rule_candidate_vs_kept(self):
        # (2, 1) and (4, 2) have the same aspect ratio: an exact tie. The image area (3 tiles) is above half of the
        # kept grid (2 tiles) but below half of the candidate (8 tiles).
        grids, image_area = [(2, 1), (4, 2)], 3 * 512 * 512
        assert tr.closest_grid_f64(2.0, grids, image_area, 512) == (2, 1)  # the authors test the candidate
        assert tr.closest_grid_f64(2.0, grids, image_area, 512, tie_area_of_best=True) == (4, 2)  # Ollama the kept
