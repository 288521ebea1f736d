"""DeepSeek-OCR geometry: the global view's fit against Pillow's own ImageOps.pad, and the token count."""

from __future__ import annotations

import random

import numpy as np
from PIL import Image, ImageOps

from parity.families import deepseek_ocr as g


def test_pad_geometry_is_pillows():
    rng = random.Random(3)
    sizes = [(1, 1), (1, 1000), (1000, 1), (640, 640), (700, 1000), (1000, 700), (3, 5)]
    sizes += [(rng.randint(1, 3000), rng.randint(1, 3000)) for _ in range(60)]
    for h, w in sizes:
        img = Image.new("RGB", (w, h), (255, 255, 255))
        out = np.asarray(ImageOps.pad(img, (64, 64), color=(0, 0, 0)))[..., 0] > 0
        (ih, iw), (top, left) = g.pad_geometry_pillow(w, h, 64)
        ys, xs = np.nonzero(out)
        if ih == 0 or iw == 0:
            assert not out.any()
            continue
        assert (ys.min(), xs.min(), ys.max() + 1 - ys.min(), xs.max() + 1 - xs.min()) == (top, left, ih, iw), (h, w)


def test_tokens():
    assert g.image_tokens((1, 1), 1024, 640, False) == 16 * 17 + 1
    assert g.image_tokens((2, 3), 1024, 640, True) == 273 + (10 * 3 + 1) * 20
    assert g.tokens((2, 3), 1024, 640, True, delimiters=1).total == 273 + 31 * 20 + 1
