"""Goldens: update is the only writer (atomic, reports what changed); check classifies every mismatch
(environment vs code), explains stored arrays numerically and writes .obtained.npz; a changed kernel
constant fails the check naming the stage and the cases."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from parity import files, golden
from parity.golden import GoldenCheck, Produced, case_key, check, update
from parity.golden.store import load_manifest, load_npz, write_json_atomic
from parity.impls import IMPLS
from parity.impls.base import Impl
from parity.matrix import golden_gate, run_matrix
from parity.presets import all_presets, get_preset
from parity.report.golden import render_golden_report, render_mismatch, render_update_summary
from parity.trace import TraceBuilder

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "images"


def make_trace(image: str = "img.png", offset: int = 0, grid=(1, 2), shape=(6, 8), preset="toy", impl="toy-impl"):
    """A small deterministic trace: a plan, a uint8 resize, float normalize, ragged tiles."""
    h, w = shape
    rgb = (np.arange(h * w * 3, dtype=np.int64).reshape(h, w, 3) * 7 % 251).astype(np.uint8)
    resized = rgb.copy()
    resized[1, 2, 0] = (int(resized[1, 2, 0]) + offset) % 256
    tb = TraceBuilder()
    tb.add("decode", rgb, "HWC")
    tb.add("plan", {"grid": list(grid), "resized": [h, w]}, "plan")
    tb.add("resize", resized, "HWC")
    tb.add("tiles", (resized[:, : w // 2], resized[:, w // 2:]), "HWC")
    tb.add("normalize", ((resized.astype(np.float32) / 255 - 0.5) / 0.25).transpose(2, 0, 1), "C,H,W")
    return tb.build(preset, impl, "toy 1.0", image)


def produced(trace, std=(0.25, 0.25, 0.25)):
    return Produced.from_trace(trace, list(std))


def manifest(root: Path) -> dict:
    return json.loads((root / "manifest.json").read_text())


class TestManifest:
    def test_update_records_hashes_shapes_plan_and_versions(self, tmp_path):
        tr = make_trace()
        summary = update([produced(tr)], tmp_path, array_images=["img.png"])
        m = manifest(tmp_path)
        entry = m["cases"]["toy/toy-impl/img.png"]
        assert entry["stages"]["resize"]["sha256"] == tr["resize"].sha256
        assert entry["stages"]["resize"]["shape"] == [6, 8, 3]
        assert entry["stages"]["normalize"]["dtype"] == "float32"
        assert entry["stages"]["tiles"]["shape"] == [[6, 4, 3], [6, 4, 3]]
        assert entry["plan"] == {"grid": [1, 2], "resized": [6, 8]}
        assert entry["impl_version"] == "toy 1.0"
        env = m["environments"][entry["environment"]]
        for lib in ("numpy", "Pillow", "torch", "torchvision", "transformers", "libjpeg"):
            assert lib in env
        assert summary.added == ["toy/toy-impl/img.png"]
        assert (tmp_path / "toy" / "toy-impl" / "img.png" / "resize.npz").exists()
        assert not (tmp_path / "toy" / "toy-impl" / "img.png" / "plan.npz").exists()

    def test_arrays_only_for_curated_images(self, tmp_path):
        update([produced(make_trace("other.png"))], tmp_path, array_images=["img.png"])
        assert manifest(tmp_path)["cases"]["toy/toy-impl/other.png"]["stages"]["resize"]["array"] is False
        assert not (tmp_path / "toy").exists()

    def test_stored_arrays_round_trip(self, tmp_path):
        tr = make_trace()
        update([produced(tr)], tmp_path, array_images=["img.png"])
        base = tmp_path / "toy" / "toy-impl" / "img.png"
        np.testing.assert_array_equal(load_npz(base / "resize.npz"), tr["resize"].value)
        tiles = load_npz(base / "tiles.npz")
        assert isinstance(tiles, tuple) and len(tiles) == 2
        np.testing.assert_array_equal(tiles[1], tr["tiles"].value[1])


class TestCheck:
    def test_identical_passes(self, tmp_path):
        update([produced(make_trace())], tmp_path)
        report = check([produced(make_trace())], tmp_path)
        assert report.passed and bool(report)
        assert report.cases_checked == 1 and report.stages_checked == 5
        assert "passed" in render_golden_report(report.to_dict())

    def test_the_check_compares_the_fast_hash_and_never_takes_a_sha256_when_equal(self, tmp_path):
        update([produced(make_trace())], tmp_path)
        entry = manifest(tmp_path)["cases"]["toy/toy-impl/img.png"]
        tr = make_trace()
        assert all(entry["stages"][r.name]["xxh3_128"] == r.xxh3_128 for r in tr.stages)
        assert check([produced(tr)], tmp_path).passed
        assert not any("sha256" in r.__dict__ for r in tr.stages if r.kind != "plan")

    def test_a_wrong_fast_hash_fails_even_with_the_right_sha256(self, tmp_path):
        """What the check compares is the XXH3-128 (a golden whose sha256 alone matches does not pass)."""
        update([produced(make_trace())], tmp_path)
        m = manifest(tmp_path)
        m["cases"]["toy/toy-impl/img.png"]["stages"]["resize"]["xxh3_128"] = "0" * 32
        write_json_atomic(tmp_path / "manifest.json", m)
        report = check([produced(make_trace())], tmp_path)
        assert [(x.stage, x.what) for x in report.mismatches] == [("resize", "sha256")]

    def test_a_golden_without_the_fast_hash_is_checked_by_sha256(self, tmp_path):
        update([produced(make_trace())], tmp_path)
        m = manifest(tmp_path)
        for st in m["cases"]["toy/toy-impl/img.png"]["stages"].values():
            del st["xxh3_128"]
        write_json_atomic(tmp_path / "manifest.json", m)
        assert check([produced(make_trace())], tmp_path).passed
        report = check([produced(make_trace(offset=1))], tmp_path)
        assert {x.stage for x in report.mismatches} == {"resize", "tiles", "normalize"}

    def test_a_changed_stage_is_reported_with_both_sha256(self, tmp_path):
        update([produced(make_trace())], tmp_path)
        changed = make_trace(offset=2)
        m = next(x for x in check([produced(changed)], tmp_path).mismatches if x.stage == "resize")
        assert m.expected["sha256"] == make_trace()["resize"].sha256
        assert m.obtained["sha256"] == changed["resize"].sha256 != m.expected["sha256"]

    def test_check_never_writes_goldens(self, tmp_path):
        update([produced(make_trace())], tmp_path, array_images=["img.png"])
        before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
        report = check([produced(make_trace(offset=3))], tmp_path)
        assert not report.passed
        after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and ".obtained" not in p.name}
        assert after == before

    def test_numeric_diff_and_obtained_file(self, tmp_path):
        update([produced(make_trace())], tmp_path, array_images=["img.png"])
        changed = make_trace(offset=3)
        report = check([produced(changed)], tmp_path)
        resize = next(m for m in report.mismatches if m.stage == "resize")
        assert resize.what == "sha256" and resize.cause == "code"
        assert resize.diff["n_diff"] == 1 and resize.diff["n"] == 6 * 8 * 3
        assert resize.diff["max_levels"] == 3.0
        assert resize.first_differences == [{"index": [1, 2, 0], "obtained": int(changed["resize"].value[1, 2, 0]),
                                             "expected": int(make_trace()["resize"].value[1, 2, 0]),
                                             "difference": 3}]
        obtained = Path(resize.obtained_path)
        assert obtained.name == "resize.obtained.npz" and obtained.parent == Path(resize.expected_path).parent
        np.testing.assert_array_equal(load_npz(obtained), changed["resize"].value)
        text = render_golden_report(report.to_dict())
        assert "Number of differences: 1 / 144" in text
        assert "stage 'resize' changed in 1 cases" in text and "toy/toy-impl/img.png" in text
        # the float stage downstream: |Δ| in levels = 3/255/0.25 * 255 * 0.25 = 3 levels
        norm = next(m for m in report.mismatches if m.stage == "normalize")
        assert norm.diff["max_levels"] == pytest.approx(3.0, abs=1e-4)

    def test_hash_only_case_says_so(self, tmp_path):
        update([produced(make_trace("other.png"))], tmp_path, array_images=[])
        report = check([produced(make_trace("other.png", offset=1))], tmp_path)
        m = next(m for m in report.mismatches if m.stage == "resize")
        assert m.diff is None and m.obtained_path is None
        assert "no stored array" in "\n".join(render_mismatch(m.to_dict()))

    def test_environment_change_is_named(self, tmp_path):
        update([produced(make_trace())], tmp_path)
        m = manifest(tmp_path)
        env_key = next(iter(m["environments"]))
        m["environments"][env_key]["Pillow"] = "1.0.0"
        (tmp_path / "manifest.json").write_text(json.dumps(m))
        report = check([produced(make_trace(offset=1))], tmp_path)
        mm = next(x for x in report.mismatches if x.stage == "resize")
        assert mm.cause == "environment"
        assert mm.env_changes["Pillow"][0] == "1.0.0"
        assert "Pillow 1.0.0 ->" in "\n".join(render_mismatch(mm.to_dict()))

    def test_impl_version_change_counts_as_environment(self, tmp_path):
        update([produced(make_trace())], tmp_path)
        p = produced(make_trace(offset=1))
        report = check([Produced(p.key, p.records, "toy 2.0", p.std, image=p.image)], tmp_path)
        assert {m.cause for m in report.mismatches} == {"environment"}
        assert report.mismatches[0].env_changes["impl_version"] == ["toy 1.0", "toy 2.0"]

    def test_plan_change_key_by_key(self, tmp_path):
        update([produced(make_trace())], tmp_path)
        report = check([produced(make_trace(grid=(2, 1)))], tmp_path)
        plan = next(m for m in report.mismatches if m.stage == "plan")
        assert plan.what == "plan" and plan.diff == {"grid": {"a": [1, 2], "b": [2, 1]}}
        assert "plan['grid']: expected [1, 2], obtained [2, 1]" in render_golden_report(report.to_dict())

    def test_shape_change(self, tmp_path):
        update([produced(make_trace())], tmp_path)
        report = check([produced(make_trace(shape=(6, 10)))], tmp_path)
        assert next(m for m in report.mismatches if m.stage == "resize").what == "shape"

    def test_new_missing_and_error_cases(self, tmp_path):
        update([produced(make_trace("a.png")), produced(make_trace("b.png"))], tmp_path)
        gc = GoldenCheck(tmp_path)
        assert gc.add(produced(make_trace("c.png"))).status == "new"  # no golden yet: not a regression
        found = gc.add(Produced(case_key("toy", "toy-impl", "a.png"), error="ValueError: refused"))
        assert found.status == "regressed" and found.mismatches[0].what == "error"
        report = gc.report(scope=[case_key("toy", "toy-impl", n) for n in ("a.png", "b.png", "c.png")])
        assert report.new_cases == ["toy/toy-impl/c.png"]
        assert report.missing_cases == ["toy/toy-impl/b.png"]
        assert not report.passed
        assert "now raises: ValueError: refused" in render_golden_report(report.to_dict())

    def test_report_is_json_able(self, tmp_path):
        update([produced(make_trace())], tmp_path, array_images=["img.png"])
        report = check([produced(make_trace(offset=2))], tmp_path)
        d = json.loads(json.dumps(report.to_dict()))
        assert d["passed"] is False and "resize" in d["by_stage"] and d["causes"] == {"code": 3}


class TestUpdate:
    def test_update_reports_changes_and_clears_obtained(self, tmp_path):
        update([produced(make_trace())], tmp_path, array_images=["img.png"])
        check([produced(make_trace(offset=5))], tmp_path)
        case_dir = tmp_path / "toy" / "toy-impl" / "img.png"
        assert (case_dir / "resize.obtained.npz").exists()
        new = make_trace(offset=5)
        summary = update([produced(new)], tmp_path, array_images=["img.png"])
        changed = {c[1] for c in summary.changed}
        assert changed == {"resize", "tiles", "normalize"}
        assert "changed toy/toy-impl/img.png stage 'resize'" in render_update_summary(summary.to_dict())
        assert not (case_dir / "resize.obtained.npz").exists()
        assert check([produced(new)], tmp_path).passed

    def test_an_update_gives_an_older_manifest_its_fast_hashes_and_says_so(self, tmp_path):
        update([produced(make_trace())], tmp_path)
        m = manifest(tmp_path)
        del m["cases"]["toy/toy-impl/img.png"]["stages"]["resize"]["xxh3_128"]
        write_json_atomic(tmp_path / "manifest.json", m)
        summary = update([produced(make_trace())], tmp_path)
        assert summary.unchanged == 1 and summary.fast_hashes_added == 1 and not summary.changed
        assert "goldens unchanged (1 cases; 1 cases given their xxh3_128 hashes)" in summary.summary_line()
        assert "xxh3_128" in manifest(tmp_path)["cases"]["toy/toy-impl/img.png"]["stages"]["resize"]
        assert update([produced(make_trace())], tmp_path).fast_hashes_added == 0

    def test_update_unchanged(self, tmp_path):
        update([produced(make_trace())], tmp_path)
        summary = update([produced(make_trace())], tmp_path)
        assert summary.unchanged == 1 and not summary.changed and "unchanged" in render_update_summary(summary.to_dict())

    def test_update_prunes_in_scope_only(self, tmp_path):
        update([produced(make_trace("a.png")), produced(make_trace("b.png"))], tmp_path)
        summary = update([produced(make_trace("a.png"))], tmp_path, scope=["toy/toy-impl/a.png", "toy/toy-impl/b.png"])
        assert summary.removed == ["toy/toy-impl/b.png"]
        assert set(manifest(tmp_path)["cases"]) == {"toy/toy-impl/a.png"}

    def test_update_is_atomic(self, tmp_path, monkeypatch):
        update([produced(make_trace())], tmp_path)
        before = (tmp_path / "manifest.json").read_bytes()
        real_replace = os.replace

        def failing_replace(src, dst):
            if str(dst).endswith("manifest.json"):
                raise OSError("disk full")
            return real_replace(src, dst)

        monkeypatch.setattr(files.os, "replace", failing_replace)
        with pytest.raises(OSError, match="disk full"):
            update([produced(make_trace(offset=9))], tmp_path)
        assert (tmp_path / "manifest.json").read_bytes() == before
        assert not list(tmp_path.glob("*.tmp"))

    def test_corrupt_manifest_is_a_parity_error(self, tmp_path):
        from parity.errors import ParityError

        (tmp_path / "manifest.json").write_text("{not json")
        with pytest.raises(ParityError, match="not valid JSON"):
            check([produced(make_trace())], tmp_path)


# ------------------------------------------------------------------------ a changed kernel constant

#: the toy impl's kernel constant (read at call time, like a module-level constant in parity.kernels)
TOY_SCALE = 0.5


def resize_halve_toy(rgb: np.ndarray) -> np.ndarray:
    h, w = max(1, int(rgb.shape[0] * TOY_SCALE)), max(1, int(rgb.shape[1] * TOY_SCALE))
    ys = (np.arange(h) / TOY_SCALE).astype(int).clip(0, rgb.shape[0] - 1)
    xs = (np.arange(w) / TOY_SCALE).astype(int).clip(0, rgb.shape[1] - 1)
    return rgb[ys][:, xs]


class ToyImpl(Impl):
    name = "toy"
    version = "toy 1"
    description = "a test impl with a module-level kernel constant"

    def supports(self, preset):
        return None

    def record_stages(self, decoded, preset, rec):
        small = resize_halve_toy(decoded.rgb)
        rec.add("plan", {"resized": list(small.shape[:2])}, "plan")
        rec.add("resize", small, "HWC")
        rec.add("normalize", (small.astype(np.float32) / 255).transpose(2, 0, 1), "C,H,W")


def golden_run(mode, root, presets, images, impls):
    """The matrix path of `parity golden update/check`, serially (a monkeypatched impl stays in this process)."""
    return run_matrix(presets, images, impls, golden=mode, golden_root=root, progress=False, workers=1)[1]


def test_changed_kernel_constant_fails_naming_stage_and_cases(tmp_path, monkeypatch):
    """The matrix path end to end: update, check passes, a changed constant fails."""
    monkeypatch.setitem(IMPLS, "toy", ToyImpl())
    images = ["tiny_27x27.png", "oddpad_501x300.png"]
    presets = ["llava-1.5", "qwen2-vl"]
    summary = golden_run("update", tmp_path, presets, images, ["toy"])
    assert len(summary.added) == 4
    assert golden_run("check", tmp_path, presets, images, ["toy"]).passed
    monkeypatch.setitem(globals(), "TOY_SCALE", 0.51)
    report = golden_run("check", tmp_path, presets, images, ["toy"])
    assert not report.passed
    by_stage = report.by_stage()
    assert set(by_stage["resize"]) == {f"{p}/toy/{i}" for p in presets for i in images}
    text = render_golden_report(report.to_dict())
    assert "stage 'resize' changed in 4 cases (cause: code)" in text
    assert "llava-1.5/toy/oddpad_501x300.png" in text


def test_changed_real_kernel_constant_fails(tmp_path, monkeypatch):
    """A real kernel: llama.cpp's fixed-point Pillow-style resampler (parity.kernels.pillow_fixed)."""
    from parity.kernels import pillow_fixed

    preset = "llava-1.5"
    assert IMPLS["llamacpp"].supports(get_preset(preset)) is None
    images = ["oddpad_501x300.png"]
    golden_run("update", tmp_path, [preset], images, ["llamacpp"])
    assert golden_run("check", tmp_path, [preset], images, ["llamacpp"]).passed
    monkeypatch.setattr(pillow_fixed, "PRECISION_BITS", pillow_fixed.PRECISION_BITS - 6)
    report = golden_run("check", tmp_path, [preset], images, ["llamacpp"])
    assert not report.passed, "llamacpp's llava-1.5 resize goes through pillow_fixed"
    first_stage = next(iter(report.by_stage()))
    assert first_stage in ("resize", "pad", "tiles")
    assert f"{preset}/llamacpp/oddpad_501x300.png" in render_golden_report(report.to_dict())
    assert report.causes() == {"code": len(report.mismatches)}


@pytest.mark.parametrize("preset", sorted(all_presets()))
def test_repository_goldens_hold_for_the_curated_images(preset):
    """The committed goldens (fixtures/golden) still match, for the images whose arrays are stored: every
    preset (one test each, so that they spread over the test workers) with every impl that supports it,
    traces only (``compare=False``, as ``parity golden check`` runs: the goldens are of traces, not diffs)."""
    assert (golden.DEFAULT_ROOT / "manifest.json").is_file(), "the goldens are committed (fixtures/golden)"
    report = run_matrix([preset], images=["tiny_27x27.png"], golden="check", progress=False, workers=1,
                        compare=False)[1]
    assert report.passed, render_golden_report(report.to_dict())
    assert report.cases_checked > 0  # each preset has goldens of this image: the check is not vacuous


def test_update_keeps_the_golden_of_a_case_that_now_raises(tmp_path):
    key = case_key("toy", "toy-impl", "img.png")
    update([produced(make_trace())], tmp_path)
    summary = update([Produced(key, error="ValueError: broken")], tmp_path, scope=[key])
    assert summary.removed == [] and summary.kept_errors == [key]
    assert "raise now; their goldens were kept" in render_update_summary(summary.to_dict())
    assert key in manifest(tmp_path)["cases"]


class TestGate:
    """`parity golden check` is a CI gate: no manifest is bad input; nothing checked or a case without a
    golden is a failure (unless --allow-new); a malformed manifest is one line, exit 2."""

    def test_a_missing_manifest_is_bad_input_before_anything_runs(self, tmp_path, monkeypatch):
        import parity.matrix
        from parity.errors import ParityError

        monkeypatch.setattr(parity.matrix, "run_matrix", lambda *a, **k: pytest.fail("ran the matrix"))
        with pytest.raises(ParityError, match=f"golden manifest not found: {tmp_path / 'manifest.json'}"):
            golden_gate(tmp_path)

    def test_an_empty_manifest_fails_without_running(self, tmp_path, monkeypatch):
        import parity.matrix

        write_json_atomic(tmp_path / "manifest.json", {"schema_version": 1, "environments": {}, "cases": {}})
        monkeypatch.setattr(parity.matrix, "run_matrix", lambda *a, **k: pytest.fail("ran the matrix"))
        for allow_new in (False, True):
            report = golden_gate(tmp_path, allow_new=allow_new)
            assert not report.passed
            assert report.summary_line() == ("golden check failed: nothing was checked (no case in scope has a "
                                             "golden) (of 0 cases checked)")

    def test_new_cases_fail_unless_allowed(self, tmp_path):
        update([produced(make_trace("a.png"))], tmp_path)
        report = check([produced(make_trace("a.png")), produced(make_trace("b.png"))], tmp_path)
        assert report.passed  # the library default (matrix report, pytest plugin): new cases are listed
        report.require_checked, report.allow_new = True, False  # what check_gate sets without --allow-new
        assert not report.passed
        assert report.summary_line() == "golden check failed: 1 cases have no golden (of 1 cases checked)"
        text = render_golden_report(report.to_dict())
        assert "1 cases have no golden: toy/toy-impl/b.png" in text and "--allow-new" in text
        report.allow_new = True
        assert report.passed and "(accepted: --allow-new)" in render_golden_report(report.to_dict())
        assert report.to_dict()["allow_new"] is True

    def test_nothing_checked_fails_the_gate(self, tmp_path):
        update([produced(make_trace("a.png"))], tmp_path)
        report = check([produced(make_trace("z.png"))], tmp_path)
        report.require_checked = True
        assert not report.passed and "nothing was checked" in report.summary_line()

    @pytest.mark.parametrize("content, message", [
        ("[]", "it is a JSON list, not an object"),
        ('{"schema_version": 1, "environments": {}}', "it has no 'cases'"),
        ('{"schema_version": 1, "cases": {}}', "it has no 'environments'"),
        ('{"schema_version": 1, "environments": {}, "cases": []}', "'cases' is a list, not an object"),
        ('{"schema_version": 1, "environments": {"e": 3}, "cases": {}}', "environment 'e' is a int"),
        ('{"schema_version": 1, "environments": {}, "cases": {"k": 1}}', "case 'k' is a int"),
        ('{"schema_version": 1, "environments": {}, "cases": {"k": {}}}', "case 'k' has no 'stages' object"),
        ('{"schema_version": 1, "environments": {}, "cases": {"k": {"stages": {"pack": {"sha256": 1}}}}}',
         "case 'k' stage 'pack' has no 'sha256' string"),
        ('{"schema_version": 1, "environments": {}, "cases": {"k": {"stages": {"pack": {"sha256": "ab"}}}}}',
         "needs a 'shape' list and a 'dtype' string"),
        ('{"schema_version": 1, "environments": {}, "cases": {"k": {"stages": {"pack": {"sha256": "ab", '
         '"xxh3_128": "XYZ"}}}}}', "case 'k' stage 'pack': 'xxh3_128' is not a 32-digit hex string"),
        ('{"schema_version": 1, "environments": {}, "cases": {"k": {"stages": {}, "plan": []}}}',
         "'plan' is not an object"),
        ('{"schema_version": 2, "environments": {}, "cases": {}}', "has schema_version 2, expected 1"),
        ("\xff\xfe", "not valid JSON"),
    ])
    def test_malformed_manifest_is_one_line(self, tmp_path, content, message):
        from parity.errors import ParityError

        (tmp_path / "manifest.json").write_bytes(content.encode("latin-1"))
        for load in (lambda: load_manifest(tmp_path), lambda: golden_gate(tmp_path)):
            with pytest.raises(ParityError, match=message) as e:
                load()
            assert "\n" not in str(e.value)

    def test_manifest_that_is_a_directory(self, tmp_path):
        from parity.errors import ParityError

        (tmp_path / "manifest.json").mkdir()
        with pytest.raises(ParityError, match="golden manifest path is a directory"):
            load_manifest(tmp_path)


def test_written_files_follow_the_umask(tmp_path):
    """mkstemp gives 0600; goldens are CI artefacts: 0666 & ~umask, like any new file."""
    old = os.umask(0o022)
    try:
        update([produced(make_trace())], tmp_path, array_images=["img.png"])
    finally:
        os.umask(old)
    files = [tmp_path / "manifest.json", *tmp_path.rglob("*.npz")]
    assert len(files) > 2 and {f.stat().st_mode & 0o777 for f in files} == {0o644}
