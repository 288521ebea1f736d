"""The trace data model: ordered stage records of one (preset, impl, image) run.

A stage value is one of
- an ndarray (uint8 image stages, float32 tensors, int side outputs),
- a tuple of ndarrays (ragged stages, e.g. slices of different sizes),
- a dict (the ``plan``: a small JSON-able geometry decision, compared exactly).

Hashes are taken over *canonical bytes*: C-order little-endian array bytes (tuples concatenated in
order), or compact sorted-key JSON for dicts. For the ``pack`` stage of a llama.cpp-style layout the
canonical bytes are exactly ``inp_raw``, so ``shasum inp_raw.bin`` equals the printed sha1.

sha256 identifies a stage everywhere a user sees one (traces, reports, sweeps, goldens). A golden check
also has XXH3-128 (https://xxhash.com, the ``xxhash`` package): ~15x faster than sha256 here (about 30 vs
2 GB/s), not cryptographic but 128 bits wide, so an accidental change of a stage collides with its golden
with odds of about 2**-128; nobody forges goldens against their own CI.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import xxhash

#: Canonical stage names in pipeline order. Impls record the ones they really have, in their own order.
STAGES = ("decode", "plan", "resize", "pad", "tiles", "normalize", "pack")

#: Side outputs that accompany ``pack`` (names shared across impls so they compare by name).
SIDE_OUTPUTS = (
    "aspect_ratio_ids",
    "aspect_ratio_mask",
    "num_tiles",
    "image_grid_thw",
    "image_sizes",
    "num_crops",
    "pixel_values_padded",
)

StageValue = np.ndarray | tuple | dict


def _little_endian(dtype: np.dtype) -> np.dtype:
    """``dtype`` in little-endian byte order: the byte layout runtimes write for inp_raw on x86/ARM."""
    if dtype.byteorder == ">" or (dtype.byteorder == "=" and np.little_endian is False):
        return dtype.newbyteorder("<")
    return dtype


def _canonical_array(value: np.ndarray) -> np.ndarray:
    """The array whose memory is the canonical bytes: little-endian, C order (a copy only when needed)."""
    arr = np.asarray(value)
    return np.ascontiguousarray(arr, dtype=_little_endian(arr.dtype))


def _canonical_parts(value: StageValue) -> Iterator[bytes | memoryview]:
    """The canonical bytes as consecutive buffers, in order; arrays are viewed, not copied."""
    if isinstance(value, dict):
        yield json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    elif isinstance(value, tuple):
        for v in value:
            yield from _canonical_parts(v)
    else:
        arr = _canonical_array(value)
        try:
            yield memoryview(arr).cast("B")
        except (TypeError, ValueError):  # a dtype without a buffer format (datetime...): its bytes
            yield arr.tobytes()


def canonical_bytes(value: StageValue) -> bytes:
    """Bytes the hashes are taken over (see module docstring)."""
    return b"".join(bytes(p) for p in _canonical_parts(value))


def canonical_nbytes(value: StageValue) -> int:
    """len(canonical_bytes(value)), without building the bytes (nor a canonical copy of an array)."""
    if isinstance(value, dict):
        return len(json.dumps(value, sort_keys=True, separators=(",", ":")).encode())
    if isinstance(value, tuple):
        return sum(canonical_nbytes(v) for v in value)
    arr = np.asarray(value)
    return arr.size * arr.dtype.itemsize


#: the fast stage identity a golden check compares: XXH3-128 (see the module docstring)
FAST_HASH = "xxh3_128"
#: the hashes a run's JSON shows for each stage (``shasum`` and ``sha256sum`` of the canonical bytes)
FULL_HASHES = ("sha1", "sha256")


def digest(name: str, value: StageValue) -> str:
    """Hex digest of the canonical bytes, fed buffer by buffer: ``name`` is a ``hashlib`` algorithm or
    ``FAST_HASH``."""
    h = xxhash.xxh3_128() if name == FAST_HASH else hashlib.new(name)
    for part in _canonical_parts(value):
        h.update(part)
    return h.hexdigest()


def _immutable(arr: np.ndarray) -> bool:
    """Read-only all the way down to an array that owns its memory."""
    while isinstance(arr, np.ndarray):
        if arr.flags.writeable:
            return False
        if arr.base is None:
            return True
        arr = arr.base
    return False  # memory owned by another kind of object (bytes, mmap...): copied to be safe


def sealed(value: StageValue) -> StageValue:
    """``value`` handed to a trace as it is: each array that owns its memory is made read-only, so
    ``_freeze`` keeps it without a copy (a view, or an array over another object's memory, is left as it
    is and copied as before). Only for arrays just allocated for the record (``np.stack(...)``,
    ``np.fromfile(...)``, ``astype``) that no view was taken of yet: nothing can write them afterwards (a
    write through the array itself raises). Returns ``value``."""
    if isinstance(value, tuple):
        for v in value:
            sealed(v)
    elif isinstance(value, np.ndarray) and value.base is None:
        value.setflags(write=False)
    return value


def _freeze(value: StageValue) -> StageValue:
    """Read-only copies, so a record cannot change after it is hashed. An array that is already
    read-only and owns its memory (a shared decode), or a read-only view of one through read-only views
    only, cannot change either: it is kept as it is. The copy is made in canonical layout (C order,
    little-endian), so hashing it needs no second one."""
    if isinstance(value, dict):
        return json.loads(json.dumps(value))
    if isinstance(value, tuple):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, np.ndarray) and _immutable(value):
        return value
    src = np.asarray(value)
    arr = np.array(src, dtype=_little_endian(src.dtype), order="C", copy=True)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True)
class StageRecord:
    """One stage of one run: its value, the layout label and hashes of its canonical bytes."""

    name: str
    value: StageValue
    layout: str
    approximate: str | None = None  # reason, when this stage is not bit-faithful to the real code
    note: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", _freeze(self.value))
        if isinstance(self.value, dict):  # a dict stays mutable: its (small) hashes are taken now
            object.__setattr__(self, "sha256", digest("sha256", self.value))
            object.__setattr__(self, FAST_HASH, digest(FAST_HASH, self.value))

    # Array hashes are taken on first use: a recorded array cannot change (read-only), so a hash taken later
    # is the hash of what was recorded, and a run that never asks (a test reading arrays) never pays for it.
    @cached_property
    def sha256(self) -> str:
        """sha256 of the canonical bytes: what identifies a stage everywhere (comparison, goldens, sweeps)."""
        return digest("sha256", self.value)

    @cached_property
    def xxh3_128(self) -> str:
        """XXH3-128 of the canonical bytes: the fast identity a golden check compares (module docstring)."""
        return digest(FAST_HASH, self.value)

    @cached_property
    def sha1(self) -> str:
        """sha1 of the canonical bytes (``shasum inp_raw.bin``): only ``to_dict`` and the renderers show it."""
        return digest("sha1", self.value)

    @property
    def kind(self) -> str:
        if isinstance(self.value, dict):
            return "plan"
        return "ragged" if isinstance(self.value, tuple) else "array"

    @property
    def dtype(self) -> str:
        if isinstance(self.value, dict):
            return "json"
        if isinstance(self.value, tuple):
            return str(self.value[0].dtype) if self.value else "none"
        return str(self.value.dtype)

    @property
    def shape(self) -> tuple | list:
        if isinstance(self.value, dict):
            return ()
        if isinstance(self.value, tuple):
            return [tuple(int(s) for s in v.shape) for v in self.value]
        return tuple(int(s) for s in self.value.shape)

    @property
    def shape_json(self) -> list:
        """``shape`` as JSON writes it: a list, or a list of lists for a ragged stage."""
        return [list(s) for s in self.shape] if self.kind == "ragged" else list(self.shape)

    @property
    def nbytes(self) -> int:
        return canonical_nbytes(self.value)

    def to_dict(self, with_value: bool = False, hashes: tuple[str, ...] = FULL_HASHES) -> dict[str, Any]:
        """JSON-able record with the named ``hashes`` (each one a pass over the bytes: a golden check's
        case dicts carry only ``FAST_HASH``, a normal run's sha1 and sha256)."""
        d: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "dtype": self.dtype,
            "shape": self.shape_json,
            "layout": self.layout,
            **{name: getattr(self, name) for name in hashes},
            "nbytes": self.nbytes,
            "approximate": self.approximate,
        }
        if self.note:
            d["note"] = self.note
        if self.kind == "plan" or with_value:
            d["value"] = self.value if self.kind == "plan" else np.asarray(self.value).tolist()
        return d


@dataclass(frozen=True)
class Trace:
    """The ordered stage records of one (preset, impl, image) run."""

    preset: str
    impl: str
    impl_version: str
    image: str
    stages: tuple[StageRecord, ...]

    def __post_init__(self) -> None:
        names = [s.name for s in self.stages]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"duplicate stage names in trace: {sorted(dup)}")

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.stages]

    def __contains__(self, name: str) -> bool:
        return name in self.names

    def __getitem__(self, name: str) -> StageRecord:
        for s in self.stages:
            if s.name == name:
                return s
        raise KeyError(f"stage {name!r} not in trace of {self.impl} (has: {', '.join(self.names)})")

    def get(self, name: str) -> StageRecord | None:
        return next((s for s in self.stages if s.name == name), None)

    @property
    def plan(self) -> dict:
        return self["plan"].value

    def to_dict(self, hashes: tuple[str, ...] = FULL_HASHES) -> dict[str, Any]:
        return {
            "preset": self.preset,
            "impl": self.impl,
            "impl_version": self.impl_version,
            "image": self.image,
            "stages": [s.to_dict(hashes=hashes) for s in self.stages],
        }


class TraceBuilder:
    """Collects stage records in the order an impl produces them."""

    def __init__(self) -> None:
        self._stages: list[StageRecord] = []

    def add(self, name: str, value: StageValue, layout: str, *, approximate: str | None = None,
            note: str = "") -> StageValue:
        self._stages.append(StageRecord(name, value, layout, approximate, note))
        return value

    def build(self, preset: str, impl: str, impl_version: str, image: str) -> Trace:
        return Trace(preset, impl, impl_version, image, tuple(self._stages))
