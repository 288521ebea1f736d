"""``parity sweep``: a whole corpus x presets x impls into a resumable results folder.

1. Expand the INPUTs and hash every file (``parity.sweep.inputs``); unusable paths are bad-input rows.
2. One engine task per distinct image (by sha256): every preset and every requested impl that supports
   it, the image decoded once per decoder profile (``parity.engine.plan_tasks``).
3. Skip the tasks the store marks done for this preset list, impl list and baseline; run the others
   (``parity.sweep.runner``: in-process, a local pool on every core, or a Dask cluster's executor), each
   task's rows and done-marker committed in one transaction as it completes (``parity.sweep.store``),
   with a progress bar (rate, ETA) when asked.
4. Re-run the worst N cases per (preset, impl) to keep their arrays and pictures, checking their rows
   (``parity.sweep.worst``), and compute the summary from the store (``parity.sweep.summary``).

Rendering (``index.html``, ``summary.md``, case pages) is ``parity.report.sweep``'s, called by the CLI.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from parity.engine import default_workers, plan_tasks, supports_reason
from parity.errors import ParityError
from parity.files import check_output_dir
from parity.golden import environment
from parity.impls import IMPLS
from parity.presets import get_preset
from parity.schema import SCHEMA_VERSION
from parity.sweep.inputs import collect_inputs
from parity.sweep.runner import SweepItem, run_items
from parity.sweep.store import SweepStore
from parity.sweep.summary import summarize_sweep
from parity.sweep.worst import choose_worst, rerun_worst

DEFAULT_KEEP_WORST = 5


@dataclass
class SweepConfig:
    inputs: Sequence[str]
    presets: Sequence[str]
    out: Path
    impls: Sequence[str] | None = None
    baseline: str | None = None
    workers: int | None = None  # local processes (default: every core); 1 = in this process
    executor: Executor | None = None  # e.g. a Dask cluster's (then ``slots`` = its worker threads)
    slots: int | None = None
    scheduler: str | None = None  # recorded with the run
    keep_worst: int = DEFAULT_KEEP_WORST
    progress: bool = False
    command: str = ""


@dataclass
class SweepResult:
    summary: dict[str, Any]
    worst_cases: list[dict[str, Any]] = field(default_factory=list)  # case dicts for the case pages

    @property
    def passed(self) -> bool:
        return self.summary["divergent"] == 0


def check_config(cfg: SweepConfig) -> None:
    """Usage errors found before anything is read or written."""
    if not cfg.presets:
        raise ParityError("--model names no preset")
    if cfg.workers is not None and cfg.workers < 1:
        raise ParityError(f"--workers must be at least 1, got {cfg.workers}")
    if cfg.keep_worst < 0:
        raise ParityError(f"--keep-worst must be 0 or more, got {cfg.keep_worst}")
    for name in [*(cfg.impls or []), *([cfg.baseline] if cfg.baseline else [])]:
        if name not in IMPLS:
            raise ParityError(f"unknown impl {name!r}; valid: {', '.join(IMPLS)}")
    if cfg.baseline and cfg.impls and cfg.baseline not in cfg.impls:
        raise ParityError(f"baseline {cfg.baseline!r} is not among --impl {','.join(cfg.impls)}")
    out = Path(cfg.out)
    if out.exists() and not out.is_dir():
        raise ParityError(f"results folder {out} exists and is not a directory")
    check_output_dir(out, "results", may_create=True)


def scope_of(presets: Sequence[Any], impls: Sequence[str] | None, baseline: str | None) -> dict[str, tuple]:
    """preset -> impls run on it (each preset needs two, and the baseline when one is named)."""
    scope = {}
    for p in presets:
        names = tuple(n for n in (impls or IMPLS) if supports_reason(IMPLS[n], p) is None)
        if len(names) < 2:
            raise ParityError(f"preset {p.name!r}: only {', '.join(names) or 'no impl'} of the impls supports it: "
                              "nothing to compare (see `parity models`)")
        if baseline and baseline not in names:
            raise ParityError(f"baseline {baseline!r} cannot run preset {p.name!r}: "
                              f"{supports_reason(IMPLS[baseline], p)}")
        scope[p.name] = names
    return scope


def run_sweep(cfg: SweepConfig) -> SweepResult:
    """Run (or resume) a sweep; the summary of its scope, and the worst cases' case dicts."""
    check_config(cfg)
    t0 = time.monotonic()
    presets = [get_preset(p) for p in cfg.presets]
    scope = scope_of(presets, cfg.impls, cfg.baseline)
    inputs = collect_inputs(cfg.inputs)
    good = [i for i in inputs if i.ok]
    if not good:
        first = inputs[0] if inputs else None
        raise ParityError(f"no readable image among the {len(inputs)} paths the INPUTs name"
                          + (f" (first: {first.path}: {first.error})" if first else ""))
    first_path: dict[str, str] = {}
    paths: dict[str, list[str]] = {}
    for i in good:
        first_path.setdefault(i.sha256, i.path)
        paths.setdefault(i.sha256, []).append(i.path)
    sizes = {i.sha256: i.size for i in good}
    plan = plan_tasks(presets, list(first_path.values()), cfg.impls, cfg.baseline)
    items = [SweepItem(sha, sizes[sha], task) for sha, task in zip(first_path, plan.tasks)]
    # the done-marker's key: presets, the impls really run (resolved, so a new impl changes it), baseline
    key = (",".join(scope), ",".join(dict.fromkeys(n for names in scope.values() for n in names)), cfg.baseline or "")
    workers = cfg.workers or default_workers()
    workers = 1 if cfg.executor is None and workers < 2 else workers
    hashed_s = time.monotonic() - t0
    out = Path(cfg.out)
    with SweepStore(out) as store:
        run_id = store.start_run({
            "command": cfg.command, "cwd": os.getcwd(), "presets": key[0], "impls": key[1], "baseline": key[2],
            "workers": None if cfg.executor is not None else workers, "scheduler": cfg.scheduler,
            "inputs": len(inputs), "images": len(items), "bad_inputs": len(inputs) - len(good), "tasks": len(items),
            "environment": environment(), "impl_versions": {n: IMPLS[n].version for p in scope.values() for n in p},
        })
        store.record_inputs(inputs, run_id)
        done = store.done_keys(*key)
        todo = [it for it in items if it.sha256 not in done]
        peak: dict[str, float] = {}
        t_run = time.monotonic()
        status, n_run = "interrupted", 0
        try:
            bar = tqdm(total=len(items), initial=len(items) - len(todo), unit="img", desc="sweep",
                       disable=not cfg.progress, leave=False, dynamic_ncols=True, smoothing=0.1)
            for res in run_items(todo, workers=workers, executor=cfg.executor, slots=cfg.slots):
                store.commit_task(res["sha256"], key, res["rows"], res["unusable"], res["elapsed_s"], run_id)
                peak[res["worker"]] = max(peak.get(res["worker"], 0.0), res["peak_rss_mib"])
                n_run += 1
                bar.update(1)
            bar.close()
            status = "finished"
        finally:
            run_s = time.monotonic() - t_run
            store.finish_run(run_id, status, {
                "tasks_skipped": len(items) - len(todo), "tasks_run": n_run,
                "elapsed_s": round(time.monotonic() - t0, 2),
                "images_per_s": round(n_run / run_s, 3) if run_s > 0 else None,
                "peak_rss_mib": peak})
        shas = set(first_path)
        rows = [r for r in store.result_rows(list(scope)) if r["image_sha256"] in shas and r["impl"] in scope[r["preset"]]]
        unusable = {d["image_sha256"]: d["unusable"] for d in store.done_rows(*key)
                    if d["unusable"] and d["image_sha256"] in shas}
        t_worst = time.monotonic()
        worst = choose_worst([r for r in rows if r["image_sha256"] not in unusable and not r["is_baseline"]],
                             cfg.keep_worst)
        stored = {(r["image_sha256"], r["preset"], r["impl"]): r for r in rows}
        cases_of = {it.sha256: it.task.cases for it in items}
        local_workers = default_workers() if cfg.executor is not None else workers  # files written here
        rerun = rerun_worst(out, worst, cases_of, cfg.baseline, local_workers, stored)
        pages = {(c["image_sha256"], c["preset"]): c.get("assets", {}).get("page") for c in rerun["cases"]}
        arrays = {(c["image_sha256"], c["preset"], impl): rel for c in rerun["cases"]
                  for impl, rel in c.get("arrays", {}).items()}
        worst_rows = []
        for (preset, impl), rs in worst.items():
            for rank, r in enumerate(rs, 1):
                worst_rows.append({
                    "preset": preset, "impl": impl, "rank": rank, "image_sha256": r["image_sha256"],
                    "image_path": r["image_path"], "image": os.path.basename(r["image_path"]), "class": r["class"],
                    "first_stage": r["first_stage"], "detail": r["detail"], "max_levels": r["max_levels"],
                    "token_delta": r["token_delta"], "pack_nmse": r["pack_nmse"], "command": r["command"],
                    "page": pages.get((r["image_sha256"], preset)),
                    "arrays": arrays.get((r["image_sha256"], preset, impl))})
        store.replace_worst(worst_rows)
        run = store.run_row(run_id)
        for k in ("environment", "impl_versions", "peak_rss_mib"):
            run[k] = json.loads(run[k]) if run[k] else {}
        run["phases_s"] = {"hash_inputs": round(hashed_s, 2), "tasks": round(run_s, 2),
                           "worst_cases": round(time.monotonic() - t_worst, 2)}
        run["recheck"] = {"rows": rerun["rows_checked"], "mismatches": rerun["mismatches"]}
        bad = [{"path": i.path, "error": i.error} for i in inputs if not i.ok]
        summary = summarize_sweep(rows, scope, unusable, bad, paths, worst_rows, run)
    summary.update({"schema_version": SCHEMA_VERSION, "out": str(out), "store": str(out / "results.sqlite")})
    return SweepResult(summary, rerun["cases"])
