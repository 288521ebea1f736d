"""The whole matrix: every preset x every impl that supports it x fixture images, on the engine.

What ``parity matrix`` (hence ``nox -s parity``), ``parity golden check`` and ``parity golden update``
run: the engine's tasks (one per image, every core), a golden observer in each process (check: the
mismatches of each case; update: its new entry, arrays written), the results merged here in a fixed
order (preset, image), with the summary the reports render.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tqdm import tqdm

from parity.case import CaseResult
from parity.engine import Job, Observer, default_workers, image_paths, plan_tasks, run_tasks
from parity.errors import ParityError
from parity.golden import (
    DEFAULT_ROOT,
    CaseOutcome,
    GoldenCheck,
    GoldenReport,
    GoldenStore,
    GoldenUpdate,
    Produced,
    UpdateSummary,
    case_key,
    check_produced,
    environment,
)
from parity.golden.check import empty_report, gate, require_manifest
from parity.impls import IMPLS
from parity.presets import all_presets, get_preset
from parity.schema import SCHEMA_VERSION
from parity.summary import summarize

FIXTURE_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "images"

#: the default matrix: the README's real photo plus the synthetic cases that split impls (geometry
#: boundaries, pad remainders, rounding ties, extreme aspect, EXIF, alpha, JPEG chroma). photo_640x480.jpg
#: left it (about a tenth of the check's time): a 4:2:0 photo like photo_1500x1749.jpg, whole MCUs (no padding blocks) like
#: exif_orient6_240x160.jpg, and no stage partition of the impls that the other images lack (`--images all`).
DEFAULT_IMAGES = (
    "photo_1500x1749.jpg",
    "square_560x560.png",
    "square_561x561.png",
    "oddpad_501x300.png",
    "tie_406x434.png",
    "aspect_8x1_1600x200.png",
    "tiny_27x27.png",
    "exif_orient6_240x160.jpg",
    "mode_rgba_300x200.png",
    "jpeg_420_501x377.jpg",
    "jpeg_422_501x377.jpg",
)


def fixture_images(selection: str | Sequence[str] | None = None, directory: Path = FIXTURE_DIR) -> list[Path]:
    """None/"default" -> DEFAULT_IMAGES, "all" -> every fixture image, or names / paths."""
    if selection is None or selection == "default":
        return image_paths(DEFAULT_IMAGES, directory)
    if selection == "all":
        return sorted(p for p in directory.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    return image_paths([selection] if isinstance(selection, str) else selection, directory)


def select_presets(names: Iterable[str] | None = None) -> list:
    return [get_preset(n) for n in names] if names else list(all_presets().values())


def produced_of(case: CaseResult) -> list[Produced]:
    """Every trace (and impl error) of a case, as golden inputs."""
    std = case.preset.get("image_std")
    out = [Produced.from_trace(t, std) for t in case.traces.values()]
    out += [Produced(case_key(case.preset.name, name, case.image), error=err, image=case.image)
            for name, err in case.errors.items()]
    return out


def golden_check_observer(root: str) -> Observer:
    """Per process: check each case against the goldens; ``d["golden"]`` = impl -> outcome dict."""
    store = GoldenStore(root)

    def observe(case: CaseResult, d: dict) -> None:
        d["golden"] = {p.key.split("/")[1]: check_produced(store, p).to_dict() for p in produced_of(case)}

    return observe


def golden_update_observer(root: str) -> Observer:
    """Per process: each case's new golden entry (its arrays written); ``d["golden_update"]``."""
    updater = GoldenUpdate(root)

    def observe(case: CaseResult, d: dict) -> None:
        d["golden_update"] = [updater.entry_for(p) for p in produced_of(case)]

    return observe


def case_scope(results: dict[str, Any]) -> list[str]:
    """Every (preset, impl, image) key attempted (golden cases outside it are not judged)."""
    return [case_key(c["preset"], impl, c["image"]) for c in results["cases"]
            for impl in sorted(set(c.get("impls", {})) | set(c.get("errors", {})))]


def run_matrix(presets: Iterable[str] | None = None, images: str | Sequence[str] | None = None,
               impls: Sequence[str] | None = None, *, golden: str | None = None,
               golden_root: str | os.PathLike | None = None, assets_dir: str | os.PathLike | None = None,
               workers: int | None = None, progress: bool = True, baseline: str | None = None,
               executor=None, compare: bool = True) -> tuple[dict[str, Any], GoldenReport | UpdateSummary | None]:
    """Run the matrix; ``golden`` "check" or "update" against ``golden_root``; ``assets_dir`` gets the
    report's per-case pictures; ``compare=False`` skips the impl-vs-baseline diffs (the golden gate and
    update need only the traces). Returns (results, the golden report or update summary or None)."""
    root = str(golden_root or DEFAULT_ROOT)
    preset_objs = select_presets(presets)
    paths = fixture_images(images)
    plan = plan_tasks(preset_objs, paths, impls, baseline)
    observers: list[tuple[str, tuple]] = []
    if golden == "check":
        observers.append(("parity.matrix:golden_check_observer", (root,)))
    elif golden == "update":
        observers.append(("parity.matrix:golden_update_observer", (root,)))
    elif golden is not None:
        raise ParityError(f"golden mode must be 'check' or 'update', got {golden!r}")
    if assets_dir is not None:
        observers.append(("parity.report.html:CaseAssets", (str(assets_dir),)))
    job = Job(tuple(observers), compare)
    workers = workers or default_workers()
    t0 = time.monotonic()
    cases: list[dict] = []
    bar = tqdm(total=plan.num_cases, unit="case", disable=not progress, leave=False)
    for done in run_tasks(plan.tasks, job, workers=min(workers, max(len(plan.tasks), 1)), executor=executor):
        cases.extend(done)
        bar.update(len(done))
    bar.close()
    order = {p.name: i for i, p in enumerate(preset_objs)}
    image_order = {p.name: i for i, p in enumerate(paths)}
    cases.sort(key=lambda c: (order[c["preset"]], image_order.get(c["image"], 0)))
    results = {
        "schema_version": SCHEMA_VERSION,
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "environment": environment(),
        "presets": [p.name for p in preset_objs],
        "images": [p.name for p in paths],
        "impls": {name: impl.to_dict() for name, impl in IMPLS.items()},
        "unsupported": plan.unsupported,
        "cases": cases,
        "workers": workers,
        "elapsed_s": round(time.monotonic() - t0, 2),
    }
    results["summary"] = summarize(results)
    return results, merge_golden(golden, root, results)


def merge_golden(mode: str | None, root: str, results: dict[str, Any]) -> GoldenReport | UpdateSummary | None:
    """One report (check) or one manifest write (update) from what each process found per case."""
    if mode == "check":
        checker = GoldenCheck(root)
        for c in results["cases"]:
            for impl, outcome in c.get("golden", {}).items():
                checker.absorb(CaseOutcome.from_dict(outcome))
                c["golden"][impl] = outcome["status"]
        return checker.report(case_scope(results))
    if mode == "update":
        updater = GoldenUpdate(root)
        for c in results["cases"]:
            for produced in c.pop("golden_update", []):
                updater.absorb(produced)
        return updater.finish(case_scope(results))
    return None


def golden_gate(root: str | os.PathLike | None = None, allow_new: bool = False, **matrix) -> GoldenReport:
    """``parity golden check``, the CI gate: a missing or malformed manifest is bad input (ParityError,
    exit 2) found before anything runs; a manifest without cases fails at once; otherwise the matrix
    check, failing also when nothing was checked or (unless ``allow_new``) a case has no golden."""
    root = golden_root = str(root or DEFAULT_ROOT)
    if not require_manifest(root)["cases"]:
        return gate(empty_report(root), allow_new)
    _, report = run_matrix(golden="check", golden_root=golden_root, compare=False, **matrix)
    return gate(report, allow_new)
