"""Property tests of the Idefics3 / SmolVLM geometry, and agreement with transformers' own size
helpers (the module-level functions its resize and resize_for_vision_encoder use)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from parity.families import idefics3

sides = st.integers(min_value=1, max_value=8000)


@settings(max_examples=150, deadline=None)
@given(h=sides, w=sides, tile=st.sampled_from([364, 384]))
def test_plan_invariants(h, w, tile):
    p = idefics3.plan(h, w, 4 * tile, tile)
    rh, rw = p.resized
    assert max(rh, rw) <= 4 * tile and min(rh, rw) >= 1
    ch, cw = p.canvas
    assert ch % tile == 0 and cw % tile == 0 and ch >= rh and cw >= rw
    if p.num_images > 1:
        assert p.grid == (ch // tile, cw // tile) and p.num_images == p.num_crops + 1 == ch * cw // tile**2 + 1
        assert 1 <= p.grid[0] <= 4 and 1 <= p.grid[1] <= 4
    else:
        assert p.canvas == (tile, tile) and p.grid == (0, 0)


@settings(max_examples=150, deadline=None)
@given(h=sides, w=sides, tile=st.sampled_from([364, 384]))
def test_resized_equals_transformers(h, w, tile):
    from transformers.models.idefics3 import image_processing_pil_idefics3 as mod

    image = np.broadcast_to(np.zeros((), np.uint8), (3, h, w))
    assert idefics3.plan(h, w, 4 * tile, tile).resized == mod.get_resize_output_image_size(image, 4 * tile)


@settings(max_examples=200, deadline=None)
@given(h=st.integers(1, 1600), w=st.integers(1, 1600))
def test_canvas_equals_transformers_resize_for_vision_encoder(h, w):
    from transformers import Idefics3ImageProcessorPil
    from transformers.image_utils import SizeDict

    proc = Idefics3ImageProcessorPil()
    seen = {}
    proc.resize = lambda image, size, resample=None, **kw: seen.setdefault("size", (size.height, size.width))
    proc.resize_for_vision_encoder(np.broadcast_to(np.zeros((), np.uint8), (3, h, w)), 364)
    assert idefics3.grow_to_tiles(h, w, 364) == seen["size"]
    assert isinstance(SizeDict(height=1, width=1).height, int)


def test_known_plans():
    p = idefics3.plan(1749, 1500, 1456, 364)
    assert p.resized == (1456, 1248) and p.canvas == (1456, 1456) and p.grid == (4, 4) and p.num_images == 17
    assert idefics3.plan(1, 1, 1456, 364).resized == (1456, 1456)  # tiny images are scaled up to 4 tiles
    assert idefics3.plan(2, 300, 1456, 364).resized == (10, 1456)  # int(9.7) = 9, bumped to even 10
