"""Property tests of the LLaVA-NeXT anyres geometry, and agreement with transformers' helpers and
the LLaVA repo's own functions."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers.image_processing_utils import get_patch_output_size, select_best_resolution

from parity.families import llava_next
from parity.presets import get_preset

PINPOINTS = {name: get_preset(name)["image_grid_pinpoints"] for name in ("llava-1.6", "granite-vision-3.1")}
TILE = {"llava-1.6": 336, "granite-vision-3.1": 384}
sides = st.integers(min_value=1, max_value=6000)
presets = st.sampled_from(sorted(PINPOINTS))

# sizes other projects regress LLaVA-NeXT on, as (w, h), and their transposes
REGRESSION = [(171, 152), (184, 161), (198, 176), (333, 296), (369, 328), (488, 183), (2560, 1669)]
REGRESSION += [(h, w) for w, h in REGRESSION]


@settings(max_examples=150, deadline=None)
@given(h=sides, w=sides, name=presets, order=st.sampled_from(llava_next.PINPOINT_ORDERS))
def test_plan_invariants(h, w, name, order):
    tile = TILE[name]
    p = llava_next.plan(h, w, PINPOINTS[name], tile, order)
    # the grid is one of the pinpoints (as this reading orients them)
    assert p.best_resolution in llava_next.pinpoints_hw(PINPOINTS[name], order)
    rows, cols = p.grid
    assert (rows * tile, cols * tile) == p.best_resolution
    assert p.num_images == rows * cols + 1
    # fitted inside, touching at least one side, never empty, pad centred
    bh, bw = p.best_resolution
    assert 1 <= p.resized[0] <= bh and 1 <= p.resized[1] <= bw and (p.resized[0] == bh or p.resized[1] == bw)
    top, left = p.pad_offset
    assert 0 <= bh - p.resized[0] - 2 * top <= 1 and 0 <= bw - p.resized[1] - 2 * left <= 1
    assert p.image_sizes == (h, w)


@settings(max_examples=150, deadline=None)
@given(h=sides, w=sides, name=presets)
def test_plan_equals_transformers_helpers(h, w, name):
    p = llava_next.plan(h, w, PINPOINTS[name], TILE[name], "hw")
    assert p.best_resolution == tuple(select_best_resolution((h, w), PINPOINTS[name]))
    chw = np.empty((3, h, w), dtype=np.uint8)
    assert p.resized == tuple(get_patch_output_size(chw, p.best_resolution, "channels_first"))


@settings(max_examples=120, deadline=None)
@given(h=sides, w=sides, name=presets)
def test_wh_order_equals_llava_repo(h, w, name, llava_mm_utils_real):
    mm_utils = llava_mm_utils_real
    p = llava_next.plan(h, w, PINPOINTS[name], TILE[name], "wh")
    bw, bh = mm_utils.select_best_resolution((w, h), PINPOINTS[name])
    assert p.best_resolution == (bh, bw)
    assert p.grid[::-1] == mm_utils.get_anyres_image_grid_shape((w, h), PINPOINTS[name], TILE[name])


@pytest.mark.parametrize("w, h", REGRESSION, ids=[f"{w}x{h}" for w, h in REGRESSION])
@pytest.mark.parametrize("name", sorted(PINPOINTS))
def test_regression_sizes(name, w, h):
    hw = llava_next.plan(h, w, PINPOINTS[name], TILE[name], "hw")
    assert hw.best_resolution == tuple(select_best_resolution((h, w), PINPOINTS[name]))
    assert hw.resized == tuple(get_patch_output_size(np.empty((3, h, w)), hw.best_resolution, "channels_first"))


def test_pinpoint_order_decides_exact_ties():
    # nothing is downscaled for a tiny image: every pinpoint keeps all its pixels, the first of the
    # smallest area wins, and the two readings of the same list start with transposed pinpoints
    pins = PINPOINTS["llava-1.6"]
    assert llava_next.plan(1, 1, pins, 336, "hw").best_resolution == (336, 672)
    assert llava_next.plan(1, 1, pins, 336, "wh").best_resolution == (672, 336)
    assert llava_next.plan(161, 184, pins, 336, "hw").grid == (1, 2)
    assert llava_next.plan(161, 184, pins, 336, "wh").grid == (2, 1)
    # granite's list starts with the 1x1 pinpoint, which wins both readings for small images
    assert llava_next.plan(161, 184, PINPOINTS["granite-vision-3.1"], 384, "wh").grid == (1, 1)
