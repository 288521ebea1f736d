"""The preset loader: provenance required for every value, overlays, clip.* metadata."""

import pytest

from parity.errors import ParityError
from parity.presets import all_presets, get_preset, preset_from_dict


def test_every_value_of_every_preset_has_a_source():
    for preset in all_presets().values():
        assert preset.values and set(preset.values) == set(preset.sources), preset.name
        assert all(src.strip() for src in preset.sources.values()), preset.name
        for name, src in preset.overlay_sources.items():
            assert all(s.strip() for s in src.values()), (preset.name, name)


def test_a_value_without_source_is_refused():
    with pytest.raises(ParityError, match="needs 'value' and 'source'"):
        preset_from_dict({"name": "x", "family": "f", "values": {"tile": {"value": 1}}})


def test_unknown_preset_lists_the_valid_ones():
    with pytest.raises(ParityError, match="unknown preset 'nope'; valid: .*llama-3.2-vision"):
        get_preset("nope")


class TestClipMetadata:
    def test_from_the_gguf_overlay(self):
        meta = get_preset("llava-1.6").clip_metadata()
        assert meta["clip.vision.image_size"] == 336 and "clip.vision.image_grid_pinpoints" in meta

    def test_from_gguf_keyed_values_of_a_derived_preset(self):
        p = preset_from_dict({"name": "gguf:x", "family": "llava", "values": {
            "clip.projector_type": {"value": "mlp", "source": "GGUF x key clip.projector_type"}}})
        assert p.clip_metadata() == {"clip.projector_type": "mlp"}

    def test_none_without_either(self):
        p = preset_from_dict({"name": "x", "family": "f", "values": {"tile": {"value": 1, "source": "s"}}})
        assert p.clip_metadata() is None
