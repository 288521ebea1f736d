"""Decoding policies: file bytes -> RGB uint8 (H, W, 3), with EXIF and alpha handling made explicit.

Every runtime decodes differently (EXIF honoured or not, alpha dropped or composited over white or
black, 16-bit reduced by clipping or by shifting). A policy names one such choice; the ``decode`` stage
records which one an impl used, so a decode difference is visible instead of silent.

PIL-based policies use the installed Pillow (the real decoder HF and most Python pipelines use).
Runtime-specific decoders (Go's image packages, stb_image) live in sibling modules.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from parity.errors import BadImage, ParityError
from parity.files import MAX_IMAGE_BYTES, check_regular, human_bytes, read_regular

ALPHA_MODES = ("drop", "white", "black")


@dataclass(frozen=True)
class DecodePolicy:
    """How a file becomes RGB uint8.

    exif: apply the EXIF Orientation tag (PIL ``ImageOps.exif_transpose``).
    alpha: ``drop`` (take RGB, ignore alpha), ``white``/``black`` (``Image.alpha_composite`` over an
        opaque background — the arithmetic transformers' ``convert_to_rgb`` uses for white).
    depth16: how 16-bit single-channel images become 8-bit: ``clip`` (what ``Image.convert("RGB")``
        does: values above 255 saturate) or ``shift`` (keep the high byte, ``>> 8``).
    """

    name: str
    exif: bool
    alpha: str
    depth16: str = "clip"
    description: str = ""

    def __post_init__(self) -> None:
        if self.alpha not in ALPHA_MODES:
            raise ValueError(f"alpha must be one of {ALPHA_MODES}, got {self.alpha!r}")
        if self.depth16 not in ("clip", "shift"):
            raise ValueError(f"depth16 must be 'clip' or 'shift', got {self.depth16!r}")


POLICIES: dict[str, DecodePolicy] = {
    p.name: p
    for p in (
        DecodePolicy("pil-hf", exif=False, alpha="white",
                     description="what transformers does with Image.open(path): no EXIF transpose, "
                                 "alpha (incl. palette tRNS) composited over white, 16-bit clipped"),
        DecodePolicy("pil-hf-exif", exif=True, alpha="white",
                     description="as pil-hf, after ImageOps.exif_transpose"),
        DecodePolicy("pil-drop-alpha", exif=False, alpha="drop",
                     description="Image.convert('RGB'): alpha discarded"),
        DecodePolicy("pil-drop-alpha-exif", exif=True, alpha="drop",
                     description="as pil-drop-alpha, after ImageOps.exif_transpose"),
        DecodePolicy("pil-black", exif=False, alpha="black",
                     description="alpha composited over black"),
        DecodePolicy("pil-black-exif", exif=True, alpha="black",
                     description="as pil-black, after ImageOps.exif_transpose"),
        DecodePolicy("pil-shift16", exif=False, alpha="white", depth16="shift",
                     description="as pil-hf, but 16-bit samples reduced by >> 8"),
    )
}

#: Pillow's own limit on decoded pixels (its decompression-bomb guard); we refuse above it.
MAX_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485


@dataclass(frozen=True)
class Decoded:
    """An RGB uint8 image and what decoding saw on the way.

    ``native`` is the runtime's own decoded representation when later stages need more than RGB
    (Go's image type and 16-bit samples for the Go profiles); ``approximate`` says why the pixels are
    not bit-faithful to the runtime's decoder, when they are not."""

    rgb: np.ndarray  # (H, W, 3) uint8
    policy: str
    info: dict  # format, mode, size, orientation, has_alpha ...
    native: object = None
    approximate: str | None = None


def check_image_path(path: str | os.PathLike) -> None:
    """What ``read_bytes`` refuses, without reading: the CLI checks each IMAGE before running impls."""
    size = check_regular(path, "image", BadImage)
    if size == 0:
        raise BadImage(f"image file is empty (0 bytes): {path}")
    if size > MAX_IMAGE_BYTES:
        raise BadImage(f"image {path} is {size:,} bytes, over the {human_bytes(MAX_IMAGE_BYTES)} cap")


def read_bytes(path: str | os.PathLike) -> bytes:
    """Read an image file, with a one-line BadImage for the usual failures: not found, a directory,
    not a regular file (a FIFO would block, /dev/zero never ends), a symlink loop, over
    ``MAX_IMAGE_BYTES`` (512 MiB), unreadable, empty."""
    data = read_regular(path, "image", MAX_IMAGE_BYTES, BadImage)
    if not data:
        raise BadImage(f"image file is empty (0 bytes): {path}")
    return data


def open_pil(data: bytes, label: str) -> Image.Image:
    """Open and fully load with Pillow; corrupt, truncated and oversized inputs raise ParityError."""
    # Some authors' packages flip Pillow's global LOAD_TRUNCATED_IMAGES on import (llama-models'
    # llama4/preprocess.py does); a truncated file must still be an error here, so pin it for the load.
    saved = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        return _open_pil_strict(data, label)
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = saved


def _open_pil_strict(data: bytes, label: str) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data))
            w, h = img.size
            if w * h > MAX_PIXELS:
                raise BadImage(f"image too large: {label} is {w}x{h} = {w * h} pixels, over Pillow's "
                                  f"decompression-bomb limit of {MAX_PIXELS}")
            if w == 0 or h == 0:
                raise BadImage(f"image has zero size: {label} is {w}x{h}")
            img.load()
        except BadImage:
            raise
        except UnidentifiedImageError:
            raise BadImage(f"not a readable image: {label}") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            raise BadImage(f"image too large: {label}: {e}") from None
        except (OSError, SyntaxError, ValueError, EOFError) as e:
            raise BadImage(f"corrupt or truncated image: {label}: {e}") from None
    return img


def exif_orientation(img: Image.Image) -> int:
    try:
        return int(img.getexif().get(0x0112, 1))
    except Exception:  # a broken EXIF block is treated as no orientation, as PIL's exif_transpose does
        return 1


def _to_8bit(img: Image.Image, depth16: str) -> Image.Image:
    """16/32-bit single-channel modes -> 'L' per the policy; other modes untouched."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I") and depth16 == "shift":
        arr = np.asarray(img).astype(np.int64)
        return Image.fromarray((np.clip(arr, 0, 65535) >> 8).astype(np.uint8), "L")
    return img


def has_alpha(img: Image.Image) -> bool:
    """Same test as transformers' convert_to_rgb: an alpha band or a tRNS/transparency entry."""
    return "A" in img.getbands() or img.info.get("transparency") is not None


def to_rgb(img: Image.Image, policy: DecodePolicy) -> np.ndarray:
    """A loaded PIL image -> (H, W, 3) uint8 per the policy."""
    img = _to_8bit(img, policy.depth16)
    if has_alpha(img) and policy.alpha != "drop":
        rgba = img.convert("RGBA")
        colour = (255, 255, 255, 255) if policy.alpha == "white" else (0, 0, 0, 255)
        background = Image.new("RGBA", rgba.size, colour)
        img = Image.alpha_composite(background, rgba)
    return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()


def decode_pil(path: str | os.PathLike, policy: str | DecodePolicy = "pil-hf") -> Decoded:
    """Decode ``path`` with Pillow under a named policy."""
    pol = POLICIES[policy] if isinstance(policy, str) else policy
    data = read_bytes(path)
    img = open_pil(data, str(path))
    info = {
        "format": img.format,
        "mode": img.mode,
        "width": img.size[0],
        "height": img.size[1],
        "orientation": exif_orientation(img),
        "has_alpha": has_alpha(img),
    }
    if pol.exif:
        img = ImageOps.exif_transpose(img)
    return Decoded(to_rgb(img, pol), pol.name, info)


def get_policy(name: str) -> DecodePolicy:
    try:
        return POLICIES[name]
    except KeyError:
        raise ParityError(f"unknown decode policy {name!r}; valid: {', '.join(POLICIES)}") from None
