"""The LLaVA mm_utils port equals the real ``llava/mm_utils.py`` (llava-torch 1.2.2.post1), function by
function, on the same inputs. The real module comes from the ``llava_mm_utils_real`` fixture (pip
``--target`` into a temporary directory; see tests/conftest.py)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from conftest import examples, make_rgb
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from parity.impls.reference import llava_mm_utils as port
from parity.presets import get_preset

PINPOINTS = {name: [list(p) for p in get_preset(name)["image_grid_pinpoints"]]
             for name in ("llava-1.6", "granite-vision-3.1")}
sides = st.integers(1, 3000)


@pytest.mark.slow
@settings(max_examples=examples(300))
@given(w=sides, h=sides, name=st.sampled_from(sorted(PINPOINTS)))
def test_select_best_resolution(w, h, name, llava_mm_utils_real):
    assert port.select_best_resolution((w, h), PINPOINTS[name]) == \
        llava_mm_utils_real.select_best_resolution((w, h), PINPOINTS[name])
    assert port.get_anyres_image_grid_shape((w, h), PINPOINTS[name], 336) == \
        llava_mm_utils_real.get_anyres_image_grid_shape((w, h), PINPOINTS[name], 336)


@pytest.mark.parametrize("w, h, target", [(640, 480, (672, 672)), (1, 1, (336, 672)), (501, 377, (1008, 336)),
                                          (377, 501, (336, 1008)), (1500, 1749, (672, 672)), (3, 700, (336, 1008))])
def test_resize_and_pad_and_patches(w, h, target, llava_mm_utils_real):
    image = Image.fromarray(make_rgb(h, w, seed=w + h))
    ours = port.resize_and_pad_image(image, target)
    real = llava_mm_utils_real.resize_and_pad_image(image, target)
    assert ours.size == real.size and np.array_equal(np.asarray(ours), np.asarray(real))
    ours_p = port.divide_to_patches(ours, 336)
    real_p = llava_mm_utils_real.divide_to_patches(real, 336)
    assert len(ours_p) == len(real_p)
    assert all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(ours_p, real_p))


@pytest.mark.parametrize("w, h", [(5, 9), (9, 5), (7, 7), (640, 480), (1, 300)])
@pytest.mark.parametrize("colour", [(122, 116, 104), (127, 127, 127)])
def test_expand2square(w, h, colour, llava_mm_utils_real):
    image = Image.fromarray(make_rgb(h, w, seed=3))
    ours, real = port.expand2square(image, colour), llava_mm_utils_real.expand2square(image, colour)
    assert ours.size == real.size and np.array_equal(np.asarray(ours), np.asarray(real))


@pytest.mark.parametrize("preset_name, aspect", [("llava-1.5", "pad"), ("mobilevlm", "pad"),
                                                 ("llava-1.6", "anyres"), ("granite-vision-3.1", "anyres")])
@pytest.mark.parametrize("w, h", [(640, 480), (377, 501), (1, 1), (1000, 200)])
def test_process_images(preset_name, aspect, w, h, llava_mm_utils_real):
    """The whole ``process_images`` (pad / anyres) with the same CLIP processor: identical float32 bits."""
    from parity.impls.reference.llava import clip_processor

    preset = get_preset(preset_name)
    proc = clip_processor(preset)
    image = Image.fromarray(make_rgb(h, w, seed=11))
    pinpoints = PINPOINTS.get(preset_name)
    ours = port.process_images([image], proc, aspect, pinpoints)
    cfg = SimpleNamespace(image_aspect_ratio=aspect, image_grid_pinpoints=pinpoints)
    real = llava_mm_utils_real.process_images([image], proc, cfg).numpy()
    assert ours.dtype == real.dtype == np.float32 and ours.shape == real.shape
    assert ours.tobytes() == real.tobytes()
