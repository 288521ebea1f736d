"""Encode one recorded stage (or a whole trace) as a dump file's bytes: ``.bin`` (canonical
little-endian bytes, which for ``pack`` are ``inp_raw``), ``.npy`` (one array) or ``.npz`` (several)."""

from __future__ import annotations

import io

import numpy as np

from parity.errors import ParityError
from parity.trace import StageRecord, Trace, canonical_bytes

FORMATS = (".bin", ".npy", ".npz")


def _arrays(rec: StageRecord) -> dict[str, np.ndarray]:
    if rec.kind == "plan":
        raise ParityError(f"stage {rec.name!r} is a plan (JSON), not an array; see `parity run --json`")
    if rec.kind == "ragged":
        return {f"{rec.name}_{i}": np.asarray(v) for i, v in enumerate(rec.value)}
    return {rec.name: np.asarray(rec.value)}


def encode_stage(trace: Trace, stage: str | None, suffix: str) -> bytes:
    """File bytes for ``stage`` (default ``pack``; all array stages for ``.npz`` without a stage)."""
    if suffix == ".npz" and stage is None:
        arrays = {}
        for rec in trace.stages:
            if rec.kind != "plan":
                arrays.update(_arrays(rec))
    else:
        rec = trace[stage or "pack"] if (stage or "pack") in trace else None
        if rec is None:
            raise ParityError(f"{trace.impl} has no stage {stage or 'pack'!r}; it has: {', '.join(trace.names)}")
        if suffix == ".bin":
            if rec.kind == "plan":
                raise ParityError(f"stage {rec.name!r} is a plan (JSON), not an array")
            return canonical_bytes(rec.value)
        arrays = _arrays(rec)
        if suffix == ".npy":
            if len(arrays) != 1:
                raise ParityError(f"stage {rec.name!r} is ragged ({len(arrays)} parts): write .npz or .bin")
            buf = io.BytesIO()
            np.save(buf, next(iter(arrays.values())))
            return buf.getvalue()
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()
