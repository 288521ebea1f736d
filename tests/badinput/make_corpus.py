"""The bad-input corpus (issue 17): hostile and unusual inputs, each with the ``parity`` command to run
and the exit code the contract in README.md "Exit codes" requires.

    python tests/badinput/make_corpus.py OUTDIR     # writes the inputs under OUTDIR, prints the table

Deterministic (fixed seeds, fixed bytes); everything is written under OUTDIR (FIFO and symlink loop
included; ``/dev/zero``, ``/dev/full`` and ``/proc`` are referenced, not created). The test
(``test_corpus.py``) runs every entry through ``parity.cli.main`` in-process, and the few that need a
real process (FIFO, /dev/zero, /dev/full, a closed pipe) through ``python -m parity.cli``.

Decoder strictness (group ``decoders``): the impls refusing each file are what the real runtimes do,
checked with the real decoders on these exact bytes — Pillow 13.0.0 (hf-pil), stb_image v2.30 from
llama.cpp 0c1e570 ``vendor/stb`` compiled with ``stbi_load_from_memory(..., 3)`` as
``mtmd-helper.cpp`` calls it (llamacpp), Go's ``image.Decode`` with ``image/png`` and ``image/jpeg``
(the PNG/JPEG readers Ollama's engine registers) (ollama): first with Debian's go1.19; the same kinds of file
(corrupt IDAT/IHDR CRC, cut before IEND, cut JPEG) give the same errors with go1.25 and go1.26, the toolchains
Ollama releases are built with (tests/oracles/go-jpeg/strictness.json). Per runtime:
- PNG with a corrupt IDAT CRC: Pillow and stb accept (neither checks IDAT CRCs), Go refuses
  (``png: invalid format: invalid checksum``);
- PNG with a corrupt IHDR CRC: Pillow refuses (it checks chunk CRCs before IDAT), stb accepts (it never
  checks CRCs), Go refuses;
- PNG without IEND: Pillow accepts, stb refuses (it decodes at IEND), Go refuses (``unexpected EOF``);
- PNG with bytes after IEND: all accept;
- truncated JPEG: Pillow refuses (``image file is truncated``), stb accepts (pads the missing scan
  data), Go refuses (``unexpected EOF``);
- GIF: Pillow and stb accept; Ollama's engine registers no GIF decoder (``image: unknown format``).
"""

from __future__ import annotations

import io
import json
import os
import struct
import sys
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: the good image every command that needs one uses (and the preset / impl pairs the corpus runs)
GOOD = "ok.png"
FAST = ("-m", "llava-1.5", "--impl", "hf-pil,hf-torchvision")  # two impls that run in ~0.2 s
DECODERS = ("-m", "gemma-3", "--impl", "hf-pil,llamacpp,ollama", "--json")  # Pillow, stb, Go
LLAVA15_PACK = 3 * 336 * 336  # LLaVA-1.5: one 336x336 CLIP image, CHW float32


@dataclass(frozen=True)
class Entry:
    """One corpus input: the command, and what the contract requires of it."""

    group: str
    name: str  # the input, as the table shows it
    argv: tuple[str, ...]
    code: int  # required exit code
    stderr: str = ""  # substring of the one `parity: error:` line (exit 2 / 3)
    not_stderr: str = ""  # must not appear in it (a misleading message)
    output: str | None = None  # a path that must not exist afterwards (no partial output)
    subprocess: bool = False  # run as `python -m parity.cli` (FIFO, devices, pipes)
    refused_by: tuple[str, ...] | None = None  # decoders: impls that must fail on this file (run --json)
    setup: str | None = None  # a step the test performs first (``golden-update``)
    pipe: bool = False  # read one line of stdout, then close it (`| head -1`)
    marker: str | None = None  # a file a pickle payload would create: must not exist afterwards
    note: str = ""
    extra: dict = field(default_factory=dict)


# ------------------------------------------------------------------------------------------- builders


def _chunk(kind: bytes, data: bytes, crc: int | None = None) -> bytes:
    c = zlib.crc32(kind + data) if crc is None else crc
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", c & 0xFFFFFFFF)


def _pixels(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 255 // max(w - 1, 1), yy * 255 // max(h - 1, 1), (xx + yy) * 7 % 256], -1)
    return np.clip(base + rng.integers(-30, 31, (h, w, 3)), 0, 255).astype(np.uint8)


def png_bytes(rgb: np.ndarray, *, ihdr_crc: int | None = None, idat_crc: int | None = None, iend: bool = True,
              size: tuple[int, int] | None = None) -> bytes:
    """A PNG written chunk by chunk (8-bit RGB, filter 0), with optional defects."""
    h, w = rgb.shape[:2]
    sw, sh = size or (w, h)
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))
    out = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", sw, sh, 8, 2, 0, 0, 0), ihdr_crc)
    out += _chunk(b"IDAT", zlib.compress(raw, 9), idat_crc)
    return out + (_chunk(b"IEND", b"") if iend else b"")


def _bad_crc(good: int) -> int:
    return good ^ 0xDEADBEEF


def pil_bytes(rgb: np.ndarray, fmt: str, **kw) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format=fmt, **kw)
    return buf.getvalue()


def gif_header_only(w: int, h: int) -> bytes:
    """A GIF whose screen and image descriptor claim w x h, with one byte of image data."""
    screen = b"GIF89a" + struct.pack("<HH", w, h) + b"\x80\x00\x00" + b"\x00\x00\x00\xff\xff\xff"
    image = b"\x2c" + struct.pack("<HHHH", 0, 0, w, h) + b"\x00" + b"\x02\x01\x00\x00\x3b"
    return screen + image


def npy_header(shape: tuple, descr: str = "<f4") -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def torch_bytes(obj) -> bytes:
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def torch_claiming(numel: int) -> bytes:
    """A torch zip whose storage record claims ``numel`` elements (the record holds 3)."""
    import pickletools

    import torch

    good = torch_bytes(torch.zeros(3))
    zin = zipfile.ZipFile(io.BytesIO(good))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.endswith("data.pkl"):
                # the persistent id ('storage', FloatStorage, '0', 'cpu', 3): its last int is the numel
                ops = list(pickletools.genops(data))
                pos = next(p for (op, arg, p) in ops if op.name == "BININT1" and arg == 3)
                data = data[:pos] + b"\x8a\x08" + struct.pack("<q", numel) + data[pos + 2:]
            zout.writestr(info, data)
    return out.getvalue()


class _Payload:
    """Pickles as a call to os.system: a weights-only load must refuse it, never run it."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def write_mmproj(path: Path, keys: dict, string_keys: tuple[str, ...] = ()) -> None:
    """A small mmproj GGUF (clip.* keys typed as llama.cpp's converters write them); ``string_keys``
    are written as strings whatever their value."""
    import gguf

    w = gguf.GGUFWriter(str(path), "clip")
    for k, v in keys.items():
        if k in string_keys:
            w.add_string(k, str(v))
        elif isinstance(v, bool):
            w.add_bool(k, v)
        elif isinstance(v, str):
            w.add_string(k, v)
        elif isinstance(v, int):
            w.add_uint32(k, v)
        elif isinstance(v, float):
            w.add_float32(k, v)
        else:
            w.add_array(k, v)
    w.add_tensor("v.patch_embd.weight", np.arange(12, dtype=np.float32).reshape(3, 4))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def llava15_keys(**extra) -> dict:
    keys = {"clip.has_vision_encoder": True, "clip.projector_type": "mlp", "clip.vision.image_size": 336,
            "clip.vision.patch_size": 14, "clip.vision.image_mean": CLIP_MEAN, "clip.vision.image_std": CLIP_STD}
    keys.update(extra)
    return keys


# ------------------------------------------------------------------------------------------- corpus


def build(root: str | os.PathLike) -> list[Entry]:
    """Write every input under ``root``; return the entries (commands with absolute paths)."""
    r = Path(root)
    r.mkdir(parents=True, exist_ok=True)
    P = lambda name: str(r / name)  # noqa: E731
    entries: list[Entry] = []
    add = entries.append

    def write(name: str, data: bytes | str) -> str:
        p = r / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data.encode() if isinstance(data, str) else data)
        return str(p)

    good_rgb = _pixels(40, 48)
    good = write(GOOD, png_bytes(good_rgb))
    raw_png = png_bytes(good_rgb)
    ihdr_crc = struct.unpack(">I", raw_png[29:33])[0]
    idat_at = raw_png.index(b"IDAT")
    idat_len = struct.unpack(">I", raw_png[idat_at - 4:idat_at])[0]
    idat_crc = struct.unpack(">I", raw_png[idat_at + 4 + idat_len:idat_at + 8 + idat_len])[0]
    jpeg = pil_bytes(_pixels(64, 80, 1), "JPEG", quality=90)
    webp = pil_bytes(_pixels(64, 80, 2), "WEBP", quality=80)

    # special files
    fifo = r / "fifo.png"
    if not fifo.exists():
        os.mkfifo(fifo)
    for a, b in (("loop_a.png", "loop_b.png"), ("loop_b.png", "loop_a.png")):
        if not os.path.lexists(r / a):
            os.symlink(r / b, r / a)
    (r / "a_directory.png").mkdir(exist_ok=True)
    (r / "dir_as_gguf.gguf").mkdir(exist_ok=True)

    # -- images: every impl fails the same way -> bad input, exit 2, one line
    img = lambda name, path, match, **kw: add(Entry("images", name, ("run", path, *FAST), 2, match, **kw))  # noqa: E731
    img("missing file", P("missing.png"), "image not found")
    img("zero-byte file", write("empty.png", b""), "empty (0 bytes)")
    img("text file named .png", write("text.png", "hello, not an image\n"), "not a readable image")
    img("directory", P("a_directory.png"), "is a directory", not_stderr="not found")
    img("symlink loop", P("loop_a.png"), "symlink loop", not_stderr="not found")
    img("truncated PNG", write("truncated.png", raw_png[: len(raw_png) * 2 // 3]), "truncated")
    img("truncated JPEG", write("truncated.jpg", jpeg[: len(jpeg) // 2]), "truncated")
    img("truncated WebP", write("truncated.webp", webp[: len(webp) // 2]), "every impl failed")
    img("WebP with a wrong RIFF size", write("riff.webp", webp[:4] + struct.pack("<I", 2**31) + webp[8:48]),
        "every impl failed")
    img("PNG 0x0 (IHDR width/height 0)", write("zero_size.png", png_bytes(good_rgb, size=(0, 0))),
        "every impl failed")
    img("PNG header 100000x100000", write("huge_header.png", png_bytes(good_rgb, size=(100000, 100000))),
        "too large")
    img("GIF header 65535x65535, 1 byte of data", write("huge_header.gif", gif_header_only(65535, 65535)),
        "every impl failed")
    img("GIF cut after its header", write("truncated.gif", pil_bytes(_pixels(32, 32, 3), "GIF")[:40]),
        "every impl failed")
    img("JPEG that is only SOI+EOI", write("soi_eoi.jpg", b"\xff\xd8\xff\xd9"), "every impl failed")
    add(Entry("images", "/dev/zero", ("run", "/dev/zero", *FAST), 2, "not a regular file (a character device)",
              subprocess=True, note="never read: refused before opening for reading"))
    add(Entry("images", "FIFO (no writer)", ("run", str(fifo), *FAST), 2, "not a regular file (a FIFO)",
              subprocess=True, note="would block forever if opened for reading"))
    add(Entry("images", "FIFO as dump IMAGE", ("dump", str(fifo), "-m", "llava-1.5", "--impl", "hf-pil",
                                                "-o", P("out/fifo.npy")), 2, "not a regular file (a FIFO)",
              output=P("out/fifo.npy")))
    add(Entry("images", "good + missing + truncated IMAGEs", ("run", good, P("missing.png"), P("truncated.png"),
                                                                *FAST, "--json"), 2, "image not found",
              note="every image runs; 2 error lines, the good one's result in --json", extra={"errors": 2}))

    # -- decoder strictness per runtime (gemma-3: Pillow / stb / Go); refused_by from the real decoders
    def dec(name: str, ext: str, data: bytes, refused: tuple[str, ...], code: int) -> None:
        path = write(f"decoders/{''.join(c if c.isalnum() else '_' for c in name)}.{ext}", data)
        add(Entry("decoders", name, ("run", path, *DECODERS), code, refused_by=refused))

    dec("PNG, corrupt IDAT CRC", "png", png_bytes(good_rgb, idat_crc=_bad_crc(idat_crc)), ("ollama",), 1)
    dec("PNG, corrupt IHDR CRC", "png", png_bytes(good_rgb, ihdr_crc=_bad_crc(ihdr_crc)), ("hf-pil", "ollama"), 1)
    dec("PNG without IEND", "png", png_bytes(good_rgb, iend=False), ("llamacpp", "ollama"), 1)
    dec("PNG, bytes after IEND", "png", raw_png + b"trailing garbage", (), 1)
    dec("JPEG cut in half", "jpg", jpeg[: len(jpeg) // 2], ("hf-pil", "ollama"), 1)
    dec("GIF", "gif", pil_bytes(_pixels(32, 40, 4), "GIF"), ("ollama",), 1)

    # -- dumps (parity compare): unusable -> 2 with what is wrong
    cmp_ = lambda name, path, match, **kw: add(Entry(  # noqa: E731
        "dumps", name, ("compare", path, "--image", good, *FAST), 2, match, **kw))
    cmp_("missing dump", P("missing.bin"), "dump not found")
    cmp_("zero-byte dump", write("empty.bin", b""), "empty (0 bytes)")
    cmp_("dump is a directory", P("a_directory.png"), "is a directory")
    cmp_("dump is a FIFO", str(fifo), "not a regular file (a FIFO)")
    cmp_("dump is a symlink loop", P("loop_a.png"), "symlink loop")
    cmp_("dump is /dev/zero", "/dev/zero", "not a regular file (a character device)")
    cmp_(".bin of a wrong size (1000 bytes)", write("wrong_size.bin", bytes(1000)), "fits no expected tensor")
    cmp_(".bin of the right size, all NaN", write("all_nan.bin", np.full(LLAVA15_PACK, np.nan, "<f4").tobytes()),
         f"contains {LLAVA15_PACK} NaN", not_stderr="tile grid")
    cmp_(".bin of the right size, one +Inf", write("one_inf.bin", np.where(np.arange(LLAVA15_PACK) == 7, np.inf, 0.5)
                                                  .astype("<f4").tobytes()), "0 NaN and 1 infinite")
    cmp_(".npy header 10^9 x 10^9", write("huge.npy", npy_header((10**9, 10**9)) + bytes(16)), "header says shape")
    cmp_(".npy with fewer bytes than its header says",
         write("short.npy", npy_header((1, 3, 336, 336)) + bytes(1000)), "header says shape")
    cmp_(".npy of the right size, NaN", write("nan.npy", npy_header((1, 3, 336, 336)) +
                                              np.full(LLAVA15_PACK, np.nan, "<f4").tobytes()), "NaN")
    cmp_(".npy holding Python objects", write("objects.npy", npy_header((1,), "|O") + b"\x80\x04N."), "objects")
    huge_npz = io.BytesIO()
    with zipfile.ZipFile(huge_npz, "w") as z:
        z.writestr(zipfile.ZipInfo("pack.npy", (1980, 1, 1, 0, 0, 0)), npy_header((10**9, 10**9)) + bytes(16))
    cmp_(".npz entry header 10^9 x 10^9", write("huge.npz", huge_npz.getvalue()), "header says shape")
    cmp_(".npz that is not a zip", write("notzip.npz", b"PK\x03\x04 but not really a zip file"),
         "not a readable .npz")
    cmp_("torch file whose storage claims 10^12 elements", write("huge_storage.pt", torch_claiming(10**12)),
         "not a readable torch file")
    marker = P("PAYLOAD_RAN")
    cmp_("torch file with an os.system pickle payload", write("payload.pt", torch_bytes({"x": _Payload(marker)})),
         "refused", marker=marker)
    cmp_("torch file that is a truncated zip", write("cut.pt", torch_bytes(__import__("torch").zeros(3))[:200]),
         "not a readable torch file")

    # -- GGUF (parity gguf / run --gguf)
    write_mmproj(r / "ok.gguf", llava15_keys())
    gg = lambda name, path, match, **kw: add(Entry("gguf", name, ("gguf", path), 2, match, **kw))  # noqa: E731
    gg("missing GGUF", P("missing.gguf"), "GGUF file not found")
    gg("directory given to gguf", P("dir_as_gguf.gguf"), "is a directory", not_stderr="not found")
    gg("FIFO given to gguf", str(fifo), "not a regular file (a FIFO)")
    gg("symlink loop given to gguf", P("loop_a.png"), "symlink loop")
    gg("zero-byte GGUF", write("empty.gguf", b""), "empty (0 bytes)")
    good_gguf = (r / "ok.gguf").read_bytes()
    gg("bad magic", write("bad_magic.gguf", b"GGUX" + good_gguf[4:]), "not a GGUF file")
    gg("GGUF cut after 100 bytes", write("truncated.gguf", good_gguf[:100]), "malformed or truncated GGUF")
    for name, keys, strings, match in (
        ("image_mean is a string", llava15_keys(), ("clip.vision.image_mean",), "image_mean must be a list of 3"),
        ("image_size is a string", llava15_keys(), ("clip.vision.image_size",), "image_size must be an integer"),
        ("image_size = 1000000", llava15_keys(**{"clip.vision.image_size": 1000000}), (), "in 1..8192"),
        ("image_size = 0", llava15_keys(**{"clip.vision.image_size": 0}), (), "in 1..8192"),
        ("patch_size = 100000", llava15_keys(**{"clip.vision.patch_size": 100000}), (), "patch_size must be"),
        ("image_std = [0, 0, 0]", llava15_keys(**{"clip.vision.image_std": [0.0, 0.0, 0.0]}), (), "finite and > 0"),
        ("image_mean has NaN", llava15_keys(**{"clip.vision.image_mean": [float("nan"), 0.5, 0.5]}), (), "finite"),
        ("image_mean has 2 values", llava15_keys(**{"clip.vision.image_mean": [0.5, 0.5]}), (), "list of 3"),
        ("pinpoints [0, 0]", llava15_keys(**{"clip.vision.image_grid_pinpoints": [0, 0]}), (), "pair 1 is 0x0"),
        ("pinpoints odd count", llava15_keys(**{"clip.vision.image_grid_pinpoints": [336, 672, 672]}), (),
         "(width, height) pairs"),
    ):
        fname = "gguf_" + "".join(c if c.isalnum() else "_" for c in name) + ".gguf"
        write_mmproj(r / fname, keys, strings)
        gg(f"mmproj: {name}", P(fname), match)
    add(Entry("gguf", "run --gguf mmproj with image_size = 1000000",
              ("run", good, "--gguf", P("gguf_image_size___1000000.gguf")), 2, "in 1..8192"))
    add(Entry("gguf", "run --gguf with --model too", ("run", good, "--gguf", P("ok.gguf"), "-m", "llava-1.5"), 2,
              "both given"))
    write_mmproj(r / "idefics3.gguf", {"clip.has_vision_encoder": True, "clip.projector_type": "idefics3",
                                        "clip.vision.image_size": 364, "clip.vision.patch_size": 14,
                                        "clip.vision.image_mean": [0.5, 0.5, 0.5],
                                        "clip.vision.image_std": [0.5, 0.5, 0.5]})
    add(Entry("gguf", "run --gguf idefics3 mmproj, no --impl (only llamacpp supports it)",
              ("run", good, "--gguf", P("idefics3.gguf")), 2, "only llamacpp supports preset"))
    add(Entry("gguf", "run --gguf with one impl", ("run", good, "--gguf", P("ok.gguf"), "--impl", "llamacpp"), 2,
              "at least two impls"))

    # -- HF configs (parity gguf --hf-config)
    def hf(name: str, content: str, match: str, path: str | None = None) -> None:
        cfg = path or write(f"hf/{''.join(c if c.isalnum() else '_' for c in name)}.json", content)
        add(Entry("hf-config", name, ("gguf", P("ok.gguf"), "--hf-config", cfg), 2, match))

    hf("missing HF config", "", "HF config not found", P("missing.json"))
    hf("HF config is a FIFO", "", "not a regular file (a FIFO)", str(fifo))
    hf("not JSON", "{image_mean: oops", "not valid JSON")
    hf("JSON list []", "[]", "not a JSON object")
    hf("image_mean is a string", json.dumps({"image_mean": "0.5,0.5,0.5"}), "image_mean must be a list of 3")
    hf("image_std = [0, 0, 0]", json.dumps({"image_std": [0, 0, 0]}), "finite and > 0")
    hf("size.height is a string", json.dumps({"size": {"height": "336", "width": 336}}), "size.height must be")
    hf("crop_size = -1", json.dumps({"crop_size": -1}), "crop_size must be")
    hf("resample = 9", json.dumps({"resample": 9}), "resample must be")
    hf("pinpoints [[0, 0]]", json.dumps({"image_grid_pinpoints": [[0, 0]]}), "image_grid_pinpoints must be")
    hf("image_mean has 4 values", json.dumps({"image_mean": [0.5, 0.5, 0.5, 0.5]}), "3 values")

    # -- golden manifests (parity golden check --root DIR)
    def manifest_dir(name: str, content: str | None) -> str:
        d = r / "golden" / name
        d.mkdir(parents=True, exist_ok=True)
        if content is not None:
            (d / "manifest.json").write_text(content)
        return str(d)

    scope = ("--model", "llava-1.5", "--impl", "hf-pil,hf-torchvision", "--images", "tiny_27x27.png")
    gold = lambda name, content, code, match, *flags, **kw: add(Entry(  # noqa: E731
        "golden", name, ("golden", "check", "--root", manifest_dir(name.replace(" ", "_").replace("/", "_"), content),
                         *scope, *flags), code, match, **kw))
    gold("deleted manifest", None, 2, "golden manifest not found")
    gold("manifest is []", "[]", 2, "it is a JSON list")
    gold("manifest without cases", json.dumps({"schema_version": 1, "environments": {}}), 2, "no 'cases'")
    gold("cases is a list", json.dumps({"schema_version": 1, "environments": {}, "cases": []}), 2,
         "'cases' is a list")
    gold("case without stages", json.dumps({"schema_version": 1, "environments": {}, "cases": {"a/b/c": {}}}), 2,
         "has no 'stages'")
    gold("stage without sha256", json.dumps({"schema_version": 1, "environments": {},
                                             "cases": {"a/b/c": {"stages": {"pack": {"shape": []}}}}}), 2,
         "no 'sha256'")
    gold("not JSON", "{", 2, "not valid JSON")
    gold("schema_version 99", json.dumps({"schema_version": 99, "environments": {}, "cases": {}}), 2,
         "schema_version 99")
    d = manifest_dir("manifest_is_a_directory", None)
    (Path(d) / "manifest.json").mkdir(exist_ok=True)
    add(Entry("golden", "manifest.json is a directory", ("golden", "check", "--root", d, *scope), 2, "is a directory"))
    gold("empty manifest (no cases)", json.dumps({"schema_version": 1, "environments": {}, "cases": {}}), 1, "",
         extra={"stdout": "nothing was checked"})
    for name, flags, code, out in (("a case in scope has no golden", (), 1, "1 cases have no golden"),
                                   ("same, with --allow-new", ("--allow-new",), 0, "golden check passed")):
        dd = str(r / "golden" / "partial")
        add(Entry("golden", name, ("golden", "check", "--root", dd, *scope, *flags), code, setup="golden-update",
                  extra={"stdout": out, "root": dd}))

    # -- outputs (checked before any work starts)
    (r / "out").mkdir(exist_ok=True)
    (r / "out" / "is_a_dir.npy").mkdir(exist_ok=True)
    afile = write("out/plain_file", "x")
    dump = lambda name, target, match: add(Entry(  # noqa: E731
        "outputs", name, ("dump", good, "-m", "llava-1.5", "--impl", "hf-pil", "-o", target), 2, match,
        output=target if not os.path.isdir(target) else None))
    dump("-o /proc/x.npy", "/proc/x.npy", "not writable")
    dump("-o FILE/x.npy (parent is a file)", afile + "/x.npy", "is a file")
    dump("-o into a missing directory", P("out/no/such/dir/x.npy"), "output directory does not exist")
    dump("-o an existing directory", P("out/is_a_dir.npy"), "is a directory")
    dump("-o with an unknown suffix", P("out/x.txt"), "must end in one of")
    if not (r / "out" / "fifo_target.npy").exists():
        os.mkfifo(r / "out" / "fifo_target.npy")
    add(Entry("outputs", "-o an existing FIFO", ("dump", good, "-m", "llava-1.5", "--impl", "hf-pil", "-o",
                                                 P("out/fifo_target.npy")), 2, "not a regular file"))
    add(Entry("outputs", "golden update --root FILE", ("golden", "update", "--root", afile, *scope), 2, "is a file"))
    add(Entry("outputs", "stdout is /dev/full", ("impls",), 2, "cannot write the output to stdout", subprocess=True,
              extra={"stdout_to": "/dev/full"}))
    add(Entry("outputs", "stdout closed after one line (head -1), a divergence",
              ("run", *[good] * 8, *FAST, "--json"), 1, subprocess=True, pipe=True,
              note="8 cases of ~20 KB: more than a pipe holds, so the CLI meets the closed pipe; the verdict (1) "
                   "survives"))

    # -- usage: nothing compared is never a pass
    use = lambda name, argv, match: add(Entry("usage", name, tuple(argv), 2, match))  # noqa: E731
    use("no arguments", [], "required")
    use("unknown command", ["frobnicate"], "invalid choice")
    use("run without IMAGE", ["run"], "required")
    use("unknown preset", ["run", good, "-m", "no-such-model"], "unknown preset")
    use("unknown impl", ["run", good, "-m", "llava-1.5", "--impl", "hf-pil,nope"], "unknown impl 'nope'")
    use("--impl ''", ["run", good, "-m", "llava-1.5", "--impl", ""], "names nothing")
    use("--impl ','", ["run", good, "-m", "llava-1.5", "--impl", ","], "names nothing")
    use("--impl hf-pil,,hf-torchvision", ["run", good, "-m", "llava-1.5", "--impl", "hf-pil,,hf-torchvision"],
        "empty name")
    use("--impl hf-pil,hf-pil", ["run", good, "-m", "llava-1.5", "--impl", "hf-pil,hf-pil"], "'hf-pil' twice")
    use("--impl hf-pil alone", ["run", good, "-m", "llava-1.5", "--impl", "hf-pil"], "at least two impls")
    use("--baseline not among the impls", ["run", good, *FAST, "--baseline", "ollama"], "baseline 'ollama'")
    use("--from-stage resize", ["run", good, *FAST, "--from-stage", "resize"], "invalid choice")
    use("dump with two impls", ["dump", good, "-m", "llava-1.5", "--impl", "hf-pil,hf-torchvision", "-o",
                                P("out/two.npy")], "one impl")
    use("dump of an unknown stage", ["dump", good, "-m", "llava-1.5", "--impl", "hf-pil", "--stage", "nope", "-o",
                                     P("out/nope.npy")], "has no stage 'nope'")
    use("golden check --model ''", ["golden", "check", "--model", ""], "names nothing")
    use("golden frobnicate", ["golden", "frobnicate"], "invalid choice")
    return entries


def table(entries: list[Entry], results: dict[str, int] | None = None) -> str:
    """Markdown table: group | input | command | required exit code (| got)."""
    head = "| group | input | command | exit |" + (" got |" if results else "")
    lines = [head, "|---" * (5 if results else 4) + "|"]
    for e in entries:
        cmd = " ".join(("parity", *[Path(a).name if a.startswith("/") and "/" in a[1:] and not a.startswith(
            ("/dev", "/proc")) else a for a in e.argv]))
        row = f"| {e.group} | {e.name} | `{cmd}` | {e.code} |"
        if results:
            row += f" {results.get(e.group + ':' + e.name, '?')} |"
        lines.append(row)
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/badinput/make_corpus.py OUTDIR")
    corpus = build(sys.argv[1])
    print(table(corpus))
    print(f"\n{len(corpus)} inputs written under {sys.argv[1]}")
