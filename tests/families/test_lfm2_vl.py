"""LFM2-VL geometry: exact agreement with transformers' own helpers, and the token layout of its processor."""

from __future__ import annotations

import random

import pytest
from transformers import Lfm2VlImageProcessor
from transformers.models.lfm2_vl.processing_lfm2_vl import Lfm2VlProcessor

from parity.families import lfm2_vl as g

PROC = Lfm2VlImageProcessor()
SIZES = [(1, 1), (16, 16), (31, 33), (300, 400), (512, 512), (700, 1000), (1749, 1500), (40, 2000), (2000, 40),
         (1024, 1024), (513, 1025)] + [(random.Random(i).randint(1, 4000), random.Random(-i).randint(1, 4000))
                                       for i in range(300)]


@pytest.mark.parametrize("min_tok,max_tok", [(64, 256), (32, 1024)])
def test_smart_resize_is_transformers(min_tok, max_tok):
    for h, w in SIZES:
        got = g.smart_resize_hf(h, w, 16, 2, min_tok, max_tok)
        w_hf, h_hf = PROC.smart_resize(h, w, 2, min_tok, max_tok, 16)  # transformers returns (w, h)
        assert got == (h_hf, w_hf), (h, w)


def test_too_large_is_transformers():
    for h, w in SIZES:
        assert g.too_large_hf(h, w, 16, 2, 256, 2.0) == PROC._is_image_too_large(h, w, 256, 16, 2, 2.0), (h, w)


def test_half_to_even_rounding():
    # 400 / 32 = 12.5: Python's round gives 12 (384); llama.cpp's std::round gives 13 (416)
    assert g.smart_resize_hf(300, 400, 16, 2, 64, 256) == (288, 384)


def _processor_tokens(rows, cols, tile_tokens, image_tokens, thumb):
    """Count what Lfm2VlProcessor._build_image_tokens writes (each special token is one token)."""
    proc = Lfm2VlProcessor.__new__(Lfm2VlProcessor)
    proc.image_start_token, proc.image_end_token, proc.image_thumbnail_token = "<S>", "<E>", "<T>"
    proc.image_token = "<I>"
    text = proc._build_image_tokens(rows, cols, tile_tokens, image_tokens, thumb, True)
    return text.count("<I>"), text.count("<")


@pytest.mark.parametrize("rows,cols,thumb", [(1, 1, True), (2, 3, True), (3, 3, False), (1, 2, True)])
def test_tokens_are_the_processors_layout(rows, cols, thumb):
    emb, total = _processor_tokens(rows, cols, 256, 117, thumb)
    tok = g.tokens((rows, cols), 256, 117, thumb)
    assert (tok.embeddings, tok.total) == (emb, total)


def test_tokens_per_tile_and_image():
    assert g.tokens_per_tile(512, 16, 2) == 256
    assert g.tokens_for_image((416, 608), 16, 2) == 13 * 19
    assert g.tokens_for_image((48, 48), 16, 2) == 4  # ceil(3 / 2)^2
