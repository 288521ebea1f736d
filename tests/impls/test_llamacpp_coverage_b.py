"""The ``llamacpp`` impl (mtmd 0c1e570) for the issue-15 part-B projectors -- lfm2, glm4v, deepseekocr(2),
nemotron_v2_vl, and the step3vl preprocessor -- against the real C++ (tests/oracles/llamacpp/coverage_b.json:
clip.cpp load_hparams and mtmd-image.cpp run unchanged on mmproj files with the presets' gguf overlays)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from parity.impls.base import ImageInput
from parity.impls.llamacpp import LlamaCppImpl
from parity.impls.llamacpp.hparams import ClipHparams, hparams_from_gguf
from parity.impls.llamacpp.step3vl import plan_step3vl, preprocess_step3vl
from parity.presets import get_preset, preset_from_dict

ORACLE = json.loads((Path(__file__).parents[1] / "oracles" / "llamacpp" / "coverage_b.json").read_text())
CASES = ORACLE["cases"]
IMPL = LlamaCppImpl()
ALGO = {0: "bilinear", 1: "bicubic", 2: "lanczos"}
PAD = {0: "none", 1: "ceil", 2: "nearest"}


def synthetic(w: int, h: int) -> np.ndarray:
    """The oracle's input (coverage_b.json 'image')."""
    y, x, c = np.meshgrid(np.arange(h), np.arange(w), np.arange(3), indexing="ij")
    return ((x * 11 + y * 5 + c * 70 + (x * y % 23) * 3) % 256).astype(np.uint8)


def _id(case) -> str:
    return f"{case['preset']}-{case['image_wh'][0]}x{case['image_wh'][1]}"


def _planar_sha(chunks) -> tuple[int, str]:
    raw = b"".join(np.ascontiguousarray(c, dtype="<f4").tobytes() for c in chunks)
    return len(raw), hashlib.sha256(raw).hexdigest()


def _step3_hparams(case) -> ClipHparams:
    """step3vl's hparams as clip.cpp made them (the preprocessor alone, beside the impl's own run below)."""
    hp = case["clip_hparams"]
    return ClipHparams(projector="step3vl", preprocessor="step3vl", image_size=hp["image_size"],
                       patch_size=hp["patch_size"], image_mean=tuple(hp["mean"]), image_std=tuple(hp["std"]),
                       n_merge=hp["n_merge"], image_longest_edge=hp["longest_edge"])


WIRED = CASES
STEP3 = [c for c in CASES if c["preset"] == "step3-vl"]


@pytest.mark.parametrize("preset", sorted({c["preset"] for c in CASES} - {"deepseekocr2-keys"}))  # (no preset)
def test_overlay_is_what_was_recorded(preset):
    """The preset's gguf overlay writes exactly the keys the C++ was run with."""
    recorded = {json.dumps(c["gguf"], sort_keys=True) for c in CASES if c["preset"] == preset}
    assert recorded == {json.dumps(dict(get_preset(preset).clip_metadata()), sort_keys=True)}


@pytest.mark.parametrize("case", WIRED, ids=_id)
def test_inp_raw_equals_cpp(case):
    preset = preset_from_dict({"name": case["preset"], "family": "test",
                               "values": {k: {"value": v, "source": "oracle"} for k, v in case["gguf"].items()}})
    w, h = case["image_wh"]
    trace = IMPL.run(ImageInput("x.png", injected=synthetic(w, h)), preset)
    pack = trace["pack"].value
    chunks = pack if isinstance(pack, tuple) else tuple(pack)
    assert [[c.shape[2], c.shape[1]] for c in chunks] == case["chunks_wh"]
    assert _planar_sha(chunks) == (case["inp_raw_nbytes"], case["inp_raw_sha256"])
    assert trace.plan["num_images"] == len(case["chunks_wh"])
    assert trace.plan["num_embeddings"] == sum(case["chunk_tokens"])  # the real clip_n_output_tokens per chunk


@pytest.mark.parametrize("case", WIRED[::3], ids=_id)
def test_hparams_equal_clip_cpp(case):
    hp, want = hparams_from_gguf(case["gguf"]), case["clip_hparams"]
    assert (hp.n_merge, hp.image_size, hp.patch_size) == (want["n_merge"], want["image_size"], want["patch_size"])
    assert (hp.image_min_pixels, hp.image_max_pixels) == (want["min_pixels"], want["max_pixels"])
    assert (hp.resize_algo, hp.resize_pad) == (ALGO[want["resize_algo"]], PAD[want["resize_pad"]])
    assert (hp.resize_algo_rf, hp.resize_algo_ov) == (ALGO[want["algo_rf"]], ALGO[want["algo_ov"]])
    assert list(hp.pad_color) == want["pad_color"]
    assert (hp.preproc_min_tiles, hp.preproc_max_tiles, hp.preproc_tile_size) == (
        want["min_tiles"], want["max_tiles"], want["tile_size"])
    assert np.float32(hp.image_mean).tolist() == np.float32(want["mean"]).tolist()


@pytest.mark.parametrize("case", STEP3, ids=_id)
def test_step3vl_preprocessor_equals_cpp(case):
    w, h = case["image_wh"]
    out = preprocess_step3vl(synthetic(w, h), _step3_hparams(case))
    chunks = tuple(np.ascontiguousarray(x.transpose(2, 0, 1)) for x in out.normalized)
    assert [[c.shape[2], c.shape[1]] for c in chunks] == case["chunks_wh"]
    assert _planar_sha(chunks) == (case["inp_raw_nbytes"], case["inp_raw_sha256"])
    assert out.plan["grid"] == case["grid_xy"]
    plan = plan_step3vl((h, w), out, _step3_hparams(case))
    assert plan.num_images == len(case["chunks_wh"]) and plan.num_embeddings == sum(case["chunk_tokens"])


class TestDivergencesShown:
    """What the llamacpp geometry does differently from transformers on the same presets (from the C++)."""

    def test_lfm2_rounds_half_away_from_zero(self):
        case = next(c for c in CASES if c["preset"] == "lfm2-vl" and c["image_wh"] == [400, 300])
        assert case["chunks_wh"] == [[416, 288]]  # transformers: 384 wide (round half to even)

    def test_lfm2_tile_grid_is_padded_not_stretched(self):
        trace = IMPL.run(ImageInput("x.png", injected=synthetic(1000, 700)), get_preset("lfm2-vl"))
        assert trace.plan["canvas"] == [1024, 1536] and trace.plan["resized"] != trace.plan["canvas"]

    def test_deepseekocr_fuses_tile_rows(self):
        case = next(c for c in CASES if c["preset"] == "deepseek-ocr" and c["image_wh"] == [1000, 700])
        assert case["chunks_wh"] == [[640, 1920], [640, 1920], [1024, 1024]]  # 2 rows of 3 tiles, then the view

    def test_nemotron_is_one_fixed_square(self):
        trace = IMPL.run(ImageInput("x.png", injected=synthetic(1000, 700)), get_preset("nemotron-nano-vl-12b-v2"))
        assert trace.plan["mode"] == "fixed" and trace.plan["num_images"] == 1 and trace.plan["canvas"] == [512, 512]

    def test_glm_uses_qwen_token_limits(self):
        hp = hparams_from_gguf(dict(get_preset("glm-ocr").overlay("gguf")))
        assert (hp.image_min_pixels, hp.image_max_pixels) == (8 * 28 * 28, 4096 * 28 * 28)
