"""Property tests of the Llama 4 geometry, and agreement with transformers' and llama-models' helpers."""

import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from transformers.image_utils import SizeDict
from transformers.models.llama4 import image_processing_llama4 as hf

from parity.families import llama4

sides = st.integers(min_value=1, max_value=8000)
max_patches = st.integers(min_value=1, max_value=16)


@settings(max_examples=120, deadline=None)
@given(h=sides, w=sides, mp=max_patches, to_max=st.booleans())
def test_plan_invariants(h, w, mp, to_max):
    p = llama4.plan(h, w, 336, mp, "hw", to_max)
    rows, cols = p.grid
    assert p.canvas == (rows * 336, cols * 336) and 1 <= rows * cols <= mp
    assert p.num_images == (rows * cols + 1 if rows * cols > 1 else 1) and p.global_tile == (rows * cols > 1)
    assert 1 <= p.resized[0] <= p.canvas[0] and 1 <= p.resized[1] <= p.canvas[1]
    if not to_max:  # never upscaled past one tile (nor past the image)
        assert max(p.resized) <= max(h, w, 336)


@settings(max_examples=120, deadline=None)
@given(h=sides, w=sides, mp=max_patches, to_max=st.booleans())
@example(h=1618, w=1618, mp=9, to_max=False)
def test_plan_equals_transformers_helpers(h, w, mp, to_max):
    size = SizeDict(height=336, width=336)
    hf.find_supported_resolutions.cache_clear()
    possible = hf.find_supported_resolutions(mp, size)
    assert [(a * 336, b * 336) for a, b in llama4.supported_grids(mp)] == list(possible)
    best = hf.get_best_fit((h, w), torch.tensor(possible), resize_to_max_canvas=to_max)
    p = llama4.plan(h, w, 336, mp, "hw", to_max)
    assert p.canvas == tuple(int(v) for v in best)
    # exactly as Llama4ImageProcessor._preprocess builds it: the canvas sides stay torch tensors, so a
    # side that is taken from the canvas makes its scale float32 (1618x1618, 9 tiles -> 1007, not 1008)
    target = best if to_max else (min(max(h, 336), best[0]), min(max(w, 336), best[1]))
    nh, nw = hf.get_max_res_without_distortion((h, w), target)
    assert p.resized == (max(int(nh), 1), max(int(nw), 1))


@settings(max_examples=100, deadline=None)
@given(h=sides, w=sides, mp=max_patches)
def test_wh_order_equals_llama_models(h, w, mp):
    from llama_models.llama4.preprocess import VariableSizeImageTransform

    t = VariableSizeImageTransform(336)
    possible = torch.tensor(t.find_supported_resolutions(max_num_chunks=mp, patch_size=336))
    bw, bh = t.get_best_fit(image_size=(w, h), possible_resolutions=possible)
    p = llama4.plan(h, w, 336, mp, "wh", arithmetic="python")
    assert p.canvas == (bh, bw)
    nw, nh = t.get_max_res_without_distortion((w, h), (min(max(w, 336), bw), min(max(h, 336), bh)))
    assert p.resized == (max(nh, 1), max(nw, 1))


def test_known_decisions():
    assert llama4.supported_grids(4) == [(1, 4), (2, 2), (1, 1), (4, 1), (1, 3), (3, 1), (1, 2), (2, 1)]
    p = llama4.plan(1749, 1500, 336, 16)
    assert p.grid == (4, 4) and p.num_images == 17 and (p.num_tokens, p.num_embeddings) == (2467, 2448)
    assert llama4.plan(1, 1, 336, 16).num_images == 1
