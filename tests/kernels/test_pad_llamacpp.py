"""llama.cpp's pad canvas and crop (parity.kernels.pad_llamacpp): placement, fill colour, clipping.

The geometry (``pad_geometry_llamacpp``) is checked against the real C++ through the preprocess
oracles in tests/impls/test_llamacpp.py; here the pixel kernels are checked against hand-built canvases.
"""

from __future__ import annotations

import numpy as np
import pytest

from parity.kernels.pad_llamacpp import crop_llamacpp, pad_canvas_llamacpp


def image(h: int, w: int) -> np.ndarray:
    return (np.arange(h * w * 3, dtype=np.uint32).reshape(h, w, 3) * 7 % 251).astype(np.uint8)


class TestPadCanvasLlamacpp:
    @pytest.mark.parametrize("size,offset", [((7, 5), (1, 2)), ((4, 9), (0, 0)), ((6, 6), (3, -2)),
                                             ((5, 4), (-1, 4)), ((3, 3), (5, 5))])
    def test_matches_a_hand_built_canvas(self, size, offset):
        img = image(4, 3)
        width, height = size
        ox, oy = offset
        expected = np.zeros((height, width, 3), dtype=np.uint8)
        for y in range(height):  # per pixel: the image where it lands, else the colour
            for x in range(width):
                sy, sx = y - oy, x - ox
                inside = 0 <= sy < img.shape[0] and 0 <= sx < img.shape[1]
                expected[y, x] = img[sy, sx] if inside else (10, 20, 250)
        before = img.copy()
        out = pad_canvas_llamacpp(img, width, height, ox, oy, (10, 20, 250))
        assert out.dtype == np.uint8 and out.shape == (height, width, 3)
        assert np.array_equal(out, expected)
        assert np.array_equal(img, before)

    def test_empty_canvas(self):
        assert pad_canvas_llamacpp(image(2, 2), 0, 3, 0, 0, (1, 2, 3)).shape == (3, 0, 3)


class TestCropLlamacpp:
    def test_copy_of_the_box(self):
        img = image(5, 6)
        out = crop_llamacpp(img, 1, 2, 4, 3)
        assert np.array_equal(out, img[2:5, 1:5])
        assert not np.shares_memory(out, img)

    def test_box_outside_the_image(self):
        with pytest.raises(ValueError, match="outside a 6x5 image"):
            crop_llamacpp(image(5, 6), 3, 0, 4, 5)
