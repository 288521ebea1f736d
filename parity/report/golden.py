"""Text of golden checks and updates, from their ``to_dict()`` data (pytest-regressions style: what
differs, why — environment or code — the numbers, where the obtained array went, how to update)."""

from __future__ import annotations

from typing import Any

#: listings are capped
LIST_CAP = 10


def render_mismatch(m: dict[str, Any]) -> list[str]:
    """ndarrays_regression-style lines for one mismatching stage of one case."""
    env = m.get("env_changes") or {}
    out = [f"{m['key']} stage {m['stage']!r}: {m['what']} differs; cause: {m['cause']}"
           + (" (" + ", ".join(f"{k} {a} -> {b}" for k, (a, b) in env.items()) + ")" if env
              else " (same library versions as recorded)")]
    expected, obtained = m.get("expected") or {}, m.get("obtained") or {}
    if m["what"] in ("shape", "dtype"):
        out.append(f"  expected {m['what']} {expected.get(m['what'])}, obtained {obtained.get(m['what'])}")
    if m["what"] == "plan" and m.get("diff"):
        for k, v in list(m["diff"].items())[:LIST_CAP]:
            out.append(f"  plan[{k!r}]: expected {v['a']!r}, obtained {v['b']!r}")
    if m["what"] == "error":
        out.append(f"  now raises: {obtained.get('error')}")
    d = m.get("diff") if m["what"] == "sha256" else None
    if d and "n_diff" in d:
        n, k = d["n"], d["n_diff"]
        out.append(f"  Number of differences: {k} / {n} ({100.0 * k / max(n, 1):.3g}%)")
        out.append(f"  max |Δ| {d['max_abs']:.6g} = {d['max_levels']:.3g} uint8 levels; "
                   f"mean |Δ| {d['mean_abs']:.6g} = {d['mean_levels']:.3g} levels; NMSE {d['nmse']:.3g}")
        for f in m.get("first_differences") or []:
            out.append(f"    at {f['index']}: obtained {f['obtained']!r}, expected {f['expected']!r}, "
                       f"difference {f['difference']!r}")
    elif m["what"] == "sha256" and m.get("expected_path") is None:
        out.append(f"  sha256 {expected.get('sha256', '')[:16]}… -> {obtained.get('sha256', '')[:16]}… "
                   "(no stored array for this case: hash only)")
    if m.get("obtained_path"):
        out.append(f"  obtained array written to {m['obtained_path']}")
    return out


def render_golden_report(r: dict[str, Any]) -> str:
    """A check's verdict line, the changed stages with their cases, the first mismatches in detail."""
    lines = [r["summary"]]
    mismatches = r["mismatches"]
    for stage, keys in r["by_stage"].items():
        causes = sorted({m["cause"] for m in mismatches if m["stage"] == stage})
        more = f", … {len(keys) - LIST_CAP} more" if len(keys) > LIST_CAP else ""
        lines.append(f"stage {stage!r} changed in {len(keys)} cases (cause: {', '.join(causes)}): "
                     + ", ".join(keys[:LIST_CAP]) + more)
    shown = sorted(mismatches, key=lambda m: (m.get("expected_path") is None, m["key"]))[:LIST_CAP]
    for m in shown:
        lines.extend(render_mismatch(m))
    if len(mismatches) > len(shown):
        lines.append(f"… {len(mismatches) - len(shown)} more mismatches (see the JSON report)")
    for k in r["missing_cases"][:LIST_CAP]:
        lines.append(f"{k}: has a golden but was not produced (impl no longer supports it?)")
    new = r["new_cases"]
    if new:
        more = f", … {len(new) - LIST_CAP} more" if len(new) > LIST_CAP else ""
        accepted = " (accepted: --allow-new)" if r["allow_new"] and r.get("require_checked") else ""
        lines.append(f"{len(new)} cases have no golden{accepted}: " + ", ".join(new[:LIST_CAP]) + more)
    if r.get("unchecked_new"):
        lines.append("New cases fail the check: record them with `parity golden update`, or accept them "
                     "explicitly with `parity golden check --allow-new`.")
    elif not r["passed"]:
        lines.append(f"If the change is intended: {r['update_hint']}.")
    return "\n".join(lines)


def render_update_summary(u: dict[str, Any]) -> str:
    """What an update changed: cases added/removed, stages whose hash changed, errors kept."""
    kept = u.get("kept_errors") or []
    kept_lines = ([f"  {len(kept)} cases raise now; their goldens were kept (`parity golden check` reports "
                   "them): " + ", ".join(kept[:LIST_CAP]) + (" …" if len(kept) > LIST_CAP else "")] if kept else [])
    lines = [u["summary"]]
    changed = u["changed"]
    for key, stage, old, new in changed[:LIST_CAP * 3]:
        lines.append(f"  changed {key} stage {stage!r}: sha256 {old[:12]} -> {new[:12]}")
    if len(changed) > LIST_CAP * 3:
        lines.append(f"  … {len(changed) - LIST_CAP * 3} more changed stages")
    for key in u["added"][:LIST_CAP]:
        lines.append(f"  added {key}")
    if len(u["added"]) > LIST_CAP:
        lines.append(f"  … {len(u['added']) - LIST_CAP} more added")
    for key in u["removed"][:LIST_CAP]:
        lines.append(f"  removed {key}")
    return "\n".join(lines + kept_lines)
