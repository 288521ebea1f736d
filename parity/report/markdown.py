"""``reports/summary.md``: the matrix in a few lines for a PR comment — golden status, the divergences
(geometry first, with the images that show them and the worst numbers) and per-preset agreement counts.
Rendered from the results dict of ``parity.matrix.run_matrix``; listings are capped."""

from __future__ import annotations

from typing import Any

from parity.report.geometry import GEOMETRY_COLUMNS, geometry_value

DIVERGENCE_CAP = 25
KEY_CAP = 8


def geometry_differences(results: dict[str, Any]) -> list[tuple[str, str, str, dict, dict]]:
    """(preset, image, impl, its summary, the baseline's) for every impl whose geometry differs."""
    out = []
    for c in results["cases"]:
        geo = c.get("geometry") or {}
        base = geo.get(c.get("baseline"))
        if base is None:
            continue
        for impl, g in geo.items():
            if impl != c["baseline"] and any(g.get(k) != base.get(k) for k, _ in GEOMETRY_COLUMNS):
                out.append((c["preset"], c["image"], impl, g, base))
    return out


def _cell(counts: dict[str, int]) -> str:
    total = sum(counts.values())
    same = counts.get("identical", 0)
    rest = ", ".join(f"{k} {v}" for k, v in counts.items() if v and k != "identical")
    return f"{same}/{total} identical" + (f" ({rest})" if rest else "")


def render_summary(results: dict[str, Any]) -> str:
    s = results["summary"]
    g = results.get("golden")
    lines = ["## vlm-parity matrix", ""]
    lines.append(f"{s['cases']} cases ({s['presets']} presets x {s['images']} images, {len(results['impls'])} impls) "
                 f"in {results['elapsed_s']:.0f} s.")
    if g is not None:
        mark = "✅" if g["passed"] else "❌"
        lines += ["", f"**Goldens** {mark} {g['summary']}"]
        for stage, keys in list(g["by_stage"].items())[:KEY_CAP]:
            more = f", … {len(keys) - KEY_CAP} more" if len(keys) > KEY_CAP else ""
            lines.append(f"- stage `{stage}` changed in {len(keys)} cases: {', '.join(keys[:KEY_CAP])}{more}")
        causes = g.get("causes", {})
        if causes:
            lines.append("- cause: " + ", ".join(f"{k} {v}" for k, v in causes.items())
                         + " (environment = a pixel library's version differs from the recorded one)")
        if not g["passed"]:
            lines.append("- if intended: `parity golden update`, then review `git diff fixtures/golden`")
    lines += ["", "### Divergences from the baseline (geometry first)", ""]
    divs = s["divergences"]
    if not divs:
        lines.append("None: every impl agrees with its baseline on every case.")
    else:
        lines += ["| class | preset | impl vs baseline | first stage | images | worst | example |",
                  "|---|---|---|---|---|---|---|"]
        for d in divs[:DIVERGENCE_CAP]:
            imgs = ", ".join(d["images"][:4]) + (f" +{len(d['images']) - 4}" if len(d["images"]) > 4 else "")
            ex = d["examples"][0]["detail"].replace("|", "\\|") if d["examples"] else ""
            worst = f"{d['max_levels']:.3g} lvl" if d["max_levels"] else "-"
            lines.append(f"| {d['class']} | {d['preset']} | {d['impl']} vs {d['baseline']} | `{d['stage']}` | "
                         f"{len(d['images'])}: {imgs} | {worst} | {ex[:160]} |")
        if len(divs) > DIVERGENCE_CAP:
            lines.append(f"\n… {len(divs) - DIVERGENCE_CAP} more groups in reports/index.html")
    lines += ["", "### Geometry that differs from the baseline (resized size, grid, image tokens)", ""]
    rows = geometry_differences(results)
    if not rows:
        lines.append("None: every impl resizes, tiles and counts tokens as its baseline does.")
    else:
        lines += ["| preset | image | impl | resized | grid | images | tokens | baseline: resized, grid, tokens |",
                  "|---|---|---|---|---|---|---|---|"]
        for preset, image, impl, g, b in rows[:DIVERGENCE_CAP]:
            v = {k: geometry_value(g, k) for k, _ in GEOMETRY_COLUMNS}
            w = {k: geometry_value(b, k) for k, _ in GEOMETRY_COLUMNS}
            lines.append(f"| {preset} | {image} | {impl} | {v['resized']} | {v['grid']} | {v['num_images']} | "
                         f"{v['num_tokens']} | {w['resized']}, {w['grid']}, {w['num_tokens']} |")
        if len(rows) > DIVERGENCE_CAP:
            lines.append(f"\n… {len(rows) - DIVERGENCE_CAP} more in reports/index.html")
    lines += ["", "### Agreement per preset and impl", ""]
    per = s["per_preset_impl"]
    impls = [i for i in results["impls"] if any(i in cells for cells in per.values())]
    if per and impls:
        lines += ["| preset | " + " | ".join(impls) + " |", "|---|" + "---|" * len(impls)]
        for preset, cells in per.items():
            lines.append(f"| {preset} | " + " | ".join(_cell(cells[i]) if i in cells else "-" for i in impls) + " |")
    else:
        lines.append("No comparisons (one impl per preset).")
    lines += ["", "Levels are |Δ| in uint8 levels (float stages: |Δ|·255·std). Full report: `reports/index.html`.", ""]
    return "\n".join(lines)
