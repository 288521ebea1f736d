"""The worst cases of a sweep per (preset, impl): chosen from the stored rows, re-run to keep their arrays
and pictures, and checked against their rows.

Ranking (``severity``, worst first): the divergence class in ``parity.summary.CLASS_ORDER`` order
(geometry before decode before shape before pixels before float before side), then the size of the
token-count difference, then max |Δ| in uint8 levels over all stages, then the ``pack`` NMSE; ties are
broken by the image's sha256, so the choice is the same however the sweep ran (serially, on local
workers, on Dask, resumed). Errors are listed apart (no arrays to keep).

Arrays are kept only for those cases, and not by the sweep itself: after every task is done, the few
worst tasks are run again through the engine with two worker observers, ``ArrayWriter`` (the first
differing array stage and ``pack``, of the baseline and the impl, one ``.npz`` each under
``arrays/<preset>/<impl>/``, written atomically) and ``parity.report.html:CaseAssets`` (thumbnails and
|Δ| heatmaps for the case page). Doing it after the sweep instead of keeping a running top-N in each
worker makes the kept set exact by construction, the same after a resume or on a cluster whose workers
cannot write here, and costs only N x (presets x impls) cases. The re-run also checks determinism: its
rows must equal the stored ones (timings aside). Each image is copied to ``inputs/<sha256[:12]>-<name>``
first, which gives every case a unique label (two ``img.jpg`` in different folders) and makes the
results folder reproduce its worst cases on its own. ``arrays/``, ``assets/``, ``cases/`` and
``inputs/`` are regenerated on every run: they hold the current worst cases and nothing else.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import os
import re
import shutil
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import numpy as np

from parity.decode import read_bytes
from parity.engine import Job, Observer, Task, run_tasks
from parity.files import atomic_write
from parity.summary import CLASS_ORDER
from parity.sweep.rows import VOLATILE, case_rows

#: classes that have arrays worth keeping, worst first
RANKED = tuple(c for c in CLASS_ORDER if c not in ("error", "identical"))
_RANK = {c: len(RANKED) - i for i, c in enumerate(RANKED)}
#: folders of RESULTS_DIR that hold the worst cases (regenerated each run)
WORST_DIRS = ("arrays", "assets", "cases", "inputs")


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


def severity(row: dict[str, Any]) -> tuple:
    """Sort key of a row, worst first (see the module docstring)."""
    return (-_RANK.get(row["class"], 0), -abs(row.get("token_delta") or 0), -(row.get("max_levels") or 0.0),
            -(row.get("pack_nmse") or 0.0), row["image_sha256"])


def choose_worst(rows: Iterable[dict[str, Any]], keep: int) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """The ``keep`` worst rows per (preset, impl) among the ranked classes (rows streamed: only ``keep``
    per cell are held)."""
    heaps: dict[tuple[str, str], list] = {}
    if keep <= 0:
        return {}
    for n, r in enumerate(rows):
        if r["class"] in _RANK:
            heap = heaps.setdefault((r["preset"], r["impl"]), [])
            # a max-heap on severity (negated) of the ``keep`` worst so far; n breaks exact ties
            item = (_Reverse(severity(r)), n, r)
            if len(heap) < keep:
                heapq.heappush(heap, item)
            elif severity(r) < heap[0][0].key:
                heapq.heapreplace(heap, item)
    return {cell: sorted((r for _, _, r in heap), key=severity) for cell, heap in sorted(heaps.items())}


class _Reverse:
    """Orders by ``key`` descending (heapq is a min-heap: its top is then the least bad of the kept)."""

    __slots__ = ("key",)

    def __init__(self, key: tuple) -> None:
        self.key = key

    def __lt__(self, other: _Reverse) -> bool:
        return self.key > other.key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reverse) and self.key == other.key


def case_label(sha256: str, path: str) -> str:
    return f"{sha256[:12]}-{safe_name(os.path.basename(path))}"


def arrays_path(preset: str, impl: str, label: str) -> str:
    return f"arrays/{safe_name(preset)}/{safe_name(impl)}/{label}.npz"


def _stage_arrays(prefix: str, value: Any) -> dict[str, np.ndarray]:
    if isinstance(value, tuple):  # ragged: one array per part
        return {f"{prefix}/{i}": np.asarray(v) for i, v in enumerate(value)}
    return {prefix: np.asarray(value)}


def array_writer(out: str, wanted: Sequence[Sequence[str]]) -> Observer:
    """A worker observer: for each wanted (case label, preset, impl), the arrays of the first differing
    array stage and of ``pack``, of the baseline and of the impl, into one ``.npz``; ``d["arrays"]`` =
    {impl: relative path}."""
    want = {(label, preset): set() for label, preset, _ in wanted}
    for label, preset, impl in wanted:
        want[(label, preset)].add(impl)

    def observe(case, d: dict) -> None:
        impls = want.get((case.image, case.preset.name), set())
        base = case.traces.get(case.baseline)
        for impl in sorted(impls & set(case.diffs)):
            trace, diff = case.traces[impl], case.diffs[impl]
            first = next((s.name for s in diff.stages if s.status in ("differ", "shape") and s.kind != "plan"), None)
            arrays: dict[str, np.ndarray] = {}
            for stage in dict.fromkeys(s for s in (first, "pack") if s):
                for who, tr in ((case.baseline, base), (impl, trace)):
                    rec = tr.get(stage) if tr is not None else None
                    if rec is not None and rec.kind != "plan":
                        arrays.update(_stage_arrays(f"{who}/{stage}", rec.value))
            meta = {"preset": case.preset.name, "image": case.image, "baseline": case.baseline, "impl": impl,
                    "stages": {k: "x".join(map(str, v.shape)) + " " + str(v.dtype) for k, v in arrays.items()}}
            rel = arrays_path(case.preset.name, impl, case.image)
            (Path(out) / rel).parent.mkdir(parents=True, exist_ok=True)
            atomic_write(Path(out) / rel, writer=lambda fh, a=arrays, m=meta: np.savez(fh, meta=np.array(json.dumps(m)), **a))
            d.setdefault("arrays", {})[impl] = rel

    return observe


def clear_worst_dirs(out: Path) -> None:
    for name in WORST_DIRS:
        shutil.rmtree(out / name, ignore_errors=True)


def copy_input(out: Path, path: str, sha256: str) -> str | None:
    """``inputs/<label>`` with the bytes of ``path`` if they still hash to ``sha256`` (else None)."""
    try:
        data = read_bytes(path)
    except Exception:
        return None
    if hashlib.sha256(data).hexdigest() != sha256:
        return None
    dest = out / "inputs" / case_label(sha256, path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(dest, data)
    return str(dest)


def content(row: dict[str, Any]) -> dict[str, Any]:
    """A row without what changes from run to run (timings, run id)."""
    return {k: v for k, v in row.items() if k not in VOLATILE and k != "run_id"}


def rerun_worst(out: Path, worst: dict[tuple[str, str], list[dict[str, Any]]], cases_of: dict[str, tuple],
                baseline: str | None, stored: dict[tuple, dict], workers: int = 1,
                executor: Executor | None = None) -> dict[str, Any]:
    """Run the worst tasks again with the array and picture observers, in this process (``workers`` 1),
    on a local pool or on ``executor`` (a local one: the files are written where it runs); {"cases": case
    dicts (with ``assets`` and ``arrays``, ``image_path`` and ``image_sha256``), "rows_checked",
    "mismatches"}."""
    clear_worst_dirs(out)
    chosen: dict[str, dict[str, Any]] = {}
    for rows in worst.values():
        for r in rows:
            chosen.setdefault(r["image_sha256"], r)
    tasks, origin, wanted = [], {}, []
    for sha, r in sorted(chosen.items()):
        copy = copy_input(out, r["image_path"], sha)
        if copy is None:
            continue
        label = os.path.basename(copy)
        presets = {p for (p, _), rows in worst.items() for x in rows if x["image_sha256"] == sha}
        wanted += [(label, p, i) for (p, i), rows in worst.items() for x in rows if x["image_sha256"] == sha]
        tasks.append(Task(copy, tuple(c for c in cases_of[sha] if c[0] in presets), baseline))
        origin[label] = r
    job = Job((("parity.sweep.worst:array_writer", (str(out), tuple(sorted(wanted)))),
               ("parity.report.html:CaseAssets", (str(out),))))
    cases, mismatches, checked = [], [], 0
    for done in run_tasks(tasks, job, workers=max(1, min(workers, len(tasks))), executor=executor):
        for c in done:
            r = origin[c["image"]]
            c["image_path"], c["image_sha256"] = r["image_path"], r["image_sha256"]
            for row in case_rows(c, r["image_path"], r["image_sha256"], r["image_bytes"]):
                old = stored.get((row["image_sha256"], row["preset"], row["impl"]))
                checked += 1
                if old is None or content(old) != content(row):
                    diff = sorted(k for k in content(row) if old is None or old.get(k) != row[k])
                    mismatches.append({"preset": row["preset"], "impl": row["impl"], "image": r["image_path"],
                                       "columns": diff[:8]})
            cases.append(c)
    return {"cases": cases, "rows_checked": checked, "mismatches": mismatches}
