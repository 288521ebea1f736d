"""hf-pil / hf-torchvision on the LLaVA-family presets (llava-1.5, mobilevlm, llava-1.6,
granite-vision-3.1) and llama-4: the staged pipeline equals the real processor bit for bit, and the
``plan`` equals what the processor reports."""

import numpy as np
import pytest
import torch
from conftest import make_rgb
from PIL import Image

from parity.impls import ImageInput, get_impl
from parity.impls.transformers_processors import make_processor
from parity.presets import get_preset

# (h, w). LLaVA-NeXT regressions other projects use, given there as (w, h), and their transposes
REGRESSION = [(152, 171), (161, 184), (176, 198), (296, 333), (328, 369), (183, 488), (1669, 2560)]
REGRESSION += [(w, h) for h, w in REGRESSION]
SMALL = [(1, 1), (20, 30)]  # smaller than one tile
EXTREME = [(50, 400), (400, 50), (2, 300), (300, 2)]  # 1:8, 8:1, 1:150, 150:1
SIZES = {
    "llava-1.6": SMALL + EXTREME + REGRESSION + [(336, 672), (672, 672), (1008, 336)],
    "granite-vision-3.1": SMALL + EXTREME + REGRESSION[:3] + [(384, 768), (768, 1152), (384, 3840)],
    # one tile per image whatever its size: fewer sizes (1:150 here means a 336 x 50400 resize)
    "llava-1.5": SMALL + [(50, 400), (400, 50), (2, 300), (336, 336), (152, 171)],
    "mobilevlm": [(1, 1), (400, 50), (336, 336), (161, 184)],
    "llama-4": SMALL + EXTREME + [(336, 336), (672, 1344), (152, 171), (400, 4700)],
}
#: the two 2560-px regressions are the slowest cases: each runs on one backend only
ONE_BACKEND = {(1669, 2560): "pil", (2560, 1669): "torchvision"}
CASES = [(name, backend, size) for name, sizes in SIZES.items() for backend in ("pil", "torchvision")
         for size in sizes if get_impl(f"hf-{backend}").supports(get_preset(name)) is None
         and ONE_BACKEND.get(size, backend) == backend]


def processor_output(preset, backend: str, rgb: np.ndarray) -> dict:
    out = make_processor(preset, backend)(Image.fromarray(rgb), return_tensors="pt")
    return {k: (v.to(torch.float32) if v.dtype == torch.bfloat16 else v).numpy() if isinstance(v, torch.Tensor)
            else np.asarray(v) for k, v in out.items()}


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("name, backend, size", CASES, ids=[f"{n}-{b}-{h}x{w}" for n, b, (h, w) in CASES])
def test_staged_pack_and_plan_equal_processor(name, backend, size):
    preset = get_preset(name)
    rgb = make_rgb(*size, seed=size[0] * 7 + size[1])
    trace = get_impl(f"hf-{backend}").run(ImageInput(f"{size}.png", rgb), preset)
    out = processor_output(preset, backend, rgb)
    pack, plan = trace["pack"].value, trace.plan
    assert plan["image_size"] == list(size)
    if preset.family == "llava":
        assert same_bits(pack, out["pixel_values"])
        crop = plan["crop"]
        assert out["pixel_values"].shape == (1, 3, crop[2], crop[3])
        assert trace["resize"].shape[:2] == tuple(plan["resized"])
    elif preset.family == "llava-next":
        assert same_bits(pack, out["pixel_values"][0])
        assert same_bits(trace["image_sizes"].value, out["image_sizes"].astype(np.int64))
        assert plan["image_sizes"] == out["image_sizes"][0].tolist()
        assert plan["num_images"] == out["pixel_values"].shape[1]
        assert trace["pad"].shape[:2] == tuple(plan["best_resolution"])
        assert trace["resize"].shape[:2] == tuple(plan["resized"])
    else:  # llama4: pixel_values are bfloat16, compared here widened to float32 on both sides
        assert same_bits(pack, out["pixel_values"])
        assert same_bits(trace["aspect_ratios"].value, out["aspect_ratios"].astype(np.int64))
        assert plan["grid"] == out["aspect_ratios"][0].tolist()
        assert plan["num_images"] == out["pixel_values"].shape[0]
        assert trace["resize"].shape[:2] == tuple(plan["resized"])


def test_llava_hf_does_not_pad_to_square():
    # llava-hf's config center-crops: the plan says so (canvas = the image), and there is no pad stage
    trace = get_impl("hf-pil").run(ImageInput("x.png", make_rgb(480, 640)), get_preset("llava-1.5"))
    assert trace.plan["padded_square"] == [480, 640] and trace.plan["crop"] == [0, 56, 336, 336]
    assert "pad" not in trace


def test_llama4_has_no_pil_backend():
    # transformers has no Llama4ImageProcessorPil, so there is no hf-pil recipe either
    import transformers

    assert not hasattr(transformers, "Llama4ImageProcessorPil")
    assert get_impl("hf-pil").supports(get_preset("llama-4")) is not None
