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
    UNZIG,
    decode_jpeg_go,
    idct_go125,
    idct_go126,
    reconstruct_plane,
    ycbcr_rgba64,
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
