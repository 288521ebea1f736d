"""Go's ``image.Decode`` as ollama's engine sees it: the Go image type, and its premultiplied samples.

What Go decodes a PNG into (``image/png`` ``reader.go``, Go 1.19 source, same type table in later Go):

====================  =================  ==================================================
PNG colour type       Go type            samples ``At().RGBA()`` returns (16-bit, premultiplied)
====================  =================  ==================================================
gray 1/2/4/8          ``*image.Gray``    v*0x101, alpha 0xffff (1/2/4-bit scaled to 0..255)
gray 1..8 + tRNS      ``*image.NRGBA``   alpha 0 where v == tRNS grey, else 0xff
gray 16               ``*image.Gray16``  v, alpha 0xffff
gray 16 + tRNS        ``*image.NRGBA64`` alpha 0 or 0xffff
gray+alpha 8          ``*image.NRGBA``   ``color.NRGBA.RGBA``: v*0x101*a/0xff, alpha a*0x101
truecolour 8          ``*image.RGBA``    v*0x101, alpha 0xffff
truecolour 8 + tRNS   ``*image.NRGBA``   alpha 0 where (r,g,b) == tRNS colour
truecolour 16         ``*image.RGBA64``  v
truecolour 16 + tRNS, ``*image.NRGBA64`` ``color.NRGBA64.RGBA``: v*a/0xffff
gray/truecolour+alpha 16
palette 1/2/4/8       ``*image.Paletted`` palette entries ``color.RGBA`` (opaque); with tRNS the
                                         first len(tRNS) entries become ``color.NRGBA``
====================  =================  ==================================================

PNG pixel values come from OpenCV for opaque 8-bit grey and truecolour and for 16-bit colour (Pillow
keeps only the high byte there), from Pillow for the rest (8-bit with alpha or tRNS, palette indices,
low bit depths): PNG is lossless, so they are Go's values; the Go semantics (types, tRNS
handling, premultiplication) are applied here from the file's own IHDR/PLTE/tRNS chunks, and
``parity.decode.go_png`` refuses what Go's ``image/png`` refuses (chunk CRCs, order, lengths, pixel
data), with Go's error text.

JPEG is Go's ``image/jpeg``, ported bit-exactly for both generations (``parity.decode.go_jpeg``:
``go1.26``, the toolchain ollama f63eea3 builds with, and ``go1.25``): an ``*image.YCbCr`` (4:4:4,
4:4:0, 4:2:2, 4:2:0, 4:1:1, 4:1:0; its planes kept), ``*image.Gray``, ``*image.RGBA`` (Adobe RGB) or
``*image.CMYK``. Its ``pixels`` are what ``At().RGBA()`` returns: for YCbCr the 16-bit
``color.YCbCr.RGBA`` conversion, whose high bytes are ``color.YCbCrToRGB``'s 8-bit RGB (what
``image/draw``'s ``DrawYCbCr`` writes when ``imageproc.Composite`` draws it); x/image's scalers read
4:4:4/4:2:2/4:2:0/4:4:0 through ``scaleX_YCbCr*`` (the same 16-bit conversion, alpha stored as 1: the
``alpha_one`` fast path) and other types through ``At().RGBA()``.

ollama f63eea3 registers PNG, JPEG, BMP, TIFF and WebP decoders (``model/model.go``), not GIF: a GIF
fails with Go's ``image: unknown format``. BMP, TIFF and WebP are decoded with Pillow and marked
approximate (Go's x/image decoders are not ported).

``composite_over_white`` is ollama's ``imageproc.Composite`` (``image/draw`` ``Draw`` ``Over`` onto
opaque white, the fast paths ``drawCopyOver``/``drawNRGBAOver``/``drawGray``/``drawRGBA`` of
``image/draw/draw.go``, which all compute (255*(0xffff-a)*0x101/0xffff + c) >> 8).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import cv2
import numpy as np

from parity.decode import MAX_PIXELS, open_pil, read_bytes
from parity.decode.go_jpeg import DEFAULT_GO_JPEG, decode_jpeg_go
from parity.decode.go_png import check_png_go, with_stored_idat
from parity.errors import BadImage, ParityError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
GIF_MAGICS = (b"GIF87a", b"GIF89a")


#: Go image types whose every pixel is opaque by definition (``Opaque()`` returns true without a scan)
OPAQUE_TYPES = ("*image.Gray", "*image.Gray16", "*image.YCbCr", "*image.CMYK")


@dataclass(frozen=True)
class GoImage:
    """A decoded image as Go holds it.

    go_type: the concrete Go type (``*image.RGBA``...); pixels: (H, W, 4), either uint16 samples,
    what ``At(x, y).RGBA()`` returns (alpha-premultiplied), or, for 8-bit opaque images, uint8 bytes
    whose samples are v*0x101 (cheaper, same values); approximate: why the samples may differ from
    Go's decoder (None when exact); ratio: an ``*image.YCbCr``'s subsample ratio ("4:2:0"...);
    planes: a decoded JPEG's planes as Go stores them (``Y``, ``Cb``, ``Cr``, ``K``), cropped to the
    samples the image reads; high_bytes: (H, W, 4) uint8, the high bytes of 16-bit ``pixels`` when the
    decoder computed them along (an ``*image.YCbCr``'s ``color.YCbCrToRGB`` bytes), else None.
    """

    go_type: str
    pixels: np.ndarray
    approximate: str | None = None
    ratio: str | None = None
    planes: dict[str, np.ndarray] | None = None
    high_bytes: np.ndarray | None = None

    @property
    def rgba64(self) -> np.ndarray:
        """(H, W, 4) uint16 samples, as ``At(x, y).RGBA()`` returns them."""
        if self.pixels.dtype == np.uint8:
            return self.pixels.astype(np.uint16) * 0x101
        return self.pixels

    @property
    def gray(self) -> bool:
        """x/image/draw takes its ``*image.Gray`` fast path (alpha stored as exactly 1)."""
        return self.go_type == "*image.Gray"

    @property
    def alpha_one(self) -> bool:
        """x/image/draw's ``scaleX_Gray``/``scaleX_YCbCr{444,422,420,440}`` fast path: the horizontal
        pass stores an alpha of exactly 1 (other types go through ``At().RGBA()``)."""
        return self.gray or (self.go_type == "*image.YCbCr" and self.ratio in ("4:4:4", "4:2:2", "4:2:0", "4:4:0"))

    @property
    def opaque(self) -> bool:
        """Every alpha is full. Go's ``*image.Gray``, ``*image.Gray16``, ``*image.YCbCr`` and
        ``*image.CMYK`` are opaque by type (their ``At().RGBA()`` alpha is always 0xffff); other types
        are checked sample by sample."""
        if self.go_type in OPAQUE_TYPES:
            return True
        full = 0xFF if self.pixels.dtype == np.uint8 else 0xFFFF
        return bool((self.pixels[..., 3] == full).all())

    @property
    def size(self) -> tuple[int, int]:
        """(height, width)."""
        return self.pixels.shape[0], self.pixels.shape[1]


def go_image_from_rgb(rgb: np.ndarray, go_type: str = "*image.RGBA",
                      approximate: str | None = None) -> GoImage:
    """An opaque image from RGB uint8 (stage injection, or a Pillow-decoded non-PNG)."""

    out = cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.uint8), cv2.COLOR_RGB2RGBA)  # alpha 0xff
    return GoImage(go_type, out, approximate)


def _chunks(data: bytes) -> dict[bytes, bytes]:
    """First occurrence of each ancillary chunk we need (IHDR, PLTE, tRNS), read up to IDAT."""
    found: dict[bytes, bytes] = {}
    pos = len(PNG_MAGIC)
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            break
        found.setdefault(kind, data[pos + 8:pos + 8 + length])
        pos += 12 + length
    return found


def _premultiply(colour: np.ndarray, alpha8: np.ndarray) -> np.ndarray:
    """``color.NRGBA.RGBA``: c*0x101*a/0xff (integer division), alpha a*0x101."""
    a16 = alpha8.astype(np.uint32) * 0x101
    out = np.empty(colour.shape[:2] + (4,), dtype=np.uint16)
    out[..., :3] = colour.astype(np.uint32) * a16[..., None] // 0xFF
    out[..., 3] = a16
    return out


def _premultiply16(colour: np.ndarray, alpha16: np.ndarray) -> np.ndarray:
    """``color.NRGBA64.RGBA``: c*a/0xffff (integer division)."""
    a = alpha16.astype(np.uint32)
    out = np.empty(colour.shape[:2] + (4,), dtype=np.uint16)
    out[..., :3] = colour.astype(np.uint32) * a[..., None] // 0xFFFF
    out[..., 3] = a
    return out


def _gray16(v: np.ndarray) -> np.ndarray:
    out = np.empty(v.shape + (4,), dtype=np.uint16)
    out[..., :3] = v[..., None]
    out[..., 3] = 0xFFFF
    return out


def _cv2_16bit(data: bytes, label: str) -> np.ndarray:
    """16-bit samples, RGB(A) order (OpenCV keeps all 16 bits; Pillow keeps the high byte)."""

    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None or arr.dtype != np.uint16:
        raise BadImage(f"corrupt or truncated image: {label}: 16-bit PNG not decodable")
    if arr.ndim == 2:
        return arr
    return arr[..., [2, 1, 0, 3]] if arr.shape[2] == 4 else arr[..., ::-1]


_SCALE_LOW_DEPTH = {1: 0xFF, 2: 0x55, 4: 0x11, 8: 1}


def _cv2_8bit(data: bytes, ctype: int) -> np.ndarray | None:
    """An 8-bit grey (``ctype`` 0) or truecolour (2) PNG without tRNS -> opaque RGBA bytes (H, W, 4), the
    values any PNG decoder gives (OpenCV's libpng here: no gamma, no EXIF rotation with
    IMREAD_UNCHANGED); None when OpenCV cannot decode it (the Pillow path then reports why)."""

    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None or arr.dtype != np.uint8 or arr.ndim != (2 if ctype == 0 else 3) or \
            (ctype == 2 and arr.shape[2] != 3):
        return None
    return cv2.cvtColor(arr, cv2.COLOR_GRAY2RGBA if ctype == 0 else cv2.COLOR_BGR2RGBA)  # alpha 0xff


def decode_png_go(data: bytes, label: str) -> GoImage:
    """A PNG file -> the Go image type ``image/png.Decode`` returns, with its premultiplied samples."""
    ch = _chunks(data)
    if b"IHDR" not in ch or len(ch[b"IHDR"]) < 10:
        raise BadImage(f"corrupt or truncated image: {label}: no PNG IHDR chunk")
    width, height, depth, ctype = struct.unpack(">IIBB", ch[b"IHDR"][:10])
    trns = ch.get(b"tRNS")
    if depth == 8 and ctype in (0, 2) and trns is None and b"acTL" not in ch and width * height <= MAX_PIXELS:
        rgba = _cv2_8bit(data, ctype)  # the common opaque case, decoded straight to bytes
        if rgba is not None:
            return GoImage("*image.Gray" if ctype == 0 else "*image.RGBA", rgba)
    img = open_pil(data, label)

    if depth == 16 and ctype in (0, 2, 4, 6):
        if ctype == 0:
            v = np.asarray(img, dtype=np.uint16) if img.mode.startswith("I") else _cv2_16bit(data, label)
            if v.ndim == 3:
                v = v[..., 0]
            if trns is None:
                return GoImage("*image.Gray16", _gray16(v))
            ty = struct.unpack(">H", trns[:2])[0]
            alpha = np.where(v == ty, 0, 0xFFFF).astype(np.uint16)
            return GoImage("*image.NRGBA64", _premultiply16(np.repeat(v[..., None], 3, -1), alpha))
        arr = _cv2_16bit(data, label)
        if arr.ndim == 2:
            arr = np.repeat(arr[..., None], 3, -1)
        colour = arr[..., :3]
        if ctype in (4, 6):
            return GoImage("*image.NRGBA64", _premultiply16(colour, arr[..., 3]))
        if trns is None:
            out = np.empty(colour.shape[:2] + (4,), dtype=np.uint16)
            out[..., :3] = colour
            out[..., 3] = 0xFFFF
            return GoImage("*image.RGBA64", out)
        t = np.array(struct.unpack(">HHH", trns[:6]), dtype=np.uint16)
        alpha = np.where((colour == t).all(-1), 0, 0xFFFF).astype(np.uint16)
        return GoImage("*image.NRGBA64", _premultiply16(colour, alpha))

    if ctype == 0:
        v = np.asarray(img.convert("L") if img.mode == "1" else img, dtype=np.uint8)
        if trns is None:
            return go_image_from_rgb(np.repeat(v[..., None], 3, -1), "*image.Gray")
        ty = (trns[1] * _SCALE_LOW_DEPTH[depth]) & 0xFF  # Go keeps the low byte, scaled by depth
        alpha = np.where(v == ty, 0, 0xFF).astype(np.uint8)
        return GoImage("*image.NRGBA", _premultiply(np.repeat(v[..., None], 3, -1), alpha))
    if ctype == 2:
        rgb = np.asarray(img if img.mode == "RGB" else img.convert("RGB"), dtype=np.uint8)
        if trns is None:
            return go_image_from_rgb(rgb)
        t = np.array([trns[1], trns[3], trns[5]], dtype=np.uint8)
        alpha = np.where((rgb == t).all(-1), 0, 0xFF).astype(np.uint8)
        return GoImage("*image.NRGBA", _premultiply(rgb, alpha))
    if ctype == 3:
        plte = ch.get(b"PLTE")
        if plte is None:
            raise BadImage(f"corrupt or truncated image: {label}: palette PNG without PLTE")
        n = len(plte) // 3
        # parsePLTE fills all 256 entries (those past the palette opaque black) and readImagePass
        # re-slices the palette up to any index it meets; parsetRNS likewise up to len(tRNS).
        pal = np.zeros((256, 3), dtype=np.uint8)
        pal[:n] = np.frombuffer(plte[:3 * n], np.uint8).reshape(n, 3)
        alpha = np.full(256, 0xFF, dtype=np.uint8)
        if trns is not None:
            alpha[:len(trns[:256])] = np.frombuffer(trns[:256], np.uint8)
        # Opaque entries stay color.RGBA (v*0x101); tRNS entries are color.NRGBA, premultiplied.
        entries = _premultiply(pal[None], alpha[None])[0]
        idx = np.asarray(img, dtype=np.uint8)
        return GoImage("*image.Paletted", entries[idx])
    if ctype in (4, 6):
        rgba = np.asarray(img.convert("RGBA"), dtype=np.uint8)
        return GoImage("*image.NRGBA", _premultiply(rgba[..., :3], rgba[..., 3]))
    raise BadImage(f"corrupt or truncated image: {label}: PNG colour type {ctype} depth {depth}")


def _registered_magic(data: bytes) -> bool:
    """The magic strings of the other formats ollama f63eea3 registers (x/image bmp, tiff, webp)."""
    return (data[:2] == b"BM" and data[6:10] == b"\0\0\0\0") or data[:4] in (b"II*\x00", b"MM\x00*") or \
        (data[:4] == b"RIFF" and data[8:15] == b"WEBPVP8")


def decode_jpeg_to_go_image(data: bytes, label: str, jpeg: str = DEFAULT_GO_JPEG) -> GoImage:
    """A JPEG file -> the Go image ``image/jpeg.Decode`` returns (``jpeg``: ``go1.26`` or ``go1.25``)."""
    try:
        img = decode_jpeg_go(data, jpeg)
    except BadImage as e:
        raise BadImage(f"{label}: {e}") from None
    if img.rgba64 is None:
        return GoImage(img.go_type, img.rgba8, img.approximate, img.ratio, img.planes)
    return GoImage(img.go_type, img.rgba64, img.approximate, img.ratio, img.planes, high_bytes=img.rgba8)


def decode_go(path: str, jpeg: str = DEFAULT_GO_JPEG) -> GoImage:
    """``image.Decode`` with the formats ollama f63eea3's runner registers; ``jpeg`` picks the Go
    generation of ``image/jpeg`` (``go1.26``: what ollama f63eea3 builds with; ``go1.25``)."""
    data = read_bytes(path)
    if data.startswith(PNG_MAGIC):
        try:
            checked = check_png_go(data)
        except BadImage as e:
            raise BadImage(f"{path}: {e}") from None
        # the pixel values from the rows the check inflated (same bytes, no second inflate)
        return decode_png_go(with_stored_idat(data, checked), str(path))
    if data.startswith(b"\xff\xd8"):  # image/jpeg's registered magic
        return decode_jpeg_to_go_image(data, str(path), jpeg)
    if data[:6] in GIF_MAGICS:
        raise BadImage(f"{path}: image: unknown format (ollama's Go engine registers no GIF decoder)")
    if not _registered_magic(data):  # image.Decode's sniff: no registered format matches
        raise BadImage(f"{path}: image: unknown format")
    img = open_pil(data, str(path))
    if img.format not in ("JPEG", "BMP", "TIFF", "WEBP"):
        raise ParityError(f"{path}: image: unknown format ({img.format} has no Go decoder in ollama)")
    if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
        raise ParityError(f"{path}: {img.format} with alpha is not supported by this port (only PNG alpha is)")
    if img.format == "JPEG":  # a JPEG without the FF D8 magic matches no Go decoder
        raise BadImage(f"{path}: image: unknown format")
    reason = f"{img.format} decoded by Pillow, not Go's x/image/{img.format.lower()} decoder (not ported)"
    return go_image_from_rgb(np.asarray(img.convert("RGB"), dtype=np.uint8), f"{img.format} image", reason)


def composite_over_white(img: GoImage) -> np.ndarray:
    """ollama ``imageproc.Composite``: draw ``Over`` opaque white -> opaque ``*image.RGBA`` (H, W, 4) uint8
    (for an opaque image, ``premultiplied_rgba8``'s array itself: read it, do not write to it)."""
    if img.opaque:  # opaque: the white never shows; the bytes are the samples' high bytes
        return premultiplied_rgba8(img)
    c = img.rgba64.astype(np.uint64)
    keep = (0xFFFF - c[..., 3:]) * 0x101  # the destination's share, 0x101-scaled as draw.go does
    out = np.empty(c.shape, dtype=np.uint8)
    out[..., :3] = (255 * keep // 0xFFFF + c[..., :3]) >> 8
    out[..., 3] = 0xFF
    return out


def premultiplied_rgba8(img: GoImage) -> np.ndarray:
    """The bytes an ``*image.RGBA`` copy of the image holds (``draw.Draw`` onto zero): samples >> 8.

    8-bit images and decoders that kept the high bytes give their own array, not a copy: read it, or
    copy it before writing to it."""
    if img.pixels.dtype == np.uint8:
        return img.pixels
    if img.high_bytes is not None:
        return img.high_bytes
    return (img.pixels >> 8).astype(np.uint8)
