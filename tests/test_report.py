"""The reports: pictures (|Δ| heatmaps per tile and channel, thumbnails), HTML pages whose every link
and image exists, summary.md, and a real headless Chromium loading the pages."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from conftest import browser_or_skip
from PIL import Image

from parity import matrix
from parity.cli import main
from parity.engine import case_dict
from parity.report import browser, html, markdown


class TestPictures:
    def test_level_maps_locate_tile_and_channel(self):
        a = np.zeros((3, 3, 8, 10), np.float32)  # tiles,C,H,W
        b = a.copy()
        b[2, 1, 5, 7] = 0.5
        maps = html.level_maps(a, b, "tiles,C,H,W", [0.5, 0.25, 0.1])
        assert len(maps) == 9  # 3 tiles x 3 channels
        hot = [(m["part"], m["channel"]) for m in maps if m["map"].max() > 0]
        assert hot == [(2, 1)]
        m = next(m for m in maps if m["part"] == 2 and m["channel"] == 1)["map"]
        assert m.shape == (8, 10) and m[5, 7] == pytest.approx(0.5 * 255 * 0.25)

    def test_level_maps_uint8_hwc_and_ragged(self):
        a = np.zeros((4, 6, 3), np.uint8)
        b = a.copy()
        b[3, 5, 2] = 4
        maps = html.level_maps(a, b, "HWC", None)
        assert [(m["channel"], float(m["map"].max())) for m in maps] == [(0, 0.0), (1, 0.0), (2, 4.0)]
        ragged = html.level_maps((a, a[:2]), (a, b[:2]), "HWC", None)
        assert {m["part"] for m in ragged} == {0, 1}

    def test_max_pool_keeps_a_single_pixel(self):
        a = np.zeros((1000, 700))
        a[999, 3] = 2.0
        m = html.max_pool(a, 100)
        assert max(m.shape) <= 100 and m.max() == 2.0 and m[-1, 0] == 2.0

    def test_heat_png_colours(self):
        img = html.heat_png(np.array([[0.0, 1.0]]), 1.0)
        px = np.asarray(img)
        assert px[0, 0].tolist() == [0, 0, 0] and px[0, -1].tolist() == [255, 255, 255]

    def test_displayable_layouts(self):
        tiles = np.random.default_rng(0).normal(size=(5, 3, 12, 9)).astype(np.float32)
        pics = html.displayable(tiles, "tiles,C,H,W")
        assert len(pics) == html.MAX_PARTS and pics[0].shape == (12, 9, 3) and pics[0].dtype == np.uint8
        hwc = np.zeros((7, 5, 3), np.uint8)
        assert html.displayable(hwc, "HWC")[0].shape == (7, 5, 3)
        assert html.displayable(np.zeros((16, 588), np.float32), "patches,c*t*p*p") == []


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A real (small) matrix report: two presets, two images, every impl that supports them (in this
    process: the pages do not depend on the worker count, and a pool's workers would import torch again)."""
    out = tmp_path_factory.mktemp("reports")
    code = main(["matrix", "--out", str(out), "--root", str(tmp_path_factory.mktemp("golden")), "--model",
                 "llava-1.5,llama-3.2-vision", "--images", "oddpad_501x300.png,tiny_27x27.png", "--workers", "1"])
    assert code == 0  # no goldens under that root: new cases are listed, not failed
    return out, json.loads((out / "results.json").read_text())


class TestSite:
    def test_files(self, site):
        out, results = site
        for f in ("index.html", "summary.md", "results.json"):
            assert (out / f).stat().st_size > 0
        assert len(list((out / "cases").glob("*.html"))) == len(results["cases"])

    def test_every_link_and_image_exists(self, site):
        out, _ = site
        pages = [out / "index.html"] + sorted((out / "cases").glob("*.html"))
        for page in pages:
            text = page.read_text()
            for ref in re.findall(r'(?:src|href)="([^"#]+)', text):
                if ref.startswith("data:"):
                    continue
                assert (page.parent / ref).resolve().exists(), f"{page.name}: {ref}"

    def test_index_matrix_is_colour_coded(self, site):
        out, results = site
        text = (out / "index.html").read_text()
        for preset in results["presets"]:
            assert f">{preset}</h3>" in text
        for _cls, (colour, _) in html.CLASS_STYLE.items():
            assert colour in text  # the legend at least
        diffs = [c for c in results["cases"] if any(d["first_divergence"] for d in c["diffs"].values())]
        if diffs:
            assert "Divergences, geometry first" in text

    def test_case_page_has_stage_tables_heatmaps_thumbnails(self, tmp_path):
        # a constructed pixel divergence, so the page always has heatmaps: hf-pil's real trace of a fixture
        # against a copy whose resized image has one pixel of channel 1 raised by 64 levels
        from dataclasses import replace

        from parity.case import run_case
        from parity.compare import compare_traces
        from parity.presets import get_preset

        preset = get_preset("llama-3.2-vision")
        case = run_case(str(matrix.FIXTURE_DIR / "oddpad_501x300.png"), preset, ["hf-pil"])
        base = case.traces["hf-pil"]
        resized = base["resize"].value.copy()
        resized[7, 11, 1] = (int(resized[7, 11, 1]) + 64) % 256
        case.traces["altered"] = replace(base, impl="altered", stages=tuple(
            replace(s, value=resized) if s.name == "resize" else s for s in base.stages))
        case.diffs["altered"] = compare_traces(base, case.traces["altered"], preset["image_std"])
        d = case_dict(case, 0.0)
        html.CaseAssets(tmp_path)(case, d)
        (tmp_path / "cases").mkdir()
        (tmp_path / d["assets"]["page"]).write_text(html.render_case(d))

        text = (tmp_path / d["assets"]["page"]).read_text()
        assert "<th>stage</th>" in text and "|Δ| heatmaps of <code>resize</code>" in text
        assert "<h2>Geometry</h2>" in text and "<th>tokens</th>" in text
        assert "Stage images, side by side" in text
        assert list(d["assets"]["heatmaps"]) == ["altered"] and list(d["assets"]["heatmaps"]["altered"]) == ["resize"]
        items = d["assets"]["heatmaps"]["altered"]["resize"]["items"]
        assert [(it["channel"], it["max_levels"]) for it in items] == [(0, 0), (1, 64), (2, 0)]
        for it in items:
            with Image.open(tmp_path / it["path"]) as img:
                assert img.format == "PNG"
                assert f'src="../{it["path"]}"' in text

    def test_summary_markdown(self, site):
        out, results = site
        md = (out / "summary.md").read_text()
        assert md.startswith("## vlm-parity matrix")
        assert "**Goldens**" in md and "### Divergences from the baseline (geometry first)" in md
        assert "### Agreement per preset and impl" in md
        assert "### Geometry that differs from the baseline (resized size, grid, image tokens)" in md
        assert md == markdown.render_summary(results)

    def test_every_case_page_leads_with_the_geometry_of_each_impl(self, site):
        out, results = site
        for c in results["cases"]:
            text = (out / c["assets"]["page"]).read_text()
            assert text.index("<h2>Geometry</h2>") < text.index("<th>stage</th>")
            for impl in c["geometry"]:
                assert f"<tr><th>{impl}</th>" in text


def test_pages_render_in_headless_chromium(site):
    browser_or_skip()
    out, _ = site
    checks = browser.browser_check_site(out, max_case_pages=2)
    assert len(checks) == 3
    for c in checks:
        assert c["error"] is None, c
        assert c["console"] == [], c
        assert c["broken"] == 0, c
        assert c["ok"]
    assert any(c["images"] > 0 for c in checks[1:])


def test_browser_check_catches_broken_images_and_console_errors(tmp_path):
    browser_or_skip()
    page = tmp_path / "bad.html"
    page.write_text(html.page("bad", '<img src="missing.png" alt="x"><script>console.error("boom")</script>'))
    c = browser.browser_check(page)
    assert not c["ok"]
    assert c["broken"] == 1
    assert any("boom" in m for m in c["console"])
