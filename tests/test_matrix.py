"""The fixture set (deterministic, as named) and the matrix runner (JSON-able results, decode reuse,
divergences ordered geometry first, progress on stderr)."""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps, PngImagePlugin

from parity import matrix
from parity.case import run_case
from parity.decode import decode_pil
from parity.decode.profiles import DecodeCache, decode_file
from parity.engine import THREAD_ENV, WORKER_MALLOC_ENV, Job, Task, init_worker, keep_freed_memory, run_task, run_tasks
from parity.errors import ParityError
from parity.impls import IMPLS, ImageInput
from parity.presets import get_preset
from parity.schema import SCHEMA_VERSION
from parity.summary import CLASS_ORDER, summarize

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "fixtures" / "images"
sys.path.insert(0, str(ROOT / "fixtures"))
import make_images  # noqa: E402


class TestFixtures:
    def test_generator_is_deterministic_and_matches_committed_files(self, capsys):
        code = make_images.main(["--check"])  # in this process: the script's own exit code and messages
        assert code == 0, capsys.readouterr().err

    def test_the_png_check_catches_pixels_chunks_and_truncation(self):
        """``--check`` compares PNGs by chunks and decoded pixels (not zlib streams): each can fail it."""
        want = make_images.Png(Image.fromarray(make_images.scene(12, 10)).quantize(colors=8), transparency=3)
        good = want.encode()
        assert want.matches(good) and want.matches(want.encode(compress_level=1))
        changed = want.img.copy()
        changed.putpixel((4, 5), (changed.getpixel((4, 5)) + 1) % 8)
        assert not want.matches(make_images.Png(changed, transparency=3).encode())
        assert not want.matches(make_images.Png(want.img).encode())  # same pixels, no tRNS chunk
        info = PngImagePlugin.PngInfo()
        info.add_text("Comment", "x")
        assert not want.matches(make_images.Png(want.img, transparency=3, pnginfo=info).encode())
        assert not want.matches(good[:-12]) and not want.matches(b"")

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
        with pytest.raises(ParityError, match="image not found"):
            matrix.fixture_images(["nope_1x1.png"])


class TestDecodeCache:
    def test_one_decode_per_file_and_profile(self):
        path = str(IMAGES / "tiny_27x27.png")
        cache = DecodeCache()
        a = decode_file(path, "pil-hf", cache)
        b = decode_file(path, "pil-hf", cache)
        c = decode_file(path, "stb", cache)
        assert (cache.hits, cache.misses) == (1, 2) and a is b and c is not a

    def test_decoded_pixels_are_read_only(self):
        decoded = decode_file(str(IMAGES / "tiny_27x27.png"), "pil-hf", DecodeCache())
        shared = decoded.rgb
        with pytest.raises(ValueError):
            shared[0, 0, 0] = 1  # an impl cannot alter what another sees

    def test_a_rewritten_file_is_decoded_again(self, tmp_path):
        path = tmp_path / "x.png"
        Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(path)
        cache = DecodeCache()
        first = decode_file(str(path), "pil-hf", cache)
        Image.fromarray(np.full((4, 5, 3), 7, np.uint8)).save(path)
        second = decode_file(str(path), "pil-hf", cache)
        assert first.rgb.shape == (4, 4, 3) and second.rgb.shape == (4, 5, 3) and cache.misses == 2

    def test_traces_identical_with_and_without_cache(self):
        preset = get_preset("llava-1.5")
        impl = IMPLS["hf-pil"]
        path = str(IMAGES / "oddpad_501x300.png")
        plain = impl.run(ImageInput(path), preset)
        cache = DecodeCache()
        impl.run(ImageInput(path, cache=cache), preset)
        cached = impl.run(ImageInput(path, cache=cache), preset)
        assert cache.hits == 1
        assert [s.sha256 for s in plain.stages] == [s.sha256 for s in cached.stages]


class TestRunMatrix:
    @pytest.fixture(scope="class")
    def results(self):
        return matrix.run_matrix(["llava-1.5", "qwen2-vl"], ["tiny_27x27.png", "oddpad_501x300.png"], progress=False,
                                 workers=1)[0]

    def test_shape_of_results(self, results):
        assert results["schema_version"] == SCHEMA_VERSION
        assert results["presets"] == ["llava-1.5", "qwen2-vl"]
        assert [(c["preset"], c["image"]) for c in results["cases"]] == [
            ("llava-1.5", "tiny_27x27.png"), ("llava-1.5", "oddpad_501x300.png"),
            ("qwen2-vl", "tiny_27x27.png"), ("qwen2-vl", "oddpad_501x300.png")]
        json.loads(json.dumps(results))  # JSON-able as is
        case = results["cases"][0]
        assert {"preset", "image", "baseline", "impls", "diffs", "errors", "first_divergences", "geometry"} <= set(case)

    def test_decodes_are_shared_across_presets_of_an_image(self, results):
        last = [c for c in results["cases"] if c["image"] == "oddpad_501x300.png"][-1]
        assert last["decode_cache"]["hits"] > 0

    def test_summary_counts_every_comparison(self, results):
        n_compared = sum(len(c["diffs"]) + len([e for e in c["errors"] if e not in c["diffs"]])
                         for c in results["cases"])
        totals = results["summary"]["totals"]
        assert sum(totals.values()) == n_compared

    def test_two_workers_give_the_same_rows(self, results):
        """Two worker processes give the traces this process gave. The ports only: a new process running them
        imports neither torch nor transformers nor starts Node (the sweep's pool test runs those)."""
        ports = ["llamacpp", "llamacpp-legacy"]
        parallel = matrix.run_matrix(["llava-1.5", "qwen2-vl"], ["tiny_27x27.png", "oddpad_501x300.png"], ports,
                                     progress=False, workers=2)[0]

        def rows(r):
            return [(c["preset"], c["image"], {n: [s["sha256"] for s in i["trace"]["stages"]]
                                               for n, i in c["impls"].items() if n in ports}) for c in r["cases"]]

        assert rows(parallel) == rows(results)
        assert all(len(impls) == 2 for _, _, impls in rows(parallel))

    def test_worker_allocator_settings_are_accepted_and_passed_on(self, monkeypatch):
        """The pool initializer's mallopt values are ones glibc accepts (mallopt returns 0 for a refused
        one); elsewhere it reports that it did nothing. The processes a worker starts (Node) get the same
        settings through the environment, unless the user set their own."""
        for name in WORKER_MALLOC_ENV:
            monkeypatch.delenv(name, raising=False)  # restored after the test
        monkeypatch.setenv("MALLOC_TOP_PAD_", "4096")
        assert keep_freed_memory() is (platform.libc_ver()[0] == "glibc")
        assert os.environ["MALLOC_MMAP_THRESHOLD_"] == str(32 << 20) and os.environ["MALLOC_TOP_PAD_"] == "4096"
        assert os.environ["MALLOC_MMAP_MAX_"] == "0"

    def test_a_worker_pins_numerical_libraries_to_one_thread_unless_told_otherwise(self, monkeypatch):
        for name in THREAD_ENV:
            monkeypatch.delenv(name, raising=False)  # restored after the test
        monkeypatch.setenv("MKL_NUM_THREADS", "3")
        init_worker()
        assert {name: os.environ[name] for name in THREAD_ENV} == {**{n: "1" for n in THREAD_ENV}, "MKL_NUM_THREADS": "3"}

    def test_pool_workers_are_set_up_before_their_first_case(self, monkeypatch):
        """A pool worker runs ``init_worker`` before any case: one thread per numerical library and the
        allocator settings, even when the parent process has none of them."""
        for name in (*THREAD_ENV, *WORKER_MALLOC_ENV):
            monkeypatch.delenv(name, raising=False)  # the spawned workers inherit this environment
        task = Task(str(IMAGES / "tiny_27x27.png"), (("llava-1.5", ("llamacpp",)),))
        job = Job((("engine_probe:environment_observer", ()),))
        rows = [d for done in run_tasks([task, task], job, workers=2) for d in done]
        assert len(rows) == 2 and all(d["worker_pid"] != os.getpid() for d in rows)
        expected = {**{name: "1" for name in THREAD_ENV}, **WORKER_MALLOC_ENV}
        assert all(d["worker_environment"] == expected for d in rows)

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
    s = summarize(results)
    assert [d["class"] for d in s["divergences"]] == ["error", "geometry", "pixels", "float"]
    assert s["divergences"][1]["examples"][0]["detail"] == "plan differs in grid: [1, 2] vs [2, 1]"
    assert s["totals"]["identical"] == 1 and s["totals"]["error"] == 1
    assert s["per_preset_impl"]["p"]["x"] == {**{c: 0 for c in CLASS_ORDER}, "geometry": 1, "pixels": 1,
                                               "float": 1}


def test_parity_matrix_writes_reports_and_exit_code(tmp_path):
    """`parity matrix`: reports written; exit 1 with cases lacking goldens? no: 0 (new cases are listed),
    0 once recorded, 1 after a golden regression."""
    from parity.cli import main

    out, gold = tmp_path / "reports", tmp_path / "golden"
    args = ["matrix", "--out", str(out), "--root", str(gold), "--model", "llava-1.5", "--images", "tiny_27x27.png",
            "--workers", "1"]
    assert main(args) == 0
    for f in ("index.html", "summary.md", "results.json"):
        assert (out / f).exists()
    assert main(["golden", "update", "--root", str(gold), "--model", "llava-1.5", "--images", "tiny_27x27.png",
                 "--workers", "1"]) == 0
    assert main(args) == 0
    m = json.loads((gold / "manifest.json").read_text())
    key = next(iter(m["cases"]))
    m["cases"][key]["stages"]["decode"]["xxh3_128"] = "0" * 32  # what a check compares
    (gold / "manifest.json").write_text(json.dumps(m))
    assert main(args) == 1
    assert json.loads((out / "results.json").read_text())["golden"]["by_stage"] == {"decode": [key]}
    assert f"stage `decode` changed in 1 cases: {key}" in (out / "summary.md").read_text()
    assert 'class="cell regressed"' in (out / "index.html").read_text()


def test_a_failing_case_is_recorded_and_the_matrix_goes_on(monkeypatch, tmp_path):
    import parity.engine

    real = parity.engine.run_case

    def flaky(path, preset, *a, **kw):
        if preset.name == "llava-1.5":
            raise RuntimeError("broken impl state")
        return real(path, preset, *a, **kw)

    monkeypatch.setattr(parity.engine, "run_case", flaky)
    results, _ = matrix.run_matrix(["llava-1.5", "pixtral"], ["tiny_27x27.png"], golden="check", golden_root=tmp_path,
                                   progress=False, workers=1)
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
    results, _ = matrix.run_matrix(["pixtral"], ["tiny_27x27.png"], progress=False, workers=1)
    assert "supports() raised ValueError" in results["unsupported"]["pixtral"]["broken"]


def test_traces_only_cases_skip_the_diffs_but_not_the_traces():
    """The golden gate runs cases with ``compare=False``: the same traces (same sha256 per stage), no diffs."""
    image = str(IMAGES / "oddpad_501x300.png")
    preset = get_preset("llava-1.6")
    full = run_case(image, preset, ["reference", "llamacpp"])
    light = run_case(image, preset, ["reference", "llamacpp"], compare=False)
    assert full.diffs and not light.diffs
    for name, trace in full.traces.items():
        assert [r.sha256 for r in trace.stages] == [r.sha256 for r in light.traces[name].stages]


def test_traces_only_case_dicts_carry_the_fast_hash_and_never_take_sha1_or_sha256():
    """A golden check compares stages by XXH3-128: its case dicts leave sha1 and sha256 out (each a pass over
    every byte at ~2 GB/s), and no array record computes one; a normal run's dicts have both."""
    task = Task(str(IMAGES / "oddpad_501x300.png"), (("llava-1.6", ("reference", "llamacpp")),))
    seen = []
    light = run_task(task, Job(compare=False), observers=[lambda case, d: seen.append(case)])[0]
    stages = [s for impl in light["impls"].values() for s in impl["trace"]["stages"]]
    assert stages and all("sha1" not in s and "sha256" not in s and len(s["xxh3_128"]) == 32 for s in stages)
    arrays = [rec for t in seen[0].traces.values() for rec in t.stages if rec.kind != "plan"]
    assert arrays and not any({"sha1", "sha256"} & set(rec.__dict__) for rec in arrays)
    full = run_task(task, Job())[0]
    assert all(len(s["sha1"]) == 40 and len(s["sha256"]) == 64
               for impl in full["impls"].values() for s in impl["trace"]["stages"])
