"""The report of a sweep: ``index.html``, ``summary.md``, ``summary.json`` and one page per worst case.

Rendered from the summary dict of ``parity.sweep.workflow.run_sweep`` (itself computed from the store):
the divergence rate per preset x impl, the first stage x class breakdown, the distributions of max |Δ|
(uint8 levels) and of the token-count difference to the baseline, the worst cases linked to their case
pages (``parity.report.html.render_case``, pictures by its ``CaseAssets``), every divergent case with
the ``parity run`` command that reproduces it, and the bad inputs. The HTML reuses the matrix report's
page frame (inline CSS, no external resources, the image-load counter the browser check reads).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from parity.files import atomic_write
from parity.report.html import CLASS_STYLE, esc, page, render_case, slug
from parity.summary import CLASS_ORDER

#: class columns of the rate table, in report order
CLASS_COLUMNS = (*[c for c in CLASS_ORDER if c != "identical"], "uncompared", "identical")
MD_GROUPS_CAP = 25
MD_EXAMPLES = 3
MD_BAD_CAP = 20

SWEEP_CSS = """
.bar{display:inline-block;height:10px;background:#5c6bc0;vertical-align:middle}
td.num{text-align:right;font-variant-numeric:tabular-nums}
code.cmd{white-space:pre-wrap;word-break:break-all}
"""


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _md(text: str) -> str:
    """Text for a Markdown table cell or list item (a literal ``|`` escaped)."""
    return text.replace("|", "\\|")


def _levels(v: float | None) -> str:
    return "-" if v is None else f"{v:.3g}"


def _query(out: str, g: dict) -> str:
    stage = "first_stage IS NULL" if g["stage"] == "(run)" else f"first_stage = '{g['stage']}'"
    return (f"sqlite3 {out}/results.sqlite \"SELECT command FROM results WHERE preset = '{g['preset']}' "
            f"AND impl = '{g['impl']}' AND class = '{g['class']}' AND {stage}\"")


def _run_line(s: dict) -> str:
    run = s["run"]
    n = run.get("workers") or 1
    where = f"Dask scheduler {run['scheduler']}" if run.get("scheduler") else f"{n} local worker{'s' if n > 1 else ''}"
    peak = run.get("peak_rss_mib") or {}
    mem = f"; peak memory per worker process {max(peak.values()):.0f} MiB (max of {len(peak)})" if peak else ""
    rate = f", {run['images_per_s']:.2f} images/s" if run.get("images_per_s") else ""
    return (f"run {run['run_id']}: {run.get('tasks_run') or 0} images run, {run.get('tasks_skipped') or 0} already "
            f"done (resumed), on {where}, in {run.get('elapsed_s')} s{rate}{mem}.")


def _recheck_line(s: dict) -> str:
    rc = s["run"].get("recheck") or {}
    if not rc.get("rows"):
        return ""
    bad = rc.get("mismatches") or []
    return (f"Worst cases re-run: {rc['rows']} rows, " + ("all identical to the stored ones." if not bad else
            f"{len(bad)} differ from the stored ones (non-deterministic impl?): "
            + "; ".join(f"{m['preset']}/{m['impl']} {m['image']}: {', '.join(m['columns'])}" for m in bad[:5])))


def _presets(s: dict) -> str:
    n = len(s["presets"])
    return f"{n} preset{'s' if n > 1 else ''} ({', '.join(s['presets'])})"


def render_sweep_text(s: dict) -> str:
    """A few lines for stdout."""
    lines = [f"sweep: {s['images']} images x {_presets(s)}: {s['rows']} rows; "
             f"{s['divergent']} of {s['compared']} comparisons diverge; {s['bad_input_count']} bad inputs",
             _run_line(s)]
    for c in s["cells"]:
        rest = ", ".join(f"{k} {v}" for k, v in c["classes"].items() if k != "identical")
        lines.append(f"  {c['preset']:<20} {c['impl']:>16} vs {c['baseline']:<12} {c['divergent']}/{c['compared']} "
                     f"diverge ({_pct(c['rate'])})" + (f": {rest}" if rest else ""))
    for n in s.get("not_run", []):
        lines.append(f"  not run: {n['impl']} on {n['preset']} ({n['reason']})")
    for b in s["bad_inputs"][:5]:
        lines.append(f"  bad input {b['path']}: {b['error']}")
    if s["bad_input_count"] > 5:
        lines.append(f"  ... {s['bad_input_count'] - 5} more bad inputs in summary.md")
    rc = _recheck_line(s)
    if rc:
        lines.append(rc)
    lines.append(f"results in {s['out']}/ (results.sqlite, index.html, summary.md, summary.json)")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ HTML


def _rate_table(s: dict) -> str:
    head = "".join(f"<th style=\"background:{CLASS_STYLE.get(c, ('#eee',))[0]}\">{esc(c)}</th>" for c in CLASS_COLUMNS)
    rows = []
    for c in s["cells"]:
        tds = "".join(f"<td class=\"num\">{c['classes'].get(k, 0) or ''}</td>" for k in CLASS_COLUMNS)
        rows.append(f"<tr><td>{esc(c['preset'])}</td><td>{esc(c['impl'])} vs {esc(c['baseline'])}</td>"
                    f"<td class=\"num\">{c['compared']}</td><td class=\"num\"><b>{c['divergent']}</b> "
                    f"({_pct(c['rate'])})</td>{tds}</tr>")
    return ("<h2>Divergence rate per preset and impl</h2><table><tr><th>preset</th><th>impl vs baseline</th>"
            f"<th>images compared</th><th>diverge</th>{head}</tr>{''.join(rows)}</table>")


def _stage_table(s: dict) -> str:
    rows = []
    for c in s["cells"]:
        for st in c["stages"]:
            colour = CLASS_STYLE.get(st["class"], ("#fff",))[0]
            rows.append(f"<tr><td>{esc(c['preset'])}</td><td>{esc(c['impl'])} vs {esc(c['baseline'])}</td>"
                        f"<td><code>{esc(st['stage'])}</code></td><td style=\"background:{colour}\">{esc(st['class'])}</td>"
                        f"<td class=\"num\">{st['count']}</td><td class=\"num\">{_pct(st['rate'])}</td></tr>")
    if not rows:
        return "<h2>First divergence by stage and class</h2><p>None: every impl agrees with its baseline.</p>"
    return ("<h2>First divergence by stage and class</h2><table><tr><th>preset</th><th>impl</th><th>first stage</th>"
            f"<th>class</th><th>images</th><th>rate</th></tr>{''.join(rows)}</table>")


def _bars(pairs: list[list], unit: str) -> str:
    top = max((n for _, n in pairs), default=0) or 1
    return "<table>" + "".join(
        f"<tr><td class=\"mono\">{esc(label)}</td><td class=\"num\">{n}</td>"
        f"<td><span class=\"bar\" style=\"width:{round(240 * n / top)}px\"></span></td></tr>" for label, n in pairs) \
        + f"</table><p class=\"mono\">{esc(unit)}</p>"


def _distributions(s: dict) -> str:
    parts = ["<h2>Distributions</h2><p>Max |Δ| over every stage compared element by element, in uint8 levels "
             "(float stages: |Δ|·255·std), per impl vs its baseline; undefined where sizes differ (geometry, shape) "
             "or an impl raised. Token-count difference: the impl's image tokens minus the baseline's.</p>"]
    for c in s["cells"]:
        deltas = [[f"{d:+d}" if d else "0", n] for d, n in c["token_delta"]]
        parts.append(f"<h3>{esc(c['preset'])}: {esc(c['impl'])} vs {esc(c['baseline'])}</h3><div style=\"display:flex;"
                     "gap:3em;flex-wrap:wrap\"><div><b>max |Δ| (uint8 levels)</b>"
                     + _bars(c["levels"], f"undefined: {c['levels_undefined']}; largest: {_levels(c['max_levels'])}")
                     + "</div><div><b>token-count difference</b>"
                     + (_bars(deltas, "images per difference") if deltas else "<p>no token counts</p>")
                     + "</div></div>")
    return "\n".join(parts)


def _worst_table(s: dict) -> str:
    if not s["worst"]:
        return "<h2>Worst cases</h2><p>None kept (no divergence with arrays, or --keep-worst 0).</p>"
    rows = []
    for w in s["worst"]:
        name = esc(w["image"])
        if w.get("page"):
            name = f"<a href=\"{esc(w['page'])}\">{name}</a>"
        arrays = f"<a href=\"{esc(w['arrays'])}\">npz</a>" if w.get("arrays") else "-"
        colour = CLASS_STYLE.get(w["class"], ("#fff",))[0]
        rows.append(f"<tr><td>{esc(w['preset'])}</td><td>{esc(w['impl'])}</td><td class=\"num\">{w['rank']}</td>"
                    f"<td title=\"{esc(w['image_path'])}\">{name}</td><td style=\"background:{colour}\">{esc(w['class'])}</td>"
                    f"<td><code>{esc(w['first_stage'] or '')}</code></td><td class=\"num\">{_levels(w['max_levels'])}</td>"
                    f"<td class=\"num\">{'' if w['token_delta'] is None else w['token_delta']}</td>"
                    f"<td class=\"mono\">{esc((w['detail'] or '')[:200])}</td><td>{arrays}</td>"
                    f"<td><code class=\"cmd\">{esc(w['command'])}</code></td></tr>")
    return ("<h2>Worst cases per preset and impl</h2><p>Ranked by class (geometry first), token-count difference, "
            "max |Δ|, NMSE; each links to its case page (stage tables, |Δ| heatmaps, thumbnails) and its arrays "
            "(first differing stage and pack, of both impls).</p><table><tr><th>preset</th><th>impl</th><th>#</th>"
            "<th>image</th><th>class</th><th>first stage</th><th>max |Δ| lvl</th><th>token Δ</th><th>detail</th>"
            f"<th>arrays</th><th>reproduce</th></tr>{''.join(rows)}</table>")


def _groups(s: dict) -> str:
    parts = ["<h2>Every divergent case, with the command that reproduces it</h2>"]
    if not s["groups"] and not s["baseline_errors"]:
        parts.append("<p>None.</p>")
    for g in s["groups"]:
        rows = "".join(f"<tr><td title=\"{esc(c['path'])}\">{esc(c['image'])}</td><td class=\"mono\">{esc(c['detail'])}</td>"
                       f"<td><code class=\"cmd\">{esc(c['command'])}</code></td></tr>" for c in g["cases"])
        more = (f"<p>… {g['count'] - len(g['cases'])} more: <code class=\"cmd\">{esc(_query(s['out'], g))}</code></p>"
                if g["count"] > len(g["cases"]) else "")
        opened = " open" if g["class"] in ("error", "geometry", "decode") else ""
        parts.append(f"<details{opened} id=\"{esc(slug(g['preset'], g['impl'], g['class'], g['stage']))}\"><summary>"
                     f"<b>{esc(g['class'])}</b> at <code>{esc(g['stage'])}</code>: {esc(g['preset'])}, {esc(g['impl'])} vs "
                     f"{esc(g['baseline'])}: {g['count']} images</summary><table><tr><th>image</th><th>detail</th>"
                     f"<th>reproduce</th></tr>{rows}</table>{more}</details>")
    if s["baseline_errors"]:
        rows = "".join(f"<tr><td title=\"{esc(c['path'])}\">{esc(c['image'])}</td><td class=\"mono\">{esc(c['detail'])}</td>"
                       f"<td><code class=\"cmd\">{esc(c['command'])}</code></td></tr>" for c in s["baseline_errors"])
        parts.append(f"<details open><summary><b>the baseline raised</b> (the other impls not compared): "
                     f"{len(s['baseline_errors'])} images</summary><table>{rows}</table></details>")
    return "\n".join(parts)


def _bad_inputs(s: dict) -> str:
    if not s["bad_input_count"]:
        return "<h2>Bad inputs</h2><p>None.</p>"
    rows = "".join(f"<tr><td class=\"mono\">{esc(b['path'])}</td><td>{esc(b['error'])}</td></tr>" for b in s["bad_inputs"])
    more = f"<p>… {s['bad_input_count'] - len(s['bad_inputs'])} more in the inputs table.</p>" \
        if s["bad_input_count"] > len(s["bad_inputs"]) else ""
    return (f"<h2>Bad inputs ({s['bad_input_count']})</h2><p>Paths that could not be read, or that no impl could "
            f"decode; recorded, not run.</p><table><tr><th>path</th><th>reason</th></tr>{rows}</table>{more}")


def render_sweep_index(s: dict) -> str:
    run = s["run"]
    env = run.get("environment") or {}
    parts = [f"<h1>vlm-parity sweep</h1><p><b>{s['images']}</b> images x {esc(_presets(s))}; {s['rows']} rows; <b>{s['divergent']}</b> of {s['compared']} "
             f"comparisons diverge from their baseline; {s['bad_input_count']} bad inputs.</p>",
             f"<p>{esc(_run_line(s))} {esc(_recheck_line(s))}</p>",
             "".join(f"<p>not run: {esc(n['impl'])} on {esc(n['preset'])} ({esc(n['reason'])})</p>"
                     for n in s.get("not_run", [])),
             f"<p class=\"mono\">{esc(run.get('command') or '')}</p>",
             "<p>Every row (one per image x preset x impl) is in <code>results.sqlite</code>: "
             "<code>sqlite3 results.sqlite \"SELECT preset, impl, class, count(*) FROM results GROUP BY 1, 2, 3\"</code>"
             "; DuckDB and pandas read it too.</p>",
             _rate_table(s), _stage_table(s), _worst_table(s), _distributions(s), _groups(s), _bad_inputs(s),
             "<h2>Environment</h2><p class=\"mono\">" + esc(", ".join(f"{k} {v}" for k, v in env.items())) + "</p>",
             "<h2>Impls</h2><table>" + "".join(f"<tr><th>{esc(n)}</th><td class=\"mono\">{esc(v)}</td></tr>"
                                               for n, v in (run.get("impl_versions") or {}).items()) + "</table>"]
    return page("vlm-parity sweep", f"<style>{SWEEP_CSS}</style>\n" + "\n".join(parts))


# -------------------------------------------------------------------------------------------- Markdown


def render_sweep_markdown(s: dict) -> str:
    lines = ["## vlm-parity sweep", "",
             f"{s['images']} images x {_presets(s)}: {s['rows']} rows; "
             f"**{s['divergent']}** of {s['compared']} comparisons diverge from their baseline; "
             f"{s['bad_input_count']} bad inputs.", "", _run_line(s)]
    rc = _recheck_line(s)
    if rc:
        lines += ["", rc]
    lines += [""] + [f"- not run: {n['impl']} on {n['preset']} ({n['reason']})" for n in s.get("not_run", [])]
    lines += ["", "### Divergence rate per preset and impl", "",
              "| preset | impl vs baseline | compared | diverge | " + " | ".join(CLASS_COLUMNS) + " |",
              "|---|---|---|---|" + "---|" * len(CLASS_COLUMNS)]
    for c in s["cells"]:
        lines.append(f"| {c['preset']} | {c['impl']} vs {c['baseline']} | {c['compared']} | {c['divergent']} "
                     f"({_pct(c['rate'])}) | " + " | ".join(str(c["classes"].get(k, "")) for k in CLASS_COLUMNS) + " |")
    lines += ["", "### First divergence by stage and class", ""]
    stage_rows = [(c, st) for c in s["cells"] for st in c["stages"]]
    if stage_rows:
        lines += ["| preset | impl | first stage | class | images | rate |", "|---|---|---|---|---|---|"]
        lines += [f"| {c['preset']} | {c['impl']} | `{st['stage']}` | {st['class']} | {st['count']} | {_pct(st['rate'])} |"
                  for c, st in stage_rows]
    else:
        lines.append("None: every impl agrees with its baseline.")
    lines += ["", "### Distributions", "", "Max |Δ| in uint8 levels (images per bin; undefined where sizes differ) "
              "and token-count difference to the baseline (images per difference).", ""]
    labels = [label for label, _ in (s["cells"][0]["levels"] if s["cells"] else [])]
    if labels:
        lines += ["| preset | impl | " + " | ".join(labels) + " | undefined | token Δ: images |",
                  "|---|---|" + "---|" * (len(labels) + 2)]
        for c in s["cells"]:
            deltas = ", ".join(f"{d:+d}: {n}" if d else f"0: {n}" for d, n in c["token_delta"]) or "-"
            lines.append(f"| {c['preset']} | {c['impl']} | " + " | ".join(str(n) for _, n in c["levels"])
                         + f" | {c['levels_undefined']} | {deltas} |")
    lines += ["", "### Worst cases", ""]
    if s["worst"]:
        lines += ["| preset | impl | # | image | class | first stage | max \\|Δ\\| lvl | token Δ | page | reproduce |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for w in s["worst"]:
            page_link = f"[page]({w['page']})" if w.get("page") else "-"
            lines.append(f"| {w['preset']} | {w['impl']} | {w['rank']} | {w['image']} | {w['class']} | "
                         f"`{w['first_stage'] or ''}` | {_levels(w['max_levels'])} | "
                         f"{'' if w['token_delta'] is None else w['token_delta']} | {page_link} | `{w['command']}` |")
    else:
        lines.append("None kept.")
    lines += ["", "### Divergent cases (examples; every one with its command in index.html)", ""]
    for g in s["groups"][:MD_GROUPS_CAP]:
        lines.append(f"- **{g['class']}** at `{g['stage']}`: {g['preset']}, {g['impl']} vs {g['baseline']}: "
                     f"{g['count']} images")
        for c in g["cases"][:MD_EXAMPLES]:
            lines.append(f"  - {c['image']}: {_md(c['detail'][:120])}: `{c['command']}`")
        if g["count"] > MD_EXAMPLES:
            lines.append(f"  - all of them: `{_query(s['out'], g)}`")
    if len(s["groups"]) > MD_GROUPS_CAP:
        lines.append(f"- … {len(s['groups']) - MD_GROUPS_CAP} more groups in index.html")
    if not s["groups"]:
        lines.append("None.")
    for c in s["baseline_errors"][:MD_EXAMPLES]:
        lines.append(f"- the baseline raised on {c['image']}: {c['detail'][:120]}: `{c['command']}`")
    lines += ["", f"### Bad inputs ({s['bad_input_count']})", ""]
    lines += [f"- `{b['path']}`: {b['error']}" for b in s["bad_inputs"][:MD_BAD_CAP]] or ["None."]
    if s["bad_input_count"] > MD_BAD_CAP:
        lines.append(f"- … {s['bad_input_count'] - MD_BAD_CAP} more in index.html and the inputs table")
    lines += ["", "Levels are |Δ| in uint8 levels (float stages: |Δ|·255·std). Every row: `results.sqlite`.", ""]
    return "\n".join(lines)


def write_sweep_report(summary: dict[str, Any], worst_cases: list[dict[str, Any]], out: str | Path) -> Path:
    """``index.html``, ``summary.md``, ``summary.json`` and ``cases/*.html`` (the worst cases) under ``out``."""
    out = Path(out)
    (out / "cases").mkdir(parents=True, exist_ok=True)
    for c in worst_cases:
        if c.get("assets", {}).get("page"):
            atomic_write(out / c["assets"]["page"], render_case(c, back="sweep").encode())
    atomic_write(out / "summary.json", (json.dumps(summary, indent=1, default=str) + "\n").encode())
    atomic_write(out / "summary.md", render_sweep_markdown(summary).encode())
    atomic_write(out / "index.html", render_sweep_index(summary).encode())
    return out / "index.html"
