"""Regression goldens: pinned hashes (and, for a curated subset, arrays) of every stage of every case.

Layout under a golden root (default ``fixtures/golden/``):

- ``manifest.json``::

      {"schema_version": 1,
       "environments": {"<env id>": {"numpy": "2.4.6", "Pillow": "13.0.0", "libjpeg": "...", ...}},
       "cases": {"<preset>/<impl>/<image>": {
           "impl_version": "...", "environment": "<env id>",
           "stages": {"<stage>": {"sha256", "shape", "dtype", "layout", "approximate", "array"}},
           "plan": {...}}}}

  ``plan`` (and any other dict-valued stage, under ``stages.<name>.value``) is stored whole so a changed
  plan is shown key by key. ``environments`` records the versions of every library that can change
  pixels (decoders, resamplers), so a mismatch says whether the environment or the code changed.
- ``<preset>/<impl>/<image>/<stage>.npz``: compressed arrays for a small curated subset (ARRAY_IMAGES;
  integer stages up to ARRAY_MAX_BYTES, float stages up to ARRAY_MAX_FLOAT_BYTES), so a changed hash
  is explained numerically. A mismatch writes ``<stage>.obtained.npz`` next to the expected file.

Protocol (after pytest-regressions): ``check`` never writes goldens; ``update`` is the only writer
(``parity golden update``), atomic per file (temp file + ``os.replace``, manifest last), and returns
what changed. The same engine backs the pytest plugin (parity.pytest_plugin), keyed by a name.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from parity.compare import diff_plan, diff_records
from parity.errors import ParityError
from parity.trace import StageRecord, Trace

SCHEMA_VERSION = 1

#: the goldens of this repository
DEFAULT_ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "golden"

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
    from PIL import features

    for label, feature in (("libjpeg", "jpg"), ("zlib", "zlib")):
        env[label] = str(features.version(feature) or "absent")
    env["libjpeg-turbo"] = str(features.version_feature("libjpeg_turbo") or "no")
    env["machine"] = platform.machine()
    return env


def env_id(env: Mapping[str, str]) -> str:
    return hashlib.sha256(json.dumps(dict(env), sort_keys=True).encode()).hexdigest()[:12]


def case_key(preset: str, impl: str, image: str) -> str:
    return f"{preset}/{impl}/{image}"


# ---------------------------------------------------------------------------------------------- entries


def json_shape(rec: StageRecord) -> list:
    return [list(s) for s in rec.shape] if rec.kind == "ragged" else list(rec.shape)


def value_nbytes(rec: StageRecord) -> int:
    """Bytes of the stage's arrays (without building its canonical bytes)."""
    if rec.kind == "plan":
        return 0
    parts = rec.value if rec.kind == "ragged" else (rec.value,)
    return int(sum(np.asarray(p).nbytes for p in parts))


def stage_entry(rec: StageRecord) -> dict[str, Any]:
    e: dict[str, Any] = {"sha256": rec.sha256, "shape": json_shape(rec), "dtype": rec.dtype, "layout": rec.layout,
                         "approximate": rec.approximate, "array": False}
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
    (``parity.export.atomic_write``: mode 0666 & ~umask, nothing left behind on failure)."""
    from parity.export import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {"value": np.asarray(value)} if not isinstance(value, tuple) else \
        {f"part{i:04d}": np.asarray(v) for i, v in enumerate(value)}
    atomic_write(path, writer=lambda fh: np.savez_compressed(fh, **arrays))


def load_npz(path: Path) -> np.ndarray | tuple:
    """A stored golden array; a damaged file is a one-line ParityError naming it."""
    import io

    from parity.export import MAX_MANIFEST_BYTES, read_regular

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
    from parity.export import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, (json.dumps(obj, indent=1, sort_keys=True) + "\n").encode())


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
            if not isinstance(st.get("shape"), list) or not isinstance(st.get("dtype"), str):
                return f"case {key!r} stage {name!r} needs a 'shape' list and a 'dtype' string"
    return None


def load_manifest(root: Path, required: bool = False) -> dict[str, Any]:
    """The manifest under ``root``, structure validated (one-line ParityError otherwise). A missing
    one is an empty manifest for ``update`` and the pytest plugin; with ``required`` (``parity golden
    check``) it is an error: a lost manifest must not turn a CI gate green."""
    from parity.export import MAX_MANIFEST_BYTES, read_regular

    path = Path(root) / "manifest.json"
    if not required and not os.path.lexists(path):
        return {"schema_version": SCHEMA_VERSION, "environments": {}, "cases": {}}
    data = read_regular(path, "golden manifest", MAX_MANIFEST_BYTES)
    try:
        m = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
        raise ParityError(f"golden manifest is not valid JSON: {path}: {str(e).splitlines()[0][:120]}") from None
    if isinstance(m, dict) and m.get("schema_version") != SCHEMA_VERSION:
        raise ParityError(f"golden manifest {path} has schema_version {m.get('schema_version')!r}, "
                          f"expected {SCHEMA_VERSION}; regenerate with `parity golden update`")
    problem = _manifest_problem(m)
    if problem:
        raise ParityError(f"golden manifest {path} is malformed: {problem}")
    return m


# ---------------------------------------------------------------------------------------------- check


@dataclass(frozen=True)
class Mismatch:
    """One stage of one case that no longer matches its golden."""

    key: str
    stage: str
    what: str  # sha256 | shape | dtype | plan | missing-stage | extra-stage | error
    cause: str  # environment | code
    env_changes: dict = field(default_factory=dict)  # library -> [recorded, now]
    expected: dict = field(default_factory=dict)
    obtained: dict = field(default_factory=dict)
    diff: dict | None = None  # StageDiff.to_dict() (stored arrays) or plan diff
    first_differences: list = field(default_factory=list)  # [{index, obtained, expected, difference}]
    expected_path: str | None = None
    obtained_path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def render(self) -> list[str]:
        """ndarrays_regression-style lines: what differs, why (env or code), the numbers, where."""
        out = [f"{self.key} stage {self.stage!r}: {self.what} differs; cause: {self.cause}"
               + (" (" + ", ".join(f"{k} {a} -> {b}" for k, (a, b) in self.env_changes.items()) + ")"
                  if self.env_changes else " (same library versions as recorded)")]
        if self.what in ("shape", "dtype"):
            out.append(f"  expected {self.what} {self.expected.get(self.what)}, obtained {self.obtained.get(self.what)}")
        if self.what == "plan" and self.diff:
            for k, v in list(self.diff.items())[:LIST_CAP]:
                out.append(f"  plan[{k!r}]: expected {v['a']!r}, obtained {v['b']!r}")
        if self.what == "error":
            out.append(f"  now raises: {self.obtained.get('error')}")
        d = self.diff if self.what == "sha256" else None
        if d and "n_diff" in d:
            n, k = d["n"], d["n_diff"]
            out.append(f"  Number of differences: {k} / {n} ({100.0 * k / max(n, 1):.3g}%)")
            out.append(f"  max |Δ| {d['max_abs']:.6g} = {d['max_levels']:.3g} uint8 levels; "
                       f"mean |Δ| {d['mean_abs']:.6g} = {d['mean_levels']:.3g} levels; NMSE {d['nmse']:.3g}")
            for m in self.first_differences:
                out.append(f"    at {m['index']}: obtained {m['obtained']!r}, expected {m['expected']!r}, "
                           f"difference {m['difference']!r}")
        elif self.what == "sha256" and self.expected_path is None:
            out.append(f"  sha256 {self.expected.get('sha256', '')[:16]}… -> {self.obtained.get('sha256', '')[:16]}… "
                       "(no stored array for this case: hash only)")
        if self.obtained_path:
            out.append(f"  obtained array written to {self.obtained_path}")
        return out


@dataclass
class GoldenReport:
    """The outcome of a golden check. ``bool(report)`` is ``passed``."""

    root: str
    cases_checked: int = 0
    stages_checked: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    new_cases: list[str] = field(default_factory=list)  # produced, no golden yet (not a regression)
    missing_cases: list[str] = field(default_factory=list)  # golden, in scope, not produced any more
    environment: dict = field(default_factory=dict)
    #: what to run when the change is intended (the pytest plugin names --update-goldens)
    update_hint: str = "`parity golden update` (then review `git diff fixtures/golden`)"
    #: the CI gate (``parity golden check``) sets both False/True: a case without a golden fails unless
    #: ``--allow-new``, and a check that compared nothing fails. The matrix report and the pytest plugin
    #: keep the defaults (new cases are listed; the plugin writes missing goldens itself).
    allow_new: bool = True
    require_checked: bool = False

    @property
    def unchecked_new(self) -> bool:
        return bool(self.new_cases) and not self.allow_new

    @property
    def nothing_checked(self) -> bool:
        return self.require_checked and self.cases_checked == 0

    @property
    def passed(self) -> bool:
        return not self.mismatches and not self.missing_cases and not self.unchecked_new and not self.nothing_checked

    def __bool__(self) -> bool:
        return self.passed

    def by_stage(self) -> dict[str, list[str]]:
        """Stage -> the cases whose golden it broke, pipeline-first stages first."""
        from parity.trace import STAGES

        out: dict[str, list[str]] = {}
        for m in self.mismatches:
            out.setdefault(m.stage, []).append(m.key)
        order = {s: i for i, s in enumerate(STAGES)}
        return dict(sorted(out.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))

    def causes(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for m in self.mismatches:
            out[m.cause] = out.get(m.cause, 0) + 1
        return out

    def summary_line(self) -> str:
        if self.passed:
            return (f"golden check passed: {self.cases_checked} cases, {self.stages_checked} stages identical"
                    + (f"; {len(self.new_cases)} new cases without golden" if self.new_cases else ""))
        parts = [f"{len(self.mismatches)} stage mismatches" if self.mismatches else "",
                 f"{len(self.missing_cases)} golden cases not produced" if self.missing_cases else "",
                 f"{len(self.new_cases)} cases have no golden" if self.unchecked_new else "",
                 "nothing was checked (no case in scope has a golden)" if self.nothing_checked else ""]
        head = "golden regression" if self.mismatches or self.missing_cases else "golden check failed"
        return f"{head}: " + ", ".join(p for p in parts if p) + f" (of {self.cases_checked} cases checked)"

    def render(self) -> str:
        lines = [self.summary_line()]
        for stage, keys in self.by_stage().items():
            causes = sorted({m.cause for m in self.mismatches if m.stage == stage})
            lines.append(f"stage {stage!r} changed in {len(keys)} cases (cause: {', '.join(causes)}): "
                         + ", ".join(keys[:LIST_CAP]) + (f", … {len(keys) - LIST_CAP} more" if len(keys) > LIST_CAP else ""))
        shown = sorted(self.mismatches, key=lambda m: (m.expected_path is None, m.key))[:LIST_CAP]
        for m in shown:
            lines.extend(m.render())
        if len(self.mismatches) > len(shown):
            lines.append(f"… {len(self.mismatches) - len(shown)} more mismatches (see the JSON report)")
        for k in self.missing_cases[:LIST_CAP]:
            lines.append(f"{k}: has a golden but was not produced (impl no longer supports it?)")
        if self.new_cases:
            more = f", … {len(self.new_cases) - LIST_CAP} more" if len(self.new_cases) > LIST_CAP else ""
            lines.append(f"{len(self.new_cases)} cases have no golden"
                         + (" (accepted: --allow-new)" if self.allow_new and self.require_checked else "")
                         + ": " + ", ".join(self.new_cases[:LIST_CAP]) + more)
        if self.unchecked_new:
            lines.append("New cases fail the check: record them with `parity golden update`, or accept them "
                         "explicitly with `parity golden check --allow-new`.")
        elif not self.passed:
            lines.append(f"If the change is intended: {self.update_hint}.")
        return "\n".join(lines)

    def render_text(self) -> str:
        return self.render()

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "passed": self.passed,
            "summary": self.summary_line(),
            "cases_checked": self.cases_checked,
            "stages_checked": self.stages_checked,
            "by_stage": self.by_stage(),
            "causes": self.causes(),
            "mismatches": [m.to_dict() for m in self.mismatches],
            "new_cases": self.new_cases,
            "missing_cases": self.missing_cases,
            "allow_new": self.allow_new,
            "environment": self.environment,
        }


def env_changes(recorded: Mapping[str, str], now: Mapping[str, str]) -> dict[str, list[str]]:
    return {k: [recorded.get(k, "absent"), now.get(k, "absent")]
            for k in sorted(set(recorded) | set(now)) if recorded.get(k) != now.get(k)}


def first_differences(expected: np.ndarray, obtained: np.ndarray, cap: int = LIST_CAP) -> list[dict]:
    """The first ``cap`` differing elements (C order) of two same-shape arrays."""
    e, o = np.asarray(expected), np.asarray(obtained)
    if e.shape != o.shape:
        return []
    neq = np.argwhere(e != o)[:cap]
    out = []
    for idx in neq:
        t = tuple(int(i) for i in idx)
        ev, ov = e[t].item(), o[t].item()
        out.append({"index": list(t), "obtained": ov, "expected": ev, "difference": ov - ev})
    return out


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

    def check_case(self, key: str, records: list[StageRecord], impl_version: str = "",
                   std: list[float] | None = None, write_obtained: bool = True) -> list[Mismatch]:
        """Mismatches of ``records`` against the golden of ``key`` ([] when equal; raises KeyError
        when there is no golden)."""
        entry = self.cases[key]
        changes = env_changes(self.recorded_env(key), self.env)
        if entry.get("impl_version", "") != impl_version:
            changes["impl_version"] = [entry.get("impl_version", ""), impl_version]
        cause = "environment" if changes else "code"
        out = []
        got = {r.name: r for r in records}
        for name, exp in entry["stages"].items():
            rec = got.get(name)
            if rec is None:
                out.append(Mismatch(key, name, "missing-stage", cause, changes, exp, {}))
                continue
            if rec.sha256 == exp["sha256"]:
                continue
            obt = stage_entry(rec)
            if obt["dtype"] != exp["dtype"]:
                out.append(Mismatch(key, name, "dtype", cause, changes, exp, obt))
                continue
            if obt["shape"] != exp["shape"]:
                out.append(Mismatch(key, name, "shape", cause, changes, exp, obt))
                continue
            if rec.kind == "plan":
                expected_plan = entry.get("plan", {}) if name == "plan" else exp.get("value", {})
                out.append(Mismatch(key, name, "plan", cause, changes, exp, obt,
                                    diff=diff_plan(expected_plan, rec.value)))
                continue
            diff, firsts, epath, opath = None, [], None, None
            if exp.get("array"):
                p = array_path(self.root, key, name)
                if p.exists():
                    expected = load_npz(p)
                    erec = StageRecord(name, expected, exp.get("layout", ""))
                    diff = diff_records(erec, rec, std).to_dict()
                    if rec.kind == "array":
                        firsts = first_differences(expected, rec.value)
                    epath = str(p)
                    if write_obtained:
                        op = array_path(self.root, key, name, ".obtained.npz")
                        save_npz_atomic(op, rec.value)
                        opath = str(op)
            out.append(Mismatch(key, name, "sha256", cause, changes, exp, obt, diff, firsts, epath, opath))
        for name in got:
            if name not in entry["stages"]:
                out.append(Mismatch(key, name, "extra-stage", cause, changes, {}, stage_entry(got[name])))
        return out

    # ------------------------------------------------------------------------------------------ update

    def updated_entry(self, key: str, records: list[StageRecord], impl_version: str,
                      store_arrays: bool) -> dict[str, Any]:
        stages = {}
        for r in records:
            e = stage_entry(r)
            is_int = r.kind != "plan" and r.dtype != "none" and np.dtype(r.dtype).kind in "iub"
            cap = ARRAY_MAX_BYTES if is_int else ARRAY_MAX_FLOAT_BYTES
            e["array"] = bool(store_arrays and r.kind != "plan" and value_nbytes(r) <= cap)
            stages[r.name] = e
        entry: dict[str, Any] = {"impl_version": impl_version, "environment": env_id(self.env), "stages": stages}
        plan = next((r.value for r in records if r.kind == "plan" and r.name == "plan"), None)
        if plan is not None:
            entry["plan"] = plan
        return entry


@dataclass
class UpdateSummary:
    """What ``update`` changed: case keys added / removed, and (key, stage, old sha, new sha) changed."""

    root: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[tuple[str, str, str, str]] = field(default_factory=list)
    unchanged: int = 0
    arrays_written: int = 0
    kept_errors: list[str] = field(default_factory=list)  # raised now; their old goldens were kept

    def render(self) -> str:
        kept = ([f"  {len(self.kept_errors)} cases raise now; their goldens were kept (`parity golden check` "
                 f"reports them): " + ", ".join(self.kept_errors[:LIST_CAP])
                 + (" …" if len(self.kept_errors) > LIST_CAP else "")] if self.kept_errors else [])
        if not (self.added or self.removed or self.changed):
            return "\n".join([f"goldens unchanged ({self.unchanged} cases) in {self.root}"] + kept)
        lines = [f"goldens updated in {self.root}: {len(self.added)} cases added, {len(self.changed)} stages "
                 f"changed, {len(self.removed)} cases removed, {self.unchanged} cases unchanged, "
                 f"{self.arrays_written} arrays written"]
        for key, stage, old, new in self.changed[:LIST_CAP * 3]:
            lines.append(f"  changed {key} stage {stage!r}: sha256 {old[:12]} -> {new[:12]}")
        if len(self.changed) > LIST_CAP * 3:
            lines.append(f"  … {len(self.changed) - LIST_CAP * 3} more changed stages")
        for key in self.added[:LIST_CAP]:
            lines.append(f"  added {key}")
        if len(self.added) > LIST_CAP:
            lines.append(f"  … {len(self.added) - LIST_CAP} more added")
        for key in self.removed[:LIST_CAP]:
            lines.append(f"  removed {key}")
        return "\n".join(lines + kept)

    #: an update always succeeds (it is the only writer); the CLI exits 0 after it
    passed = True

    def render_text(self) -> str:
        return self.render()

    def to_dict(self) -> dict[str, Any]:
        return {"root": self.root, "passed": True, "summary": self.render().splitlines()[0], "added": self.added, "removed": self.removed,
                "changed": [list(c) for c in self.changed], "unchanged": self.unchanged,
                "kept_errors": self.kept_errors,
                "arrays_written": self.arrays_written}


# ------------------------------------------------------------------------------------- the public API


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


class GoldenCheck:
    """A streaming check: ``add`` each produced case (its arrays can be dropped afterwards), then
    ``report``. Never writes a golden; writes ``.obtained.npz`` next to stored arrays that differ."""

    def __init__(self, root: str | os.PathLike = DEFAULT_ROOT, write_obtained: bool = True) -> None:
        self.store = GoldenStore(root)
        self.write_obtained = write_obtained
        self._report = GoldenReport(str(self.store.root), environment=self.store.env)
        self._seen: list[str] = []

    def add(self, p: Produced) -> list[Mismatch] | None:
        """The mismatches of one produced case; None when it has no golden yet."""
        store, report = self.store, self._report
        self._seen.append(p.key)
        if p.key not in store.cases:
            if p.error is None:
                report.new_cases.append(p.key)
            return None
        report.cases_checked += 1
        if p.error is not None:
            changes = env_changes(store.recorded_env(p.key), store.env)
            found = [Mismatch(p.key, "(run)", "error", "environment" if changes else "code",
                              changes, {}, {"error": p.error})]
        else:
            report.stages_checked += len(p.records)
            found = store.check_case(p.key, list(p.records), p.impl_version,
                                     list(p.std) if p.std else None, self.write_obtained)
        report.mismatches.extend(found)
        return found

    def report(self, scope: Iterable[str] | None = None) -> GoldenReport:
        """``scope``: the case keys attempted (default: those added); golden cases in scope that were
        not produced are reported missing."""
        seen = set(self._seen)
        in_scope = set(scope) if scope is not None else seen
        self._report.missing_cases = sorted(k for k in in_scope if k in self.store.cases and k not in seen)
        return self._report


def check(produced: Iterable[Produced] | None = None, root: str | os.PathLike = DEFAULT_ROOT,
          scope: Iterable[str] | None = None, write_obtained: bool = True, *,
          presets: Iterable[str] | None = None, impls: Iterable[str] | None = None,
          images: str | Iterable[str] | None = None, progress: bool = True) -> GoldenReport:
    """Check produced cases against the goldens under ``root``; never writes a golden.

    Without ``produced``, runs the matrix (default images; ``presets``/``impls``/``images`` narrow
    it) — what ``parity golden check`` does. Mismatching stages with a stored array get their numeric
    diff and an ``.obtained.npz`` next to the expected file. See GoldenCheck for the streaming form."""
    if produced is None:
        from parity.matrix import golden_run

        return golden_run("check", root, presets, images, list(impls) if impls else None, progress)
    gc = GoldenCheck(root, write_obtained)
    for p in produced:
        gc.add(p)
    return gc.report(scope)


def check_gate(root: str | os.PathLike = DEFAULT_ROOT, allow_new: bool = False, *,
               presets: Iterable[str] | None = None, impls: Iterable[str] | None = None,
               images: str | Iterable[str] | None = None, progress: bool = True) -> GoldenReport:
    """``parity golden check``, the CI gate: a missing or malformed manifest is bad input (ParityError,
    exit 2) found before anything runs; a manifest without cases fails at once; otherwise ``check``,
    failing also when nothing was checked or (unless ``allow_new``) a case in scope has no golden."""
    manifest = load_manifest(Path(root), required=True)
    if manifest["cases"]:
        report = check(root=root, presets=presets, impls=impls, images=images, progress=progress)
    else:
        report = GoldenReport(str(root), environment=environment())
    report.allow_new, report.require_checked = allow_new, True
    return report


class GoldenUpdate:
    """A streaming update (the only writer): ``add`` each produced case, then ``finish``.

    Atomic per file: arrays are written as they come, each via temp + os.replace; the manifest is
    written last by ``finish``, so an interrupted update leaves the old manifest in force."""

    def __init__(self, root: str | os.PathLike = DEFAULT_ROOT, array_images: Iterable[str] = ARRAY_IMAGES) -> None:
        self.store = GoldenStore(root)
        self.arrays_for = set(array_images)
        self.summary = UpdateSummary(str(self.store.root))
        self.cases = dict(self.store.cases)
        self.seen: set[str] = set()
        self.errored: list[str] = []

    def add(self, p: Produced) -> None:
        if p.error is not None:
            # no new golden from a run that raised; an existing one is kept (check reports the error)
            self.errored.append(p.key)
            return
        store, summary = self.store, self.summary
        self.seen.add(p.key)
        new = store.updated_entry(p.key, list(p.records), p.impl_version, p.image in self.arrays_for)
        old = self.cases.get(p.key)
        keep_npz = set()
        for r in p.records:
            if new["stages"][r.name]["array"]:
                path = array_path(store.root, p.key, r.name)
                keep_npz.add(path.name)
                old_stage = (old or {}).get("stages", {}).get(r.name, {})
                if not (path.exists() and old_stage.get("sha256") == r.sha256 and old_stage.get("array")):
                    save_npz_atomic(path, r.value)
                    summary.arrays_written += 1
        case_dir = store.root.joinpath(*p.key.split("/"))
        if case_dir.is_dir():
            for f in case_dir.glob("*.npz"):
                if f.name not in keep_npz:
                    f.unlink()  # stale arrays and .obtained.npz of this case
        if old is None:
            summary.added.append(p.key)
        else:
            changed = [(p.key, s, old["stages"].get(s, {}).get("sha256", "(none)"), e["sha256"])
                       for s, e in new["stages"].items() if old["stages"].get(s, {}).get("sha256") != e["sha256"]]
            changed += [(p.key, s, e["sha256"], "(removed)") for s, e in old["stages"].items()
                        if s not in new["stages"]]
            summary.changed.extend(changed)
            if not changed:
                summary.unchanged += 1
        self.cases[p.key] = new

    def finish(self, scope: Iterable[str] | None = None, prune: bool = True) -> UpdateSummary:
        """Write the manifest. With ``prune``, golden cases in ``scope`` not produced are removed."""
        store, cases = self.store, self.cases
        self.summary.kept_errors = sorted(k for k in set(self.errored) if k in cases)
        if prune and scope is not None:
            for key in sorted(set(scope) - self.seen - set(self.errored)):
                if key in cases:
                    del cases[key]
                    self.summary.removed.append(key)
                    case_dir = store.root.joinpath(*key.split("/"))
                    for f in case_dir.glob("*.npz") if case_dir.is_dir() else ():
                        f.unlink()
        used_envs = {c["environment"] for c in cases.values()}
        envs = {k: v for k, v in store.manifest["environments"].items() if k in used_envs}
        if env_id(store.env) in used_envs:
            envs[env_id(store.env)] = store.env
        write_json_atomic(store.root / "manifest.json",
                          {"schema_version": SCHEMA_VERSION, "environments": envs, "cases": cases})
        store.manifest = load_manifest(store.root)
        return self.summary


def update(produced: Iterable[Produced] | None = None, root: str | os.PathLike = DEFAULT_ROOT,
           scope: Iterable[str] | None = None, array_images: Iterable[str] = ARRAY_IMAGES,
           prune: bool = True, *, presets: Iterable[str] | None = None, impls: Iterable[str] | None = None,
           images: str | Iterable[str] | None = None, progress: bool = True) -> UpdateSummary:
    """Rewrite the goldens of the produced cases (see GoldenUpdate); returns what changed.

    Without ``produced``, runs the matrix (default images; ``presets``/``impls``/``images`` narrow
    it) — what ``parity golden update`` does; golden cases of that scope no longer produced are pruned."""
    if produced is None:
        from parity.matrix import golden_run

        return golden_run("update", root, presets, images, list(impls) if impls else None, progress)
    gu = GoldenUpdate(root, array_images)
    for p in produced:
        gu.add(p)
    return gu.finish(scope, prune)
