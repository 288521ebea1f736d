"""Decoder profiles: how each runtime turns a file into pixels, by name, and the decode cache.

A profile is one runtime's decoder with its own EXIF, alpha and strictness rules:

- ``pil-*``: Pillow (its JPEG decoder is libjpeg-turbo, the one transformers and most Python code use)
  under a named policy (EXIF on/off, alpha dropped or composited over white/black; see
  ``parity.decode.POLICIES``);
- ``stb``: stb_image v2.30 as llama.cpp builds it (``parity.decode.stb``);
- ``go1.26`` / ``go1.25``: Go's ``image.Decode`` with the decoders Ollama registers
  (``parity.decode.go``), with the ``image/jpeg`` of Go 1.26 (what Ollama f63eea3 builds with) or of Go
  up to 1.25 (older Ollama releases); the decoded Go image travels in ``Decoded.native`` for the
  pipelines that read Go's own samples;
- ``ijg-8d``: IJG libjpeg 8d (onnxruntime-extensions on Linux) for JPEG, Pillow for other formats.

Every impl decodes through ``decode_file``, which consults a ``DecodeCache`` when one is given: an image
is decoded once per (file content, profile) and shared by every preset and impl that asks for it.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from parity.decode import POLICIES, Decoded, decode_pil, read_bytes
from parity.decode.go import decode_go, premultiplied_rgba8
from parity.decode.jpeg.libjpeg import IJG_VERSION, decode_jpeg_ijg8d
from parity.decode.stb import decode_stb
from parity.errors import ParityError


@dataclass(frozen=True)
class DecoderProfile:
    name: str
    runtime: str  # who decodes this way
    description: str
    decode: Callable[[str], Decoded]


def _pil(policy: str) -> Callable[[str], Decoded]:
    return lambda path: decode_pil(path, policy)


def _stb(path: str) -> Decoded:
    decoded, approximate = decode_stb(path)
    return replace(decoded, approximate=approximate)


def _rgb_of_rgba(rgba: np.ndarray) -> np.ndarray:
    """The first three channels, as a new contiguous array (OpenCV's channel drop: the same bytes as
    ``rgba[..., :3].copy()``, faster)."""
    if rgba.size == 0:
        return rgba[..., :3].copy()
    return cv2.cvtColor(np.ascontiguousarray(rgba), cv2.COLOR_RGBA2RGB)


def _go(generation: str) -> Callable[[str], Decoded]:
    """RGB = the premultiplied samples' high bytes (what an ``*image.RGBA`` copy holds); a pipeline that
    composites first prepares its own input from ``native``."""
    def decode(path: str) -> Decoded:
        img = decode_go(path, jpeg=generation)
        info = {"go_type": img.go_type, "height": img.size[0], "width": img.size[1]}
        return Decoded(_rgb_of_rgba(premultiplied_rgba8(img)), generation, info, native=img,
                       approximate=img.approximate)

    return decode


def _ijg8d(path: str) -> Decoded:
    data = read_bytes(path)
    if not data.startswith(b"\xff\xd8"):
        return replace(decode_pil(path, "pil-hf"), policy="ijg-8d")
    rgb = decode_jpeg_ijg8d(data)
    return Decoded(rgb, "ijg-8d", {"format": "JPEG", "height": rgb.shape[0], "width": rgb.shape[1],
                                   "decoder": f"IJG libjpeg {IJG_VERSION}"})


PROFILES: dict[str, DecoderProfile] = {
    p.name: p
    for p in (
        *(DecoderProfile(name, "Pillow (libjpeg-turbo for JPEG)", pol.description, _pil(name))
          for name, pol in POLICIES.items()),
        DecoderProfile("stb", "llama.cpp", "stb_image v2.30, 3 channels forced: alpha dropped, EXIF ignored",
                       _stb),
        DecoderProfile("go1.26", "Ollama (f63eea3 builds with Go 1.26)",
                       "Go image.Decode, image/jpeg of Go 1.26 (dct.go, LLM IDCT); EXIF ignored", _go("go1.26")),
        DecoderProfile("go1.25", "Ollama built with Go <= 1.25",
                       "Go image.Decode, image/jpeg up to Go 1.25 (idct.go, integer IDCT); EXIF ignored", _go("go1.25")),
        DecoderProfile("ijg-8d", "onnxruntime-extensions (Linux)",
                       "IJG libjpeg 8d for JPEG (its default IDCT and upsampling); other formats as pil-hf", _ijg8d),
    )
}


def get_profile(name: str) -> DecoderProfile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ParityError(f"unknown decoder profile {name!r}; valid: {', '.join(PROFILES)}") from None


@dataclass
class DecodeCache:
    """Decoded images keyed by (file identity, profile), least recently used dropped past ``max_items``.

    The file identity is its resolved path, size and modification time; a file rewritten between two
    runs is decoded again."""

    max_items: int = 32
    _items: OrderedDict = field(default_factory=OrderedDict)
    hits: int = 0
    misses: int = 0

    def get(self, path: str, profile: str, decode: Callable[[], Decoded]) -> Decoded:
        key = (_identity(path), profile)
        if key in self._items:
            self.hits += 1
            self._items.move_to_end(key)
            return self._items[key]
        self.misses += 1
        value = _read_only(decode())
        self._items[key] = value
        while len(self._items) > self.max_items:
            self._items.popitem(last=False)
        return value


def _read_only(decoded: Decoded) -> Decoded:
    """The shared pixels cannot be changed by one impl under another's feet."""
    decoded.rgb.setflags(write=False)
    for arr in vars(decoded.native).values() if decoded.native is not None and hasattr(decoded.native, "__dict__") else ():
        if isinstance(arr, np.ndarray):
            arr.setflags(write=False)
    return decoded


def _identity(path: str) -> tuple:
    try:
        st = os.stat(path)
    except OSError:
        return (os.fspath(path),)  # the decoder reports the real problem
    return (os.path.realpath(path), st.st_size, st.st_mtime_ns, st.st_ino)


def decode_file(path: str, profile: str, cache: DecodeCache | None = None) -> Decoded:
    """Decode ``path`` with the named profile, through ``cache`` when given."""
    decoder = get_profile(profile).decode
    if cache is None:
        return decoder(path)
    return cache.get(path, profile, lambda: decoder(path))

