"""Fuzzing the parsers at the edges: random bytes, and valid files with bytes flipped, inserted or cut,
given as a dump (.bin/.npy/.npz/.pt), an mmproj GGUF, or an image (one decoder profile per runtime:
Pillow, stb, Go...) either load or raise ParityError (BadImage for images) — never another exception, which the CLI
would report as an internal error (exit 3).

Examples are derandomized in CI (tests/conftest.py); HYPOTHESIS_PROFILE=explore searches new ones.
"""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from conftest import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from make_corpus import llava15_keys, pil_bytes, png_bytes, torch_bytes, write_mmproj

from parity.dumps import load_dump
from parity.errors import ParityError
from parity.trace import TraceBuilder

EXAMPLES = settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])

PACK_SHAPE = (1, 3, 8, 8)


def _trace():
    """A small trace: the float stages a dump can be (pack and normalize of a 8x8 image)."""
    rng = np.random.default_rng(0)
    pack = rng.normal(0, 1, PACK_SHAPE).astype(np.float32)
    tb = TraceBuilder()
    tb.add("decode", rng.integers(0, 256, (8, 8, 3), dtype=np.uint8), "HWC")
    tb.add("normalize", pack[0], "C,H,W")
    tb.add("pack", pack, "images,C,H,W")
    return tb.build("toy", "toy-impl", "toy 1.0", "toy.png")


TRACES = [_trace()]


def _npz(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:  # fixed timestamps: deterministic seeds
        inner = io.BytesIO()
        np.save(inner, arr)
        z.writestr(zipfile.ZipInfo("pack.npy", (1980, 1, 1, 0, 0, 0)), inner.getvalue())
    return buf.getvalue()


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def _dump_seeds() -> dict[str, bytes]:
    import torch

    pack = np.asarray(TRACES[0]["pack"].value)
    return {".bin": pack.astype("<f4").tobytes(), ".npy": _npy(pack), ".npz": _npz(pack),
            ".pt": torch_bytes({"pixel_values": torch.from_numpy(pack.copy())})}


DUMP_SEEDS = _dump_seeds()


def mutated(seed: bytes) -> st.SearchStrategy[bytes]:
    """``seed`` with up to 8 bytes overwritten, a run inserted or deleted, or a cut at a random place (a
    deleted run shifts every later segment: lengths then disagree with what follows)."""
    n = len(seed)
    flips = st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, 255)), max_size=8)
    cut = st.integers(0, n)
    insert = st.tuples(st.integers(0, n), st.binary(min_size=1, max_size=16))

    def apply(ops):
        flips_, cut_, ins, kind = ops
        b = bytearray(seed)
        for pos, val in flips_:
            b[pos] = val
        if kind == "cut":
            b = b[:cut_]
        elif kind == "insert":
            b[ins[0]:ins[0]] = ins[1]
        elif kind == "delete":
            del b[ins[0]:ins[0] + len(ins[1])]
        return bytes(b)

    return st.tuples(flips, cut, insert, st.sampled_from(["flip", "cut", "insert", "delete"])).map(apply)


def inputs(seeds: dict[str, bytes]) -> st.SearchStrategy[tuple[str, bytes]]:
    """(suffix, bytes): random bytes or a mutated seed."""
    suffix = st.sampled_from(sorted(seeds))
    return suffix.flatmap(lambda s: st.tuples(st.just(s), st.one_of(st.binary(max_size=512), mutated(seeds[s]))))


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@pytest.mark.slow
@EXAMPLES
@given(case=inputs(DUMP_SEEDS))
def test_dump_parser_raises_only_parity_errors(folder, case):
    suffix, data = case
    path = folder / f"dump{suffix}"
    path.write_bytes(data)
    try:
        dump = load_dump(str(path), TRACES)
    except ParityError as e:
        assert "\n" not in str(e)
        return
    assert np.all(np.isfinite(dump.values)) and dump.values.size == np.prod(PACK_SHAPE)


def _gguf_seed(tmp_path_factory) -> bytes:
    p = tmp_path_factory.mktemp("gguf_seed") / "ok.gguf"
    write_mmproj(p, llava15_keys(**{"clip.vision.image_grid_pinpoints": [336, 672, 672, 336]}))
    return p.read_bytes()


@pytest.fixture(scope="module")
def gguf_seed(tmp_path_factory):
    return _gguf_seed(tmp_path_factory)


@pytest.mark.slow
@EXAMPLES
@given(data=st.data())
def test_gguf_parser_raises_only_parity_errors(folder, gguf_seed, data):
    from parity.gguf import inspect_mmproj, preset_from_gguf

    blob = data.draw(st.one_of(st.binary(max_size=512), mutated(gguf_seed)))
    path = folder / "m.gguf"
    path.write_bytes(blob)
    for parse in (inspect_mmproj, preset_from_gguf):
        try:
            parse(path)
        except ParityError as e:
            assert "\n" not in str(e)


def _image_seeds() -> dict[str, bytes]:
    rng = np.random.default_rng(5)
    rgb = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
    return {".png": png_bytes(rgb), ".jpg": pil_bytes(rgb, "JPEG", quality=85),
            ".progressive.jpg": pil_bytes(rgb, "JPEG", quality=85, progressive=True, subsampling=0),
            ".gif": pil_bytes(rgb, "GIF"), ".webp": pil_bytes(rgb, "WEBP", quality=80)}


IMAGE_SEEDS = _image_seeds()


@pytest.mark.slow
@EXAMPLES
@given(case=inputs(IMAGE_SEEDS))
def test_image_decoders_raise_only_parity_errors(folder, case):
    from parity.decode.profiles import PROFILES

    suffix, data = case
    path = folder / f"img{suffix}"
    path.write_bytes(data)
    one_per_runtime = {prof.runtime: name for name, prof in reversed(PROFILES.items())}.values()
    for name in ("pil-hf-exif", *one_per_runtime):  # EXIF parsing is a parser too
        try:
            decoded = PROFILES[name].decode(str(path))
        except ParityError as e:
            assert "\n" not in str(e), name
            continue
        assert decoded.rgb.dtype == np.uint8 and decoded.rgb.ndim == 3 and decoded.rgb.shape[2] == 3, name
