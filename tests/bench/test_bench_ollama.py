"""Speed of the ``ollama`` impl beside ``hf-pil`` on the 1500x1749 Llama 3.2 Vision case (issue 5: at
most 2x).

Run: ``python -m pytest -p no:cacheprovider tests/bench/test_bench_ollama.py --benchmark-enable``.
Both run in the same session on the same machine, grouped so pytest-benchmark prints them side by side:
the fixture photo as JPEG (ollama's decode is then Pillow's, marked approximate) and as PNG (Go's
decode semantics, exact). Times are reported, never asserted: they depend on the machine and its load.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from parity.impls import IMPLS
from parity.impls.base import ImageInput
from parity.presets import get_preset

PHOTO = Path(__file__).parents[2] / "fixtures" / "images" / "photo_1500x1749.jpg"
pytestmark = pytest.mark.skipif(not PHOTO.exists(), reason="fixture photo missing (fixtures/make_photos.py)")


@pytest.fixture(scope="module")
def photo_png(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("bench") / "photo_1500x1749.png"
    with Image.open(PHOTO) as img:
        img.convert("RGB").save(path)
    return str(path)


@pytest.mark.benchmark(group="llama-3.2-vision photo_1500x1749.jpg")
@pytest.mark.parametrize("impl", ["ollama", "hf-pil"])
def test_bench_mllama_1500x1749_jpeg(benchmark, impl):
    trace = benchmark(IMPLS[impl].run, ImageInput(str(PHOTO)), get_preset("llama-3.2-vision"))
    assert trace.plan["num_tiles"] == 4


@pytest.mark.benchmark(group="llama-3.2-vision photo_1500x1749.png")
@pytest.mark.parametrize("impl", ["ollama", "hf-pil"])
def test_bench_mllama_1500x1749_png(benchmark, impl, photo_png):
    trace = benchmark(IMPLS[impl].run, ImageInput(photo_png), get_preset("llama-3.2-vision"))
    assert trace.plan["num_tiles"] == 4
