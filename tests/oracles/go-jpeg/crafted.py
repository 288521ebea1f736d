"""Crafted malformed (and oddly formed but valid) JPEG and PNG files for Go's decoder strictness.

``crafted_files()`` -> {name: bytes}, deterministic: every file is a byte-level edit of a small image
encoded by Pillow from seeded pixels (or a PNG assembled here chunk by chunk). Shared by the test
(tests/decode/test_go_strictness.py) and by whoever records ``strictness.json`` from the real Go.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image


def _pixels(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1), (x + y) % 256], -1)
    return np.clip(img + rng.integers(-40, 40, (h, w, 3)), 0, 255).astype(np.uint8)


def _jpeg(**kw) -> bytes:
    buf = io.BytesIO()
    mode = kw.pop("mode", "RGB")
    img = Image.fromarray(_pixels(45, 67))
    if mode != "RGB":
        img = img.convert(mode)
    img.save(buf, "JPEG", quality=90, **kw)
    return buf.getvalue()


def _segments(data: bytes) -> list[tuple[int, int, int]]:
    """(marker, offset of its 0xff, offset past the segment) up to the first SOS (whose end is the end
    of its header)."""
    out, pos = [], 2
    while pos + 4 <= len(data):
        marker = data[pos + 1]
        length = data[pos + 2] << 8 | data[pos + 3]
        out.append((marker, pos, pos + 2 + length))
        if marker == 0xDA:
            break
        pos += 2 + length
    return out


def _seg(data: bytes, marker: int, nth: int = 0) -> tuple[int, int]:
    found = [(a, b) for m, a, b in _segments(data) if m == marker]
    return found[nth]


def _scan_data_mid(data: bytes) -> int:
    """An offset in the middle of the first scan's entropy-coded data, not inside a 0xff 0x00 pair."""
    _, end = _seg(data, 0xDA)
    mid = (end + len(data)) // 2
    while data[mid - 1] == 0xFF:
        mid += 1
    return mid


def _replace(data: bytes, at: int, new: bytes, old_len: int = None) -> bytes:
    return data[:at] + new + data[at + (len(new) if old_len is None else old_len):]


def jpeg_cases() -> dict[str, bytes]:
    base = _jpeg(subsampling=2)
    prog = _jpeg(subsampling=2, progressive=True)
    rst = _jpeg(subsampling=2, restart_marker_blocks=1)
    cmyk = _jpeg(mode="CMYK")
    sof_at, sof_end = _seg(base, 0xC0)
    sos_at, sos_end = _seg(base, 0xDA)
    dqt_at, dqt_end = _seg(base, 0xDB)
    mid = _scan_data_mid(base)
    rsts = [i for i in range(sos_end, len(rst) - 1) if rst[i] == 0xFF and 0xD0 <= rst[i + 1] <= 0xD7]
    cases = {
        "jpeg_ok_base": base,
        "jpeg_ok_prog": prog,
        "jpeg_ok_rst": rst,
        "jpeg_trunc_in_header": base[:sof_end - 3],
        "jpeg_trunc_mid_scan": base[:mid],
        "jpeg_trunc_mid_prog_scan": prog[:_scan_data_mid(prog)],
        "jpeg_trunc_no_eoi": base[:-2],
        "jpeg_trunc_half_eoi": base[:-1],
        "jpeg_eoi_mid_scan": base[:mid] + b"\xff\xd9",
        "jpeg_eoi_mid_prog_scan": prog[:_scan_data_mid(prog)] + b"\xff\xd9",
        "jpeg_rst_wrong_number": _replace(rst, rsts[1] + 1, b"\xd5"),
        "jpeg_rst_missing": rst[:rsts[2]] + rst[rsts[2] + 2:],
        "jpeg_rst_short_interval": rst[:rsts[3] - 2] + rst[rsts[3]:],
        "jpeg_precision_12": _replace(base, sof_at + 4, b"\x0c"),
        "jpeg_sof3_lossless": _replace(base, sof_at + 1, b"\xc3"),
        "jpeg_marker_below_c0": base[:sof_at] + b"\xff\x02\x00\x04ab" + base[sof_at:],
        "jpeg_no_sof": base[:sof_at] + base[sof_end:],
        "jpeg_two_sof": base[:sos_at] + base[sof_at:sof_end] + base[sos_at:],
        "jpeg_no_sos": base[:sos_at] + b"\xff\xd9",
        "jpeg_no_dht": b"".join(base[a:b] for m, a, b in [(0xD8, 0, 2)] + _segments(base) if m != 0xC4)
        + base[sos_end:],
        "jpeg_short_segment_length": _replace(base, dqt_at + 2, b"\x00\x01"),
        "jpeg_dqt_bad_pq": _replace(base, dqt_at + 4, bytes([0x20 | (base[dqt_at + 4] & 0x0F)])),
        "jpeg_dqt_bad_tq": _replace(base, dqt_at + 4, b"\x05"),
        "jpeg_dht_bad_tc": _replace(base, _seg(base, 0xC4)[0] + 4, b"\x21"),
        "jpeg_sos_unknown_selector": _replace(base, sos_at + 5, b"\x09"),
        "jpeg_dri_wrong_length": base[:sos_at] + b"\xff\xdd\x00\x05\x00\x01\x00" + base[sos_at:],
        "jpeg_cmyk_no_adobe": b"".join(cmyk[a:b] for m, a, b in [(0xD8, 0, 2)] + _segments(cmyk) if m != 0xEE)
        + cmyk[_seg(cmyk, 0xDA)[1]:],
        "jpeg_ok_extraneous_bytes": base[:sof_at] + b"\x00\x12\x34" + base[sof_at:],
        "jpeg_ok_fill_bytes": base[:sof_at] + b"\xff\xff\xff" + base[sof_at:],
        "jpeg_ok_stray_rst": base[:sof_at] + b"\xff\xd3" + base[sof_at:],
        "jpeg_ok_trailing_garbage": base + b"garbage after EOI",
        # Go multiplies progressive coefficients by the table defined last (after all scans here)
        "jpeg_ok_dqt_after_prog_scans": prog[:-2] + prog[_seg(prog, 0xDB)[0]:_seg(prog, 0xDB)[1]].replace(
            prog[_seg(prog, 0xDB)[0] + 5:_seg(prog, 0xDB)[0] + 9], b"\x01\x02\x03\x04") + b"\xff\xd9",
    }
    return cases


def _chunk(kind: bytes, body: bytes, crc: int | None = None) -> bytes:
    c = zlib.crc32(kind + body) if crc is None else crc
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", c & 0xFFFFFFFF)


PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _png(w: int = 7, h: int = 5, depth: int = 8, ctype: int = 2, rows: bytes | None = None,
         idat: bytes | None = None, extra: list[bytes] = (), before_idat: list[bytes] = (),
         ihdr_crc: int | None = None, idat_crc: int | None = None, iend: bytes | None = None) -> bytes:
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype]
    if rows is None:
        px = _pixels(h, w)[..., :channels].reshape(h, -1) if ctype != 3 else (np.arange(h * w) % 4).reshape(h, w)
        rows = b"".join(b"\x00" + bytes(r.astype(np.uint8)) for r in px)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, 0)
    body = idat if idat is not None else zlib.compress(rows)
    return (PNG_MAGIC + _chunk(b"IHDR", ihdr, ihdr_crc) + b"".join(before_idat) + _chunk(b"IDAT", body, idat_crc)
            + b"".join(extra) + (iend if iend is not None else _chunk(b"IEND", b"")))


def png_cases() -> dict[str, bytes]:
    w, h = 7, 5
    raw = b"".join(b"\x00" + bytes(r) for r in _pixels(h, w).reshape(h, -1))
    ok = _png()
    comp = zlib.compress(raw)
    plte = _chunk(b"PLTE", bytes(range(6)))  # two entries
    cases = {
        "png_ok": ok,
        "png_idat_crc": _png(idat_crc=0x12345678),
        "png_ihdr_crc": _png(ihdr_crc=1),
        "png_iend_crc": _png(iend=_chunk(b"IEND", b"", 7)),
        "png_text_crc": _png(before_idat=[_chunk(b"tEXt", b"k\x00v", 5)]),
        "png_ok_text": _png(before_idat=[_chunk(b"tEXt", b"k\x00v")]),
        "png_trunc_mid_idat": ok[:len(PNG_MAGIC) + 25 + 8 + len(comp) // 2],
        "png_trunc_before_iend": ok[:-12],
        "png_trunc_in_iend_crc": ok[:-2],
        "png_plte_after_idat": _png(extra=[_chunk(b"PLTE", bytes(range(6)))]),
        "png_idat_before_ihdr": PNG_MAGIC + _chunk(b"IDAT", comp) + ok[len(PNG_MAGIC):],
        "png_bad_filter": _png(rows=b"\x05" + raw[1:]),
        "png_too_much_pixel_data": _png(rows=raw + b"\x00" + bytes(3 * w)),
        "png_not_enough_pixel_data": _png(rows=raw[:len(raw) // 2]),
        "png_zlib_checksum": _png(idat=comp[:-1] + bytes([comp[-1] ^ 1])),
        "png_zlib_header": _png(idat=b"\x78\x00" + comp[2:]),
        "png_depth_3": _png(depth=3),
        "png_iend_length": _png(iend=_chunk(b"IEND", b"x")),
        "png_ok_extra_idat": _png(extra=[_chunk(b"IDAT", b"")]),
        "png_ok_split_idat": PNG_MAGIC + ok[len(PNG_MAGIC):len(PNG_MAGIC) + 25]
        + _chunk(b"IDAT", comp[:10]) + _chunk(b"IDAT", comp[10:]) + _chunk(b"IEND", b""),
        "png_split_idat_second_crc": PNG_MAGIC + ok[len(PNG_MAGIC):len(PNG_MAGIC) + 25]
        + _chunk(b"IDAT", comp[:10]) + _chunk(b"IDAT", comp[10:], 3) + _chunk(b"IEND", b""),
        # palette indices 0..3 with a 2-entry PLTE: Go reads entries past it as opaque black
        "png_ok_palette_index_past_plte": _png(ctype=3, before_idat=[plte]),
        "png_ok_trns_longer_than_plte": _png(ctype=3, before_idat=[plte, _chunk(b"tRNS", b"\x80\x40\x20")]),
        "png_palette_without_plte": _png(ctype=3),
        "png_trns_on_rgba": _png(ctype=6, before_idat=[_chunk(b"tRNS", b"\x00" * 6)]),
    }
    return cases


def crafted_files() -> dict[str, bytes]:
    return {**jpeg_cases(), **png_cases()}


if __name__ == "__main__":  # write them into a folder: python crafted.py OUTDIR
    import sys
    from pathlib import Path

    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for name, data in crafted_files().items():
        (out / (name + (".png" if name.startswith("png") else ".jpg"))).write_bytes(data)
