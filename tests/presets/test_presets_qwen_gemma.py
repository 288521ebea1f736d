"""The Qwen-VL, Gemma, Pixtral, Idefics3/SmolVLM and Phi-4-mm presets: data with a source per value,
consistent with the processor config and with the authors' packages, and every impl that supports
them runs on a 1500x1749 and a 640x480 photo."""

import numpy as np
import pytest
from conftest import make_rgb
from mistral_common.tokens.tokenizers import image as mc
from qwen_vl_utils import vision_process as qvu

from parity.impls import ImageInput, get_impl
from parity.impls.transformers_processors import make_processor
from parity.presets import get_preset

PRESETS = {"qwen2-vl": "qwen2-vl", "qwen2.5-vl": "qwen2-vl", "qwen3-vl": "qwen3-vl", "gemma-3": "gemma3",
           "gemma-4": "gemma4", "pixtral": "pixtral", "idefics3": "idefics3", "smolvlm": "idefics3",
           "phi-4-multimodal": "phi4mm"}
IMPLS = ("reference", "hf-pil", "hf-torchvision")


@pytest.mark.parametrize("name", PRESETS)
def test_preset_is_data_with_sources(name):
    p = get_preset(name)
    assert p.family == PRESETS[name] and p.checkpoint and p.description
    assert p.hf_processor and p.hf_source and p.hf_config.get("image_processor_type")
    assert p.values and all(p.sources[k].strip() for k in p.values), "every value needs a source"


@pytest.mark.parametrize("name", PRESETS)
def test_values_agree_with_the_processor_config(name):
    p = get_preset(name)
    backend = "torchvision" if name == "phi-4-multimodal" else "pil"
    proc = make_processor(p, backend)
    if "image_mean" in p.values:
        assert list(proc.image_mean) == p["image_mean"] and list(proc.image_std) == p["image_std"]
    if p.family in ("qwen2-vl", "qwen3-vl"):
        assert (proc.patch_size, proc.merge_size, proc.temporal_patch_size) == (
            p["patch_size"], p["merge_size"], p["temporal_patch_size"])
        assert (proc.size["shortest_edge"], proc.size["longest_edge"]) == (p["min_pixels"], p["max_pixels"])
    elif p.family == "gemma3":
        assert (proc.size["height"], proc.size["width"]) == (p["image_size"], p["image_size"])
        assert not proc.do_pan_and_scan and not p["do_pan_and_scan"]
    elif p.family == "gemma4":
        assert (proc.patch_size, proc.max_soft_tokens, proc.pooling_kernel_size) == (
            p["patch_size"], p["max_soft_tokens"], p["pooling_kernel_size"])
    elif p.family == "pixtral":
        assert proc.size["longest_edge"] == p["max_image_size"] and proc.patch_size["height"] == p["patch_size"]
    elif p.family == "idefics3":
        assert proc.max_image_size["longest_edge"] == p["tile_size"] and proc.size["longest_edge"] == p["longest_edge"]
        assert proc.resample == 1  # PIL LANCZOS
    elif p.family == "phi4mm":
        assert (proc.size["height"], proc.patch_size, proc.dynamic_hd) == (p["tile_size"], p["patch_size"], p["max_crops"])


def test_qwen_reference_budget_is_qwen_vl_utils_default():
    for name in ("qwen2-vl", "qwen2.5-vl", "qwen3-vl"):
        p = get_preset(name)
        assert (p["reference_min_tokens"], p["reference_max_tokens"]) == (qvu.IMAGE_MIN_TOKEN_NUM, qvu.IMAGE_MAX_TOKEN_NUM)
        assert p["max_aspect_ratio"] == qvu.MAX_RATIO
    # for Qwen2/2.5-VL the qwen-vl-utils budget is the processor's: its output is never resized again
    p = get_preset("qwen2-vl")
    assert p["reference_min_tokens"] * 28 * 28 == p["min_pixels"] and p["reference_max_tokens"] * 28 * 28 == p["max_pixels"]


def test_pixtral_values_are_mistral_commons():
    p = get_preset("pixtral")
    m1 = mc.MultiModalVersion.m1.config
    assert (m1.image_patch_size, m1.max_image_size, m1.spatial_merge_size) == (
        p["patch_size"], p["max_image_size"], p["spatial_merge_size"])
    assert list(mc.DATASET_MEAN) == p["image_mean"] and list(mc.DATASET_STD) == p["image_std"]


def test_gemma3_pan_and_scan_values_are_the_processor_defaults():
    from transformers.models.gemma3.processing_gemma3 import Gemma3Processor

    defaults = Gemma3Processor.images_kwargs
    p = get_preset("gemma-3")
    for key in ("do_pan_and_scan", "pan_and_scan_min_crop_size", "pan_and_scan_max_num_crops",
                "pan_and_scan_min_ratio_to_activate"):
        assert p[key] == defaults[key], key


RUNS = [(name, impl) for name in PRESETS for impl in IMPLS if get_impl(impl).supports(get_preset(name)) is None]


def test_every_preset_has_reference_and_a_hf_impl():
    for name in PRESETS:
        impls = {i for n, i in RUNS if n == name}
        assert "reference" in impls and "hf-torchvision" in impls, name
        assert ("hf-pil" in impls) == (name != "phi-4-multimodal"), name


@pytest.mark.parametrize("name, impl", RUNS)
def test_runs_on_a_1500x1749_and_a_640x480_photo(name, impl):
    preset = get_preset(name)
    for h, w in [(1749, 1500), (480, 640)]:
        trace = get_impl(impl).run(ImageInput(f"photo_{w}x{h}.jpg", make_rgb(h, w, seed=w)), preset)
        assert trace.names[:2] == ["decode", "plan"] and "pack" in trace
        pack = trace["pack"].value
        assert pack.dtype == np.float32 and pack.size > 0 and np.isfinite(pack).all()
        assert trace.plan["image_size"] == [h, w]
