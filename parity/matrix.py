"""The whole matrix: every preset x every impl that supports it x fixture images.

Run first, compare later (parity.case.run_case per (preset, image)); each case is turned into a
JSON-able dict at once, after ``hooks`` (golden check, report assets) have seen its traces, so memory
stays flat however large the matrix. Decoded images are shared across presets and impls
(``decode_cache``). A progress bar goes to stderr.

``python -m parity.matrix`` is what ``nox -s parity`` runs (see ``main``): matrix -> golden check ->
reports/ (index.html, summary.md, results.json); exit 1 on a golden regression.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from parity.errors import ParityError

SCHEMA_VERSION = 1

FIXTURE_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "images"

#: the default matrix: real photos at the README's sizes plus the synthetic cases that split impls
#: (geometry boundaries, pad remainders, rounding ties, extreme aspect, EXIF, alpha, JPEG chroma).
#: Chosen so `nox -s parity` stays within a few minutes on 2 cores: photo_1500x1749 alone costs a
#: quarter of the run, so the other photos are left to `--images all`.
DEFAULT_IMAGES = (
    "photo_1500x1749.jpg",
    "photo_640x480.jpg",
    "square_560x560.png",
    "square_561x561.png",
    "oddpad_501x300.png",
    "tie_406x434.png",
    "aspect_8x1_1600x200.png",
    "tiny_27x27.png",
    "exif_orient6_240x160.jpg",
    "mode_rgba_300x200.png",
    "jpeg_420_501x377.jpg",
)

#: a hook sees each case while its arrays are alive: hook(case_result, case_dict) may add to case_dict
Hook = Callable[[Any, dict], None]


def fixture_images(selection: str | Sequence[str] | None = None, directory: Path = FIXTURE_DIR) -> list[Path]:
    """Image paths: None/"default" -> DEFAULT_IMAGES, "all" -> every image in the fixture folder, or
    a list of names (in the fixture folder) or paths."""
    if selection is None or selection == "default":
        names: Sequence[str] = DEFAULT_IMAGES
    elif selection == "all":
        return sorted(p for p in directory.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    else:
        names = [selection] if isinstance(selection, str) else selection
    out = []
    for n in names:
        p = directory / n if (directory / n).exists() else Path(n)
        if not p.exists():
            raise ParityError(f"fixture image not found: {p} (run `python fixtures/make_images.py`?)")
        out.append(p)
    return out


# --------------------------------------------------------------------------------------- decode reuse


@contextlib.contextmanager
def decode_cache() -> Iterator[dict]:
    """Share decoded images across presets and impls for the duration of the block.

    Impls call decoder functions from ``parity.decode`` (``decode_pil(path, policy)``, and runtime
    decoders in its submodules) by the names they imported; those names are temporarily rebound, in
    every loaded ``parity.*`` module, to a memo keyed by (function, arguments, file mtime). Each call
    still gets its own copy of the pixels, so an impl cannot alter what another sees."""
    memo: dict = {}
    stats = {"hits": 0, "misses": 0}

    def wrap(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def cached(*args, **kwargs):
            path = args[0] if args else kwargs.get("path")
            if not isinstance(path, (str, os.PathLike)):  # bytes or arrays: not a file we can key on
                return fn(*args, **kwargs)
            try:
                key = (fn, tuple(str(a) for a in args), tuple(sorted((k, str(v)) for k, v in kwargs.items())),
                       os.stat(path).st_mtime_ns)
            except (TypeError, ValueError, OSError):
                return fn(*args, **kwargs)
            if key not in memo:
                stats["misses"] += 1
                memo[key] = fn(*args, **kwargs)
            else:
                stats["hits"] += 1
            return private_copy(memo[key])
        cached.__wrapped_decoder__ = fn
        return cached

    patched: list[tuple[Any, str, Any]] = []
    wrappers: dict = {}
    for mod_name, mod in list(sys.modules.items()):
        if not mod_name.startswith("parity.") or mod is None:
            continue
        for attr, val in list(vars(mod).items()):
            if (callable(val) and attr.startswith("decode") and getattr(val, "__module__", "").startswith("parity.decode")
                    and not hasattr(val, "__wrapped_decoder__") and mod_name != getattr(val, "__module__", "")):
                if val not in wrappers:
                    wrappers[val] = wrap(val)
                patched.append((mod, attr, val))
                setattr(mod, attr, wrappers[val])
    try:
        yield stats
    finally:
        for mod, attr, val in patched:
            setattr(mod, attr, val)


def private_copy(obj: Any) -> Any:
    """A copy of a decoder's result whose arrays are fresh (dataclasses, tuples, lists, dicts walked)."""
    import dataclasses

    import numpy as np

    if isinstance(obj, np.ndarray):
        return obj.copy()
    if isinstance(obj, tuple):
        return tuple(private_copy(x) for x in obj)
    if isinstance(obj, list):
        return [private_copy(x) for x in obj]
    if isinstance(obj, dict):
        return {k: private_copy(v) for k, v in obj.items()}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return replace(obj, **{f.name: private_copy(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.init})
    return obj


# ---------------------------------------------------------------------------------------------- progress


class Progress:
    """A one-line progress bar on stderr (a line per 10% when stderr is not a terminal)."""

    def __init__(self, total: int, stream=None, enabled: bool = True) -> None:
        self.total, self.done, self.t0 = max(total, 1), 0, time.monotonic()
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last_decile = -1

    def step(self, label: str) -> None:
        self.done += 1
        if not self.enabled:
            return
        el = time.monotonic() - self.t0
        eta = el / self.done * (self.total - self.done)
        frac = self.done / self.total
        bar = "#" * int(30 * frac) + "." * (30 - int(30 * frac))
        line = f"[{bar}] {self.done}/{self.total} cases, {el:5.0f} s elapsed, ~{eta:4.0f} s left  {label}"
        if self.tty:
            self.stream.write("\r" + line[:150].ljust(150))
            if self.done == self.total:
                self.stream.write("\n")
        elif int(frac * 10) != self._last_decile or self.done == self.total:
            self._last_decile = int(frac * 10)
            self.stream.write(line + "\n")
        self.stream.flush()


# ---------------------------------------------------------------------------------------------- the run


def supports_reason(impl, preset) -> str | None:
    """impl.supports(preset), with an exception turned into the reason (one broken impl must not
    stop the matrix)."""
    try:
        return impl.supports(preset)
    except Exception as e:
        return f"supports() raised {type(e).__name__}: {e}"


def select_presets(names: Iterable[str] | None = None) -> list:
    from parity.presets import all_presets, get_preset

    return [get_preset(n) for n in names] if names else list(all_presets().values())


def case_dict(case, elapsed_s: float) -> dict[str, Any]:
    """A CaseResult as JSON-able data (no array values; plans whole)."""
    d = case.to_dict()
    d["elapsed_s"] = round(elapsed_s, 3)
    d["first_divergences"] = {name: diff.get("first_divergence") for name, diff in d["diffs"].items()}
    return d


def run_matrix(presets: Iterable[str] | None = None, images: str | Sequence[str] | None = None,
               impls: Sequence[str] | None = None, hooks: Sequence[Hook] = (), progress: bool = True,
               baseline: str | None = None) -> dict[str, Any]:
    """Run every (preset, image) case with every impl that supports the preset (or ``impls``, those
    of them that do) and return the JSON-able results (see ``summarize`` for the ``summary`` part)."""
    from parity.case import CaseResult, run_case
    from parity.golden import environment
    from parity.impls import IMPLS

    preset_objs = select_presets(presets)
    paths = fixture_images(images)
    t0 = time.monotonic()
    plan = []
    unsupported: dict[str, dict[str, str]] = {}
    for p in preset_objs:
        chosen = [name for name in (impls or IMPLS) if name in IMPLS]
        unknown = [n for n in (impls or []) if n not in IMPLS]
        if unknown:
            raise ParityError(f"unknown impl {unknown[0]!r}; valid: {', '.join(IMPLS)}")
        reasons = {n: supports_reason(IMPLS[n], p) for n in chosen}
        runnable = [n for n in chosen if reasons[n] is None]
        unsupported[p.name] = {n: reasons[n] for n in chosen if n not in runnable}
        if runnable:
            plan.extend((p, path, runnable) for path in paths)
    bar = Progress(len(plan), enabled=progress)
    cases = []
    with decode_cache() as cache_stats:
        for preset, path, runnable in plan:
            t = time.monotonic()
            base = baseline if baseline in runnable else None
            try:
                case = run_case(str(path), preset, runnable, base)
            except Exception as e:  # unusable image, or an impl failing outside its run: record, go on
                msg = str(e) if isinstance(e, ParityError) else f"{type(e).__name__}: {e}"
                failed = CaseResult(preset, path.name, "", errors={n: msg for n in runnable})
                d = {"preset": preset.name, "family": preset.family, "image": path.name, "baseline": None,
                     "passed": False, "impls": {}, "diffs": {}, "errors": dict(failed.errors),
                     "first_divergences": {}, "elapsed_s": round(time.monotonic() - t, 3)}
                for hook in hooks:
                    hook(failed, d)
                cases.append(d)
                bar.step(f"{preset.name} {path.name}")
                continue
            d = case_dict(case, time.monotonic() - t)
            for hook in hooks:
                hook(case, d)
            cases.append(d)
            bar.step(f"{preset.name} {path.name}")
    results = {
        "schema_version": SCHEMA_VERSION,
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "environment": environment(),
        "presets": [p.name for p in preset_objs],
        "images": [p.name for p in paths],
        "impls": {name: impl.to_dict() for name, impl in IMPLS.items()},
        "unsupported": unsupported,
        "cases": cases,
        "elapsed_s": round(time.monotonic() - t0, 2),
        "decode_cache": dict(cache_stats),
    }
    results["summary"] = summarize(results)
    return results


#: divergence classes, most fundamental first (the report lists geometry first). ``plan-keys``: the
#: plans disagree only in keys one impl does not record (vocabulary, not geometry) and nothing else differs.
STAGE_CLASS = {"decode": "decode", "plan": "geometry", "resize": "pixels", "pad": "pixels", "tiles": "pixels",
               "normalize": "float", "pack": "float"}
CLASS_ORDER = ("error", "geometry", "decode", "shape", "pixels", "float", "side", "plan-keys", "identical")

ABSENT = "<absent>"


def plan_keys_only(stage: dict) -> bool:
    """True when a plan stage differs only in keys that one side does not have."""
    pd = stage.get("plan_diff") or {}
    return bool(pd) and all(ABSENT in (v.get("a"), v.get("b")) for v in pd.values())


def effective_first(diff: dict | None) -> dict | None:
    """The first differing stage that says something: a plan differing only in absent keys is
    skipped (its shared keys agree), so the class comes from the next differing stage."""
    if not diff or diff.get("first_divergence") is None:
        return None
    compared = [s for s in diff["stages"] if s.get("status") not in ("missing", "incomparable", "equal")]
    for st in compared:
        if st.get("kind") == "plan" and plan_keys_only(st):
            continue
        return st
    return next((s for s in compared if s.get("kind") == "plan"), None)


def divergence_class(diff: dict | None, error: str | None = None) -> str:
    """One word for how an impl's trace relates to the baseline's: see CLASS_ORDER."""
    if error is not None:
        return "error"
    stage = effective_first(diff)
    if stage is None:
        return "identical"
    if stage.get("kind") == "plan":
        return "plan-keys" if plan_keys_only(stage) else "geometry"
    if stage.get("status") == "shape":
        return "shape"
    return STAGE_CLASS.get(stage["name"], "side")


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """Counts per (preset, impl), and the divergences grouped by (preset, impl, first stage), ordered
    geometry first, each with the images that show it and the worst numbers seen."""
    per_cell: dict[str, dict[str, dict[str, int]]] = {}
    groups: dict[tuple, dict[str, Any]] = {}
    totals = {c: 0 for c in CLASS_ORDER}
    for case in results["cases"]:
        impl_names = list(case.get("impls", {})) + [n for n in case.get("errors", {}) if n not in case.get("impls", {})]
        for impl in impl_names:
            if impl == case.get("baseline"):
                continue
            cls = divergence_class(case["diffs"].get(impl), case["errors"].get(impl))
            if impl not in case["diffs"] and impl not in case["errors"]:
                continue
            cell = per_cell.setdefault(case["preset"], {}).setdefault(impl, {c: 0 for c in CLASS_ORDER})
            cell[cls] += 1
            totals[cls] += 1
            if cls == "identical":
                continue
            diff = case["diffs"].get(impl) or {}
            eff = effective_first(diff)
            first = eff["name"] if eff else "(run)"
            g = groups.setdefault((case["preset"], case["baseline"], impl, first), {
                "preset": case["preset"], "baseline": case["baseline"], "impl": impl, "stage": first,
                "class": cls, "images": [], "max_levels": 0.0, "examples": []})
            g["images"].append(case["image"])
            stage = eff
            if stage is not None:
                g["max_levels"] = max(g["max_levels"], float(stage.get("max_levels") or 0.0))
                if len(g["examples"]) < 3:
                    g["examples"].append({"image": case["image"], "detail": stage_detail(stage)})
            elif cls == "error":
                if len(g["examples"]) < 3:
                    g["examples"].append({"image": case["image"], "detail": case["errors"][impl]})
    order = {c: i for i, c in enumerate(CLASS_ORDER)}
    stage_order = {s: i for i, s in enumerate(STAGE_CLASS)}
    divergences = sorted(groups.values(), key=lambda g: (order[g["class"]], stage_order.get(g["stage"], 99),
                                                          -len(g["images"]), g["preset"], g["impl"]))
    return {"totals": totals, "per_preset_impl": per_cell, "divergences": divergences,
            "cases": len(results["cases"]), "presets": len(results["presets"]), "images": len(results["images"])}


def stage_detail(stage: dict) -> str:
    """One line on how a stage differs (for tables): plan keys, shapes, or counts and levels."""
    st = stage.get("status")
    if stage.get("kind") == "plan":
        pd = stage.get("plan_diff", {})
        shared = [k for k, v in pd.items() if ABSENT not in (v.get("a"), v.get("b"))]
        only = [k for k in pd if k not in shared]
        text = "plan differs in " + ", ".join(f"{k}: {pd[k]['a']!r} vs {pd[k]['b']!r}" for k in shared[:4]) \
            if shared else "plans agree on every shared key"
        if only:
            text += f"; keys recorded by one side only: {', '.join(only[:6])}" + (" …" if len(only) > 6 else "")
        return text[:400]
    if st == "shape":
        return f"shape {stage['shape'][0]} vs {stage['shape'][1]}" + (f" ({stage['note']})" if stage.get("note") else "")
    if st == "incomparable":
        return stage.get("note", "not comparable")
    if st == "missing":
        return stage.get("note", "missing")
    if "n_diff" in stage:
        where = stage.get("worst_at")
        return (f"{stage['n_diff']}/{stage['n']} elements differ, max |Δ| {stage['max_levels']:.3g} uint8 levels, "
                f"mean {stage['mean_levels']:.3g} levels" + (f", worst at {where}" if where else ""))
    return st or ""


# ---------------------------------------------------------------------------------------------- nox entry


def golden_hook(add: Callable) -> Hook:
    """A hook feeding every produced trace (and impl error) of a case to ``add`` (GoldenCheck.add or
    GoldenUpdate.add), recording in the case dict what it returned: None = no golden yet ("new"),
    [] = "ok", mismatches = "regressed"."""
    from parity.golden import Produced, case_key

    def hook(case, d: dict) -> None:
        std = case.preset.get("image_std")
        status = {}
        for name, trace in case.traces.items():
            found = add(Produced.from_trace(trace, std))
            status[name] = "new" if found is None else ("regressed" if found else "ok")
        for name, err in case.errors.items():
            found = add(Produced(case_key(case.preset.name, name, case.image), error=err, image=case.image))
            status[name] = "regressed" if found else "error"
        d["golden"] = status

    return hook


def case_scope(results: dict[str, Any]) -> list[str]:
    """Every (preset, impl, image) key the matrix attempted (golden cases outside it are not judged)."""
    from parity.golden import case_key

    keys = []
    for c in results["cases"]:
        for impl in set(c.get("impls", {})) | set(c.get("errors", {})):
            keys.append(case_key(c["preset"], impl, c["image"]))
    return keys


def matrix_report(out_dir: str | os.PathLike = "reports", golden_root: str | os.PathLike | None = None,
                  presets: Iterable[str] | None = None, images: str | Sequence[str] | None = None,
                  impls: Sequence[str] | None = None, progress: bool = True, html: bool = True) -> tuple[dict, Any]:
    """Run the matrix with a golden check, write ``out_dir``/{results.json, summary.md, index.html
    and case pages}; return (results, GoldenReport). The library function behind ``nox -s parity``."""
    from parity.golden import DEFAULT_ROOT, GoldenCheck
    from parity.report import markdown

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    checker = GoldenCheck(golden_root or DEFAULT_ROOT)
    hooks: list[Hook] = [golden_hook(checker.add)]
    writer = None
    if html:
        from parity.report import html as html_report

        writer = html_report.CaseAssets(out)
        hooks.append(writer)
    results = run_matrix(presets, images, impls, hooks=hooks, progress=progress)
    report = checker.report(case_scope(results))
    results["golden"] = report.to_dict()
    (out / "results.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    (out / "summary.md").write_text(markdown.render_summary(results))
    if html:
        html_report.write_site(results, out)
    return results, report


def golden_run(mode: str, golden_root: str | os.PathLike | None = None, presets: Iterable[str] | None = None,
               images: str | Sequence[str] | None = None, impls: Sequence[str] | None = None,
               progress: bool = True):
    """``parity golden check`` / ``parity golden update`` over the (default) matrix: returns the
    GoldenReport (check) or UpdateSummary (update). Only ``update`` writes goldens."""
    from parity.golden import DEFAULT_ROOT, GoldenCheck, GoldenUpdate

    root = golden_root or DEFAULT_ROOT
    if mode == "check":
        checker = GoldenCheck(root)
        results = run_matrix(presets, images, impls, hooks=[golden_hook(checker.add)], progress=progress)
        return checker.report(case_scope(results))
    if mode == "update":
        updater = GoldenUpdate(root)
        results = run_matrix(presets, images, impls, hooks=[golden_hook(updater.add)], progress=progress)
        return updater.finish(case_scope(results))
    raise ParityError(f"golden mode must be 'check' or 'update', got {mode!r}")


def main(argv: list[str] | None = None) -> int:
    """``python -m parity.matrix``: the `nox -s parity` entry. Exit 1 on a golden regression (or, with
    --browser-check, a report page that fails in headless Chromium); 2 on bad usage."""
    ap = argparse.ArgumentParser(prog="python -m parity.matrix", description=main.__doc__)
    ap.add_argument("--out", default="reports", help="report folder (default: reports)")
    ap.add_argument("--golden", default=None, help="golden root (default: fixtures/golden)")
    ap.add_argument("--images", default="default", help="'default', 'all', or comma-separated fixture names")
    ap.add_argument("--presets", default=None, help="comma-separated preset names (default: all)")
    ap.add_argument("--impls", default=None, help="comma-separated impl names (default: all)")
    ap.add_argument("--no-html", action="store_true")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    ap.add_argument("--browser-check", action="store_true",
                    help="load index.html and a few case pages in headless Chromium (skipped if absent)")
    args = ap.parse_args(argv)
    images = args.images if args.images in ("default", "all") else args.images.split(",")
    try:
        results, report = matrix_report(args.out, args.golden, args.presets.split(",") if args.presets else None,
                                        images, args.impls.split(",") if args.impls else None,
                                        progress=not args.quiet, html=not args.no_html)
    except ParityError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    s = results["summary"]
    print(f"matrix: {s['cases']} cases ({s['presets']} presets x {s['images']} images) in {results['elapsed_s']:.0f} s; "
          + ", ".join(f"{k} {v}" for k, v in s["totals"].items() if v))
    print(report.render())
    print(f"reports written to {args.out}/ (index.html, summary.md, results.json)")
    browser_ok = True
    if args.browser_check and not args.no_html:
        from parity.report.html import browser_check_site, find_browser

        if find_browser() is None:
            print("browser check skipped: no chromium on PATH (apt-get install -y chromium)")
        else:
            for c in browser_check_site(args.out):
                if not c["ok"]:
                    browser_ok = False
                print(f"browser check {'ok  ' if c['ok'] else 'FAIL'} {c['page']}: {c['images']} images, "
                      f"{c['broken']} broken, {len(c['console'])} console messages"
                      + (f"; {c['error']}" if c["error"] else "")
                      + ("".join(f"\n  console: {m}" for m in c["console"][:5])))
    return 0 if report.passed and browser_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
