"""Nemotron VL geometry: the dynamic patch grid against transformers' get_patch_grid_size."""

from __future__ import annotations

import random

from transformers.models.nemotron_h_omni.image_processing_nemotron_h_omni import get_patch_grid_size

from parity.families import nemotron_vl as g
from parity.impls.ollama.nemotronh import dynamic_grid_ollama


def test_patch_grid_is_transformers():
    rng = random.Random(8)
    sizes = [(1, 1), (16, 16), (512, 512), (300, 400), (20, 2000), (4000, 3000)]
    sizes += [(rng.randint(1, 5000), rng.randint(1, 5000)) for _ in range(400)]
    for h, w in sizes:
        assert g.patch_grid_hf(h, w, 16, 2, 1024, 13312) == get_patch_grid_size(h, w, 16, 2, 1024, 13312), (h, w)


def test_ollama_rounds_half_away_from_zero():
    # 512 / 16 + 0.5 = 32.5: transformers' round gives 32, Go's math.Round 33; both then fit the same budget
    assert g.patch_grid_hf(512, 512, 16, 2, 1024, 13312) == (32, 32)
    # 33 -> raised to even 34 (within the cap): the Go oracle (tests/oracles/ollama/coverage_b.json) resized
    # 512x512 to 544
    assert dynamic_grid_ollama(512, 512, 16, 2, 1024, 13312) == (34, 34)


def test_tokens():
    assert g.tokens([(32, 32), (32, 32)]) == g.Tokens(512 + 2, 512)
