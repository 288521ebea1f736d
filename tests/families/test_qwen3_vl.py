"""Qwen3-VL geometry: the Qwen2-VL rules with 16-px patches (factor 32) and its own budget."""

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from parity.families import qwen3_vl

sides = st.integers(min_value=1, max_value=20000)
MIN, MAX = 65536, 16777216  # Qwen3-VL preprocessor_config.json size.shortest_edge / longest_edge


@settings(max_examples=300, deadline=None)
@given(h=sides, w=sides)
def test_multiple_of_32_and_within_budget(h, w):
    assume(max(h, w) / min(h, w) <= 200)
    p = qwen3_vl.plan(h, w, 16, 2, MIN, MAX)
    rh, rw = p.resized
    assert rh % 32 == 0 and rw % 32 == 0 and MIN <= rh * rw <= MAX
    assert p.image_grid_thw == (1, rh // 16, rw // 16) and p.num_embeddings * 4 == p.num_patches


def test_qwen_vl_utils_budget_matches_the_package_constants():
    qvu = pytest.importorskip("qwen_vl_utils.vision_process")

    lo, hi = qwen3_vl.qwen_vl_utils_budget(16, 2, qvu.IMAGE_MIN_TOKEN_NUM, qvu.IMAGE_MAX_TOKEN_NUM)
    assert (lo, hi) == (4 * 32 * 32, 16384 * 32 * 32) and qvu.SPATIAL_MERGE_SIZE == 2


def test_small_images_qwen_vl_utils_vs_processor_budget():
    # qwen-vl-utils' minimum (4 tokens = 4096 px) is far below the processor's 65536 px
    assert qwen3_vl.smart_resize_qwen_vl_utils(28, 28, 32, 4096, MAX) == (64, 64)
    assert qwen3_vl.smart_resize_hf(28, 28, 32, MIN, MAX) == (256, 256)
