"""Property tests of the Qwen2-VL smart-resize geometry, and agreement with the real functions
(transformers' smart_resize, qwen-vl-utils' smart_resize)."""

import pytest
from conftest import examples
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from parity.errors import ParityError
from parity.families import qwen2_vl

sides = st.integers(min_value=1, max_value=20000)
MIN, MAX = 56 * 56, 28 * 28 * 16384  # Qwen2-VL preprocessor_config.json min_pixels / max_pixels


def within_ratio(h, w):
    return max(h, w) / min(h, w) <= 200


@settings(max_examples=200, deadline=None)
@given(h=sides, w=sides)
def test_smart_resize_multiple_of_factor_and_within_budget(h, w):
    assume(within_ratio(h, w))
    rh, rw = qwen2_vl.smart_resize_hf(h, w, 28, MIN, MAX)
    assert rh % 28 == 0 and rw % 28 == 0 and rh >= 28 and rw >= 28
    assert rh * rw <= MAX
    # the minimum holds except where the round branch already met it; never below one factor per side
    assert rh * rw >= MIN or (round(h / 28) * round(w / 28) * 28 * 28 >= MIN)


@pytest.mark.slow
@settings(max_examples=examples(200), deadline=None)
@given(h=sides, w=sides)
def test_inside_the_budget_each_side_is_its_nearest_multiple(h, w):
    # rounding moves a side by at most 14 (half a factor), which for sides >= 28 scales the area by
    # 0.25..2.25: away from both bounds by that much, neither budget branch can trigger
    assume(within_ratio(h, w) and h >= 28 and w >= 28 and 4 * MIN <= h * w <= MAX / 3)
    rh, rw = qwen2_vl.smart_resize_hf(h, w, 28, MIN, MAX)
    assert abs(rh - h) <= 14 and abs(rw - w) <= 14


@settings(max_examples=200, deadline=None)
@given(h=sides, w=sides, factor=st.sampled_from([28, 32]))
def test_equals_transformers_smart_resize(h, w, factor):
    from transformers.models.qwen2_vl.image_processing_qwen2_vl import smart_resize

    lo, hi = 4 * factor * factor, 16384 * factor * factor
    if not within_ratio(h, w):
        with pytest.raises(ValueError):
            smart_resize(h, w, factor, lo, hi)
        with pytest.raises(ParityError, match="aspect ratio"):
            qwen2_vl.smart_resize_hf(h, w, factor, lo, hi)
        return
    assert qwen2_vl.smart_resize_hf(h, w, factor, lo, hi) == smart_resize(h, w, factor, lo, hi)


@settings(max_examples=200, deadline=None)
@given(h=sides, w=sides, factor=st.sampled_from([28, 32]))
def test_equals_qwen_vl_utils_smart_resize(h, w, factor):
    smart_resize = pytest.importorskip("qwen_vl_utils.vision_process").smart_resize

    assume(within_ratio(h, w))
    lo, hi = qwen2_vl.qwen_vl_utils_budget(factor // 2, 2, 4, 16384)
    assert qwen2_vl.smart_resize_qwen_vl_utils(h, w, factor, lo, hi) == smart_resize(h, w, factor, lo, hi)


def test_plan_grid_and_tokens():
    p = qwen2_vl.plan(1749, 1500, 14, 2, MIN, MAX)
    assert p.resized == (1736, 1512) and p.image_grid_thw == (1, 124, 108)
    assert p.num_patches == 124 * 108 and p.num_embeddings == 124 * 108 // 4 and p.num_tokens == p.num_embeddings + 2


def test_thin_images_differ_between_transformers_and_qwen_vl_utils():
    # 13x2600: transformers' round gives 0 rows, so it takes the min-pixels branch and shrinks the
    # width; qwen-vl-utils clamps each side to one factor first and keeps the width
    assert qwen2_vl.smart_resize_hf(13, 2600, 28, MIN, MAX) == (28, 812)
    assert qwen2_vl.smart_resize_qwen_vl_utils(13, 2600, 28, MIN, MAX) == (28, 2604)


@pytest.mark.parametrize("h, w", [(1, 201), (201, 1), (10, 2001), (0, 5)])
def test_refused_sizes_raise_parity_error(h, w):
    with pytest.raises(ParityError):
        qwen2_vl.smart_resize_hf(h, w, 28, MIN, MAX)
