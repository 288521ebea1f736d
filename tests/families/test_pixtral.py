"""Property tests of Pixtral's fit-and-round-up geometry, and agreement with transformers' and
mistral-common's own functions."""

import numpy as np
import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from parity.families import pixtral

sides = st.integers(min_value=1, max_value=8000)


@settings(max_examples=150, deadline=None)
@given(h=sides, w=sides)
def test_hf_variant_equals_transformers(h, w):
    from transformers.models.pixtral.image_processing_pil_pixtral import get_resize_output_image_size

    image = np.broadcast_to(np.zeros((), np.uint8), (3, h, w))
    expected = get_resize_output_image_size(image, size=(1024, 1024), patch_size=(16, 16),
                                            input_data_format="channels_first")
    p = pixtral.plan(h, w, 1024, 16, "hf")
    assert p.resized == tuple(expected)


@pytest.mark.slow
@settings(max_examples=examples(150), deadline=None)
@given(h=sides, w=sides)
def test_mistral_common_variant_equals_image_encoder(h, w):
    from types import SimpleNamespace

    pytest.importorskip("mistral_common")

    from parity.impls.reference.pixtral import encoder
    from parity.presets import get_preset

    enc = encoder(get_preset("pixtral"))
    # _image_to_num_tokens reads only .size (w, h); a stand-in avoids allocating big images
    w_tok, h_tok = enc._image_to_num_tokens(SimpleNamespace(size=(w, h)))
    assert pixtral.plan(h, w, 1024, 16, "mistral-common").patch_grid == (h_tok, w_tok)


@settings(max_examples=150, deadline=None)
@given(h=sides, w=sides, variant=st.sampled_from(["hf", "mistral-common"]))
def test_resized_is_whole_patches_covering_the_fitted_size(h, w, variant):
    p = pixtral.plan(h, w, 1024, 16, variant)
    fh, fw = p.fitted
    assert max(fh, fw) <= 1024
    assert p.resized == (p.patch_grid[0] * 16, p.patch_grid[1] * 16)
    assert fh <= p.resized[0] < fh + 16 and fw <= p.resized[1] < fw + 16


def test_floor_and_round_disagree():
    # 1x2000: HF floors the height to 0 rows (it then cannot resize); mistral-common keeps 1 px
    assert pixtral.plan(1, 2000, 1024, 16, "hf").patch_grid == (0, 64)
    assert pixtral.plan(1, 2000, 1024, 16, "mistral-common").patch_grid == (1, 64)
    # 3072x50: the width fits to 16.67 px: floor 16 -> one patch column, round 17 -> two
    hf, mc = pixtral.plan(3072, 50, 1024, 16, "hf"), pixtral.plan(3072, 50, 1024, 16, "mistral-common")
    assert hf.fitted == (1024, 16) and mc.fitted == (1024, 17)
    assert hf.resized == (1024, 16) and mc.resized == (1024, 32)
