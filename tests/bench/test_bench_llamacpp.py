"""Speed of the ``llamacpp`` impl beside ``hf-pil`` on the 1500x1749 LLaVA-1.6 case (issue 6: at most 2x).

Run: ``python -m pytest -p no:cacheprovider tests/bench/test_bench_llamacpp.py --benchmark-enable``.
Both run in the same session on the same machine, grouped so pytest-benchmark prints them side by side.
Times are reported, never asserted: they depend on the machine and its load.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from parity.impls import IMPLS
from parity.impls.base import ImageInput
from parity.presets import get_preset

PHOTO = Path(__file__).parents[2] / "fixtures" / "images" / "photo_1500x1749.jpg"


@pytest.mark.skipif(not PHOTO.exists(), reason="fixture photo missing (fixtures/make_photos.py)")
@pytest.mark.benchmark(group="llava-1.6 photo_1500x1749")
@pytest.mark.parametrize("impl", ["llamacpp", "hf-pil"])
def test_bench_llava16_1500x1749(benchmark, impl):
    preset = get_preset("llava-1.6")
    trace = benchmark(IMPLS[impl].run, ImageInput(str(PHOTO)), preset)
    assert trace["pack"].shape == (5, 3, 336, 336)
