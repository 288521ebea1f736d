"""Speed of each runtime port (``llamacpp``, ``llamacpp-legacy``, ``ollama``) beside ``hf-pil`` on the cases of
``benchmarks/bench_table.py`` (each as JPEG and as a lossless PNG copy).

Run: ``python -m pytest -p no:cacheprovider tests/bench/test_bench_ports.py --benchmark-enable`` (``-k ollama``
for one port). The port and hf-pil run in one benchmark group per case, so pytest-benchmark prints them side by
side. Times are reported, never asserted: they depend on the machine and its load. ``benchmarks/bench_table.py``
gives the same comparison interleaved in one process, with ratios and JSON.
"""

from __future__ import annotations

import pytest

from benchmarks.bench_table import cases_for, make_images
from parity.impls import get_impl
from parity.impls.base import ImageInput
from parity.presets import get_preset

PORTS = ("llamacpp", "llamacpp-legacy", "ollama")
RUNS = [(port, case, fmt) for port in PORTS for case, fmt in cases_for(port)]


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> dict:
    return make_images(tmp_path_factory.mktemp("bench"), {c.photo for _, c, _ in RUNS}, ("jpg", "png"))


@pytest.mark.parametrize("side", ["port", "hf-pil"])
@pytest.mark.parametrize("port,case,fmt", RUNS, ids=[f"{p}-{c.preset}-{c.photo}.{f}" for p, c, f in RUNS])
def test_bench(benchmark, images, port, case, fmt, side):
    impl = port if side == "port" else "hf-pil"
    benchmark.group = f"{case.preset} {case.photo}.{fmt}: {port} vs hf-pil"
    preset = get_preset(case.preset)
    assert get_impl(impl).supports(preset) is None
    trace = benchmark(get_impl(impl).run, ImageInput(images[(case.photo, fmt)]), preset)
    assert trace["pack"].dtype == "float32"
    assert {"decode", "resize", "pack"} <= set(trace.names)
