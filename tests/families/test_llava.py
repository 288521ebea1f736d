"""Property tests of the LLaVA-1.5 geometry, and agreement with the real helpers (transformers,
the LLaVA repo's expand2square)."""

import numpy as np
import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from transformers.image_transforms import get_resize_output_image_size

from parity.families import llava

TOKENS = llava.tokens_reference(336, 14)

sides = st.integers(min_value=1, max_value=5000)


@settings(max_examples=120, deadline=None)
@given(h=sides, w=sides, pad=st.booleans())
def test_plan_invariants(h, w, pad):
    p = llava.plan(h, w, 336, 336, pad, TOKENS)
    ch, cw = p.padded_square
    if pad:
        assert ch == cw == max(h, w)
        top, left = p.pad_offset
        # centred: the two margins differ by at most one pixel, the larger one after the image
        assert 0 <= ch - h - 2 * top <= 1 and 0 <= cw - w - 2 * left <= 1
    else:
        assert p.padded_square == (h, w) and p.pad_offset == (0, 0)
    assert min(p.resized) == 336 and p.resized[0] >= 336 and p.resized[1] >= 336
    top, left, ch_, cw_ = p.crop
    assert (ch_, cw_) == (336, 336) and 0 <= top <= p.resized[0] - 336 and 0 <= left <= p.resized[1] - 336


@settings(max_examples=120, deadline=None)
@given(h=sides, w=sides)
def test_resize_equals_transformers(h, w):
    chw = np.empty((3, h, w), dtype=np.uint8)
    expected = get_resize_output_image_size(chw, size=336, default_to_square=False, input_data_format="channels_first")
    assert llava.shortest_edge_size(h, w, 336) == tuple(expected)


@pytest.mark.slow
@settings(max_examples=examples(60), deadline=None)
@given(h=st.integers(1, 64), w=st.integers(1, 64))
def test_square_canvas_equals_llava_expand2square(h, w, llava_mm_utils_real):
    expand2square = llava_mm_utils_real.expand2square

    rgb = np.full((h, w, 3), 255, dtype=np.uint8)
    fill = llava.mean_fill([0.48145466, 0.4578275, 0.40821073])
    out = np.asarray(expand2square(Image.fromarray(rgb), fill))
    side, top, left = llava.square_canvas(h, w)
    assert out.shape == (side, side, 3)
    inside = np.zeros((side, side), dtype=bool)
    inside[top:top + h, left:left + w] = True
    assert (out[inside] == 255).all() and (out[~inside] == fill).all()


def test_known_decisions():
    assert llava.mean_fill([0.48145466, 0.4578275, 0.40821073]) == (122, 116, 104)
    p = llava.plan(480, 640, 336, 336, pad_to_square=True, tokens=TOKENS)
    assert p.padded_square == (640, 640) and p.pad_offset == (80, 0) and p.resized == (336, 336)
    p = llava.plan(480, 640, 336, 336, pad_to_square=False, tokens=TOKENS)
    assert p.resized == (336, 448) and p.crop == (0, 56, 336, 336)
