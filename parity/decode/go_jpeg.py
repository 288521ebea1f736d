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
# The inverse DCTs (int32 throughout, wrapping as Go's int32 arithmetic does): idct.go (Go 1.25.5) and
# dct.go ``idct``/``idctRows``/``idctCols`` (Go 1.26.0), both called by scan.go ``reconstructBlock``.
#
# Exactness of the regrouping below: Go's int32 +, -, * and << wrap, i.e. they are arithmetic modulo
# 2**32, so any regrouping of the same linear expression, done in wrapping int32, gives Go's int32 bit
# for bit; only >> (floor) needs the exact operand, and every >> below shifts the same int32 value Go
# shifts. Regroupings used: Go's per-element shifts moved after a butterfly ((a << k) + (b << k) is
# (a + b) << k), and each pass's last >> applied to the whole batch at once.
#
# Layout: a batch of N blocks is an (8, 8, N) int32 array with the block index innermost, so each of
# the 8 values a 1-D pass reads is one contiguous (8, N) array. The row pass reads the coefficients
# laid out (x, y, N) (``c[k]``: element k of every row) and writes (y, x, N); the column pass reads
# that (``r[k]``: row k of every column) and writes the pixels (y, x, N).

# idct.go (Go <= 1.25): 2048*sqrt(2)*cos(k*pi/16)
_W1, _W2, _W3, _W5, _W6, _W7 = 2841, 2676, 2408, 1609, 1108, 565
_R2 = 181  # 256/sqrt(2)


def _stage_last(even: list[np.ndarray], odd: list[np.ndarray], out: list[np.ndarray]) -> None:
    """The last butterflies of both IDCTs: out[k] = even[k] + odd[k], out[7 - k] = even[k] - odd[k]."""
    for k in range(4):
        np.add(even[k], odd[k], out=out[k])
        np.subtract(even[k], odd[k], out=out[7 - k])


def _pass_go125(s: list[np.ndarray], out: list[np.ndarray], columns: bool) -> None:
    """One 1-D pass of ``idct`` (idct.go) on the 8 int32 arrays ``s`` (a row's or a column's values in
    natural order), its stage 4 written to ``out`` before the final shift (>> 8 rows, >> 14 columns),
    which the caller applies to the whole batch. Rows: no flat-row shortcut here (see ``_rows_go125``).
    Independent steps are reordered (stage 2's butterfly of s0, s4 first, the three rotations together)."""
    shift, bias = (8, 8192) if columns else (11, 128)
    y0 = s[0] << shift  # prescale: (s0 << 8) + 8192, s4 << 8 (columns); (s0 << 11) + 128, s4 << 11 (rows)
    y0 += bias
    y1 = s[4] << shift
    y8 = y0 + y1  # stage 2: x8 = x0 + x1; x0 -= x1
    y0 -= y1
    # the rotations of stage 1 (s1, s7 and s5, s3) and stage 2 (s2, s6): w7*(x4+x5) (+ 4 in columns) ...
    t = _W7 * (s[1] + s[7])
    if columns:
        t += 4
    y4 = t + (_W1 - _W7) * s[1]
    y5 = t - (_W1 + _W7) * s[7]
    t = _W3 * (s[5] + s[3])
    if columns:
        t += 4
    y6 = t - (_W3 - _W5) * s[5]
    y7 = t - (_W3 + _W5) * s[3]
    t = _W6 * (s[2] + s[6])
    if columns:
        t += 4
    y2 = t - (_W2 + _W6) * s[6]
    y3 = t + (_W2 - _W6) * s[2]
    if columns:  # ... and each rotation output >> 3 (the column pass only)
        for v in (y2, y3, y4, y5, y6, y7):
            v >>= 3
    y1 = y4 + y6  # stage 2's other butterflies
    y4 -= y6
    y6 = y5 + y7
    y5 -= y7
    y7 = y8 + y3  # stage 3
    y8 -= y3
    y3 = y0 + y2
    y0 -= y2
    y2 = _R2 * (y4 + y5)
    y2 += 128
    y2 >>= 8
    y4 = _R2 * (y4 - y5)
    y4 += 128
    y4 >>= 8
    # stage 4 (before its shift): (y7 +- y1), (y3 +- y2), (y0 +- y4), (y8 +- y6)
    _stage_last([y7, y3, y0, y8], [y1, y2, y4, y6], out)


#: |DC| bound below which idct.go's flat-row shortcut ``s[0] << 3`` equals its full row pass:
#: (s[0] << 11) + 128 does not wrap in int32 for -2**20 <= s[0] < 2**20, and then >> 8 gives s[0] * 8
_FLAT_ROW_EXACT = 1 << 20


def _rows_go125(c: np.ndarray, out: np.ndarray) -> None:
    """idct.go's horizontal pass: ``c`` (x, y, N) int32 coefficients -> ``out`` (y, x, N) int32."""
    _pass_go125(list(c), [out[:, x] for x in range(8)], columns=False)
    out >>= 8  # stage 4's >> 8
    dc = c[0]
    if dc.min() < -_FLAT_ROW_EXACT or dc.max() >= _FLAT_ROW_EXACT:
        # Go's shortcut for a row whose AC terms are all zero (dc << 3) differs from the full pass here
        flat = ~np.any(c[1:] != 0, axis=0)
        short = dc << 3
        for x in range(8):
            np.copyto(out[:, x], short, where=flat)


def _cols_go125(r: np.ndarray, out: np.ndarray) -> None:
    """idct.go's vertical pass: ``r`` (y, x, N) int32 -> ``out`` (y, x, N) int32, the IDCT's samples
    (before the level shift)."""
    _pass_go125(list(r), list(out), columns=True)
    out >>= 14  # stage 4's >> 14


def _c(x: int, bits: int) -> int:
    """dct.go ``c``: a 60-bit fixed-point constant rounded to ``bits`` fractional bits (as int32)."""
    v = (x + (1 << (59 - bits))) >> (60 - bits)
    return int(np.int32(np.uint32(v & 0xFFFFFFFF)))


_COS1, _SIN1 = 1130768441178740757, 224923827593068887
_COS3, _SIN3 = 958619196450722178, 640528868967736374
_SQRT2INV = 815238614083298888
_SQRT2INV_COS6, _SQRT2INV_SIN6 = 311978311033955632, 753182269664427492

# dct.go's rounded constants as idctRows and idctCols pass them (the sines negated, as there)
_ROWS_COS6, _ROWS_SIN6 = _c(_SQRT2INV_COS6, 18), -_c(_SQRT2INV_SIN6, 18)
_ROWS_SQRT2INV = _c(_SQRT2INV, 8)
_COLS_COS6, _COLS_SIN6 = _c(_SQRT2INV_COS6, 12), -_c(_SQRT2INV_SIN6, 12)
_COLS_SQRT2INV = _c(_SQRT2INV, 14)
_COS3_12, _SIN3_12 = _c(_COS3, 12), -_c(_SIN3, 12)
_COS1_12, _SIN1_12 = _c(_COS1, 12), -_c(_SIN1, 12)


def _box(x0: np.ndarray, x1: np.ndarray, kcos: int, ksin: int) -> tuple[np.ndarray, np.ndarray]:
    """dct.go ``dctBox``: rotate and scale with three multiplies."""
    ksum = kcos * (x0 + x1)
    return ksum + (ksin - kcos) * x1, ksum - (kcos + ksin) * x0


def _rows_go126(c: np.ndarray, out: np.ndarray) -> None:
    """dct.go ``idctRows``: ``c`` (x, y, N) int32 coefficients -> ``out`` (y, x, N) int32. Go's
    variables, from the row's values s0..s7: x0, x7, x2, x5, x1, x6, x3, x4 = s0, s1, ..., s7."""
    x0 = c[0] + c[4]  # Go: x0 <<= 17; x1 <<= 17; x0, x1 = x0+x1, x0-x1 (the same int32)
    x0 <<= 17
    x1 = c[0] - c[4]
    x1 <<= 17
    x2, x3 = _box(c[2], c[6], _ROWS_COS6, _ROWS_SIN6)
    x1, x2 = x1 + x2, x1 - x2
    x0, x3 = x0 + x3, x0 - x3
    x7 = c[1] + c[7]  # Go: x4 <<= 7; x7 <<= 7; x7, x4 = x7+x4, x7-x4
    x7 <<= 7
    x4 = c[1] - c[7]
    x4 <<= 7
    x6 = c[5] * _ROWS_SQRT2INV
    x5 = c[3] * _ROWS_SQRT2INV
    x7, x5 = x7 + x5, x7 - x5
    x4, x6 = x4 + x6, x4 - x6
    for v in (x4, x7, x5, x6):  # the >> 2 of Go's dctBox arguments
        v >>= 2
    x4, x7 = _box(x4, x7, _COS3_12, _SIN3_12)
    x5, x6 = _box(x5, x6, _COS1_12, _SIN1_12)
    _stage_last([x0, x1, x2, x3], [x7, x6, x5, x4], [out[:, x] for x in range(8)])


def _cols_go126(r: np.ndarray, out: np.ndarray) -> None:
    """dct.go ``idctCols``: ``r`` (y, x, N) int32 -> ``out`` (y, x, N) int32, the IDCT's samples
    (before the level shift). Go's variables as in ``_rows_go126``, from the column's values."""
    x0 = r[0] + r[4]  # Go: x0 += 1 << 19; x0, x1 = (x0+x1)>>2, (x0-x1)>>2
    x0 += 1 << 19
    x0 >>= 2
    x1 = r[0] - r[4]
    x1 += 1 << 19
    x1 >>= 2
    x2, x3 = _box(r[2] >> 13, r[6] >> 13, _COLS_COS6, _COLS_SIN6)
    x1, x2 = x1 + x2, x1 - x2
    x0, x3 = x0 + x3, x0 - x3
    x7 = r[1] + r[7]
    x4 = r[1] - r[7]
    x5 = r[3] >> 13
    x5 *= _COLS_SQRT2INV
    x6 = r[5] >> 13
    x6 *= _COLS_SQRT2INV
    x7, x5 = x7 + x5, x7 - x5
    x4, x6 = x4 + x6, x4 - x6
    for v in (x4, x7, x5, x6):  # the >> 14 of Go's dctBox arguments
        v >>= 14
    x4, x7 = _box(x4, x7, _COS3_12, _SIN3_12)
    x5, x6 = _box(x5, x6, _COS1_12, _SIN1_12)
    _stage_last([x0, x1, x2, x3], [x7, x6, x5, x4], list(out))
    out >>= 18  # Go's final x[01234567] >>= 18


#: profile -> (row pass, column pass); each reads one (8, 8, N) int32 array and fills another
IDCTS = {"go1.25": (_rows_go125, _cols_go125), "go1.26": (_rows_go126, _cols_go126)}


def _idct_xyn(c: np.ndarray, profile: str, r: np.ndarray | None = None,
              out: np.ndarray | None = None) -> np.ndarray:
    """The profile's ``idct`` on dequantized coefficients laid out (x, y, N) int32 -> samples (y, x, N)
    int32 (level shift not applied: 0 is mid-grey). ``r`` and ``out``: optional (8, 8, N) int32 buffers
    for the row pass's result and the samples (reused across chunks: no fresh pages to fault in)."""
    rows, cols = IDCTS[profile]
    r = np.empty_like(c) if r is None else r
    out = np.empty_like(c) if out is None else out
    rows(c, r)
    cols(r, out)
    return out


def _idct_blocks(blocks: np.ndarray, profile: str) -> np.ndarray:
    c = np.ascontiguousarray(blocks.astype(np.int32).transpose(2, 1, 0))  # (x, y, N)
    return _idct_xyn(c, profile).transpose(2, 0, 1)


def idct_go125(blocks: np.ndarray) -> np.ndarray:
    """``idct`` of Go <= 1.25 (idct.go) on dequantized int32 blocks (N, 8, 8) -> (N, 8, 8) int32
    (level shift not applied: 0 is mid-grey)."""
    return _idct_blocks(blocks, "go1.25")


def idct_go126(blocks: np.ndarray) -> np.ndarray:
    """``idct`` of Go 1.26 (dct.go) on dequantized int32 blocks (N, 8, 8) -> (N, 8, 8) int32."""
    return _idct_blocks(blocks, "go1.26")


#: blocks per IDCT chunk: one chunk's (8, 8, N) int32 arrays (8 x 8 x 2500 x 4 bytes = 625 KiB) and the
#: pass temporaries ((8, N) int32) mostly stay in cache. Not a power of two: rows 4 KiB apart
#: (N = 2048 int16) alias in the cache, which makes the transposes ten times slower.
IDCT_CHUNK = 2500


def _blocks_to_plane(blocks: np.ndarray, bh: int, bw: int) -> np.ndarray:
    """Block samples (bh * bw, 64) uint8, each block's 8 x 8 samples row-major -> the plane
    (bh * 8, bw * 8) uint8 (each block's 8-byte pixel rows moved as one uint64)."""
    rows8 = blocks.view(np.uint64).reshape(bh, bw, 8)  # [by, bx, y]: the 8 bytes of pixel row y
    return np.ascontiguousarray(rows8.transpose(0, 2, 1)).view(np.uint8).reshape(bh * 8, bw * 8)


def reconstruct_plane(coefs: np.ndarray, quant_zigzag: np.ndarray, profile: str) -> np.ndarray:
    """scan.go ``reconstructBlock`` for every block of a component: dequantize (int32), IDCT, level shift by
    +128 with clamping to [0, 255] -> the component's plane (blocks down * 8, blocks across * 8) uint8.
    Blocks are independent, so they are transformed ``IDCT_CHUNK`` at a time (same integers)."""
    bh, bw = coefs.shape[:2]
    n = bh * bw
    if n == 0:
        return np.zeros((bh * 8, bw * 8), np.uint8)
    q = np.zeros(64, np.int32)
    q[UNZIG] = quant_zigzag  # b[unzig[zig]] *= qt[zig]
    q_xy = q.reshape(8, 8).T[:, :, None]  # [x, y]
    flat = np.ascontiguousarray(coefs, dtype=np.int16).reshape(n, 64)
    blocks = np.empty((n, 64), np.uint8)  # each block's samples, row-major
    bufs: tuple[np.ndarray, ...] = ()
    for s in range(0, n, IDCT_CHUNK):
        m = min(IDCT_CHUNK, n - s)
        if not bufs or bufs[0].shape[1] != m:  # reused: no fresh pages to fault in per chunk
            bufs = (np.empty((64, m), np.int16), *(np.empty((8, 8, m), np.int32) for _ in range(3)))
        c16, c, r, out = bufs
        # (y, x, m): each coefficient's values over the chunk's blocks, contiguous (OpenCV's blocked transpose)
        cv2.transpose(flat[s:s + m], dst=c16)
        np.multiply(c16.reshape(8, 8, m).transpose(1, 0, 2), q_xy, out=c, dtype=np.int32)  # wrapping like Go's
        samples = _idct_xyn(c, profile, r, out).reshape(64, m)
        # level shift and clamp: c < -128 -> 0; c > 127 -> 255; else c + 128 (a saturating add to uint8).
        # The IDCT's last step shifts an int32 right by 14 or more, so |c| <= 2**17 and c + 128 is exact.
        cv2.transpose(cv2.add(samples, 128, dtype=cv2.CV_8U), dst=blocks[s:s + m])  # written in place
    return _blocks_to_plane(blocks, bh, bw)


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
    ch, cw = -(-height // v_step), -(-width // h_step)
    wide = np.broadcast_to(plane[:ch, None, :cw, None], (ch, v_step, cw, h_step))
    return wide.reshape(ch * v_step, cw * h_step)[:height, :width]


#: luma rows per band of the YCbCr conversion (its int32 temporaries stay in cache, its calls are few)
YCBCR_BAND = 64


def _repeat_columns(t: np.ndarray, h_step: int) -> np.ndarray:
    """Each value of the C-contiguous int32 array ``t`` repeated ``h_step`` times along its last axis."""
    if h_step == 1:
        return t
    if h_step == 2:  # v * (2**32 + 1) holds v in both halves of a uint64: read as int32 pairs (v, v)
        pairs = np.empty(t.shape, np.uint64)
        np.multiply(t.view(np.uint32), 0x1_0000_0001, out=pairs, dtype=np.uint64)
        return pairs.view(np.int32)
    return np.repeat(t, h_step, axis=-1)


def _chroma_terms(cb: np.ndarray, cr: np.ndarray) -> np.ndarray:
    """``color.YCbCr.RGBA``'s chroma terms per chroma sample, (3, H, W) int32: 91881*cr1,
    -22554*cb1 - 46802*cr1 and 116130*cb1, where cb1 := int32(cb) - 128, cr1 := int32(cr) - 128
    (|term| < 2**24: no int32 wrap)."""
    cb1 = cb.astype(np.int32)
    cb1 -= 128
    cr1 = cr.astype(np.int32)
    cr1 -= 128
    terms = np.empty((3, *cb.shape), np.int32)
    np.multiply(cr1, 91881, out=terms[0])
    np.multiply(cb1, -22554, out=terms[1])
    cr1 *= 46802
    terms[1] -= cr1
    np.multiply(cb1, 116130, out=terms[2])
    return terms


def ycbcr_rgba_subsampled(y: np.ndarray, cb: np.ndarray, cr: np.ndarray, h_step: int, v_step: int,
                          height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """``color.YCbCr.RGBA`` (image/color/ycbcr.go; x/image's inline copy in ``scaleX_YCbCr*``) of an
    ``*image.YCbCr`` whose chroma is subsampled by (h_step, v_step): pixel (x, y) reads Cb, Cr at
    (x / h_step, y / v_step) (image/ycbcr.go ``COffset``). Returns (rgba64, rgba8), each
    (height, width, 4): the 16-bit R, G, B (alpha 0xffff), and their high bytes (alpha 0xff), which are
    ``color.YCbCrToRGB``'s 8-bit result (what ``DrawYCbCr`` writes into an ``*image.RGBA``).

    ``y`` may extend past the image (a block-aligned plane): it needs ceil(height / v_step) * v_step
    rows and ceil(width / h_step) * h_step columns, the chroma planes ceil(height / v_step) rows and
    ceil(width / h_step) columns. Each chroma term is computed once per chroma sample, widened to the
    luma columns that read it and added to the v_step luma rows that read it (broadcast)."""
    ch, cw = -(-height // v_step), -(-width // h_step)
    wide = cw * h_step
    if y.shape[0] < ch * v_step or y.shape[1] < wide or min(cb.shape[0], cr.shape[0]) < ch or \
            min(cb.shape[1], cr.shape[1]) < cw:
        raise ParityError(f"YCbCr planes {y.shape}, {cb.shape}, {cr.shape} too small for a {width}x{height} "
                          f"image subsampled by ({h_step}, {v_step})")
    rgba64 = np.empty((height, width, 4), dtype=np.uint16)
    rgba8 = np.empty((height, width, 4), dtype=np.uint8)
    band = max(1, YCBCR_BAND // v_step)  # chroma rows per band
    alpha = np.full((min(height, band * v_step), width), 0xFFFF, np.uint16)
    for c0 in range(0, ch, band):
        c1 = min(ch, c0 + band)
        n = c1 - c0
        rows = slice(c0 * v_step, min(height, c1 * v_step))
        nrows = rows.stop - rows.start
        yy1 = y[c0 * v_step:c1 * v_step, :wide].astype(np.int32)
        yy1 *= 0x10101  # Go: yy1 := int32(y) * 0x10101
        terms = _repeat_columns(_chroma_terms(cb[c0:c1, :cw], cr[c0:c1, :cw]), h_step)  # (3, n, wide)
        # Go: r := yy1 + 91881*cr1 (g, b alike): |r| < 2**25, no int32 wrap
        rgb = yy1.reshape(1, n, v_step, wide) + terms[:, :, None, :]
        rgb >>= 8
        # Go: 0..2**24-1 gives r >> 8, below 0 gives 0, above gives 0xffff: r >> 8 saturated to uint16
        rgb16 = cv2.add(rgb.reshape(3 * n * v_step, wide)[:, :width], 0, dtype=cv2.CV_16U).reshape(3, -1, width)
        cv2.merge([*rgb16[:, :nrows], alpha[:nrows]], dst=rgba64[rows])  # interleaved, in place
        np.right_shift(rgba64[rows], 8, out=rgba8[rows], casting="unsafe")  # the high bytes, 0..255
    return rgba64, rgba8


def ycbcr_rgba(y: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``ycbcr_rgba_subsampled`` of full-size planes (4:4:4): (rgba64, rgba8)."""
    return ycbcr_rgba_subsampled(y, cb, cr, 1, 1, *y.shape)


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
        rgba8 = cv2.merge([y, y, y, np.full((h, w), 0xFF, np.uint8)])
        return GoJpeg("*image.Gray", None, {"Y": y}, rgba8=rgba8, approximate=f.approximate)
    c0, c1 = f.comps[0], f.comps[1]
    ratio, hs, vs = RATIOS[(c0.h // c1.h) << 4 | (c0.v // c1.v)]
    ch, cw = -(-h // vs), -(-w // hs)
    y, cb, cr = planes[0][:h, :w], planes[1][:ch, :cw], planes[2][:ch, :cw]
    kept = {"Y": y, "Cb": cb, "Cr": cr}
    if len(f.comps) == 4:
        k = planes[3][:h, :w]
        kept["K"] = k
        if f.adobe_transform != 0:  # YCbCrK: DrawYCbCr (4:4:4 or 4:2:0 here), then K inverted
            pix = ycbcr_rgba_subsampled(*planes[:3], hs, vs, h, w)[1]  # the high bytes
            pix[..., 3] = 255 - k
        else:  # CMYK stored inverted; a component sampled unlike the first is read at (x/2, y/2)
            pix = np.empty((h, w, 4), np.uint8)
            for t, plane in enumerate(planes):
                sub = (f.comps[t].h, f.comps[t].v) != (c0.h, c0.v)
                pix[..., t] = 255 - (upsample(plane, 2, 2, h, w) if sub else plane[:h, :w])
        return GoJpeg("*image.CMYK", None, kept, rgba64=cmyk_rgba64(pix), approximate=f.approximate)
    if _is_rgb(f):  # convertToRGB: Y, Cb, Cr planes are R, G, B
        rgba8 = np.empty((h, w, 4), np.uint8)
        rgba8[..., 0], rgba8[..., 3] = y, 0xFF
        rgba8[..., 1], rgba8[..., 2] = upsample(cb, hs, vs, h, w), upsample(cr, hs, vs, h, w)
        return GoJpeg("*image.RGBA", None, kept, rgba8=rgba8, approximate=f.approximate)
    # the block-aligned planes: Y covers every (v_step, h_step) cell the chroma samples span
    rgba64, rgba8 = ycbcr_rgba_subsampled(*planes[:3], hs, vs, h, w)
    return GoJpeg("*image.YCbCr", ratio, kept, rgba64=rgba64, rgba8=rgba8, approximate=f.approximate)
