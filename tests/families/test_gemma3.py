"""Property tests of Gemma 3's pan-and-scan geometry, and agreement with transformers' own
``pan_and_scan`` (the crops it cuts)."""

import numpy as np
import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from parity.families import gemma3

sides = st.integers(min_value=1, max_value=4000)


@pytest.mark.slow
@settings(max_examples=examples(300), deadline=None)
@given(h=sides, w=sides)
def test_crops_tile_the_image_along_its_long_side(h, w):
    boxes = gemma3.pan_and_scan_boxes(h, w, 256, 4, 1.2)
    if not boxes:
        return
    assert 2 <= len(boxes) <= 4
    tops, lefts = [b[0] for b in boxes], [b[1] for b in boxes]
    if w >= h:  # one row: crops cover the width edge to edge, each at least the min crop size wide
        assert set(tops) == {0} and all(b[2] == h for b in boxes)
        assert lefts[0] == 0 and sum(b[3] for b in boxes) == w
        assert all(b[1] + b[3] <= w for b in boxes) and min(boxes[0][2], boxes[0][3]) >= 256
    else:
        assert set(lefts) == {0} and all(b[3] == w for b in boxes)
        assert tops[0] == 0 and sum(b[2] for b in boxes) == h
        assert min(boxes[0][2], boxes[0][3]) >= 256


@settings(max_examples=150, deadline=None)
@given(h=sides, w=sides)
def test_crops_equal_transformers_pan_and_scan(h, w):
    from transformers.models.gemma3.image_processing_pil_gemma3 import Gemma3ImageProcessorPil

    proc = Gemma3ImageProcessorPil.__new__(Gemma3ImageProcessorPil)  # pan_and_scan reads no attributes
    image = np.broadcast_to(np.zeros((), np.uint8), (3, h, w))  # shape only; no pixels allocated
    crops = proc.pan_and_scan(image, 256, 4, 1.2)
    boxes = gemma3.pan_and_scan_boxes(h, w, 256, 4, 1.2)
    assert [c.shape[1:] for c in crops] == [(b[2], b[3]) for b in boxes]


def test_square_and_mild_ratios_get_no_crops():
    assert gemma3.plan(1749, 1500, 896, True).crops == ()  # 1.166 < 1.2
    assert gemma3.plan(480, 640, 896, False).to_dict() == {
        "image_size": [480, 640], "resized": [896, 896], "canvas": [896, 896], "pad_offset": [0, 0], "grid": [1, 1],
        "num_images": 1, "num_tokens": 260, "num_embeddings": 256, "crops": []}
    p = gemma3.plan(480, 1300, 896, True)
    assert p.num_images == 4 and p.crops == ((0, 0, 480, 434), (0, 434, 480, 434), (0, 868, 480, 432))
