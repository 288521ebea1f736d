"""The resize-kernel registry (parity.kernels.registry): every kernel is pure and returns (h, w, 3)
uint8; library kernels equal the library called directly; names are unique and unknown ones listed."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from conftest import make_rgb
from kernel_checks import check_kernel
from PIL import Image
from torchvision.transforms.v2 import functional as F

from parity.errors import ParityError
from parity.kernels.registry import RESAMPLE_KERNELS, get_kernel

SIZES = [(13, 17), (40, 9), (25, 30)]  # downscale, mixed, upscale of a 20x24 image


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", list(RESAMPLE_KERNELS))
def test_kernel_is_pure_and_returns_rgb_uint8(name, size):
    out = check_kernel(RESAMPLE_KERNELS[name], make_rgb(20, 24, seed=1), size)
    assert out.shape == (*size, 3)


@pytest.mark.parametrize("size", SIZES)
def test_library_kernels_equal_the_library(size):
    img = make_rgb(20, 24, seed=2)
    h, w = size
    np.testing.assert_array_equal(RESAMPLE_KERNELS["pil-bicubic"](img, size),
                                  np.asarray(Image.fromarray(img).resize((w, h), Image.Resampling.BICUBIC)))
    np.testing.assert_array_equal(RESAMPLE_KERNELS["opencv-area"](img, size),
                                  cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA))
    chw = torch.from_numpy(img.copy()).permute(2, 0, 1)
    expected = F.resize(chw, [h, w], interpolation=F.InterpolationMode.BILINEAR, antialias=False)
    np.testing.assert_array_equal(RESAMPLE_KERNELS["torchvision-bilinear-noantialias"](img, size),
                                  expected.permute(1, 2, 0).numpy())


def test_xdraw_nearest_picks_go_source_pixels():
    # draw.NearestNeighbor: source index (2*d + 1) * s // (2 * D), written out here for a 20x24 source
    img = make_rgb(20, 24, seed=3)
    sy = [(2 * d + 1) * 20 // (2 * 7) for d in range(7)]
    sx = [(2 * d + 1) * 24 // (2 * 5) for d in range(5)]
    np.testing.assert_array_equal(RESAMPLE_KERNELS["xdraw-nearest"](img, (7, 5)), img[sy][:, sx])


def test_every_runtime_port_is_registered():
    names = set(RESAMPLE_KERNELS)
    assert {"xdraw-bilinear", "xdraw-catmullrom", "xdraw-nearest", "xdraw-approxbilinear",
            "llamacpp-pillow-bilinear", "llamacpp-pillow-bicubic", "llamacpp-pillow-lanczos",
            "llamacpp-legacy-bicubic", "llamacpp-legacy-bilinear"} <= names
    assert len(RESAMPLE_KERNELS) == 6 + 6 + 7 + 9  # PIL, torchvision, OpenCV, the runtime ports


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ParityError, match=r"unknown resize kernel 'pil-cubic'; valid: pil-nearest, pil-bilinear"):
        get_kernel("pil-cubic")
    assert get_kernel("pil-box") is RESAMPLE_KERNELS["pil-box"]
