"""The CLI contract: exit codes, one-line errors, no partial files, dump hashes, JSON schema."""

import hashlib
import json
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from PIL import Image

from parity.cli import SCHEMA_VERSION, main


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    from conftest import make_rgb

    p = tmp_path_factory.mktemp("img") / "photo_1500x1749.png"
    Image.fromarray(make_rgb(1749, 1500, seed=7)).save(p, compress_level=1)  # the pixels are the point, not the size
    return p


class TestDump:
    def test_bin_is_inp_raw_and_sha1_matches_the_file(self, capsys, photo, tmp_path):
        out = tmp_path / "x.bin"
        code, stdout, _ = run_cli(capsys, "dump", photo, "--model", "llama-3.2-vision", "--impl", "hf-pil", "-o", out)
        assert code == 0
        data = out.read_bytes()
        assert len(data) == 15_052_800  # 4 tiles x 3 x 560 x 560 float32
        assert f"sha1   {hashlib.sha1(data).hexdigest()}" in stdout
        assert f"sha256 {hashlib.sha256(data).hexdigest()}" in stdout
        # the bytes are the float32 tensor, tile by tile, CHW planar
        arr = np.frombuffer(data, "<f4").reshape(4, 3, 560, 560)
        assert np.isfinite(arr).all() and arr.min() < -1.5 and arr.max() > 1.5

    def test_npy_and_npz(self, capsys, image_file, tmp_path):
        img = image_file(300, 400)
        code, _, _ = run_cli(capsys, "dump", img, "-m", "llama-3.2-vision", "--impl", "hf-pil", "--stage", "resize",
                             "-o", tmp_path / "r.npy")
        assert code == 0 and np.load(tmp_path / "r.npy").shape == (420, 560, 3)
        code, _, _ = run_cli(capsys, "dump", img, "-m", "llama-3.2-vision", "--impl", "hf-pil", "-o", tmp_path / "all.npz")
        assert code == 0 and {"decode", "resize", "pad", "pack"} <= set(np.load(tmp_path / "all.npz").files)

    def test_json(self, capsys, image_file, tmp_path):
        code, out, _ = run_cli(capsys, "dump", image_file(300, 400), "-m", "llama-3.2-vision", "--impl", "hf-pil",
                               "-o", tmp_path / "x.bin", "--json")
        d = json.loads(out)
        assert code == 0 and d["schema_version"] == SCHEMA_VERSION and d["shape"] == [1, 3, 560, 560]
        assert d["sha1"] == hashlib.sha1((tmp_path / "x.bin").read_bytes()).hexdigest()


class TestRun:
    def test_two_backends_on_a_photo_sized_image_report_resize(self, capsys, photo):
        code, out, _ = run_cli(capsys, "run", photo, "--model", "llama-3.2-vision", "--impl", "hf-pil,hf-torchvision")
        assert code == 1  # they differ
        assert "[hf-pil]" in out and "[hf-torchvision]" in out
        assert "first diverges from hf-pil at stage 'resize'" in out
        assert "|Δ| histogram (uint8 levels: elements): 1 lvl:" in out

    def test_json_schema(self, capsys, image_file):
        code, out, _ = run_cli(capsys, "run", image_file(300, 400), "-m", "llama-3.2-vision",
                               "--impl", "hf-pil,hf-torchvision", "--json")
        d = json.loads(out)
        assert d["schema_version"] == SCHEMA_VERSION and d["command"] == "run"
        case = d["cases"][0]
        assert set(case) >= {"preset", "image", "baseline", "passed", "impls", "diffs", "errors"}
        assert case["baseline"] == "hf-pil"
        stages = case["impls"]["hf-pil"]["trace"]["stages"]
        assert [s["name"] for s in stages][:2] == ["decode", "plan"]
        assert set(stages[0]) >= {"name", "dtype", "shape", "layout", "sha1", "sha256", "approximate"}
        assert code == (0 if case["passed"] else 1)

    def test_diagnose_names_the_fused_normalize_of_torchvision(self, capsys, image_file):
        code, out, _ = run_cli(capsys, "run", image_file(560, 560), "-m", "llama-3.2-vision",
                               "--impl", "hf-pil,hf-torchvision", "--diagnose", "--json")
        case = json.loads(out)["cases"][0]
        # a 560x560 image is not resized: the only difference is the fused rescale+normalize arithmetic
        assert code == 1 and case["diffs"]["hf-torchvision"]["first_divergence"] in ("normalize", "pack")
        top = case["diagnoses"]["hf-torchvision"]["causes"][0]
        assert top["match"] == "exact" and top["stage"] == "normalize"

    def test_geometry_divergence_shows_at_plan_with_both_decisions(self, capsys, image_file):
        # a 3-tile-wide image: Ollama numbers the (1, 3) grid differently from transformers
        code, out, _ = run_cli(capsys, "run", image_file(480, 1200), "-m", "llama-3.2-vision", "--impl", "hf-pil,ollama")
        assert code == 1
        assert "ollama first diverges from hf-pil at stage 'plan':" in out
        assert "aspect_ratio_id: baseline 3  vs  7" in out
        decision = next(x for x in out.splitlines() if "baseline decision:" in x)
        assert "image_size=[480, 1200]" in decision and "canvas=[560, 1680]" in decision and "grid=[1, 3]" in decision
        assert "impl decision:     image_size=[480, 1200]" in out


class TestListing:
    def test_models_and_impls(self, capsys):
        code, out, _ = run_cli(capsys, "models", "-v")
        assert code == 0 and "llama-3.2-vision" in out and "<- preprocessor_config.json" in out
        code, out, _ = run_cli(capsys, "impls", "--json")
        names = [i["name"] for i in json.loads(out)["impls"]]
        assert code == 0 and {"hf-pil", "hf-torchvision"} <= set(names)


def _truncated(tmp_path, fmt):
    p = tmp_path / f"t.{fmt}"
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 256, (80, 80, 3), dtype=np.uint8)).save(p, format=fmt)
    p.write_bytes(p.read_bytes()[:300])
    return p


BAD_INPUTS = {
    "missing file": (lambda t: t / "nope.png", "image not found"),
    "not an image": (lambda t: (t / "n.png").write_text("hello") and t / "n.png", "not a readable image"),
    "zero-byte file": (lambda t: (t / "z.png").write_bytes(b"") or t / "z.png", "empty"),
    "truncated png": (lambda t: _truncated(t, "png"), "truncated"),
    "truncated jpeg": (lambda t: _truncated(t, "jpeg"), "truncated"),
}


def png_1bit_zeros(width: int, height: int) -> bytes:
    """A complete, valid 1-bit greyscale PNG of zeros (what ``Image.new("1", size).save`` writes, without
    Pillow's filter search over 400 Mpx): signature, IHDR, one IDAT of filter-0 rows, IEND."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    rows = bytes((1 + (width + 7) // 8) * height)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


class TestBadInput:
    @pytest.mark.parametrize("case", list(BAD_INPUTS))
    @pytest.mark.parametrize("command", ["run", "dump"])
    def test_exit_2_one_line_no_output(self, capsys, tmp_path, case, command):
        make, match = BAD_INPUTS[case]
        img = make(tmp_path)
        out = tmp_path / "out.bin"
        argv = [command, img, "--model", "llama-3.2-vision"]
        if command == "dump":
            argv += ["--impl", "hf-pil", "-o", out]
        code, stdout, err = run_cli(capsys, *argv)
        assert code == 2
        assert match in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert not out.exists() and not list(tmp_path.glob(".out.bin*"))

    def test_decompression_bomb(self, capsys, tmp_path):
        # a real PNG claiming 20000x20000 (400 Mpx, over Pillow's limit): rejected before decoding
        p = tmp_path / "bomb.png"
        p.write_bytes(png_1bit_zeros(20000, 20000))
        code, _, err = run_cli(capsys, "run", p, "--model", "llama-3.2-vision")
        assert code == 2 and "too large" in err

    @pytest.mark.parametrize("argv, match", [
        (["run", "{img}", "--model", "no-such-model"], "unknown preset 'no-such-model'; valid: "),
        (["run", "{img}", "--model", "llama-3.2-vision", "--impl", "nope"], "unknown impl 'nope'; valid: "),
        (["dump", "{img}", "--model", "llama-3.2-vision", "--impl", "hf-pil", "-o", "{tmp}/x.txt"], "must end in"),
        (["dump", "{img}", "--model", "llama-3.2-vision", "--impl", "hf-pil", "-o", "{tmp}/no/dir/x.bin"],
         "output directory does not exist"),
        (["dump", "{img}", "--model", "llama-3.2-vision", "--impl", "hf-pil", "--stage", "nope", "-o", "{tmp}/x.bin"],
         "has no stage 'nope'"),
        (["run"], "the following arguments are required"),
        (["frobnicate"], "invalid choice"),
    ])
    def test_usage_errors(self, capsys, tmp_path, image_file, argv, match):
        img = image_file(100, 100)
        argv = [a.format(img=img, tmp=tmp_path) for a in argv]
        code, _, err = run_cli(capsys, *argv)
        assert code == 2 and match in err and len(err.strip().splitlines()) == 1
        assert not (tmp_path / "x.bin").exists()

    def test_console_script_prints_no_traceback(self, tmp_path):
        proc = subprocess.run([sys.executable, "-m", "parity.cli", "run", str(tmp_path / "missing.png"),
                               "--model", "llama-3.2-vision"], capture_output=True, text=True)
        assert proc.returncode == 2
        assert proc.stderr.strip() == f"parity: error: image not found: {tmp_path / 'missing.png'}"


class TestExitContract:
    """0 pass, 1 divergence, 2 bad input/usage, 3 internal error, 130 interrupted; worst code wins."""

    def test_internal_error_is_3_with_one_line_and_debug_shows_the_traceback(self, capsys, monkeypatch):
        import parity.report.text

        def broken(payload):
            raise ZeroDivisionError("division by zero in a renderer")

        monkeypatch.setattr(parity.report.text, "render_impls", broken)
        code, out, err = run_cli(capsys, "impls")
        assert code == 3 and out == ""
        assert err.strip() == ("parity: error: internal error: ZeroDivisionError: division by zero in a renderer "
                               "(run with --debug for the traceback)")
        code, _, err = run_cli(capsys, "--debug", "impls")
        assert code == 3 and "Traceback (most recent call last)" in err and "ZeroDivisionError" in err
        assert err.strip().splitlines()[-1].startswith("parity: error: internal error: ZeroDivisionError")
        code, _, err = run_cli(capsys, "impls", "--debug")  # also after the command
        assert code == 3 and "Traceback" in err

    def test_interrupt_is_130(self, capsys, monkeypatch):
        import parity.report.text

        def interrupted(payload):
            raise KeyboardInterrupt

        monkeypatch.setattr(parity.report.text, "render_impls", interrupted)
        code, _, err = run_cli(capsys, "impls")
        assert code == 130 and err.strip() == "parity: error: interrupted"

    def test_several_images_run_all_and_exit_with_the_worst(self, capsys, image_file, tmp_path):
        good = image_file(100, 120)
        missing = tmp_path / "missing.png"
        code, out, err = run_cli(capsys, "run", good, missing, "-m", "llava-1.5", "--impl", "hf-pil,hf-torchvision",
                                 "--json")
        d = json.loads(out)
        assert code == 2 and d["exit_code"] == 2
        assert [c["image"] for c in d["cases"]] == ["img_100x120_RGB_0.png"]  # the good result is kept
        assert d["image_errors"] == [{"image": str(missing), "error": f"image not found: {missing}", "exit_code": 2}]
        assert err.strip() == f"parity: error: image not found: {missing}"
        # text output: the good case on stdout, the bad image on stderr
        code, out, err = run_cli(capsys, "run", missing, good, "-m", "llava-1.5", "--impl", "hf-pil,hf-torchvision")
        assert code == 2 and "[hf-pil]" in out and len(err.strip().splitlines()) == 1

    def test_an_internal_error_on_one_image_is_3_and_the_others_still_run(self, capsys, image_file, monkeypatch):
        import parity.case

        real = parity.case.run_case

        def flaky(path, *a, **kw):
            if path.endswith("_1.png"):
                raise MemoryError("cannot allocate")
            return real(path, *a, **kw)

        monkeypatch.setattr(parity.case, "run_case", flaky)
        a, b = image_file(60, 80), image_file(60, 80, seed=1)
        code, out, err = run_cli(capsys, "run", a, b, "-m", "llava-1.5", "--impl", "hf-pil,hf-torchvision", "--json")
        d = json.loads(out)
        assert code == 3 and len(d["cases"]) == 1 and d["image_errors"][0]["exit_code"] == 3
        assert err.strip() == ("parity: error: internal error: MemoryError: cannot allocate "
                               "(run with --debug for the traceback)")

    def test_every_impl_failing_is_bad_input_with_their_reasons(self, capsys, image_file, monkeypatch):
        from parity.impls import IMPLS

        def refuse(kind):
            def run(image, preset):
                raise kind("refused this input")
            return run

        monkeypatch.setattr(IMPLS["hf-pil"], "run", refuse(ValueError))
        monkeypatch.setattr(IMPLS["hf-torchvision"], "run", refuse(RuntimeError))
        code, out, err = run_cli(capsys, "run", image_file(50, 50), "-m", "llava-1.5", "--impl", "hf-pil,hf-torchvision")
        assert code == 2 and out == ""
        assert err.strip() == ("parity: error: no impl could use img_50x50_RGB_0.png: hf-pil: ValueError: refused this "
                               "input; hf-torchvision: RuntimeError: refused this input")

    def test_one_impl_failing_is_a_finding(self, capsys, image_file, monkeypatch):
        from parity.impls import IMPLS

        def run(image, preset):
            raise ValueError("image too small for this processor")

        monkeypatch.setattr(IMPLS["hf-torchvision"], "run", run)
        code, out, err = run_cli(capsys, "run", image_file(50, 50), "-m", "llava-1.5", "--impl",
                                 "hf-pil,hf-torchvision", "--json")
        assert code == 1 and err == ""
        assert json.loads(out)["cases"][0]["errors"] == {"hf-torchvision": "ValueError: image too small for this processor"}

    @pytest.mark.parametrize("argv, match", [
        (["--impl", "hf-pil,hf-pil"], "--impl names 'hf-pil' twice"),
        (["--impl", "hf-pil"], "run needs at least two impls to compare; use `parity dump` for one"),
        (["--impl", ""], "--impl '' names nothing"),
        (["--impl", "hf-pil,"], "has an empty name"),
    ])
    def test_nothing_compared_is_never_a_pass(self, capsys, image_file, argv, match):
        code, out, err = run_cli(capsys, "run", image_file(50, 50), "-m", "llava-1.5", *argv)
        assert code == 2 and out == "" and match in err and err.startswith("parity: error: ")
        assert len(err.strip().splitlines()) == 1

    def test_help_says_several_images_exit_with_the_worst(self, capsys):
        with pytest.raises(SystemExit):
            main(["run", "--help"])
        out = " ".join(capsys.readouterr().out.split())
        assert "the exit code is the worst (2 > 1 > 0; 3 above all)" in out
        assert "3 internal error" in out and "130 interrupted" in out

    def test_a_closed_pipe_keeps_the_verdict(self, monkeypatch):
        from parity import cli

        class ClosedPipe:
            def write(self, s):
                raise BrokenPipeError(32, "Broken pipe")

            def flush(self):
                raise BrokenPipeError(32, "Broken pipe")

        monkeypatch.setattr(sys, "stdout", ClosedPipe())
        assert cli._deliver(cli.Outcome(1, "x" * 100_000)) == 1
        assert cli._deliver(cli.Outcome(0, "x")) == 0

    def test_a_full_device_is_2_with_one_line(self, monkeypatch, capsys):
        import errno

        from parity import cli

        class Full:
            def write(self, s):
                raise OSError(errno.ENOSPC, "No space left on device")

            flush = write

        monkeypatch.setattr(sys, "stdout", Full())
        assert cli._deliver(cli.Outcome(0, "listing")) == 2
        assert capsys.readouterr().err == "parity: error: cannot write the output to stdout: No space left on device\n"

    def test_dump_mode_follows_the_umask(self, capsys, image_file, tmp_path):
        import os

        img = image_file(40, 40)
        for mask, mode in ((0o022, 0o644), (0o002, 0o664)):
            old = os.umask(mask)
            try:
                out = tmp_path / f"m{mask:o}.npy"
                code, _, _ = run_cli(capsys, "dump", img, "-m", "llava-1.5", "--impl", "hf-pil", "-o", out)
            finally:
                os.umask(old)
            assert code == 0 and out.stat().st_mode & 0o777 == mode

    @pytest.mark.parametrize("target, match", [
        ("/proc/x.npy", "output directory /proc is not writable"),
        ("{file}/x.npy", "is a file"),
        ("{tmp}", "output path is a directory"),
    ])
    def test_unusable_output_refused_before_any_work(self, capsys, tmp_path, target, match, monkeypatch):
        from parity.impls import IMPLS

        ran = []
        monkeypatch.setattr(IMPLS["hf-pil"], "run", lambda *a: ran.append(1))
        (tmp_path / "f.txt").write_text("x")
        target = target.format(file=tmp_path / "f.txt", tmp=tmp_path / "d.npy")
        (tmp_path / "d.npy").mkdir()
        code, _, err = run_cli(capsys, "dump", tmp_path / "nope.png", "-m", "llava-1.5", "--impl", "hf-pil", "-o", target)
        assert code == 2 and match in err and len(err.strip().splitlines()) == 1 and not ran
