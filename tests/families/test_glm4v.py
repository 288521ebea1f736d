"""GLM-4.1V / GLM-OCR geometry: exact agreement with transformers' smart_resize (both GLM modules)."""

from __future__ import annotations

import random

import pytest
from transformers.models.glm4v.image_processing_pil_glm4v import smart_resize as smart_resize_glm4v
from transformers.models.glm46v.image_processing_glm46v import smart_resize as smart_resize_glm46v

from parity.errors import ParityError
from parity.families import glm4v as g

SIZES = [(1, 1), (27, 27), (28, 28), (30, 40), (3, 600), (700, 1000), (4000, 3000), (6000, 4000)] + [
    (random.Random(i).randint(1, 5000), random.Random(-i).randint(1, 5000)) for i in range(300)]


@pytest.mark.parametrize("hf", [smart_resize_glm4v, smart_resize_glm46v], ids=["glm4v", "glm46v"])
def test_smart_resize_is_transformers(hf):
    for h, w in SIZES:
        try:
            want = hf(num_frames=2, height=h, width=w, temporal_factor=2, factor=28, min_pixels=12544,
                      max_pixels=9633792)
        except ValueError:
            with pytest.raises(ParityError, match="limit of 200"):
                g.smart_resize_hf(h, w, 28, 12544, 9633792)
            continue
        assert g.smart_resize_hf(h, w, 28, 12544, 9633792) == want, (h, w)


def test_budget_counts_two_frames():
    # 4000x3000: 6,144 tokens at most, half what the config's 9,633,792 pixels would allow for one frame
    h, w = g.smart_resize_hf(3000, 4000, 28, 12544, 9633792)
    assert (h // 28) * (w // 28) <= 6144 and (h, w) == (1876, 2520)


def test_tokens():
    assert g.tokens((700, 1008), 14, 2) == g.Tokens(25 * 36 + 2, 25 * 36)
