"""Deterministic PNG inputs of the recorded ollama oracle cases (shared by the test and the recorder).

``write_png(path, kind, h, w, seed)`` writes one of the Go decoder's PNG flavours with seeded pixels:
rgb, rgba (semi-transparent + fully transparent rows), gray, la, paltrns (palette + tRNS),
rgba16, gray16.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

KINDS = ("rgb", "rgba", "gray", "la", "paltrns", "rgba16", "gray16")


def write_png(path: str, kind: str, h: int, w: int, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    if kind == "rgb":
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path)
    elif kind == "rgba":
        a = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
        a[: max(h // 4, 1), :, 3] = 0
        Image.fromarray(a, "RGBA").save(path)
    elif kind == "gray":
        Image.fromarray(rng.integers(0, 256, (h, w), dtype=np.uint8), "L").save(path)
    elif kind == "la":
        Image.fromarray(rng.integers(0, 256, (h, w, 2), dtype=np.uint8), "LA").save(path)
    elif kind == "paltrns":
        img = Image.fromarray(rng.integers(0, 256, (h, w), dtype=np.uint8) % 24, "P")
        img.putpalette(rng.integers(0, 256, 24 * 3, dtype=np.uint8).tolist())
        img.save(path, transparency=bytes(rng.integers(0, 256, 10, dtype=np.uint8)))
    elif kind in ("rgba16", "gray16"):
        import cv2

        shape = (h, w, 4) if kind == "rgba16" else (h, w)
        a = rng.integers(0, 65536, shape, dtype=np.uint16)
        if kind == "rgba16":
            a[: max(h // 3, 1), :, 3] = 0
        cv2.imwrite(path, a)  # OpenCV writes BGR(A) order; the samples are what matters
    else:
        raise ValueError(f"unknown kind {kind!r}; valid: {', '.join(KINDS)}")
    return path
