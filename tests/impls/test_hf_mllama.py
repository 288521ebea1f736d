"""hf-pil / hf-torchvision on llama-3.2-vision: the staged pipeline equals the real processor."""

import numpy as np
import pytest
import torch
from PIL import Image

from parity.impls import ImageInput, get_impl
from parity.impls.transformers_processors import make_processor
from parity.presets import get_preset

PRESET = get_preset("llama-3.2-vision")

# (h, w) -> tiles: smaller than a tile, exact multiples of 560, and general sizes, 1..4 tiles
SIZES = [
    ((300, 400), 1), ((560, 560), 1), ((27, 27), 1),
    ((560, 1120), 2), ((700, 500), 2),
    ((560, 1680), 3), ((400, 1500), 3),
    ((1120, 1120), 4), ((1749, 1500), 4),
]


def full_processor_output(backend: str, path: str) -> dict:
    proc = make_processor(PRESET, backend)
    with Image.open(path) as img:
        out = proc(img, return_tensors="pt" if backend == "torchvision" else "np")
    return {k: (v.numpy() if isinstance(v, torch.Tensor) else np.asarray(v)) for k, v in out.items()}


@pytest.mark.parametrize("backend", ["pil", "torchvision"])
@pytest.mark.parametrize("size, tiles", SIZES, ids=[f"{h}x{w}" for (h, w), _ in SIZES])
def test_staged_pack_equals_processor_output(image_file, backend, size, tiles):
    path = image_file(*size)
    trace = get_impl(f"hf-{backend}").run(ImageInput(path), PRESET)
    ref = full_processor_output(backend, path)

    assert trace.plan["num_images"] == tiles
    pack = trace["pack"].value
    assert pack.dtype == np.float32 and pack.shape == (tiles, 3, 560, 560)
    # bit for bit: compare raw bytes, not values
    assert pack.tobytes() == np.ascontiguousarray(ref["pixel_values"][0, 0, :tiles]).tobytes()
    assert trace["pixel_values_padded"].value.tobytes() == ref["pixel_values"].tobytes()
    assert np.array_equal(trace["aspect_ratio_ids"].value, ref["aspect_ratio_ids"])
    assert np.array_equal(trace["aspect_ratio_mask"].value, ref["aspect_ratio_mask"])
    assert trace["num_tiles"].value.tolist() == np.asarray(ref["num_tiles"]).tolist() == [[tiles]]


@pytest.mark.parametrize("backend", ["pil", "torchvision"])
def test_recorded_stage_order_follows_the_backend(image_file, backend):
    trace = get_impl(f"hf-{backend}").run(ImageInput(image_file(300, 400)), PRESET)
    core = [n for n in trace.names if n in ("decode", "plan", "resize", "pad", "tiles", "normalize", "pack")]
    if backend == "pil":  # normalizes the whole canvas, then splits
        assert core == ["decode", "plan", "resize", "pad", "normalize", "tiles", "pack"]
    else:  # splits uint8 tiles, then fused rescale+normalize
        assert core == ["decode", "plan", "resize", "pad", "tiles", "normalize", "pack"]


def test_torchvision_impl_really_uses_torchvision():
    from transformers.image_processing_backends import TorchvisionBackend

    assert isinstance(make_processor(PRESET, "torchvision"), TorchvisionBackend)


def test_backends_differ_at_resize_on_a_photo_sized_image(image_file):
    from parity.compare import compare_traces

    path = image_file(1749, 1500, seed=3)
    a = get_impl("hf-pil").run(ImageInput(path), PRESET)
    b = get_impl("hf-torchvision").run(ImageInput(path), PRESET)
    diff = compare_traces(a, b, PRESET["image_std"])
    assert diff["plan"].passed and diff["decode"].passed
    assert diff.first_divergence.name == "resize"
    # PIL and torchvision antialiased bilinear round differently by at most one level here
    assert set(diff["resize"].histogram) == {1}
