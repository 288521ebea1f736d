"""JPEG decoding exactly as stb_image v2.30 does it with ``req_comp=3`` on x86-64 (SSE2), in numpy.

Source: nothings/stb ``stb_image.h`` v2.30 as vendored by ggml-org/llama.cpp at commit 0c1e570
(``vendor/stb/stb_image.h``; llama.cpp calls ``stbi_load_from_memory(buf, len, &x, &y, &n, 3)`` in
``tools/mtmd/mtmd-helper.cpp``). Functions ported (all vectorized, over components or bands of rows):

1. header walk (``stbi__decode_jpeg_header``, ``stbi__process_marker``, ``stbi__process_frame_header``,
   ``stbi__process_scan_header``, ``stbi__decode_jpeg_image``): the same checks in the same order, a
   refused file raises ``BadImage`` naming stb's failure string; where stb stops early but still returns
   an image (an unknown marker after a scan, a missing EOI...) the same stop is made.
2. entropy decoding: taken from libjpeg through ``coefficients.read_coefficients`` (identical for a
   valid stream). stb stores each dequantized coefficient as a ``short``: ``(short)(coef * dequant)``
   for sequential files, ``data[i] *= dequant[i]`` after the last scan for progressive ones
   (``stbi__jpeg_finish``, with the tables in force at EOI); a DC whose product leaves the short range
   makes stb fail with "can't merge dc and ac" (``stbi__mul2shorts_valid``), reproduced.
3. IDCT: ``stbi__idct_simd`` (SSE2), the kernel ``stbi__setup_jpeg`` selects on x86-64. It equals the
   scalar ``stbi__idct_block`` for ordinary coefficients but not for large ones: its sums of two inputs
   are 16-bit (``_mm_add_epi16`` wraps) and the column pass saturates to int16 (``_mm_packs_epi32``);
   both are reproduced (see ``tests/oracles/stb_image/idct_blocks.npz``). Each pass is an integer linear
   map between its roundings, so where no 16-bit sum can wrap and nothing saturates (proved for a whole
   component from its largest coefficients, else checked per tile) the IDCT is two float64 matrix
   products per tile of blocks, exact since no partial sum needs more than 35 of float64's 53 significant
   bits; other blocks go through the lane-by-lane model ``idct_stb_lanes``.
4. upsampling per component (``load_jpeg_image``'s ``stbi__resample``): ``hs, vs = h_max/h, v_max/v``;
   1x1 copy, 1x2 ``stbi__resample_row_v_2``, 2x1 ``stbi__resample_row_h_2`` (its last output pair is
   ``(3*in[w-2] + in[w-1] + 2) >> 2, in[w-1]``: the weights of the next-to-last output are swapped, the
   quirk behind large edge differences against libjpeg), 2x2 ``stbi__resample_row_hv_2_simd`` (bit-equal
   to the scalar one), anything else nearest (``stbi__resample_row_generic``). Rows are chosen as the
   ``ystep``/``ypos`` state machine does: output row r uses row r//vs, and for vs=2 the neighbour row
   r//2 -1 (even r) or r//2 + 1 (odd r), clamped to the component.
5. colour: 3 components -> ``stbi__YCbCr_to_RGB_simd`` with step 3, which never takes its SSE2 loop
   (only step 4 does) so the scalar fixed-point formula runs: ``(y << 20) + (1 << 19)``, constants
   ``(int)(c * 4096.0f + 0.5f) << 8``, the Cb term of G masked with ``0xffff0000``, ``>> 20``, clamp
   (computed in int16 with every constant divided by 2^8: the same integers).
   RGB files (component ids 'R','G','B', or Adobe transform 0 without JFIF) are copied. 4 components:
   Adobe transform 0 = CMYK, ``stbi__blinn_8x8(c, k)``; 2 = YCCK, blinn of ``255 - rgb`` and K; other
   = YCbCr with K ignored. 1 component: grey replicated. Steps 4 and 5 run band by band of output rows
   (stb works row by row), which keeps their temporaries in cache.
EXIF is ignored (stb has no EXIF support).

Not exact, and said so in ``StbJpeg.approximate``: streams libjpeg reports as corrupt (stb decodes bad
data its own way or refuses it: its Huffman decoder is not ported), truncated entropy data (stb goes on
with zero bits), and the cases where stb returns uninitialised memory (a progressive file without EOI,
components whose scans never came): there stb's own output is not a function of the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from parity.decode.jpeg.coefficients import (
    SOF_BASELINE,
    SOF_EXTENDED,
    SOF_PROGRESSIVE,
    ZIGZAG_TO_NATURAL,
    JpegCoefficients,
    read_coefficients,
    scan_data_end,
)
from parity.errors import BadImage

STB_VERSION = "stb_image v2.30 (llama.cpp 0c1e570 vendor/stb/stb_image.h), x86-64 SSE2 kernels"
MAX_DIMENSIONS = 1 << 24  # STBI_MAX_DIMENSIONS default
MARKER_NONE = 0xFF  # STBI__MARKER_none


@dataclass(frozen=True)
class StbJpeg:
    """stb's result: RGB (H, W, 3) uint8, why it may differ from the real stb (None: exact), notes."""

    rgb: np.ndarray
    approximate: str | None
    info: dict = field(default_factory=dict)


class _StbRefuses(Exception):
    """stb's loader returns NULL; the message is stb's failure string (``stbi_failure_reason``)."""


# --- 1. the header walk ---------------------------------------------------------------------------------

class _Reader:
    """stbi__context over memory: reads past the end give 0 (``stbi__get8``)."""

    def __init__(self, data: bytes, pos: int = 0):
        self.data, self.pos, self.n = data, pos, len(data)

    def get8(self) -> int:
        if self.pos < self.n:
            self.pos += 1
            return self.data[self.pos - 1]
        return 0

    def get16(self) -> int:
        return (self.get8() << 8) | self.get8()

    def skip(self, k: int) -> None:
        self.pos = self.n if k < 0 else self.pos + k

    def at_eof(self) -> bool:
        return self.pos >= self.n


def _huffman_ok(counts: list[int]) -> str | None:
    """stbi__build_huffman's two checks; the failure string or None."""
    if sum(counts) >= 257:
        return "bad size list"
    code = 0
    for j in range(1, 17):
        if counts[j - 1]:
            code += counts[j - 1]
            if code - 1 >= (1 << j):
                return "bad code lengths"
        code <<= 1
    return None


@dataclass
class _Walk:
    """What stb's walk saw: flags for colour handling, tables, scans decoded, where and why it stopped."""

    jfif: bool = False
    app14: int = -1
    restart: int = 0
    dequant: dict = field(default_factory=dict)  # table id -> (8, 8) uint16, natural order
    huff: dict = field(default_factory=dict)  # (class, id) -> (16 code counts, symbol values)
    scans: list = field(default_factory=list)  # (component indices, ss, se, ah, al, dequant tables, restart)
    finished: bool = False  # reached EOI (progressive: stbi__jpeg_finish runs)
    zero_fill_bytes: int = 0  # bytes of zeros that decode the rest of a cut scan as stb does (0: none)
    end: int = 0  # offset where stb stopped reading
    problems: list = field(default_factory=list)  # why the result may not be exact


def _process_marker(r: _Reader, m: int, w: _Walk) -> bool:
    """stbi__process_marker: True when processed; False (with stb's reason in the exception when it has
    one) otherwise."""
    if m == MARKER_NONE:
        raise _StbRefuses("expected marker")
    if m == 0xDD:
        if r.get16() != 4:
            raise _StbRefuses("bad DRI len")
        w.restart = r.get16()
        return True
    if m == 0xDB:
        length = r.get16() - 2
        while length > 0:
            q = r.get8()
            p, t = q >> 4, q & 15
            if p not in (0, 1):
                raise _StbRefuses("bad DQT type")
            if t > 3:
                raise _StbRefuses("bad DQT table")
            vals = [r.get16() if p else r.get8() for _ in range(64)]
            table = np.zeros(64, np.uint16)
            table[ZIGZAG_TO_NATURAL] = vals
            w.dequant[t] = table.reshape(8, 8)
            length -= 129 if p else 65
        if length != 0:
            raise _StbRefuses("bad DQT length (stb sets no failure string)")
        return True
    if m == 0xC4:
        length = r.get16() - 2
        while length > 0:
            q = r.get8()
            tc, th = q >> 4, q & 15
            if tc > 1 or th > 3:
                raise _StbRefuses("bad DHT header")
            counts = [r.get8() for _ in range(16)]
            if sum(counts) > 256:
                raise _StbRefuses("bad DHT header")
            length -= 17
            bad = _huffman_ok(counts)
            if bad:
                raise _StbRefuses(bad)
            w.huff[(tc, th)] = (counts, bytes(r.get8() for _ in range(sum(counts))))
            length -= sum(counts)
        if length != 0:
            raise _StbRefuses("bad DHT length (stb sets no failure string)")
        return True
    if 0xE0 <= m <= 0xEF or m == 0xFE:
        length = r.get16()
        if length < 2:
            raise _StbRefuses("bad COM len" if m == 0xFE else "bad APP len")
        length -= 2
        if m == 0xE0 and length >= 5:
            if bytes(r.get8() for _ in range(5)) == b"JFIF\x00":
                w.jfif = True
            length -= 5
        elif m == 0xEE and length >= 12:
            if bytes(r.get8() for _ in range(6)) == b"Adobe\x00":
                r.get8(), r.get16(), r.get16()  # version, flags0, flags1
                w.app14 = r.get8()
                length -= 6
            length -= 6
        r.skip(length)
        return True
    raise _StbRefuses("unknown marker")


def _get_marker(r: _Reader) -> int:
    """stbi__get_marker without a pending marker: 0xFF (none) unless the next byte is 0xFF."""
    x = r.get8()
    if x != 0xFF:
        return MARKER_NONE
    while x == 0xFF:
        x = r.get8()
    return x


def _frame_header(r: _Reader) -> tuple[int, int, list[tuple[int, int, int, int]], int]:
    """stbi__process_frame_header: (width, height, [(id, h, v, tq)], count of 'R','G','B' ids)."""
    lf = r.get16()
    if lf < 11:
        raise _StbRefuses("bad SOF len")
    if r.get8() != 8:
        raise _StbRefuses("only 8-bit")
    height = r.get16()
    if height == 0:
        raise _StbRefuses("no header height")
    width = r.get16()
    if width == 0:
        raise _StbRefuses("0 width")
    if height > MAX_DIMENSIONS or width > MAX_DIMENSIONS:
        raise _StbRefuses("too large")
    c = r.get8()
    if c not in (1, 3, 4):
        raise _StbRefuses("bad component count")
    if lf != 8 + 3 * c:
        raise _StbRefuses("bad SOF len")
    comps, rgb = [], 0
    for i in range(c):
        cid, q, tq = r.get8(), r.get8(), r.get8()
        if c == 3 and cid == b"RGB"[i]:
            rgb += 1
        h, v = q >> 4, q & 15
        if not 1 <= h <= 4:
            raise _StbRefuses("bad H")
        if not 1 <= v <= 4:
            raise _StbRefuses("bad V")
        if tq > 3:
            raise _StbRefuses("bad TQ")
        comps.append((cid, h, v, tq))
    if width * height * c > 0x7FFFFFFF:  # stbi__mad3sizes_valid
        raise _StbRefuses("too large")
    h_max, v_max = max(x[1] for x in comps), max(x[2] for x in comps)
    for _, h, v, _ in comps:
        if h_max % h:
            raise _StbRefuses("bad H")
        if v_max % v:
            raise _StbRefuses("bad V")
    return width, height, comps, rgb


def _scan_header(r: _Reader, comps: list, progressive: bool) -> tuple:
    """stbi__process_scan_header: (component indices, ss, se, ah, al)."""
    ls = r.get16()
    n = r.get8()
    if n < 1 or n > 4 or n > len(comps):
        raise _StbRefuses("bad SOS component count")
    if ls != 6 + 2 * n:
        raise _StbRefuses("bad SOS len")
    order = []
    for _ in range(n):
        cid, q = r.get8(), r.get8()
        which = next((k for k, c in enumerate(comps) if c[0] == cid), None)
        if which is None:
            raise _StbRefuses(f"scan names component id {cid}, not in the frame (stb sets no failure string)")
        if q >> 4 > 3:
            raise _StbRefuses("bad DC huff")
        if q & 15 > 3:
            raise _StbRefuses("bad AC huff")
        order.append((which, q >> 4, q & 15))
    ss, se, a = r.get8(), r.get8(), r.get8()
    ah, al = a >> 4, a & 15
    if progressive:
        if ss > 63 or se > 63 or ss > se or ah > 13 or al > 13:
            raise _StbRefuses("bad SOS")
    else:
        if ss != 0 or ah != 0 or al != 0:
            raise _StbRefuses("bad SOS")
        se = 63
    return order, ss, se, ah, al


_RST = re.compile(rb"\xff[\xd0-\xd7]")


def _check_restarts(data: bytes, start: int, end: int, units: int, interval: int) -> str | None:
    """RST markers in a scan's data that stb and libjpeg would not both take the same way."""
    found = [m[1] for m in _RST.findall(data, start, end)]
    expected = (-(-units // interval) - 1) if interval else 0
    if len(found) != expected:
        return f"{len(found)} restart markers in a scan where the restart interval implies {expected}"
    if any(m != 0xD0 + (k & 7) for k, m in enumerate(found)):
        return "restart markers out of sequence (stb ignores their numbers, libjpeg resynchronises)"
    return None


def _zero_block_bits(dc: tuple | None, ac: tuple | None) -> int | None:
    """Bits one block takes when the stream is all zero bits (stb after the end of a cut file: stbi__get8
    returns 0): the all-zero code is the first, shortest code, i.e. symbol ``values[0]``."""
    if not dc or not ac or not any(dc[0]) or not any(ac[0]):
        return None
    dc_len = next(j for j in range(16) if dc[0][j]) + 1
    ac_len = next(j for j in range(16) if ac[0][j]) + 1
    t, rs = dc[1][0], ac[1][0]
    if t > 15:
        return None
    bits, k = dc_len + t, 1
    while k < 64:
        if rs & 15 == 0:
            bits += ac_len
            if rs != 0xF0:
                break  # end of block
            k += 16
        else:
            bits += ac_len + (rs & 15)
            k += (rs >> 4) + 1
    return bits


def _zero_stream_bits(w: _Walk, comps: list, tables: list, interleaved: bool) -> int | None:
    """Bits one scan unit (an MCU, or a block when not interleaved) takes in an all-zero stream."""
    total = 0
    for (_, h, v, _), (hd, ha) in zip(comps, tables):
        bits = _zero_block_bits(w.huff.get((0, hd)), w.huff.get((1, ha)))
        if bits is None:
            return None
        total += bits * (h * v if interleaved else 1)
    return total


def walk_stb(data: bytes) -> tuple[_Walk, int, int, list, int, bool]:
    """stb's marker-level decode: (walk, width, height, components, rgb-id count, progressive).

    Raises _StbRefuses where stb's loader returns NULL.
    """
    r = _Reader(data)
    if _get_marker(r) != 0xD8:
        raise _StbRefuses("no SOI")
    w = _Walk()
    m = _get_marker(r)
    while m not in (SOF_BASELINE, SOF_EXTENDED, SOF_PROGRESSIVE):
        _process_marker(r, m, w)
        m = _get_marker(r)
        while m == MARKER_NONE:
            if r.at_eof():
                raise _StbRefuses("no SOF")
            m = _get_marker(r)
    progressive = m == SOF_PROGRESSIVE
    width, height, comps, rgb = _frame_header(r)
    h_max, v_max = max(c[1] for c in comps), max(c[2] for c in comps)
    mcus = -(-width // (8 * h_max)) * -(-height // (8 * v_max))
    at = r.pos
    m = _get_marker(r)
    while m != 0xD9:
        if m == 0xDA:
            order, ss, se, ah, al = _scan_header(r, comps, progressive)
            if progressive and (len(order) > 1 or ss == 0) and se != 0:
                # a DC scan (every interleaved progressive scan is one) must have Se = 0:
                # stbi__jpeg_decode_block_prog_dc fails on its first block
                raise _StbRefuses("can't merge dc and ac")
            idx = [o[0] for o in order]
            for _, hd, ha in order:
                needs_ac = not progressive or ss > 0
                needs_dc = not progressive or (ss == 0 and ah == 0)
                if (needs_dc and (0, hd) not in w.huff) or (needs_ac and (1, ha) not in w.huff):
                    w.problems.append("a scan uses a Huffman table never defined (stb decodes with an "
                                      "all-zero table)")
            for k in idx:
                if comps[k][3] not in w.dequant:
                    w.problems.append("a component uses a quantization table never defined (stb uses zeros)")
            start = r.pos
            end = scan_data_end(data, start)
            if len(idx) == 1:
                cw = -(-width * comps[idx[0]][1] // h_max)
                ch = -(-height * comps[idx[0]][2] // v_max)
                units = -(-cw // 8) * -(-ch // 8)
            else:
                units = mcus
            rst = _check_restarts(data, start, end, units, w.restart)
            if rst:
                w.problems.append(rst)
            w.scans.append((tuple(idx), ss, se, ah, al, {k: w.dequant.get(k) for k in range(4)}))
            if end >= len(data):  # the entropy-coded data runs into the end of the file
                w.end = len(data)
                bits = _zero_stream_bits(w, [comps[k] for k in idx], [o[1:] for o in order], len(idx) > 1)
                if progressive or w.restart or bits is None:
                    w.problems.append("the file ends inside entropy-coded data" + (
                        " with restart markers: stb stops at the next restart point and leaves the rest "
                        "uninitialised" if w.restart and not progressive else
                        ": stb's result depends on its Huffman decoder reading zero bits, not ported here"))
                else:
                    w.zero_fill_bytes = units * bits // 8 + 16
                return w, width, height, comps, rgb, progressive
            r.pos, at = end + 1, end
            while r.pos < len(data) and data[r.pos] == 0xFF:
                r.pos += 1
            m = r.get8()
        elif m == 0xDC:  # DNL
            ld, nl = r.get16(), r.get16()
            if ld != 4:
                raise _StbRefuses("bad DNL len")
            if nl != height:
                raise _StbRefuses("bad DNL height")
            at = r.pos
            m = _get_marker(r)
        else:
            try:
                _process_marker(r, m, w)
            except _StbRefuses:
                # stbi__decode_jpeg_image: "if (!stbi__process_marker(j, m)) return 1;" - stop, success
                w.end = max(at, 0)
                return w, width, height, comps, rgb, progressive
            at = r.pos
            m = _get_marker(r)
    w.finished = True
    w.end = r.pos
    return w, width, height, comps, rgb, progressive


# --- 3. IDCT (stbi__idct_simd) --------------------------------------------------------------------------

def _f2f(x: float) -> int:
    """stbi__f2f: (int)(x * 4096 + 0.5) with x a float literal (float product, double sum, truncation)."""
    return int(float(np.float32(x) * np.float32(4096)) + 0.5)


_C = {k: _f2f(v) for k, v in {
    "0.5411961": 0.5411961, "-1.847759065": -1.847759065, "0.765366865": 0.765366865,
    "1.175875602": 1.175875602, "-0.899976223": -0.899976223, "-2.562915447": -2.562915447,
    "-1.961570560": -1.961570560, "-0.390180644": -0.390180644, "0.298631336": 0.298631336,
    "2.053119869": 2.053119869, "3.072711026": 3.072711026, "1.501321110": 1.501321110}.items()}
# the (even, odd) 16-bit constant pairs of stbi__idct_simd's dct_rot calls
_ROT0_0 = (_C["0.5411961"], _C["0.5411961"] + _C["-1.847759065"])
_ROT0_1 = (_C["0.5411961"] + _C["0.765366865"], _C["0.5411961"])
_ROT1_0 = (_C["1.175875602"] + _C["-0.899976223"], _C["1.175875602"])
_ROT1_1 = (_C["1.175875602"], _C["1.175875602"] + _C["-2.562915447"])
_ROT2_0 = (_C["-1.961570560"] + _C["0.298631336"], _C["-1.961570560"])
_ROT2_1 = (_C["-1.961570560"], _C["-1.961570560"] + _C["3.072711026"])
_ROT3_0 = (_C["-0.390180644"] + _C["2.053119869"], _C["-0.390180644"])
_ROT3_1 = (_C["-0.390180644"], _C["-0.390180644"] + _C["1.501321110"])
_BIAS_COLUMNS = np.int32(512)
_BIAS_ROWS = np.int32(65536 + (128 << 17))


def _rot(x: np.ndarray, y: np.ndarray, c: tuple[int, int]) -> np.ndarray:
    """_mm_madd_epi16 of interleaved (x, y) with (c0, c1): x*c0 + y*c1 in int32 (exact: |c| < 2^14).
    ``x`` and ``y`` are the int16 lanes already widened to int32."""
    out = x * np.int32(c[0])
    out += y * np.int32(c[1])
    return out


def _idct_pass(row: np.ndarray, bias: np.int32, shift: int) -> np.ndarray:
    """stbi__idct_simd's dct_pass on row[0..7] (each (..., 8) int16 lanes); returns the 8 output rows."""
    r0, r1, r2, r3, r4, r5, r6, r7 = row
    w1, w2, w3, w5, w6, w7 = (r.astype(np.int32) for r in (r1, r2, r3, r5, r6, r7))
    # even part
    t2e = _rot(w2, w6, _ROT0_0)
    t3e = _rot(w2, w6, _ROT0_1)
    t0e = (r0 + r4).astype(np.int32) << 12  # _mm_add_epi16 (wraps at 16 bits), then dct_widen (<< 12)
    t1e = (r0 - r4).astype(np.int32) << 12  # _mm_sub_epi16 likewise
    x0, x3 = t0e + t3e, t0e - t3e  # int32 adds wrap like _mm_add_epi32
    x1, x2 = t1e + t2e, t1e - t2e
    # odd part
    y0o = _rot(w7, w3, _ROT2_0)
    y2o = _rot(w7, w3, _ROT2_1)
    y1o = _rot(w5, w1, _ROT3_0)
    y3o = _rot(w5, w1, _ROT3_1)
    sum17 = (r1 + r7).astype(np.int32)  # int16 + int16 -> int16: the 16-bit wrap of _mm_add_epi16
    sum35 = (r3 + r5).astype(np.int32)
    y4o = _rot(sum17, sum35, _ROT1_0)
    y5o = _rot(sum17, sum35, _ROT1_1)
    x4, x5, x6, x7 = y0o + y4o, y1o + y5o, y2o + y5o, y3o + y4o
    out = np.empty_like(row)
    for a, b, lo, hi in ((x0, x7, 0, 7), (x1, x6, 1, 6), (x2, x5, 2, 5), (x3, x4, 3, 4)):
        a += bias  # dct_bfly32o: bias, butterfly, arithmetic shift, then _mm_packs_epi32 (saturate to int16)
        s = a + b
        s >>= shift
        np.clip(s, -32768, 32767, out=s)
        out[lo] = s
        a -= b
        a >>= shift
        np.clip(a, -32768, 32767, out=a)
        out[hi] = a
    return out


def idct_stb_lanes(blocks: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """stbi__idct_simd modelled lane by lane (16-bit wraps, 32-bit wraps, saturations all reproduced): exact
    for every input, and the reference ``idct_stb`` falls back to. (N, 8, 8) dequantized int16 coefficients
    (natural order, row = vertical frequency) -> (N, 8, 8) uint8 samples."""
    blocks = np.asarray(blocks, dtype=np.int16)
    n = blocks.shape[0]
    out = np.empty((n, 8, 8), np.uint8)
    with np.errstate(over="ignore"):
        for s in range(0, n, chunk):
            b = blocks[s:s + chunk]
            rows = np.ascontiguousarray(b.transpose(1, 0, 2))  # row k: coefficient row k, lanes = columns
            cols = _idct_pass(rows, _BIAS_COLUMNS, 10)  # [i, n, j]: spatial row i, frequency column j
            trans = np.ascontiguousarray(cols.transpose(2, 1, 0))  # the 16-bit 8x8 transpose: [j, n, i]
            pix = _idct_pass(trans, _BIAS_ROWS, 17)  # [m, n, i]: spatial column m, lane = spatial row i
            # _mm_packus_epi16 (int16 -> uint8 saturation), then the byte transpose back to rows
            out[s:s + chunk] = np.clip(pix, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    return out


# The fast path. Between its rounding steps a dct_pass is an integer linear map of its 8 input lanes, so
# its matrix is its response to unit impulses (bias 0, shift 0; every entry is below 2^13, nothing wraps).
# Lane 0 enters every output with weight 4096 (it is widened with << 12), so a bias b added before a
# pass's shift is the same as b / 4096 added to lane 0.
_PASS = _idct_pass(np.eye(8, dtype=np.int16), np.int32(0), 0).astype(np.int64)  # [output, input lane]

# A block takes the linear path when every input lane of both passes lies in [-16384, 16383]: then the
# 16-bit sums (r0 +- r4, r1 + r7, r3 + r5) stay in int16, the 32-bit sums stay below
# 30610 * 16384 + bias < 2^31 (30610 = the largest row sum of |_PASS|), and _mm_packs_epi32 after the
# column pass saturates nothing. Other blocks go through idct_stb_lanes.
_LANE_MIN, _LANE_MAX = -16384, 16383

# Column pass as a matrix product: [_PASS / 2^10 | 1] @ [coefficients ; constant row]. The constant row
# carries 512 / 2^10 (the column bias, on every lane) plus, on lane 0 only, the row pass's bias
# (65536 + (128 << 17)) / 4096 = 4112: an integer, so it passes the floor (the ">> 10") unchanged and is
# already in place when the row pass starts. Every product and partial sum is a multiple of 2^-10 below
# 2^25: exact in float64 whatever order BLAS adds in.
_COLUMN_MATRIX = np.hstack([_PASS / 1024.0, np.ones((8, 1))])
_COLUMN_CONSTANT = np.full(8, int(_BIAS_COLUMNS) / 1024.0)
_COLUMN_CONSTANT[0] += int(_BIAS_ROWS) // 4096
# Row pass: samples = floor(row lanes @ _PASS.T / 2^17) (bias in lane 0 already); multiples of 2^-17
# below 2^14: exact in float64.
_ROW_MATRIX = _PASS.T / float(1 << 17)
# the check on the column pass's output, lane 0 included: it holds its value + 4112, so the one interval
# for all lanes is [_LANE_MIN + 4112, _LANE_MAX]
_MID_MIN, _MID_MAX = _LANE_MIN + int(_BIAS_ROWS) // 4096, _LANE_MAX
# the uint8 range as int16 scalars (np.clip then skips its checks of Python-int bounds, once per call)
_U8_MIN, _U8_MAX = np.int16(0), np.int16(255)
#: blocks per matrix product (at most): a few hundred KiB that stay in cache, and products small enough
#: that OpenBLAS runs them on one thread (m * n * k = 8 * 8 * 448 * 9 <= its 4 * 65536)
IDCT_CHUNK = 448


def _in_linear_range(coefs: np.ndarray, quant: np.ndarray) -> bool:
    """Whether every block of a component provably takes the linear path, bounded from the largest
    |coefficient| at each of the 64 positions: every dequantized value within +-16383 (so ``(short)`` does
    not wrap either), and every column-pass sum S (before its bias) within +-(16383 * 1024 - 512), so the
    pass's outputs ``(S + 512) >> 10``, the row pass's lanes, are within +-16383 too. Photos pass (their
    bound on the sums stays below 12000 * 1024)."""
    if coefs.size == 0:
        return True
    peak = np.maximum(coefs.max(axis=(0, 1)).astype(np.int64), -coefs.min(axis=(0, 1)).astype(np.int64))
    deq_peak = peak * np.asarray(quant).astype(np.int64)  # [k, j]
    column_peak = np.abs(_PASS) @ deq_peak  # [i, j]: bound on |S| over all blocks
    return bool(deq_peak.max() <= _LANE_MAX and column_peak.max() <= _LANE_MAX * 1024 - 512)


def _idct_plane(coefs: np.ndarray, quant: np.ndarray) -> np.ndarray:
    """Dequantize and run stbi__idct_simd on a grid of blocks, exactly, as float64 matrix products.

    ``coefs``: (bh, bw, 8, 8) quantized coefficients (natural order, row = vertical frequency); ``quant``:
    (8, 8). Returns the (bh * 8, bw * 8) uint8 plane. Blocks are taken a tile of at most ``IDCT_CHUNK`` at
    a time; unless ``_in_linear_range`` proves the whole component safe, each tile is checked and a block
    outside the linear range (see ``_LANE_MIN``) is redone by ``idct_stb_lanes``.
    """
    bh, bw = coefs.shape[:2]
    plane = np.empty((bh, 8, bw, 8), np.uint8)  # [block row, spatial row, block column, spatial column]
    q16 = np.asarray(quant).astype(np.int16)  # a uint16 table wraps, as does the product below
    outside = np.zeros((bh, bw), bool)
    proven = _in_linear_range(coefs, quant)  # then no tile needs the two range checks
    tw = max(1, min(bw, IDCT_CHUNK))
    th = max(1, IDCT_CHUNK // tw)
    deq = np.empty((th, tw, 8, 8), np.int16)  # [block row, block column, frequency row k, column j]
    x = np.empty((th, 9, tw, 8))  # [block row, k (+ the constant row), block column, j]
    x[:, 8] = _COLUMN_CONSTANT
    cols = np.empty((th, 8, tw, 8))  # [block row, spatial row i, block column, lane j]
    pix = np.empty((th, 8, tw, 8))  # [block row, spatial row i, block column, spatial column m], as the plane
    samples = np.empty((th, 8, tw, 8), np.int16)
    for r in range(0, bh, th):
        for c in range(0, bw, tw):
            tile = coefs[r:r + th, c:c + tw]
            h, w = tile.shape[:2]
            if (h, w) != (th, tw):
                deq[...] = 0
            np.multiply(tile, q16, out=deq[:h, :w])  # (short)(coef * dequant): int16 keeps the low 16 bits
            if not proven and (deq.min() < _LANE_MIN or deq.max() > _LANE_MAX):
                outside[r:r + h, c:c + w] |= ((deq < _LANE_MIN) | (deq > _LANE_MAX)).any(axis=(2, 3))[:h, :w]
            np.copyto(x[:, :8], deq.transpose(0, 2, 1, 3))  # int16 -> float64: exact
            np.matmul(_COLUMN_MATRIX, x.reshape(th, 9, -1), out=cols.reshape(th, 8, -1))  # per block row
            np.floor(cols, out=cols)  # the column pass's ">> 10" (an arithmetic shift: floor)
            if not proven and (cols.min() < _MID_MIN or cols.max() > _MID_MAX):
                outside[r:r + h, c:c + w] |= ((cols < _MID_MIN) | (cols > _MID_MAX)).any(axis=(1, 3))[:h, :w]
            np.matmul(cols.reshape(-1, 8), _ROW_MATRIX, out=pix.reshape(-1, 8))
            # ">> 17", _mm_packs_epi32 and _mm_packus_epi16 together are floor, then clamp to [0, 255]. The
            # cast to int16 truncates (|values| < 2^12 on the linear path), which differs from the floor only
            # below 0, where the clamp gives 0 either way. (Blocks outside the range give garbage below
            # 2^18 here, no overflow of the cast's int32 step; they are redone after the loop.)
            np.copyto(samples, pix, casting="unsafe")
            np.clip(samples, _U8_MIN, _U8_MAX, out=samples)
            plane[r:r + h, :, c:c + w] = samples[:h, :, :w]
    if outside.any():
        by, bx = np.nonzero(outside)
        plane[by, :, bx, :] = idct_stb_lanes(np.multiply(coefs[by, bx], q16, dtype=np.int16))
    return plane.reshape(bh * 8, bw * 8)


def idct_stb(blocks: np.ndarray) -> np.ndarray:
    """stbi__idct_simd on every block: (N, 8, 8) dequantized int16 coefficients (natural order, row =
    vertical frequency) -> (N, 8, 8) uint8 samples."""
    blocks = np.asarray(blocks, dtype=np.int16).reshape(1, -1, 8, 8)  # one row of blocks
    plane = _idct_plane(blocks, np.ones((8, 8), np.int16))
    return np.ascontiguousarray(plane.reshape(8, -1, 8).transpose(1, 0, 2))


# --- 2.+3. dequantize, IDCT, assemble a component plane -------------------------------------------------

def component_plane(coefs: np.ndarray, quant: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """(blocks_high, blocks_wide, 8, 8) quantized coefficients -> (rows, cols) uint8 samples."""
    return _idct_plane(coefs, quant)[:rows, :cols]


def _dc_overflow(coefs: np.ndarray, q0: int) -> bool:
    """stbi__mul2shorts_valid(dc, dequant[0]) fails for some block: stb's "can't merge dc and ac"."""
    prod = coefs[..., 0, 0].astype(np.int64) * int(q0)
    return bool(prod.size) and bool((prod.min() < -32768) or (prod.max() > 32767))


# --- 4. upsampling ---------------------------------------------------------------------------------------

# stb's resamplers add at most 16 samples with small weights (<= 16 * 255 + 8): int16 holds every sum,
# as stb's own SIMD kernel does in 16-bit lanes, and halves the memory traffic of int32. Their results
# are stbi_uc, all in [0, 255]; a horizontally doubled row is built as its even and its odd outputs, then
# interleaved. Each output row depends on at most three input rows, so a band of rows is upsampled on its
# own (the decoder goes band by band).

def _vertical_sum(plane: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``3 * near + far`` (int16, one row per entry of ``rows``) for vs == 2: near = row r//2; far = r//2 - 1
    for even r, r//2 + 1 for odd r, clamped to the component (the line0/line1 walk in load_jpeg_image)."""
    k = rows // 2
    far = np.where(rows % 2 == 0, np.maximum(k - 1, 0), np.minimum(k + 1, plane.shape[0] - 1))
    t = plane[k].astype(np.int16)
    t *= 3
    t += plane[far]
    return t


def _interleave(even: np.ndarray, odd: np.ndarray) -> np.ndarray:
    """(R, w) samples (0..255) at even and at odd output columns -> (R, 2w) uint8. Each (even, odd) pair
    is one little-endian uint16: two whole-array operations instead of two strided stores."""
    pairs = odd.astype("<u2")
    pairs <<= 8
    np.bitwise_or(pairs, even, out=pairs, casting="unsafe")
    return pairs.view(np.uint8)


def _h2(a: np.ndarray) -> np.ndarray:
    """stbi__resample_row_h_2 on every row of ``a`` ((R, w) samples) -> (R, 2w) uint8."""
    rows, w = a.shape
    if w == 1:
        return np.repeat(a, 2, axis=1).astype(np.uint8)
    a = a.astype(np.int16)
    n3 = 3 * a + 2
    even, odd = np.empty_like(a), np.empty_like(a)
    np.add(n3[:, :-1], a[:, 1:], out=odd[:, :-1])  # out[2i + 1] = (3 * in[i] + in[i + 1] + 2) >> 2
    odd >>= 2
    odd[:, -1] = a[:, -1]  # out[2w - 1] = in[w - 1]
    np.add(n3[:, 1:-1], a[:, :-2], out=even[:, 1:-1])  # out[2i] = (3 * in[i] + in[i - 1] + 2) >> 2
    even >>= 2
    even[:, 0] = a[:, 0]  # out[0] = in[0]
    even[:, -1] = odd[:, -2]  # stb's swapped weights: out[2w - 2] = (3 * in[w - 2] + in[w - 1] + 2) >> 2
    return _interleave(even, odd)


def _hv2(t: np.ndarray) -> np.ndarray:
    """stbi__resample_row_hv_2(_simd) horizontal half on t = 3*near + far ((R, w) int16) -> (R, 2w) uint8."""
    rows, w = t.shape
    if w == 1:
        return np.repeat((t + 2) >> 2, 2, axis=1).astype(np.uint8)
    t3 = 3 * t
    t3 += 8
    even, odd = np.empty_like(t), np.empty_like(t)
    np.add(t3[:, 1:], t[:, :-1], out=even[:, 1:])  # out[2i] = (3 * t[i] + t[i - 1] + 8) >> 4
    even[:, 0] = 4 * t[:, 0] + 8  # out[0] = (t[0] + 2) >> 2, at the same scale
    np.add(t3[:, :-1], t[:, 1:], out=odd[:, :-1])  # out[2i + 1] = (3 * t[i] + t[i + 1] + 8) >> 4
    odd[:, -1] = 4 * t[:, -1] + 8  # out[2w - 1] = (t[w - 1] + 2) >> 2
    even >>= 4
    odd >>= 4
    return _interleave(even, odd)


def upsample_rows_stb(plane: np.ndarray, hs: int, vs: int, width: int, start: int, stop: int) -> np.ndarray:
    """Output rows ``start:stop`` of one component upsampled by (hs, vs) with the resampler stb picks ->
    (stop - start, width) uint8 (a view of ``plane`` for 1x1)."""
    if hs == 1 and vs == 1:  # resample_row_1
        return plane[start:stop, :width]
    if hs == 1 and vs == 2:  # stbi__resample_row_v_2
        t = _vertical_sum(plane, np.arange(start, stop))[:, :width]
        t += 2
        t >>= 2
        return t.astype(np.uint8)
    if hs == 2 and vs == 1:  # stbi__resample_row_h_2
        return _h2(plane[start:stop])[:, :width]
    if hs == 2 and vs == 2:  # stbi__resample_row_hv_2_simd
        return _hv2(_vertical_sum(plane, np.arange(start, stop)))[:, :width]
    # stbi__resample_row_generic: nearest, row r // vs
    w_lores = -(-width // hs)
    return np.repeat(plane[np.arange(start, stop) // vs, :w_lores], hs, axis=1)[:, :width]


def upsample_stb(plane: np.ndarray, hs: int, vs: int, width: int, height: int) -> np.ndarray:
    """One component plane -> (height, width) uint8 with the resampler stb picks for (hs, vs)."""
    return np.ascontiguousarray(upsample_rows_stb(plane, hs, vs, width, 0, height))


# --- 5. colour -------------------------------------------------------------------------------------------

def _float2fixed(x: float) -> int:
    """stbi__float2fixed: ((int)(x * 4096.0f + 0.5f)) << 8, all in float."""
    return int(np.float32(x) * np.float32(4096.0) + np.float32(0.5)) << 8


_CR_R, _CR_G = _float2fixed(1.40200), -_float2fixed(0.71414)
_CB_G, _CB_B = -_float2fixed(0.34414), _float2fixed(1.77200)

#: rows per band of the upsampling and colour conversion (their temporaries stay in cache)
COLOUR_BAND = 128


def _scaled_int16(c: np.ndarray, k: int, bias: int) -> np.ndarray:
    """``(c * k + bias) >> 8`` for int16 ``c`` in [-128, 127], in int16 without overflow: with
    k = 256 * hi + lo and |lo| <= 128, it is ``c * hi + ((c * lo + bias) >> 8)`` (c * hi * 256 is a multiple
    of 256, so it leaves the floor unchanged); every intermediate stays within +-2^15 for |k| < 2^13."""
    hi = (k + 128) >> 8
    lo = k - 256 * hi
    t = c * np.int16(lo)
    t += np.int16(bias)
    t >>= 8
    t += c * np.int16(hi)
    return t


def _ycbcr_rows(y: np.ndarray, cb: np.ndarray, cr: np.ndarray, out: np.ndarray) -> None:
    """stbi__YCbCr_to_RGB_simd's scalar loop on a band of rows, written into ``out`` (rows, W, 3) uint8.

    stb computes ``((y << 20) + (1 << 19) + chroma terms) >> 20`` with every constant K a multiple of 2^8
    (stbi__float2fixed ends in ``<< 8``). Since ``y << 20`` is a multiple of 2^20 and floor(floor(z) / n)
    = floor(z / n), that is ``y + ((c * (K >> 8) + 2048) >> 8 >> 4)``, small enough for int16. For G the Cb
    term ``(c * K) & 0xffff0000`` is ``((c * (K >> 8)) >> 8) << 16``, so G's offset is
    ``((cr term >> 8) + (cb term >> 8)) >> 4``. The same integers as stb's formula for all 2^24 inputs.
    """
    y16 = y.astype(np.int16)
    cr_c = cr.astype(np.int16)
    cr_c -= 128
    cb_c = cb.astype(np.int16)
    cb_c -= 128
    r = _scaled_int16(cr_c, _CR_R >> 8, 2048)  # 2048: the rounding (1 << 19) at this scale
    g = _scaled_int16(cr_c, _CR_G >> 8, 2048)
    g += _scaled_int16(cb_c, _CB_G >> 8, 0)  # the Cb term of G, masked with 0xffff0000
    b = _scaled_int16(cb_c, _CB_B >> 8, 2048)
    for k, term in enumerate((r, g, b)):
        term >>= 4
        term += y16
        np.clip(term, _U8_MIN, _U8_MAX, out=term)  # the "(unsigned) r > 255" clamp
        out[..., k] = term


def ycbcr_to_rgb_stb(y: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> np.ndarray:
    """stbi__YCbCr_to_RGB_simd's scalar loop (the one that runs for step 3) -> (H, W, 3) uint8."""
    out = np.empty(y.shape + (3,), np.uint8)
    for r in range(0, y.shape[0], COLOUR_BAND):
        rows = slice(r, r + COLOUR_BAND)
        _ycbcr_rows(y[rows], cb[rows], cr[rows], out[rows])
    return out


def blinn_8x8(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """stbi__blinn_8x8: rounded x*y/255 for 0..255 inputs."""
    t = x.astype(np.int32) * y.astype(np.int32) + 128
    return ((t + (t >> 8)) >> 8).astype(np.uint8)


# --- the decoder -----------------------------------------------------------------------------------------

def _planes_from_coefficients(co: JpegCoefficients, walk: _Walk, progressive: bool) -> list:
    """IDCT'd component planes (cy, cx)."""
    planes = []
    decoded = set()
    last_scan_quant: dict[int, np.ndarray] = {}
    for idx, _ss, _se, _ah, _al, tables in walk.scans:
        for k in idx:
            decoded.add(k)
            last_scan_quant[k] = tables.get(co.components[k].tq)
    for k, comp in enumerate(co.components):
        if progressive:
            quant = walk.dequant.get(comp.tq)  # stbi__jpeg_finish: the tables in force at EOI
        else:
            quant = last_scan_quant.get(k)  # stbi__jpeg_decode_block: the table in force at the scan
        if quant is None:
            quant = np.zeros((8, 8), np.uint16)
        own = comp.blocks[:comp.blocks_high, :comp.blocks_wide]
        if not progressive and k in decoded:
            checked = comp.blocks if (co.padding_decoded and len(walk.scans[0][0]) > 1) else own
            if _dc_overflow(checked, quant[0, 0]):
                raise _StbRefuses("can't merge dc and ac")
        planes.append(component_plane(own, quant, comp.height, comp.width))
    return planes


_COLOUR_LABELS = {"grey": "grey replicated", "rgb": "RGB components copied", "cmyk": "Adobe CMYK (blinn)",
                  "ycck": "Adobe YCCK (YCbCr->RGB, then blinn of 255-rgb and K)", "ycbcr": "YCbCr->RGB fixed point"}


def _colour_kind(n: int, rgb_ids: int, walk: _Walk) -> str:
    """Which output conversion load_jpeg_image applies (a key of ``_COLOUR_LABELS``)."""
    if n == 1:
        return "grey"
    if n == 3 and (rgb_ids == 3 or (walk.app14 == 0 and not walk.jfif)):
        return "rgb"
    if n == 4 and walk.app14 == 0:
        return "cmyk"
    if n == 4 and walk.app14 == 2:
        return "ycck"
    return "ycbcr"


def _colour_rows(kind: str, up: list, out: np.ndarray) -> None:
    """load_jpeg_image's colour step on a band of upsampled component rows, written into ``out`` (rows, W, 3)
    uint8, a band of the decoder's result."""
    if kind == "grey":
        out[...] = up[0][..., None]
    elif kind == "rgb":
        for k in range(3):
            out[..., k] = up[k]
    elif kind == "cmyk":
        for k in range(3):
            out[..., k] = blinn_8x8(up[k], up[3])
    else:
        _ycbcr_rows(up[0], up[1], up[2], out)
        if kind == "ycck":
            for k in range(3):
                out[..., k] = blinn_8x8(255 - out[..., k], up[3])


def decode_jpeg_stb_full(data: bytes) -> StbJpeg:
    """Decode JPEG bytes as stb_image v2.30 does with req_comp=3; BadImage where stb returns NULL."""
    try:
        walk, width, height, comps, rgb_ids, progressive = walk_stb(data)
    except _StbRefuses as e:
        raise BadImage(f"stb_image refuses this JPEG: {e}") from None
    problems = list(walk.problems)
    decoded = {k for scan in walk.scans for k in scan[0]}
    uninitialised = [k for k in range(len(comps)) if k not in decoded]
    if uninitialised:
        problems.append(f"component(s) {uninitialised} never decoded: stb returns uninitialised memory there")
    if progressive and not walk.finished:
        problems.append("progressive file not ending in EOI: stb skips stbi__jpeg_finish and returns "
                        "uninitialised memory")
    if walk.zero_fill_bytes:
        # stb goes on decoding a cut scan from zero bits (stbi__get8 returns 0 at the end); libjpeg given
        # the same zero bytes decodes them the same way
        source = data + bytes(walk.zero_fill_bytes) + b"\xff\xd9"
    elif walk.finished or walk.end >= len(data):
        source = data
    else:
        source = data[:walk.end] + b"\xff\xd9"  # stb stopped here: later scans are not decoded
    try:
        co = read_coefficients(source)
    except BadImage:
        if not problems:
            raise
        co = read_coefficients(data, decode=False)  # stb's output is garbage anyway: zeros here
    warnings = [m for m in co.warnings if not (walk.zero_fill_bytes and "extraneous bytes before" in m)]
    if warnings:
        problems.append("libjpeg reports a damaged stream (" + "; ".join(warnings[:2]) + "); stb's own "
                        "Huffman decoder is not ported and may decode or refuse it differently")
    try:
        planes = _planes_from_coefficients(co, walk, progressive)
    except _StbRefuses as e:
        raise BadImage(f"stb_image refuses this JPEG: {e}") from None
    h_max, v_max = max(c[1] for c in comps), max(c[2] for c in comps)
    factors = [(h_max // c[1], v_max // c[2]) for c in comps]
    n = len(comps)
    kind = _colour_kind(n, rgb_ids, walk)
    rgb = np.empty((height, width, 3), np.uint8)
    for r in range(0, height, COLOUR_BAND):  # load_jpeg_image works row by row; bands keep data in cache
        stop = min(height, r + COLOUR_BAND)
        up = [upsample_rows_stb(p, hs, vs, width, r, stop) for p, (hs, vs) in zip(planes, factors)]
        _colour_rows(kind, up, rgb[r:stop])
    colour = _COLOUR_LABELS[kind] + (", 4th component ignored" if kind == "ycbcr" and n == 4 else "")
    info = {"width": width, "height": height, "components": n, "progressive": progressive,
            "sampling": "/".join(f"{c[1]}x{c[2]}" for c in comps), "colour": colour,
            "decoder": STB_VERSION + " (numpy port)"}
    approximate = ("; ".join(dict.fromkeys(problems))) if problems else None
    return StbJpeg(rgb, approximate, info)


def decode_jpeg_stb(data: bytes) -> np.ndarray:
    """(H, W, 3) uint8 exactly as ``stbi_load_from_memory(data, len, &x, &y, &n, 3)`` returns it."""
    return decode_jpeg_stb_full(data).rgb
