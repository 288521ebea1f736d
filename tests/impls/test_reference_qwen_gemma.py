"""``reference`` for the Qwen-VL, Gemma, Pixtral, Idefics3/SmolVLM and Phi-4-mm presets: each equals
the authors' own pipeline (qwen-vl-utils + processor, mistral-common, the Phi-4-mm remote code), and
the divergences from hf-* the tool must surface are there."""

import hashlib
import json
import re
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest
from conftest import make_rgb
from mistral_common.protocol.instruct.chunk import ImageChunk
from PIL import Image
from qwen_vl_utils import process_vision_info

from parity.errors import ParityError
from parity.impls import ImageInput, get_impl
from parity.impls.transformers_processors import make_processor
from parity.presets import get_preset

ORACLES = Path(__file__).parents[1] / "oracles"


def load_oracle(runtime, name, root=ORACLES):
    """An oracle recorded from the authors' real code, checked to have been recorded with the installed stack:
    hashes recorded under other versions prove nothing about this one, so a mismatch fails."""
    oracle = json.loads((root / runtime / name).read_text())
    recorded = oracle["versions"]
    installed = {k: version(k) for k in recorded}
    assert installed == recorded, (f"oracle tests/oracles/{runtime}/{name} was recorded with {recorded}, installed "
                                   f"{installed}: re-record it as tests/oracles/{runtime}/README.md says")
    return oracle


def test_an_oracle_recorded_with_other_versions_fails(tmp_path):
    (tmp_path / "gemma-library").mkdir()
    (tmp_path / "gemma-library" / "x.json").write_text(json.dumps({"versions": {"numpy": "0.0.1"}, "cases": []}))
    message = (f"oracle tests/oracles/gemma-library/x.json was recorded with {{'numpy': '0.0.1'}}, installed "
               f"{{'numpy': '{np.__version__}'}}: re-record it as tests/oracles/gemma-library/README.md says")
    with pytest.raises(AssertionError, match=re.escape(message)):
        load_oracle("gemma-library", "x.json", tmp_path)


def ref(name, rgb):
    return get_impl("reference").run(ImageInput("gen.png", rgb), get_preset(name))


def hf(name, rgb, backend="pil"):
    return get_impl(f"hf-{backend}").run(ImageInput("gen.png", rgb), get_preset(name))


# --- Qwen: qwen-vl-utils, then the processor --------------------------------------------------------

@pytest.mark.parametrize("name, size", [("qwen2-vl", (480, 640)), ("qwen2.5-vl", (13, 2600)),
                                        ("qwen3-vl", (28, 28)), ("qwen3-vl", (1, 150))])
def test_qwen_reference_is_the_model_card_pipeline(name, size):
    preset = get_preset(name)
    rgb = make_rgb(*size)
    messages = [{"role": "user", "content": [{"type": "image", "image": Image.fromarray(rgb)}]}]
    images, _ = process_vision_info(messages, image_patch_size=preset["patch_size"])
    out = make_processor(preset, "torchvision")(images, do_resize=preset["reference_processor_do_resize"],
                                                return_tensors="np")
    trace = ref(name, rgb)
    assert np.array_equal(trace["pack"].value, out["pixel_values"])
    assert np.array_equal(trace["image_grid_thw"].value, out["image_grid_thw"])
    assert np.array_equal(trace["resize"].value, np.asarray(images[0]))


def test_qwen_reference_resize_is_hf_pil_resize_for_photos():
    rgb = make_rgb(480, 640)
    r, h = ref("qwen2-vl", rgb), hf("qwen2-vl", rgb)
    assert r.plan == h.plan and np.array_equal(r["resize"].value, h["resize"].value)  # both PIL bicubic
    # the pack differs only by the normalization arithmetic of the two backends
    assert np.abs(r["pack"].value - h["pack"].value).max() < 1e-6


def test_qwen_divergences_from_hf_are_visible_in_the_plan():
    thin = make_rgb(13, 2600)
    assert ref("qwen2-vl", thin).plan["resized"] == [28, 2604]
    assert hf("qwen2-vl", thin).plan["resized"] == [28, 812]
    small = make_rgb(28, 28)  # qwen-vl-utils' 4-token floor, and Qwen3-VL's processor runs with do_resize=False
    assert ref("qwen3-vl", small).plan["image_grid_thw"] == [1, 4, 4]
    assert hf("qwen3-vl", small).plan["image_grid_thw"] == [1, 16, 16]


def test_qwen_refused_ratio_is_a_parity_error():
    with pytest.raises(ParityError, match="qwen-vl-utils refuses a 1x201"):
        ref("qwen2-vl", make_rgb(1, 201))


# --- Pixtral: mistral-common ------------------------------------------------------------------------

@pytest.mark.parametrize("size", [(480, 640), (1749, 1500), (1, 1), (1, 2000), (20, 160), (32, 48)])
def test_pixtral_reference_is_mistral_commons_image_encoder(size):
    from parity.impls.reference.pixtral import encoder

    rgb = make_rgb(*size)
    encoding = encoder(get_preset("pixtral"))(ImageChunk(image=Image.fromarray(rgb)))
    trace = ref("pixtral", rgb)
    assert trace["pack"].value.dtype == encoding.image.dtype == np.float32
    assert np.array_equal(trace["pack"].value, encoding.image)
    rows, cols = trace.plan["patch_grid"]
    assert len(encoding.tokens) == rows * (cols + 1)  # cols image tokens + a break/end token per row
    assert trace.plan["num_tokens"] == len(encoding.tokens)


def test_pixtral_divergences_from_hf():
    checker = np.indices((64, 64)).sum(0) % 2 * 255
    rgb = np.repeat(checker[..., None], 3, -1).astype(np.uint8)
    resized = ref("pixtral", np.kron(rgb, np.ones((3, 3, 1), np.uint8))[:150, :130])["resize"].value
    assert resized.dtype == np.float32 and (resized.min() < 0 or resized.max() > 255)  # OpenCV cubic, unclamped
    assert ref("pixtral", make_rgb(1, 2000)).plan["resized"] == [16, 1024]  # HF cannot resize this one
    with pytest.raises(ParityError, match="floors to 0"):
        hf("pixtral", make_rgb(1, 2000))


# --- Phi-4-mm: port of the remote code --------------------------------------------------------------

def oracle_rgb(h, w, seed):
    return np.random.default_rng(seed).integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def _oracle_cases(runtime, name):
    """The cases, read without the version check so that a mismatch fails inside each test, not at collection."""
    return json.loads((ORACLES / runtime / name).read_text())["cases"]


@pytest.mark.parametrize("case", _oracle_cases("phi4mm-remote-code", "preprocess.json"),
                         ids=lambda c: f"{c['h']}x{c['w']}")
def test_phi4mm_reference_equals_the_remote_code(case):
    load_oracle("phi4mm-remote-code", "preprocess.json")
    trace = ref("phi-4-multimodal", oracle_rgb(case["h"], case["w"], case["seed"]))
    pack, mask = trace["pack"].value, trace["image_attention_mask"].value
    assert list(pack.shape) == case["pack_shape"] and list(mask.shape) == case["mask_shape"]
    assert hashlib.sha256(np.ascontiguousarray(pack).tobytes()).hexdigest() == case["pack_sha256"]
    assert hashlib.sha256(np.ascontiguousarray(mask).tobytes()).hexdigest() == case["mask_sha256"]
    assert trace["image_sizes"].value.tolist() == [case["image_sizes"]]
    assert trace["num_img_tokens"].value.tolist() == [case["num_img_tokens"]]


@pytest.mark.parametrize("size", [(480, 640), (20, 160)])
def test_phi4mm_reference_vs_hf_torchvision(size):
    rgb = make_rgb(*size)
    r, t = ref("phi-4-multimodal", rgb), hf("phi-4-multimodal", rgb, "torchvision")
    assert r.plan == t.plan
    for side in ("image_sizes", "image_attention_mask", "num_img_tokens"):
        assert np.array_equal(r[side].value, t[side].value), side
    # HF resizes the uint8 tensor with torchvision's antialiased bilinear, the authors PIL's bilinear,
    # and HF normalizes fused: a few uint8 levels apart at most (1 level = 2/255 in [-1, 1] units)
    assert np.abs(r["pack"].value - t["pack"].value).max() <= 3 * 2 / 255


def test_phi4mm_thin_image_is_a_parity_error():
    with pytest.raises(ParityError, match="very extreme"):
        ref("phi-4-multimodal", make_rgb(2, 300))


# --- Gemma 3: port of Google DeepMind's gemma library (JAX) -----------------------------------------

@pytest.mark.parametrize("case", _oracle_cases("gemma-library", "gemma3_preprocess.json"),
                         ids=lambda c: f"{c['h']}x{c['w']}")
def test_gemma3_reference_equals_the_gemma_library(case):
    load_oracle("gemma-library", "gemma3_preprocess.json")
    pack = ref("gemma-3", oracle_rgb(case["h"], case["w"], case["seed"]))["pack"].value
    assert list(pack.shape) == case["pack_shape"]
    assert hashlib.sha256(np.ascontiguousarray(pack).tobytes()).hexdigest() == case["pack_sha256"]


def test_gemma3_reference_vs_hf_pil():
    rgb = make_rgb(480, 640)
    r, h = ref("gemma-3", rgb), hf("gemma-3", rgb)
    assert r.plan == h.plan
    assert r["resize"].value.dtype == np.float32  # JAX's resize result is never rounded to uint8
    authors = r["normalize"].value.transpose(2, 0, 1)  # the library works in HWC
    hf_image = h["pack"].value[0]
    diff = np.abs(authors - hf_image)
    # JAX's antialiased bilinear on floats vs PIL's on uint8: measured 0.93 uint8 levels at most on this
    # image (1 level = 2/255 in [-1, 1] units), mostly PIL's rounding to uint8
    assert 0 < diff.max() <= 2 / 255
    patches = r["pack"].value.reshape(64, 64, 14, 14, 3)  # (ph, pw, py, px, c): row-major patches of HWC
    assert np.array_equal(patches[1, 2, 3, 4], r["normalize"].value[14 + 3, 28 + 4])


# --- Gemma 4: port of the gemma library (numpy + PIL) -----------------------------------------------

@pytest.mark.parametrize("case", _oracle_cases("gemma-library", "gemma4_preprocess.json"),
                         ids=lambda c: f"{c['h']}x{c['w']}")
def test_gemma4_reference_equals_the_gemma_library(case):
    load_oracle("gemma-library", "gemma4_preprocess.json")
    trace = ref("gemma-4", oracle_rgb(case["h"], case["w"], case["seed"]))
    n = case["num_patches"]
    assert trace.plan["resized"] == case["resized"] and trace.plan["num_patches"] == n
    patches, positions = trace["pack"].value, trace["image_position_ids"].value
    assert hashlib.sha256(np.ascontiguousarray(patches[:n]).tobytes()).hexdigest() == case["patches_sha256"]
    assert hashlib.sha256(np.ascontiguousarray(positions[:n]).tobytes()).hexdigest() == case["positions_sha256"]
    assert not patches[n:].any() and (positions[n:] == -1).all()


def test_gemma4_reference_budget_differs_from_hf():
    rgb = make_rgb(480, 640)
    r, h = ref("gemma-4", rgb), hf("gemma-4", rgb)
    assert r.plan["max_patches"] == 1120 * 9 and h.plan["max_patches"] == 280 * 9
    assert r.plan["num_embeddings"] > 3 * h.plan["num_embeddings"]


# --- Idefics3 / SmolVLM: the authors' own HF processor (PIL backend) ----------------------------------

@pytest.mark.parametrize("name, size", [("idefics3", (2, 300)), ("smolvlm", (160, 20))])
def test_stand_in_references_equal_hf_pil(name, size):
    rgb = make_rgb(*size)
    r, h = ref(name, rgb), hf(name, rgb)
    assert r.plan == h.plan
    assert np.array_equal(r["pack"].value, h["pack"].value)
    assert "PIL" in r.impl_version or "Pil" in r.impl_version
