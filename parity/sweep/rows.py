"""One engine case dict -> the sweep's result rows: one per impl, flat, JSON-able, with no arrays.

A row holds what a query needs without the trace: the content key (image sha256, preset, impl), how the
impl relates to the baseline (``parity.summary.divergence_class``, plus ``baseline`` for the baseline's
own row and ``uncompared`` when the baseline itself failed), the first differing stage and its numbers,
the largest |Δ| anywhere in uint8 levels, the ``pack`` tensor's hashes and NMSE, each stage's sha256 /
shape / dtype, the geometry summary (resized size, grid, image count, token count and its difference to
the baseline's), the impl's error, and the exact ``parity run`` command that reproduces the case.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from parity.impls import IMPLS
from parity.summary import divergence_class, effective_first, stage_detail

#: columns of the ``results`` table, in order (``parity.sweep.store`` creates it from this)
COLUMNS = (
    ("image_sha256", "TEXT NOT NULL"), ("preset", "TEXT NOT NULL"), ("impl", "TEXT NOT NULL"),
    ("image_path", "TEXT"), ("image_bytes", "INTEGER"), ("baseline", "TEXT"), ("is_baseline", "INTEGER"),
    ("impl_version", "TEXT"), ("class", "TEXT"), ("first_stage", "TEXT"), ("first_divergence", "TEXT"),
    ("detail", "TEXT"), ("max_levels", "REAL"), ("first_max_levels", "REAL"), ("first_nmse", "REAL"),
    ("pack_max_levels", "REAL"), ("pack_nmse", "REAL"), ("pack_sha1", "TEXT"), ("pack_sha256", "TEXT"),
    ("stages", "TEXT"), ("diff", "TEXT"), ("image_size", "TEXT"), ("resized", "TEXT"), ("canvas", "TEXT"),
    ("grid", "TEXT"), ("num_images", "INTEGER"), ("num_tokens", "INTEGER"), ("num_embeddings", "INTEGER"),
    ("token_delta", "INTEGER"), ("error", "TEXT"), ("command", "TEXT"), ("case_elapsed_s", "REAL"),
)
#: columns that change from run to run of the same inputs (timings); every other column is content
VOLATILE = ("case_elapsed_s",)


def _json(v: Any) -> str | None:
    return None if v is None else json.dumps(v, separators=(",", ":"))


def run_command(path: str, preset: str, baseline: str, impls: list[str]) -> str:
    """The ``parity run`` command that reproduces a row: its impl against the baseline (for the
    baseline's own row, every impl of the case)."""
    names = ",".join(dict.fromkeys([baseline, *impls]))
    return (f"parity run {shlex.quote(path)} --model {shlex.quote(preset)} --impl {shlex.quote(names)} "
            f"--baseline {shlex.quote(baseline)}")


def _stage_numbers(stage: dict) -> dict[str, Any]:
    keep = ("status", "max_levels", "mean_levels", "n_diff", "n", "nmse")
    return {k: stage[k] for k in keep if stage.get(k) is not None}


def _max_levels(diff: dict | None) -> float | None:
    """The largest |Δ| in uint8 levels over every stage compared element by element (None when none was)."""
    values = [float(s["max_levels"]) for s in (diff or {}).get("stages", [])
              if s.get("status") in ("equal", "differ") and s.get("max_levels") is not None]
    return max(values) if values else None


def pack_sha1_observer():
    """Engine observer of a sweep's job: each case dict gets ``pack_sha1`` (impl -> sha1 of its ``pack``, i.e.
    ``shasum inp_raw``), the one sha1 a row keeps, so the stages need not each carry one."""
    def observe(case, d: dict) -> None:
        d["pack_sha1"] = {name: trace["pack"].sha1 for name, trace in case.traces.items() if "pack" in trace}

    return observe


def case_rows(case: dict, path: str, sha256: str, size: int) -> list[dict[str, Any]]:
    """The rows of one case dict (``parity.engine.case_dict``) of the image at ``path``."""
    baseline = case["baseline"]
    geometry = case.get("geometry") or {}
    base_tokens = geometry.get(baseline, {}).get("num_tokens")
    names = list(case.get("impls", {})) + [n for n in case.get("errors", {}) if n not in case.get("impls", {})]
    rows = []
    for impl in names:
        info = case.get("impls", {}).get(impl)
        error = case.get("errors", {}).get(impl)
        diff = case.get("diffs", {}).get(impl)
        geo = geometry.get(impl, {})
        stages = info["trace"]["stages"] if info else []
        pack = next((s for s in stages if s["name"] == "pack"), None)
        if impl == baseline:
            cls = "error" if error is not None else "baseline"
        elif error is None and diff is None:
            cls = "uncompared"  # the baseline failed: nothing to compare this trace with
        else:
            cls = divergence_class(diff, error)
        first = effective_first(diff)
        pack_diff = next((s for s in (diff or {}).get("stages", []) if s["name"] == "pack"), None)
        tokens = geo.get("num_tokens")
        rows.append({
            "image_sha256": sha256, "preset": case["preset"], "impl": impl, "image_path": path,
            "image_bytes": size, "baseline": baseline, "is_baseline": int(impl == baseline),
            "impl_version": info["version"] if info else (IMPLS[impl].version if impl in IMPLS else ""),
            "class": cls,
            "first_stage": first["name"] if first else None,
            "first_divergence": (diff or {}).get("first_divergence"),
            "detail": error if error is not None else (stage_detail(first) if first else None),
            "max_levels": _max_levels(diff),
            "first_max_levels": first.get("max_levels") if first else None,
            "first_nmse": first.get("nmse") if first else None,
            "pack_max_levels": pack_diff.get("max_levels") if pack_diff else None,
            "pack_nmse": pack_diff.get("nmse") if pack_diff else None,
            "pack_sha1": (pack.get("sha1") or case.get("pack_sha1", {}).get(impl)) if pack else None,
            "pack_sha256": pack["sha256"] if pack else None,
            "stages": _json([{"name": s["name"], "kind": s["kind"], "dtype": s["dtype"], "shape": s["shape"],
                              "layout": s["layout"], "sha256": s["sha256"], "approximate": s.get("approximate")}
                             for s in stages]),
            "diff": _json({s["name"]: _stage_numbers(s) for s in diff["stages"]} if diff else None),
            "image_size": _json(geo.get("image_size")), "resized": _json(geo.get("resized")),
            "canvas": _json(geo.get("canvas")), "grid": _json(geo.get("grid")),
            "num_images": geo.get("num_images"), "num_tokens": tokens, "num_embeddings": geo.get("num_embeddings"),
            "token_delta": tokens - base_tokens if impl != baseline and None not in (tokens, base_tokens) else None,
            "error": error,
            "command": run_command(path, case["preset"], baseline, [impl] if impl != baseline else names),
            "case_elapsed_s": case.get("elapsed_s"),
        })
    return rows


def unusable_reason(case: dict) -> str | None:
    """When no impl produced a trace (as ``CaseResult.unusable``): one line with their reasons."""
    errors = case.get("errors", {})
    if case.get("impls") or not errors:
        return None
    reasons = sorted(set(errors.values()))
    if len(reasons) == 1:
        return f"every impl failed: {reasons[0]}"
    return "no impl could use it: " + "; ".join(f"{k}: {v}" for k, v in errors.items())
