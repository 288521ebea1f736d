import os

import numpy as np
import pytest
from conftest import make_rgb
from PIL import Image

from parity.decode import POLICIES, check_image_path, decode_pil, read_bytes
from parity.errors import BadImage


def _rgba(tmp_path, alpha: int):
    arr = np.zeros((4, 5, 4), np.uint8)
    arr[..., 0] = 200
    arr[..., 1] = 100
    arr[..., 2] = 0
    arr[..., 3] = alpha
    p = tmp_path / f"a{alpha}.png"
    Image.fromarray(arr, "RGBA").save(p)
    return p


class TestAlphaPolicies:
    def test_opaque_pixel_is_unchanged_by_every_policy(self, tmp_path):
        p = _rgba(tmp_path, 255)
        for name in POLICIES:
            assert decode_pil(p, name).rgb[0, 0].tolist() == [200, 100, 0], name

    def test_semi_transparent_over_white_black_and_dropped(self, tmp_path):
        p = _rgba(tmp_path, 128)
        # PIL alpha_composite: out = src*a + dst*(1-a) with a = 128/255, rounded as Pillow does
        white = decode_pil(p, "pil-hf").rgb[0, 0].astype(int)
        black = decode_pil(p, "pil-black").rgb[0, 0].astype(int)
        drop = decode_pil(p, "pil-drop-alpha").rgb[0, 0].astype(int)
        assert drop.tolist() == [200, 100, 0]
        expect_white = [round(c * 128 / 255 + 255 * 127 / 255) for c in (200, 100, 0)]
        expect_black = [round(c * 128 / 255) for c in (200, 100, 0)]
        assert np.abs(white - expect_white).max() <= 1  # Pillow's fixed-point blend rounds within 1 level
        assert np.abs(black - expect_black).max() <= 1
        assert (white > black).all()

    def test_palette_with_trns_is_composited(self, tmp_path):
        img = Image.new("P", (3, 3), 0)
        img.putpalette([10, 20, 30] + [0] * 765)
        img.info["transparency"] = 0
        p = tmp_path / "p.png"
        img.save(p, transparency=0)
        assert decode_pil(p, "pil-hf").rgb[0, 0].tolist() == [255, 255, 255]
        assert decode_pil(p, "pil-drop-alpha").rgb[0, 0].tolist() == [10, 20, 30]

    def test_gray_and_la_become_three_equal_channels(self, tmp_path):
        Image.fromarray(np.full((2, 2), 77, np.uint8), "L").save(tmp_path / "g.png")
        assert decode_pil(tmp_path / "g.png").rgb.tolist() == [[[77] * 3] * 2] * 2
        la = Image.fromarray(np.dstack([np.full((2, 2), 77, np.uint8), np.full((2, 2), 255, np.uint8)]), "LA")
        la.save(tmp_path / "la.png")
        assert decode_pil(tmp_path / "la.png").rgb[0, 0].tolist() == [77] * 3

    def test_16bit_gray_clip_vs_shift(self, tmp_path):
        arr = np.array([[0x1234, 0xFF00]], dtype=np.uint16)
        Image.fromarray(arr).save(tmp_path / "g16.png")
        shifted = decode_pil(tmp_path / "g16.png", "pil-shift16").rgb[0, :, 0].tolist()
        clipped = decode_pil(tmp_path / "g16.png", "pil-hf").rgb[0, :, 0].tolist()
        assert shifted == [0x12, 0xFF]
        assert clipped == [255, 255]  # Pillow's I -> RGB conversion saturates


class TestExif:
    def test_orientation_6_rotates_only_with_exif_policy(self, tmp_path):
        arr = np.zeros((2, 4, 3), np.uint8)
        arr[0, 0] = 255
        img = Image.fromarray(arr)
        exif = Image.Exif()
        exif[0x0112] = 6
        p = tmp_path / "o6.png"
        img.save(p, exif=exif)
        plain = decode_pil(p, "pil-hf")
        turned = decode_pil(p, "pil-hf-exif")
        assert plain.rgb.shape == (2, 4, 3) and turned.rgb.shape == (4, 2, 3)
        assert plain.info["orientation"] == 6


class TestBadInput:
    @pytest.mark.parametrize("content, match", [
        (None, "not found"),
        (b"", "empty"),
        (b"hello, not an image", "not a readable image"),
    ])
    def test_unusable_files(self, tmp_path, content, match):
        p = tmp_path / "x.png"
        if content is not None:
            p.write_bytes(content)
        with pytest.raises(BadImage, match=match):
            decode_pil(p)

    @pytest.mark.parametrize("fmt", ["png", "jpeg"])
    def test_truncated(self, tmp_path, fmt):
        rng = np.random.default_rng(0)
        p = tmp_path / f"t.{fmt}"
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(p, format=fmt)
        data = p.read_bytes()
        p.write_bytes(data[: len(data) // 2])
        with pytest.raises(BadImage, match="truncated"):
            decode_pil(p)

    def test_truncated_even_when_a_package_flipped_pillows_global(self, tmp_path, monkeypatch):
        from PIL import ImageFile

        monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)  # as llama-models does on import
        p = tmp_path / "t.png"
        Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(p)
        p.write_bytes(p.read_bytes()[:2000])
        with pytest.raises(BadImage, match="truncated"):
            decode_pil(p)
        assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # restored

    def test_decompression_bomb(self, tmp_path, monkeypatch):
        import parity.decode as dec

        p = tmp_path / "big.png"
        Image.new("RGB", (100, 100)).save(p)
        monkeypatch.setattr(dec, "MAX_PIXELS", 5000)
        with pytest.raises(BadImage, match="too large"):
            decode_pil(p)


class TestEdges:
    """Regular files only, capped reads, each special path with its own one-line message."""

    def test_special_paths(self, tmp_path):
        os.mkfifo(tmp_path / "fifo.png")
        os.symlink(tmp_path / "b.png", tmp_path / "a.png")
        os.symlink(tmp_path / "a.png", tmp_path / "b.png")
        (tmp_path / "dir.png").mkdir()
        cases = ((tmp_path / "fifo.png", rf"^image is not a regular file \(a FIFO\): {tmp_path}/fifo.png$"),
                 ("/dev/zero", r"^image is not a regular file \(a character device\): /dev/zero$"),
                 (tmp_path / "a.png", rf"^image path is a symlink loop: {tmp_path}/a.png$"),
                 (tmp_path / "dir.png", rf"^image path is a directory: {tmp_path}/dir.png$"),
                 (tmp_path / "file.png" / "x.png", "image not found \\(a parent of the path is not a directory\\)"))
        (tmp_path / "file.png").write_bytes(b"x")
        for path, message in cases:
            for check in (decode_pil, read_bytes, check_image_path):
                with pytest.raises(BadImage, match=message):
                    check(path)

    def test_size_cap(self, tmp_path, monkeypatch):
        import parity.decode

        p = tmp_path / "big.png"
        Image.new("RGB", (8, 8)).save(p)
        monkeypatch.setattr(parity.decode, "MAX_IMAGE_BYTES", 10)
        size = p.stat().st_size
        with pytest.raises(BadImage, match=f"image {p} is {size:,} bytes, over the 10 bytes cap"):
            read_bytes(p)
        with pytest.raises(BadImage, match="over the 10 bytes cap"):
            check_image_path(p)


def _png(rgb: np.ndarray, bad_ihdr_crc=False, bad_idat_crc=False, iend=True) -> bytes:
    import struct
    import zlib

    def chunk(kind, data, bad):
        crc = zlib.crc32(kind + data) ^ (0xDEADBEEF if bad else 0)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc & 0xFFFFFFFF)

    h, w = rgb.shape[:2]
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0), bad_ihdr_crc)
            + chunk(b"IDAT", zlib.compress(raw), bad_idat_crc) + (chunk(b"IEND", b"", False) if iend else b""))


class TestPillowStrictness:
    """The Pillow profile is exactly as strict as Pillow 13 (what transformers decodes with): it checks
    the CRCs of the chunks before IDAT, not IDAT's, and needs no IEND. Go and stb differ (see
    tests/badinput: Go refuses every bad CRC and a missing IEND; stb never checks CRCs)."""

    @pytest.mark.parametrize("defect, accepted", [
        ({"bad_idat_crc": True}, True),
        ({"iend": False}, True),
        ({"bad_ihdr_crc": True}, False),
    ])
    def test_png_defects(self, tmp_path, defect, accepted):
        rgb = make_rgb(12, 16)
        p = tmp_path / "d.png"
        p.write_bytes(_png(rgb, **defect))
        if accepted:
            np.testing.assert_array_equal(decode_pil(p).rgb, rgb)
        else:
            with pytest.raises(BadImage, match="not a readable image"):
                decode_pil(p)
