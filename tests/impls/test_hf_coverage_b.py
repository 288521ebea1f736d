"""hf-pil / hf-torchvision for the issue-15 part-B presets: the staged ``pack`` equals the processor's own output,
bit for bit (LFM2-VL, GLM-4.1V, GLM-OCR, Step3-VL, Nemotron 3 Nano Omni)."""

from __future__ import annotations

import numpy as np
import pytest

from parity.impls import get_impl
from parity.impls.base import ImageInput, injected
from parity.impls.transformers_processors import make_processor
from parity.presets import get_preset

SIZES = [(300, 400), (700, 1000), (40, 900), (3, 5)]


def _rgb(h, w, seed):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _run(preset, backend, rgb):
    trace = get_impl(f"hf-{backend}").run(ImageInput("x.png", injected=injected(rgb)), preset)
    out = make_processor(preset, backend)(images=[rgb], return_tensors="np", input_data_format="channels_last")
    return trace, out  # channels_last: a 3-row image would otherwise be taken for channels-first


@pytest.mark.parametrize("h,w", SIZES)
def test_lfm2_vl(h, w):
    trace, out = _run(get_preset("lfm2-vl"), "torchvision", _rgb(h, w, h))
    np.testing.assert_array_equal(np.asarray(trace["pack"].value), out["pixel_values"])
    np.testing.assert_array_equal(trace["pixel_attention_mask"].value, out["pixel_attention_mask"])
    np.testing.assert_array_equal(trace["spatial_shapes"].value, out["spatial_shapes"])
    assert trace.plan["num_images"] == out["pixel_values"].shape[0]


def test_lfm2_vl_tiles_and_thumbnail():
    trace, out = _run(get_preset("lfm2-vl"), "torchvision", _rgb(700, 1000, 1))
    assert trace.plan["grid"] == [2, 3] and trace.plan["has_thumbnail"] and out["pixel_values"].shape[0] == 7


@pytest.mark.parametrize("preset", ["glm-4.1v", "glm-ocr"])
@pytest.mark.parametrize("backend", ["pil", "torchvision"])
@pytest.mark.parametrize("h,w", SIZES)
def test_glm(preset, backend, h, w):
    trace, out = _run(get_preset(preset), backend, _rgb(h, w, w))
    np.testing.assert_array_equal(trace["pack"].value, out["pixel_values"])
    np.testing.assert_array_equal(trace["image_grid_thw"].value, out["image_grid_thw"])
    assert trace.plan["image_grid_thw"] == out["image_grid_thw"][0].tolist()


@pytest.mark.parametrize("h,w", SIZES + [(600, 2600)])
def test_step3_vl(h, w):
    trace, out = _run(get_preset("step3-vl"), "torchvision", _rgb(h, w, 7))
    local, glob = trace["pack"].value
    np.testing.assert_array_equal(glob, out["pixel_values"])
    if "pixel_values_local" in out:
        np.testing.assert_array_equal(local, out["pixel_values_local"])
    else:
        assert local.shape[0] == 0 and trace.plan["window"] == 0


@pytest.mark.parametrize("h,w", SIZES + [(512, 512)])
def test_nemotron_omni(h, w):
    trace, out = _run(get_preset("nemotron-3-nano-omni"), "torchvision", _rgb(h, w, 3))
    np.testing.assert_array_equal(trace["pack"].value, out["pixel_values"])
    np.testing.assert_array_equal(trace["image_grid_hw"].value, out["image_grid_hw"])


def test_pil_backend_refused_where_transformers_has_none():
    for name in ("lfm2-vl", "step3-vl", "nemotron-3-nano-omni"):
        assert "no pil processor" in get_impl("hf-pil").supports(get_preset(name))
    assert "no transformers processor" in get_impl("hf-torchvision").supports(get_preset("deepseek-ocr"))
