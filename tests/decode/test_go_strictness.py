"""Go's decoders refuse what they refuse: parity.decode.go against the real image/jpeg and image/png.

``tests/oracles/go-jpeg/crafted.py`` writes malformed (and oddly formed but valid) JPEG and PNG files;
``strictness.json`` holds what the real ``image.Decode`` of Go 1.25.5 and Go 1.26.0 did with each: its
error text, or the decoded type and the sha256 of ``At().RGBA()`` (see the README there).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from parity.decode.go import decode_go
from parity.errors import BadImage, ParityError

ORACLES = Path(__file__).resolve().parents[1] / "oracles" / "go-jpeg"
RECORD = json.loads((ORACLES / "strictness.json").read_text())["cases"]


def _crafted() -> dict[str, bytes]:
    spec = importlib.util.spec_from_file_location("go_crafted", ORACLES / "crafted.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.crafted_files()


CRAFTED = _crafted()


def test_crafted_set_is_the_recorded_one():
    assert sorted(CRAFTED) == sorted(RECORD)
    for name, data in CRAFTED.items():
        assert hashlib.sha256(data).hexdigest() == RECORD[name]["input_sha256"], f"{name}: crafted bytes changed"


@pytest.mark.parametrize("profile", ["go1.25", "go1.26"])
@pytest.mark.parametrize("name", sorted(RECORD))
def test_crafted_as_go(tmp_path, name, profile):
    path = tmp_path / (name + (".png" if name.startswith("png") else ".jpg"))
    path.write_bytes(CRAFTED[name])
    want = RECORD[name][profile]
    if "err" in want:
        with pytest.raises(BadImage) as e:
            decode_go(str(path), jpeg=profile)
        msg = str(e.value)
        assert "\n" not in msg and msg == f"{path}: {want['err']}"
    else:
        img = decode_go(str(path), jpeg=profile)
        assert img.go_type == want["type"] and list(img.size) == want["hw"]
        assert hashlib.sha256(img.rgba64.astype("<u2").tobytes()).hexdigest() == want["rgba64_sha256"]
        assert img.approximate is None


def test_errors_agree_between_generations():
    # Only the IDCT changed between Go 1.25 and 1.26: the same files fail with the same text.
    assert all(r["go1.25"].get("err") == r["go1.26"].get("err") for r in RECORD.values())


def test_every_refusal_kind_is_covered():
    errors = {r["go1.26"]["err"] for r in RECORD.values() if "err" in r["go1.26"]}
    for text in ("unexpected EOF", "invalid JPEG format: short Huffman data",
                 "invalid JPEG format: missing 0xff00 sequence", "invalid JPEG format: bad RST marker",
                 "png: invalid format: invalid checksum", "png: invalid format: not enough pixel data",
                 "png: invalid format: zlib: invalid checksum"):
        assert text in errors


def test_png_crc_on_an_ignored_chunk_is_checked(tmp_path):
    # Go verifies the CRC of every chunk it reads, including chunks it otherwise ignores.
    bad = tmp_path / "bad.png"
    bad.write_bytes(CRAFTED["png_text_crc"])
    good = tmp_path / "good.png"
    good.write_bytes(CRAFTED["png_ok_text"])
    with pytest.raises(BadImage, match="png: invalid format: invalid checksum"):
        decode_go(str(bad))
    assert decode_go(str(good)).go_type == "*image.RGBA"


def test_palette_index_past_plte_is_opaque_black(tmp_path):
    # readImagePass re-slices the palette (parsePLTE filled it with opaque black): no error.
    path = tmp_path / "p.png"
    path.write_bytes(CRAFTED["png_ok_palette_index_past_plte"])
    img = decode_go(str(path))
    idx = np.arange(35).reshape(5, 7) % 4
    assert (img.rgba64[idx >= 2] == [0, 0, 0, 0xFFFF]).all()


def test_unregistered_format_is_go_unknown_format(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"\x00\x01not an image at all")
    with pytest.raises(ParityError, match="image: unknown format$"):
        decode_go(str(path))
