"""Loading external dumps: raw .bin readings (dtype and shape inferred from the traces), .npy/.npz, torch
files loaded weights-only; unusable input gives one-line ParityErrors; a right-size dump in the wrong
layout or dtype is recognized as such."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
import torch
from conftest import make_rgb
from PIL import Image

from parity.dumps import load_dump
from parity.errors import ParityError
from parity.external import compare_external
from parity.impls import IMPLS, ImageInput
from parity.presets import get_preset
from parity.report.external import render_external_text
from parity.schema import SCHEMA_VERSION

PRESET = get_preset("llama-3.2-vision")
IMPLS_USED = ["hf-pil", "hf-torchvision"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("dumps")
    path = d / "img.png"
    Image.fromarray(make_rgb(300, 420, seed=11)).save(path)
    traces = [IMPLS[n].run(ImageInput(str(path)), PRESET) for n in IMPLS_USED]
    return d, str(path), traces


def pack_of(setup, impl="hf-pil") -> np.ndarray:
    return np.asarray(next(t for t in setup[2] if t.impl == impl)["pack"].value)


def write(setup, name: str, data: bytes) -> str:
    p = setup[0] / name
    p.write_bytes(data)
    return str(p)


class TestRaw:
    def test_float32_shape_from_the_plan(self, setup):
        p = pack_of(setup)
        dump = load_dump(write(setup, "f32.bin", p.astype("<f4").tobytes()), setup[2])
        assert (dump.format, dump.dtype, dump.shape) == ("bin", "float32", (1, 3, 560, 560))
        assert dump.chosen.target.stage == "pack" and not dump.ambiguous
        np.testing.assert_array_equal(dump.values, p)
        import hashlib

        assert dump.sha1 == hashlib.sha1(p.astype("<f4").tobytes()).hexdigest()  # `shasum FILE`

    @pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
    def test_half_precision_is_recognized(self, setup, dtype):
        t = torch.from_numpy(pack_of(setup).copy()).to(getattr(torch, dtype))
        raw = t.view(torch.int16).numpy().astype("<i2").tobytes()
        dump = load_dump(write(setup, f"{dtype}.bin", raw), setup[2])
        assert dump.dtype == dtype and dump.shape == (1, 3, 560, 560)
        np.testing.assert_array_equal(dump.values, t.float().numpy())

    def test_half_precision_dump_matches_after_rounding(self, setup):
        raw = pack_of(setup).astype("<f2").tobytes()
        res = compare_external(write(setup, "f16m.bin", raw), PRESET, setup[1], IMPLS_USED)
        # the two backends differ by float32 ulps only, so both round to the same float16 values
        assert "hf-pil" in res.matched and res.matches[0].match == "exact-after-rounding"
        assert "rounded to float16" in res.matches[0].note

    def test_big_endian_is_named(self, setup):
        dump = load_dump(write(setup, "be.bin", pack_of(setup).astype(">f4").tobytes()), setup[2])
        assert dump.dtype == "float32-big-endian"
        np.testing.assert_array_equal(dump.values, pack_of(setup))

    def test_wrong_size(self, setup):
        path = write(setup, "short.bin", pack_of(setup).astype("<f4").tobytes()[:-12])
        with pytest.raises(ParityError) as e:
            load_dump(path, setup[2])
        msg = str(e.value)
        assert "3763188 bytes" in msg and "pack 1x3x560x560 = 940800 elements" in msg and "\n" not in msg

    def test_other_tile_count_is_named(self, tmp_path):
        # 4 tiles expected (1500x1749 -> 2x2), the dump holds 2: a plan difference, said so in the message
        path = tmp_path / "photo.png"
        Image.fromarray(make_rgb(1749, 1500, seed=1)).save(path)
        trace = IMPLS["hf-torchvision"].run(ImageInput(str(path)), PRESET)
        two = np.asarray(trace["pack"].value)[:2].astype("<f4").tobytes()
        (tmp_path / "two.bin").write_bytes(two)
        with pytest.raises(ParityError, match="holds exactly 2 tiles of 3x560x560 as float32 where the plan has 4"):
            load_dump(str(tmp_path / "two.bin"), [trace])

    def test_read_as_pack_unless_another_stage_is_exact(self, tmp_path):
        # 640x480 -> 2 tiles: the reference's canvas-shaped normalize (3x560x1120) has pack's byte count
        trace = IMPLS["reference"].run(ImageInput("fixtures/images/photo_640x480.jpg"), PRESET)
        tiles, canvas = np.asarray(trace["pack"].value), np.asarray(trace["normalize"].value)
        assert canvas.shape == (3, 560, 1120) and tiles.size == canvas.size
        swapped = tmp_path / "swapped.bin"
        swapped.write_bytes(tiles[[1, 0]].astype("<f4").tobytes())
        dump = load_dump(str(swapped), [trace])
        assert (dump.chosen.target.stage, dump.shape) == ("pack", (2, 3, 560, 560))
        # the canvas reading is still listed, with its NMSE (lower than pack's: why "closest" misled)
        by_stage = {r.target.stage: r for r in dump.readings if r.dtype == "float32"}
        assert by_stage["normalize"].nmse < by_stage["pack"].nmse
        same = tmp_path / "canvas.bin"
        same.write_bytes(canvas.astype("<f4").tobytes())
        dump = load_dump(str(same), [trace])
        assert (dump.chosen.target.stage, dump.shape, dump.chosen.nmse) == ("normalize", (3, 560, 1120), 0.0)

    def test_empty(self, setup):
        with pytest.raises(ParityError, match=r"empty \(0 bytes\)"):
            load_dump(write(setup, "empty.bin", b""), setup[2])

    def test_missing(self, setup):
        with pytest.raises(ParityError, match="dump not found"):
            load_dump(str(setup[0] / "nope.bin"), setup[2])

    @pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
    def test_nan_inf(self, setup, bad):
        p = pack_of(setup).copy()
        p.flat[1234] = bad
        with pytest.raises(ParityError) as e:
            load_dump(write(setup, "nan.bin", p.astype("<f4").tobytes()), setup[2])
        assert "unusable" in str(e.value) and "first at flat index 1234" in str(e.value)


class TestContainers:
    def test_npy_hwc_layout_is_recognized(self, setup):
        path = str(setup[0] / "hwc.npy")
        np.save(path, np.moveaxis(pack_of(setup), 1, -1))
        res = compare_external(path, PRESET, setup[1], IMPLS_USED)
        assert not res.passed and res.matches[0].match == "differ"
        assert "compared in flat C order" in res.matches[0].note
        assert res.diagnosis.top.name == "hwc-vs-chw" and res.diagnosis.top.match == "exact"
        assert res.first_divergence["stage"] == "pack"

    def test_npy_float64_same_values_is_exact(self, setup):
        path = str(setup[0] / "f64.npy")
        np.save(path, pack_of(setup).astype(np.float64))
        res = compare_external(path, PRESET, setup[1], IMPLS_USED)
        assert res.matched == ["hf-pil"] and "stored as float64" in res.matches[0].note

    def test_raw_float64_is_recognized(self, setup):
        dump = load_dump(write(setup, "f64.bin", pack_of(setup).astype("<f8").tobytes()), setup[2])
        assert dump.dtype == "float64" and dump.shape == (1, 3, 560, 560)

    def test_uint8_pixels_of_the_right_size_are_recognized(self, setup):
        # the right number of elements but uint8 canvas pixels, not normalized floats
        path = str(setup[0] / "u8.npy")
        np.save(path, np.moveaxis(next(t for t in setup[2] if t.impl == "hf-pil")["pad"].value, -1, 0)[None])
        res = compare_external(path, PRESET, setup[1], IMPLS_USED)
        assert not res.passed and res.dump.dtype == "uint8"
        assert res.diagnosis.top.name == "range-0-255" and res.diagnosis.top.match == "exact"

    def test_npy_nan(self, setup):
        path = str(setup[0] / "nan.npy")
        p = pack_of(setup).copy()
        p[0, 1, 2, 3] = np.nan
        np.save(path, p)
        with pytest.raises(ParityError, match="1 NaN and 0 infinite"):
            load_dump(path, setup[2])

    def test_npy_wrong_size(self, setup):
        path = str(setup[0] / "small.npy")
        np.save(path, np.zeros((3, 10, 10), np.float32))
        with pytest.raises(ParityError, match="300 elements, which fits no expected tensor"):
            load_dump(path, setup[2])

    def test_npy_object_array_refused(self, setup):
        path = str(setup[0] / "obj.npy")
        np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
        with pytest.raises(ParityError, match="not a readable .npy"):
            load_dump(path, setup[2])

    def test_npy_header_that_does_not_parse(self, setup):
        """A quote inserted into the header dict: numpy's parser raises tokenize.TokenError (found by the
        fuzz test); bad input all the same."""
        buf = io.BytesIO()
        np.save(buf, np.zeros((1, 3, 8, 8), np.float32))
        data = bytearray(buf.getvalue())
        data[10:10] = b"'"
        path = write(setup, "quote.npy", bytes(data))
        with pytest.raises(ParityError, match="not a readable .npy"):
            load_dump(path, setup[2])

    def test_npz_picks_pixel_values(self, setup):
        path = str(setup[0] / "d.npz")
        np.savez(path, other=np.zeros(3), pixel_values=pack_of(setup, "hf-torchvision"))
        dump = load_dump(path, setup[2])
        assert dump.key == "pixel_values" and dump.shape == (1, 3, 560, 560)

    def test_npz_ambiguous_keys(self, setup):
        path = str(setup[0] / "two.npz")
        np.savez(path, a=np.zeros(3), b=np.zeros(3))
        with pytest.raises(ParityError, match="holds 2 entries and none is named"):
            load_dump(path, setup[2])

    def test_torch_tensor_bfloat16(self, setup):
        path = str(setup[0] / "t.pt")
        torch.save({"pixel_values": torch.from_numpy(pack_of(setup).copy()).to(torch.bfloat16)}, path)
        dump = load_dump(path, setup[2])
        assert (dump.format, dump.dtype, dump.key) == ("torch", "bfloat16", "pixel_values")
        res = compare_external(path, PRESET, setup[1], IMPLS_USED)
        assert res.matches[0].match == "exact-after-rounding" and "hf-pil" in res.matched

    def test_torch_arbitrary_pickle_is_refused(self, setup):
        path = str(setup[0] / "evil.pt")
        torch.save({"pixel_values": torch.zeros(3), "obj": _Custom()}, path)
        with pytest.raises(ParityError, match=r"refused: not loadable with torch.load\(weights_only=True\)"):
            load_dump(path, setup[2])

    def test_torch_extension_on_bin_is_detected(self, setup):
        path = str(setup[0] / "pytorch_dump.bin")
        torch.save(torch.from_numpy(pack_of(setup).copy()), path)
        assert load_dump(path, setup[2]).format == "torch"


class TestRendering:
    def test_text_names_the_match(self, setup):
        path = write(setup, "tv.bin", pack_of(setup, "hf-torchvision").astype("<f4").tobytes())
        res = compare_external(path, PRESET, setup[1], IMPLS_USED)
        text = render_external_text(res)
        assert "MATCH: the dump is bit-identical to the output of hf-torchvision" in text
        d = res.to_dict()
        assert d["schema_version"] == SCHEMA_VERSION and d["matched"] == ["hf-torchvision"] and d["diagnosis"] is None


class _Custom:
    def __reduce__(self):
        return (pickle.loads, (pickle.dumps(1),))


class TestHardening:
    """Reads are bounded and checked before anything is allocated; messages say what is wrong."""

    def test_right_size_all_nan_says_nan_not_tile_grid(self, setup):
        n = pack_of(setup).size
        path = write(setup, "allnan.bin", np.full(n, np.nan, "<f4").tobytes())
        with pytest.raises(ParityError) as e:
            load_dump(path, setup[2])
        msg = str(e.value)
        assert f"it contains {n} NaN and 0 infinite values (of {n}, read as float32 pack" in msg
        assert "tile grid" not in msg and "big-endian" not in msg

    def test_denormal_readings_are_not_plausible(self, setup):
        # 0.5 as little-endian float32 read big-endian is 8.8e-44: never chosen as pixel data
        path = write(setup, "halves.bin", np.full(pack_of(setup).size, 0.5, "<f4").tobytes())
        assert load_dump(path, setup[2]).dtype == "float32"

    def test_npy_header_is_checked_against_the_file_size(self, setup):
        from numpy.lib import format as npf

        buf = io.BytesIO()
        npf.write_array_header_1_0(buf, {"descr": "<f4", "fortran_order": False, "shape": (10**9, 10**9)})
        path = write(setup, "huge.npy", buf.getvalue() + bytes(64))
        with pytest.raises(ParityError, match=r"header says shape \(1000000000, 1000000000\) float32 = "
                                              r"4,000,000,000,000,000,000 bytes but 64 bytes of data follow"):
            load_dump(path, setup[2])

    def test_npz_entry_header_is_checked(self, setup):
        import zipfile

        from numpy.lib import format as npf

        buf = io.BytesIO()
        npf.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)})
        z = io.BytesIO()
        with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("pack.npy", buf.getvalue() + bytes(8))
        with pytest.raises(ParityError, match=r"entry 'pack': its .npy header says shape \(1000000000000,\)"):
            load_dump(write(setup, "huge.npz", z.getvalue()), setup[2])

    def test_npz_loads_only_the_entry_it_uses(self, setup, monkeypatch):
        path = str(setup[0] / "two.npz")
        np.savez(path, junk=np.zeros(5), pixel_values=pack_of(setup))
        dump = load_dump(path, setup[2])
        assert dump.key == "pixel_values" and dump.shape == (1, 3, 560, 560)

    def test_torch_storage_claiming_more_than_it_holds(self, setup):
        import pickletools
        import struct
        import zipfile

        buf = io.BytesIO()
        torch.save(torch.zeros(3), buf)
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zin, zipfile.ZipFile(out, "w") as zout:
            for info in zin.infolist():
                data = zin.read(info)
                if info.filename.endswith("data.pkl"):
                    pos = next(p for op, arg, p in pickletools.genops(data) if op.name == "BININT1" and arg == 3)
                    data = data[:pos] + b"\x8a\x08" + struct.pack("<q", 10**12) + data[pos + 2:]
                zout.writestr(info, data)
        with pytest.raises(ParityError, match="not a readable torch file: record size"):
            load_dump(write(setup, "claim.pt", out.getvalue()), setup[2])

    def test_size_cap(self, setup):
        from parity.dumps import dump_cap, targets

        cap = dump_cap(targets(setup[2]))
        assert cap == 8 * 4 * 3 * 560 * 560 + 2**20  # the largest stage (4 tiles of pixel_values_padded) as float64
        path = setup[0] / "big.bin"
        with open(path, "wb") as fh:
            fh.truncate(cap + 1)  # sparse: never read
        with pytest.raises(ParityError, match=f"is {cap + 1:,} bytes, over the"):
            load_dump(str(path), setup[2])

    def test_special_files(self, setup, tmp_path):
        import os

        os.mkfifo(tmp_path / "fifo.bin")
        os.symlink(tmp_path / "b.bin", tmp_path / "a.bin")
        os.symlink(tmp_path / "a.bin", tmp_path / "b.bin")
        for path, message in ((tmp_path / "fifo.bin", r"dump is not a regular file \(a FIFO\)"),
                              ("/dev/zero", r"dump is not a regular file \(a character device\)"),
                              (tmp_path / "a.bin", "dump path is a symlink loop"),
                              (tmp_path, "dump path is a directory")):
            with pytest.raises(ParityError, match=message):
                load_dump(str(path), setup[2])
