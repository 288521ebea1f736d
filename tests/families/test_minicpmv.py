"""Property tests of the MiniCPM-V slice geometry."""

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from parity.families import minicpmv

sides = st.integers(min_value=1, max_value=6000)


@settings(max_examples=100, deadline=None)
@given(h=sides, w=sides)
def test_plan_invariants(h, w):
    p = minicpmv.plan(h, w, 448, 14, 9)
    # every size is a positive multiple of the patch; tgt_sizes are those sizes in patches
    assert p.resized[0] % 14 == 0 and p.resized[1] % 14 == 0 and min(p.resized) >= 14
    assert p.tgt_sizes[0] == (p.resized[0] // 14, p.resized[1] // 14)
    rows, cols = p.grid
    assert p.num_images == 1 + rows * cols == len(p.tgt_sizes)
    if p.num_images == 1:
        assert math.ceil(w * h / 448 ** 2) <= 1 and p.refined == (0, 0)
    else:
        # 2..9 slices, the refined image splits exactly into them, each slice a patch multiple
        assert 2 <= rows * cols <= 9
        rh, rw = p.refined
        assert rh % rows == 0 and rw % cols == 0
        assert (rh // rows) % 14 == 0 and (rw // cols) % 14 == 0
        assert set(p.tgt_sizes[1:]) == {((rh // rows) // 14, (rw // cols) // 14)}
        # the source stays near the pixel budget (rounding to patches adds at most one patch a side)
        assert p.resized[0] * p.resized[1] <= (448 + 14) ** 2 * max(w / h, h / w) + 14 * 448 * 4
    assert p.image_sizes == (w, h)


def test_known_decisions():
    p = minicpmv.plan(480, 640, 448, 14, 9)  # 307200 px / 448^2 -> 2 slices side by side
    assert p.grid == (1, 2) and p.resized == (392, 518) and p.refined == (546, 728)
    p = minicpmv.plan(1749, 1500, 448, 14, 9)
    assert p.grid == (3, 3) and p.num_images == 10 and (p.num_tokens, p.num_embeddings) == (665, 640)
    assert minicpmv.plan(1, 1, 448, 14, 9).resized == (448, 448)
