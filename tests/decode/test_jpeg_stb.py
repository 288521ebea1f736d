"""The stb_image port (parity.decode.jpeg.stb) against the real stb_image v2.30.

Oracles in tests/oracles/stb_image/ were recorded from stb_image.h as llama.cpp 0c1e570 vendors it,
built with gcc -O2 on x86-64 (see the README there): ``jpeg_decode.json`` holds, for every file of the
corpus that ``fixtures/make_jpeg_corpus.py`` writes, the file's sha256 and stb's result (sha256 of the
RGB bytes, or the failure string, or "nondeterministic" where stb returns uninitialised memory);
``idct_blocks.npz`` holds stb's SSE2 and scalar IDCT outputs for chosen coefficient blocks;
``png_crc.json`` stb's decodes of PNGs with broken CRCs / Adler-32.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from parity.decode.jpeg.coefficients import read_coefficients
from parity.decode.jpeg.stb import (
    _BIAS_ROWS,
    _PASS,
    _float2fixed,
    _h2,
    _hv2,
    _in_linear_range,
    blinn_8x8,
    component_plane,
    decode_jpeg_stb,
    decode_jpeg_stb_full,
    idct_stb,
    idct_stb_lanes,
    upsample_rows_stb,
    upsample_stb,
    ycbcr_to_rgb_stb,
)
from parity.decode.stb import decode_stb
from parity.errors import BadImage

ROOT = Path(__file__).resolve().parents[2]
ORACLES = ROOT / "tests" / "oracles" / "stb_image"
RECORD = json.loads((ORACLES / "jpeg_decode.json").read_text())["files"]


@pytest.fixture(scope="module")
def corpus(jpeg_corpus) -> Path:
    return jpeg_corpus


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


class TestCorpusAgainstRealStb:
    def test_corpus_is_the_recorded_one(self, corpus):
        names = sorted(p.name for p in corpus.glob("*.jpg"))
        assert names == sorted(RECORD), "corpus file list differs from the recording: regenerate the oracle"
        assert len(names) >= 60

    @pytest.mark.parametrize("name", sorted(RECORD))
    def test_decode_equals_stb(self, corpus, name):
        rec = RECORD[name]
        path = corpus / name
        assert _sha(path.read_bytes()) == rec["file_sha256"], (
            f"{name}: the generator/encoder wrote different bytes than when stb was recorded (encoder "
            "drift, not a decoder bug): re-record tests/oracles/stb_image (README there)")
        if rec["result"] == "refused":
            with pytest.raises(BadImage) as e:
                decode_stb(path)
            assert rec["reason"] in str(e.value)
            return
        decoded, approximate = decode_stb(path)
        assert decoded.rgb.shape == (rec["height"], rec["width"], 3)
        if rec["result"] == "nondeterministic":
            # stb returns uninitialised memory for this file: no port can match; it must say so
            assert approximate is not None and "uninitialised" in approximate
            return
        assert approximate is None
        assert _sha(decoded.rgb.tobytes()) == rec["rgb_sha256"]

    def test_exact_classes_cover_every_sampling(self):
        decoded = [n for n, r in RECORD.items() if r["result"] == "decoded"]
        for key in ("_444_", "_422_", "_420_", "_440_", "_411_", "_prog_", "gray_", "cmyk_", "ycck_", "rgb_"):
            assert any(key in n for n in decoded), key


class TestIdct:
    """stbi__idct_simd, the kernel x86-64 builds select, recorded from the real stb."""

    rec = np.load(ORACLES / "idct_blocks.npz")

    def test_matches_sse2_kernel(self):
        out = idct_stb(self.rec["coefficients"])
        np.testing.assert_array_equal(out, self.rec["sse2"])

    def test_sse2_and_scalar_kernels_differ_on_large_coefficients(self):
        # why the SIMD kernel is the one ported: 16-bit sums and int16 saturation between passes
        differ = (self.rec["sse2"] != self.rec["scalar"]).any(axis=(1, 2))
        peak = np.abs(self.rec["coefficients"].astype(int)).max(axis=(1, 2))
        assert not differ[peak <= 1000].any()  # the recorded ordinary blocks: identical
        assert differ[peak > 4000].any()

    def test_dc_only_block(self):
        block = np.zeros((1, 8, 8), np.int16)
        block[0, 0, 0] = 80  # DC 80 -> 80/8 = +10 on every sample: 138
        assert (idct_stb(block) == 138).all()
        assert idct_stb(np.zeros((0, 8, 8), np.int16)).shape == (0, 8, 8)


class TestIdctLinearPath:
    """idct_stb computes stbi__idct_simd as exact float64 matrix products where nothing wraps or saturates,
    and lane by lane (idct_stb_lanes, the direct model of the SSE2 code) elsewhere: both must agree on
    every block, on either side of the range limits."""

    def test_pass_matrix_facts_the_fast_path_relies_on(self):
        # lane 0 is widened with << 12 into every output, so a bias b is b / 4096 on lane 0
        assert (_PASS[:, 0] == 4096).all()
        # lanes within +-16384 keep every 32-bit sum of either pass (bias included) below 2^31
        assert int(np.abs(_PASS).sum(axis=1).max()) * 16384 + int(_BIAS_ROWS) < 2**31

    @pytest.mark.parametrize("kind", ["typical", "uniform16", "near-limits", "column-outputs-near-limits",
                                      "saturating-dc"])
    def test_equals_lane_model(self, kind):
        rng = np.random.default_rng(zlib.crc32(kind.encode()))
        n = 1500  # more than one tile of blocks, and a partial last tile
        if kind == "typical":
            blocks = np.zeros((n, 8, 8), np.int16)
            blocks[:, 0, 0] = rng.integers(-1024, 1017, n)
            mask = rng.random((n, 8, 8)) < 0.3
            blocks[mask] = rng.integers(-300, 300, mask.sum())
        elif kind == "uniform16":  # 16-bit sums wrap, the column pass saturates
            blocks = rng.integers(-32768, 32768, (n, 8, 8)).astype(np.int16)
        elif kind == "near-limits":  # inputs on both sides of +-16384
            blocks = rng.integers(-16390, 16390, (n, 8, 8)).astype(np.int16)
        elif kind == "column-outputs-near-limits":  # DC rows near +-4096: column outputs near +-16384
            blocks = np.zeros((n, 8, 8), np.int16)
            blocks[:, 0, :] = rng.integers(3000, 4200, (n, 8)) * rng.choice([-1, 1], (n, 1))
            blocks[:, 1:3, :] = rng.integers(-900, 900, (n, 2, 8))
        else:
            blocks = rng.integers(-2000, 2000, (n, 8, 8)).astype(np.int16)
            blocks[:, 0, 0] = rng.choice([-32768, 32767, 20000, -20000], n)
        np.testing.assert_array_equal(idct_stb(blocks), idct_stb_lanes(blocks))

    @pytest.mark.parametrize("table", ["8-bit", "16-bit"])
    def test_component_plane_equals_lane_model(self, table):
        """Dequantization is ``(short)(coef * dequant)``: a 16-bit table makes the product wrap."""
        rng = np.random.default_rng(7)
        bh, bw = 9, 61
        coefs = rng.integers(-2048, 2048, (bh, bw, 8, 8)).astype(np.int16)
        high = 256 if table == "8-bit" else 65536
        quant = rng.integers(1, high, (8, 8)).astype(np.uint16)
        deq = (coefs.astype(np.int64) * quant).astype(np.int16)  # C's int product truncated to short
        blocks = idct_stb_lanes(deq.reshape(-1, 8, 8)).reshape(bh, bw, 8, 8)
        expected = blocks.transpose(0, 2, 1, 3).reshape(bh * 8, bw * 8)[:70, :481]
        np.testing.assert_array_equal(component_plane(coefs, quant, 70, 481), expected)

    def test_linear_path_at_its_bound(self):
        """Coefficients as large as the proof of the linear range allows, signed like a row of the pass so
        the column outputs come within 0.2% of +-16383: still the lane model's samples."""
        rng = np.random.default_rng(5)
        peak = int((16383 * 1024 - 512) // np.abs(_PASS).sum(axis=1).max())  # 548
        coefs = rng.integers(-peak, peak + 1, (3, 150, 8, 8)).astype(np.int16)
        flat = coefs.reshape(-1, 8, 8)
        for n in range(0, len(flat), 3):
            row = np.sign(_PASS[n % 8]).astype(np.int16) * (1 if n % 2 else -1)
            flat[n] = row[:, None] * peak  # every lane of every column follows that row's signs
        quant = np.ones((8, 8), np.uint16)
        assert _in_linear_range(coefs, quant)
        expected = idct_stb_lanes(flat).reshape(3, 150, 8, 8).transpose(0, 2, 1, 3).reshape(24, 1200)
        np.testing.assert_array_equal(component_plane(coefs, quant, 24, 1200), expected)

    def test_linear_range_bound(self):
        coefs = np.zeros((2, 3, 8, 8), np.int16)
        coefs[..., 0, 0] = 127
        assert _in_linear_range(coefs, np.full((8, 8), 8))  # DC 1016: column outputs 4064
        assert _in_linear_range(coefs, np.full((8, 8), 31))  # DC 3937: 15748
        assert not _in_linear_range(coefs, np.full((8, 8), 33))  # DC 4191: 16764 > 16383
        assert not _in_linear_range(coefs, np.full((8, 8), 200))  # 25400 > 16383: could wrap or saturate


class TestUpsamplers:
    """Values worked out by hand from stb_image.h v2.30's formulas."""

    def test_h2_edges(self):
        # out[0] = in[0]; out[1] = (3*in0 + in1 + 2)>>2; last pair: (3*in[w-2] + in[w-1] + 2)>>2, in[w-1]
        a = np.array([[10, 20, 200]], np.int32)
        assert _h2(a).tolist() == [[10, 13, 18, 65, 65, 200]]

    def test_h2_width_one(self):
        assert _h2(np.array([[77]], np.int32)).tolist() == [[77, 77]]

    def test_hv2_edges(self):
        # t = 3*near + far; out[0] = (t0+2)>>2; inner (3*t[i] + t[i-1/i+1] + 8)>>4; out[-1] = (t[-1]+2)>>2
        t = np.array([[40, 80, 800]], np.int32)
        assert _hv2(t).tolist() == [[10, 13, 18, 65, 155, 200]]

    def test_vertical_rows_clamped(self):
        plane = np.array([[0], [100]], np.uint8)  # 2 chroma rows, 1 column, vs=2 -> 4 rows
        out = upsample_stb(plane, 1, 2, 1, 4)
        # row0 (3*0+0+2)>>2, row1 (3*0+100+2)>>2, row2 (3*100+0+2)>>2, row3 far clamped (3*100+100+2)>>2
        assert out[:, 0].tolist() == [0, 25, 75, 100]

    def test_generic_is_nearest(self):
        plane = np.array([[1, 2], [3, 4]], np.uint8)
        out = upsample_stb(plane, 4, 1, 7, 2)
        assert out.tolist() == [[1, 1, 1, 1, 2, 2, 2], [3, 3, 3, 3, 4, 4, 4]]

    @pytest.mark.parametrize("hs, vs", [(1, 1), (1, 2), (2, 1), (2, 2), (3, 2), (4, 4)])
    def test_bands_equal_whole_plane(self, hs, vs):
        # the decoder upsamples band by band: any split of the rows gives the same rows
        plane = np.random.default_rng(hs * 10 + vs).integers(0, 256, (13, 11), dtype=np.uint8)
        width, height = 11 * hs - 1, 13 * vs - 1
        whole = upsample_stb(plane, hs, vs, width, height)
        for start, stop in ((0, 5), (5, 6), (6, height)):
            np.testing.assert_array_equal(upsample_rows_stb(plane, hs, vs, width, start, stop), whole[start:stop])


class TestColour:
    def test_grey_axis(self):
        y = np.array([[0, 128, 255]], np.uint8)
        c = np.full_like(y, 128)
        assert ycbcr_to_rgb_stb(y, c, c)[0].tolist() == [[0, 0, 0], [128, 128, 128], [255, 255, 255]]

    def test_red_extreme(self):
        # r = ((0<<20) + (1<<19) + 127 * (5743<<8)) >> 20 = 178; g and b clamp at 0
        out = ycbcr_to_rgb_stb(np.array([[0]], np.uint8), np.array([[128]], np.uint8), np.array([[255]], np.uint8))
        assert out[0, 0].tolist() == [178, 0, 0]

    def test_every_chroma_pair_matches_the_fixed_point_formula(self):
        # stb's scalar loop written out literally in int64, for all 65536 (cb, cr) and 6 luma values
        y, cb, cr = (a.astype(np.int64) for a in np.meshgrid([0, 1, 77, 128, 254, 255], np.arange(256),
                                                                np.arange(256), indexing="ij"))
        y_fixed = (y << 20) + (1 << 19)
        r = (y_fixed + (cr - 128) * _float2fixed(1.40200)) >> 20
        mask = -0x10000  # 0xffff0000 on a 32-bit int
        g = (y_fixed + (cr - 128) * -_float2fixed(0.71414) + (((cb - 128) * -_float2fixed(0.34414)) & mask)) >> 20
        b = (y_fixed + (cb - 128) * _float2fixed(1.77200)) >> 20
        expected = np.clip(np.stack([r, g, b], axis=-1), 0, 255).astype(np.uint8)
        out = ycbcr_to_rgb_stb(y.astype(np.uint8), cb.astype(np.uint8), cr.astype(np.uint8))
        np.testing.assert_array_equal(out, expected)

    def test_blinn(self):
        assert blinn_8x8(np.array([255, 128, 0]), np.array([255, 255, 77])).tolist() == [255, 128, 0]


class TestStrictness:
    def test_not_a_jpeg_frame(self):
        with pytest.raises(BadImage, match="expected marker"):
            decode_jpeg_stb(b"\xff\xd8\x00\x00")

    def test_progressive_without_eoi_is_labelled(self, corpus):
        out = decode_jpeg_stb_full((corpus / "corrupt_trunc-noeoi_ycc_420_prog_q90_67x45.jpg").read_bytes())
        assert "uninitialised memory" in out.approximate

    def test_cut_baseline_file_is_exact(self, corpus):
        # stb decodes the rest of a cut scan from zero bits; reproduced (the oracle test checks the pixels)
        out = decode_jpeg_stb_full((corpus / "corrupt_trunc-half_ycc_420_base_q90_67x45.jpg").read_bytes())
        assert out.approximate is None

    def test_an_sos_shorter_than_its_selectors_is_refused(self):
        """stb's ``stbi__process_scan_header`` refuses Ls != 6 + 2 * ns ("bad SOS len"): a bad-input error,
        not a crash (a fuzzed file once raised IndexError here)."""
        buf = io.BytesIO()
        Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(buf, "JPEG")
        data = buf.getvalue()
        sos = data.index(b"\xff\xda")
        short = data[:sos] + b"\xff\xda\x00\x04\x03\x01" + data[sos + 2 + struct.unpack(">H", data[sos + 2:sos + 4])[0]:]
        with pytest.raises(BadImage, match="bad SOS len"):
            decode_jpeg_stb(short)

    def test_a_fuzzed_sos_through_the_file_decoder_is_bad_input(self, tmp_path):
        """The same kind of file (ns 3, one selector, then the scan's tables) through ``decode_stb``."""
        buf = io.BytesIO()
        Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(buf, "JPEG")
        data = buf.getvalue()
        sos = data.index(b"\xff\xda")
        path = tmp_path / "short_sos.jpg"
        path.write_bytes(data[:sos] + b"\xff\xda\x00\x04\x03\x01" + data[sos + 14:])
        with pytest.raises(BadImage, match="SOS"):
            decode_stb(path)

    def test_message_names_file(self, tmp_path):
        path = tmp_path / "x.jpg"
        path.write_bytes(b"\xff\xd8\xff\xd9")
        with pytest.raises(BadImage, match=r"unknown marker: .*x\.jpg"):
            decode_stb(path)


class TestCoefficients:
    def test_padding_blocks_read_for_interleaved_scans(self, corpus):
        co = read_coefficients((corpus / "ycc_420_base_q90_33x31.jpg").read_bytes())
        assert co.padding_decoded and not co.progressive and co.mcus_x == 3 and co.mcus_y == 2
        y, cb = co.components[0], co.components[1]
        assert y.blocks.shape == (4, 6, 8, 8) and (y.blocks_high, y.blocks_wide) == (4, 5)
        assert cb.blocks.shape == (2, 3, 8, 8) and (cb.width, cb.height) == (17, 16)
        assert y.blocks[:, 5].any()  # the padding column of blocks is coded data, not zeros
        assert not y.blocks.flags.writeable

    def test_progressive_padding_not_available(self, corpus):
        co = read_coefficients((corpus / "ycc_420_prog_q90_33x31.jpg").read_bytes())
        assert co.progressive and not co.padding_decoded
        assert not co.components[0].blocks[:, 5].any()

    def test_header_facts(self, corpus):
        co = read_coefficients((corpus / "ycck_444_base_q90_37x29.jpg").read_bytes())
        assert co.adobe_transform == 2 and len(co.components) == 4 and not co.jfif
        co = read_coefficients((corpus / "rgb_444_base_q90_33x31.jpg").read_bytes())
        assert [c.id for c in co.components] == [ord("R"), ord("G"), ord("B")]


# --- PNG: stb checks no CRC and no Adler-32 --------------------------------------------------------------

def png_variants() -> dict[str, bytes]:
    """A 17x13 RGB PNG (Pillow, seeded content) and copies with one checksum broken."""
    img = np.random.default_rng(3).integers(0, 256, (13, 17, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "PNG")
    png = buf.getvalue()

    def chunks(b):
        i, out = 8, []
        while i < len(b):
            n = struct.unpack(">I", b[i:i + 4])[0]
            out.append((i, n, b[i + 4:i + 8]))
            i += 12 + n
        return out

    def flip_crc(b, typ):
        i, n, _ = next(c for c in chunks(b) if c[2] == typ)
        j = i + 8 + n
        return b[:j] + bytes([b[j] ^ 0xFF]) + b[j + 1:]

    out = {"ok": png, "bad-idat-crc": flip_crc(png, b"IDAT"), "bad-ihdr-crc": flip_crc(png, b"IHDR"),
           "bad-iend-crc": flip_crc(png, b"IEND")}
    i, n, _ = chunks(png)[0]
    text = b"tEXtk\x00v"
    out["bad-text-crc"] = png[:i + 12 + n] + struct.pack(">I", 3) + text + \
        struct.pack(">I", (zlib.crc32(text) ^ 1) & 0xFFFFFFFF) + png[i + 12 + n:]
    i, n, _ = next(c for c in chunks(png) if c[2] == b"IDAT")
    body = bytearray(png[i + 8:i + 8 + n])
    body[-1] ^= 0xFF  # the Adler-32's last byte; the chunk CRC made right again
    out["bad-adler32"] = png[:i + 8] + bytes(body) + struct.pack(">I", zlib.crc32(b"IDAT" + body)) + png[i + 12 + n:]
    return out


class TestPngChecksums:
    rec = json.loads((ORACLES / "png_crc.json").read_text())["files"]

    @pytest.mark.parametrize("name", ["ok", "bad-idat-crc", "bad-ihdr-crc", "bad-iend-crc", "bad-text-crc",
                                      "bad-adler32"])
    def test_decodes_like_stb(self, name, tmp_path):
        data = png_variants()[name]
        assert _sha(data) == self.rec[name]["file_sha256"], "Pillow/zlib wrote other bytes than when recorded"
        path = tmp_path / f"{name}.png"
        path.write_bytes(data)
        decoded, approximate = decode_stb(path)
        assert approximate is None
        assert _sha(decoded.rgb.tobytes()) == self.rec[name]["rgb_sha256"]
