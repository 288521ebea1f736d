"""InternVL dynamic tiling: the grid of the authors' code (recorded, tests/oracles/internvl-reference) and of
transformers' GotOcr2 helpers, the candidate orders, thumbnails and token counts."""

import json
from pathlib import Path

import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from parity.families import internvl

ORACLE = json.loads((Path(__file__).parents[1] / "oracles" / "internvl-reference" / "cases.json").read_text())


@pytest.mark.parametrize("variant", ["reference", "hf"])
def test_grid_equals_the_authors_dynamic_preprocess(variant):
    wrong = [(h, w, (rows, cols)) for h, w, cols, rows in ORACLE["grids"]
             if internvl.plan(h, w, 448, 1, 12, 256, variant).grid != (rows, cols)]
    assert not wrong, wrong[:5]


@settings(max_examples=300, deadline=None)
@given(h=st.integers(1, 6000), w=st.integers(1, 6000))
def test_hf_grid_equals_transformers(h, w):
    from transformers.models.got_ocr2.image_processing_pil_got_ocr2 import get_optimal_tiled_canvas

    cols, rows = get_optimal_tiled_canvas((h, w), (448, 448), 1, 12)
    assert internvl.plan(h, w, 448, 1, 12, 256, "hf").grid == (rows, cols)


def test_candidate_orders_differ_only_within_equal_areas():
    ref, hf = internvl.candidates_reference(1, 12), internvl.candidates_hf(1, 12)
    assert ref != hf and sorted(ref) == sorted(hf) and len(ref) == 35
    assert [c * r for c, r in ref] == [c * r for c, r in hf]
    from transformers.models.got_ocr2.image_processing_pil_got_ocr2 import get_all_supported_aspect_ratios

    assert hf == list(get_all_supported_aspect_ratios(1, 12))


@pytest.mark.slow
@settings(max_examples=examples(200), deadline=None)
@given(h=st.integers(1, 5000), w=st.integers(1, 5000), variant=st.sampled_from(["reference", "hf"]))
def test_plan_shape(h, w, variant):
    p = internvl.plan(h, w, 448, 1, 12, 256, variant)
    rows, cols = p.grid
    assert 1 <= rows * cols <= 12
    assert p.resized == (rows * 448, cols * 448) == p.canvas
    assert p.thumbnail == (rows * cols > 1) and p.num_images == rows * cols + p.thumbnail
    assert (p.num_tokens, p.num_embeddings) == (256 * p.num_images + 2, 256 * p.num_images)


def test_examples():
    # 640 x 480 (4:3): exactly the 4x3 grid, plus the thumbnail
    p = internvl.plan(480, 640, 448, 1, 12, 256)
    assert p.grid == (3, 4) and p.num_images == 13 and p.num_tokens == 13 * 256 + 2
    # a square: 1x1 (no thumbnail) until the image covers more than half of 2x2 tiles, then 2x2, then 3x3
    assert internvl.plan(448, 448, 448, 1, 12, 256).grid == (1, 1)
    assert internvl.plan(448, 448, 448, 1, 12, 256).num_images == 1
    assert internvl.plan(634, 634, 448, 1, 12, 256).grid == (2, 2)  # 634^2 > 0.5 * 448^2 * 4
    assert internvl.plan(633, 633, 448, 1, 12, 256).grid == (1, 1)
    assert internvl.plan(1000, 1000, 448, 1, 12, 256).grid == (3, 3)


def test_tokens_per_tile():
    assert internvl.tokens_per_tile(448, 14, 0.5) == 256
    assert internvl.tokens(13, 256) == (13 * 256 + 2, 13 * 256)


def test_make_plan_with_a_padded_canvas():
    # llama.cpp pads its refined image: the plan keeps the inner size, canvas and offset apart
    p = internvl.make_plan((480, 640), (672, 896), (2, 2), 5, internvl.tokens(5, 256), canvas=(896, 896),
                           pad_offset=(112, 0))
    assert p.resized == (672, 896) and p.canvas == (896, 896) and p.pad_offset == (112, 0) and p.thumbnail
