"""Speed of the JPEG decoder ports (issue 12: stb_image for llama.cpp, Go's image/jpeg of both generations for
Ollama) beside Pillow's decode and hf-pil's whole preprocessing of the same photo.

Run: ``python -m pytest -p no:cacheprovider tests/bench/test_bench_jpeg.py --benchmark-enable``.
Target: decoding the 1500x1749 4:2:0 photo with a port takes no longer than hf-pil's whole run of
llama-3.2-vision on it. One group, so pytest-benchmark prints them side by side; reported, never asserted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from parity.decode.go import decode_go
from parity.decode.jpeg.stb import decode_jpeg_stb
from parity.impls import IMPLS
from parity.impls.base import ImageInput
from parity.presets import get_preset

PHOTO = Path(__file__).parents[2] / "fixtures" / "images" / "photo_1500x1749.jpg"
GROUP = "jpeg decode photo_1500x1749 (4:2:0)"


@pytest.mark.benchmark(group=GROUP)
def test_bench_stb_port_decode(benchmark):
    data = PHOTO.read_bytes()
    rgb = benchmark(decode_jpeg_stb, data)
    assert rgb.shape == (1749, 1500, 3)


@pytest.mark.benchmark(group=GROUP)
@pytest.mark.parametrize("profile", ["go1.26", "go1.25"])
def test_bench_go_jpeg_decode(benchmark, profile):
    img = benchmark(decode_go, str(PHOTO), profile)
    assert img.size == (1749, 1500) and img.ratio == "4:2:0"


@pytest.mark.benchmark(group=GROUP)
def test_bench_pillow_decode(benchmark):
    rgb = benchmark(lambda: np.asarray(Image.open(PHOTO).convert("RGB")))
    assert rgb.shape == (1749, 1500, 3)


@pytest.mark.benchmark(group=GROUP)
def test_bench_hf_pil_llama32_whole_run(benchmark):
    trace = benchmark(IMPLS["hf-pil"].run, ImageInput(str(PHOTO)), get_preset("llama-3.2-vision"))
    assert "pack" in trace.names
