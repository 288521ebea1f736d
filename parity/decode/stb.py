"""stb_image decoding as llama.cpp does it: ``stbi_load_from_memory(buf, len, &x, &y, &n, 3)``.

Source: ggml-org/llama.cpp tools/mtmd/mtmd-helper.cpp (``mtmd_helper_bitmap_init_from_buf``) at commit
0c1e570, vendor/stb/stb_image.h v2.30. Three channels are forced:
- alpha is dropped, never composited (RGBA, grey+alpha, palette or colour-key transparency alike);
- grey is replicated to R, G and B; palettes are expanded; 1/2/4-bit grey is scaled to 0..255;
- 16-bit samples keep their high byte (``>> 8``);
- EXIF orientation is ignored.

PNG: stb's result is reproduced exactly from the PNG's raw samples (read through Pillow's PNG decoder,
which applies no colour management or gamma either). JPEG and the other formats: stb itself when
``llama_cpp`` (llama-cpp-python, an optional extra) is importable, since its ``libmtmd`` exports
``stbi_load_from_memory``; otherwise Pillow, and the decode stage says it is approximate (stb's JPEG
decoder is not Pillow's libjpeg: IDCT and chroma upsampling differ by a few levels).
"""

from __future__ import annotations

import ctypes
import os
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image

from parity.decode import Decoded, open_pil, read_bytes

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
APPROX_NO_STB = ("stb_image is not available (install llama-cpp-python for its libmtmd); decoded with "
                 "Pillow, whose JPEG decoder differs from stb's by a few levels")


def png_rgb_stb(img: Image.Image) -> np.ndarray:
    """A loaded PNG (Pillow image in its native mode) -> what stb returns with 3 channels forced."""
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        grey = (np.asarray(img).astype(np.int64) >> 8).astype(np.uint8)  # 16-bit grey: high byte
        return np.repeat(grey[:, :, None], 3, axis=2)
    if mode in ("RGB", "RGBA"):
        # Pillow's 16-bit RGB(A) PNG unpackers already keep the high byte of each sample
        return np.asarray(img, dtype=np.uint8)[:, :, :3].copy()
    if mode in ("L", "LA", "1"):
        grey = np.asarray(img.convert("L") if mode == "1" else img, dtype=np.uint8)
        grey = grey if grey.ndim == 2 else grey[:, :, 0]
        return np.repeat(grey[:, :, None], 3, axis=2)
    if mode in ("P", "PA"):
        # palette expanded to RGB; tRNS and alpha ignored
        return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()
    raise ValueError(f"unexpected PNG mode {mode!r}")


@cache
def _libmtmd_stb():
    """(stbi_load_from_memory, stbi_image_free, library path) from llama-cpp-python's libmtmd, or None."""
    try:
        import llama_cpp  # noqa: F401  (optional extra)
    except Exception:
        return None
    root = Path(llama_cpp.__file__).parent
    names = ("libmtmd.so", "libmtmd.dylib", "mtmd.dll")
    for cand in [p for n in names for p in root.rglob(n)]:
        try:
            lib = ctypes.CDLL(os.fspath(cand))
            load, free = lib.stbi_load_from_memory, lib.stbi_image_free
        except (OSError, AttributeError):
            continue
        load.restype = ctypes.POINTER(ctypes.c_ubyte)
        load.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int),
                         ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int), ctypes.c_int]
        free.argtypes = [ctypes.c_void_p]
        return load, free, os.fspath(cand)
    return None


def stb_available() -> bool:
    return _libmtmd_stb() is not None


def decode_with_libmtmd(data: bytes) -> np.ndarray | None:
    """The real stb, through libmtmd: (H, W, 3) uint8, or None when stb cannot read the bytes."""
    found = _libmtmd_stb()
    if found is None:
        return None
    load, free, _ = found
    x, y, n = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
    ptr = load(data, len(data), ctypes.byref(x), ctypes.byref(y), ctypes.byref(n), 3)
    if not ptr:
        return None
    try:
        return np.ctypeslib.as_array(ptr, shape=(y.value, x.value, 3)).copy()
    finally:
        free(ptr)


def decode_stb(path: str | os.PathLike) -> tuple[Decoded, str | None]:
    """Decode ``path`` as llama.cpp does: (Decoded with policy ``stb``, approximate-reason or None)."""
    data = read_bytes(path)
    if data.startswith(PNG_MAGIC):
        img = open_pil(data, str(path))
        info = {"format": "PNG", "mode": img.mode, "width": img.size[0], "height": img.size[1],
                "decoder": "stb semantics on the PNG samples"}
        return Decoded(png_rgb_stb(img), "stb", info), None
    rgb = decode_with_libmtmd(data)
    if rgb is not None:
        info = {"width": rgb.shape[1], "height": rgb.shape[0], "decoder": f"stb via {_libmtmd_stb()[2]}"}
        return Decoded(rgb, "stb", info), None
    img = open_pil(data, str(path))  # raises ParityError for unreadable input
    info = {"format": img.format, "mode": img.mode, "width": img.size[0], "height": img.size[1],
            "decoder": "Pillow (stb unavailable)"}
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        rgb = png_rgb_stb(img)
    else:
        rgb = np.asarray(img.convert("RGBA").convert("RGB") if "A" in img.getbands() else img.convert("RGB"),
                         dtype=np.uint8).copy()
    reason = APPROX_NO_STB if stb_available() is False else "stb could not read this file; decoded with Pillow"
    return Decoded(rgb, "stb", info), reason
