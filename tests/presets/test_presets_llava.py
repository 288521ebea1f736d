"""The LLaVA-family, MiniCPM-V and Llama presets: data with provenance, the impls that run them, and a
run of every available impl on a 1500x1749 and a 640x480 photo."""

import numpy as np
import pytest

from parity.impls import ImageInput, get_impl, impls_for
from parity.impls.transformers_processors import make_processor
from parity.presets import get_preset

#: preset -> (family, the impls of this issue that must run it)
PRESETS = {
    "llava-1.5": ("llava", {"reference", "hf-pil", "hf-torchvision"}),
    "mobilevlm": ("llava", {"reference", "hf-pil", "hf-torchvision"}),
    "llava-1.6": ("llava-next", {"reference", "hf-pil", "hf-torchvision"}),
    "granite-vision-3.1": ("llava-next", {"reference", "hf-pil", "hf-torchvision"}),
    "minicpm-v-2.6": ("minicpmv", {"reference"}),
    "llama-3.2-vision": ("mllama", {"reference", "hf-pil", "hf-torchvision"}),
    "llama-4": ("llama4", {"reference", "hf-torchvision"}),
}
OURS = {"reference", "hf-pil", "hf-torchvision"}


@pytest.mark.parametrize("name", PRESETS)
def test_preset_has_provenance_for_every_value(name):
    preset = get_preset(name)
    assert preset.family == PRESETS[name][0]
    assert preset.checkpoint and preset.description and preset.hf_source
    for key in preset.values:
        assert preset.sources[key].strip(), f"{name}: value {key!r} has no source"


@pytest.mark.parametrize("name", PRESETS)
def test_available_impls(name):
    available = {impl.name for impl in impls_for(get_preset(name))} & OURS
    assert available == PRESETS[name][1]


@pytest.mark.parametrize("name", [n for n in PRESETS if get_preset(n).hf_processor])
def test_hf_config_agrees_with_values(name):
    preset = get_preset(name)
    proc = make_processor(preset, "torchvision")
    assert list(proc.image_mean) == list(preset["image_mean"])
    assert list(proc.image_std) == list(preset["image_std"])
    assert proc.rescale_factor == preset["rescale_factor"]
    if preset.family == "llava-next":
        assert proc.image_grid_pinpoints == preset["image_grid_pinpoints"]
        assert proc.crop_size["height"] == preset["crop_size"]
    if preset.family == "llama4":
        assert proc.max_patches == preset["max_tiles"] and proc.size["height"] == preset["tile_size"]


def test_granite_pinpoints_are_every_grid_of_at_most_ten_tiles():
    pins = get_preset("granite-vision-3.1")["image_grid_pinpoints"]
    grids = {(h // 384, w // 384) for h, w in pins}
    assert len(pins) == len(grids) == 27
    assert grids == {(r, c) for r in range(1, 11) for c in range(1, 11) if r * c <= 10}


PHOTOS = [(1749, 1500), (480, 640)]
RUNS = [(name, impl, size) for name, (_, impls) in PRESETS.items() for impl in sorted(impls) for size in PHOTOS]


@pytest.mark.parametrize("name, impl, size", RUNS, ids=[f"{n}-{i}-{w}x{h}" for n, i, (h, w) in RUNS])
def test_run_on_photos(image_file, name, impl, size):
    path = image_file(*size, fmt="jpg", quality=90)
    trace = get_impl(impl).run(ImageInput(path), get_preset(name))
    assert trace["decode"].shape == (*size, 3)
    assert trace.plan["image_size"] == list(size)
    pack = trace["pack"]
    values = pack.value if pack.kind == "ragged" else (pack.value,)
    assert all(v.dtype == np.float32 and np.isfinite(v).all() for v in values)
