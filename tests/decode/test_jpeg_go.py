"""Go's image/jpeg port (parity.decode.go_jpeg), both generations, against the real Go decoders.

Oracles in tests/oracles/go-jpeg/ were recorded from the real ``image.Decode`` of Go 1.25.5 and Go
1.26.0 (see the README there): ``corpus.json`` holds, for every file ``fixtures/make_jpeg_corpus.py``
writes, the file's sha256 and per generation the Go type, subsample ratio, size and the sha256 of
``At().RGBA()`` (uint16 LE, H x W x 4) and of its high bytes (RGB), or Go's error text.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from parity.decode.go import decode_go
from parity.decode.go_jpeg import (
    GO_JPEG_PROFILES,
    IDCT_CHUNK,
    RATIOS,
    UNZIG,
    decode_jpeg_go,
    idct_go125,
    idct_go126,
    reconstruct_plane,
    ycbcr_rgba,
    ycbcr_rgba64,
    ycbcr_rgba_subsampled,
)
from parity.errors import BadImage, ParityError

ROOT = Path(__file__).resolve().parents[2]
ORACLES = ROOT / "tests" / "oracles" / "go-jpeg"
RECORD = json.loads((ORACLES / "corpus.json").read_text())
PROFILES = ("go1.25", "go1.26")


@pytest.fixture(scope="module")
def corpus(jpeg_corpus) -> Path:
    return jpeg_corpus


def _sha(a) -> str:
    return hashlib.sha256(a if isinstance(a, bytes) else np.ascontiguousarray(a).tobytes()).hexdigest()


def _go_result(path: Path, profile: str) -> dict:
    """What the oracle recorded, computed by the port: type, ratio, size, hashes, or the error text."""
    try:
        img = decode_go(str(path), jpeg=profile)
    except ParityError as e:
        return {"err": str(e).split(": ", 1)[1] if str(e).startswith(str(path)) else str(e)}
    out = {"type": img.go_type, "hw": list(img.size), "rgba64_sha256": _sha(img.rgba64.astype("<u2")),
           "rgb8_sha256": _sha((img.rgba64[..., :3] >> 8).astype(np.uint8))}
    if img.ratio:
        out["ratio"] = img.ratio.replace(":", "")
    return out


def test_profiles_are_named_and_go126_is_ollamas():
    assert set(GO_JPEG_PROFILES) == {"go1.25", "go1.26"}
    assert "ollama f63eea3" in GO_JPEG_PROFILES["go1.26"]


@pytest.mark.parametrize("profile", PROFILES)
def test_corpus_matches_real_go(corpus, profile):
    """Every corpus file, decoded by the port, equals Go's decode (or Go's error), per class."""
    files = sorted(p.name for p in corpus.glob("*.jpg"))
    assert files == sorted(RECORD["files"]), "corpus file list differs from the recorded one"
    results, failures = Counter(), []
    for name in files:
        rec = RECORD["files"][name]
        data = (corpus / name).read_bytes()
        assert _sha(data) == rec["input_sha256"], f"{name}: the corpus encoder output changed (not a decoder bug)"
        got, want = _go_result(corpus / name, profile), rec[profile]
        cls = "corrupt" if name.startswith("corrupt") else "_".join(name.split("_")[:2])
        results[cls, got == want] += 1
        if got != want:
            failures.append(f"{name}: port {got} != Go {want}")
    assert not failures, f"{len(failures)} of {len(files)} differ from Go {profile}:\n" + "\n".join(failures[:20])
    assert sum(n for (_, ok), n in results.items() if ok) == len(files)


def test_generations_differ_where_the_idct_changed():
    """The recorded Go outputs themselves: 1.25 and 1.26 disagree on most lossy files (not on errors)."""
    files = RECORD["files"].values()
    decoded = [f for f in files if "err" not in f["go1.25"]]
    differ = [f for f in decoded if f["go1.25"]["rgb8_sha256"] != f["go1.26"]["rgb8_sha256"]]
    assert len(decoded) >= 90 and len(differ) >= len(decoded) // 2
    assert all(f["go1.25"].get("err") == f["go1.26"].get("err") for f in files)


# ----------------------------------------------------------------------------------------------------
# Scalar references: Go's two IDCTs written statement by statement on Python ints, every assignment
# wrapped to int32 as Go's arithmetic wraps (a value is wrapped before each >>). Go 1.25.5
# src/image/jpeg/idct.go and Go 1.26.0 src/image/jpeg/dct.go; slow, for a few blocks.


def _i32(v: int) -> int:
    return (v + (1 << 31)) % (1 << 32) - (1 << 31)


def _ref_idct_go125(block: list[int]) -> list[int]:
    w1, w2, w3, w5, w6, w7, r2 = 2841, 2676, 2408, 1609, 1108, 565, 181
    b = [_i32(v) for v in block]
    for y in range(8):
        s = b[8 * y:8 * y + 8]
        if not any(s[1:]):  # Go's shortcut for a row without AC terms
            b[8 * y:8 * y + 8] = [_i32(s[0] << 3)] * 8
            continue
        x0, x1 = _i32(_i32(s[0] << 11) + 128), _i32(s[4] << 11)
        x2, x3, x4, x5, x6, x7 = s[6], s[2], s[1], s[7], s[5], s[3]
        x8 = _i32(w7 * (x4 + x5))
        x4, x5 = _i32(x8 + (w1 - w7) * x4), _i32(x8 - (w1 + w7) * x5)
        x8 = _i32(w3 * (x6 + x7))
        x6, x7 = _i32(x8 - (w3 - w5) * x6), _i32(x8 - (w3 + w5) * x7)
        x8, x0 = _i32(x0 + x1), _i32(x0 - x1)
        x1 = _i32(w6 * (x3 + x2))
        x2, x3 = _i32(x1 - (w2 + w6) * x2), _i32(x1 + (w2 - w6) * x3)
        x1, x4, x6, x5 = _i32(x4 + x6), _i32(x4 - x6), _i32(x5 + x7), _i32(x5 - x7)
        x7, x8, x3, x0 = _i32(x8 + x3), _i32(x8 - x3), _i32(x0 + x2), _i32(x0 - x2)
        x2, x4 = _i32(r2 * (x4 + x5) + 128) >> 8, _i32(r2 * (x4 - x5) + 128) >> 8
        out = [x7 + x1, x3 + x2, x0 + x4, x8 + x6, x8 - x6, x0 - x4, x3 - x2, x7 - x1]
        b[8 * y:8 * y + 8] = [_i32(v) >> 8 for v in out]
    for x in range(8):
        s = b[x::8]
        y0, y1 = _i32(_i32(s[0] << 8) + 8192), _i32(s[4] << 8)
        y2, y3, y4, y5, y6, y7 = s[6], s[2], s[1], s[7], s[5], s[3]
        y8 = _i32(w7 * (y4 + y5) + 4)
        y4, y5 = _i32(y8 + (w1 - w7) * y4) >> 3, _i32(y8 - (w1 + w7) * y5) >> 3
        y8 = _i32(w3 * (y6 + y7) + 4)
        y6, y7 = _i32(y8 - (w3 - w5) * y6) >> 3, _i32(y8 - (w3 + w5) * y7) >> 3
        y8, y0 = _i32(y0 + y1), _i32(y0 - y1)
        y1 = _i32(w6 * (y3 + y2) + 4)
        y2, y3 = _i32(y1 - (w2 + w6) * y2) >> 3, _i32(y1 + (w2 - w6) * y3) >> 3
        y1, y4, y6, y5 = _i32(y4 + y6), _i32(y4 - y6), _i32(y5 + y7), _i32(y5 - y7)
        y7, y8, y3, y0 = _i32(y8 + y3), _i32(y8 - y3), _i32(y0 + y2), _i32(y0 - y2)
        y2, y4 = _i32(r2 * (y4 + y5) + 128) >> 8, _i32(r2 * (y4 - y5) + 128) >> 8
        out = [y7 + y1, y3 + y2, y0 + y4, y8 + y6, y8 - y6, y0 - y4, y3 - y2, y7 - y1]
        b[x::8] = [_i32(v) >> 14 for v in out]
    return b


def _c60(x: int, bits: int) -> int:  # dct.go's c(x, bits): the 60-bit constant rounded, as int32
    return _i32((x + (1 << (59 - bits))) >> (60 - bits))


_COS1, _SIN1, _COS3, _SIN3 = 1130768441178740757, 224923827593068887, 958619196450722178, 640528868967736374
_SQ2INV, _SQ2INV_COS6, _SQ2INV_SIN6 = 815238614083298888, 311978311033955632, 753182269664427492


def _box(x0: int, x1: int, kcos: int, ksin: int) -> tuple[int, int]:
    ksum = _i32(kcos * (x0 + x1))
    return _i32(ksum + (ksin - kcos) * x1), _i32(ksum - (kcos + ksin) * x0)


def _ref_idct_go126(block: list[int]) -> list[int]:
    b = [_i32(v) for v in block]
    for y in range(8):  # idctRows
        x0, x7, x2, x5, x1, x6, x3, x4 = b[8 * y:8 * y + 8]
        x0, x1 = _i32(x0 << 17), _i32(x1 << 17)
        x0, x1 = _i32(x0 + x1), _i32(x0 - x1)
        x2, x3 = _box(x2, x3, _c60(_SQ2INV_COS6, 18), -_c60(_SQ2INV_SIN6, 18))
        x1, x2, x0, x3 = _i32(x1 + x2), _i32(x1 - x2), _i32(x0 + x3), _i32(x0 - x3)
        x4, x7 = _i32(x4 << 7), _i32(x7 << 7)
        x7, x4 = _i32(x7 + x4), _i32(x7 - x4)
        x6, x5 = _i32(x6 * _c60(_SQ2INV, 8)), _i32(x5 * _c60(_SQ2INV, 8))
        x7, x5, x4, x6 = _i32(x7 + x5), _i32(x7 - x5), _i32(x4 + x6), _i32(x4 - x6)
        x4, x7 = _box(x4 >> 2, x7 >> 2, _c60(_COS3, 12), -_c60(_SIN3, 12))
        x5, x6 = _box(x5 >> 2, x6 >> 2, _c60(_COS1, 12), -_c60(_SIN1, 12))
        b[8 * y:8 * y + 8] = [_i32(v) for v in (x0 + x7, x1 + x6, x2 + x5, x3 + x4, x3 - x4, x2 - x5, x1 - x6,
                                                   x0 - x7)]
    for x in range(8):  # idctCols
        x0, x7, x2, x5, x1, x6, x3, x4 = b[x::8]
        x0 = _i32(x0 + (1 << 19))
        x0, x1 = _i32(x0 + x1) >> 2, _i32(x0 - x1) >> 2
        x2, x3 = _box(x2 >> 13, x3 >> 13, _c60(_SQ2INV_COS6, 12), -_c60(_SQ2INV_SIN6, 12))
        x1, x2, x0, x3 = _i32(x1 + x2), _i32(x1 - x2), _i32(x0 + x3), _i32(x0 - x3)
        x7, x4 = _i32(x7 + x4), _i32(x7 - x4)
        x5, x6 = _i32((x5 >> 13) * _c60(_SQ2INV, 14)), _i32((x6 >> 13) * _c60(_SQ2INV, 14))
        x7, x5, x4, x6 = _i32(x7 + x5), _i32(x7 - x5), _i32(x4 + x6), _i32(x4 - x6)
        x4, x7 = _box(x4 >> 14, x7 >> 14, _c60(_COS3, 12), -_c60(_SIN3, 12))
        x5, x6 = _box(x5 >> 14, x6 >> 14, _c60(_COS1, 12), -_c60(_SIN1, 12))
        out = (x0 + x7, x1 + x6, x2 + x5, x3 + x4, x3 - x4, x2 - x5, x1 - x6, x0 - x7)
        b[x::8] = [_i32(v) >> 18 for v in out]
    return b


def _awkward_batches(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Batches of dequantized int32 blocks where a vectorized regrouping could drift from Go, each
    transformed alone (the port picks its path per batch): ordinary values, the whole int32 range (every
    pass wraps), and rows without AC terms whose DC sits at the bound where idct.go's shortcut
    ``s[0] << 3`` starts to differ from its full row pass ((s[0] << 11) + 128 wraps from s[0] = 2**20
    up and below -2**20)."""
    i32 = np.iinfo(np.int32)

    def flat_rows(dcs: list[int]) -> np.ndarray:
        b = np.zeros((8, 8, 8), np.int64)
        b[:, :, 0] = rng.choice(dcs, (8, 8))
        b[::2, 1::3, 1:4] = rng.integers(-9, 9, (4, 3, 3))  # some rows with AC terms beside flat ones
        return b

    batches = {
        "ordinary": rng.integers(-2048, 2048, (12, 8, 8)) * rng.integers(1, 60, (12, 8, 8)),
        "wrapping": rng.integers(i32.min, i32.max, (12, 8, 8), endpoint=True),
        "extremes": rng.choice([i32.min, i32.max, -1, 0, 1, 1 << 30], (6, 8, 8)),
        "flat at 2**20": flat_rows([1 << 20, (1 << 20) - 1, 0, -5]),
        "flat at -2**20 - 1": flat_rows([-(1 << 20) - 1, -(1 << 20), 0, 7]),
        "flat within the bound": flat_rows([-(1 << 20), (1 << 20) - 1, 3]),
        "flat at 2**27": flat_rows([1 << 27, -(1 << 27), 1]),
    }
    return {name: b.astype(np.int64).astype(np.int32) for name, b in batches.items()}

class TestIdct:
    def test_dc_only_block_is_flat(self):
        # A DC-only block: every sample is DC/8 rounded; both generations agree there.
        blocks = np.zeros((3, 8, 8), np.int32)
        blocks[:, 0, 0] = [-1024, 0, 8 * 100]
        for idct in (idct_go125, idct_go126):
            out = idct(blocks)
            assert out.shape == (3, 8, 8) and out.dtype == np.int32
            assert (out[0] == -128).all() and (out[1] == 0).all() and (out[2] == 100).all()

    def test_input_not_modified_and_generations_differ(self):
        rng = np.random.default_rng(1)
        blocks = rng.integers(-300, 300, (500, 8, 8)).astype(np.int32)
        before = blocks.copy()
        a, b = idct_go125(blocks), idct_go126(blocks)
        assert (blocks == before).all()
        assert np.abs(a - b).max() <= 2 and (a != b).any()

    def test_batched_equals_one_by_one(self):
        rng = np.random.default_rng(2)
        blocks = rng.integers(-200, 200, (7, 8, 8)).astype(np.int32)
        for idct in (idct_go125, idct_go126):
            whole = idct(blocks)
            assert all((idct(blocks[i:i + 1])[0] == whole[i]).all() for i in range(7))

    def test_int32_wraps_like_go(self):
        # A 16-bit quantization table lets dequantized values reach 2^31: Go's int32 products wrap.
        q = np.full(64, 65535, np.int32)
        coefs = np.zeros((1, 1, 8, 8), np.int16)
        coefs[0, 0, 0, 0] = 2047
        coefs[0, 0, 0, 1] = -2047
        for profile in PROFILES:
            plane = reconstruct_plane(coefs, q, profile)
            assert plane.shape == (8, 8) and plane.dtype == np.uint8

    @pytest.mark.parametrize(("idct", "reference"), [(idct_go125, _ref_idct_go125), (idct_go126, _ref_idct_go126)])
    def test_matches_a_scalar_port_of_go_with_int32_wraps(self, idct, reference):
        differ = {}
        for name, blocks in _awkward_batches(np.random.default_rng(3)).items():
            got = idct(blocks)
            want = np.array([reference(b.ravel().tolist()) for b in blocks], np.int64).reshape(-1, 8, 8)
            assert got.dtype == np.int32
            if (got != want).any():
                differ[name] = int((got != want).any(axis=(1, 2)).sum())
        assert not differ, f"blocks differing from the scalar port, per batch: {differ}"

    @pytest.mark.parametrize("profile", PROFILES)
    def test_plane_in_chunks_equals_blocks_one_by_one(self, profile):
        # More blocks than one IDCT chunk (ragged last chunk): dequantize (wrapping), IDCT, shift and clamp,
        # and place every block at its (row, column) of the plane.
        rng = np.random.default_rng(4)
        bh, bw = 3, IDCT_CHUNK // 3 + 7
        coefs = rng.integers(-1024, 1024, (bh, bw, 8, 8)).astype(np.int16)
        coefs[0, 0, 0, 0], coefs[0, 1, 0, 1] = 32767, -32768
        q = rng.integers(1, 65536, 64).astype(np.int32)
        natural = np.zeros(64, np.int64)
        natural[UNZIG] = q
        deq = (coefs.reshape(-1, 64).astype(np.int64) * natural).astype(np.int32).reshape(-1, 8, 8)
        idct = idct_go125 if profile == "go1.25" else idct_go126
        samples = np.clip(idct(deq).astype(np.int64) + 128, 0, 255).astype(np.uint8).reshape(bh, bw, 8, 8)
        want = samples.transpose(0, 2, 1, 3).reshape(bh * 8, bw * 8)
        got = reconstruct_plane(coefs, q, profile)
        assert got.dtype == np.uint8 and got.shape == want.shape and (got == want).all()

    def test_zigzag_table(self):
        assert sorted(UNZIG.tolist()) == list(range(64)) and UNZIG[2] == 8 and UNZIG[63] == 63


class TestColour:
    def test_ycbcr_rgba64_matches_go_formula(self):
        # color.YCbCr.RGBA for a few hand-computed values (Go: (Y*0x10101 + 91881*(Cr-128)) >> 8, clamped)
        y, cb, cr = (np.array([[v]], np.uint8) for v in (200, 30, 240))
        r, g, b, a = ycbcr_rgba64(y, cb, cr)[0, 0].tolist()
        yy = 200 * 0x10101
        assert r == min((yy + 91881 * 112) >> 8, 0xFFFF)
        assert g == max(min((yy - 22554 * -98 - 46802 * 112) >> 8, 0xFFFF), 0)
        assert b == max((yy + 116130 * -98) >> 8, 0) and a == 0xFFFF

    def test_high_bytes_are_ycbcr_to_rgb(self):
        # color.YCbCrToRGB (8-bit) == color.YCbCr.RGBA() >> 8 for every input (the decode stage relies on it)
        v = np.arange(256, dtype=np.uint8)
        y, cb, cr = np.meshgrid(v, v[::5], v[::3], indexing="ij")
        y, cb, cr = y.reshape(256, -1), cb.reshape(256, -1), cr.reshape(256, -1)
        got = (ycbcr_rgba64(y, cb, cr)[..., :3] >> 8).astype(np.int64)
        yy = y.astype(np.int64) * 0x10101
        c1, c2 = cb.astype(np.int64) - 128, cr.astype(np.int64) - 128
        want = np.stack([yy + 91881 * c2, yy - 22554 * c1 - 46802 * c2, yy + 116130 * c1], -1)
        want = np.where(want < 0, 0, np.where(want > 0xFFFFFF, 255, want >> 16))
        assert (got == want).all()


    @pytest.mark.parametrize("ratio", sorted(RATIOS))
    def test_subsampled_reads_chroma_at_x_over_h_step(self, ratio):
        # Block-aligned planes larger than the image; each pixel reads Cb, Cr at (x / h, y / v):
        # the same as the full-size conversion of chroma upsampled by repetition.
        name, hs, vs = RATIOS[ratio]
        rng = np.random.default_rng(ratio)
        for h, w in ((37, 29), (1, 1), (16, 33), (130, 71)):
            by, bx = -(-h // (8 * vs)) * 8 * vs, -(-w // (8 * hs)) * 8 * hs
            y = rng.integers(0, 256, (by, bx), dtype=np.uint8)
            cb, cr = (rng.integers(0, 256, (by // vs, bx // hs), dtype=np.uint8) for _ in range(2))
            full = [np.repeat(np.repeat(p, vs, axis=0), hs, axis=1)[:h, :w] for p in (cb, cr)]
            want64, want8 = ycbcr_rgba(np.ascontiguousarray(y[:h, :w]), *full)
            got64, got8 = ycbcr_rgba_subsampled(y, cb, cr, hs, vs, h, w)
            assert got64.shape == (h, w, 4) and (got64 == want64).all() and (got8 == want8).all(), (name, h, w)

    def test_subsampled_refuses_planes_too_small(self):
        y = np.zeros((8, 8), np.uint8)
        with pytest.raises(ParityError, match=r"YCbCr planes \(8, 8\), \(4, 4\), \(4, 4\) too small for a 9x8"):
            ycbcr_rgba_subsampled(y, y[:4, :4], y[:4, :4], 2, 2, 8, 9)

class TestGoImage:
    def test_ycbcr_keeps_planes_and_ratio(self):
        img = decode_go(str(ROOT / "fixtures" / "images" / "jpeg_420_501x377.jpg"))
        assert img.go_type == "*image.YCbCr" and img.ratio == "4:2:0" and img.alpha_one
        assert img.planes["Y"].shape == (377, 501) and img.planes["Cb"].shape == (189, 251)
        assert img.pixels.dtype == np.uint16 and img.approximate is None

    def test_cmyk_is_read_through_rgba(self):
        img = decode_go(str(ROOT / "fixtures" / "images" / "mode_cmyk_300x200.jpg"))
        assert img.go_type == "*image.CMYK" and not img.alpha_one and img.opaque

    def test_profile_picks_the_idct(self):
        path = str(ROOT / "fixtures" / "images" / "photo_640x427.jpg")
        a, b = decode_go(path, jpeg="go1.25"), decode_go(path, jpeg="go1.26")
        assert a.size == b.size and (a.pixels != b.pixels).any()
        with pytest.raises(ParityError, match="unknown Go JPEG profile 'go1.24'; valid: go1.25, go1.26"):
            decode_jpeg_go((ROOT / "fixtures" / "images" / "photo_640x427.jpg").read_bytes(), "go1.24")

    def test_error_is_one_line_with_the_path(self, tmp_path):
        path = tmp_path / "cut.jpg"
        path.write_bytes((ROOT / "fixtures" / "images" / "photo_640x427.jpg").read_bytes()[:5000])
        with pytest.raises(BadImage) as e:
            decode_go(str(path))
        assert str(e.value) == f"{path}: invalid JPEG format: short Huffman data"
