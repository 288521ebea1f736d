"""Speed of the ``ollama`` impl beside ``hf-pil`` on the cases of ``benchmarks/bench_table.py`` (Llama 3.2
Vision 1500x1749, Qwen2.5-VL 1280x853, Gemma 3 2000x900; each as JPEG and as a lossless PNG copy).

Run: ``python -m pytest -p no:cacheprovider tests/bench/test_bench_ollama.py --benchmark-enable``.
Both impls run in one benchmark group per case, so pytest-benchmark prints them side by side. Times are
reported, never asserted: they depend on the machine and its load. ``benchmarks/bench_table.py`` gives
the same comparison interleaved in one process, with ratios and JSON.
"""

from __future__ import annotations

import pytest

from benchmarks.bench_table import cases_for, make_images
from parity.impls import get_impl
from parity.impls.base import ImageInput
from parity.presets import get_preset

PORT = "ollama"
CASES = cases_for(PORT)


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> dict:
    return make_images(tmp_path_factory.mktemp("bench"), {c.photo for c, _ in CASES}, ("jpg", "png"))


@pytest.mark.parametrize("impl", [PORT, "hf-pil"])
@pytest.mark.parametrize("case,fmt", CASES, ids=[f"{c.preset}-{c.photo}.{f}" for c, f in CASES])
def test_bench(benchmark, images, case, fmt, impl):
    benchmark.group = f"{case.preset} {case.photo}.{fmt}: {PORT} vs hf-pil"
    preset = get_preset(case.preset)
    assert get_impl(impl).supports(preset) is None
    trace = benchmark(get_impl(impl).run, ImageInput(images[(case.photo, fmt)]), preset)
    assert trace["pack"].dtype == "float32"
    assert {"decode", "resize", "pack"} <= set(trace.names)
