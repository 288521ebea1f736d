"""Plain-text rendering of result dicts (the same dicts ``--json`` prints).

Every number says what it is; listings are capped; failures name the next command.
"""

from __future__ import annotations

from typing import Any

from parity.arrays import shape_text
from parity.report.external import render_diagnosis_text
from parity.report.geometry import GEOMETRY_COLUMNS, geometry_line

HIST_CAP = 8


def _shape(s: Any) -> str:
    return shape_text(s)


def _agreement(sd: dict | None, is_baseline: bool) -> str:
    if is_baseline:
        return "baseline"
    if sd is None:
        return "-"
    st = sd["status"]
    if st == "equal":
        return "= identical"
    if st == "missing":
        return "(only in one)"
    if st == "incomparable":
        return "~ not comparable"
    if st == "shape":
        return "!= shape"
    if sd["kind"] == "plan":
        return "!= " + ", ".join(sd["plan_diff"])[:40]
    if sd["n_diff"] == 0:
        return "!= dtype only"
    return (f"!= {sd['n_diff']}/{sd['n']} differ, max {sd['max_levels']:.2f} lvl")


def render_trace_table(trace: dict, diff: dict | None, baseline: str) -> list[str]:
    by_name = {s["name"]: s for s in diff["stages"]} if diff else {}
    rows = [("stage", "shape", "dtype", "layout", "sha1", f"vs {baseline}")]
    for st in trace["stages"]:
        sha = st["sha1"][:12] + ("*" if st.get("approximate") else "")
        rows.append((st["name"], _shape(st["shape"]), st["dtype"], st["layout"], sha,
                     _agreement(by_name.get(st["name"]), trace["impl"] == baseline)))
    widths = [min(max(len(r[i]) for r in rows), 40) for i in range(len(rows[0]))]
    out = ["  " + "  ".join(c[:40].ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    approx = [s for s in trace["stages"] if s.get("approximate")]
    for s in approx:
        out.append(f"  * {s['name']} is approximate: {s['approximate']}")
    return out


def _compact(plan: dict, width: int = 200) -> str:
    text = ", ".join(f"{k}={v}" for k, v in plan.items())
    return text if len(text) <= width else text[: width - 3] + "..."


def render_stage_diff(sd: dict) -> list[str]:
    """Details of one differing stage."""
    out = []
    if sd["kind"] == "plan":
        for k, v in list(sd["plan_diff"].items())[:HIST_CAP * 2]:
            out.append(f"    {k}: baseline {v['a']}  vs  {v['b']}")
        both = sd.get("plan") or {}
        if both.get("a") is not None and both.get("b") is not None:
            out.append(f"    baseline decision: {_compact(both['a'])}")
            out.append(f"    impl decision:     {_compact(both['b'])}")
        if sd.get("note"):
            out.append(f"    note: {sd['note']}")
        return out
    if sd["status"] == "shape":
        out.append(f"    shape {_shape(sd['shape'][0])} vs {_shape(sd['shape'][1])}: {sd.get('note', '')}")
        return out
    out.append(f"    elements differing: {sd['n_diff']} of {sd['n']} ({100 * sd['n_diff'] / max(sd['n'], 1):.3f}%)")
    out.append(f"    max |Δ| {sd['max_abs']:.6g} = {sd['max_levels']:.2f} uint8 levels; "
               f"mean |Δ| {sd['mean_abs']:.3g} = {sd['mean_levels']:.4f} levels")
    psnr = "inf" if sd.get("psnr_db") is None else f"{sd['psnr_db']:.2f} dB"
    out.append(f"    NMSE {sd['nmse']:.3g}, PSNR {psnr}" +
               (f", cosine {sd['cosine']:.9f}" if sd.get("cosine") is not None else ""))
    if sd.get("worst_index") is not None:
        a, b = sd["worst_values"]
        where = sd.get("worst_location") or sd["worst_index"]
        out.append(f"    worst element at {where}: baseline {a:.6g} vs {b:.6g}")
    hist = sd.get("histogram_levels") or {}
    if hist:
        items = list(hist.items())
        shown = ", ".join(f"{k} lvl: {v}" for k, v in items[:HIST_CAP])
        out.append(f"    |Δ| histogram (uint8 levels: elements): {shown}" + (" ..." if len(items) > HIST_CAP else ""))
    if sd.get("note"):
        out.append(f"    note: {sd['note']}")
    return out


def render_geometry(case: dict) -> list[str]:
    """One line per impl: resized size, grid, images and image tokens ([h, w]); '!' where it differs
    from the baseline's."""
    geo = case.get("geometry") or {}
    if not geo:
        return []
    base = geo.get(case["baseline"]) or next(iter(geo.values()))
    width = max(len(n) for n in geo) + 2
    out = ["geometry ([h, w]; ! = differs from the baseline):"]
    for impl, g in geo.items():
        mark = "!" if any(g.get(k) != base.get(k) for k, _ in GEOMETRY_COLUMNS) else " "
        out.append(f" {mark} " + geometry_line(impl, g, width))
    return out


def render_case(case: dict) -> str:
    lines = [f"{case['image']}  —  preset {case['preset']} ({case['family']}), baseline {case['baseline']}"
             + (f", all impls fed the same pixels from stage '{case['injected_from_stage']}'"
                if case.get("injected_from_stage") else "")]
    lines.extend(render_geometry(case))
    for name, impl in case["impls"].items():
        lines.append("")
        lines.append(f"[{name}]  {impl['version']}")
        lines.extend(render_trace_table(impl["trace"], case["diffs"].get(name), case["baseline"]))
    for name, err in case["errors"].items():
        lines.append("")
        lines.append(f"[{name}]  failed on this image: {err}")
    lines.append("")
    if not case["diffs"] and not case["errors"]:
        lines.append("Only one impl ran: nothing to compare.")
    for name, d in case["diffs"].items():
        if d["passed"]:
            lines.append(f"{name} agrees with {case['baseline']} at every compared stage.")
            continue
        first = next(s for s in d["stages"] if s["name"] == d["first_divergence"])
        lines.append(f"{name} first diverges from {case['baseline']} at stage '{d['first_divergence']}':")
        lines.extend(render_stage_diff(first))
        if d["consequences"]:
            geometry = " (plan: the geometry differs on its own too, see above)" if "plan" in d["consequences"] else ""
            lines.append(f"    later stages that also differ: {', '.join(d['consequences'])}{geometry}")
        diag = case.get("diagnoses", {}).get(name)
        if diag:
            lines.extend("    " + ln for ln in render_diagnosis_text(diag, cap=3).splitlines())
    if not case["passed"]:
        lines.append("")
        lines.append("Next: `parity dump IMAGE --model PRESET --impl IMPL --stage STAGE -o x.npy` to inspect a "
                     "stage; `--json` for every number.")
    return "\n".join(lines)


def render_run(result: dict) -> str:
    return "\n\n".join(render_case(c) for c in result["cases"])


def render_models(result: dict, verbose: bool = False) -> str:
    lines = []
    for p in result["presets"]:
        lines.append(f"{p['name']:<20} family {p['family']:<11} impls: {', '.join(p['impls']) or '-'}")
        lines.append(f"{'':<20} {p['checkpoint']}: {p['description']}")
        if verbose:
            for k, v in p["values"].items():
                lines.append(f"{'':<22}{k} = {v['value']!r}   <- {v['source']}")
            if p["hf"]["processor"]:
                lines.append(f"{'':<22}hf processor {p['hf']['processor']} <- {p['hf']['source']}")
            for o, vals in p.get("overlays", {}).items():
                for k, v in vals.items():
                    lines.append(f"{'':<22}[{o}] {k} = {v['value']!r}   <- {v['source']}")
    if not verbose:
        lines.append("")
        lines.append("Value provenance: `parity models -v` (or --json).")
    return "\n".join(lines)


def render_impls(result: dict) -> str:
    width = max(len(i["name"]) for i in result["impls"]) + 2
    lines = [f"{i['name']:<{width}} {i['version']}\n{'':<{width}} {i['description']}"
             + (f" [decoder: {i['decoder']}]" if i.get("decoder") else "") for i in result["impls"]]
    if result.get("decoders"):
        lines += ["", "decoder profiles (--decoder IMPL=PROFILE, --inject-decoder PROFILE):"]
        lines += [f"  {d['name']:<20} {d['runtime']}: {d['description']}" for d in result["decoders"]]
    return "\n".join(lines)
