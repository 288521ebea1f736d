"""Property tests of Phi-4-multimodal's dynamic-HD geometry, and agreement with transformers'
``Phi4MultimodalImageProcessor.dynamic_preprocess`` (canvas, attention mask) on real tensors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parity.errors import ParityError
from parity.families import phi4mm

sides = st.integers(min_value=1, max_value=10000)


@settings(max_examples=150, deadline=None)
@given(h=sides, w=sides)
def test_plan_invariants(h, w):
    try:
        p = phi4mm.plan(h, w)
    except ParityError:
        return
    rows, cols = p.grid
    assert 1 <= rows * cols <= 36 and p.num_crops == rows * cols
    assert p.canvas == (rows * 448, cols * 448)
    nh, nw = p.resized
    assert (nh == p.canvas[0] or nw == p.canvas[1]) and nh <= p.canvas[0] and nw <= p.canvas[1]
    assert p.padding == (p.canvas[0] - nh, p.canvas[1] - nw) and min(nh, nw) >= 10
    if math_ceil(h, 448) * math_ceil(w, 448) <= 36:  # the covering grid is used as is
        assert p.grid == (math_ceil(h, 448), math_ceil(w, 448))


def math_ceil(a, b):
    return -(-a // b)


@settings(max_examples=40, deadline=None)
@given(h=st.integers(8, 1000), w=st.integers(8, 1000))
def test_equals_transformers_dynamic_preprocess(h, w):
    import torch
    from transformers import Phi4MultimodalImageProcessor

    proc = Phi4MultimodalImageProcessor()
    image = torch.zeros((3, h, w), dtype=torch.uint8)
    try:
        padded, mask = proc.dynamic_preprocess(image, 448, 14, 32, max_num=36)
    except ValueError:
        with pytest.raises(ParityError):
            phi4mm.plan(h, w)
        return
    p = phi4mm.plan(h, w)
    assert tuple(padded.shape[-2:]) == p.canvas
    # the padding is white (255): its extent gives the resized size
    assert (padded[0, p.resized[0]:, :] == 255).all() and (padded[0, :, p.resized[1]:] == 255).all()
    assert (padded[0, : p.resized[0], : p.resized[1]] == 0).all()
    mine = phi4mm.attention_mask(*p.grid, *p.padding, 32, 14)
    assert np.array_equal(mask.numpy(), mine)


def test_grid_choice_for_many_crops():
    # 1x40 crops would be needed for a 448x17920 strip: too many, so the closest ratio wins
    assert phi4mm.crop_grid(448, 17920, 448, 36) == (1, 36)
    assert phi4mm.crop_grid(1749, 1500, 448, 36) == (4, 4)
    assert phi4mm.plan(1749, 1500).num_tokens == 3857  # as transformers reports (see test_hf_qwen_gemma)


@pytest.mark.parametrize("h, w", [(2, 300), (1, 150), (300, 2)])
def test_thin_images_are_refused(h, w):
    with pytest.raises(ParityError, match="very extreme"):
        phi4mm.plan(h, w)
