"""Text of `parity compare` and of a diagnosis, rendered from the dicts ``--json`` prints
(``ExternalResult.to_dict()``, ``Diagnosis.to_dict()``).

Every number says what it is; listings are capped (causes at 5, the rest in ``--json``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from parity.compare import format_location
from parity.report.geometry import geometry_line

#: causes listed in text; the rest are in --json
CAUSE_CAP = 5


def _shape_text(shape: list) -> str:
    """A stage shape from JSON: ``1x3x560x560``, or ``[3x2x2, 3x1x1]`` for the parts of a ragged stage."""
    if shape and isinstance(shape[0], list):
        return "[" + ", ".join("x".join(map(str, s)) for s in shape) + "]"
    return "x".join(map(str, shape)) or "scalar"


def _target(reading: dict) -> str:
    """The stage a raw reading takes the dump for: ``pack 1x3x560x560 (hf-pil, hf-torchvision)``."""
    return f"{reading['stage']} {_shape_text(reading['shape'])} ({', '.join(reading['impls'])})"


def _g(v: float | None) -> float:
    """NMSE as JSON stores it (None: infinite, the baseline being all zeros) back to a number to format."""
    return float("inf") if v is None else v


def render_diagnosis_text(diag: dict[str, Any], cap: int = CAUSE_CAP) -> str:
    """The ranked causes with their evidence, equivalent kernels, affine fit and localization."""
    lines = []
    if diag["baseline"]["n_diff"] == 0:
        return f"no difference from {diag['reference']}: nothing to diagnose"
    causes = diag["causes"]
    if not causes:
        lines.append(f"likely cause: unknown ({len(diag['checked'])} hypotheses checked against {diag['reference']}, "
                     "none explains the difference)")
    for i, c in enumerate(causes[:cap], 1):
        lines.append(f"{i}. [{c['match']}] {c['title']} (stage {c['stage']})")
        lines.append(f"   evidence: {c['evidence']}")
        detail = c["detail"]
        if "equivalent_kernels" in detail:
            lines.append(f"   kernels giving the same pixels on this image: {', '.join(detail['equivalent_kernels'])}")
        fit = detail.get("affine_fit")
        if fit and "mean" in fit:
            near = fit["nearest_known"]
            named = (f"= {near['name']}" if near["max_abs_difference"] < 2e-3 else
                     f"no known set (nearest {near['name']}, off by {near['max_abs_difference']:.3g})")
            lines.append(f"   affine fit: mean {np.round(fit['mean'], 5).tolist()}, std "
                         f"{np.round(fit['std'], 5).tolist()} {named}")
    if len(causes) > cap:
        lines.append(f"   ... {len(causes) - cap} more (see --json)")
    if diag["localized"] and not (causes and causes[0]["match"] == "exact"):
        lines.append(f"localized to {diag['localized']['stage']}: {diag['localized']['evidence']}")
    return "\n".join(lines)


def _dump_lines(r: dict[str, Any]) -> list[str]:
    d, chosen = r["dump"], r["dump"]["reading"]
    reading = (f"read as {chosen['dtype']} little-endian" if chosen and chosen["dtype"] != "float32-big-endian"
               else f"read as {chosen['dtype']}" if chosen else f"{d['format']} {d['dtype']}")
    lines = [f"dump {d['path']}: {d['nbytes']} bytes, sha1 {d['sha1']}, {reading}, shape {d['shape']}"
             + (f" (entry {d['key']!r})" if d["key"] else "")]
    if chosen is not None:
        lines.append(f"  shape from {_target(chosen)} of {r['preset']} on {r['image']}")
    others = [x for x in d["readings"] if chosen is not None and x["dtype"] != chosen["dtype"]]
    if others:
        lines.append(f"  other readings of the same bytes ({'ambiguous; ' if d['ambiguous'] else ''}chosen: the "
                     "plausible one closest to an impl):")
        seen = set()
        for x in others:
            if not x["plausible"] and x["dtype"] in seen:
                continue
            seen.add(x["dtype"])
            nm = "n/a" if x["nmse_vs_stage"] is None else f"{x['nmse_vs_stage']:.3g}"
            lines.append(f"    {x['dtype']} as {_target(x) if x['plausible'] else x['stage']}: max |v| "
                         f"{x['max_abs']:.3g}, NMSE vs stage {nm}{'' if x['plausible'] else ' (implausible)'}")
    return lines


def render_compare_text(r: dict[str, Any]) -> str:
    """`parity compare` as text, from ``ExternalResult.to_dict()``."""
    lines = _dump_lines(r)
    geometry = r.get("geometry") or {}
    if geometry:
        width = max(len(n) for n in geometry) + 2
        lines.append("geometry ([h, w]):")
        lines.extend("   " + geometry_line(impl, g, width) for impl, g in geometry.items())
    if r["plan"]:
        lines.append(f"plan ({r['closest'] or '?'}): {r['plan']}")
    if r["from_stage"]:
        lines.append(f"every impl started from the same {r['from_stage']} output (stage injection)")
    lines.append(f"{'impl':<18} {'stage':<10} {'match':<21} {'differing':>20} {'max |Δ| levels':>15} {'NMSE':>10}")
    for m in r["impls"]:
        s = m["diff"]
        differing = f"{s['n_diff']}/{s['n']}"
        lines.append(f"{m['impl']:<18} {m['stage']:<10} {m['match']:<21} {differing:>20} {s['max_levels']:>15.3g} "
                     f"{_g(s['nmse']):>10.3g}")
        if m.get("note"):
            lines.append(f"    note: {m['note']}")
        dv = m.get("diverges_from_match")
        if dv and dv["first_divergence"]:
            lines.append(f"    diverges from {dv['against']} at {dv['first_divergence']}"
                         + (f" (then {', '.join(dv['consequences'])})" if dv["consequences"] else ""))
    for name, why in r["skipped"].items():
        lines.append(f"{name:<18} skipped: {why}")
    if r["matched"]:
        how = next(m["match"] for m in r["impls"] if m["impl"] == r["matched"][0])
        lines.append(f"MATCH: the dump is {'bit-identical to' if how == 'exact' else 'equal, after rounding, to'} "
                     f"the output of {', '.join(r['matched'])}")
        return "\n".join(lines)
    c = r["impls"][0] if r["impls"] else None
    if c is None:
        lines.append("NO MATCH: no impl has a stage of the dump's size")
        return "\n".join(lines)
    s = c["diff"]
    psnr, cos = s["psnr_db"], s["cosine"]
    lines.append(f"NO MATCH. closest: {c['impl']} ({c['stage']}): {s['n_diff']} of {s['n']} elements differ, max |Δ| "
                 f"{s['max_abs']:.4g} = {s['max_levels']:.2f} uint8 levels, mean {s['mean_levels']:.3g} levels, NMSE "
                 f"{_g(s['nmse']):.3g}, PSNR {psnr if psnr is None else round(psnr, 2)} dB, cosine "
                 f"{cos if cos is None else round(cos, 6)}")
    if s["worst_at"]:
        lines.append(f"  worst element: {format_location(s['worst_at'])}: {c['impl']} {s['worst_values'][0]:.6g}, "
                     f"dump {s['worst_values'][1]:.6g}; first difference at {format_location(s['first_at'])}")
    if s["histogram_levels"]:
        lines.append("  |Δ| in uint8 levels -> count: "
                     + ", ".join(f"{k}: {v}" for k, v in s["histogram_levels"].items()))
    if r["first_divergence"]:
        fd = r["first_divergence"]
        lines.append(f"first divergent stage (inferred from the {fd['source']}): {fd['stage']}: {fd['evidence']}")
    if r["diagnosis"] is not None:
        lines.append("likely causes:")
        lines.append("  " + render_diagnosis_text(r["diagnosis"]).replace("\n", "\n  "))
    return "\n".join(lines)


def render_external_text(result: Any) -> str:
    """The human report of `parity compare` for an ``ExternalResult`` (rendered from its ``to_dict()``,
    the same data as --json)."""
    return render_compare_text(result.to_dict())
