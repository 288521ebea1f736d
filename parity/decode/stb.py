"""stb_image decoding as llama.cpp does it: ``stbi_load_from_memory(buf, len, &x, &y, &n, 3)``.

Source: ggml-org/llama.cpp tools/mtmd/mtmd-helper.cpp (``mtmd_helper_bitmap_init_from_buf``) at commit
0c1e570, vendor/stb/stb_image.h v2.30. Three channels are forced:
- alpha is dropped, never composited (RGBA, grey+alpha, palette or colour-key transparency alike);
- grey is replicated to R, G and B; palettes are expanded; 1/2/4-bit grey is scaled to 0..255;
- 16-bit samples keep their high byte (``>> 8``);
- EXIF orientation is ignored.

JPEG: ``parity.decode.jpeg.stb``, a numpy port of stb's JPEG decoder, bit-exact against the real stb on
the corpus of ``fixtures/make_jpeg_corpus.py`` (``tests/oracles/stb_image``); it says itself when a
damaged file makes it approximate.

PNG: stb's result is reproduced exactly from the PNG's raw samples (read through Pillow's PNG decoder,
which applies no colour management or gamma either). stb checks neither chunk CRCs nor the zlib stream's
Adler-32 (``stbi__parse_png_file`` skips every CRC; ``stbi__parse_zlib_header`` checks only the header);
Pillow refuses a bad CRC in a critical or text chunk and a bad Adler-32, so a PNG Pillow refuses is
re-read with its CRCs recomputed and its zlib stream re-wrapped (``png_as_stb_reads``): the samples are
unchanged, and what stb accepts decodes.

Other formats (BMP, GIF, TGA...): Pillow, marked approximate.
"""

from __future__ import annotations

import os
import struct
import zlib

import numpy as np
from PIL import Image

from parity.decode import MAX_PIXELS, Decoded, open_pil, read_bytes
from parity.decode.jpeg.stb import decode_jpeg_stb_full
from parity.errors import BadImage

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8"
APPROX_OTHER_FORMAT = "stb's decoder for this format is not ported; decoded with Pillow"


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


def png_as_stb_reads(data: bytes) -> bytes | None:
    """The PNG with every chunk CRC recomputed and the IDAT zlib stream re-wrapped with a correct
    Adler-32: what stb, which checks neither, sees. None when the chunk structure itself is broken or
    the zlib header fails stb's own check (``stbi__parse_zlib_header``)."""
    chunks, i, idat = [], len(PNG_MAGIC), bytearray()
    while i + 8 <= len(data):
        length, ctype = struct.unpack(">I4s", data[i:i + 8])
        body = data[i + 8:i + 8 + length]
        if len(body) < length:
            return None
        if ctype == b"IDAT":
            idat += body
        else:
            chunks.append((ctype, body))
        i += 12 + length
        if ctype == b"IEND":
            break
    if len(idat) < 2 or (idat[0] * 256 + idat[1]) % 31 or idat[1] & 32 or idat[0] & 15 != 8:
        return None
    try:
        raw = zlib.decompressobj(-15).decompress(bytes(idat[2:]))  # raw deflate: no Adler-32 check
    except zlib.error:
        return None
    out = bytearray(PNG_MAGIC)
    for ctype, body in chunks:
        if ctype == b"IEND":
            out += _png_chunk(b"IDAT", zlib.compress(raw, 1))
        out += _png_chunk(ctype, body)
    return bytes(out)


def _png_chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def png_has_iend(data: bytes) -> bool:
    """Whether the chunk walk reaches IEND. stb_image's ``stbi__parse_png_file`` reads chunks until IEND;
    past the end of the data it reads zeros, a chunk of type 0 it does not know and whose 'critical' bit
    is set, so a PNG without IEND is refused ("PNG chunk not known")."""
    i = len(PNG_MAGIC)
    while i + 8 <= len(data):
        length, ctype = struct.unpack(">I4s", data[i:i + 8])
        if ctype == b"IEND":
            return True
        i += 12 + length
    return False


def _open_png_as_stb(data: bytes, label: str) -> Image.Image:
    if not png_has_iend(data):
        raise BadImage(f"stb_image refuses {label}: the PNG has no IEND chunk (stb reads on past the end: "
                       "'PNG chunk not known')")
    try:
        return open_pil(data, label)
    except BadImage:
        repaired = png_as_stb_reads(data)
        if repaired is None:
            raise
        return open_pil(repaired, label)


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the first SOF0/1/2, for the pixel cap before decoding."""
    i = data.find(b"\xff\xc0")
    for marker in (b"\xff\xc1", b"\xff\xc2"):
        j = data.find(marker)
        i = j if i < 0 or 0 <= j < i else i
    if i < 0 or i + 9 > len(data):
        return None
    return (data[i + 7] << 8) | data[i + 8], (data[i + 5] << 8) | data[i + 6]


def decode_stb(path: str | os.PathLike) -> tuple[Decoded, str | None]:
    """Decode ``path`` as llama.cpp does: (Decoded with policy ``stb``, approximate-reason or None)."""
    data = read_bytes(path)
    if data.startswith(PNG_MAGIC):
        img = _open_png_as_stb(data, str(path))
        info = {"format": "PNG", "mode": img.mode, "width": img.size[0], "height": img.size[1],
                "decoder": "stb semantics on the PNG samples"}
        return Decoded(png_rgb_stb(img), "stb", info), None
    if data.startswith(JPEG_MAGIC):
        size = _jpeg_size(data)
        if size and size[0] * size[1] > MAX_PIXELS:
            raise BadImage(f"image too large: {path} is {size[0]}x{size[1]} = {size[0] * size[1]} pixels, "
                           f"over Pillow's decompression-bomb limit of {MAX_PIXELS}")
        try:
            out = decode_jpeg_stb_full(data)
        except BadImage as e:
            raise BadImage(f"{e}: {path}") from None
        return Decoded(out.rgb, "stb", dict(out.info, format="JPEG")), out.approximate
    try:
        img = open_pil(data, str(path))
    except BadImage as e:
        # neither PNG nor JPEG; stb's other loaders (BMP, GIF, PSD, PIC, PNM, HDR, TGA) are not ported
        raise BadImage(f"{e} (not a PNG or JPEG: stb_image says unknown image type unless another of "
                       "its loaders reads it)") from None
    info = {"format": img.format, "mode": img.mode, "width": img.size[0], "height": img.size[1],
            "decoder": "Pillow (stb's decoder for this format is not ported)"}
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        rgb = png_rgb_stb(img)
    else:
        rgb = np.asarray(img.convert("RGBA").convert("RGB") if "A" in img.getbands() else img.convert("RGB"),
                         dtype=np.uint8).copy()
    return Decoded(rgb, "stb", info), APPROX_OTHER_FORMAT
