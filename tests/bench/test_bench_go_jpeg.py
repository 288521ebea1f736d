"""Speed of the Go image/jpeg port (both generations) beside hf-pil's whole preprocessing (issue 12).

Run: ``python -m pytest -p no:cacheprovider tests/bench/test_bench_go_jpeg.py --benchmark-enable``.
Target: decoding the 1500x1749 4:2:0 photo with the port takes no longer than hf-pil's whole run of
llama-3.2-vision on it. Grouped so pytest-benchmark prints them side by side; reported, never asserted.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from parity.decode.go import decode_go
from parity.impls import IMPLS
from parity.impls.base import ImageInput
from parity.presets import get_preset

PHOTO = Path(__file__).parents[2] / "fixtures" / "images" / "photo_1500x1749.jpg"
GROUP = "Go jpeg decode photo_1500x1749 (4:2:0)"


@pytest.mark.benchmark(group=GROUP)
@pytest.mark.parametrize("profile", ["go1.26", "go1.25"])
def test_bench_go_jpeg_decode(benchmark, profile):
    img = benchmark(decode_go, str(PHOTO), profile)
    assert img.size == (1749, 1500) and img.ratio == "4:2:0"


@pytest.mark.benchmark(group=GROUP)
def test_bench_hf_pil_llama32_whole_run(benchmark):
    trace = benchmark(IMPLS["hf-pil"].run, ImageInput(str(PHOTO)), get_preset("llama-3.2-vision"))
    assert "pack" in trace.names
