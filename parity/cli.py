"""The ``parity`` command: parse flags, call the library, pick a renderer.

Exit codes: 0 agreement / pass; 1 divergence or regression; 2 usage error or bad input (one line on
stderr, no traceback, no partial output file). ``--json`` prints ``to_dict()`` plus ``schema_version``
(see docs/json-schema.md).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from typing import Any

from parity.errors import ParityError

SCHEMA_VERSION = 1


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line, exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ParityError(f"{self.prog}: {message}")


def _csv(s: str | None) -> list[str] | None:
    return [x.strip() for x in s.split(",") if x.strip()] if s else None


def _emit(payload: dict[str, Any], as_json: bool, text: str) -> None:
    if as_json:
        print(json.dumps({"schema_version": SCHEMA_VERSION, **payload}, indent=2, default=str))
    else:
        print(text)


def _load_preset(args) -> Any:
    from parity.presets import get_preset

    if getattr(args, "gguf", None):
        from parity.gguf import preset_from_gguf

        return preset_from_gguf(args.gguf)
    if not args.model:
        raise ParityError("--model PRESET is required (see `parity models`)")
    return get_preset(args.model)


def cmd_run(args) -> int:
    from parity.case import run_case
    from parity.report.text import render_run

    preset = _load_preset(args)
    cases = [run_case(img, preset, _csv(args.impl), args.baseline, args.from_stage, args.diagnose)
             for img in args.images]
    payload = {"command": "run", "cases": [c.to_dict() for c in cases]}
    _emit(payload, args.json, render_run(payload) if not args.json else "")
    return 0 if all(c.passed for c in cases) else 1


def cmd_dump(args) -> int:
    from parity.case import select_impls
    from parity.export import atomic_write, check_output_path, encode_stage
    from parity.impls import ImageInput

    out = check_output_path(args.output)
    preset = _load_preset(args)
    impl = select_impls(preset, [args.impl])[0]
    trace = impl.run(ImageInput(args.image), preset)
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
    _emit(payload, args.json, text)
    return 0


def cmd_models(args) -> int:
    from parity.impls import impls_for
    from parity.presets import all_presets
    from parity.report.text import render_models

    presets = []
    for p in all_presets().values():
        d = p.to_dict()
        d["impls"] = [i.name for i in impls_for(p)]
        presets.append(d)
    payload = {"command": "models", "presets": presets}
    _emit(payload, args.json, render_models(payload, args.verbose))
    return 0


def cmd_impls(args) -> int:
    from parity.impls import IMPLS
    from parity.report.text import render_impls

    payload = {"command": "impls", "impls": [i.to_dict() for i in IMPLS.values()]}
    _emit(payload, args.json, render_impls(payload))
    return 0


def cmd_compare(args) -> int:
    from parity.dumps import compare_external, render_external_text

    preset = _load_preset(args)
    result = compare_external(args.file, preset, args.image, _csv(args.impl), from_stage=args.from_stage)
    payload = {"command": "compare", **result.to_dict()}
    _emit(payload, args.json, render_external_text(result))
    return 0 if result.passed else 1


def cmd_gguf(args) -> int:
    from parity.gguf import inspect_mmproj, render_gguf_text

    report = inspect_mmproj(args.file, args.hf_config)
    payload = {"command": "gguf", **report}
    _emit(payload, args.json, render_gguf_text(report))
    return 0


def cmd_golden(args) -> int:
    from parity import golden

    if args.action == "update":
        report = golden.update(presets=_csv(args.model), impls=_csv(args.impl))
    else:
        report = golden.check(presets=_csv(args.model), impls=_csv(args.impl))
    payload = {"command": f"golden {args.action}", **report.to_dict()}
    _emit(payload, args.json, report.render_text())
    return 0 if report.passed else 1


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="parity", description="Stage-by-stage parity of VLM image preprocessing.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def common(sp, model_required=False):
        sp.add_argument("--model", "-m", required=model_required, metavar="PRESET", help="preset (see `parity models`)")
        sp.add_argument("--gguf", metavar="MMPROJ", help="derive the preset from a llama.cpp mmproj GGUF file")
        sp.add_argument("--json", action="store_true", help="machine-readable output (versioned schema)")

    r = sub.add_parser("run", help="every impl's trace, a per-stage table and the first divergence")
    r.add_argument("images", nargs="+", metavar="IMAGE")
    common(r)
    r.add_argument("--impl", help="comma-separated impls (default: all that support the preset)")
    r.add_argument("--baseline", help="impl the others are compared against (default: reference, else first)")
    r.add_argument("--from-stage", choices=["decode"], help="feed every impl the same pixels from this stage")
    r.add_argument("--diagnose", action="store_true",
                   help="rank likely causes of each divergence (re-runs candidate kernels: slower)")
    r.set_defaults(fn=cmd_run)

    d = sub.add_parser("dump", help="write one impl's stage to .bin (inp_raw bytes), .npy or .npz")
    d.add_argument("image", metavar="IMAGE")
    common(d)
    d.add_argument("--impl", required=True)
    d.add_argument("--stage", help="stage name (default pack; all stages for .npz)")
    d.add_argument("-o", "--output", required=True, metavar="FILE")
    d.set_defaults(fn=cmd_dump)

    c = sub.add_parser("compare", help="an external dump against every impl: which it matches, else where/why not")
    c.add_argument("file", metavar="FILE")
    common(c)
    c.add_argument("--image", required=True)
    c.add_argument("--impl", help="comma-separated impls to compare against")
    c.add_argument("--from-stage", choices=["decode"], help="feed every impl the same pixels from this stage")
    c.set_defaults(fn=cmd_compare)

    m = sub.add_parser("models", help="presets, their family, impls available and value provenance")
    m.add_argument("--json", action="store_true")
    m.add_argument("-v", "--verbose", action="store_true", help="every value with its source")
    m.set_defaults(fn=cmd_models)

    i = sub.add_parser("impls", help="impls with their pinned versions")
    i.add_argument("--json", action="store_true")
    i.set_defaults(fn=cmd_impls)

    g = sub.add_parser("gguf", help="the preprocessing a llama.cpp mmproj GGUF implies, and its problems")
    g.add_argument("file", metavar="MMPROJ.gguf")
    g.add_argument("--hf-config", metavar="preprocessor_config.json")
    g.add_argument("--json", action="store_true")
    g.set_defaults(fn=cmd_gguf)

    gl = sub.add_parser("golden", help="regression goldens: check, or update (the only way they change)")
    gl.add_argument("action", choices=["check", "update"])
    gl.add_argument("--model", help="comma-separated presets (default all)")
    gl.add_argument("--impl", help="comma-separated impls (default all)")
    gl.add_argument("--json", action="store_true")
    gl.set_defaults(fn=cmd_golden)
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return args.fn(args)
    except ParityError as e:
        print(f"parity: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("parity: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
