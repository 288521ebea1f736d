"""The summary of a sweep, computed from its stored rows: what ``index.html`` and ``summary.md`` render.

Per (preset, impl vs its baseline): how many images were compared, how many diverge and how (class
counts and rate), where (first stage x class), the distribution of max |Δ| in uint8 levels (``LEVEL_BINS``;
undefined where sizes differ) and of the token-count difference to the baseline. Then every divergent row
grouped by (preset, impl, class, stage), each with its ``parity run`` command (listings capped at
``CASES_CAP`` per group; the store has them all), the worst cases, and the bad inputs. Only the rows of
this command's scope are counted (its images, presets and impls), whatever else the store holds.

Rows are consumed as a stream (in (preset, impl, image path) order) into counters, so the summary of a
corpus of any size takes memory in proportion to the cells and the capped listings, not to the rows.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from parity.summary import CLASS_ORDER, STAGE_CLASS

#: upper bounds of the max |Δ| histogram (uint8 levels); the first bin is exactly 0
LEVEL_BINS = (0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, float("inf"))
#: divergent cases listed per group (the store has every one)
CASES_CAP = 500
BAD_CAP = 200
#: classes that count as a divergence from the baseline
DIVERGENT = tuple(c for c in CLASS_ORDER if c != "identical")
#: classes whose max |Δ| is not a difference of same-sized arrays (left out of the histogram)
UNDEFINED_LEVELS = ("geometry", "shape", "error", "uncompared")
_CLASS_ORDER = {c: i for i, c in enumerate(CLASS_ORDER)}
_STAGE_ORDER = {s: i for i, s in enumerate(STAGE_CLASS)}


def level_bin(v: float) -> str:
    if v == 0:
        return "0"
    lo = 0.0
    for hi in LEVEL_BINS[1:]:
        if v <= hi:
            return f"({lo:g}, {hi:g}]" if hi != float("inf") else f"> {lo:g}"
        lo = hi
    return f"> {lo:g}"


def level_labels() -> list[str]:
    return ["0"] + [level_bin(hi) for hi in LEVEL_BINS[1:-1]] + [level_bin(float("inf"))]


class CellStats:
    """The counters of one (preset, impl vs baseline) cell, fed row by row."""

    def __init__(self, preset: str, impl: str) -> None:
        self.preset, self.impl, self.baselines = preset, impl, Counter()
        self.classes, self.stages, self.levels, self.deltas = Counter(), Counter(), Counter(), Counter()
        self.max_levels: float | None = None

    def add(self, r: dict[str, Any]) -> None:
        cls = r["class"]
        self.baselines[r["baseline"]] += 1
        self.classes[cls] += 1
        if cls in DIVERGENT:
            self.stages[(r["first_stage"] or "(run)", cls)] += 1
        if cls not in UNDEFINED_LEVELS and r["max_levels"] is not None:
            self.levels[level_bin(r["max_levels"])] += 1
        if r["token_delta"] is not None:
            self.deltas[r["token_delta"]] += 1
        if r["max_levels"] is not None:
            self.max_levels = max(self.max_levels or 0.0, r["max_levels"])

    def to_dict(self) -> dict[str, Any]:
        compared = sum(v for k, v in self.classes.items() if k != "uncompared")
        divergent = sum(self.classes[c] for c in DIVERGENT)
        return {
            "preset": self.preset, "impl": self.impl, "baseline": self.baselines.most_common(1)[0][0],
            "compared": compared, "divergent": divergent, "rate": divergent / compared if compared else 0.0,
            "classes": {c: self.classes[c] for c in (*CLASS_ORDER, "uncompared") if self.classes[c]},
            "stages": [{"stage": s, "class": c, "count": n, "rate": n / compared if compared else 0.0}
                       for (s, c), n in sorted(self.stages.items(), key=lambda x: (
                           _CLASS_ORDER[x[0][1]], _STAGE_ORDER.get(x[0][0], 99), x[0][0]))],
            "levels": [[label, self.levels[label]] for label in level_labels()],
            "levels_undefined": sum(self.classes[c] for c in UNDEFINED_LEVELS),
            "token_delta": [[d, n] for d, n in sorted(self.deltas.items())],
            "max_levels": self.max_levels,
        }


def summarize_sweep(rows: Iterable[dict], scope: dict[str, tuple[str, ...]], unusable: dict[str, str],
                    bad_inputs: Sequence[dict], paths: dict[str, list[str]], worst: Sequence[dict],
                    run: dict[str, Any]) -> dict[str, Any]:
    """The summary dict. ``rows``: the store's rows of this scope, ordered by (preset, impl, image path);
    ``scope``: preset -> impls run; ``unusable``: sha256 -> why no impl could use it; ``paths``: sha256 ->
    the paths with those bytes."""
    cells: dict[tuple[str, str], CellStats] = {}
    groups: dict[tuple, dict[str, Any]] = {}
    baseline_errors: list[dict] = []
    n_baseline_errors = 0
    images: set[str] = set()
    n_rows = 0
    for r in rows:
        n_rows += 1
        if r["image_sha256"] in unusable:
            continue
        images.add(r["image_sha256"])
        if r["is_baseline"]:
            if r["class"] == "error":
                n_baseline_errors += 1
                if len(baseline_errors) < CASES_CAP:
                    baseline_errors.append(_case(r))
            continue
        cells.setdefault((r["preset"], r["impl"]), CellStats(r["preset"], r["impl"])).add(r)
        if r["class"] not in DIVERGENT:
            continue
        g = groups.setdefault((r["preset"], r["impl"], r["class"], r["first_stage"] or "(run)"), {
            "preset": r["preset"], "impl": r["impl"], "baseline": r["baseline"], "class": r["class"],
            "stage": r["first_stage"] or "(run)", "count": 0, "cases": []})
        g["count"] += 1
        if len(g["cases"]) < CASES_CAP:
            g["cases"].append(_case(r))
    cell_dicts = [cells[(p, i)].to_dict() for p, impls in scope.items() for i in impls if (p, i) in cells]
    ordered = sorted(groups.values(), key=lambda g: (_CLASS_ORDER[g["class"]], _STAGE_ORDER.get(g["stage"], 99),
                                                     -g["count"], g["preset"], g["impl"]))
    bad = [{"path": b["path"], "error": b["error"]} for b in bad_inputs]
    bad += [{"path": p, "error": why} for sha, why in sorted(unusable.items()) for p in paths.get(sha, [])]
    return {
        "run": run,
        "presets": list(scope),
        "impls": {p: list(i) for p, i in scope.items()},
        "images": len(images),
        "inputs": sum(len(v) for v in paths.values()) + len(bad_inputs),
        "rows": n_rows,
        "compared": sum(c["compared"] for c in cell_dicts),
        "divergent": sum(c["divergent"] for c in cell_dicts) + n_baseline_errors,
        "cells": cell_dicts,
        "groups": ordered,
        "baseline_errors": baseline_errors,
        "baseline_error_count": n_baseline_errors,
        "worst": list(worst),
        "bad_input_count": len(bad),
        "bad_inputs": bad[:BAD_CAP],
    }


def _case(r: dict) -> dict[str, Any]:
    return {"image": os.path.basename(r["image_path"]), "path": r["image_path"], "sha256": r["image_sha256"],
            "class": r["class"], "stage": r["first_stage"], "detail": (r["detail"] or "")[:300],
            "max_levels": r["max_levels"], "token_delta": r["token_delta"], "command": r["command"]}
