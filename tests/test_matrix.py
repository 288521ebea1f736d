"""The fixture set (deterministic, as named) and the matrix runner (JSON-able results, decode reuse,
divergences ordered geometry first, progress on stderr)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from parity import matrix
from parity.decode import decode_pil
from parity.errors import ParityError
from parity.impls import IMPLS, ImageInput
from parity.presets import get_preset

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "fixtures" / "images"
sys.path.insert(0, str(ROOT / "fixtures"))
import make_images  # noqa: E402


class TestFixtures:
    def test_generator_is_deterministic_and_matches_committed_files(self):
        proc = subprocess.run([sys.executable, str(ROOT / "fixtures" / "make_images.py"), "--check"],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr

    @pytest.mark.parametrize("path", sorted(IMAGES.glob("*.*g")), ids=lambda p: p.name)
    def test_names_state_the_size(self, path):
        import re

        m = re.search(r"(\d+)x(\d+)(?:\.\w+|_)", path.name.split("_", 1)[1] if "aspect" not in path.name
                      else path.name.rsplit("_", 1)[1])
        assert m, path.name
        with Image.open(path) as img:
            w, h = ImageOps.exif_transpose(img).size
        assert (w, h) == (int(m.group(1)), int(m.group(2)))

    @pytest.mark.parametrize("orientation", range(1, 9))
    def test_exif_orientations_display_upright(self, orientation):
        path = IMAGES / f"exif_orient{orientation}_240x160.jpg"
        with Image.open(path) as img:
            assert img.getexif().get(0x0112) == orientation
        shown = decode_pil(path, "pil-hf-exif").rgb.astype(int)
        expected = make_images.edges_upright(240, 160).astype(int)
        assert shown.shape == expected.shape
        assert np.abs(shown - expected).max() <= 8  # JPEG q95 4:4:4 on flat colour blocks

    @pytest.mark.parametrize("name, mode", [
        ("mode_rgba_300x200.png", "RGBA"), ("mode_la_300x200.png", "LA"), ("mode_gray_300x200.png", "L"),
        ("mode_gray16_300x200.png", "I;16"), ("mode_palette_trns_300x200.png", "P"),
        ("mode_cmyk_300x200.jpg", "CMYK")])
    def test_colour_modes(self, name, mode):
        with Image.open(IMAGES / name) as img:
            assert img.mode == mode
            if mode == "P":
                assert img.info.get("transparency") == 63

    @pytest.mark.parametrize("name, sampling", [("jpeg_420_501x377.jpg", 2), ("jpeg_422_501x377.jpg", 1),
                                                ("jpeg_444_501x377.jpg", 0)])
    def test_jpeg_subsampling(self, name, sampling):
        from PIL import JpegImagePlugin

        with Image.open(IMAGES / name) as img:
            assert JpegImagePlugin.get_sampling(img) == sampling

    def test_photos_and_licences(self):
        licences = (IMAGES / "LICENSES.md").read_text()
        photos = sorted(IMAGES.glob("photo_*.jpg"))
        assert len(photos) >= 5
        for p in photos:
            assert f"`{p.name}`" in licences
        with Image.open(IMAGES / "photo_1500x1749.jpg") as img:
            assert img.size == (1500, 1749)

    def test_fixture_folder_is_small(self):
        total = sum(p.stat().st_size for p in IMAGES.iterdir() if p.is_file())
        assert total < 8 * 10**6

    def test_default_images_exist(self):
        assert [p.name for p in matrix.fixture_images()] == list(matrix.DEFAULT_IMAGES)
        assert len(matrix.fixture_images("all")) >= 50

    def test_unknown_image_is_a_parity_error(self):
        with pytest.raises(ParityError, match="fixture image not found"):
            matrix.fixture_images(["nope_1x1.png"])


class TestDecodeCache:
    def test_shares_decodes_and_returns_private_copies(self):
        path = str(IMAGES / "tiny_27x27.png")
        from parity.impls import reference  # noqa: F401  (imports a module holding decode_pil)

        with matrix.decode_cache() as stats:
            mod = sys.modules["parity.impls.reference"]
            a = mod.decode_pil(path, "pil-hf")
            a.rgb[0, 0] = 0
            b = mod.decode_pil(path, "pil-hf")
        assert stats == {"hits": 1, "misses": 1}
        assert b.rgb[0, 0].tolist() == decode_pil(path, "pil-hf").rgb[0, 0].tolist() != [0, 0, 0]
        assert mod.decode_pil is decode_pil  # restored

    def test_private_copy_walks_results(self):
        from parity.decode import Decoded

        d = Decoded(np.zeros((2, 2, 3), np.uint8), "p", {"w": 2})
        c = matrix.private_copy((d, "note"))
        assert c[1] == "note" and c[0].policy == "p"
        c[0].rgb[0, 0, 0] = 9
        assert d.rgb[0, 0, 0] == 0 and c[0].rgb is not d.rgb

    def test_traces_identical_with_and_without_cache(self):
        preset = get_preset("llava-1.5")
        impl = IMPLS["hf-pil"]
        assert impl.supports(preset) is None
        image = ImageInput(str(IMAGES / "oddpad_501x300.png"))
        plain = impl.run(image, preset)
        with matrix.decode_cache():
            impl.run(image, preset)
            cached = impl.run(image, preset)
        assert [s.sha256 for s in plain.stages] == [s.sha256 for s in cached.stages]


class TestRunMatrix:
    @pytest.fixture(scope="class")
    def results(self):
        return matrix.run_matrix(["llava-1.5", "qwen2-vl"], ["tiny_27x27.png", "oddpad_501x300.png"], progress=False)

    def test_shape_of_results(self, results):
        assert results["schema_version"] == 1
        assert results["presets"] == ["llava-1.5", "qwen2-vl"]
        assert len(results["cases"]) == 4
        json.loads(json.dumps(results))  # JSON-able as is
        case = results["cases"][0]
        assert {"preset", "image", "baseline", "impls", "diffs", "errors", "first_divergences"} <= set(case)

    def test_decodes_are_reused(self, results):
        assert results["decode_cache"]["hits"] > 0

    def test_summary_counts_every_comparison(self, results):
        n_compared = sum(len(c["diffs"]) + len([e for e in c["errors"] if e not in c["diffs"]])
                         for c in results["cases"])
        totals = results["summary"]["totals"]
        assert sum(totals.values()) == n_compared

    def test_progress_goes_to_stderr(self):
        buf = io.StringIO()
        bar = matrix.Progress(4, stream=buf)
        for i in range(4):
            bar.step(f"case {i}")
        text = buf.getvalue()
        assert "4/4 cases" in text and "case 3" in text

    def test_unknown_preset_and_impl(self):
        with pytest.raises(ParityError, match="unknown preset"):
            matrix.run_matrix(["no-such-preset"], ["tiny_27x27.png"], progress=False)
        with pytest.raises(ParityError, match="unknown impl"):
            matrix.run_matrix(["llava-1.5"], ["tiny_27x27.png"], ["no-such-impl"], progress=False)


def _diff(first, stages):
    return {"first_divergence": first, "stages": stages}


def test_divergences_are_ordered_geometry_first():
    plan = {"name": "plan", "status": "differ", "kind": "plan", "plan_diff": {"grid": {"a": [1, 2], "b": [2, 1]}}}
    pix = {"name": "resize", "status": "differ", "kind": "array", "n_diff": 3, "n": 10, "max_levels": 2.0,
           "mean_levels": 0.5}
    flt = {"name": "normalize", "status": "differ", "kind": "array", "n_diff": 9, "n": 10, "max_levels": 1e-5,
           "mean_levels": 1e-6}
    results = {"presets": ["p"], "images": ["a", "b", "c"], "cases": [
        {"preset": "p", "image": "a", "baseline": "ref", "impls": {"ref": {}, "x": {}}, "errors": {},
         "diffs": {"x": _diff("normalize", [flt])}},
        {"preset": "p", "image": "b", "baseline": "ref", "impls": {"ref": {}, "x": {}}, "errors": {},
         "diffs": {"x": _diff("resize", [pix])}},
        {"preset": "p", "image": "c", "baseline": "ref", "impls": {"ref": {}, "x": {}, "y": {}}, "errors": {"z": "boom"},
         "diffs": {"x": _diff("plan", [plan]), "y": _diff(None, [])}},
    ]}
    s = matrix.summarize(results)
    assert [d["class"] for d in s["divergences"]] == ["error", "geometry", "pixels", "float"]
    assert s["divergences"][1]["examples"][0]["detail"] == "plan differs in grid: [1, 2] vs [2, 1]"
    assert s["totals"]["identical"] == 1 and s["totals"]["error"] == 1
    assert s["per_preset_impl"]["p"]["x"] == {**{c: 0 for c in matrix.CLASS_ORDER}, "geometry": 1, "pixels": 1,
                                               "float": 1}


def test_matrix_main_writes_reports_and_exit_code(tmp_path, monkeypatch):
    """python -m parity.matrix: reports written; exit 0 with no goldens, 1 after a golden regression."""
    from parity import golden

    out, gold = tmp_path / "reports", tmp_path / "golden"
    args = ["--out", str(out), "--golden", str(gold), "--presets", "llava-1.5", "--images", "tiny_27x27.png",
            "--quiet"]
    assert matrix.main(args) == 0
    for f in ("index.html", "summary.md", "results.json"):
        assert (out / f).exists()
    golden.update(presets=["llava-1.5"], images=["tiny_27x27.png"], root=gold, progress=False)
    assert matrix.main(args) == 0
    m = json.loads((gold / "manifest.json").read_text())
    key = next(iter(m["cases"]))
    m["cases"][key]["stages"]["decode"]["sha256"] = "0" * 64
    (gold / "manifest.json").write_text(json.dumps(m))
    assert matrix.main(args) == 1
    assert json.loads((out / "results.json").read_text())["golden"]["by_stage"] == {"decode": [key]}
    assert f"stage `decode` changed in 1 cases: {key}" in (out / "summary.md").read_text()
    assert 'class="cell regressed"' in (out / "index.html").read_text()


def test_a_failing_case_is_recorded_and_the_matrix_goes_on(monkeypatch, tmp_path):
    import parity.case
    from parity.golden import GoldenCheck

    real = parity.case.run_case

    def flaky(path, preset, *a, **kw):
        if preset.name == "llava-1.5":
            raise RuntimeError("broken impl state")
        return real(path, preset, *a, **kw)

    monkeypatch.setattr(parity.case, "run_case", flaky)
    checker = GoldenCheck(tmp_path)
    results = matrix.run_matrix(["llava-1.5", "pixtral"], ["tiny_27x27.png"], hooks=[matrix.golden_hook(checker.add)],
                                progress=False)
    failed, ok = results["cases"]
    assert set(failed["errors"].values()) == {"RuntimeError: broken impl state"}
    assert failed["golden"] and set(failed["golden"].values()) == {"error"}
    assert ok["preset"] == "pixtral" and ok["impls"]
    assert results["summary"]["totals"]["error"] >= 1


def test_an_impl_whose_supports_raises_is_listed_unsupported(monkeypatch):
    class Broken:
        name, version, description = "broken", "0", "raises in supports"

        def supports(self, preset):
            raise ValueError("llava.__spec__ is None")

        def to_dict(self):
            return {"name": self.name, "version": self.version, "description": self.description}

    monkeypatch.setitem(IMPLS, "broken", Broken())
    results = matrix.run_matrix(["pixtral"], ["tiny_27x27.png"], progress=False)
    assert "supports() raised ValueError" in results["unsupported"]["pixtral"]["broken"]
