"""The summary of a sweep, computed from its stored rows: what ``index.html`` and ``summary.md`` render.

Per (preset, impl vs its baseline): how many images were compared, how many diverge and how (class
counts and rate), where (first stage x class), the distribution of max |Δ| in uint8 levels (``LEVEL_BINS``;
undefined where sizes differ) and of the token-count difference to the baseline. Then every divergent row
grouped by (preset, impl, class, stage), each with its ``parity run`` command (listings capped at
``CASES_CAP`` per group; the store has them all), the worst cases, and the bad inputs. Only the rows of
this command's scope are counted (its images, presets and impls), whatever else the store holds.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
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


def cell_summary(preset: str, impl: str, baseline: str, rows: Sequence[dict]) -> dict[str, Any]:
    """One (preset, impl vs baseline) cell over the rows of usable images."""
    classes = Counter(r["class"] for r in rows)
    compared = sum(v for k, v in classes.items() if k != "uncompared")
    divergent = sum(classes[c] for c in DIVERGENT)
    stage_order = {s: i for i, s in enumerate(STAGE_CLASS)}
    class_order = {c: i for i, c in enumerate(CLASS_ORDER)}
    stages = Counter((r["first_stage"] or "(run)", r["class"]) for r in rows if r["class"] in DIVERGENT)
    levels = Counter(level_bin(r["max_levels"]) for r in rows
                     if r["class"] not in UNDEFINED_LEVELS and r["max_levels"] is not None)
    deltas = Counter(r["token_delta"] for r in rows if r["token_delta"] is not None)
    return {
        "preset": preset, "impl": impl, "baseline": baseline, "compared": compared, "divergent": divergent,
        "rate": divergent / compared if compared else 0.0,
        "classes": {c: classes[c] for c in (*CLASS_ORDER, "uncompared") if classes[c]},
        "stages": [{"stage": s, "class": c, "count": n, "rate": n / compared if compared else 0.0}
                   for (s, c), n in sorted(stages.items(), key=lambda x: (class_order[x[0][1]],
                                                                         stage_order.get(x[0][0], 99), x[0][0]))],
        "levels": [[label, levels[label]] for label in level_labels()],
        "levels_undefined": sum(classes[c] for c in UNDEFINED_LEVELS),
        "token_delta": [[d, n] for d, n in sorted(deltas.items())],
        "max_levels": max((r["max_levels"] for r in rows if r["max_levels"] is not None), default=None),
    }


def summarize_sweep(rows: Sequence[dict], scope: dict[str, tuple[str, ...]], unusable: dict[str, str],
                    bad_inputs: Sequence[dict], paths: dict[str, list[str]], worst: Sequence[dict],
                    run: dict[str, Any]) -> dict[str, Any]:
    """The summary dict. ``rows``: the store's rows of this scope; ``scope``: preset -> impls run;
    ``unusable``: sha256 -> why no impl could use it; ``paths``: sha256 -> the paths with those bytes."""
    usable = [r for r in rows if r["image_sha256"] not in unusable]
    by_cell: dict[tuple[str, str], list[dict]] = {}
    baselines: dict[str, Counter] = {}
    baseline_errors: list[dict] = []
    for r in usable:
        if r["is_baseline"]:
            baselines.setdefault(r["preset"], Counter())[r["impl"]] += 1
            if r["class"] == "error":
                baseline_errors.append(_case(r))
            continue
        by_cell.setdefault((r["preset"], r["impl"]), []).append(r)
    cells = []
    for preset, impls in scope.items():
        base = baselines.get(preset, Counter()).most_common(1)
        for impl in impls:
            if (preset, impl) in by_cell:
                cells.append(cell_summary(preset, impl, base[0][0] if base else "", by_cell[(preset, impl)]))
    groups: dict[tuple, dict[str, Any]] = {}
    class_order = {c: i for i, c in enumerate(CLASS_ORDER)}
    stage_order = {s: i for i, s in enumerate(STAGE_CLASS)}
    for r in sorted(usable, key=lambda r: (r["preset"], r["impl"], r["image_path"])):
        if r["is_baseline"] or r["class"] not in DIVERGENT:
            continue
        g = groups.setdefault((r["preset"], r["impl"], r["class"], r["first_stage"] or "(run)"), {
            "preset": r["preset"], "impl": r["impl"], "baseline": r["baseline"], "class": r["class"],
            "stage": r["first_stage"] or "(run)", "count": 0, "cases": []})
        g["count"] += 1
        if len(g["cases"]) < CASES_CAP:
            g["cases"].append(_case(r))
    ordered = sorted(groups.values(), key=lambda g: (class_order[g["class"]], stage_order.get(g["stage"], 99),
                                                     -g["count"], g["preset"], g["impl"]))
    bad = [{"path": b["path"], "error": b["error"]} for b in bad_inputs]
    bad += [{"path": p, "error": why} for sha, why in sorted(unusable.items()) for p in paths.get(sha, [])]
    return {
        "run": run,
        "presets": list(scope),
        "impls": {p: list(i) for p, i in scope.items()},
        "images": len({r["image_sha256"] for r in usable}),
        "inputs": sum(len(v) for v in paths.values()) + len(bad_inputs),
        "rows": len(rows),
        "compared": sum(c["compared"] for c in cells),
        "divergent": sum(c["divergent"] for c in cells) + len(baseline_errors),
        "cells": cells,
        "groups": ordered,
        "baseline_errors": baseline_errors,
        "worst": list(worst),
        "bad_input_count": len(bad),
        "bad_inputs": bad[:BAD_CAP],
    }


def _case(r: dict) -> dict[str, Any]:
    return {"image": os.path.basename(r["image_path"]), "path": r["image_path"], "sha256": r["image_sha256"],
            "class": r["class"], "stage": r["first_stage"], "detail": (r["detail"] or "")[:300],
            "max_levels": r["max_levels"], "token_delta": r["token_delta"], "command": r["command"]}
