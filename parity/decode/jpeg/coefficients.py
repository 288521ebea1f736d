"""A JPEG's quantized DCT coefficients and the header facts a decoder needs, as plain arrays.

Entropy (Huffman) decoding is the one step taken from a library: ``jpeglib`` 1.0.2 runs a real libjpeg
build (libjpeg-turbo 2.1, its ``turbo210`` library) through ``jpeg_read_coefficients``. For a valid
stream every decoder obtains the same coefficients, so what makes decoders differ (dequantization, IDCT,
upsampling, colour conversion, clamping) is left to the runtime ports built on this module
(``parity.decode.jpeg.stb``, the Go ports).

The header (SOF, DQT, DRI, JFIF APP0, Adobe APP14, SOS) is parsed here, in Python, from the bytes: it
gives what jpeglib does not expose (component ids, the quantization tables in force at each scan, the
Adobe transform, where each scan's entropy-coded data starts and ends, whether the file was cut).

Padding blocks: an interleaved scan also codes the blocks that pad each component to whole MCUs. libjpeg
decodes them but jpeglib copies out only the component's own blocks; when every scan is interleaved
(every multi-component baseline file written by libjpeg or Pillow) the file is read a second way with
the frame size rounded up to whole MCUs, which makes libjpeg count the padding blocks as the component's
own (the coded data is the same, block for block). Otherwise (progressive or non-interleaved scans, where
padding blocks are at most partly coded) they are zero and ``padding_decoded`` is False.

libjpeg's warnings (corrupt or truncated entropy data, which it repairs in its own way) are collected
from its stderr into ``warnings``: a non-empty tuple means other decoders may see other coefficients.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import os
import tempfile
import threading
from dataclasses import dataclass

import jpeglib
import numpy as np
from jpeglib._bind import CJpegLib

from parity.errors import BadImage

#: jpeglib's bundled library used for entropy decoding (any libjpeg gives the same coefficients).
LIBJPEG_FOR_COEFFICIENTS = "turbo210"

#: JPEG zigzag position -> natural (row-major 8x8) index (ITU T.81 figure 5).
ZIGZAG_TO_NATURAL = np.array([
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
    12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
    35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
    58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63], dtype=np.intp)

SOF_BASELINE, SOF_EXTENDED, SOF_PROGRESSIVE = 0xC0, 0xC1, 0xC2
LIBJPEG_LOCK = threading.Lock()  # jpeglib's library choice and our stderr capture are process-wide


@dataclass(frozen=True)
class Scan:
    """One SOS: which components (indices into ``components``), spectral band and bit position, and
    where its entropy-coded data lies in the file (``end`` is the offset of the marker that ends it, or
    the file length when the file ends first)."""

    components: tuple[int, ...]
    ss: int
    se: int
    ah: int
    al: int
    start: int
    end: int
    quant: tuple[np.ndarray, ...]  # the (8, 8) table of each component in force at this scan


@dataclass(frozen=True)
class Component:
    """One colour component of the frame.

    ``blocks`` has shape (mcus_y * v, mcus_x * h, 8, 8): the quantized coefficients (int16, natural
    row-major order inside each block, not zigzag) of every block of the MCU-padded grid; the component's
    own blocks are ``blocks[:blocks_high, :blocks_wide]`` and the rest are padding (see the module
    docstring). ``quant`` is its quantization table (uint16, natural order) as defined at the end of
    the file; a table redefined between scans is in ``Scan.quant``.
    """

    id: int
    h: int
    v: int
    tq: int
    width: int  # samples: ceil(image width * h / h_max)
    height: int
    blocks_wide: int  # ceil(width / 8)
    blocks_high: int
    blocks: np.ndarray
    quant: np.ndarray


@dataclass(frozen=True)
class JpegCoefficients:
    """Everything about a JPEG except its Huffman tables: frame, components with coefficients, scans."""

    width: int
    height: int
    precision: int
    sof: int  # 0xC0 baseline, 0xC1 extended sequential, 0xC2 progressive
    components: tuple[Component, ...]
    h_max: int
    v_max: int
    mcus_x: int
    mcus_y: int
    scans: tuple[Scan, ...]
    restart_interval: int  # the last DRI value (0: none)
    jfif: bool  # an APP0 'JFIF\0' segment
    adobe_transform: int | None  # Adobe APP14 colour transform (0 none/RGB/CMYK, 1 YCbCr, 2 YCCK)
    eoi: bool  # the file reaches an EOI marker
    truncated: bool  # entropy-coded data runs into the end of the file
    padding_decoded: bool  # False when coded padding blocks could not be read (they hold zeros)
    warnings: tuple[str, ...]  # libjpeg's warnings about the stream (empty for a clean file)

    @property
    def progressive(self) -> bool:
        return self.sof == SOF_PROGRESSIVE


# --- header parsing ------------------------------------------------------------------------------------

#: bytes searched at a time for the end of entropy-coded data
_SCAN_WINDOW = 1 << 16


def scan_data_end(data: bytes, start: int) -> int:
    """Offset of the marker ending the entropy-coded data that starts at ``start`` (len(data) if none):
    the first 0xFF (of a run of fill 0xFFs, not before ``start``) followed by neither a stuffed 0x00, nor
    RSTn, nor another 0xFF; the regex ``\\xff+[^\\x00\\xd0-\\xd7\\xff]`` searched from ``start``,
    vectorized."""
    arr = np.frombuffer(data, np.uint8)
    n = len(arr)
    for lo in range(start, n - 1, _SCAN_WINDOW):
        hi = min(lo + _SCAN_WINDOW, n - 1)  # 0xFF positions p in [lo, hi) all have a byte p + 1
        ff = np.flatnonzero(arr[lo:hi] == 0xFF) + lo
        code = arr[ff + 1]
        ends = ff[(code != 0x00) & (code != 0xFF) & ((code < 0xD0) | (code > 0xD7))]
        if len(ends):
            last_ff = int(ends[0])
            other = np.flatnonzero(arr[start:last_ff] != 0xFF)  # back to the first 0xFF of the run
            return start + int(other[-1]) + 1 if len(other) else start
    return n


@dataclass
class _Header:
    sof: int = 0
    precision: int = 0
    height: int = 0
    width: int = 0
    sof_offset: int = 0  # offset of the SOF's precision byte
    comps: list = None
    quant: dict = None
    scans: list = None
    restart: int = 0
    jfif: bool = False
    adobe: int | None = None
    eoi: bool = False
    truncated: bool = False


def _u16(data: bytes, i: int) -> int:
    return (data[i] << 8) | data[i + 1]


def _dqt(payload: bytes, quant: dict) -> None:
    i = 0
    while i < len(payload):
        pq, tq = payload[i] >> 4, payload[i] & 15
        n = 128 if pq else 64
        raw = np.frombuffer(payload[i + 1:i + 1 + n], dtype=">u2" if pq else np.uint8)
        if raw.size != 64 or tq > 3:
            raise BadImage(f"corrupt JPEG: bad DQT segment (table {tq}, precision {pq})")
        table = np.zeros(64, np.uint16)
        table[ZIGZAG_TO_NATURAL] = raw
        quant[tq] = table.reshape(8, 8)
        i += 1 + n


def parse_header(data: bytes) -> _Header:
    """Walk the markers: frame, tables in force per scan, scans and where their data ends."""
    if data[:2] != b"\xff\xd8":
        raise BadImage("not a JPEG: no SOI marker at the start")
    hd = _Header(comps=[], quant={}, scans=[])
    i, n = 2, len(data)
    while i < n:
        if data[i] != 0xFF:  # junk between segments: resynchronise on the next 0xFF
            j = data.find(b"\xff", i)
            if j < 0:
                break
            i = j
            continue
        while i + 1 < n and data[i + 1] == 0xFF:  # fill bytes
            i += 1
        if i + 1 >= n:
            break
        m = data[i + 1]
        i += 2
        if m == 0xD9:
            hd.eoi = True
            break
        if m in (0x01, 0xD8) or 0xD0 <= m <= 0xD7:
            continue
        if i + 2 > n:
            hd.truncated = True
            break
        length = _u16(data, i)
        seg = data[i + 2:i + length]
        if i + length > n:
            hd.truncated = True
        if m in (SOF_BASELINE, SOF_EXTENDED, SOF_PROGRESSIVE) and not hd.sof and len(seg) >= 6:
            hd.sof, hd.precision, hd.sof_offset = m, seg[0], i + 2
            hd.height, hd.width = _u16(seg, 1), _u16(seg, 3)
            hd.comps = [(seg[6 + 3 * c], seg[7 + 3 * c] >> 4, seg[7 + 3 * c] & 15, seg[8 + 3 * c])
                        for c in range(min(seg[5], (len(seg) - 6) // 3))]
        elif m == 0xDB:
            _dqt(seg, hd.quant)
        elif m == 0xDD and len(seg) >= 2:
            hd.restart = _u16(seg, 0)
        elif m == 0xE0 and seg[:5] == b"JFIF\x00":
            hd.jfif = True
        elif m == 0xEE and len(seg) >= 12 and seg[:6] == b"Adobe\x00":
            hd.adobe = seg[11]
        elif m == 0xDA:
            ns = seg[0] if seg else 0
            ids = [c[0] for c in hd.comps]
            if len(seg) < 1 + 2 * ns:  # stb: "bad SOS len"; libjpeg: bogus marker length
                raise BadImage(f"corrupt JPEG: an SOS segment of {len(seg)} bytes for {ns} components")
            which = tuple(ids.index(seg[1 + 2 * k]) for k in range(ns) if seg[1 + 2 * k] in ids)
            start = i + length
            end = scan_data_end(data, start)
            ss, se, a = (seg[1 + 2 * ns], seg[2 + 2 * ns], seg[3 + 2 * ns]) if len(seg) >= 4 + 2 * ns else (0, 63, 0)
            quant = tuple(hd.quant.get(hd.comps[c][3], np.zeros((8, 8), np.uint16)) for c in which)
            hd.scans.append(Scan(which, ss, se, a >> 4, a & 15, start, end, quant))
            if end >= n:
                hd.truncated = True
                break
            i = end
            continue
        i += length
    if not hd.sof:
        raise BadImage("corrupt JPEG: no SOF0/SOF1/SOF2 frame header (unsupported JPEG process or cut file)")
    if not hd.comps or hd.width == 0 or hd.height == 0:
        raise BadImage(f"corrupt JPEG: frame {hd.width}x{hd.height} with {len(hd.comps)} components")
    return hd


# --- coefficients through libjpeg ----------------------------------------------------------------------

def libjpeg_dims(width: int, height: int, sampling: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(blocks down, blocks across) of each component as libjpeg sizes them for a frame of ``width`` x
    ``height`` with these (h, v) sampling factors (``initial_setup`` in jdinput.c: ceil(size * factor /
    (max factor * 8))). One component: factor and max factor are its own, so ceil(size / 8)."""
    h_max, v_max = max(h for h, _ in sampling), max(v for _, v in sampling)
    return [(-(-height * v // (8 * v_max)), -(-width * h // (8 * h_max))) for h, v in sampling]


def read_dct_once(data: bytes, dims: list[tuple[int, int]],
                  version: str | None = None) -> tuple[list[np.ndarray], bool, str]:
    """Quantized DCT coefficients per component, (blocks down, blocks across, 8, 8) int16 in natural order,
    from one entropy decode by libjpeg: (planes, whether libjpeg succeeded, what it printed on stderr).

    ``dims``: each component's blocks as libjpeg sizes them (``libjpeg_dims``): its C copy loop fills
    exactly those, unchecked. One call of jpeglib's C ``read_jpeg_dct`` (``jpeglib._bind.CJpegLib``, pinned
    jpeglib 1.0.2) with ``version`` (a bundled libjpeg; None: the one in force): ``jpeglib.read_dct(...)
    .load()`` would decode the file twice (its ``read_jpeg_info`` runs ``jpeg_read_coefficients`` only to
    learn these sizes)."""
    planes = [np.zeros((bh, bw, 8, 8), np.int16) for bh, bw in dims]
    pointers = [p.ctypes.data_as(ctypes.c_void_p) for p in planes] + [None] * (4 - len(planes))
    qt = np.zeros((4, 64), np.uint16)  # read_jpeg_dct writes each component's table here
    qt_no = np.zeros(4, np.uint8)
    with tempfile.NamedTemporaryFile(suffix=".jpg") as tmp, tempfile.TemporaryFile() as err, LIBJPEG_LOCK:
        tmp.write(data)
        tmp.flush()
        saved = os.dup(2)
        try:
            os.dup2(err.fileno(), 2)  # libjpeg prints its warnings and errors on the C stderr
            with jpeglib.version(version) if version else contextlib.nullcontext():
                ok = CJpegLib.get().read_jpeg_dct(tmp.name.encode(), *pointers, qt.ctypes.data_as(ctypes.c_void_p),
                                                  qt_no.ctypes.data_as(ctypes.c_void_p))
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        err.seek(0)
        said = "\n".join(ln for ln in err.read().decode("latin-1").splitlines() if not ln.startswith(tmp.name))
    return planes, bool(ok), said.strip()


def _read_dct_libjpeg(data: bytes, dims: list[tuple[int, int]] | None) -> tuple[list[np.ndarray], tuple[str, ...]]:
    """The coefficients of ``data`` read by LIBJPEG_FOR_COEFFICIENTS, and libjpeg's messages (BadImage
    when it fails). ``dims`` (libjpeg's block sizes, known from a complete header): one entropy decode;
    None (a damaged file, whose frame libjpeg may read otherwise): jpeglib sizes the planes itself first."""
    if dims is not None:
        planes, ok, said = read_dct_once(data, dims, LIBJPEG_FOR_COEFFICIENTS)
        failure = None if ok else "read_jpeg_dct failed"
    else:
        planes, failure, said = _read_dct_sized_by_jpeglib(data)
    messages = tuple(dict.fromkeys(ln.strip() for ln in said.splitlines() if ln.strip()))
    if failure is not None:
        reason = next((m for m in messages if "Caution" not in m), failure)
        raise BadImage(f"libjpeg cannot read the JPEG's coefficients: {reason}")
    return planes, messages


def _read_dct_sized_by_jpeglib(data: bytes) -> tuple[list[np.ndarray], str | None, str]:
    """jpeglib's ``read_dct(...).load()`` (it reads the header, and the coefficients once more to size
    the planes): (planes, the failure or None, what libjpeg printed on stderr)."""
    with tempfile.TemporaryDirectory() as tmp, LIBJPEG_LOCK:
        src = os.path.join(tmp, "in.jpg")
        with open(src, "wb") as f:
            f.write(data)
        with tempfile.TemporaryFile() as err:
            saved = os.dup(2)
            try:
                os.dup2(err.fileno(), 2)  # libjpeg prints its warnings on the C stderr
                try:  # jpeglib also prints the temporary path on stdout when libjpeg fails: keep it quiet
                    with jpeglib.version(LIBJPEG_FOR_COEFFICIENTS), contextlib.redirect_stdout(io.StringIO()):
                        im = jpeglib.read_dct(src)
                        im.load()
                except (OSError, KeyError, ValueError) as e:
                    failure = str(e)
                else:
                    failure = None
            finally:
                os.dup2(saved, 2)
                os.close(saved)
            err.seek(0)
            said = "\n".join(ln for ln in err.read().decode("latin-1").splitlines()
                             if not ln.startswith(("in.jpg", src)))
    if failure is not None:
        return [], failure, said
    planes = [im.Y] + ([im.Cb, im.Cr] if im.has_chrominance else []) + ([im.K] if im.has_black else [])
    return [np.asarray(p, dtype=np.int16) for p in planes], None, said


def _with_padded_frame(data: bytes, hd: _Header, width: int, height: int) -> bytes:
    """The same file with the SOF's height/width replaced (only used when every scan is interleaved)."""
    o = hd.sof_offset
    return data[:o + 1] + height.to_bytes(2, "big") + width.to_bytes(2, "big") + data[o + 5:]


def read_coefficients(data: bytes, decode: bool = True) -> JpegCoefficients:
    """Parse a JPEG and decode its quantized DCT coefficients (see the module docstring).

    ``decode=False`` parses the header only and leaves every coefficient zero (for files libjpeg cannot
    decode but whose frame a caller still needs).
    """
    hd = parse_header(data)
    h_max = max(c[1] for c in hd.comps)
    v_max = max(c[2] for c in hd.comps)
    if min(min(c[1], c[2]) for c in hd.comps) < 1:
        raise BadImage("corrupt JPEG: a sampling factor of 0")
    mcus_x = -(-hd.width // (8 * h_max))
    mcus_y = -(-hd.height // (8 * v_max))
    ncomp = len(hd.comps)
    pw, ph = mcus_x * 8 * h_max, mcus_y * 8 * v_max
    has_padding = ncomp > 1 and (pw, ph) != (hd.width, hd.height)
    any_interleaved = any(len(s.components) > 1 for s in hd.scans)
    all_interleaved = bool(hd.scans) and all(len(s.components) == ncomp for s in hd.scans) \
        and hd.sof != SOF_PROGRESSIVE and not hd.truncated
    read_padded = decode and has_padding and all_interleaved
    if decode:
        sampling = [(c[1], c[2]) for c in hd.comps]
        frame = (pw, ph) if read_padded else (hd.width, hd.height)
        complete = hd.eoi and not hd.truncated and bool(hd.scans)
        planes, warnings = _read_dct_libjpeg(_with_padded_frame(data, hd, pw, ph) if read_padded else data,
                                             libjpeg_dims(*frame, sampling) if complete else None)
    else:
        planes, warnings = [np.zeros((0, 0, 8, 8), np.int16)] * ncomp, ()
    if len(planes) != ncomp:
        raise BadImage(f"libjpeg reads {len(planes)} components where the frame declares {ncomp}")
    comps = []
    for ci, (cid, h, v, tq) in enumerate(hd.comps):
        width = -(-hd.width * h // h_max)
        height = -(-hd.height * v // v_max)
        bw, bh = -(-width // 8), -(-height // 8)
        grid = np.zeros((mcus_y * v, mcus_x * h, 8, 8), np.int16)
        own = planes[ci][:grid.shape[0], :grid.shape[1]]
        grid[:own.shape[0], :own.shape[1]] = own
        grid.setflags(write=False)
        quant = hd.quant.get(tq, np.zeros((8, 8), np.uint16))
        quant.setflags(write=False)
        comps.append(Component(cid, h, v, tq, width, height, bw, bh, grid, quant))
    return JpegCoefficients(
        width=hd.width, height=hd.height, precision=hd.precision, sof=hd.sof, components=tuple(comps),
        h_max=h_max, v_max=v_max, mcus_x=mcus_x, mcus_y=mcus_y, scans=tuple(hd.scans),
        restart_interval=hd.restart, jfif=hd.jfif, adobe_transform=hd.adobe, eoi=hd.eoi,
        truncated=hd.truncated, padding_decoded=read_padded or not (has_padding and any_interleaved),
        warnings=warnings)
