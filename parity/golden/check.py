"""Checking produced cases against the goldens: per-stage mismatches (environment or code?), with the
numbers for stored arrays, and the report of a whole check. Never writes a golden."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from parity.compare import diff_plan, diff_records
from parity.golden.store import (
    DEFAULT_ROOT,
    LIST_CAP,
    GoldenStore,
    Produced,
    array_path,
    env_changes,
    environment,
    load_manifest,
    load_npz,
    save_npz_atomic,
    stage_entry,
)
from parity.trace import FAST_HASH, STAGES, StageRecord


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "passed": self.passed,
            "update_hint": self.update_hint,
            "unchecked_new": self.unchecked_new,
            "require_checked": self.require_checked,
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


def same_stage(rec: StageRecord, expected: dict[str, Any]) -> bool:
    """The record has the golden's bytes: by XXH3-128 where the golden has it (the fast identity, see
    ``parity.trace``), else by sha256. Either way a mismatch is then reported with both sha256s."""
    if FAST_HASH in expected:
        return rec.xxh3_128 == expected[FAST_HASH]
    return rec.sha256 == expected["sha256"]


def check_case(store: GoldenStore, key: str, records: list[StageRecord], impl_version: str = "",
               std: list[float] | None = None, write_obtained: bool = True) -> list[Mismatch]:
    """Mismatches of ``records`` against the golden of ``key`` ([] when equal; raises KeyError
    when there is no golden)."""
    entry = store.cases[key]
    changes = env_changes(store.recorded_env(key), store.env)
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
        if same_stage(rec, exp):
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
            p = array_path(store.root, key, name)
            if p.exists():
                expected = load_npz(p)
                erec = StageRecord(name, expected, exp.get("layout", ""))
                diff = diff_records(erec, rec, std).to_dict()
                if rec.kind == "array":
                    firsts = first_differences(expected, rec.value)
                epath = str(p)
                if write_obtained:
                    op = array_path(store.root, key, name, ".obtained.npz")
                    save_npz_atomic(op, rec.value)
                    opath = str(op)
        out.append(Mismatch(key, name, "sha256", cause, changes, exp, obt, diff, firsts, epath, opath))
    for name in got:
        if name not in entry["stages"]:
            out.append(Mismatch(key, name, "extra-stage", cause, changes, {}, stage_entry(got[name])))
    return out


@dataclass(frozen=True)
class CaseOutcome:
    """What checking one produced case found: ``new`` (no golden yet), ``ok``, ``regressed`` or
    ``error`` (the run raised and there is no golden either). JSON-able, so it can be computed where
    the case ran (a worker process) and merged into one report elsewhere."""

    key: str
    status: str
    stages: int = 0
    mismatches: tuple[Mismatch, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "status": self.status, "stages": self.stages,
                "mismatches": [m.to_dict() for m in self.mismatches]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CaseOutcome:
        names = {f.name for f in fields(Mismatch)}
        return cls(d["key"], d["status"], d["stages"],
                   tuple(Mismatch(**{k: v for k, v in m.items() if k in names}) for m in d["mismatches"]))


def check_produced(store: GoldenStore, p: Produced, write_obtained: bool = True) -> CaseOutcome:
    """Check one produced case against ``store`` (writes ``.obtained.npz`` beside differing arrays)."""
    if p.key not in store.cases:
        return CaseOutcome(p.key, "error" if p.error is not None else "new")
    if p.error is not None:
        changes = env_changes(store.recorded_env(p.key), store.env)
        return CaseOutcome(p.key, "regressed", 0, (Mismatch(p.key, "(run)", "error", "environment" if changes
                                                            else "code", changes, {}, {"error": p.error}),))
    found = check_case(store, p.key, list(p.records), p.impl_version, list(p.std) if p.std else None,
                       write_obtained)
    return CaseOutcome(p.key, "regressed" if found else "ok", len(p.records), tuple(found))


class GoldenCheck:
    """A streaming check: ``add`` each produced case (or ``absorb`` an outcome checked elsewhere), then
    ``report``. Never writes a golden; writes ``.obtained.npz`` next to stored arrays that differ."""

    def __init__(self, root: str | os.PathLike = DEFAULT_ROOT, write_obtained: bool = True) -> None:
        self.store = GoldenStore(root)
        self.write_obtained = write_obtained
        self._report = GoldenReport(str(self.store.root), environment=self.store.env)
        self._seen: list[str] = []

    def add(self, p: Produced) -> CaseOutcome:
        return self.absorb(check_produced(self.store, p, self.write_obtained))

    def absorb(self, outcome: CaseOutcome) -> CaseOutcome:
        report = self._report
        self._seen.append(outcome.key)
        if outcome.status == "new":
            report.new_cases.append(outcome.key)
        elif outcome.status != "error":
            report.cases_checked += 1
            report.stages_checked += outcome.stages
            report.mismatches.extend(outcome.mismatches)
        return outcome

    def report(self, scope: Iterable[str] | None = None) -> GoldenReport:
        """``scope``: the case keys attempted (default: those added); golden cases in scope that were
        not produced are reported missing."""
        seen = set(self._seen)
        in_scope = set(scope) if scope is not None else seen
        self._report.missing_cases = sorted(k for k in in_scope if k in self.store.cases and k not in seen)
        return self._report


def check(produced: Iterable[Produced], root: str | os.PathLike = DEFAULT_ROOT,
          scope: Iterable[str] | None = None, write_obtained: bool = True) -> GoldenReport:
    """Check produced cases against the goldens under ``root``; never writes a golden. Mismatching
    stages with a stored array get their numeric diff and an ``.obtained.npz`` next to the expected file."""
    gc = GoldenCheck(root, write_obtained)
    for p in produced:
        gc.add(p)
    return gc.report(scope)


def gate(report: GoldenReport, allow_new: bool) -> GoldenReport:
    """``parity golden check`` is a CI gate: it also fails when nothing was checked or (unless
    ``allow_new``) a case in scope has no golden."""
    report.allow_new, report.require_checked = allow_new, True
    return report


def empty_report(root: str | os.PathLike) -> GoldenReport:
    return GoldenReport(str(root), environment=environment())


def require_manifest(root: str | os.PathLike) -> dict[str, Any]:
    """The manifest the gate checks against: missing or malformed is bad input, found before any work."""
    return load_manifest(Path(root), required=True)
