"""Go's ``image/jpeg`` decoder, both generations, bit-exact and vectorized.

Ported from golang/go, read in the Go 1.25.5 and Go 1.26.0 release trees (``src/image/jpeg``):
``reader.go`` (the marker loop, ``processSOF``/``processDQT``/``processDRI``/APP0/APP14, ``applyBlack``,
``isRGB``, ``convertToRGB``), ``scan.go`` (``makeImg``, the ``processSOS`` checks, restart handling,
``reconstructProgressiveImage``, ``reconstructBlock``) and ``huffman.go`` (``processDHT`` checks) - these
three are identical in 1.25.5 and 1.26.0 - and the inverse DCT, which is not:

- ``go1.25`` (every Go up to 1.25): ``idct.go``, the MPEG Software Simulation Group integer IDCT
  (constants ``w1..w7`` = 2048*sqrt(2)*cos(k*pi/16), ``r2 = 181``), rows then columns;
- ``go1.26``: ``dct.go``, Loeffler-Ligtenberg-Moschytz with 60-bit constants rounded by ``c(x, bits)``
  and three-multiply ``dctBox`` rotations, rows then columns.

Ollama f63eea3 builds with Go 1.26.0 (its go.mod says ``go 1.26.0``; the Dockerfile and the release
workflow install exactly that version), so ``go1.26`` is the generation the ``ollama`` impl uses.

Entropy decoding (Huffman, progressive refinement) yields the quantized coefficients, the same in every
conforming decoder: they come from libjpeg through ``jpeglib``. Everything after them is Go's:
dequantization with the table Go holds at reconstruction time (the scan's for sequential files, the last
one defined for progressive files), the IDCT in int32 (wrapping as Go's int32 does), the level shift and
clamp, Go's planes (a component no scan covers stays 0), and the image type Go returns:

===============================  ==================  ==============================================
file                             Go type             samples
===============================  ==================  ==============================================
1 component                      ``*image.Gray``     Y
3 components (JFIF, YCbCr)       ``*image.YCbCr``    planes 4:4:4, 4:4:0, 4:2:2, 4:2:0, 4:1:1, 4:1:0
3 comp., Adobe 0 or ids R,G,B    ``*image.RGBA``     ``convertToRGB``: the planes as R, G, B
4 comp., Adobe transform != 0    ``*image.CMYK``     ``DrawYCbCr`` of the first three, 255 - K
4 comp., Adobe transform 0       ``*image.CMYK``     255 - v (M and Y read at x/2, y/2 when subsampled)
===============================  ==================  ==============================================

Strictness: the marker loop is walked as Go walks it and refuses what Go refuses, with Go's error text
(``invalid JPEG format: ...``, ``unsupported JPEG feature: ...``, ``unexpected EOF``). Inside
entropy-coded data the errors detected are: the file ending inside a scan (``short Huffman data``, or
``unexpected EOF`` when a baseline scan's data was complete, decided from the bits its coefficients
need), a Huffman table a scan uses but nobody defined, restart markers out of Go's order, and Go's
restart counting in non-interleaved scans of a subsampled component (it counts loop iterations of
h x v blocks, the file counts blocks: such files fail in Go). Bit errors inside entropy-coded data (a
bad Huffman code, an excessive DC category) are not detected: libjpeg reads past them where Go stops.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from parity.decode.jpeg.coefficients import libjpeg_dims, read_dct_once
from parity.errors import BadImage, ParityError

#: profile name -> what it is; ``go1.26`` is the toolchain ollama f63eea3 builds with
GO_JPEG_PROFILES = {
    "go1.26": "Go 1.26 image/jpeg (dct.go: Loeffler-Ligtenberg-Moschytz IDCT); ollama f63eea3 builds with go1.26.0",
    "go1.25": "Go <= 1.25 image/jpeg (idct.go: MPEG Software Simulation Group integer IDCT)",
}
DEFAULT_GO_JPEG = "go1.26"

#: zig-zag index -> natural (row-major) index (``unzig`` in reader.go)
UNZIG = np.array([
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7,
    14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39,
    46, 53, 60, 61, 54, 47, 55, 62, 63], dtype=np.intp)

#: (hRatio << 4 | vRatio) -> Go's ``YCbCrSubsampleRatio`` (``makeImg``), as (name, h step, v step)
RATIOS = {0x11: ("4:4:4", 1, 1), 0x12: ("4:4:0", 1, 2), 0x21: ("4:2:2", 2, 1), 0x22: ("4:2:0", 2, 2),
          0x41: ("4:1:1", 4, 1), 0x42: ("4:1:0", 4, 2)}

_EOF = "unexpected EOF"  # io.ErrUnexpectedEOF: any read past the end outside entropy-coded data


def _format(msg: str) -> BadImage:
    return BadImage(f"invalid JPEG format: {msg}")


def _unsupported(msg: str) -> BadImage:
    return BadImage(f"unsupported JPEG feature: {msg}")


# ----------------------------------------------------------------------------------------------------
# The marker loop (reader.go ``decode``) and the header checks


@dataclass
class Component:
    ident: int
    h: int
    v: int
    tq: int


@dataclass
class Scan:
    comps: tuple[int, ...]  # component indexes
    ss: int
    se: int
    ah: int
    al: int
    ri: int  # restart interval in force
    data: tuple[int, int]  # entropy-coded bytes [start, end): end is the next marker's 0xff, or EOF
    rst: tuple[int, ...]  # the restart markers (0..7) met in the data, in order
    rst_at: tuple[int, ...]  # the offsets of their 0xff bytes


@dataclass
class JpegFile:
    """What Go's marker loop learned: frame, scans, and the tables as Go holds them."""

    width: int = 0
    height: int = 0
    comps: list[Component] = field(default_factory=list)
    baseline: bool = False
    progressive: bool = False
    jfif: bool = False
    adobe_valid: bool = False
    adobe_transform: int = 0
    scans: list[Scan] = field(default_factory=list)
    #: component index -> quantization table (zig-zag order, int32) Go multiplies by
    quant: dict[int, np.ndarray] = field(default_factory=dict)
    #: the scan whose entropy-coded data the end of the file cuts (Go fails in it or right after it)
    cut: Scan | None = None
    #: why the pixels may differ from Go's (None when exact)
    approximate: str | None = None
    #: offset just past the EOI marker (Go reads nothing after it)
    end: int = 0

    @property
    def mcus(self) -> tuple[int, int]:
        """(mxx, myy): MCUs across and down (``processSOS``)."""
        h0, v0 = self.comps[0].h, self.comps[0].v
        return (self.width + 8 * h0 - 1) // (8 * h0), (self.height + 8 * v0 - 1) // (8 * v0)


class _Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def read(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise BadImage(_EOF)
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def byte(self) -> int:
        return self.read(1)[0]


def _sof(r: _Reader, f: JpegFile, n: int) -> None:
    """``processSOF``."""
    if f.comps:
        raise _format("multiple SOF markers")
    ncomp = {9: 1, 15: 3, 18: 4}.get(n)
    if ncomp is None:
        raise _unsupported("number of components")
    t = r.read(n)
    if t[0] != 8:
        raise _unsupported("precision")
    f.height, f.width = t[1] << 8 | t[2], t[3] << 8 | t[4]
    if t[5] != ncomp:
        raise _format("SOF has wrong length")
    comps: list[Component] = []
    for i in range(ncomp):
        ident, hv, tq = t[6 + 3 * i], t[7 + 3 * i], t[8 + 3 * i]
        if any(c.ident == ident for c in comps):
            raise _format("repeated component identifier")
        if tq > 3:
            raise _format("bad Tq value")
        h, v = hv >> 4, hv & 0x0F
        if h < 1 or h > 4 or v < 1 or v > 4:
            raise _format("luma/chroma subsampling ratio")
        if h == 3 or v == 3:
            raise _unsupported("luma/chroma subsampling ratio")
        if ncomp == 1:
            h, v = 1, 1  # one component is non-interleaved: one block per MCU, whatever (h, v) says
        elif ncomp == 3:
            if (i == 0 and v == 4) or (i == 1 and (comps[0].h % h or comps[0].v % v)) or \
                    (i == 2 and (comps[1].h != h or comps[1].v != v)):
                raise _unsupported("luma/chroma subsampling ratio")
        elif (i == 0 and hv not in (0x11, 0x22)) or (i in (1, 2) and hv != 0x11) or \
                (i == 3 and (comps[0].h != h or comps[0].v != v)):
            raise _unsupported("luma/chroma subsampling ratio")
        comps.append(Component(ident, h, v, tq))
    f.comps = comps


def _dht(r: _Reader, f: JpegFile, n: int, tables: set) -> None:
    """``processDHT``."""
    while n > 0:
        if n < 17:
            raise _format("DHT has wrong length")
        t = r.read(17)
        tc, th = t[0] >> 4, t[0] & 0x0F
        if tc > 1:
            raise _format("bad Tc value")
        if th > 3 or (f.baseline and th > 1):
            raise _format("bad Th value")
        ncodes = sum(t[1:17])
        if ncodes == 0:
            raise _format("Huffman table has zero length")
        if ncodes > 256:
            raise _format("Huffman table has excessive length")
        n -= ncodes + 17
        if n < 0:
            raise _format("DHT has wrong length")
        r.read(ncodes)
        tables.add((tc, th))  # defined: decodeHuffman's nCodes != 0


def _dqt(r: _Reader, n: int, quant: dict) -> None:
    """``processDQT``; Go's quirk kept: a last Pq/Tq byte without its 64 (128) values ends the loop."""
    while n > 0:
        n -= 1
        x = r.byte()
        tq = x & 0x0F
        if tq > 3:
            raise _format("bad Tq value")
        if x >> 4 == 0:
            if n < 64:
                break
            n -= 64
            quant[tq] = np.frombuffer(r.read(64), np.uint8).astype(np.int32)
        elif x >> 4 == 1:
            if n < 128:
                break
            n -= 128
            quant[tq] = np.frombuffer(r.read(128), ">u2").astype(np.int32)
        else:
            raise _format("bad Pq value")
    if n != 0:
        raise _format("DQT has wrong length")


def _entropy_end(data: bytes, start: int) -> tuple[int, tuple[int, ...], tuple[int, ...]]:
    """Where entropy-coded data from ``start`` ends: the 0xff of the next marker that is not a stuffed
    0x00, a fill 0xff or a restart marker (len(data) if the file ends first); the restart markers met
    (their numbers 0..7, and the offsets of their 0xff)."""
    arr = np.frombuffer(data, np.uint8)
    ff = np.flatnonzero(arr[start:len(arr) - 1] == 0xFF) + start
    nxt = arr[ff + 1]
    is_rst = (nxt >= 0xD0) & (nxt <= 0xD7)
    ends = ff[(nxt != 0) & (nxt != 0xFF) & ~is_rst]
    end = int(ends[0]) if len(ends) else len(arr)
    met = is_rst & (ff < end)
    return end, tuple(int(v) - 0xD0 for v in nxt[met]), tuple(int(v) for v in ff[met])


def _sos(r: _Reader, f: JpegFile, n: int, ri: int, tables: set, quant: dict) -> Scan:
    """``processSOS``: the header checks; the entropy-coded data is located (libjpeg decodes it)."""
    if not f.comps:
        raise _format("missing SOF marker")
    if n < 6 or 4 + 2 * len(f.comps) < n or n % 2:
        raise _format("SOS has wrong length")
    t = r.read(n)
    ns = t[0]
    if n != 4 + 2 * ns:
        raise _format("SOS length inconsistent with number of components")
    idx, td, ta, total_hv = [], [], [], 0
    for i in range(ns):
        matches = [j for j, c in enumerate(f.comps) if c.ident == t[1 + 2 * i]]
        if not matches:
            raise _format("unknown component selector")
        if matches[-1] in idx:
            raise _format("repeated component selector")
        idx.append(matches[-1])
        total_hv += f.comps[idx[-1]].h * f.comps[idx[-1]].v
        td.append(t[2 + 2 * i] >> 4)
        if td[-1] > 3 or (f.baseline and td[-1] > 1):
            raise _format("bad Td value")
        ta.append(t[2 + 2 * i] & 0x0F)
        if ta[-1] > 3 or (f.baseline and ta[-1] > 1):
            raise _format("bad Ta value")
    if len(f.comps) > 1 and total_hv > 10:
        raise _format("total sampling factors too large")
    ss, se, ah, al = 0, 63, 0, 0
    if f.progressive:
        ss, se, ah, al = t[1 + 2 * ns], t[2 + 2 * ns], t[3 + 2 * ns] >> 4, t[3 + 2 * ns] & 0x0F
        if (ss == 0 and se != 0) or ss > se or se >= 64:
            raise _format("bad spectral selection bounds")
        if ss != 0 and ns != 1:
            raise _format("progressive AC coefficients for more than one component")
        if ah != 0 and ah != al + 1:
            raise _format("bad successive approximation values")
    # The first block reads the DC table (first DC pass) and the AC table (any zig <= zigEnd left).
    uses_dc, uses_ac = ss == 0 and ah == 0, se != 0 or not f.progressive
    if (uses_dc and (0, td[0]) not in tables) or (uses_ac and (1, ta[0]) not in tables):
        raise _format("uninitialized Huffman table")
    for ci in idx:  # reconstructBlock multiplies by d.quant[tq] as it is then (progressive: at the end)
        f.quant[ci] = quant.get(f.comps[ci].tq, np.zeros(64, np.int32))
    end, rst, rst_at = _entropy_end(r.data, r.pos)
    scan = Scan(tuple(idx), ss, se, ah, al, ri, (r.pos, end), rst, rst_at)
    if f.width == 0 or f.height == 0:
        # No MCU to decode: Go's marker loop then skips the scan's bytes as extraneous data.
        if end >= len(r.data) - 1:
            raise BadImage(_EOF)
        r.pos = end
        return scan
    _check_restarts(f, scan, end >= len(r.data) - 1)
    r.pos = end
    return scan


def _check_restarts(f: JpegFile, scan: Scan, cut: bool) -> None:
    """Go's restart handling: after every ``ri`` iterations of its MCU loop (mxx x myy, each walking
    h x v blocks of every scanned component) it expects RSTn, n counting 0..7."""
    if scan.ri == 0:
        return
    mxx, myy = f.mcus
    expected = max((mxx * myy - 1) // scan.ri, 0)  # Go checks after mcu % ri == 0 while mcu < mxx*myy
    c = f.comps[scan.comps[0]]
    if len(scan.comps) == 1 and c.h * c.v > 1:
        # Non-interleaved: the file has one block per MCU, Go walks h*v block slots per iteration
        # (skipping those outside the image), so the blocks it decodes before each expected RST differ.
        per, q = c.h * c.v, mxx * c.h
        slots = np.arange(mxx * myy * per)
        decoded = np.cumsum(((slots % q) * 8 < f.width) & ((slots // q) * 8 < f.height))
        go_blocks = decoded[np.arange(1, expected + 1) * scan.ri * per - 1]
        file_blocks = np.arange(1, len(go_blocks) + 1) * scan.ri
        late = np.flatnonzero(go_blocks != file_blocks)
        if len(late) and go_blocks[late[0]] > file_blocks[late[0]] and late[0] < len(scan.rst):
            raise _format("missing 0xff00 sequence")  # Go decodes on into the file's restart marker
        if len(late):
            f.approximate = "Go resynchronizes at restart markers by skipping data (findRST): not ported"
        return
    for k, num in enumerate(scan.rst[:expected]):
        if num != k % 8:
            raise _format("bad RST marker")
    if len(scan.rst) > expected:
        raise _format("missing 0xff00 sequence")  # decoding runs into a restart marker Go did not expect
    if len(scan.rst) < expected and not cut:
        raise _format("bad RST marker")  # findRST meets the next segment's marker instead


def parse_go(data: bytes) -> JpegFile:
    """Walk the markers as Go's ``decoder.decode`` does; BadImage with Go's error text on what Go refuses.

    Stops at EOI (trailing bytes are never read), or at the end of a scan that the file's end cuts
    (``JpegFile.cut``: Go fails in it or right after it; see ``_cut_message``).
    """
    f, r = JpegFile(), _Reader(data)
    tables: set = set()
    quant: dict = {}
    ri = 0
    if r.read(2) != b"\xff\xd8":
        raise _format("missing SOI marker")
    while True:
        t0, t1 = r.read(2)
        while t0 != 0xFF:  # extraneous bytes between segments are skipped silently
            t0, t1 = t1, r.byte()
        marker = t1
        if marker == 0:  # "\xff\x00" is extraneous data too
            continue
        while marker == 0xFF:  # fill bytes
            marker = r.byte()
        if marker == 0xD9:  # EOI
            f.end = r.pos
            break
        if 0xD0 <= marker <= 0xD7:  # a stray restart marker is ignored
            continue
        hi, lo = r.read(2)
        n = (hi << 8 | lo) - 2
        if n < 0:
            raise _format("short segment length")
        if marker in (0xC0, 0xC1, 0xC2):
            f.baseline, f.progressive = marker == 0xC0, marker == 0xC2
            _sof(r, f, n)
        elif marker == 0xC4:
            _dht(r, f, n, tables)
        elif marker == 0xDB:
            _dqt(r, n, quant)
        elif marker == 0xDA:
            scan = _sos(r, f, n, ri, tables, quant)
            f.scans.append(scan)
            if scan.data[1] >= len(data) - 1:
                f.cut = scan
                return f
        elif marker == 0xDD:
            if n != 2:
                raise _format("DRI has wrong length")
            a, b = r.read(2)
            ri = a << 8 | b
        elif marker == 0xE0:
            if n < 5:
                r.read(n)
            else:
                f.jfif = r.read(5) == b"JFIF\x00"
                r.read(n - 5)
        elif marker == 0xEE:
            if n < 12:
                r.read(n)
            else:
                t = r.read(12)
                if t[:5] == b"Adobe":
                    f.adobe_valid, f.adobe_transform = True, t[11]
                r.read(n - 12)
        elif 0xE0 <= marker <= 0xEF or marker == 0xFE:
            r.read(n)
        elif marker < 0xC0:
            raise _format("unknown marker")
        else:
            raise _unsupported("unknown marker")
    if not f.scans:
        raise _format("missing SOS marker")
    if f.progressive:  # reconstructProgressiveImage runs after the loop: the tables defined last
        for ci in f.quant:
            f.quant[ci] = quant.get(f.comps[ci].tq, np.zeros(64, np.int32))
    if len(f.comps) == 4 and not f.adobe_valid:
        raise _unsupported("unknown color model: 4-component JPEG doesn't have Adobe APP14 metadata")
    return f


# ----------------------------------------------------------------------------------------------------
# Coefficients (libjpeg via jpeglib) and the bits a cut baseline scan needs


def libjpeg_block_dims(f: JpegFile) -> list[tuple[int, int]]:
    """(blocks down, blocks across) of each component as libjpeg sizes them (``initial_setup`` in
    jdinput.c: ceil(size * factor / (max factor * 8))) for the frame ``parse_go`` read: libjpeg reads
    the same SOF (the markers Go accepts before it are the ones libjpeg skips alike, and both refuse a
    second SOF). One component: factor and max factor are its own, as Go's 1 x 1."""
    return libjpeg_dims(f.width, f.height, [(c.h, c.v) for c in f.comps])


def read_coefficients_warned(data: bytes, dims: list[tuple[int, int]]) -> tuple[list[np.ndarray], bool]:
    """Quantized DCT coefficients per component, (blocks down, blocks across, 8, 8) int16, natural order,
    and whether libjpeg printed any warning while reading them (it prints its first warning of a read
    on the C stderr, which is captured here: "Corrupt JPEG data: premature end of data segment" when
    it needs bits past a marker and fills in zeros, "extraneous bytes before marker"...).

    ``dims``: each component's blocks (``libjpeg_block_dims`` of the frame ``parse_go`` accepted), the
    sizes libjpeg fills; one entropy decode (``read_dct_once``, with the bundled libjpeg in force)."""
    planes, ok, said = read_dct_once(data, dims)
    if not ok:  # libjpeg refused what Go's marker loop accepted
        reason = said.splitlines()[0] if said else "read_jpeg_dct failed"
        raise ParityError(f"libjpeg could not read the DCT coefficients Go would decode: {reason}")
    return planes, bool(said)


def read_coefficients(data: bytes, dims: list[tuple[int, int]]) -> list[np.ndarray]:
    """Quantized DCT coefficients per component, (blocks down, blocks across, 8, 8) int16, natural order."""
    return read_coefficients_warned(data, dims)[0]


def _cut_message(data: bytes, dims: list[tuple[int, int]]) -> str:
    """Go's error when the file ends inside a scan's entropy-coded data: ``short Huffman data`` when the
    scan needs bits past the end (Go's ``ensureNBits`` turns the EOF into it), else ``unexpected EOF``
    (the scan completes; reading the next marker fails).

    Decided with libjpeg: a decoder that needs no bit past the end decodes the same coefficients
    whatever follows, so the file is read twice, closed by EOI directly and after 16 bytes of 1-bits
    (stuffed 0xff 0x00); any difference means the scan reads past the end."""
    plain = read_coefficients(data + b"\xff\xd9", dims)
    ones = read_coefficients(data + b"\xff\x00" * 16 + b"\xff\xd9", dims)
    if any(not np.array_equal(a, b) for a, b in zip(plain, ones)):
        return "invalid JPEG format: short Huffman data"
    return _EOF


def check_intervals_complete(f: JpegFile, data: bytes, coefs: list[np.ndarray]) -> None:
    """Go's ``missing 0xff00 sequence``: a scan or restart interval whose entropy-coded data ends (at a
    marker) before its last block is decoded; Go reads on into the marker, libjpeg zero-fills.

    Decided as for a cut file: libjpeg reads the file again with 16 bytes of 1-bits (stuffed 0xff
    0x00) before every marker that ends entropy-coded data; a complete interval never reads them, a
    short one decodes them into different coefficients.

    Only needed when the first read warned: libjpeg's bit reader (``jpeg_fill_bit_buffer`` in jdhuff.c,
    shared by the progressive decoder) warns ``JWRN_HIT_MARKER`` whenever it needs a bit past a marker
    and fills in zeros. A read without any warning took every bit from before the markers, so the
    padded read, which has the same bytes there, decodes the same coefficients."""
    cuts = sorted({at for s in f.scans for at in (*s.rst_at, s.data[1])})
    pieces, prev = [], 0
    for at in cuts:
        pieces += [data[prev:at], b"\xff\x00" * 16]
        prev = at
    padded = read_coefficients(b"".join(pieces) + data[prev:], libjpeg_block_dims(f))
    if any(not np.array_equal(a, b) for a, b in zip(coefs, padded)):
        raise _format("missing 0xff00 sequence")


# ----------------------------------------------------------------------------------------------------
# The inverse DCTs (int32 throughout, wrapping as Go's int32 arithmetic does)

# idct.go (Go <= 1.25): 2048*sqrt(2)*cos(k*pi/16)
_W1, _W2, _W3, _W5, _W6, _W7 = 2841, 2676, 2408, 1609, 1108, 565
_R2 = 181  # 256/sqrt(2)


def _idct_pass_go125(s: list[np.ndarray], columns: bool) -> list[np.ndarray]:
    """One 1-D pass of ``idct`` (idct.go) on 8 int32 arrays: the row pass, or the column pass."""
    if columns:
        y0 = (s[0] << 8) + 8192
        y1 = s[4] << 8
        bias, shift3 = 4, 3
    else:
        y0 = (s[0] << 11) + 128
        y1 = s[4] << 11
        bias, shift3 = 0, 0
    y2, y3, y4, y5, y6, y7 = s[6], s[2], s[1], s[7], s[5], s[3]
    y8 = _W7 * (y4 + y5) + bias
    y4 = (y8 + (_W1 - _W7) * y4) >> shift3
    y5 = (y8 - (_W1 + _W7) * y5) >> shift3
    y8 = _W3 * (y6 + y7) + bias
    y6 = (y8 - (_W3 - _W5) * y6) >> shift3
    y7 = (y8 - (_W3 + _W5) * y7) >> shift3
    y8 = y0 + y1
    y0 = y0 - y1
    y1 = _W6 * (y3 + y2) + bias
    y2 = (y1 - (_W2 + _W6) * y2) >> shift3
    y3 = (y1 + (_W2 - _W6) * y3) >> shift3
    y1 = y4 + y6
    y4 = y4 - y6
    y6 = y5 + y7
    y5 = y5 - y7
    y7 = y8 + y3
    y8 = y8 - y3
    y3 = y0 + y2
    y0 = y0 - y2
    y2 = (_R2 * (y4 + y5) + 128) >> 8
    y4 = (_R2 * (y4 - y5) + 128) >> 8
    out_shift = 14 if columns else 8
    out = [y7 + y1, y3 + y2, y0 + y4, y8 + y6, y8 - y6, y0 - y4, y3 - y2, y7 - y1]
    return [o >> out_shift for o in out]


# Layout: the passes work on arrays indexed (.., block) with the block index innermost, so every
# operand is contiguous along it. Coefficients come laid out (y, x, N): the row pass takes the x-indexed
# views c[:, x], shaped (8 rows, N); its outputs, stacked (x, y, N), give the column pass its y-indexed
# views (8 columns, N). The column pass returns the 8 pixel rows y, each (x, N).


def _idct_go125_yxn(c: np.ndarray) -> list[np.ndarray]:
    """Go <= 1.25 ``idct`` on dequantized coefficients laid out (y, x, N) -> the pixel rows y, each
    (x, N) int32."""
    rows = [c[:, x] for x in range(8)]  # rows[x]: element x of every row y of every block, (8, N)
    out = _idct_pass_go125(rows, columns=False)
    # A row whose AC terms are all zero takes Go's shortcut dc << 3 (equal to the full pass unless
    # s[0] << 11 wraps in int32; kept for those inputs).
    flat = ~np.any(c[:, 1:] != 0, axis=1)
    if flat.any():
        dc = rows[0] << 3
        for o in out:
            np.copyto(o, dc, where=flat)
    m = np.stack(out)  # (x, y, N)
    return _idct_pass_go125([m[:, y] for y in range(8)], columns=True)


def _idct_go126_yxn(c: np.ndarray) -> list[np.ndarray]:
    """Go 1.26 ``idct`` (dct.go) on dequantized coefficients laid out (y, x, N) -> the pixel rows y,
    each (x, N) int32."""
    m = np.stack(_idct_rows_go126([c[:, x] for x in range(8)]))  # (x, y, N)
    return _idct_cols_go126([m[:, y] for y in range(8)])


def idct_go125(blocks: np.ndarray) -> np.ndarray:
    """``idct`` of Go <= 1.25 (idct.go) on dequantized int32 blocks (N, 8, 8) -> (N, 8, 8) int32
    (level shift not applied: 0 is mid-grey)."""
    c = np.ascontiguousarray(blocks.astype(np.int32).transpose(1, 2, 0))
    return np.stack(_idct_go125_yxn(c)).transpose(2, 0, 1)


def idct_go126(blocks: np.ndarray) -> np.ndarray:
    """``idct`` of Go 1.26 (dct.go) on dequantized int32 blocks (N, 8, 8) -> (N, 8, 8) int32."""
    c = np.ascontiguousarray(blocks.astype(np.int32).transpose(1, 2, 0))
    return np.stack(_idct_go126_yxn(c)).transpose(2, 0, 1)


def _c(x: int, bits: int) -> int:
    """dct.go ``c``: a 60-bit fixed-point constant rounded to ``bits`` fractional bits (as int32)."""
    v = (x + (1 << (59 - bits))) >> (60 - bits)
    return int(np.int32(np.uint32(v & 0xFFFFFFFF)))


_COS1, _SIN1 = 1130768441178740757, 224923827593068887
_COS3, _SIN3 = 958619196450722178, 640528868967736374
_SQRT2INV = 815238614083298888
_SQRT2INV_COS6, _SQRT2INV_SIN6 = 311978311033955632, 753182269664427492


def _box(x0: np.ndarray, x1: np.ndarray, kcos: int, ksin: int) -> tuple[np.ndarray, np.ndarray]:
    """dct.go ``dctBox``: rotate and scale with three multiplies."""
    ksum = kcos * (x0 + x1)
    return ksum + (ksin - kcos) * x1, ksum - (kcos + ksin) * x0


def _idct_rows_go126(x: list[np.ndarray]) -> list[np.ndarray]:
    """dct.go ``idctRows`` on 8 int32 arrays (the row's values in natural order)."""
    x0, x7, x2, x5, x1, x6, x3, x4 = x
    x0 = x0 << 17
    x1 = x1 << 17
    x0, x1 = x0 + x1, x0 - x1
    x2, x3 = _box(x2, x3, _c(_SQRT2INV_COS6, 18), -_c(_SQRT2INV_SIN6, 18))
    x1, x2 = x1 + x2, x1 - x2
    x0, x3 = x0 + x3, x0 - x3
    x4 = x4 << 7
    x7 = x7 << 7
    x7, x4 = x7 + x4, x7 - x4
    x6 = x6 * _c(_SQRT2INV, 8)
    x5 = x5 * _c(_SQRT2INV, 8)
    x7, x5 = x7 + x5, x7 - x5
    x4, x6 = x4 + x6, x4 - x6
    x4, x7 = _box(x4 >> 2, x7 >> 2, _c(_COS3, 12), -_c(_SIN3, 12))
    x5, x6 = _box(x5 >> 2, x6 >> 2, _c(_COS1, 12), -_c(_SIN1, 12))
    return [x0 + x7, x1 + x6, x2 + x5, x3 + x4, x3 - x4, x2 - x5, x1 - x6, x0 - x7]


def _idct_cols_go126(x: list[np.ndarray]) -> list[np.ndarray]:
    """dct.go ``idctCols`` on 8 int32 arrays (the column's values, row 0 to 7)."""
    x0, x7, x2, x5, x1, x6, x3, x4 = x
    x0 = x0 + (1 << 19)  # +0.5 for the final rounding shifts
    x0, x1 = (x0 + x1) >> 2, (x0 - x1) >> 2
    x2, x3 = _box(x2 >> 13, x3 >> 13, _c(_SQRT2INV_COS6, 12), -_c(_SQRT2INV_SIN6, 12))
    x1, x2 = x1 + x2, x1 - x2
    x0, x3 = x0 + x3, x0 - x3
    x7, x4 = x7 + x4, x7 - x4
    x5 = (x5 >> 13) * _c(_SQRT2INV, 14)
    x6 = (x6 >> 13) * _c(_SQRT2INV, 14)
    x7, x5 = x7 + x5, x7 - x5
    x4, x6 = x4 + x6, x4 - x6
    x4, x7 = _box(x4 >> 14, x7 >> 14, _c(_COS3, 12), -_c(_SIN3, 12))
    x5, x6 = _box(x5 >> 14, x6 >> 14, _c(_COS1, 12), -_c(_SIN1, 12))
    out = [x0 + x7, x1 + x6, x2 + x5, x3 + x4, x3 - x4, x2 - x5, x1 - x6, x0 - x7]
    return [o >> 18 for o in out]


IDCTS = {"go1.25": _idct_go125_yxn, "go1.26": _idct_go126_yxn}


#: blocks per IDCT chunk: the int32 temporaries of one chunk (8 x 8 x 4096 x 4 bytes = 1 MiB) stay in cache
IDCT_CHUNK = 4096


def reconstruct_plane(coefs: np.ndarray, quant_zigzag: np.ndarray, profile: str) -> np.ndarray:
    """``reconstructBlock`` for every block of a component: dequantize (int32), IDCT, level shift by
    +128 with clamping to [0, 255] -> the component's plane (blocks down * 8, blocks across * 8) uint8.
    Blocks are independent, so they are transformed ``IDCT_CHUNK`` at a time (same integers)."""
    bh, bw = coefs.shape[:2]
    n = bh * bw
    q = np.zeros(64, np.int32)
    q[UNZIG] = quant_zigzag  # b[unzig[zig]] *= qt[zig]
    q_yx = q.reshape(8, 8, 1)
    idct = IDCTS[profile]
    if n == 0:
        return np.zeros((bh * 8, bw * 8), np.uint8)
    out = np.empty((8, 8, n), np.uint8)  # (y, x, N)
    # (y, x, N): each coefficient's values over the blocks, contiguous (OpenCV's blocked transpose)
    c16 = cv2.transpose(np.ascontiguousarray(coefs, dtype=np.int16).reshape(n, 64)).reshape(8, 8, n)
    for s in range(0, n, IDCT_CHUNK):
        c = c16[:, :, s:s + IDCT_CHUNK].astype(np.int32)
        c *= q_yx  # int32 product, wrapping like Go's
        for y, row in enumerate(idct(c)):  # (x, N) each
            # level shift and clamp: c < -128 -> 0; c > 127 -> 255; else c + 128. The IDCT's last step
            # shifts an int32 right by 14 or more, so |c| <= 2**17 and c + 128 cannot wrap.
            row += 128
            np.clip(row, 0, 255, out=out[y, :, s:s + IDCT_CHUNK], casting="unsafe")
    return out.reshape(8, 8, bh, bw).transpose(2, 0, 3, 1).reshape(bh * 8, bw * 8)


# ----------------------------------------------------------------------------------------------------
# The image Go returns, and what At(x, y).RGBA() gives for it


@dataclass(frozen=True)
class GoJpeg:
    """A decoded JPEG as Go holds it: its type, subsampling ratio, planes (cropped to what the image
    reads), and samples: ``rgba64`` (H, W, 4) uint16 as ``At().RGBA()`` returns them (YCbCr, CMYK)
    and/or ``rgba8`` (H, W, 4) uint8: the bytes of an opaque 8-bit image (Gray replicated, RGBA), or
    the high bytes of ``rgba64`` when the conversion gave them too (YCbCr)."""

    go_type: str
    ratio: str | None
    planes: dict[str, np.ndarray]
    rgba64: np.ndarray | None = None
    rgba8: np.ndarray | None = None
    approximate: str | None = None


def upsample(plane: np.ndarray, h_step: int, v_step: int, height: int, width: int) -> np.ndarray:
    """Go's chroma indexing: the sample at (x / h_step, y / v_step) for every pixel (``COffset``)."""
    out = plane
    if v_step > 1:
        out = np.repeat(out, v_step, axis=0)
    if h_step > 1:
        out = np.repeat(out, h_step, axis=1)
    return out[:height, :width]


#: rows per band of the YCbCr conversion (its int32 temporaries stay in cache)
YCBCR_BAND = 64


def ycbcr_rgba(y: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``color.YCbCr.RGBA`` (and x/image's inline copy in ``scaleX_YCbCr*``) on full-size planes:
    (rgba64, rgba8): the 16-bit R, G, B (alpha 0xffff), and their high bytes (alpha 0xff), which are
    ``color.YCbCrToRGB``'s 8-bit result (what ``DrawYCbCr`` writes into an ``*image.RGBA``)."""
    h, w = y.shape
    rgba64 = np.empty((h, w, 4), dtype=np.uint16)
    rgba8 = np.empty((h, w, 4), dtype=np.uint8)
    for r in range(0, h, YCBCR_BAND):
        rows = slice(r, r + YCBCR_BAND)
        yy1 = y[rows].astype(np.int32)
        yy1 *= 0x10101
        cb1 = cb[rows].astype(np.int32)
        cb1 -= 128
        cr1 = cr[rows].astype(np.int32)
        cr1 -= 128
        out = rgba64[rows]
        # int32 sums cannot wrap here (|r| < 2^25); 0..2^24-1 gives r >> 8, outside it 0 or 0xffff
        for k, v in enumerate((yy1 + 91881 * cr1, yy1 - 22554 * cb1 - 46802 * cr1, yy1 + 116130 * cb1)):
            v >>= 8
            np.clip(v, 0, 0xFFFF, out=v)
            out[..., k] = v
        out[..., 3] = 0xFFFF
        np.right_shift(out, 8, out=rgba8[rows], casting="unsafe")  # the high bytes, 0..255
    return rgba64, rgba8


def ycbcr_rgba64(y: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> np.ndarray:
    """``color.YCbCr.RGBA`` on full-size planes: 16-bit R, G, B (alpha 0xffff). (v >> 8) of them is
    ``color.YCbCrToRGB``'s 8-bit result."""
    return ycbcr_rgba(y, cb, cr)[0]


def cmyk_rgba64(pix: np.ndarray) -> np.ndarray:
    """``color.CMYK.RGBA`` of (H, W, 4) CMYK bytes: (0xffff - c*0x101) * w / 0xffff, w = 0xffff - k*0x101."""
    p = pix.astype(np.uint32)
    w = 0xFFFF - p[..., 3] * 0x101
    out = np.empty(pix.shape, dtype=np.uint16)
    out[..., :3] = (0xFFFF - p[..., :3] * 0x101) * w[..., None] // 0xFFFF  # uint32: no overflow (< 2^32)
    out[..., 3] = 0xFFFF
    return out


def _is_rgb(f: JpegFile) -> bool:
    """``isRGB``: not JFIF, and Adobe transform 0 or component ids 'R', 'G', 'B'."""
    if f.jfif:
        return False
    if f.adobe_valid and f.adobe_transform == 0:
        return True
    return [c.ident for c in f.comps[:3]] == [ord("R"), ord("G"), ord("B")]


def decode_jpeg_go(data: bytes, profile: str = DEFAULT_GO_JPEG) -> GoJpeg:
    """``jpeg.Decode`` of Go (``profile``: ``go1.26`` or ``go1.25``); BadImage with Go's error text."""
    if profile not in IDCTS:
        raise ParityError(f"unknown Go JPEG profile {profile!r}; valid: {', '.join(IDCTS)}")
    f = parse_go(data)
    if f.cut is not None:
        raise BadImage(_cut_message(data, libjpeg_block_dims(f)))
    w, h = f.width, f.height
    if w == 0 or h == 0:  # the SubImage of an empty rectangle: a 0 x 0 image of the same type
        go_type = {1: "*image.Gray", 4: "*image.CMYK"}.get(len(f.comps), "*image.YCbCr")
        go_type = "*image.RGBA" if len(f.comps) == 3 and _is_rgb(f) else go_type
        ratio = RATIOS[(f.comps[0].h // f.comps[1].h) << 4 | (f.comps[0].v // f.comps[1].v)][0] \
            if go_type == "*image.YCbCr" else None
        return GoJpeg(go_type, ratio, {}, rgba64=np.zeros((0, 0, 4), np.uint16))
    scanned = {ci for s in f.scans for ci in s.comps}
    coefs, warned = read_coefficients_warned(data, libjpeg_block_dims(f))
    if warned:  # see check_intervals_complete: without a warning every interval was complete
        check_intervals_complete(f, data[:f.end], coefs)
    planes = []
    for ci in range(len(f.comps)):
        if ci in scanned:
            planes.append(reconstruct_plane(coefs[ci], f.quant[ci], profile))
        else:  # Go never reconstructs a block of a component no scan covers: its plane stays 0
            planes.append(np.zeros((coefs[ci].shape[0] * 8, coefs[ci].shape[1] * 8), np.uint8))
    if len(f.comps) == 1:
        y = planes[0][:h, :w]
        rgba8 = np.empty((h, w, 4), np.uint8)
        rgba8[..., :3] = y[..., None]
        rgba8[..., 3] = 0xFF
        return GoJpeg("*image.Gray", None, {"Y": y}, rgba8=rgba8, approximate=f.approximate)
    c0, c1 = f.comps[0], f.comps[1]
    ratio, hs, vs = RATIOS[(c0.h // c1.h) << 4 | (c0.v // c1.v)]
    ch, cw = -(-h // vs), -(-w // hs)
    y, cb, cr = planes[0][:h, :w], planes[1][:ch, :cw], planes[2][:ch, :cw]
    kept = {"Y": y, "Cb": cb, "Cr": cr}
    cb_full, cr_full = upsample(cb, hs, vs, h, w), upsample(cr, hs, vs, h, w)
    if len(f.comps) == 4:
        k = planes[3][:h, :w]
        kept["K"] = k
        if f.adobe_transform != 0:  # YCbCrK: DrawYCbCr (4:4:4 or 4:2:0 here), then K inverted
            pix = ycbcr_rgba(y, cb_full, cr_full)[1]  # the high bytes
            pix[..., 3] = 255 - k
        else:  # CMYK stored inverted; a component sampled unlike the first is read at (x/2, y/2)
            pix = np.empty((h, w, 4), np.uint8)
            for t, plane in enumerate(planes):
                sub = (f.comps[t].h, f.comps[t].v) != (c0.h, c0.v)
                pix[..., t] = 255 - (upsample(plane, 2, 2, h, w) if sub else plane[:h, :w])
        return GoJpeg("*image.CMYK", None, kept, rgba64=cmyk_rgba64(pix), approximate=f.approximate)
    if _is_rgb(f):  # convertToRGB: Y, Cb, Cr planes are R, G, B
        rgba8 = np.empty((h, w, 4), np.uint8)
        rgba8[..., 0], rgba8[..., 1], rgba8[..., 2], rgba8[..., 3] = y, cb_full, cr_full, 0xFF
        return GoJpeg("*image.RGBA", None, kept, rgba8=rgba8, approximate=f.approximate)
    rgba64, rgba8 = ycbcr_rgba(y, cb_full, cr_full)
    return GoJpeg("*image.YCbCr", ratio, kept, rgba64=rgba64, rgba8=rgba8, approximate=f.approximate)
