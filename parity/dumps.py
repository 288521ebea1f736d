"""Load an external dump (a runtime's ``inp_raw.bin``, a ``.npy``/``.npz``, a torch file) as an array.

- raw ``.bin`` (any extension that is not one of the others): float32, float16 or bfloat16 (also
  float64), little-endian, no header. The shape comes from the traces of the same image: every float stage that
  could be the encoder input (``pack``, ``pixel_values_padded``, ``normalize``, ``tiles``) whose
  element count fits the byte count for some dtype is a *candidate reading*. Readings with NaN/Inf or
  absurd magnitudes (a float16 file read as bfloat16 looks like that) are dropped; the dtype whose
  reading comes closest to an impl's stage is chosen, and the stage is ``pack`` (a dump is inp_raw)
  unless the values equal another stage of the same size exactly; all readings are listed. float32
  big-endian is tried too, and named as such, when it fits.
- ``.npy`` / ``.npz``: ``numpy.load(allow_pickle=False)``; an ``.npz`` entry is picked by name
  (``pack``, ``pixel_values``, ``inp_raw``, ``values``) or by being the only one.
- torch files (``.pt``, ``.pth``, or a zip with ``data.pkl``): ``torch.load(weights_only=True)`` only —
  arbitrary pickles are refused, never executed. A tensor, or a dict/list holding one.

Unusable input (missing, not a regular file, empty, wrong size for every reading, NaN/Inf, unsupported
dtype, pickle) raises ParityError with one line naming the file and what was expected. Reads are
bounded before anything is allocated: the file by ``dump_cap`` (the largest expected tensor as
float64 plus 1 MiB), an ``.npy`` header's shape x itemsize against the bytes that follow it (also per
``.npz`` entry, against its uncompressed size), a torch archive's unpacked size by the same cap (torch
checks each storage record against the element count it claims).
"""

from __future__ import annotations

import hashlib
import io
import pickle
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.lib import format as npf

from parity.errors import ParityError
from parity.files import read_regular
from parity.trace import Trace

#: stages a dump can be compared with, in order of preference
DUMP_STAGES = ("pack", "pixel_values_padded", "normalize", "tiles")
#: entry names tried, in order, in .npz / torch dicts
PREFERRED_KEYS = ("pack", "pixel_values", "inp_raw", "values", "arr_0")
#: raw readings: name -> (numpy dtype of the stored words, itemsize)
RAW_DTYPES = {"float32": ("<f4", 4), "float16": ("<f2", 2), "bfloat16": ("<u2", 2), "float64": ("<f8", 8),
              "float32-big-endian": (">f4", 4)}
#: normalized pixels are within a few units; a reading beyond this is a wrong dtype, not data
PLAUSIBLE_MAX = 1e4
#: ... and reach at least ~1e-2 somewhere: a reading whose largest |value| is below this (but not 0) is
#: denormal noise, e.g. NaN or 0.5 words read big-endian (00 00 c0 7f -> 6.9e-41), not pixel data
PLAUSIBLE_MIN = 1e-6


@dataclass(frozen=True)
class Target:
    """A stage a dump may be: where it comes from and its size."""

    impls: tuple[str, ...]  # every impl whose trace has this stage in this shape
    stage: str
    shape: Any  # tuple, or list of part shapes (ragged)
    n: int
    layout: str

    def label(self) -> str:
        return f"{self.stage} {_shape_str(self.shape)} ({', '.join(self.impls)})"


@dataclass(frozen=True)
class Reading:
    """One way to read a raw file: dtype and target stage, with what the values look like."""

    dtype: str
    target: Target
    finite: bool
    max_abs: float
    nmse: float | None  # against the target stage of its impl (None when not finite)
    plausible: bool

    def to_dict(self) -> dict:
        return {"dtype": self.dtype, "impls": list(self.target.impls), "stage": self.target.stage,
                "shape": _jsonable_shape(self.target.shape), "finite": self.finite, "max_abs": self.max_abs,
                "nmse_vs_stage": self.nmse, "plausible": self.plausible}


@dataclass(frozen=True)
class Dump:
    """An external tensor, as loaded, and how it was read."""

    path: str
    format: str  # bin | npy | npz | torch
    values: np.ndarray  # float values in the stored (or inferred) shape; float16/bfloat16 widened to float32
    dtype: str  # stored element type: float32 | float16 | bfloat16 | float64 | ...
    nbytes: int  # file size
    sha1: str  # of the file bytes (for a raw dump: `shasum FILE`)
    sha256: str
    key: str | None = None  # .npz / torch entry used
    readings: tuple[Reading, ...] = ()  # raw files: every reading that fits the size
    chosen: Reading | None = None

    @property
    def shape(self) -> tuple:
        return tuple(int(s) for s in self.values.shape)

    @property
    def ambiguous(self) -> bool:
        """More than one dtype gives plausible values (the same bytes as several stages of equal size
        are one reading: those stages are compared by value later)."""
        return len({r.dtype for r in self.readings if r.plausible}) > 1

    def to_dict(self) -> dict:
        return {"path": self.path, "format": self.format, "dtype": self.dtype, "shape": list(self.shape),
                "nbytes": self.nbytes, "sha1": self.sha1, "sha256": self.sha256, "key": self.key,
                "reading": self.chosen.to_dict() if self.chosen else None,
                "readings": [r.to_dict() for r in self.readings], "ambiguous": self.ambiguous}


def _shape_str(shape: Any) -> str:
    if isinstance(shape, list):
        return "[" + ", ".join("x".join(map(str, s)) for s in shape) + "]"
    return "x".join(map(str, shape)) or "scalar"


def _jsonable_shape(shape: Any) -> list:
    return [list(s) for s in shape] if isinstance(shape, list) else list(shape)


def targets(traces: Iterable[Trace]) -> list[Target]:
    """Float stages of the traces a dump can be (one per distinct (stage, shape), first impl named)."""
    out: dict[tuple, Target] = {}
    for tr in traces:
        for stage in DUMP_STAGES:
            r = tr.get(stage)
            if r is None or r.kind == "plan" or np.dtype(r.dtype if r.dtype != "none" else "u1").kind != "f":
                continue
            shape = r.shape
            n = sum(int(np.prod(s)) for s in shape) if isinstance(shape, list) else int(np.prod(shape))
            key = (stage, str(shape))
            prev = out.get(key)
            out[key] = Target((prev.impls if prev else ()) + (tr.impl,), stage, shape, n, r.layout)
    return list(out.values())


def stage_values(tr: Trace, stage: str) -> np.ndarray:
    """A stage as one float64 vector in canonical (C, slice) order: how raw bytes lay it out."""
    v = tr[stage].value
    if isinstance(v, tuple):
        return np.concatenate([np.asarray(p, np.float64).ravel() for p in v])
    return np.asarray(v, np.float64).ravel()


def _expected(tgts: list[Target]) -> str:
    sizes = sorted({t.n for t in tgts})
    parts = [f"{t.stage} {_shape_str(t.shape)} = {t.n} elements ({4 * t.n} bytes float32, {2 * t.n} float16)"
             for t in sorted(tgts, key=lambda t: (DUMP_STAGES.index(t.stage), t.n))][:3]
    return "; ".join(parts) + (f"; {len(sizes) - 3} more sizes" if len(sizes) > 3 else "")


def _tile_hint(nbytes: int, tgts: list[Target]) -> str:
    """When the bytes hold a whole number of the pack's tiles, say so: a tile-count (plan) difference."""
    pack = next((t for t in tgts if t.stage == "pack" and isinstance(t.shape, tuple) and len(t.shape) == 4), None)
    if pack is None:
        return ""
    per_tile = int(np.prod(pack.shape[1:]))
    for dtype, size in (("float32", 4), ("float16/bfloat16", 2)):
        if nbytes % (size * per_tile) == 0 and nbytes // (size * per_tile) != pack.shape[0]:
            k = nbytes // (size * per_tile)
            return (f"; it holds exactly {k} tiles of {_shape_str(pack.shape[1:])} as {dtype} where the plan has "
                    f"{pack.shape[0]}: the tile grid (plan) differs")
    return ""


def _nonfinite_error(path: str, what: str, v: np.ndarray) -> ParityError:
    nan, inf = int(np.count_nonzero(np.isnan(v))), int(np.count_nonzero(np.isinf(v)))
    first = int(np.flatnonzero(~np.isfinite(v.ravel()))[0])
    return ParityError(f"dump {path} is unusable: it contains {nan} NaN and {inf} infinite values (of {v.size}, "
                       f"read as {what}; first at flat index {first})")


def _decode_raw(data: bytes, dtype: str) -> np.ndarray:
    np_dtype, _ = RAW_DTYPES[dtype]
    words = np.frombuffer(data, dtype=np_dtype)
    if dtype == "bfloat16":
        # bfloat16 is the high half of a float32: widen by shifting the 16 bits up
        return (words.astype(np.uint32) << 16).view(np.float32)
    return words.astype(np.float64 if dtype == "float64" else np.float32)


def load_raw(path: str, data: bytes, traces: list[Trace]) -> tuple[np.ndarray, str, tuple, Reading]:
    tgts = targets(traces)
    by_impl = {t.impl: t for t in traces}
    readings: list[tuple[Reading, np.ndarray]] = []
    for dtype, (_, size) in RAW_DTYPES.items():
        if len(data) % size:
            continue
        n = len(data) // size
        fits = [t for t in tgts if t.n == n]
        if not fits:
            continue
        v = _decode_raw(data, dtype)
        finite = bool(np.all(np.isfinite(v)))
        max_abs = float(np.max(np.abs(v))) if finite else float("inf")
        for t in fits:
            nmse = None
            if finite:
                refs = [stage_values(by_impl[i], t.stage) for i in t.impls]
                nmse = min(float(np.sum((v - r) ** 2) / (np.sum(r * r) or 1.0)) for r in refs)
            plausible = finite and (max_abs == 0 or PLAUSIBLE_MIN <= max_abs <= PLAUSIBLE_MAX)
            if dtype == "float32-big-endian":
                plausible = plausible and not any(r.plausible and r.dtype == "float32" for r, _ in readings)
            readings.append((Reading(dtype, t, finite, max_abs, nmse, plausible), v))
    if not readings:
        raise ParityError(f"dump {path} is {len(data)} bytes, which fits no expected tensor: {_expected(tgts)}"
                          + _tile_hint(len(data), tgts))
    ok = [(r, v) for r, v in readings if r.plausible]
    if not ok:
        r, v = readings[0]
        # exactly the float32 pack's size: the values are the problem, not the tile grid
        exact = any(rd.target.stage == "pack" and rd.dtype == "float32" for rd, _ in readings)
        hint = "" if exact else _tile_hint(len(data), tgts)
        if not r.finite:
            raise ParityError(f"{_nonfinite_error(path, f'{r.dtype} {r.target.stage}', v)}{hint}")
        raise ParityError(f"dump {path} is unusable: read as {r.dtype} its values reach {r.max_abs:.3g}, not "
                          f"pixel data of any float dtype{hint}")
    chosen, v = choose_reading(ok)
    shape = chosen.target.shape
    values = v.reshape(shape) if isinstance(shape, tuple) else v
    return values, chosen.dtype, tuple(r for r, _ in readings), chosen


def choose_reading(ok: list[tuple[Reading, np.ndarray]]) -> tuple[Reading, np.ndarray]:
    """A raw dump is ``inp_raw``: read it as ``pack`` unless it equals another stage exactly. The dtype
    is the one whose reading comes closest to some stage (a wrong dtype is far from every stage); a
    stage of the same size is chosen only when the values are that stage's, bit for bit."""
    closest = min(ok, key=lambda rv: (rv[0].nmse, DUMP_STAGES.index(rv[0].target.stage)))
    if closest[0].nmse == 0:
        return closest
    packs = [rv for rv in ok if rv[0].dtype == closest[0].dtype and rv[0].target.stage == "pack"]
    return min(packs, key=lambda rv: rv[0].nmse) if packs else closest


def _pick(entries: dict[str, Any], path: str) -> tuple[str, Any]:
    for k in PREFERRED_KEYS + DUMP_STAGES:
        if k in entries:
            return k, entries[k]
    if len(entries) == 1:
        return next(iter(entries.items()))
    raise ParityError(f"dump {path} holds {len(entries)} entries and none is named "
                      f"{'/'.join(PREFERRED_KEYS)}: {', '.join(list(entries)[:10])}")


def _is_torch_zip(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return any(n.endswith("data.pkl") for n in z.namelist())
    except Exception:  # zipfile raises many types on broken archives: then it is no torch zip
        return False


def _from_torch(obj: Any, path: str) -> tuple[np.ndarray, str, str | None]:
    key = None
    if isinstance(obj, dict):
        key, obj = _pick({str(k): v for k, v in obj.items()}, path)
    if isinstance(obj, (list, tuple)):
        if not obj or not all(isinstance(t, torch.Tensor) for t in obj):
            raise ParityError(f"dump {path}: a torch list/tuple of {len(obj)} items that are not all tensors")
        dtype = str(obj[0].dtype).removeprefix("torch.")
        return np.concatenate([t.detach().float().numpy().ravel() for t in obj]), dtype, key
    if not isinstance(obj, torch.Tensor):
        raise ParityError(f"dump {path}: torch file holds a {type(obj).__name__}, not a tensor")
    dtype = str(obj.dtype).removeprefix("torch.")
    if not (obj.is_floating_point() or dtype.startswith(("int", "uint"))):
        raise ParityError(f"dump {path}: unsupported tensor dtype {dtype}")
    t = obj.detach().cpu()
    arr = t.float().numpy() if dtype in ("bfloat16", "float16") else t.numpy()
    return np.array(arr), dtype, key


def dump_cap(tgts: list[Target]) -> int:
    """The most bytes a dump may have: the largest expected tensor as float64, plus 1 MiB of container
    headers (.npy/.npz/torch); 2 GiB when nothing is expected."""
    return (8 * max(t.n for t in tgts) + 2**20) if tgts else 2**31


def _npy_header(fh: Any, path: str, data_bytes: int, what: str = "") -> tuple[tuple, np.dtype]:
    """Shape and dtype from an .npy header, checked against the bytes that follow it, before anything
    is allocated (a header may claim 10^9 x 10^9 elements)."""
    try:
        version = npf.read_magic(fh)
        read = npf.read_array_header_1_0 if version == (1, 0) else npf.read_array_header_2_0
        shape, _, dtype = read(fh)
    except Exception as e:  # numpy's header parser: ValueError, SyntaxError, tokenize.TokenError... on garbage
        raise ParityError(f"dump {path}{what} is not a readable .npy file: {str(e).splitlines()[0][:160]}") from None
    if dtype.hasobject:
        raise ParityError(f"dump {path}{what} is not a readable .npy file: it holds Python objects (a pickle); refused")
    n = 1
    for s in shape:
        n *= int(s)
    need = n * dtype.itemsize
    have = data_bytes - fh.tell()
    if need != have:
        raise ParityError(f"dump {path}{what}: its .npy header says shape {tuple(shape)} {dtype} = {need:,} bytes "
                          f"but {have:,} bytes of data follow")
    return tuple(shape), dtype


def load_dump(path: str, traces: list[Trace]) -> Dump:
    """Load ``path``; ``traces`` (the impls' runs on the same image) give raw files their shape."""
    p = Path(path)
    tgts = targets(traces)
    data = read_regular(p, "dump", dump_cap(tgts), cap_reason="8 bytes per element of the largest expected "
                        "tensor, plus 1 MiB of headers")
    if not data:
        raise ParityError(f"dump {p} is empty (0 bytes)")
    common = dict(path=str(p), nbytes=len(data), sha1=hashlib.sha1(data).hexdigest(),
                  sha256=hashlib.sha256(data).hexdigest())
    suffix = p.suffix.lower()
    key, readings, chosen = None, (), None
    if suffix == ".npy":
        fmt = "npy"
        _npy_header(io.BytesIO(data), str(p), len(data))
        try:
            arr = np.load(io.BytesIO(data), allow_pickle=False)
        except Exception as e:  # the same parser again, then the data: every failure is a broken file
            raise ParityError(f"dump {p} is not a readable .npy file: {e}".splitlines()[0]) from None
        dtype = str(arr.dtype)
    elif suffix == ".npz":
        fmt = "npz"
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                members = {n.removesuffix(".npy"): n for n in zf.namelist()}
                key, member = _pick(members, str(p))
                info = zf.getinfo(member)
                if info.file_size > dump_cap(tgts):
                    raise ParityError(f"dump {p}: entry {key!r} is {info.file_size:,} bytes uncompressed, more than "
                                      f"any expected tensor")
                with zf.open(member) as fh:
                    _npy_header(fh, str(p), info.file_size, f" entry {key!r}")
                with zf.open(member) as fh:
                    arr = npf.read_array(io.BytesIO(fh.read(info.file_size + 1)), allow_pickle=False)
        except ParityError:
            raise
        except Exception as e:  # zipfile/zlib/numpy raise many types on broken archives
            reason = str(e).splitlines()[0][:160] if str(e).strip() else type(e).__name__
            raise ParityError(f"dump {p} is not a readable .npz file: {reason}") from None
        dtype = str(arr.dtype)
    elif suffix in (".pt", ".pth") or _is_torch_zip(data):
        fmt = "torch"
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                unpacked = sum(i.file_size for i in zf.infolist())
        except Exception:  # not a zip (a legacy torch pickle), or a broken one: torch.load says which
            unpacked = 0
        if unpacked > dump_cap(tgts):
            raise ParityError(f"dump {p}: torch archive unpacks to {unpacked:,} bytes, more than any expected "
                              f"tensor")
        try:
            # torch itself checks each storage record's size against the element count it claims
            obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as e:
            raise ParityError(f"dump {p} refused: not loadable with torch.load(weights_only=True) "
                              f"({str(e).splitlines()[0][:160]})") from None
        except Exception as e:  # torch.load raises IndexError, KeyError, struct.error... on garbage bytes
            reason = str(e).splitlines()[0][:160] if str(e).strip() else type(e).__name__
            raise ParityError(f"dump {p} is not a readable torch file: {reason}") from None
        arr, dtype, key = _from_torch(obj, str(p))
    else:
        fmt = "bin"
        arr, dtype, readings, chosen = load_raw(str(p), data, traces)
    if arr.dtype.kind not in "fiu" or arr.dtype.kind == "c":
        raise ParityError(f"dump {p}: unsupported dtype {arr.dtype} (expected a float tensor)")
    if arr.size == 0:
        raise ParityError(f"dump {p} holds an empty array (shape {arr.shape})")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise _nonfinite_error(str(p), dtype, arr)
    if fmt != "bin":
        if tgts and arr.size not in {t.n for t in tgts}:
            raise ParityError(f"dump {p} has shape {_shape_str(arr.shape)} = {arr.size} elements, which fits no "
                              f"expected tensor: {_expected(tgts)}")
        if arr.dtype == np.float16:
            arr = arr.astype(np.float32)
    return Dump(format=fmt, values=arr, dtype=dtype, key=key, readings=readings, chosen=chosen, **common)


