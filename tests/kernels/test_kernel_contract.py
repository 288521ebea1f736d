"""Every kernel of parity/kernels keeps the shared contract (tests/kernels/kernel_checks.py): inputs
untouched, read-only inputs accepted, new outputs, deterministic."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_rgb
from kernel_checks import check_kernel

from parity.kernels import clip_legacy, pad_llamacpp, pillow_fixed, xdraw

IMG = make_rgb(23, 31, seed=4)
RGBA64 = np.dstack([IMG.astype(np.uint16) * 0x101, np.full(IMG.shape[:2], 0xFFFF, np.uint16)])


@pytest.mark.parametrize("filter_name", ["bilinear", "bicubic", "lanczos"])
@pytest.mark.parametrize("size", [(11, 40), (40, 11)])
def test_pillow_fixed(filter_name, size):
    out = check_kernel(pillow_fixed.resize_pillow_fixed, IMG, size[1], size[0], filter_name)
    assert out.shape == (*size, 3)


@pytest.mark.parametrize("kernel", [clip_legacy.resize_bicubic_llamacpp_legacy,
                                    clip_legacy.resize_bilinear_llamacpp_legacy])
def test_clip_legacy_resizers(kernel):
    assert check_kernel(kernel, IMG, 17, 9).shape == (9, 17, 3)


def test_clip_legacy_geometry_kernels():
    assert check_kernel(clip_legacy.pad_to_square_llamacpp_legacy, IMG).shape == (31, 31, 3)
    assert check_kernel(clip_legacy.resize_bilinear_fixed_llamacpp_legacy, IMG, 14).shape[2] == 3
    patches = check_kernel(clip_legacy.divide_to_patches_llamacpp_legacy, IMG, 8)
    assert len(patches) == 3 * 4
    norm = check_kernel(clip_legacy.normalize_llamacpp_legacy, IMG, (0.5, 0.4, 0.3), (0.2, 0.3, 0.4),
                        dtype=np.float32)
    assert norm.shape == IMG.shape


def test_pad_and_crop_llamacpp():
    geo = pad_llamacpp.pad_geometry_llamacpp(31, 23, 40, 40, "ceil")
    canvas = check_kernel(pad_llamacpp.pad_canvas_llamacpp, IMG, 40, 40, geo.offset_x, geo.offset_y, (1, 2, 3))
    assert canvas.shape == (40, 40, 3)
    assert check_kernel(pad_llamacpp.crop_llamacpp, IMG, 2, 3, 10, 7).shape == (7, 10, 3)


@pytest.mark.parametrize("kernel", ["bilinear", "catmullrom"])
def test_xdraw_kernel_scalers(kernel):
    out = check_kernel(xdraw.resize_kernel_xdraw, RGBA64, (9, 40), kernel)
    assert out.shape == (9, 40, 4)


def test_xdraw_nearest_and_approxbilinear():
    assert check_kernel(xdraw.resize_nearest_xdraw, RGBA64, (9, 40)).shape == (9, 40, 4)
    assert check_kernel(xdraw.resize_approxbilinear_xdraw, RGBA64, (9, 40)).shape == (9, 40, 4)
