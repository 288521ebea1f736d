"""What Go's ``image/png`` refuses, with its error text (Go 1.26.0 ``src/image/png/reader.go``; the same
file in Go 1.25.5).

``check_png_go(data)`` walks the chunks as ``Decode``/``parseChunk`` do and raises ``BadImage`` with Go's
message for the first problem Go meets: the signature, chunk order (IHDR, PLTE, tRNS, IDAT, IEND), each
chunk's CRC-32 (``verifyChecksum``: every chunk read up to IEND, unknown and extra IDAT chunks
included), the IHDR/PLTE/tRNS/IEND length and value rules, and the image data (zlib header, enough and
not too much pixel data, the row filter types, the zlib Adler-32). The pixel values themselves are
decoded elsewhere (``parity.decode.go``): PNG is lossless, so any conforming decoder gives Go's values.

Not exact: a corrupt deflate stream is reported as ``flate: corrupt input`` without Go's byte offset.

The image data is inflated once: ``check_png_go`` returns the rows it inflated (``GoPngData``), and
``with_stored_idat`` writes the same file with those rows as stored (uncompressed) deflate blocks in
place of the IDAT run, so the decoder that gives the pixel values reads them at memory speed instead of
inflating the stream a second time. The rows, hence the pixels, are the same bytes.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np

from parity.errors import BadImage

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

#: (bit depth, colour type) -> (channels, paletted); anything else is unsupported
_FORMATS = {(1, 0): (1, False), (2, 0): (1, False), (4, 0): (1, False), (8, 0): (1, False), (16, 0): (1, False),
            (8, 2): (3, False), (16, 2): (3, False),
            (1, 3): (1, True), (2, 3): (1, True), (4, 3): (1, True), (8, 3): (1, True),
            (8, 4): (2, False), (16, 4): (2, False), (8, 6): (4, False), (16, 6): (4, False)}

_SEEN_START, _SEEN_IHDR, _SEEN_PLTE, _SEEN_TRNS, _SEEN_IDAT, _SEEN_IEND = range(6)

# Adam7: (x start, y start, x step, y step)
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))


def _fmt(msg: str) -> BadImage:
    return BadImage(f"png: invalid format: {msg}")


def _unsupported(msg: str) -> BadImage:
    return BadImage(f"png: unsupported feature: {msg}")


def _rows(width: int, height: int, depth: int, channels: int, interlaced: bool) -> np.ndarray:
    """Bytes per row (without the filter byte) of every row Go reads, in order."""
    passes = _ADAM7 if interlaced else ((0, 0, 1, 1),)
    rows = []
    for x0, y0, dx, dy in passes:
        pw = (width - x0 + dx - 1) // dx
        ph = (height - y0 + dy - 1) // dy
        if pw > 0 and ph > 0:  # an empty pass reads nothing, not even a filter byte
            rows.append(np.full(ph, (pw * depth * channels + 7) // 8, np.int64))
    return np.concatenate(rows) if rows else np.zeros(0, np.int64)


@dataclass(frozen=True)
class GoPngData:
    """What Go's reader inflated from a PNG it accepts: ``rows`` (every row's filter byte and bytes, in
    the order Go reads them), ``span``, the bytes of the IDAT run holding them (from the first IDAT
    chunk's length field to the end of the run's last CRC), and the rows' Adler-32."""

    rows: bytes
    span: tuple[int, int]
    adler32: int  # of ``rows``, as the stream's trailer has it


class _Chunks:
    def __init__(self, data: bytes):
        self.data, self.pos = memoryview(data), len(PNG_MAGIC)

    def read(self, n: int) -> memoryview:
        if self.pos + n > len(self.data):
            raise BadImage("unexpected EOF")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def crc(self, kind: bytes, body) -> None:
        (want,) = struct.unpack(">I", self.read(4))
        if zlib.crc32(body, zlib.crc32(kind)) != want:  # the CRC of kind + body
            raise _fmt("invalid checksum")


def _check_pixels(idat, complete: bool, rows: np.ndarray) -> tuple[bytes, int]:
    """The zlib stream of the IDAT run: ``decode`` reads every row, then expects the stream's end and
    its Adler-32 (``compress/zlib``), and no compressed byte left in the chunk. Returns the rows and
    their Adler-32."""
    if len(idat) < 2:
        raise BadImage("unexpected EOF")
    if (idat[0] & 0x0F) != 8 or (idat[0] >> 4) > 7 or (idat[0] << 8 | idat[1]) % 31 or idat[1] & 0x20:
        raise BadImage("zlib: invalid header")
    d = zlib.decompressobj(-15)  # raw deflate: the Adler-32 is checked below, as Go's zlib reader does
    need = int(rows.sum()) + len(rows)
    try:
        out = d.decompress(memoryview(idat)[2:], need + 1)
    except zlib.error:
        raise _fmt("flate: corrupt input") from None
    # each row: a filter byte, then the row; Go checks the filter byte of every row it gets to read
    starts = np.cumsum(rows + 1) - (rows + 1)
    starts = starts[starts < min(len(out), need)]
    if (np.frombuffer(out, np.uint8)[starts] > 4).any():
        raise _fmt("bad filter type")
    if len(out) < need:
        raise _fmt("not enough pixel data")
    if len(out) > need:
        raise _fmt("too much pixel data")
    if not d.eof:
        try:
            more = d.decompress(d.unconsumed_tail, 1)
        except zlib.error:
            raise _fmt("flate: corrupt input") from None
        if more:
            raise _fmt("too much pixel data")
        if not d.eof:  # the stream goes on past the data Go was given
            raise _fmt("unexpected EOF" if not complete else "not enough pixel data")
    tail = d.unused_data
    if len(tail) < 4:
        raise _fmt("unexpected EOF")
    adler = zlib.adler32(out)
    if struct.unpack(">I", tail[:4])[0] != adler:
        raise _fmt("zlib: invalid checksum")
    if len(tail) > 4:  # compressed bytes left in the IDAT chunk after the stream ended
        raise _fmt("too much pixel data")
    return out, adler


def with_stored_idat(data: bytes, png: GoPngData) -> bytes:
    """``data`` with its IDAT run replaced by one IDAT chunk holding the same rows as a zlib stream of
    stored deflate blocks (RFC 1951 3.2.4, BTYPE 00: a byte 0 or 1 for BFINAL, LEN and NLEN, then LEN
    bytes as they are; at most 65535 per block), with the Adler-32 the check computed and the chunk's
    CRC; every other chunk kept as it is. A PNG decoder reads the same rows from it without inflating.
    Rows too many for one chunk (a PNG chunk holds at most 2^31 - 1 bytes) leave ``data`` as it is."""
    rows = memoryview(png.rows)
    n = len(rows)
    blocks = max(1, -(-n // 0xFFFF))
    size = 2 + 5 * blocks + n + 4  # zlib header, block headers, the rows, Adler-32
    if size > 0x7FFFFFFF:
        return data
    start, end = png.span
    out = bytearray(start + 12 + size + len(data) - end)
    view = memoryview(out)
    view[:start] = memoryview(data)[:start]
    view[start:start + 10] = struct.pack(">I4s", size, b"IDAT") + b"\x78\x01"  # deflate, 32 KiB window
    at = start + 10
    for b in range(blocks):
        piece = rows[b * 0xFFFF:(b + 1) * 0xFFFF]
        view[at:at + 5] = struct.pack("<BHH", int(b == blocks - 1), len(piece), len(piece) ^ 0xFFFF)
        view[at + 5:at + 5 + len(piece)] = piece
        at += 5 + len(piece)
    view[at:at + 4] = struct.pack(">I", png.adler32)
    at += 4
    view[at:at + 4] = struct.pack(">I", zlib.crc32(view[start + 4:at]))  # CRC of "IDAT" + body
    view[at + 4:] = memoryview(data)[end:]
    return bytes(out)


def check_png_go(data: bytes) -> GoPngData:
    """Raise BadImage with Go's text if Go's ``png.Decode`` refuses ``data``; else the rows Go inflated."""
    if len(data) < len(PNG_MAGIC):
        raise BadImage("unexpected EOF")
    if not data.startswith(PNG_MAGIC):
        raise _fmt("not a PNG file")
    c = _Chunks(data)
    stage, depth, ctype, paletted, n_palette = _SEEN_START, 0, 0, False, 0
    rows = np.zeros(0, np.int64)
    found = GoPngData(b"", (0, 0), 1)  # replaced by the IDAT run (IEND is accepted only after it)
    while stage != _SEEN_IEND:
        length, kind = struct.unpack(">I4s", c.read(8))
        if kind == b"IHDR":
            if stage != _SEEN_START:
                raise _fmt("chunk out of order")
            stage = _SEEN_IHDR
            if length != 13:
                raise _fmt("bad IHDR length")
            body = c.read(13)
            w, h, depth, ctype, comp, filt, interlace = struct.unpack(">iiBBBBB", body)
            if comp != 0:
                raise _unsupported("compression method")
            if filt != 0:
                raise _unsupported("filter method")
            if interlace not in (0, 1):
                raise _fmt("invalid interlace method")
            if w <= 0 or h <= 0:
                raise _fmt("non-positive dimension")
            if (depth, ctype) not in _FORMATS:
                raise _unsupported(f"bit depth {depth}, color type {ctype}")
            channels, paletted = _FORMATS[depth, ctype]
            rows = _rows(w, h, depth, channels, interlace == 1)
            c.crc(kind, body)
        elif kind == b"PLTE":
            if stage != _SEEN_IHDR:
                raise _fmt("chunk out of order")
            stage = _SEEN_PLTE
            n_palette = length // 3
            if length % 3 or n_palette <= 0 or n_palette > 256 or n_palette > 1 << depth:
                raise _fmt("bad PLTE length")
            body = c.read(3 * n_palette)
            if not paletted and ctype not in (2, 6):
                raise _fmt("PLTE, color type mismatch")
            c.crc(kind, body)
        elif kind == b"tRNS":
            truecolour = ctype == 2
            if (paletted and stage != _SEEN_PLTE) or \
                    (truecolour and stage not in (_SEEN_IHDR, _SEEN_PLTE)) or \
                    (not paletted and not truecolour and stage != _SEEN_IHDR):
                raise _fmt("chunk out of order")
            stage = _SEEN_TRNS
            if ctype == 0 and length != 2 or ctype == 2 and length != 6 or paletted and length > 256:
                raise _fmt("bad tRNS length")
            if ctype not in (0, 2, 3):
                raise _fmt("tRNS, color type mismatch")
            c.crc(kind, c.read(length))
        elif kind == b"IDAT" and stage != _SEEN_IDAT:
            if stage < _SEEN_IHDR or (stage == _SEEN_IHDR and paletted):
                raise _fmt("chunk out of order")
            stage = _SEEN_IDAT
            parts, complete, start = [], True, c.pos - 8
            while True:  # Go's idatReader reads on through consecutive IDAT chunks
                if c.pos + length > len(data):
                    parts.append(data[c.pos:])
                    complete = False
                    break
                body = c.read(length)
                parts.append(body)
                c.crc(kind, body)
                if c.pos + 8 > len(data) or data[c.pos + 4:c.pos + 8] != b"IDAT":
                    break
                length, kind = struct.unpack(">I4s", c.read(8))
            pixels, adler = _check_pixels(b"".join(parts), complete, rows)
            if not complete:
                raise BadImage("unexpected EOF")
            found = GoPngData(pixels, (start, c.pos), adler)  # c.pos: just past the run's last CRC
        elif kind == b"IEND":
            if stage != _SEEN_IDAT:
                raise _fmt("chunk out of order")
            stage = _SEEN_IEND
            if length != 0:
                raise _fmt("bad IEND length")
            c.crc(kind, b"")
        else:
            if length > 0x7FFFFFFF:
                raise _fmt(f"Bad chunk length: {length}")
            c.crc(kind, c.read(length))
    return found  # set: IEND is accepted only after the IDAT run
