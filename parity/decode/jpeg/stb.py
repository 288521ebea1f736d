"""JPEG decoding exactly as stb_image v2.30 does it with ``req_comp=3`` on x86-64 (SSE2), in numpy.

Source: nothings/stb ``stb_image.h`` v2.30 as vendored by ggml-org/llama.cpp at commit 0c1e570
(``vendor/stb/stb_image.h``; llama.cpp calls ``stbi_load_from_memory(buf, len, &x, &y, &n, 3)`` in
``tools/mtmd/mtmd-helper.cpp``). Functions ported (all of them vectorized over whole components):

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
   both are reproduced (see ``tests/oracles/stb_image/idct_blocks.npz``).
4. upsampling per component (``load_jpeg_image``'s ``stbi__resample``): ``hs, vs = h_max/h, v_max/v``;
   1x1 copy, 1x2 ``stbi__resample_row_v_2``, 2x1 ``stbi__resample_row_h_2`` (its last output pair is
   ``(3*in[w-2] + in[w-1] + 2) >> 2, in[w-1]``: the weights of the next-to-last output are swapped, the
   quirk behind large edge differences against libjpeg), 2x2 ``stbi__resample_row_hv_2_simd`` (bit-equal
   to the scalar one), anything else nearest (``stbi__resample_row_generic``). Rows are chosen as the
   ``ystep``/``ypos`` state machine does: output row r uses row r//vs, and for vs=2 the neighbour row
   r//2 -1 (even r) or r//2 + 1 (odd r), clamped to the component.
5. colour: 3 components -> ``stbi__YCbCr_to_RGB_simd`` with step 3, which never takes its SSE2 loop
   (only step 4 does) so the scalar fixed-point formula runs: ``(y << 20) + (1 << 19)``, constants
   ``(int)(c * 4096.0f + 0.5f) << 8``, the Cb term of G masked with ``0xffff0000``, ``>> 20``, clamp.
   RGB files (component ids 'R','G','B', or Adobe transform 0 without JFIF) are copied. 4 components:
   Adobe transform 0 = CMYK, ``stbi__blinn_8x8(c, k)``; 2 = YCCK, blinn of ``255 - rgb`` and K; other
   = YCbCr with K ignored. 1 component: grey replicated.
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


def idct_stb(blocks: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """stbi__idct_simd on every block: (N, 8, 8) dequantized int16 coefficients (natural order, row =
    vertical frequency) -> (N, 8, 8) uint8 samples."""
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


# --- 2.+3. dequantize, IDCT, assemble a component plane -------------------------------------------------

def component_plane(coefs: np.ndarray, quant: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """(blocks_high, blocks_wide, 8, 8) quantized coefficients -> (rows, cols) uint8 samples."""
    bh, bw = coefs.shape[:2]
    # (short)(coef * dequant): the int product truncated to 16 bits (gcc wraps)
    deq = (coefs.astype(np.int32) * quant.astype(np.int32)).astype(np.int16)
    pix = idct_stb(deq.reshape(-1, 8, 8)).reshape(bh, bw, 8, 8)
    return pix.transpose(0, 2, 1, 3).reshape(bh * 8, bw * 8)[:rows, :cols]


def _dc_overflow(coefs: np.ndarray, q0: int) -> bool:
    """stbi__mul2shorts_valid(dc, dequant[0]) fails for some block: stb's "can't merge dc and ac"."""
    prod = coefs[..., 0, 0].astype(np.int64) * int(q0)
    return bool(prod.size) and bool((prod.min() < -32768) or (prod.max() > 32767))


# --- 4. upsampling ---------------------------------------------------------------------------------------

# stb's resamplers add at most 16 samples with small weights (<= 16 * 255 + 8): int16 holds every sum,
# as stb's own SIMD kernel does in 16-bit lanes, and halves the memory traffic of int32.

def _vertical_pair(plane: np.ndarray, height: int) -> tuple[np.ndarray, np.ndarray]:
    """(near, far) rows for vs == 2: near = row r//2; far = r//2 - 1 for even r, r//2 + 1 for odd r,
    clamped to the component (the line0/line1 walk in load_jpeg_image). int16."""
    r = np.arange(height)
    k = r // 2
    far = np.where(r % 2 == 0, np.maximum(k - 1, 0), np.minimum(k + 1, plane.shape[0] - 1))
    return plane[k].astype(np.int16), plane[far].astype(np.int16)


def _h2(a: np.ndarray) -> np.ndarray:
    """stbi__resample_row_h_2 on every row of ``a`` (int16 (R, w)) -> (R, 2w)."""
    rows, w = a.shape
    out = np.empty((rows, 2 * w), np.int16)
    if w == 1:
        out[:, 0] = out[:, 1] = a[:, 0]
        return out
    out[:, 0] = a[:, 0]
    out[:, 1] = (a[:, 0] * 3 + a[:, 1] + 2) >> 2
    n3 = 3 * a[:, 1:-1] + 2
    out[:, 2:2 * w - 2:2] = (n3 + a[:, :-2]) >> 2
    out[:, 3:2 * w - 2:2] = (n3 + a[:, 2:]) >> 2
    out[:, 2 * w - 2] = (a[:, w - 2] * 3 + a[:, w - 1] + 2) >> 2  # stb's swapped weights at the end
    out[:, 2 * w - 1] = a[:, w - 1]
    return out


def _hv2(t: np.ndarray) -> np.ndarray:
    """stbi__resample_row_hv_2(_simd) horizontal half on t = 3*near + far (int16 (R, w)) -> (R, 2w)."""
    rows, w = t.shape
    out = np.empty((rows, 2 * w), np.int16)
    if w == 1:
        out[:, 0] = out[:, 1] = (t[:, 0] + 2) >> 2
        return out
    out[:, 0] = (t[:, 0] + 2) >> 2
    t3 = 3 * t + 8
    out[:, 2::2] = (t3[:, 1:] + t[:, :-1]) >> 4  # (3 * t[i] + t[i - 1] + 8) >> 4
    out[:, 1:-1:2] = (t3[:, :-1] + t[:, 1:]) >> 4  # (3 * t[i] + t[i + 1] + 8) >> 4
    out[:, 2 * w - 1] = (t[:, w - 1] + 2) >> 2
    return out


def upsample_stb(plane: np.ndarray, hs: int, vs: int, width: int, height: int) -> np.ndarray:
    """One component plane -> (height, width) uint8 with the resampler stb picks for (hs, vs)."""
    if hs == 1 and vs == 1:  # resample_row_1
        out = plane[:height, :width]
    elif hs == 1 and vs == 2:  # stbi__resample_row_v_2
        near, far = _vertical_pair(plane, height)
        out = (3 * near + far + 2) >> 2
        out = out[:, :width]
    elif hs == 2 and vs == 1:  # stbi__resample_row_h_2
        out = _h2(plane[:height].astype(np.int16))[:, :width]
    elif hs == 2 and vs == 2:  # stbi__resample_row_hv_2_simd
        near, far = _vertical_pair(plane, height)
        near *= 3
        near += far
        out = _hv2(near)[:, :width]
    else:  # stbi__resample_row_generic: nearest, row r // vs
        w_lores = -(-width // hs)
        out = np.repeat(plane[np.arange(height) // vs, :w_lores], hs, axis=1)[:, :width]
    return np.ascontiguousarray(out, dtype=np.uint8)


# --- 5. colour -------------------------------------------------------------------------------------------

def _float2fixed(x: float) -> int:
    """stbi__float2fixed: ((int)(x * 4096.0f + 0.5f)) << 8, all in float."""
    return int(np.float32(x) * np.float32(4096.0) + np.float32(0.5)) << 8


_CR_R, _CR_G = _float2fixed(1.40200), -_float2fixed(0.71414)
_CB_G, _CB_B = -_float2fixed(0.34414), _float2fixed(1.77200)


def _colour_offsets() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-chroma offsets of stb's fixed-point YCbCr->RGB.

    ``(y << 20) + (1 << 19) + term >> 20`` equals ``y + ((1 << 19) + term >> 20)`` since ``y << 20`` is a
    multiple of 2^20, so each channel is ``y`` plus an offset that depends on the chroma only: R on Cr,
    B on Cb, G on (Cb, Cr). Tabulating it gives the same integers as the per-pixel formula.
    """
    c = np.arange(256, dtype=np.int32) - 128  # cr = pcr[i] - 128; cb = pcb[i] - 128
    d_r = ((1 << 19) + c * _CR_R) >> 20
    d_b = ((1 << 19) + c * _CB_B) >> 20
    # G: cr * -F(0.71414) + ((cb * -F(0.34414)) & 0xffff0000), indexed [cb, cr]
    d_g = ((1 << 19) + c[None, :] * _CR_G + ((c[:, None] * _CB_G) & np.int32(-65536))) >> 20
    return d_r.astype(np.int16), d_g.astype(np.int16).ravel(), d_b.astype(np.int16)


_D_R, _D_G, _D_B = _colour_offsets()


#: rows per band of the colour conversion (its temporaries stay in cache)
COLOUR_BAND = 64


def ycbcr_to_rgb_stb(y: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> np.ndarray:
    """stbi__YCbCr_to_RGB_simd's scalar loop (the one that runs for step 3) -> (H, W, 3) uint8."""
    out = np.empty(y.shape + (3,), np.uint8)
    for r in range(0, y.shape[0], COLOUR_BAND):
        rows = slice(r, r + COLOUR_BAND)
        y16 = y[rows].astype(np.int16)
        cbcr = (cb[rows].astype(np.uint16) << 8) | cr[rows]
        band = out[rows]
        for k, offset in enumerate((_D_R.take(cr[rows]), _D_G.take(cbcr), _D_B.take(cb[rows]))):
            offset += y16
            np.clip(offset, 0, 255, out=offset)  # the "(unsigned) r > 255" clamp
            band[..., k] = offset
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
    up = [upsample_stb(p, h_max // c[1], v_max // c[2], width, height) for p, c in zip(planes, comps)]
    n = len(comps)
    is_rgb = n == 3 and (rgb_ids == 3 or (walk.app14 == 0 and not walk.jfif))
    if n == 1:
        rgb = np.repeat(up[0][:, :, None], 3, axis=2)
        colour = "grey replicated"
    elif n == 3 and is_rgb:
        rgb = np.stack(up, axis=-1)
        colour = "RGB components copied"
    elif n == 4 and walk.app14 == 0:
        rgb = np.stack([blinn_8x8(up[k], up[3]) for k in range(3)], axis=-1)
        colour = "Adobe CMYK (blinn)"
    elif n == 4 and walk.app14 == 2:
        ycc = ycbcr_to_rgb_stb(up[0], up[1], up[2])
        rgb = np.stack([blinn_8x8(255 - ycc[..., k], up[3]) for k in range(3)], axis=-1)
        colour = "Adobe YCCK (YCbCr->RGB, then blinn of 255-rgb and K)"
    else:
        rgb = ycbcr_to_rgb_stb(up[0], up[1], up[2])
        colour = "YCbCr->RGB fixed point" + (", 4th component ignored" if n == 4 else "")
    info = {"width": width, "height": height, "components": n, "progressive": progressive,
            "sampling": "/".join(f"{c[1]}x{c[2]}" for c in comps), "colour": colour,
            "decoder": STB_VERSION + " (numpy port)"}
    approximate = ("; ".join(dict.fromkeys(problems))) if problems else None
    return StbJpeg(rgb, approximate, info)


def decode_jpeg_stb(data: bytes) -> np.ndarray:
    """(H, W, 3) uint8 exactly as ``stbi_load_from_memory(data, len, &x, &y, &n, 3)`` returns it."""
    return decode_jpeg_stb_full(data).rgb
