"""smolvlm2 (SmolVLMImageProcessor) and granite-docling (Idefics3ImageProcessor) on hf-pil / hf-torchvision:
the staged ``pack`` and ``pixel_attention_mask`` equal the processor's own output bit for bit, and the plan
matches the processor's crop grid. The llamacpp impl is checked in test_llamacpp_coverage_a.py."""

import numpy as np
import pytest
from conftest import make_rgb
from PIL import Image

from parity.impls import ImageInput, get_impl
from parity.impls.transformers_processors import make_processor
from parity.presets import get_preset

#: (h, w): one tile after resizing, a strip, a photo; torchvision's LANCZOS is slow, so it gets two sizes
SIZES = {"pil": [(20, 160), (512, 1024), (480, 640), (3, 3)], "torchvision": [(20, 160), (480, 640)]}
CASES = [(p, b, hw) for p in ("smolvlm2", "granite-docling") for b, sizes in SIZES.items() for hw in sizes]


def test_processor_classes():
    assert type(make_processor(get_preset("smolvlm2"), "pil")).__name__ == "SmolVLMImageProcessorPil"
    assert type(make_processor(get_preset("granite-docling"), "torchvision")).__name__ == "Idefics3ImageProcessor"


@pytest.mark.parametrize("preset_name,backend,hw", CASES)
def test_staged_outputs_equal_the_processor(preset_name, backend, hw):
    preset = get_preset(preset_name)
    rgb = make_rgb(*hw, seed=sum(hw))
    proc = make_processor(preset, backend)
    out = proc(Image.fromarray(rgb), return_tensors="np", return_row_col_info=True)
    trace = get_impl(f"hf-{backend}").run(ImageInput("x.png", rgb), preset)
    assert np.array_equal(trace["pack"].value, np.asarray(out["pixel_values"])[0])
    assert np.array_equal(trace["pixel_attention_mask"].value, np.asarray(out["pixel_attention_mask"])[0])
    plan = trace["plan"].value
    rows, cols = int(np.asarray(out["rows"]).ravel()[0]), int(np.asarray(out["cols"]).ravel()[0])
    assert plan["grid"] == [rows, cols] and plan["num_images"] == (rows * cols + 1 if rows else 1)
    assert plan["num_embeddings"] == 64 * plan["num_images"]  # (512 / 16)^2 / 4^2 tokens per frame
