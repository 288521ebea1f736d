"""Kimi-VL geometry as llama.cpp computes it (the merged-patch grid and tokens); the pixels and counts are
checked against the real C++ in tests/impls/test_llamacpp_coverage_a.py."""

import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from parity.families import kimi_vl
from parity.impls import ImageInput, get_impl
from parity.presets import get_preset


def test_merged_grid_rounds_up():
    assert kimi_vl.merged_grid((952, 812), 14, 2) == (34, 29)
    assert kimi_vl.merged_grid((29, 28), 14, 2) == (2, 1)
    assert kimi_vl.tokens_llamacpp((34, 29)) == (34 * 29 + 2, 34 * 29)


@pytest.mark.slow
@settings(max_examples=examples(40), deadline=None)
@given(h=st.integers(1, 3000), w=st.integers(1, 3000))
def test_llamacpp_plan_is_consistent(h, w):
    import numpy as np

    rgb = np.zeros((h, w, 3), np.uint8)
    plan = get_impl("llamacpp").run(ImageInput("x.png", rgb), get_preset("kimi-vl"))["plan"].value
    ch, cw = plan["canvas"]
    assert ch % 28 == 0 and cw % 28 == 0  # the dyn_size target is aligned to patch * n_merge
    assert 8 * 784 <= ch * cw <= 1024 * 784  # set_limit_image_tokens(8, 1024)
    rh, rw = plan["resized"]
    top, left = plan["pad_offset"]
    assert rh + top <= ch and rw + left <= cw
    assert plan["merged_grid"] == [ch // 28, cw // 28]
    assert plan["num_tokens"] == plan["num_embeddings"] + 2
