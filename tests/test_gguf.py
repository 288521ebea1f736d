"""mmproj GGUF files: metadata round trips, derived presets, the inspect report, malformed files."""

from __future__ import annotations

import json
from pathlib import Path

import gguf
import numpy as np
import pytest

from parity.errors import ParityError
from parity.gguf import clip_metadata, inspect_mmproj, preset_from_gguf, render_gguf_text
from parity.impls.base import ImageInput
from parity.impls.llamacpp import LlamaCppImpl
from parity.presets import get_preset

ORACLES = Path(__file__).parent / "oracles" / "llamacpp"
CPP_HPARAMS = json.loads((ORACLES / "hparams.json").read_text())
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
PINS_16 = [336, 672, 672, 336, 672, 672, 1008, 336, 336, 1008]


def write_mmproj(path, keys: dict, tensors: bool = True) -> None:
    """A small mmproj: the given clip.* keys (typed as the converters write them) and a tiny tensor."""
    w = gguf.GGUFWriter(str(path), "clip")
    for k, v in keys.items():
        if isinstance(v, bool):
            w.add_bool(k, v)
        elif isinstance(v, str):
            w.add_string(k, v)
        elif isinstance(v, int):
            (w.add_int32 if k == "clip.minicpmv_version" else w.add_uint32)(k, v)
        elif isinstance(v, float):
            w.add_float32(k, v)
        else:
            w.add_array(k, v)
    if tensors:
        w.add_tensor("v.patch_embd.weight", np.arange(12, dtype=np.float32).reshape(3, 4))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def llava16_keys(**extra) -> dict:
    keys = {"clip.has_vision_encoder": True, "clip.projector_type": "mlp", "clip.vision.image_size": 336,
            "clip.vision.patch_size": 14, "clip.vision.image_mean": CLIP_MEAN, "clip.vision.image_std": CLIP_STD,
            "clip.vision.image_grid_pinpoints": PINS_16, "clip.vision.mm_patch_merge_type": "spatial_unpad",
            "clip.vision.attention.layer_norm_epsilon": 1e-5}
    keys.update(extra)
    return keys


class TestRoundTrip:
    def test_metadata_round_trip(self, tmp_path):
        path = tmp_path / "mmproj.gguf"
        write_mmproj(path, llava16_keys())
        meta = clip_metadata(path)
        assert meta["clip.projector_type"] == "mlp"
        assert meta["clip.vision.image_size"] == 336
        assert meta["clip.vision.image_grid_pinpoints"] == PINS_16
        assert meta["clip.has_vision_encoder"] is True
        # float32 on disk: the shortest decimal of the stored float32 comes back (0.48145467, same float32)
        assert meta["clip.vision.image_mean"][0] == 0.48145467
        assert np.array_equal(np.float32(meta["clip.vision.image_mean"]), np.float32(CLIP_MEAN))
        assert np.float32(meta["clip.vision.attention.layer_norm_epsilon"]) == np.float32(1e-5)

    def test_preset_from_gguf_values_and_sources(self, tmp_path):
        path = tmp_path / "mmproj-llava16.gguf"
        write_mmproj(path, llava16_keys())
        p = preset_from_gguf(path)
        assert p.name == "gguf:mmproj-llava16" and p.family == "llava-next"
        assert p["clip.vision.image_size"] == 336
        assert p.sources["clip.vision.image_size"] == "GGUF mmproj-llava16.gguf key clip.vision.image_size"

    @pytest.mark.parametrize("name", ["llava-1.5", "llava-1.6", "qwen2-vl", "minicpm-v-2.6", "gemma-3", "smolvlm"])
    def test_overlay_written_and_read_back_runs_the_same(self, tmp_path, name):
        # the gguf overlay written to a real GGUF file gives the same inp_raw as the overlay itself
        preset = get_preset(name)
        path = tmp_path / f"{name}.gguf"
        write_mmproj(path, dict(preset.overlay("gguf")))
        from_file = preset_from_gguf(path)
        rgb = (np.arange(500 * 380 * 3) % 251).astype(np.uint8).reshape(380, 500, 3)
        impl = LlamaCppImpl()
        a = impl.run(ImageInput("x.png", injected=rgb), preset)
        b = impl.run(ImageInput("x.png", injected=rgb), from_file)
        assert a["pack"].sha1 == b["pack"].sha1
        assert impl.hparams(preset) == impl.hparams(from_file)


class TestHparamsVsClipCpp:
    """What the real clip.cpp ``load_hparams`` made of each file (recorded, see tests/oracles/llamacpp)."""

    @pytest.mark.parametrize("case", sorted(CPP_HPARAMS))
    def test_hparams_equal_clip_cpp(self, tmp_path, case):
        path = tmp_path / f"{case}.gguf"
        write_mmproj(path, CPP_HPARAMS[case]["gguf"])
        ours = LlamaCppImpl().hparams(preset_from_gguf(path)).to_dict()
        for key, cpp in CPP_HPARAMS[case]["cpp_hparams"].items():
            if key in ("image_mean", "image_std"):
                assert np.array_equal(np.float32(ours[key]), np.float32(cpp)), key
            else:
                assert ours[key] == cpp, key


class TestInspect:
    def test_missing_pinpoints_warns_fixed_size(self, tmp_path):
        path = tmp_path / "m.gguf"
        keys = llava16_keys()
        del keys["clip.vision.image_grid_pinpoints"]
        write_mmproj(path, keys)
        report = inspect_mmproj(path)
        assert report["preprocessor"] == "fixed_size"
        assert any("image_grid_pinpoints is missing although" in w and "fixed-size" in w for w in report["warnings"])
        json.dumps(report)  # JSON-able

    def test_disagreements_with_hf_config(self, tmp_path):
        path, cfg = tmp_path / "m.gguf", tmp_path / "preprocessor_config.json"
        write_mmproj(path, llava16_keys(**{"clip.vision.image_mean": [0.5, 0.5, 0.5]}))
        cfg.write_text(json.dumps({
            "image_mean": CLIP_MEAN, "image_std": CLIP_STD, "crop_size": {"height": 336, "width": 336},
            "size": {"shortest_edge": 336}, "resample": 3,
            "image_grid_pinpoints": [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]]}))
        report = inspect_mmproj(path, cfg)
        whats = [d["what"] for d in report["disagreements"]]
        assert whats == ["image_mean", "image_grid_pinpoints order (as width x height)"]
        text = render_gguf_text(report)
        assert "disagreements with" in text and "image_mean" in text

    def test_agreeing_config_has_no_disagreements(self, tmp_path):
        path, cfg = tmp_path / "m.gguf", tmp_path / "c.json"
        write_mmproj(path, {"clip.has_vision_encoder": True, "clip.projector_type": "gemma3",
                            "clip.vision.image_size": 896, "clip.vision.patch_size": 14,
                            "clip.vision.image_mean": [0.5] * 3, "clip.vision.image_std": [0.5] * 3})
        cfg.write_text(json.dumps({"image_mean": [0.5] * 3, "image_std": [0.5] * 3,
                                   "size": {"height": 896, "width": 896}, "resample": 2}))
        assert inspect_mmproj(path, cfg)["disagreements"] == []

    def test_sizes_disagree(self, tmp_path):
        path, cfg = tmp_path / "m.gguf", tmp_path / "c.json"
        write_mmproj(path, {"clip.has_vision_encoder": True, "clip.projector_type": "gemma3",
                            "clip.vision.image_size": 896, "clip.vision.patch_size": 14,
                            "clip.vision.image_mean": [0.5] * 3, "clip.vision.image_std": [0.5] * 3})
        cfg.write_text(json.dumps({"size": {"height": 448, "width": 448}, "resample": 3}))
        whats = [d["what"] for d in inspect_mmproj(path, cfg)["disagreements"]]
        assert whats == ["size.height vs clip.vision.image_size", "size.width vs clip.vision.image_size", "resample"]

    def test_minicpmv_without_version_warns(self, tmp_path):
        path = tmp_path / "m.gguf"
        write_mmproj(path, {"clip.has_vision_encoder": True, "clip.projector_type": "resampler",
                            "clip.vision.image_size": 448, "clip.vision.patch_size": 14,
                            "clip.vision.image_mean": [0.5] * 3, "clip.vision.image_std": [0.5] * 3})
        report = inspect_mmproj(path)
        assert report["derived"]["minicpmv_version"] == 2
        assert any("minicpmv_version is missing" in w for w in report["warnings"])


class TestMalformed:
    def test_not_gguf(self, tmp_path):
        path = tmp_path / "x.gguf"
        path.write_bytes(b"\x89PNG\r\n\x1a\n....")
        with pytest.raises(ParityError, match="not a GGUF file"):
            preset_from_gguf(path)

    def test_empty_and_missing(self, tmp_path):
        (tmp_path / "e.gguf").write_bytes(b"")
        with pytest.raises(ParityError, match=r"GGUF file is empty \(0 bytes\)"):
            inspect_mmproj(tmp_path / "e.gguf")
        with pytest.raises(ParityError, match="GGUF file not found"):
            inspect_mmproj(tmp_path / "nope.gguf")

    @pytest.mark.parametrize("keep", [10, 40, 200])
    def test_truncated(self, tmp_path, keep):
        full = tmp_path / "full.gguf"
        write_mmproj(full, llava16_keys())
        cut = tmp_path / "cut.gguf"
        cut.write_bytes(full.read_bytes()[:keep])
        with pytest.raises(ParityError, match="malformed or truncated GGUF file") as e:
            inspect_mmproj(cut)
        assert "\n" not in str(e.value)

    def test_no_clip_keys(self, tmp_path):
        path = tmp_path / "llm.gguf"
        w = gguf.GGUFWriter(str(path), "llama")
        w.add_uint32("llama.context_length", 8)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        with pytest.raises(ParityError, match="not an mmproj file"):
            preset_from_gguf(path)

    @pytest.mark.parametrize("keys,message", [
        ({"clip.projector_type": "ultravox"}, "not covered"),
        ({"clip.vision.image_grid_pinpoints": [336, 672, 672]}, "an even number of values; it has 3"),
        ({"clip.vision.image_std": [0.5, 0.5]}, "image_std must be a list of 3 numbers"),
    ])
    def test_refused_metadata(self, tmp_path, keys, message):
        path = tmp_path / "m.gguf"
        write_mmproj(path, llava16_keys(**keys))
        with pytest.raises(ParityError, match=message):
            preset_from_gguf(path)

    def test_missing_required_key(self, tmp_path):
        keys = llava16_keys()
        del keys["clip.vision.patch_size"]
        write_mmproj(tmp_path / "m.gguf", keys)
        with pytest.raises(ParityError, match="lacks required key clip.vision.patch_size"):
            inspect_mmproj(tmp_path / "m.gguf")

    def test_bad_hf_config(self, tmp_path):
        write_mmproj(tmp_path / "m.gguf", llava16_keys())
        (tmp_path / "c.json").write_text("{not json")
        with pytest.raises(ParityError, match="not valid JSON"):
            inspect_mmproj(tmp_path / "m.gguf", tmp_path / "c.json")


def write_with_strings(path, keys: dict, string_keys: tuple[str, ...]) -> None:
    """As write_mmproj, with ``string_keys`` written as GGUF strings (a converter bug)."""
    w = gguf.GGUFWriter(str(path), "clip")
    for k, v in keys.items():
        if k in string_keys:
            w.add_string(k, str(v))
        elif isinstance(v, bool):
            w.add_bool(k, v)
        elif isinstance(v, str):
            w.add_string(k, v)
        elif isinstance(v, int):
            w.add_uint32(k, v)
        elif isinstance(v, float):
            w.add_float32(k, v)
        else:
            w.add_array(k, v)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.close()


class TestValidation:
    """Values llama.cpp would choke on are refused with one line, before anything is derived."""

    @pytest.mark.parametrize("extra, strings, message", [
        ({}, ("clip.vision.image_mean",), "clip.vision.image_mean must be a list of 3 numbers, got \"\\[0.48"),
        ({}, ("clip.vision.image_size",), "clip.vision.image_size must be an integer in 1..8192, got \"336\""),
        ({"clip.vision.image_size": 1000000}, (), "clip.vision.image_size must be an integer in 1..8192, got 1000000"),
        ({"clip.vision.patch_size": 0}, (), "clip.vision.patch_size must be an integer in 1..1024, got 0"),
        ({"clip.vision.image_std": [0.5, 0.0, 0.5]}, (), "image_std values must be finite and > 0"),
        ({"clip.vision.image_std": [0.5, -0.5, 0.5]}, (), "image_std values must be finite and > 0"),
        ({"clip.vision.image_mean": [float("inf"), 0.5, 0.5]}, (), "image_mean values must be finite"),
        ({"clip.vision.image_grid_pinpoints": [0, 0]}, (), "pair 1 is 0x0: each side must be in 1..16384"),
        ({"clip.vision.image_grid_pinpoints": [336, 672, 99999, 336]}, (), "pair 2 is 99999x336"),
        ({"clip.vision.spatial_merge_size": 0}, (), "spatial_merge_size must be an integer in 1..64"),
    ])
    def test_refused_with_one_line(self, tmp_path, extra, strings, message):
        path = tmp_path / "m.gguf"
        write_with_strings(path, llava16_keys(**extra), strings)
        for entry in (inspect_mmproj, preset_from_gguf):
            with pytest.raises(ParityError, match=message) as e:
                entry(path)
            assert "\n" not in str(e.value) and str(path) in str(e.value)

    def test_pinpoints_that_do_not_tile_warn(self, tmp_path):
        path = tmp_path / "m.gguf"
        write_mmproj(path, llava16_keys(**{"clip.vision.image_grid_pinpoints": [336, 672, 500, 500]}))
        warnings = inspect_mmproj(path)["warnings"]
        assert any("not multiples of clip.vision.image_size=336 (500x500)" in w for w in warnings)
        write_mmproj(path, llava16_keys())
        assert not any("not multiples" in w for w in inspect_mmproj(path)["warnings"])

    def test_special_paths(self, tmp_path):
        import os

        (tmp_path / "d.gguf").mkdir()
        os.mkfifo(tmp_path / "f.gguf")
        os.symlink(tmp_path / "l2.gguf", tmp_path / "l1.gguf")
        os.symlink(tmp_path / "l1.gguf", tmp_path / "l2.gguf")
        for name, message in (("d.gguf", "GGUF file path is a directory"), ("f.gguf", "not a regular file \\(a FIFO\\)"),
                              ("l1.gguf", "GGUF file path is a symlink loop")):
            with pytest.raises(ParityError, match=message):
                inspect_mmproj(tmp_path / name)

    @pytest.mark.parametrize("config, message", [
        ({"image_mean": "0.5"}, "image_mean must be a list of 3 numbers"),
        ({"image_std": [0.5, 0, 0.5]}, "image_std values must be finite and > 0"),
        ({"image_mean": [0.5, 0.5, 0.5, 0.5]}, "image_mean must have 3 values"),
        ({"size": {"height": "336"}}, "size.height must be an integer"),
        ({"size": 0}, "size must be an integer in 1.."),
        ({"patch_size": 14.0}, "patch_size must be an integer"),
        ({"merge_size": True}, "merge_size must be an integer"),
        ({"resample": 7}, "resample must be an integer in 0..5"),
        ({"image_grid_pinpoints": [[336, 0]]}, "image_grid_pinpoints must be a list of \\[height, width\\] pairs"),
        ({"image_grid_pinpoints": "336x672"}, "image_grid_pinpoints must be"),
    ])
    def test_hf_config_values(self, tmp_path, config, message):
        write_mmproj(tmp_path / "m.gguf", llava16_keys())
        (tmp_path / "c.json").write_text(json.dumps(config))
        with pytest.raises(ParityError, match=message) as e:
            inspect_mmproj(tmp_path / "m.gguf", tmp_path / "c.json")
        assert str(tmp_path / "c.json") in str(e.value)

    def test_hf_config_one_number_for_every_channel(self, tmp_path):
        write_mmproj(tmp_path / "m.gguf", llava16_keys(**{"clip.vision.image_mean": [0.5] * 3}))
        (tmp_path / "c.json").write_text(json.dumps({"image_mean": 0.5, "image_std": CLIP_STD}))
        assert inspect_mmproj(tmp_path / "m.gguf", tmp_path / "c.json")["disagreements"] == []

    @pytest.mark.parametrize("content, message", [("[]", "not a JSON object"), ("", "not valid JSON")])
    def test_hf_config_structure(self, tmp_path, content, message):
        write_mmproj(tmp_path / "m.gguf", llava16_keys())
        (tmp_path / "c.json").write_text(content)
        with pytest.raises(ParityError, match=message):
            inspect_mmproj(tmp_path / "m.gguf", tmp_path / "c.json")
