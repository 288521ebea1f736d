"""The libjpeg profiles: libjpeg-turbo (Pillow's) and IJG libjpeg 8d (jpeglib's bundled 8d build)."""

from __future__ import annotations

import re
from pathlib import Path

import jpeglib
import numpy as np
import pytest

from parity.decode.jpeg.libjpeg import (
    decode_jpeg_ijg8d,
    decode_jpeg_libjpeg_turbo,
    libjpeg_turbo_version,
)
from parity.errors import BadImage

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ("ycc_444_base_q90_33x31.jpg", "ycc_422_base_q90_501x377.jpg", "ycc_420_prog_q90_501x377.jpg",
          "ycc_440_base_q90_33x31_enc-jpeglib.jpg", "ycc_411_base_q90_33x31_enc-jpeglib.jpg",
          "ycc_420_base_q90_1x1.jpg", "gray_444_base_q90_33x31.jpg", "rgb_444_base_q90_33x31.jpg",
          "photo_640x480.jpg")


@pytest.fixture(scope="module")
def corpus(jpeg_corpus) -> Path:
    return jpeg_corpus


def _jpeglib_rgb(path: Path, version: str) -> np.ndarray:
    """An independent decode by one of jpeglib's bundled libjpeg builds, libjpeg's default settings."""
    grey = path.name.startswith("gray")
    with jpeglib.version(version):
        out = np.asarray(jpeglib.read_spatial(str(path), out_color_space=None if grey else jpeglib.JCS_RGB).spatial)
    return np.repeat(out, 3, axis=2) if out.shape[-1] == 1 else out


class TestLibjpegTurbo:
    def test_version_recorded(self):
        assert re.fullmatch(r"\d+\.\d+\.\d+", libjpeg_turbo_version())

    @pytest.mark.parametrize("name", SAMPLE)
    def test_equals_another_libjpeg_turbo_build(self, corpus, name):
        # Pillow's libjpeg-turbo 3.x and jpeglib's libjpeg-turbo 2.1: same islow IDCT, same triangle
        # upsampling, same colour tables -> identical pixels
        path = corpus / name
        np.testing.assert_array_equal(decode_jpeg_libjpeg_turbo(path.read_bytes()), _jpeglib_rgb(path, "turbo210"))

    def test_not_a_jpeg(self):
        with pytest.raises(BadImage):
            decode_jpeg_libjpeg_turbo(b"\xff\xd8\xff\xd9")


class TestIjg8d:
    @pytest.mark.parametrize("name", ["ycc_444_base_q90_501x377.jpg", "gray_444_base_q90_501x377.jpg"])
    def test_full_resolution_equals_turbo(self, corpus, name):
        # no upsampling involved: IJG 8d and libjpeg-turbo share the islow IDCT and YCbCr->RGB tables
        data = (corpus / name).read_bytes()
        np.testing.assert_array_equal(decode_jpeg_ijg8d(data), decode_jpeg_libjpeg_turbo(data))

    def test_subsampled_chroma_differs_from_turbo(self, corpus):
        # IJG 7+ upsamples chroma by a scaled IDCT, libjpeg-turbo by its triangle filter
        data = (corpus / "ycc_420_base_q90_501x377.jpg").read_bytes()
        a, b = decode_jpeg_ijg8d(data), decode_jpeg_libjpeg_turbo(data)
        assert a.shape == b.shape and (a != b).any()

    def test_is_the_8d_library(self):
        so = Path(jpeglib.__file__).parent / "cjpeglib" / "cjpeglib_8d.abi3.so"
        assert b"8d  15-Jan-2012" in so.read_bytes()

    def test_cmyk_refused(self, corpus):
        with pytest.raises(BadImage, match="CMYK"):
            decode_jpeg_ijg8d((corpus / "cmyk_444_base_q90_33x31.jpg").read_bytes())
