"""Shared fixtures: deterministic generated images (no binary fixtures needed for unit tests)."""

from __future__ import annotations

import functools
import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings
from PIL import Image

# Property tests draw the same examples on every run (CI must not flake); set
# HYPOTHESIS_PROFILE=explore locally to search new random examples. ``ci`` is the default run
# (``nox -s tests``); ``nightly`` (``nox -s tests_full``) draws the same way with every example of the
# tests marked ``slow`` (see ``examples``).
HYPOTHESIS_PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("nightly", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", deadline=None, print_blob=True)
settings.load_profile(HYPOTHESIS_PROFILE)

#: share of a slow property test's examples drawn under each profile (1: all of them)
EXAMPLE_SHARE = {"ci": 0.25, "nightly": 1.0, "explore": 1.0}


def browser_or_skip() -> str:
    """The Chromium-family browser of the HTML report checks. Without one such a test is skipped (on a
    fresh machine the README's test command needs nothing beyond pip), except where ``PARITY_REQUIRE_BROWSER``
    is 1 (``.ci/run`` sets it once it has installed Chromium): there a missing browser fails the test."""
    from parity.report.browser import find_browser

    exe = find_browser()
    if exe is None:
        why = "no Chromium-family browser on PATH (apt-get install -y chromium)"
        if os.environ.get("PARITY_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{why}, and PARITY_REQUIRE_BROWSER=1 requires one")
        pytest.skip(why)
    return exe


def examples(n: int) -> int:
    """``max_examples`` for a property test marked ``slow`` whose full run draws ``n`` examples: all of
    them under the ``nightly`` and ``explore`` profiles, a quarter (at least 10) in the default run."""
    share = EXAMPLE_SHARE.get(HYPOTHESIS_PROFILE, 1.0)
    return n if share >= 1 else max(10, round(n * share))


#: modules whose tests start real processes (local pools, a Dask cluster, the sweep CLI, Chromium) or run
#: whole matrices, collected first: pytest-xdist hands out consecutive tests, so at the end of the collection
#: (where their names sort them) they made a long tail on one worker, and their module fixtures ran on each
#: worker that got one of their tests; at the front they share the start and the many small tests fill the end
RUN_FIRST = tuple(Path(__file__).resolve().parent / name for name in ("test_sweep.py", "test_matrix.py",
                                                                      "test_report.py"))


def pytest_collection_modifyitems(config, items):
    """The RUN_FIRST modules first, whole and in their own order; every other test in collection order
    (a stable sort: the same order in every xdist worker)."""
    rank = {path: i for i, path in enumerate(RUN_FIRST)}
    items.sort(key=lambda item: rank.get(Path(item.path).resolve(), len(RUN_FIRST)))


def make_rgb(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth gradient plus seeded noise: resize kernels see both edges and flat areas. A new writable
    array each call (the same image is made once per test process)."""
    return _rgb(h, w, seed).copy()


@functools.lru_cache(maxsize=64)
def _rgb(h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.arange(h)[:, None], np.arange(w)[None, :]
    base = np.empty((h, w, 3), np.int64)
    base[..., 0] = xx * 255 // max(w - 1, 1)
    base[..., 1] = yy * 255 // max(h - 1, 1)
    base[..., 2] = (xx + yy) * 7 % 256
    base += rng.integers(-40, 41, size=(h, w, 3))
    out = np.clip(base, 0, 255).astype(np.uint8)
    out.setflags(write=False)
    return out


@pytest.fixture
def image_file(tmp_path):
    """Factory: image_file(h, w, mode="RGB", fmt="png") -> path of a generated image."""

    def make(h: int, w: int, mode: str = "RGB", fmt: str = "png", seed: int = 0, **save_kw) -> str:
        rgb = make_rgb(h, w, seed)
        img = Image.fromarray(rgb)
        if mode != "RGB":
            img = img.convert(mode)
        path = tmp_path / f"img_{h}x{w}_{mode}_{seed}.{fmt}"
        img.save(path, **save_kw)
        return str(path)

    return make


LLAVA_TORCH = "llava-torch==1.2.2.post1"


@pytest.fixture(scope="session")
def llava_mm_utils_real(tmp_path_factory):
    """The real ``llava/mm_utils.py`` of llava-torch 1.2.2.post1, installed by pip into a temporary
    ``--target`` directory (never into the environment: its metadata pins torch 2.0.1 and
    transformers 4.36.2) and loaded without ``llava/__init__.py`` (which imports the model classes).
    Needs PyPI, as the README's install does; a failed download fails the tests that use it."""
    import importlib
    import subprocess
    import sys
    import types

    target = tmp_path_factory.mktemp("llava-torch")
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                           LLAVA_TORCH], capture_output=True, text=True)
    assert proc.returncode == 0, f"could not download {LLAVA_TORCH} into {target}: {proc.stderr[-500:]}"
    saved = {k: sys.modules.pop(k) for k in list(sys.modules) if k == "llava" or k.startswith("llava.")}
    package = types.ModuleType("llava")
    package.__path__ = [str(target / "llava")]
    sys.modules["llava"] = package
    try:
        module = importlib.import_module("llava.mm_utils")
    finally:
        for k in [k for k in sys.modules if k == "llava" or k.startswith("llava.")]:
            del sys.modules[k]
        sys.modules.update(saved)
    assert module.__file__.startswith(str(target))
    return module


def legacy_oracle_pattern(h: int, w: int) -> np.ndarray:
    """The input of the llama.cpp c392e50 oracles (tests/oracles/llamacpp-legacy/README.md)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.int64)
    r = (x * x * 7 + y * 13 + x * y * 3) % 256
    g = (x * 29 + y * y * 5 + 17) % 256
    b = ((x ^ y) * 11 + (x * y) % 7 * 40) % 256
    return np.stack([r, g, b], -1).astype(np.uint8)


def load_jpeg_corpus_module():
    """``fixtures/make_jpeg_corpus.py`` as a module (registered first: its dataclasses look it up)."""
    path = Path(__file__).resolve().parents[1] / "fixtures" / "make_jpeg_corpus.py"
    spec = importlib.util.spec_from_file_location("make_jpeg_corpus", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_jpeg_corpus", mod)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="session")
def jpeg_corpus(tmp_path_factory) -> Path:
    """Every file ``fixtures/make_jpeg_corpus.py`` writes (the corpus the JPEG decoder oracles were recorded
    on), written once per session."""
    out = tmp_path_factory.mktemp("jpeg_corpus")
    load_jpeg_corpus_module().write_corpus(out)
    return out
