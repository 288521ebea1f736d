"""``reference`` for llava-1.5, mobilevlm, llava-1.6, granite-vision-3.1, llama-3.2-vision, llama-4
and minicpm-v-2.6: the authors' own code (llava-torch, llama-models) or a port checked against the
real remote code, and the divergences from transformers that the traces must show."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import make_rgb

from parity.errors import ParityError
from parity.impls import ImageInput, get_impl
from parity.presets import get_preset

ORACLES = Path(__file__).parents[1] / "oracles"


def run(impl: str, preset: str, rgb: np.ndarray):
    return get_impl(impl).run(ImageInput("x.png", rgb), get_preset(preset))


def same_bits(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


# --- llava-1.5 / mobilevlm: expand2square with the mean colour (llava-hf does not) ---

@pytest.mark.parametrize("preset", ["llava-1.5", "mobilevlm"])
def test_reference_pads_to_square_with_mean_colour(preset):
    rgb = make_rgb(48, 80)
    ref, hf = run("reference", preset, rgb), run("hf-pil", preset, rgb)
    assert ref.plan["padded_square"] == [80, 80] and ref.plan["pad_offset"] == [16, 0]
    pad = ref["pad"].value
    assert pad.shape == (80, 80, 3) and (pad[:16] == get_preset(preset)["pad_value"]).all()
    assert (pad[16:64] == rgb).all()
    # the finding: transformers' checkpoint config crops instead; plan and pad show it
    assert hf.plan["padded_square"] == [48, 80] and "pad" not in hf
    assert not same_bits(ref["pack"].value, hf["pack"].value)
    # the stages in between are the same processor's steps: they reproduce the real pack
    assert same_bits(ref["normalize"].value, ref["pack"].value[0])


def test_reference_equals_hf_on_a_square_image():
    rgb = make_rgb(100, 100)  # nothing to pad: both pipelines are the same CLIP processor
    assert same_bits(run("reference", "llava-1.5", rgb)["pack"].value, run("hf-pil", "llava-1.5", rgb)["pack"].value)


# --- llava-1.6 / granite: the LLaVA repo's anyres ---

def test_llava_next_reference_equals_hf_pil_when_no_tie():
    rgb = make_rgb(480, 640)
    ref, hf = run("reference", "llava-1.6", rgb), run("hf-pil", "llava-1.6", rgb)
    assert ref.plan == hf.plan
    for stage in ("resize", "pad", "tiles", "pack", "image_sizes"):
        assert same_bits(ref[stage].value, hf[stage].value), stage


@pytest.mark.parametrize("h, w", [(161, 184), (1, 1), (20, 30)])
def test_llava_next_pinpoint_order_finding(h, w):
    # LLaVA reads pinpoints as (w, h), transformers as (h, w): on exact ties they pick transposes
    rgb = make_rgb(h, w)
    ref, hf = run("reference", "llava-1.6", rgb), run("hf-pil", "llava-1.6", rgb)
    assert ref.plan["best_resolution"] == [672, 336] and hf.plan["best_resolution"] == [336, 672]
    assert ref.plan["grid"] == [2, 1] and hf.plan["grid"] == [1, 2]
    assert ref["pad"].shape != hf["pad"].shape


@pytest.mark.parametrize("preset", ["llava-1.6", "granite-vision-3.1"])
def test_llava_next_reference_stages_reproduce_its_pack(preset):
    from parity.impls.reference.llava import clip_processor

    p = get_preset(preset)
    trace = run("reference", preset, make_rgb(300, 500))
    proc = clip_processor(p)
    tiles = trace["tiles"].value
    expected = np.stack([proc.normalize(proc.rescale(t, proc.rescale_factor), proc.image_mean, proc.image_std)
                         for t in tiles])
    assert same_bits(expected, trace["pack"].value)
    top, left = trace.plan["pad_offset"]
    h, w = trace.plan["resized"]
    assert same_bits(trace["pad"].value[top:top + h, left:left + w], trace["resize"].value)


# --- llama-3.2-vision: llama-models' VariableSizeImageTransform ---

@pytest.mark.parametrize("h, w", [(480, 640), (27, 27), (700, 500)])
def test_mllama_reference_equals_hf_pil(h, w):
    rgb = make_rgb(h, w)
    ref, hf = run("reference", "llama-3.2-vision", rgb), run("hf-pil", "llama-3.2-vision", rgb)
    assert ref.plan == hf.plan
    # llama-models computes no aspect-ratio id (its tile embedding is indexed by (rows, cols) directly):
    # the reference's id is transformers' encoding of the same grid, so they agree whenever the grid does
    assert "aspect_ratio_id" in ref["plan"].note
    for stage in ("resize", "pad", "pack"):
        assert same_bits(ref[stage].value, hf[stage].value), stage
    assert same_bits(ref["tiles"].value, ref["pack"].value)


# --- llama-4: llama-models (float32, Python ints) vs transformers (bfloat16, torch ints) ---

def test_llama4_reference_vs_hf():
    rgb = make_rgb(480, 640)
    ref, hf = run("reference", "llama-4", rgb), run("hf-torchvision", "llama-4", rgb)
    assert ref.plan == hf.plan and ref["pack"].shape == hf["pack"].shape == (5, 3, 336, 336)
    assert same_bits(ref["aspect_ratios"].value, hf["aspect_ratios"].value)
    # transformers normalizes in bfloat16: at most a few bfloat16 steps from the float32 reference
    diff = np.abs(ref["normalize"].value - hf["normalize"].value)
    assert 0 < diff.max() < 0.02


def test_llama4_resize_size_finding():
    # transformers fits with float32 scales (0-d tensors), llama-models with float64: one pixel apart
    rgb = make_rgb(400, 4700)
    ref, hf = run("reference", "llama-4", rgb), run("hf-torchvision", "llama-4", rgb)
    assert ref.plan["canvas"] == hf.plan["canvas"] == [336, 4032]
    assert ref.plan["resized"] == [336, 3948] and hf.plan["resized"] == [336, 3947]
    assert ref["resize"].shape == (336, 3948, 3) and hf["resize"].shape == (336, 3947, 3)


# --- minicpm-v-2.6: port of the remote code, against bytes recorded from it ---

def oracle_rgb(h: int, w: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1), (x * 7 + y * 13) % 256], -1).astype(np.uint8)


ORACLE = json.loads((ORACLES / "minicpmv" / "remote_code_v2_5.json").read_text())


@pytest.mark.parametrize("case", ORACLE, ids=[f"{c['h']}x{c['w']}" for c in ORACLE])
def test_minicpmv_port_equals_remote_code(case):
    rgb = oracle_rgb(case["h"], case["w"])
    if "error" in case:
        with pytest.raises(ParityError, match="infers the channel axis"):
            run("reference", "minicpm-v-2.6", rgb)
        return
    trace = run("reference", "minicpm-v-2.6", rgb)
    pack = trace["pack"].value
    assert len(pack) == case["num_slices"] == trace.plan["num_images"]
    assert trace["tgt_sizes"].value.tolist() == case["tgt_sizes"] == [list(t) for t in trace.plan["tgt_sizes"]]
    assert trace["image_sizes"].value.tolist() == case["image_sizes"][0]  # recorded per batch
    assert hashlib.sha256(b"".join(np.ascontiguousarray(a).tobytes() for a in pack)).hexdigest() == case["pack_sha256"]
