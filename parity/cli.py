"""The ``parity`` command: parse flags, call the library, pick a renderer.

The exit-code contract lives here, once (``main``), and in README.md "Exit codes":

- 0 agreement / pass; 1 divergence or regression; 2 bad input or usage: one line on stderr
  (``parity: error: ...``), no traceback, no partial output file; 3 internal error (a bug): one line
  naming the exception, ``--debug`` prints the traceback; 130 interrupted.
- Several IMAGEs are all run; a bad one is reported on its own (stderr, and ``image_errors`` in
  ``--json``) beside the others' results, and the exit code is the worst one (3 > 2 > 1 > 0).
- Nothing compared is never a pass: ``run`` needs two distinct impls; ``golden check`` fails when a
  case has no golden (unless ``--allow-new``) or nothing was checked.
- Output that cannot be delivered: a closed pipe (``| head -1``) keeps the verdict and is silenced (as
  Python's docs recommend, stdout is pointed at devnull); any other write failure (``> /dev/full``)
  is exit 2 with one line.

``--json`` prints ``to_dict()`` plus ``schema_version`` (see docs/json-schema.md).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from parity.errors import BadImage, ParityError
from parity.schema import SCHEMA_VERSION

EXIT_PASS, EXIT_DIVERGENCE, EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

EXIT_CODES_HELP = """exit codes:
  0    agreement / pass
  1    divergence found, or a golden regression (also: a case without a golden)
  2    bad input or usage: one line on stderr, no partial output file
  3    internal error (a bug): one line; rerun with --debug for the traceback
  130  interrupted
Several IMAGEs: each is run, a bad one is reported beside the others' results, and the exit code
is the worst (3 > 2 > 1 > 0). A closed pipe (| head) keeps the verdict."""


@dataclass
class Outcome:
    """What a command produced: its verdict, what goes to stdout, and per-item errors for stderr."""

    code: int
    stdout: str | None = None
    errors: list[str] = field(default_factory=list)


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line, exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ParityError(f"{self.prog}: {message}")


def _names(flag: str, s: str | None) -> list[str] | None:
    """A comma-separated list of names: None when the flag is absent; empty or repeated names are
    usage errors (``--impl ''`` must not silently mean every impl)."""
    if s is None:
        return None
    names = [x.strip() for x in s.split(",")]
    if not any(names):
        raise ParityError(f"{flag} {s!r} names nothing; give comma-separated names")
    if not all(names):
        raise ParityError(f"{flag} {s!r} has an empty name between commas")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ParityError(f"{flag} names {dup[0]!r} twice; name each once")
    return names


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


def _render(payload: dict[str, Any], as_json: bool, text: str) -> str:
    if as_json:
        return json.dumps({"schema_version": SCHEMA_VERSION, **payload}, indent=2, default=str) + "\n"
    return text if text.endswith("\n") else text + "\n"


def _load_preset(args) -> Any:
    from parity.presets import get_preset

    if getattr(args, "gguf", None):
        if args.model:
            raise ParityError(f"--model {args.model} and --gguf {args.gguf} both given: --gguf derives the preset "
                              "from the file; give one of them")
        from parity.gguf import preset_from_gguf

        return preset_from_gguf(args.gguf)
    if not args.model:
        raise ParityError("--model PRESET is required (see `parity models`)")
    return get_preset(args.model)


def _internal_line(e: BaseException) -> str:
    return f"internal error: {type(e).__name__}: {_one_line(e)} (run with --debug for the traceback)"


def _decoders(specs: list[str] | None) -> dict[str, str]:
    """``--decoder IMPL=PROFILE`` flags as {impl: profile} (each checked to exist)."""
    from parity.decode.profiles import get_profile
    from parity.impls import get_impl

    out: dict[str, str] = {}
    for spec in specs or []:
        impl, sep, profile = spec.partition("=")
        if not sep or not impl or not profile:
            raise ParityError(f"--decoder {spec!r} must be IMPL=PROFILE, e.g. ollama=go1.25")
        get_impl(impl)
        get_profile(profile)
        if impl in out:
            raise ParityError(f"--decoder names impl {impl!r} twice")
        out[impl] = profile
    return out


def cmd_run(args) -> Outcome:
    from parity.decode import check_image_path

    preset = _load_preset(args)
    named = _names("--impl", args.impl)
    decoders = _decoders(args.decoder)
    if len(args.images) == 1:  # fail fast (and before the heavy imports) on the one image
        check_image_path(args.images[0])
    from parity.case import run_case, select_impls
    from parity.impls import impls_for
    from parity.report.text import render_run

    impls = select_impls(preset, named)
    diagnoser = None
    if args.diagnose:
        from parity.diagnose import diagnose_traces as diagnoser
    if len(impls) < 2:
        if named:
            raise ParityError("run needs at least two impls to compare; use `parity dump` for one")
        raise ParityError(f"only {', '.join(i.name for i in impls_for(preset))} supports preset {preset.name}: "
                          "nothing to compare it with (use `parity dump` for one impl's output)")
    names = [i.name for i in impls]
    if args.baseline is not None and args.baseline not in names:
        raise ParityError(f"baseline {args.baseline!r} is not among the impls run ({', '.join(names)})")
    cases, image_errors, code = [], [], EXIT_PASS
    for img in args.images:
        try:
            check_image_path(img)
            case = run_case(img, preset, names, args.baseline, args.from_stage, diagnoser, decoders=decoders,
                            inject_decoder=args.inject_decoder)
            if case.unusable:
                raise BadImage(case.unusable)
            cases.append(case)
            code = max(code, EXIT_PASS if case.passed else EXIT_DIVERGENCE)
        except ParityError as e:
            if args.debug:
                traceback.print_exc()
            image_errors.append({"image": img, "error": _one_line(e), "exit_code": EXIT_BAD_INPUT})
            code = max(code, EXIT_BAD_INPUT)
        except Exception as e:  # a bug on one image: the others still run; exit 3
            if args.debug:
                traceback.print_exc()
            image_errors.append({"image": img, "error": _internal_line(e), "exit_code": EXIT_INTERNAL})
            code = EXIT_INTERNAL
    errors = [e["error"] for e in image_errors]
    if not cases:  # nothing ran: the error lines are the whole answer
        return Outcome(code, None, errors)
    payload = {"command": "run", "cases": [c.to_dict() for c in cases], "image_errors": image_errors,
               "exit_code": code}
    return Outcome(code, _render(payload, args.json, "" if args.json else render_run(payload)), errors)


def cmd_dump(args) -> Outcome:
    from parity.case import select_impls
    from parity.decode import check_image_path
    from parity.export import FORMATS, encode_stage
    from parity.files import atomic_write, check_output_path
    from parity.impls import ImageInput

    out = check_output_path(args.output, FORMATS)
    preset = _load_preset(args)
    named = _names("--impl", args.impl)
    if len(named) != 1:
        raise ParityError(f"dump writes one impl's output; --impl names {len(named)}: {', '.join(named)}")
    impl = select_impls(preset, named)[0]
    check_image_path(args.image)
    try:
        trace = impl.run(ImageInput(args.image, decoders=_decoders(args.decoder)), preset)
    except ParityError:
        raise
    except Exception as e:  # the impl refuses this input (as `run` records it): nothing to write
        raise ParityError(f"{impl.name} failed on {args.image}: {type(e).__name__}: {_one_line(e)}") from e
    data = encode_stage(trace, args.stage, out.suffix)
    atomic_write(out, data)
    rec = trace[args.stage or "pack"] if (args.stage or "pack") in trace else None
    payload = {
        "command": "dump", "output": str(out), "impl": impl.name, "impl_version": impl.version,
        "preset": preset.name, "stage": args.stage or ("pack" if out.suffix != ".npz" else "all"),
        "bytes": len(data), "sha1": hashlib.sha1(data).hexdigest(), "sha256": hashlib.sha256(data).hexdigest(),
        "shape": list(rec.shape) if rec is not None and rec.kind == "array" else None,
        "dtype": rec.dtype if rec is not None else None, "layout": rec.layout if rec is not None else None,
    }
    text = (f"wrote {out} ({len(data):,} bytes) from {impl.name} {payload['stage']}"
            + (f" {rec.dtype} {'x'.join(map(str, rec.shape))} [{rec.layout}]" if rec is not None and rec.kind == "array" else "")
            + f"\nsha1   {payload['sha1']}\nsha256 {payload['sha256']}")
    return Outcome(EXIT_PASS, _render(payload, args.json, text))


def cmd_models(args) -> Outcome:
    from parity.impls import impls_for
    from parity.presets import all_presets
    from parity.report.text import render_models

    presets = []
    for p in all_presets().values():
        d = p.to_dict()
        d["impls"] = [i.name for i in impls_for(p)]
        presets.append(d)
    payload = {"command": "models", "presets": presets}
    return Outcome(EXIT_PASS, _render(payload, args.json, render_models(payload, args.verbose)))


def cmd_impls(args) -> Outcome:
    from parity.decode.profiles import PROFILES
    from parity.impls import IMPLS
    from parity.report.text import render_impls

    payload = {"command": "impls", "impls": [i.to_dict() for i in IMPLS.values()],
               "decoders": [{"name": p.name, "runtime": p.runtime, "description": p.description}
                            for p in PROFILES.values()]}
    return Outcome(EXIT_PASS, _render(payload, args.json, render_impls(payload)))


def cmd_compare(args) -> Outcome:
    from parity.decode import check_image_path
    from parity.external import compare_external
    from parity.files import check_regular
    from parity.report.external import render_external_text

    preset = _load_preset(args)
    named = _names("--impl", args.impl)
    check_regular(args.file, "dump")
    check_image_path(args.image)
    result = compare_external(args.file, preset, args.image, named, from_stage=args.from_stage,
                              inject_decoder=args.inject_decoder)
    payload = {"command": "compare", **result.to_dict()}
    code = EXIT_PASS if result.passed else EXIT_DIVERGENCE
    return Outcome(code, _render(payload, args.json, render_external_text(result)))


def cmd_gguf(args) -> Outcome:
    from parity.gguf import inspect_mmproj, render_gguf_text

    report = inspect_mmproj(args.file, args.hf_config)
    payload = {"command": "gguf", **report}
    return Outcome(EXIT_PASS, _render(payload, args.json, render_gguf_text(report)))


def _matrix_scope(args) -> dict[str, Any]:
    images = args.images if args.images in (None, "default", "all") else _names("--images", args.images)
    if args.workers is not None and args.workers < 1:
        raise ParityError(f"--workers must be at least 1, got {args.workers}")
    return dict(presets=_names("--model", args.model), impls=_names("--impl", args.impl), images=images,
                workers=args.workers, progress=not getattr(args, "json", False) and sys.stderr.isatty())


def cmd_golden(args) -> Outcome:
    from parity.files import check_output_dir
    from parity.golden import DEFAULT_ROOT
    from parity.matrix import golden_gate, run_matrix
    from parity.report.golden import render_golden_report, render_update_summary

    root = args.root or DEFAULT_ROOT
    scope = _matrix_scope(args)
    if args.action == "update":
        check_output_dir(Path(root), "golden root", may_create=True)
        _, report = run_matrix(golden="update", golden_root=root, compare=False, **scope)
        d = report.to_dict()
        text = render_update_summary(d)
    else:
        report = golden_gate(root, allow_new=args.allow_new, **scope)
        d = report.to_dict()
        text = render_golden_report(d)
    payload = {"command": f"golden {args.action}", **d}
    return Outcome(EXIT_PASS if report.passed else EXIT_DIVERGENCE, _render(payload, args.json, text))


def cmd_matrix(args) -> Outcome:
    """The whole matrix into a report folder, with the golden check; exit 1 on a regression (or a page
    that fails the browser check)."""
    from parity.files import atomic_write, check_output_dir
    from parity.golden import DEFAULT_ROOT
    from parity.matrix import run_matrix
    from parity.report import html, markdown
    from parity.report.browser import browser_check_site, find_browser
    from parity.report.golden import render_golden_report

    out = Path(args.out)
    check_output_dir(out, "report folder", may_create=True)
    out.mkdir(parents=True, exist_ok=True)
    results, report = run_matrix(golden="check", golden_root=args.root or DEFAULT_ROOT,
                                 assets_dir=None if args.no_html else out, **_matrix_scope(args))
    results["golden"] = report.to_dict()
    atomic_write(out / "results.json", (json.dumps(results, indent=1, default=str) + "\n").encode())
    atomic_write(out / "summary.md", markdown.render_summary(results).encode())
    if not args.no_html:
        html.write_site(results, out)
    s = results["summary"]
    lines = [f"matrix: {s['cases']} cases ({s['presets']} presets x {s['images']} images) on {results['workers']} "
             f"workers in {results['elapsed_s']:.0f} s; " + ", ".join(f"{k} {v}" for k, v in s["totals"].items() if v),
             render_golden_report(results["golden"]),
             f"reports written to {out}/ (index.html, summary.md, results.json)"]
    browser_ok = True
    if args.browser_check and not args.no_html:
        if find_browser() is None:
            lines.append("browser check skipped: no chromium on PATH (apt-get install -y chromium)")
        else:
            for c in browser_check_site(out):
                browser_ok = browser_ok and c["ok"]
                lines.append(f"browser check {'ok  ' if c['ok'] else 'FAIL'} {c['page']}: {c['images']} images, "
                             f"{c['broken']} broken, {len(c['console'])} console messages"
                             + (f"; {c['error']}" if c["error"] else "")
                             + "".join(f"\n  console: {m}" for m in c["console"][:5]))
    code = EXIT_PASS if report.passed and browser_ok else EXIT_DIVERGENCE
    payload = {"command": "matrix", "out": str(out), "summary": s, "golden": results["golden"],
               "elapsed_s": results["elapsed_s"], "workers": results["workers"]}
    return Outcome(code, _render(payload, args.json, "\n".join(lines)))


def cmd_sweep(args) -> Outcome:
    """A corpus x presets x impls into a results folder (results.sqlite, index.html, summary.md, case
    pages of the worst cases); resumable; exit 1 when some impl diverges from its baseline on some image."""
    import shlex

    from parity.report.browser import browser_check_site, find_browser
    from parity.report.sweep import render_sweep_text, write_sweep_report
    from parity.sweep.workflow import DEFAULT_KEEP_WORST, SweepConfig, check_config, run_sweep

    if args.scheduler and args.workers is not None:
        raise ParityError("--workers and --scheduler both given: on a cluster its workers run the tasks; give one")
    cmd = ["parity", "sweep", *args.inputs, "--model", args.model, "-o", args.output]
    for flag, value in (("--impl", args.impl), ("--baseline", args.baseline), ("--workers", args.workers),
                        ("--scheduler", args.scheduler), ("--keep-worst", args.keep_worst)):
        if value is not None:
            cmd += [flag, str(value)]
    cfg = SweepConfig(args.inputs, _names("--model", args.model), Path(args.output), impls=_names("--impl", args.impl),
                      baseline=args.baseline, workers=args.workers, scheduler=args.scheduler,
                      keep_worst=DEFAULT_KEEP_WORST if args.keep_worst is None else args.keep_worst,
                      progress=not args.json and sys.stderr.isatty(), command=shlex.join(cmd))
    check_config(cfg)  # usage errors before connecting to a cluster
    cluster = None
    if args.scheduler:
        from parity.sweep.cluster import connect

        cluster = connect(args.scheduler)
        cfg.executor, cfg.slots = cluster.executor, cluster.slots
    try:
        result = run_sweep(cfg)
    finally:
        if cluster is not None:
            cluster.close()
    write_sweep_report(result.summary, result.worst_cases, cfg.out)
    lines = [render_sweep_text(result.summary)]
    browser_ok = True
    if args.browser_check:
        if find_browser() is None:
            lines.append("browser check skipped: no chromium on PATH (apt-get install -y chromium)")
        else:
            for c in browser_check_site(cfg.out):
                browser_ok = browser_ok and c["ok"]
                lines.append(f"browser check {'ok  ' if c['ok'] else 'FAIL'} {c['page']}: {c['images']} images, "
                             f"{c['broken']} broken, {len(c['console'])} console messages"
                             + (f"; {c['error']}" if c["error"] else ""))
    code = EXIT_PASS if result.passed and browser_ok else EXIT_DIVERGENCE
    # stdout stays small on any corpus: group counts without their case lists (all in summary.json)
    groups = [{k: v for k, v in g.items() if k != "cases"} for g in result.summary["groups"]]
    payload = {"command": "sweep", **result.summary, "groups": groups, "exit_code": code,
               "summary_json": str(cfg.out / "summary.json")}
    return Outcome(code, _render(payload, args.json, "\n".join(lines)))


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="parity", description="Stage-by-stage parity of VLM image preprocessing.",
                epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--debug", action="store_true", help="print the traceback of an error")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def parser(name: str, help: str, **kw) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help, description=help, epilog=kw.pop("epilog", EXIT_CODES_HELP),
                            formatter_class=argparse.RawDescriptionHelpFormatter, **kw)
        sp.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="print the traceback of an error")
        return sp

    def decoder_flag(sp):
        sp.add_argument("--decoder", action="append", metavar="IMPL=PROFILE",
                        help="decode with another profile for one impl, e.g. ollama=go1.25 (Ollama built with Go "
                             "<= 1.25); repeatable; profiles: `parity impls`")

    def common(sp, model_required=False):
        sp.add_argument("--model", "-m", required=model_required, metavar="PRESET", help="preset (see `parity models`)")
        sp.add_argument("--gguf", metavar="MMPROJ", help="derive the preset from a llama.cpp mmproj GGUF file "
                        "(instead of --model)")
        sp.add_argument("--json", action="store_true", help="machine-readable output (versioned schema)")

    r = parser("run", "every impl's trace, a per-stage table and the first divergence")
    r.add_argument("images", nargs="+", metavar="IMAGE",
                   help="one or more images; each is run, a bad one is reported (stderr; `image_errors` in --json) "
                        "beside the others' results, and the exit code is the worst (2 > 1 > 0; 3 above all)")
    common(r)
    r.add_argument("--impl", help="comma-separated impls, at least two (default: all that support the preset)")
    r.add_argument("--baseline", help="impl the others are compared against (default: reference, else first)")
    r.add_argument("--from-stage", choices=["decode"], help="feed every impl the same pixels from this stage")
    r.add_argument("--inject-decoder", default="pil-hf", metavar="PROFILE",
                   help="with --from-stage decode: the decoder profile whose pixels every impl gets (default "
                        "pil-hf = Pillow/libjpeg-turbo; stb = llama.cpp's; go1.26 = Ollama's; see `parity impls`)")
    decoder_flag(r)
    r.add_argument("--diagnose", action="store_true",
                   help="rank likely causes of each divergence (re-runs candidate kernels: slower)")
    r.set_defaults(fn=cmd_run)

    d = parser("dump", "write one impl's stage to .bin (inp_raw bytes), .npy or .npz")
    d.add_argument("image", metavar="IMAGE")
    common(d)
    d.add_argument("--impl", required=True, help="the one impl whose output is written")
    d.add_argument("--stage", help="stage name (default pack; all stages for .npz)")
    decoder_flag(d)
    d.add_argument("-o", "--output", required=True, metavar="FILE",
                   help="checked before any work starts; written atomically (no partial file), mode 0666 & ~umask")
    d.set_defaults(fn=cmd_dump)

    c = parser("compare", "an external dump against every impl: which it matches, else where/why not")
    c.add_argument("file", metavar="FILE")
    common(c)
    c.add_argument("--image", required=True)
    c.add_argument("--impl", help="comma-separated impls to compare against")
    c.add_argument("--from-stage", choices=["decode"], help="feed every impl the same pixels from this stage")
    c.add_argument("--inject-decoder", default="pil-hf", metavar="PROFILE",
                   help="with --from-stage decode: the decoder profile whose pixels every impl gets")
    c.set_defaults(fn=cmd_compare)

    m = parser("models", "presets, their family, impls available and value provenance")
    m.add_argument("--json", action="store_true")
    m.add_argument("-v", "--verbose", action="store_true", help="every value with its source")
    m.set_defaults(fn=cmd_models)

    i = parser("impls", "impls with their pinned versions")
    i.add_argument("--json", action="store_true")
    i.set_defaults(fn=cmd_impls)

    g = parser("gguf", "the preprocessing a llama.cpp mmproj GGUF implies, and its problems")
    g.add_argument("file", metavar="MMPROJ.gguf")
    g.add_argument("--hf-config", metavar="preprocessor_config.json")
    g.add_argument("--json", action="store_true")
    g.set_defaults(fn=cmd_gguf)

    gl = parser("golden", "regression goldens: check, or update (the only way they change)",
                epilog=EXIT_CODES_HELP + "\ngolden check: 1 also when a case in scope has no golden (unless "
                "--allow-new) or nothing was checked; 2 when the manifest is missing or malformed.")
    gl.add_argument("action", choices=["check", "update"])
    gl.add_argument("--model", help="comma-separated presets (default all)")
    gl.add_argument("--impl", help="comma-separated impls (default all)")
    gl.add_argument("--images", help="'default' (default), 'all', or comma-separated fixture image names")
    gl.add_argument("--root", metavar="DIR", help="golden root (default fixtures/golden)")
    gl.add_argument("--allow-new", action="store_true",
                    help="check: accept cases that have no golden yet (they fail the check otherwise)")
    gl.add_argument("--workers", type=int, help="processes (default: every core)")
    gl.add_argument("--json", action="store_true")
    gl.set_defaults(fn=cmd_golden)

    mx = parser("matrix", "every preset x impl x fixture image into a report folder (index.html, summary.md, "
                "results.json), with the golden check (what `nox -s parity` runs)")
    mx.add_argument("--out", "-o", default="reports", metavar="DIR", help="report folder (default: reports)")
    mx.add_argument("--model", help="comma-separated presets (default all)")
    mx.add_argument("--impl", help="comma-separated impls (default all)")
    mx.add_argument("--images", help="'default' (default), 'all', or comma-separated fixture image names")
    mx.add_argument("--root", metavar="DIR", help="golden root (default fixtures/golden)")
    mx.add_argument("--workers", type=int, help="processes (default: every core)")
    mx.add_argument("--no-html", action="store_true", help="only results.json and summary.md")
    mx.add_argument("--browser-check", action="store_true",
                    help="load index.html and a few case pages in headless Chromium (skipped if absent)")
    mx.add_argument("--json", action="store_true")
    mx.set_defaults(fn=cmd_matrix)

    sw = parser("sweep", "a whole corpus x presets x impls, on every core or a Dask cluster, into a resumable "
                "results folder (results.sqlite, index.html, summary.md)",
                epilog=EXIT_CODES_HELP + "\nsweep: 1 when some impl diverges from its baseline on some image; bad input "
                "files are recorded (summary, inputs table) and do not change the exit code; 2 when no INPUT names a "
                "readable image, or for a bad -o / flag.")
    sw.add_argument("inputs", nargs="+", metavar="INPUT",
                    help="image files, directories (recursive), globs ('data/**/*.jpg'), or .txt/.lst/.list files "
                         "listing paths (one per line)")
    sw.add_argument("--model", "-m", required=True, metavar="P[,P...]", help="comma-separated presets")
    sw.add_argument("--impl", help="comma-separated impls (default: every impl that supports each preset)")
    sw.add_argument("--baseline", help="impl the others are compared against (default: reference, else first)")
    sw.add_argument("-o", "--output", required=True, metavar="RESULTS_DIR",
                    help="results folder; the same command again resumes, skipping finished images")
    sw.add_argument("--workers", type=int, help="local processes (default: every core; 1 = in this process)")
    sw.add_argument("--scheduler", metavar="ADDRESS",
                    help="run on a Dask cluster (tcp://HOST:8786; see README 'Sweeps and clusters')")
    sw.add_argument("--keep-worst", type=int, metavar="N",
                    help="keep arrays and a case page for the N worst cases per preset x impl (default 5)")
    sw.add_argument("--browser-check", action="store_true",
                    help="load index.html and a few case pages in headless Chromium (skipped if absent)")
    sw.add_argument("--json", action="store_true")
    sw.set_defaults(fn=cmd_sweep)
    return p


def _stderr(line: str) -> None:
    try:
        print(f"parity: error: {line}", file=sys.stderr, flush=True)
    except (OSError, ValueError):  # stderr itself is gone: nothing left to tell
        pass


def _silence_stdout() -> None:
    """Point fd 1 at devnull so that the interpreter's final flush of a dead pipe or a full device
    does not print 'Exception ignored ... BrokenPipeError' (Python docs, signal / SIGPIPE note)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (captured in tests): nothing to redirect
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def _deliver(outcome: Outcome) -> int:
    """Print the outcome; a closed pipe keeps the verdict, another write failure is exit 2."""
    for line in outcome.errors:
        _stderr(line)
    if outcome.stdout is None:
        return outcome.code
    try:
        sys.stdout.write(outcome.stdout)
        sys.stdout.flush()
    except BrokenPipeError:  # the reader stopped (| head): the verdict stands
        _silence_stdout()
        return outcome.code
    except OSError as e:  # > /dev/full, a disk filling up: the output is lost, so is the answer
        _silence_stdout()
        _stderr(f"cannot write the output to stdout: {e.strerror or e}")
        return max(outcome.code, EXIT_BAD_INPUT) if outcome.code != EXIT_INTERNAL else EXIT_INTERNAL
    return outcome.code


def main(argv: list[str] | None = None) -> int:
    """Run one command; the exit code follows the contract in this module's docstring."""
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
        debug = bool(getattr(args, "debug", False))
        outcome = args.fn(args)
    except KeyboardInterrupt:
        _stderr("interrupted")
        return EXIT_INTERRUPTED
    except ParityError as e:
        if debug:
            traceback.print_exc()
        _stderr(_one_line(e))
        return EXIT_BAD_INPUT
    except ImportError as e:  # a package of the install missing or broken: say which, and the fix
        if debug:
            traceback.print_exc()
        _stderr(f"cannot import {e.name or 'a required package'}: {_one_line(e)} (run the README's install "
                "command: python -m pip install -c constraints.txt -e '.[dev]')")
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # a pipe closed before there was a verdict (a progress line on stderr)
        _silence_stdout()
        return EXIT_BAD_INPUT
    except Exception as e:  # a bug: one line, the traceback only on request
        if debug:
            traceback.print_exc()
        _stderr(_internal_line(e))
        return EXIT_INTERNAL
    return _deliver(outcome)


if __name__ == "__main__":
    sys.exit(main())
