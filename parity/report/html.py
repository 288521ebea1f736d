"""The HTML report of a matrix run: ``index.html`` (a colour-coded agreement matrix and the divergences,
geometry first) and one page per case (its stage tables, |Δ| heatmaps per tile and channel, side-by-side
thumbnails of the stage images).

Pages are rendered from the JSON-able results (``parity.matrix.run_matrix``); the pictures need the
arrays, so ``CaseAssets`` is a matrix hook that writes PNGs while a case's traces are alive and records
their paths in the case dict. Self-contained: inline CSS, no external resources, a few lines of JS that
count images that failed to load (``body[data-broken]``, read by the headless-browser test).
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from parity.arrays import shape_text
from parity.compare import channel_axis, layout_axes
from parity.files import atomic_write
from parity.report.geometry import GEOMETRY_COLUMNS, geometry_value
from parity.summary import divergence_class, effective_first, stage_detail

#: stages pictured as thumbnails (when their layout has H, W and 3 channels)
THUMB_STAGES = ("decode", "resize", "pad", "tiles")
THUMB_HEIGHT = 128
HEAT_MAX_SIDE = 160
MAX_PARTS = 4  # tiles / slices pictured per stage

#: divergence class -> (background colour, label) — see parity.summary.CLASS_ORDER
CLASS_STYLE = {
    "identical": ("#b9e4bd", "identical"),
    "float": ("#fff3a6", "float |Δ| only"),
    "pixels": ("#ffc98a", "uint8 pixels differ"),
    "side": ("#a9d2f7", "side output differs"),
    "shape": ("#f4a3a3", "shape differs"),
    "geometry": ("#e57373", "geometry (plan) differs"),
    "decode": ("#d3a6e0", "decode differs"),
    "error": ("#c4c4c4", "impl raised"),
    "baseline": ("#eeeeee", "baseline"),
}

CSS = """
table.geometry td.differs{outline:2px solid #c62828}
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top}
th{background:#f5f5f5;text-align:left}
td.cell{text-align:center;font-size:12px;min-width:6em}
td.cell a{color:#000;text-decoration:none;display:block}
.regressed{outline:3px solid #b00020;outline-offset:-3px;font-weight:bold}
.legend span{display:inline-block;padding:2px 8px;margin:2px;border:1px solid #aaa}
code,.mono{font-family:ui-monospace,monospace;font-size:12px}
.thumbs img,.heat img{border:1px solid #999;margin:2px;image-rendering:pixelated}
figure{display:inline-block;margin:4px;text-align:center}
figcaption{font-size:11px;color:#555}
.fail{color:#b00020}.ok{color:#1b5e20}
"""

JS = """
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var broken = imgs.filter(function (i) { return !i.complete || i.naturalWidth === 0; });
  document.body.setAttribute('data-images', String(imgs.length));
  document.body.setAttribute('data-broken', String(broken.length));
});
"""


def slug(*parts: str) -> str:
    return "__".join(re.sub(r"[^A-Za-z0-9._-]+", "_", p) for p in parts)


def esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


# ---------------------------------------------------------------------------------------------- pictures


def displayable(value: Any, layout: str) -> list[np.ndarray]:
    """Up to MAX_PARTS (H, W, 3) uint8 pictures of a stage value, or [] when its layout has no
    H, W and 3-channel axes. Floats are stretched min..max for display only."""
    if isinstance(value, tuple):
        out = []
        for part in value[:MAX_PARTS]:
            out.extend(displayable(part, layout)[:1])
        return out[:MAX_PARTS]
    arr = np.asarray(value)
    axes = layout_axes(layout)
    if len(axes) != arr.ndim or not {"H", "W", "C"} <= set(axes) or arr.shape[axes.index("C")] != 3:
        return []
    lead = [i for i, a in enumerate(axes) if a not in ("H", "W", "C")]
    arr = np.transpose(arr, lead + [axes.index("H"), axes.index("W"), axes.index("C")])
    arr = arr.reshape((-1,) + arr.shape[-3:])[:MAX_PARTS]
    pics = []
    for a in arr:
        if a.dtype != np.uint8:
            a = a.astype(np.float64)
            lo, hi = float(np.nanmin(a)), float(np.nanmax(a))
            a = np.zeros(a.shape, np.uint8) if hi <= lo else np.clip((a - lo) * (255.0 / (hi - lo)), 0, 255).astype(np.uint8)
        pics.append(np.ascontiguousarray(a))
    return pics


def thumbnail(pic: np.ndarray, height: int = THUMB_HEIGHT) -> Image.Image:
    img = Image.fromarray(pic)
    h = min(height, img.height)
    w = max(1, min(4 * height, round(img.width * h / img.height)))
    return img.resize((w, h), Image.Resampling.BOX if h < img.height else Image.Resampling.NEAREST)


def mosaic(pics: list[np.ndarray], height: int = THUMB_HEIGHT) -> Image.Image:
    """Thumbnails side by side with a 4-px white gap."""
    thumbs = [thumbnail(p, height) for p in pics]
    h = max(t.height for t in thumbs)
    canvas = Image.new("RGB", (sum(t.width for t in thumbs) + 4 * (len(thumbs) - 1), h), (255, 255, 255))
    x = 0
    for t in thumbs:
        canvas.paste(t, (x, 0))
        x += t.width + 4
    return canvas


def _lut() -> np.ndarray:
    """A black -> purple -> orange -> yellow -> white colour map (256 x 3 uint8)."""
    stops = np.array([[0, 0, 0], [90, 10, 130], [220, 60, 40], [250, 200, 20], [255, 255, 255]], np.float64)
    x = np.linspace(0, len(stops) - 1, 256)
    i = np.minimum(x.astype(int), len(stops) - 2)
    f = (x - i)[:, None]
    return np.rint(stops[i] * (1 - f) + stops[i + 1] * f).astype(np.uint8)


LUT = _lut()


def max_pool(a: np.ndarray, max_side: int = HEAT_MAX_SIDE) -> np.ndarray:
    """Shrink a 2-D map by an integer factor taking the max, so a single differing pixel stays visible."""
    f = max(1, -(-max(a.shape) // max_side))
    h, w = -(-a.shape[0] // f) * f, -(-a.shape[1] // f) * f
    padded = np.zeros((h, w), a.dtype)
    padded[: a.shape[0], : a.shape[1]] = a
    return padded.reshape(h // f, f, w // f, f).max(axis=(1, 3))


def heat_png(levels: np.ndarray, vmax: float) -> Image.Image:
    m = max_pool(levels)
    idx = np.zeros(m.shape, np.uint8) if vmax <= 0 else np.clip(np.rint(m / vmax * 255), 0, 255).astype(np.uint8)
    img = Image.fromarray(LUT[idx])
    scale = max(1, HEAT_MAX_SIDE // max(img.size))
    return img.resize((img.width * scale, img.height * scale), Image.Resampling.NEAREST) if scale > 1 else img


def level_maps(a: Any, b: Any, layout: str, std: list[float] | None) -> list[dict]:
    """|Δ| in uint8 levels per (part/tile, channel) as 2-D maps: [{"part", "channel", "map"}].
    Integer stages: levels = |Δ|; float stages: |Δ|·255·std of the channel (the compare convention)."""
    if isinstance(a, tuple):
        out = []
        for i, (pa, pb) in enumerate(zip(a, b)):
            if np.shape(pa) == np.shape(pb):
                for m in level_maps(pa, pb, layout, std):
                    m["part"] = i
                    out.append(m)
        return out
    a, b = np.asarray(a), np.asarray(b)
    axes = layout_axes(layout)
    if a.shape != b.shape or len(axes) != a.ndim or not {"H", "W"} <= set(axes):
        return []
    d = np.abs(b.astype(np.float64) - a.astype(np.float64))
    if not (np.issubdtype(a.dtype, np.integer) and np.issubdtype(b.dtype, np.integer)):
        ax = channel_axis(layout, a.ndim)
        if std and ax is not None and a.shape[ax] == len(std):
            shape = [1] * a.ndim
            shape[ax] = len(std)
            d = d * 255.0 * np.asarray(std).reshape(shape)
        else:
            d = d * 255.0 * (float(np.mean(std)) if std else 1.0)
    has_c = "C" in axes
    lead = [i for i, x in enumerate(axes) if x not in ("H", "W", "C")]
    order = lead + [axes.index("H"), axes.index("W")] + ([axes.index("C")] if has_c else [])
    d = np.transpose(d, order)
    d = d.reshape((-1,) + d.shape[len(lead):])
    if not has_c:
        d = d[..., None]
    out = []
    for t in range(min(d.shape[0], MAX_PARTS)):
        for c in range(min(d.shape[-1], 4)):
            out.append({"part": t, "channel": c, "map": d[t, ..., c]})
    return out


class CaseAssets:
    """A matrix hook: writes thumbnails and |Δ| heatmaps of one case under ``out/assets/<case>/`` and
    records them in the case dict (``assets``). A stage identical to the baseline's reuses its picture."""

    def __init__(self, out: str | Path) -> None:
        self.out = Path(out)

    def __call__(self, case: Any, d: dict) -> None:
        name = slug(case.preset.name, case.image)
        folder = self.out / "assets" / name
        folder.mkdir(parents=True, exist_ok=True)
        assets: dict[str, Any] = {"page": f"cases/{name}.html", "thumbs": {}, "heatmaps": {}}
        by_hash: dict[str, str] = {}
        order = [case.baseline] + [n for n in case.traces if n != case.baseline]
        for impl in order:
            tr = case.traces.get(impl)
            if tr is None:
                continue
            for stage in THUMB_STAGES:
                rec = tr.get(stage)
                if rec is None:
                    continue
                if rec.sha256 in by_hash:
                    assets["thumbs"].setdefault(impl, {})[stage] = by_hash[rec.sha256]
                    continue
                pics = displayable(rec.value, rec.layout)
                if not pics:
                    continue
                rel = f"assets/{name}/thumb_{slug(impl)}_{stage}.jpg"
                save_image(mosaic(pics), self.out / rel, "JPEG", quality=80)  # display only: heatmaps carry the exact |Δ|
                by_hash[rec.sha256] = rel
                assets["thumbs"].setdefault(impl, {})[stage] = rel
        base = case.traces.get(case.baseline)
        std = case.preset.get("image_std")
        for impl, diff in case.diffs.items():
            tr = case.traces[impl]
            differing = [sd for sd in diff.stages if sd.status == "differ" and sd.kind != "plan"]
            if base is None or not differing:
                continue
            # the first differing array stage explains the divergence; the last one with comparable
            # arrays shows what reaches the encoder
            chosen = []
            for group in (differing, differing[::-1]):
                for sd in group:
                    maps = level_maps(base.get(sd.name).value, tr.get(sd.name).value, base.get(sd.name).layout, std)
                    if maps:
                        chosen.append((sd.name, maps))
                        break
            for stage_name, maps in dict(chosen).items():
                vmax = max(float(m["map"].max()) for m in maps)
                items = []
                for m in maps:
                    rel = f"assets/{name}/heat_{slug(impl)}_{stage_name}_p{m['part']}_c{m['channel']}.png"
                    save_image(heat_png(m["map"], vmax), self.out / rel, "PNG", optimize=False, compress_level=1)
                    items.append({"part": m["part"], "channel": m["channel"], "path": rel,
                                  "max_levels": round(float(m["map"].max()), 4)})
                assets["heatmaps"].setdefault(impl, {})[stage_name] = {"vmax_levels": round(vmax, 4), "items": items}
        d["assets"] = assets


# ---------------------------------------------------------------------------------------------- pages


def page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{esc(title)}</title>"
            f"<link rel=\"icon\" href=\"data:,\"><style>{CSS}</style></head>\n<body>\n{body}\n"
            f"<script>{JS}</script>\n</body></html>\n")


def legend() -> str:
    return "<p class=\"legend\">" + "".join(
        f"<span style=\"background:{c}\">{esc(label)}</span>" for c, label in CLASS_STYLE.values()) + \
        "<span class=\"regressed\">golden regression</span></p>"


def cell_class(case: dict, impl: str) -> tuple[str, str]:
    """(class, short text) of one matrix cell."""
    if impl == case.get("baseline"):
        return "baseline", "baseline"
    if impl not in case.get("diffs", {}) and impl not in case.get("errors", {}):
        return "", ""
    cls = divergence_class(case["diffs"].get(impl), case["errors"].get(impl))
    if cls == "identical":
        return cls, "="
    if cls == "error":
        return cls, "error"
    return cls, effective_first(case["diffs"][impl])["name"]


def cell_title(case: dict, impl: str) -> str:
    if impl in case.get("errors", {}):
        return case["errors"][impl]
    diff = case.get("diffs", {}).get(impl)
    st = effective_first(diff)
    if st is None:
        return "identical to the baseline at every compared stage"
    text = f"first divergence: {st['name']}: {stage_detail(st)}"
    if diff["first_divergence"] != st["name"]:
        first = next(s for s in diff["stages"] if s["name"] == diff["first_divergence"])
        text += f" (before it: {first['name']}: {stage_detail(first)})"
    return text


def render_index(results: dict) -> str:
    s = results["summary"]
    g = results.get("golden")
    parts = [f"<h1>vlm-parity matrix</h1><p>{s['cases']} cases: {s['presets']} presets x {s['images']} images, "
             f"{len(results['impls'])} impls; generated {esc(results['generated'])} in {results['elapsed_s']} s.</p>"]
    if g is not None:
        cls = "ok" if g["passed"] else "fail"
        parts.append(f"<p class=\"{cls}\"><b>{esc(g['summary'])}</b></p>")
        if g["by_stage"]:
            parts.append("<ul>" + "".join(f"<li>stage <code>{esc(st)}</code>: {len(keys)} cases: "
                                          f"{esc(', '.join(keys[:8]))}{' …' if len(keys) > 8 else ''}</li>"
                                          for st, keys in g["by_stage"].items()) + "</ul>")
    parts.append("<p>Totals (impl vs baseline, per case): " + ", ".join(
        f"{esc(k)} {v}" for k, v in s["totals"].items() if v) + "</p>")
    parts.append("<h2>Divergences, geometry first</h2>")
    if s["divergences"]:
        by_class: dict[str, list[dict]] = {}
        for d in s["divergences"]:
            by_class.setdefault(d["class"], []).append(d)
        for cls, groups in by_class.items():  # already in CLASS_ORDER
            rows = "".join(
                f"<tr><td style=\"background:{CLASS_STYLE.get(d['class'], ('#fff',))[0]}\">{esc(d['class'])}</td>"
                f"<td>{esc(d['preset'])}</td><td>{esc(d['impl'])} vs {esc(d['baseline'])}</td><td><code>{esc(d['stage'])}</code></td>"
                f"<td>{len(d['images'])}: {esc(', '.join(d['images'][:6]))}{' …' if len(d['images']) > 6 else ''}</td>"
                f"<td class=\"mono\">{esc(d['examples'][0]['detail'] if d['examples'] else '')}</td></tr>"
                for d in groups)
            n_cases = sum(len(d["images"]) for d in groups)
            opened = " open" if cls in ("error", "geometry", "decode") else ""
            parts.append(f"<details{opened}><summary><b>{esc(CLASS_STYLE.get(cls, ('', cls))[1])}</b>: "
                         f"{len(groups)} groups, {n_cases} cases</summary>"
                         "<table><tr><th>class</th><th>preset</th><th>impl</th><th>first stage</th><th>images</th>"
                         f"<th>example</th></tr>{rows}</table></details>")
    else:
        parts.append("<p>None: every impl agrees with its baseline on every case.</p>")
    parts.append("<h2>Agreement matrix</h2>" + legend())
    impls = list(results["impls"])
    by_preset: dict[str, list[dict]] = {}
    for c in results["cases"]:
        by_preset.setdefault(c["preset"], []).append(c)
    for preset in results["presets"]:
        cases = by_preset.get(preset, [])
        unsup = results.get("unsupported", {}).get(preset, {})
        cols = [i for i in impls if i not in unsup]
        parts.append(f"<h3 id=\"{esc(slug(preset))}\">{esc(preset)}</h3>")
        if unsup:
            parts.append("<p class=\"mono\">not supported: " + "; ".join(
                f"{esc(k)} ({esc(v)})" for k, v in unsup.items()) + "</p>")
        if not cases:
            continue
        head = "".join(f"<th>{esc(i)}</th>" for i in cols)
        rows = []
        for c in cases:
            tds = []
            page_link = c.get("assets", {}).get("page")
            for impl in cols:
                cls, text = cell_class(c, impl)
                colour = CLASS_STYLE.get(cls, ("#fff", ""))[0]
                reg = " regressed" if c.get("golden", {}).get(impl) == "regressed" else ""
                inner = esc(text)
                if page_link and text:
                    inner = f"<a href=\"{esc(page_link)}#{esc(slug(impl))}\">{inner}</a>"
                tds.append(f"<td class=\"cell{reg}\" style=\"background:{colour}\" title=\"{esc(cell_title(c, impl))}\">"
                           f"{inner}</td>")
            name = esc(c["image"])
            if page_link:
                name = f"<a href=\"{esc(page_link)}\">{name}</a>"
            rows.append(f"<tr><th>{name}</th>{''.join(tds)}</tr>")
        parts.append(f"<table><tr><th>image</th>{head}</tr>{''.join(rows)}</table>")
    env = results.get("environment", {})
    parts.append("<h2>Environment</h2><p class=\"mono\">" + esc(", ".join(f"{k} {v}" for k, v in env.items())) + "</p>")
    parts.append("<h2>Impls</h2><table>" + "".join(
        f"<tr><th>{esc(n)}</th><td class=\"mono\">{esc(i.get('version', ''))}</td><td>{esc(i.get('description', ''))}</td></tr>"
        for n, i in results["impls"].items()) + "</table>")
    return page("vlm-parity matrix", "\n".join(parts))


def _shape(s: Any) -> str:
    return shape_text(s)


def geometry_table(case: dict) -> str:
    """The geometry summary of every impl side by side (cells that differ from the baseline marked)."""
    geo = case.get("geometry") or {}
    if not geo:
        return ""
    base = geo.get(case.get("baseline")) or next(iter(geo.values()))
    cols = GEOMETRY_COLUMNS
    head = "".join(f"<th>{esc(label)}</th>" for _, label in cols)
    rows = []
    for impl, g in geo.items():
        tds = "".join(f"<td class=\"mono{' differs' if g.get(k) != base.get(k) else ''}\">{esc(geometry_value(g, k))}</td>"
                      for k, _ in cols)
        rows.append(f"<tr><th>{esc(impl)}</th>{tds}</tr>")
    return ("<h2>Geometry</h2><p>What each impl resized to, how many images the encoder sees and how many image "
            f"tokens the LLM gets ([h, w]; cells differing from the baseline outlined).</p>"
            f"<table class=\"geometry\"><tr><th>impl</th>{head}</tr>{''.join(rows)}</table>")


def save_image(im: Image.Image, path: Path, fmt: str, **options) -> None:
    atomic_write(path, writer=lambda fh: im.save(fh, fmt, **options))


def render_case(case: dict, prefix: str = "../", back: str = "matrix") -> str:
    """A case page; ``back`` labels the link to the index it belongs to (matrix or sweep)."""
    assets = case.get("assets", {})
    title = f"{case['preset']} / {case['image']}"
    parts = [f"<p><a href=\"{prefix}index.html\">&larr; {esc(back)}</a></p><h1>{esc(title)}</h1>",
             f"<p>baseline: <b>{esc(case['baseline'])}</b>; case {'passed' if case['passed'] else 'has divergences'}; "
             f"{case.get('elapsed_s', '')} s.</p>"]
    parts.append(geometry_table(case))
    for impl, err in case.get("errors", {}).items():
        parts.append(f"<p class=\"fail\" id=\"{esc(slug(impl))}\"><b>{esc(impl)}</b> raised: <code>{esc(err)}</code></p>")
    for impl, info in case.get("impls", {}).items():
        trace = info["trace"]
        diff = case.get("diffs", {}).get(impl)
        by_name = {s["name"]: s for s in diff["stages"]} if diff else {}
        gold = case.get("golden", {}).get(impl, "")
        head = f"<h2 id=\"{esc(slug(impl))}\">{esc(impl)} <small class=\"mono\">{esc(info.get('version', ''))}</small></h2>"
        if diff:
            fd = diff["first_divergence"]
            head += (f"<p>first divergence vs {esc(case['baseline'])}: <b>{esc(fd) if fd else 'none'}</b>"
                     + (f"; consequences: {esc(', '.join(diff['consequences']))}" if diff["consequences"] else "") + "</p>")
        if gold:
            head += f"<p>golden: <b class=\"{'fail' if gold == 'regressed' else 'ok'}\">{esc(gold)}</b></p>"
        rows = []
        for st in trace["stages"]:
            sd = by_name.get(st["name"])
            if impl == case["baseline"]:
                agree, colour = "baseline", CLASS_STYLE["baseline"][0]
            elif sd is None:
                agree, colour = "-", "#fff"
            elif sd["status"] in ("missing", "incomparable"):
                agree, colour = f"{sd['status']}: {stage_detail(sd)}", "#f0f0f0"
            elif sd["status"] == "equal":
                agree, colour = "= identical", CLASS_STYLE["identical"][0]
            else:
                agree = f"{sd['status']}: {stage_detail(sd)}"
                colour = CLASS_STYLE["geometry" if sd["kind"] == "plan"
                                     else "shape" if sd["status"] == "shape"
                                     else "pixels" if st["dtype"] == "uint8" else "float"][0]
            approx = f"<br><i>approximate: {esc(st['approximate'])}</i>" if st.get("approximate") else ""
            value = f"<br><code>{esc(st['value'])}</code>" if st["kind"] == "plan" else ""
            rows.append(f"<tr><td><b>{esc(st['name'])}</b>{value}</td><td>{esc(_shape(st['shape']))}</td>"
                        f"<td>{esc(st['dtype'])}</td><td class=\"mono\">{esc(st['layout'])}</td>"
                        f"<td class=\"mono\">{esc(st['sha1'][:12])}</td>"
                        f"<td style=\"background:{colour}\">{esc(agree)}{approx}</td></tr>")
        parts.append(head + "<table><tr><th>stage</th><th>shape</th><th>dtype</th><th>layout</th><th>sha1</th>"
                     f"<th>vs {esc(case['baseline'])}</th></tr>{''.join(rows)}</table>")
        heat = assets.get("heatmaps", {}).get(impl, {})
        for stage, h in heat.items():
            figs = "".join(f"<figure><img src=\"{prefix}{esc(it['path'])}\" alt=\"|Δ| {esc(stage)} part {it['part']} "
                           f"channel {it['channel']}\"><figcaption>part {it['part']} ch {it['channel']}: max "
                           f"{it['max_levels']:.3g} lvl</figcaption></figure>" for it in h["items"])
            parts.append(f"<div class=\"heat\"><p>|Δ| heatmaps of <code>{esc(stage)}</code> vs {esc(case['baseline'])} "
                         f"(uint8 levels, black 0 → white {h['vmax_levels']:.3g}; max-pooled):</p>{figs}</div>")
    thumbs = assets.get("thumbs", {})
    if thumbs:
        impls = list(thumbs)
        stages = [s for s in THUMB_STAGES if any(s in thumbs[i] for i in impls)]
        head = "".join(f"<th>{esc(i)}</th>" for i in impls)
        def img(i: str, s: str) -> str:
            return f"<img src=\"{prefix}{esc(thumbs[i][s])}\" alt=\"{esc(i + ' ' + s)}\">" if s in thumbs[i] else ""

        rows = "".join(f"<tr><th>{esc(s)}</th>" + "".join(f"<td>{img(i, s)}</td>" for i in impls) + "</tr>"
                       for s in stages)
        parts.append("<h2>Stage images, side by side</h2><p>(floats stretched min..max for display; up to "
                     f"{MAX_PARTS} tiles)</p><table class=\"thumbs\"><tr><th>stage</th>{head}</tr>{rows}</table>")
    return page(title, "\n".join(parts))


def write_site(results: dict, out: str | Path) -> Path:
    """Write ``index.html`` and ``cases/*.html`` under ``out``; returns the index path."""
    out = Path(out)
    (out / "cases").mkdir(parents=True, exist_ok=True)
    for c in results["cases"]:
        if "assets" not in c:
            c["assets"] = {"page": f"cases/{slug(c['preset'], c['image'])}.html", "thumbs": {}, "heatmaps": {}}
        atomic_write(out / c["assets"]["page"], render_case(c).encode())
    index = out / "index.html"
    atomic_write(index, render_index(results).encode())
    return index
