"""The libjpeg decoder profiles: libjpeg-turbo (Pillow, hence transformers) and IJG libjpeg 8d.

- ``libjpeg-turbo``: exactly what Pillow decodes, since it is Pillow's own libjpeg-turbo (its version is
  ``libjpeg_turbo_version()``, to record in traces): islow IDCT, fancy (triangle) upsampling, Pillow's
  conversion of the decoded mode to RGB (grey replicated; CMYK, which Pillow reads Adobe-inverted, by
  Pillow's own ``convert``). EXIF is not applied here (a policy of ``parity.decode``).
- ``ijg-8d``: IJG libjpeg 8d (the libjpeg onnxruntime-extensions builds on Linux), run through the 8d
  library bundled in ``jpeglib`` 1.0.2 with libjpeg's defaults (``JDCT_ISLOW``, ``do_fancy_upsampling``
  TRUE, output colour space RGB; grey is decoded as grey and replicated; CMYK/YCCK files, for which
  libjpeg has no RGB output, are refused). 8d differs from libjpeg-turbo: IJG 7+ upsamples chroma by
  scaled IDCT (``do_fancy_upsampling`` means "DCT scaling" there, not turbo's triangle filter) and
  rounds its colour conversion differently.
"""

from __future__ import annotations

import io
import os
import tempfile

import jpeglib
import numpy as np
from PIL import Image, features

from parity.decode.jpeg.coefficients import LIBJPEG_LOCK, parse_header
from parity.errors import BadImage

IJG_VERSION = "8d"


def libjpeg_turbo_version() -> str:
    """The libjpeg-turbo version Pillow is linked against (``PIL.features``), e.g. '3.2.0'."""
    return features.version("libjpeg_turbo") or f"libjpeg {features.version('jpg')}"


def decode_jpeg_libjpeg_turbo(data: bytes) -> np.ndarray:
    """(H, W, 3) uint8 as Pillow decodes the JPEG (its libjpeg-turbo), converted to RGB by Pillow."""
    try:
        img = Image.open(io.BytesIO(data))
        if img.format != "JPEG":
            raise BadImage(f"not a JPEG: Pillow reads it as {img.format}")
        img.load()
    except BadImage:
        raise
    except Exception as e:  # Pillow raises OSError/SyntaxError/ValueError for corrupt input
        raise BadImage(f"libjpeg-turbo (Pillow) cannot decode this JPEG: {e}") from None
    return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()


def decode_jpeg_ijg8d(data: bytes) -> np.ndarray:
    """(H, W, 3) uint8 as IJG libjpeg 8d decodes the JPEG to RGB with its default settings."""

    with tempfile.TemporaryDirectory() as tmp, LIBJPEG_LOCK:
        src = os.path.join(tmp, "in.jpg")
        with open(src, "wb") as f:
            f.write(data)
        try:
            ncomp = len(parse_header(data).comps)
            if ncomp not in (1, 3):
                raise BadImage(f"IJG libjpeg {IJG_VERSION} profile: a {ncomp}-component JPEG (CMYK/YCCK) has no "
                               "RGB output in libjpeg")
            with jpeglib.version(IJG_VERSION):
                # grey is read as grey and replicated; colour is converted by libjpeg to RGB
                im = jpeglib.read_spatial(src, out_color_space=jpeglib.JCS_RGB if ncomp == 3 else None)
                rgb = np.asarray(im.spatial)
        except (OSError, KeyError, ValueError) as e:
            raise BadImage(f"IJG libjpeg {IJG_VERSION} cannot decode this JPEG to RGB: {e}") from None
    if rgb.ndim == 2 or rgb.shape[-1] == 1:
        rgb = np.repeat(rgb.reshape(rgb.shape[0], rgb.shape[1], 1), 3, axis=2)
    return np.ascontiguousarray(rgb, dtype=np.uint8)
