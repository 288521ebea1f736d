"""``ollama`` impl: Ollama f63eea3's Go preprocessing, pinned by recorded Go outputs and Go's own tests.

- geometry cases copied from Ollama's own unit tests (``model/models/mllama/process_image_test.go``,
  ``model/models/llama4/process_image_test.go`` @ f63eea3);
- the Go decoder's premultiplication and ``imageproc.Composite`` on a semi-transparent pixel;
- bit-exact agreement with outputs recorded from the real Go code (tests/oracles/ollama/): generated PNGs
  (``cases.json``) and, through Go 1.26's image/jpeg, every JPEG fixture and a sample of the JPEG corpus
  (``jpeg_cases.json``: every pipeline, decode included).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from parity.decode.go import composite_over_white, decode_go
from parity.errors import ParityError
from parity.impls import IMPLS, ImageInput
from parity.impls.ollama import OllamaImpl
from parity.impls.ollama import llama4 as ol_llama4
from parity.impls.ollama import mllama as ol_mllama
from parity.impls.ollama.qwen import smart_resize_ollama
from parity.presets import get_preset, preset_from_dict

ORACLE_DIR = Path(__file__).parents[1] / "oracles" / "ollama"
ORACLE = json.loads((ORACLE_DIR / "cases.json").read_text())
JPEG_ORACLE = json.loads((ORACLE_DIR / "jpeg_cases.json").read_text())["cases"]
FIXTURES = Path(__file__).parents[2] / "fixtures" / "images"
IMPL = OllamaImpl()


def _sha256(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def _write_oracle_png(tmp_path, image: dict) -> str:
    import importlib.util

    spec = importlib.util.spec_from_file_location("ollama_oracle_images", ORACLE_DIR / "images.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.write_png(str(tmp_path / f"{image['kind']}.png"), image["kind"], image["h"], image["w"], image["seed"])


class TestRegistry:
    def test_registered_with_commit(self):
        assert "ollama" in IMPLS
        assert IMPLS["ollama"].version == "ollama f63eea3 (x/image v0.22.0)"

    @pytest.mark.parametrize("name", ["llama-3.2-vision", "gemma-3", "qwen2.5-vl", "qwen3-vl", "llama-4"])
    def test_supports_engine_models(self, name):
        assert IMPL.supports(get_preset(name)) is None

    def test_refuses_models_the_engine_lacks(self):
        assert "qwen25vl" in IMPL.supports(get_preset("qwen2-vl"))
        assert "no pipeline" in IMPL.supports(get_preset("llava-1.5"))


class TestMllamaGeometryFromOllamaTests:
    """TestSupportedAspectRatios, TestFitToCanvas, TestOptimalTiledCanvas, TestResize (Point = (X, Y))."""

    @pytest.mark.parametrize("max_tiles, want", [
        (1, [(1, 1)]),
        (2, [(1, 1), (1, 2), (2, 1)]),
        (3, [(1, 1), (1, 2), (1, 3), (2, 1), (3, 1)]),
        (4, [(1, 1), (1, 2), (1, 3), (1, 4), (2, 1), (2, 2), (3, 1), (4, 1)]),
    ])
    def test_supported_aspect_ratios(self, max_tiles, want):
        assert ol_mllama.supported_aspect_ratios(max_tiles) == want

    @pytest.mark.parametrize("tile, image, canvas, want", [
        (200, (400, 400), (640, 480), (400, 400)),
        (200, (1024, 768), (640, 480), (640, 480)),
        (750, (500, 500), (1000, 1000), (750, 750)),
        (2000, (500, 1000), (2000, 2000), (1000, 2000)),
        (1000, (4000, 3000), (2000, 1000), (1333, 1000)),
        (560, (667, 1000), (1000, 1000), (667, 1000)),
    ])
    def test_fit_to_canvas(self, tile, image, canvas, want):
        assert ol_mllama.fit_to_canvas(*image, *canvas, tile) == want

    @pytest.mark.parametrize("tile, image, want", [
        (1000, (1024, 768), (2000, 1000)),
        (560, (1024, 768), (1120, 1120)), (560, (800, 600), (1120, 1120)), (560, (640, 480), (1120, 560)),
        (560, (320, 200), (560, 560)), (560, (1320, 200), (1680, 560)), (560, (2000, 200), (2240, 560)),
        (560, (10000, 200), (2240, 560)), (560, (480, 640), (560, 1120)), (560, (200, 320), (560, 560)),
        (560, (200, 1320), (560, 1680)), (560, (200, 2000), (560, 2240)), (560, (200, 10000), (560, 2240)),
        (560, (10000, 10000), (1120, 1120)),
    ])
    def test_optimal_tiled_canvas(self, tile, image, want):
        assert ol_mllama.optimal_tiled_canvas(*image, tile, 4) == want

    @pytest.mark.parametrize("max_tiles, tile, image, resized, ratio", [
        (1, 100, (200, 200), (100, 100), (1, 1)), (2, 100, (200, 200), (100, 100), (1, 1)),
        (4, 560, (10, 10), (560, 560), (1, 1)), (4, 560, (2560, 1920), (1120, 840), (2, 2)),
        (4, 560, (1024, 768), (1024, 768), (2, 2)),
    ])
    def test_resize_decision(self, max_tiles, tile, image, resized, ratio):
        plan = ol_mllama.plan_mllama(image[1], image[0], tile, max_tiles, 14)
        assert plan["resized"] == [resized[1], resized[0]]
        assert plan["grid"] == [ratio[1], ratio[0]]

    def test_aspect_ratio_id_is_ollamas_rank_not_transformers_index(self):
        # A 1-row x 2-column grid is (w=2, h=1): rank 5 in Ollama's list; transformers' id is 2.
        plan = ol_mllama.plan_mllama(300, 900, 560, 4, 14)
        assert plan["grid"] == [1, 2] and plan["aspect_ratio_id"] == 5

    def test_extreme_aspect_resizes_to_zero_rows(self):
        # fitToCanvas floors 1 * (2240 / 2999) to 0 (transformers keeps at least 1); checked against the
        # Go oracle: the resized image is empty and every tile is the normalized zero canvas.
        assert ol_mllama.plan_mllama(1, 2999, 560, 4, 14)["resized"] == [0, 2240]

    def test_plan_keys_match_transformers_plan(self):
        from transformers.models.mllama import image_processing_mllama as mod

        from parity.impls.hf.mllama import _plan

        ours, hf = ol_mllama.plan_mllama(1749, 1500, 560, 4, 14), _plan(mod, 1749, 1500, 560, 4, 14)
        assert list(ours) == list(hf)
        # Ollama passes no cross-attention mask: the text attends all 4 tiles, transformers the real ones
        assert ours["cross_attention_tokens"] == 4 * 1601 and hf["cross_attention_tokens"] == 4 * 1601
        assert ol_mllama.plan_mllama(480, 640, 560, 4, 14)["cross_attention_tokens"] == 4 * 1601


class TestLlama4GeometryFromOllamaTests:
    @pytest.mark.parametrize("n, want", [(1, [1]), (2, [1, 2]), (6, [1, 2, 3, 6]), (28, [1, 2, 4, 7, 14, 28]),
                                         (49, [1, 7, 49]), (97, [1, 97])])
    def test_factors(self, n, want):
        assert ol_llama4.factors(n) == want

    def test_supported_resolutions_patch_16(self):
        got = sorted(ol_llama4.supported_resolutions(16, 336))
        assert len(got) == 50 and len(set(got)) == 50
        assert (3360, 336) in got and (1344, 1344) in got and (672, 2352) in got and (5376, 336) in got

    @pytest.mark.parametrize("size, want", [((800, 600), (800, 600)), ((1000, 700), (1024, 768)),
                                            ((100, 100), (300, 200)), ((10000, 10000), (1600, 1200))])
    def test_best_resolution(self, size, want):
        res = [(300, 200), (640, 480), (800, 600), (1024, 768), (1600, 1200)]
        assert ol_llama4.best_resolution(*size, res)[0] == want

    @pytest.mark.parametrize("orig, target, want", [((800, 600), (800, 600), (800, 600)),
                                                    ((800, 600), (1100, 700), (933, 700))])
    def test_max_resolution(self, orig, target, want):
        assert ol_llama4.max_resolution(*orig, *target) == want


class TestQwenSmartResize:
    def test_ollama_budget_is_2_mebipixels(self):
        h, w = smart_resize_ollama(1749, 1500, 28, 56 * 56, 2 << 20)
        assert (h, w) == (1540, 1316) and h * w <= 2 << 20

    def test_below_factor_is_the_go_panic(self):
        with pytest.raises(ParityError, match="must be larger than factor:28"):
            smart_resize_ollama(27, 500, 28, 3136, 2 << 20)


class TestGoDecode:
    def test_semi_transparent_pixel_premultiplied_as_go(self, tmp_path):
        path = tmp_path / "px.png"
        Image.fromarray(np.array([[[200, 100, 50, 128]]], dtype=np.uint8), "RGBA").save(path)
        img = decode_go(str(path))
        assert img.go_type == "*image.NRGBA"
        # color.NRGBA.RGBA: c * 0x101 * a / 0xff (integer division); alpha a * 0x101
        assert img.rgba64[0, 0].tolist() == [200 * 0x101 * 128 // 0xFF, 100 * 0x101 * 128 // 0xFF,
                                             50 * 0x101 * 128 // 0xFF, 128 * 0x101]
        # imageproc.Composite: (255 * (0xffff - a) * 0x101 / 0xffff + c) >> 8
        keep = 255 * ((0xFFFF - 128 * 0x101) * 0x101) // 0xFFFF
        want = [(keep + v * 0x101 * 128 // 0xFF) >> 8 for v in (200, 100, 50)]
        # [228, 177, 152]: recorded from the Go oracle (imageproc.Composite on this pixel)
        assert composite_over_white(img)[0, 0, :3].tolist() == want == [228, 177, 152]

    def test_gif_is_go_unknown_format(self, tmp_path):
        path = tmp_path / "a.gif"
        Image.new("RGB", (4, 4)).save(path)
        with pytest.raises(ParityError, match="image: unknown format"):
            IMPL.run(ImageInput(str(path)), get_preset("llama-3.2-vision"))

    def test_jpeg_decode_is_exact_go(self, image_file):
        trace = IMPL.run(ImageInput(image_file(40, 30, fmt="jpeg")), get_preset("gemma-3"))
        assert trace["decode"].approximate is None and trace["resize"].approximate is None
        assert "*image.YCbCr" in trace["decode"].note

    def test_jpeg_generations_differ(self):
        path = str(FIXTURES / "photo_640x427.jpg")
        assert (decode_go(path, jpeg="go1.25").pixels != decode_go(path, jpeg="go1.26").pixels).any()

    def test_injected_decode_is_an_opaque_rgba(self, image_file):
        path = image_file(37, 53)
        rgb = np.asarray(Image.open(path).convert("RGB"))
        a = IMPL.run(ImageInput(path), get_preset("llama-3.2-vision"))
        b = IMPL.run(ImageInput(path, injected=rgb), get_preset("llama-3.2-vision"))
        assert a["pack"].sha256 == b["pack"].sha256


class TestAlphaPolicy:
    def test_mllama_is_over_black_gemma3_over_white(self, tmp_path):
        path = tmp_path / "clear.png"
        Image.new("RGBA", (8, 8), (10, 200, 30, 0)).save(path)
        mllama = IMPL.run(ImageInput(str(path)), get_preset("llama-3.2-vision"))
        gemma3 = IMPL.run(ImageInput(str(path)), get_preset("gemma-3"))
        assert (mllama["decode"].value == 0).all() and (mllama["resize"].value == 0).all()
        assert (gemma3["decode"].value == 255).all() and (gemma3["resize"].value == 255).all()


class TestMllamaTrace:
    def test_stages_and_layouts(self, image_file):
        trace = IMPL.run(ImageInput(image_file(300, 900)), get_preset("llama-3.2-vision"))
        assert trace.names[:7] == ["decode", "plan", "resize", "pad", "tiles", "normalize", "pack"]
        assert trace["tiles"].shape == (2, 3, 560, 560) and trace["tiles"].dtype == "uint8"
        pack = trace["pack"].value
        assert pack.shape == (4, 3, 560, 560) and pack.dtype == np.float32
        assert (pack[2:] == 0).all()  # EncodeMultimodal zero-fills to max_num_tiles
        assert trace["aspect_ratio_ids"].value.tolist() == [[5]]


@pytest.mark.parametrize("case", ORACLE["cases"], ids=lambda c: f"{c['model']}-{c['image']['kind']}-"
                                                           f"{c['image']['h']}x{c['image']['w']}")
def test_recorded_go_output(tmp_path, case):
    path = _write_oracle_png(tmp_path, case["image"])
    values = {k: {"value": v, "source": "recorded oracle config"} for k, v in case["values"].items()}
    preset = preset_from_dict({"name": f"oracle-{case['model']}", "family": case["family"], "values": values})
    exp = case["expect"]
    if "go_failure" in exp:
        with pytest.raises(ParityError, match=exp["go_failure"].split(":")[0]):
            IMPL.run(ImageInput(path), preset)
        return
    img = decode_go(path)
    assert img.go_type == exp["go_type"]
    assert _sha256(img.rgba64.astype("<u2")) == exp["decode_rgba64_sha256"]
    trace = IMPL.run(ImageInput(path), preset)
    if "resize_rgb_sha256" in exp:
        assert list(trace["resize"].shape[:2]) == exp["resize_hw"]
        assert _sha256(trace["resize"].value) == exp["resize_rgb_sha256"]
    assert_process_image_outputs(trace, case["model"], exp)


def assert_process_image_outputs(trace, model: str, exp: dict) -> None:
    """The recorded outputs of Go's ProcessImage: its float32 output (mllama's unpadded tiles, llama4's whole
    local canvas, the others' pack), llama4's global tile, mllama's aspect ratio id, Qwen's grid."""
    go_pack = {"mllama": "normalize", "llama4": "normalize"}.get(model, "pack")
    assert _sha256(trace[go_pack].value.astype("<f4")) == exp["pack_f32_sha256"]
    if "global_f32_sha256" in exp:
        assert _sha256(trace["pack"].value[-1].astype("<f4")) == exp["global_f32_sha256"]
    if "aspect" in exp:
        assert trace.plan["aspect_ratio_id"] == exp["aspect"][0]
    if "grid" in exp:
        assert trace["image_grid_thw"].value[0].tolist() == exp["grid"]


@pytest.mark.parametrize("case", JPEG_ORACLE, ids=lambda c: f"{c['model']}-{c['image']['file']}")
def test_recorded_go_jpeg_pipeline(case, jpeg_corpus):
    """Ollama's real ProcessImage (Go 1.26.0, x/image v0.22.0) on JPEGs: decode and output bit-exact."""
    image = case["image"]
    path = (FIXTURES if image["source"] == "fixtures" else jpeg_corpus) / image["file"]
    assert _sha256(np.frombuffer(path.read_bytes(), np.uint8)) == image["sha256"], "input file changed"
    values = {k: {"value": v, "source": "recorded oracle config"} for k, v in case["values"].items()}
    preset = preset_from_dict({"name": f"oracle-{case['model']}", "family": case["family"], "values": values})
    exp = case["expect"]
    img = decode_go(str(path))
    assert img.go_type == exp["go_type"] and (img.ratio or "").replace(":", "") == exp.get("ratio", "")
    assert _sha256(img.rgba64.astype("<u2")) == exp["decode_rgba64_sha256"]
    if "go_failure" in exp:
        with pytest.raises(ParityError, match=exp["go_failure"].split(":")[0]):
            IMPL.run(ImageInput(str(path)), preset)
        return
    trace = IMPL.run(ImageInput(str(path)), preset)
    assert trace["decode"].approximate is None
    assert_process_image_outputs(trace, case["model"], exp)
    if "size" in exp:  # Go's (width, height): llama4's canvas, the others' resized image
        key = "canvas" if case["model"] == "llama4" else "resized"
        assert trace.plan[key] == [exp["size"][1], exp["size"][0]]
