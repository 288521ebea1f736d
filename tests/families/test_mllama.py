"""Property tests of the mllama geometry, and agreement with transformers' own helpers."""

import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers.models.mllama import image_processing_pil_mllama as hf

from parity.families import mllama

sides = st.integers(min_value=1, max_value=6000)
max_tiles = st.integers(min_value=1, max_value=9)
tiles = st.sampled_from([224, 336, 448, 560])


@pytest.mark.slow
@settings(max_examples=examples(400), deadline=None)
@given(h=sides, w=sides, mt=max_tiles, tile=tiles)
def test_plan_invariants(h, w, mt, tile):
    p = mllama.plan(h, w, tile, mt)
    rows, cols = p.grid
    assert 1 <= p.num_images == rows * cols <= mt and p.cross_attention_tokens == p.num_images * ((tile // 14) ** 2 + 1)
    assert p.canvas == (rows * tile, cols * tile)
    # the canvas covers the resized image, which is never empty
    assert 1 <= p.resized[0] <= p.canvas[0] and 1 <= p.resized[1] <= p.canvas[1]
    ratios = mllama.supported_aspect_ratios(mt)
    assert 1 <= p.aspect_ratio_id <= len(ratios) and ratios[p.aspect_ratio_id - 1] == p.grid
    mask = mllama.aspect_ratio_mask(p.num_images, mt)
    assert sum(mask) == p.num_images and mask[: p.num_images] == [1] * p.num_images


@pytest.mark.slow
@settings(max_examples=examples(400), deadline=None)
@given(h=sides, w=sides, mt=max_tiles, tile=tiles)
def test_plan_equals_transformers_helpers(h, w, mt, tile):
    p = mllama.plan(h, w, tile, mt)
    assert p.canvas == tuple(int(v) for v in hf.get_optimal_tiled_canvas(h, w, mt, tile))
    assert p.resized == tuple(hf.get_image_size_fit_to_canvas(h, w, *p.canvas, tile))


def test_known_decisions():
    # 1500 wide x 1749 high -> 2x2 tiles of 560, resized to 1120 high, floor(1500*1120/1749) wide
    p = mllama.plan(1749, 1500, 560, 4)
    assert p.grid == (2, 2) and p.resized == (1120, 960) and p.aspect_ratio_id == 6
    assert mllama.supported_aspect_ratios(4) == [(1, 1), (1, 2), (1, 3), (1, 4), (2, 1), (2, 2), (3, 1), (4, 1)]
