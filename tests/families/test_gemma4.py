"""Property tests of Gemma 4's budgeted resize, and agreement with transformers'
``get_aspect_ratio_preserving_size`` (including which sizes it refuses)."""

import math
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parity.errors import ParityError
from parity.families import gemma4

sides = st.integers(min_value=1, max_value=20000)


@settings(max_examples=150, deadline=None)
@given(h=sides, w=sides)
def test_equals_transformers_and_stays_in_budget(h, w):
    from transformers.models.gemma4.image_processing_pil_gemma4 import get_aspect_ratio_preserving_size

    try:
        expected = get_aspect_ratio_preserving_size(h, w, 16, 2520, 3)
    except ValueError:
        with pytest.raises(ParityError):
            gemma4.plan(h, w, 16, 280, 3)
        return
    p = gemma4.plan(h, w, 16, 280, 3)
    assert p.resized == tuple(expected)
    rh, rw = p.resized
    assert rh % 48 == 0 and rw % 48 == 0 and rh * rw <= 2520 * 256
    assert p.num_patches == (rh // 16) * (rw // 16) <= p.max_patches == 2520
    assert p.num_embeddings == p.num_patches // 9 <= 280 and p.num_tokens == p.num_embeddings + 2


@settings(max_examples=200, deadline=None)
@given(h=st.integers(48, 4000), w=st.integers(48, 4000))
def test_moderate_ratios_fill_most_of_the_budget(h, w):
    # flooring each side to 48 px loses < 48 px per side, so the area is at least (1 - 48/s)^2 of target
    p = gemma4.plan(h, w, 16, 280, 3)
    scale = math.sqrt(2520 * 256 / (h * w))
    assert p.resized[0] > h * scale - 48 and p.resized[1] > w * scale - 48


def test_known_sizes():
    assert gemma4.plan(1749, 1500, 16, 280, 3).resized == (864, 720)
    assert gemma4.plan(1, 1000, 16, 280, 3).resized == (48, 13440)  # the thin side is one 48-px unit


@settings(max_examples=150, deadline=None)
@given(h=sides, w=sides, tokens=st.sampled_from([70, 280, 1120]))
def test_gemma_library_variant_agrees_with_hf_where_hf_accepts(h, w, tokens):
    try:
        hf = gemma4.plan(h, w, 16, tokens, 3)
    except ParityError:
        return
    lib = gemma4.plan(h, w, 16, tokens, 3, variant="gemma-library")
    # same geometry; the library adds "\n\n" before and after the image markers
    assert replace(lib, num_tokens=lib.num_tokens - 2) == hf
