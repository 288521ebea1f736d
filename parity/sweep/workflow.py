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
from collections.abc import Iterator, Sequence
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
from parity.sweep.runner import SweepItem, local_pool, run_items
from parity.sweep.store import DB_NAME, SweepStore
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


def not_run(scope: dict[str, tuple], impls: Sequence[str] | None) -> list[dict[str, str]]:
    """The requested impls left out of a preset's scope, each with the reason (``supports_reason``)."""
    out = []
    for preset, names in scope.items():
        p = get_preset(preset)
        out += [{"preset": preset, "impl": n, "reason": supports_reason(IMPLS[n], p)}
                for n in (impls or ()) if n not in names]
    return out


@dataclass
class Prepared:
    """What a sweep will do: its scope, inputs, one item per distinct image, and the done-marker key."""

    scope: dict[str, tuple]
    inputs: list
    items: list[SweepItem]
    paths: dict[str, list[str]]  # sha256 -> every path with those bytes
    key: tuple[str, str, str]


def prepare(cfg: SweepConfig) -> Prepared:
    """Check the presets and impls, expand and hash the INPUTs, plan one task per distinct image."""
    presets = [get_preset(p) for p in cfg.presets]
    scope = scope_of(presets, cfg.impls, cfg.baseline)
    inputs = collect_inputs(cfg.inputs, exclude=cfg.out)
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
    # the done-marker's key: presets, the impls really run (resolved: a new impl changes it), baseline
    key = (",".join(scope), ",".join(dict.fromkeys(n for names in scope.values() for n in names)), cfg.baseline or "")
    return Prepared(scope, inputs, items, paths, key)


def run_pending(cfg: SweepConfig, store: SweepStore, run_id: int, prep: Prepared, executor: Executor | None,
                slots: int) -> float:
    """Run every task not yet done, committing each as it completes; the run's record finished (or
    marked interrupted) whatever happens. Returns the seconds the tasks took."""
    done = store.done_keys(*prep.key)
    todo = [it for it in prep.items if it.sha256 not in done]
    peak: dict[str, float] = {}
    n_run, status, t0 = 0, "interrupted", time.monotonic()
    try:
        bar = tqdm(total=len(prep.items), initial=len(prep.items) - len(todo), unit="img", desc="sweep",
                   disable=not cfg.progress, leave=False, dynamic_ncols=True, smoothing=0.1)
        for res in run_items(todo, executor=executor, slots=slots):
            store.commit_task(res["sha256"], prep.key, res["rows"], res["unusable"], res["elapsed_s"], run_id)
            peak[res["worker"]] = max(peak.get(res["worker"], 0.0), res["peak_rss_mib"])
            n_run += 1
            bar.update(1)
        bar.close()
        status = "finished"
    finally:
        run_s = time.monotonic() - t0
        store.finish_run(run_id, status, {"tasks_skipped": len(prep.items) - len(todo), "tasks_run": n_run,
                                          "images_per_s": round(n_run / run_s, 3) if run_s > 0 else None,
                                          "peak_rss_mib": peak})
    return run_s


def scoped_rows(store: SweepStore, prep: Prepared) -> Iterator[dict[str, Any]]:
    """The stored rows of this sweep's images, presets and impls, streamed."""
    shas = set(prep.paths)
    for r in store.iter_rows(list(prep.scope)):
        if r["image_sha256"] in shas and r["impl"] in prep.scope[r["preset"]]:
            yield r


def keep_worst(cfg: SweepConfig, store: SweepStore, prep: Prepared, unusable: dict[str, str],
               pool: Executor | None) -> tuple[list[dict], dict[str, Any]]:
    """Choose and re-run the worst cases (on ``pool``, else locally), record them in the ``worst`` table;
    (worst rows, the re-run's result)."""
    worst = choose_worst((r for r in scoped_rows(store, prep) if r["image_sha256"] not in unusable
                          and not r["is_baseline"]), cfg.keep_worst)
    shas = sorted({r["image_sha256"] for rs in worst.values() for r in rs})
    stored = {(r["image_sha256"], r["preset"], r["impl"]): r for r in store.rows_of(shas)}
    cases_of = {it.sha256: it.task.cases for it in prep.items}
    local = default_workers() if cfg.executor is not None else 1  # a cluster's workers write elsewhere
    rerun = rerun_worst(Path(cfg.out), worst, cases_of, cfg.baseline, stored, workers=local, executor=pool)
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
                "page": pages.get((r["image_sha256"], preset)), "arrays": arrays.get((r["image_sha256"], preset, impl))})
    store.replace_worst(worst_rows)
    return worst_rows, rerun


def run_sweep(cfg: SweepConfig) -> SweepResult:
    """Run (or resume) a sweep; the summary of its scope, and the worst cases' case dicts."""
    check_config(cfg)
    t0 = time.monotonic()
    prep = prepare(cfg)
    workers = 1 if cfg.executor is not None else (cfg.workers or default_workers())
    hashed_s = time.monotonic() - t0
    n_bad = sum(1 for i in prep.inputs if not i.ok)
    with SweepStore(cfg.out) as store:
        run_id = store.start_run({
            "command": cfg.command, "cwd": os.getcwd(), "presets": prep.key[0], "impls": prep.key[1],
            "baseline": prep.key[2], "workers": None if cfg.executor is not None else workers,
            "scheduler": cfg.scheduler, "inputs": len(prep.inputs), "images": len(prep.items), "bad_inputs": n_bad,
            "tasks": len(prep.items), "environment": environment(),
            "impl_versions": {n: IMPLS[n].version for names in prep.scope.values() for n in names}})
        store.record_inputs(prep.inputs, run_id)
        # one local pool for the tasks and the worst cases' re-run (its workers start once)
        pool = local_pool(workers) if cfg.executor is None and workers > 1 else None
        try:
            run_s = run_pending(cfg, store, run_id, prep, cfg.executor or pool, cfg.slots or workers)
            t_worst = time.monotonic()
            unusable = {d["image_sha256"]: d["unusable"] for d in store.done_rows(*prep.key)
                        if d["unusable"] and d["image_sha256"] in prep.paths}
            worst_rows, rerun = keep_worst(cfg, store, prep, unusable, pool)
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        worst_s = time.monotonic() - t_worst
        store.finish_run(run_id, "finished", {"elapsed_s": round(time.monotonic() - t0, 2)})
        run = store.run_row(run_id)
        for k in ("environment", "impl_versions", "peak_rss_mib"):
            run[k] = json.loads(run[k]) if run[k] else {}
        run["phases_s"] = {"hash_inputs": round(hashed_s, 2), "tasks": round(run_s, 2), "worst_cases": round(worst_s, 2)}
        run["recheck"] = {"rows": rerun["rows_checked"], "mismatches": rerun["mismatches"]}
        bad = [{"path": i.path, "error": i.error} for i in prep.inputs if not i.ok]
        summary = summarize_sweep(scoped_rows(store, prep), prep.scope, unusable, bad, prep.paths, worst_rows, run)
    summary.update({"schema_version": SCHEMA_VERSION, "out": str(cfg.out), "store": str(Path(cfg.out) / DB_NAME),
                    "not_run": not_run(prep.scope, cfg.impls)})
    return SweepResult(summary, rerun["cases"])
