"""Shared fixtures: deterministic generated images (no binary fixtures needed for unit tests)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import settings
from PIL import Image

# Property tests draw the same examples on every run (CI must not flake); set
# HYPOTHESIS_PROFILE=explore locally to search new random examples.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def make_rgb(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth gradient plus seeded noise: resize kernels see both edges and flat areas."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([(xx * 255 // max(w - 1, 1)), (yy * 255 // max(h - 1, 1)), ((xx + yy) * 7) % 256], -1)
    noise = rng.integers(-40, 41, size=(h, w, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


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
