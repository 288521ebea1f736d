"""Speed of ``llamacpp-legacy`` next to ``hf-pil`` on the 1500x1749 LLaVA-1.6 case (issue 6: at most 2x).

Both run in one benchmark group so ``pytest --benchmark-enable tests/bench/test_bench_llamacpp_legacy.py``
prints them side by side; times are never asserted (shared CI machines). Each run is the whole
``Impl.run`` from the PNG path: decode, every stage, hashing of every record.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from parity.impls import IMPLS
from parity.impls.base import ImageInput
from parity.presets import get_preset

WIDTH, HEIGHT = 1500, 1749


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> str:
    """A 1500x1749 RGB PNG: gradients plus seeded noise (resizers see edges and flat areas)."""
    rng = np.random.default_rng(1749)
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    base = np.stack([x * 255 // (WIDTH - 1), y * 255 // (HEIGHT - 1), ((x + y) * 3) % 256], -1)
    rgb = np.clip(base + rng.integers(-30, 31, size=base.shape), 0, 255).astype(np.uint8)
    path = tmp_path_factory.mktemp("bench") / "photo_1500x1749.png"
    Image.fromarray(rgb).save(path)
    return str(path)


@pytest.mark.benchmark(group="llava-1.6 1500x1749: llamacpp-legacy vs hf-pil")
@pytest.mark.parametrize("impl_name", ["hf-pil", "llamacpp-legacy"])
def test_bench_llava16_1500x1749(benchmark, photo, impl_name):
    preset = get_preset("llava-1.6")
    impl = IMPLS[impl_name]
    reason = impl.supports(preset)
    if reason:
        pytest.skip(f"{impl_name} cannot run llava-1.6: {reason}")
    trace = benchmark(impl.run, ImageInput(photo), preset)
    assert trace["pack"].dtype == "float32"
    assert trace["pack"].shape[0] == 5  # overview + 2x2 patches of 336 for 1500x1749
