"""The DeepSeek-OCR ``reference`` (a port of the authors' image_process.py) against outputs recorded from running
the authors' file unchanged (tests/oracles/deepseek-ocr-reference/)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from parity.impls import get_impl
from parity.impls.base import ImageInput, injected
from parity.presets import get_preset

ORACLE = json.loads((Path(__file__).parents[1] / "oracles" / "deepseek-ocr-reference" / "cases.json").read_text())
PRESET = get_preset("deepseek-ocr")


def _sha(a) -> str:
    return hashlib.sha256(np.ascontiguousarray(a, dtype="<f4").tobytes()).hexdigest()


@pytest.mark.parametrize("case", ORACLE["cases"], ids=lambda c: f"{c['h']}x{c['w']}")
def test_equals_the_authors_code(case):
    rgb = np.random.default_rng(case["seed"]).integers(0, 256, (case["h"], case["w"], 3), dtype=np.uint8)
    trace = get_impl("reference").run(ImageInput("x.png", injected=injected(rgb)), PRESET)
    local, glob = trace["pack"].value
    assert _sha(glob) == case["pixel_values_sha256"]
    assert trace.plan["num_tokens"] == case["num_image_tokens"]
    cw, ch = case["crop_ratio"]
    if "images_crop_sha256" in case:
        assert list(local.shape) == case["images_crop_shape"] and _sha(local) == case["images_crop_sha256"]
        assert trace.plan["grid"] == [ch, cw] and trace.plan["tiled"]
    else:
        assert local.shape[0] == 0 and not trace.plan["tiled"]


def test_decoder_is_exif_then_drop_alpha():
    assert get_impl("reference").decoder(PRESET) == "pil-drop-alpha-exif"
