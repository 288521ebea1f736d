"""The CLI contract: exit codes, one-line errors, no partial files, dump hashes, JSON schema."""

import hashlib
import json
import subprocess
import sys

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
    Image.fromarray(make_rgb(1749, 1500, seed=7)).save(p)
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
        assert "baseline decision: image_size=[480, 1200], canvas=[560, 1680], grid=[1, 3]" in out
        assert "impl decision:     image_size=[480, 1200]" in out

    def test_identical_impl_pair_exits_0(self, capsys, image_file):
        code, out, _ = run_cli(capsys, "run", image_file(560, 560), "-m", "llama-3.2-vision",
                               "--impl", "hf-pil,hf-pil")
        assert code == 0


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
        # a real PNG header claiming 20000x20000 (400 Mpx, over Pillow's limit): rejected before decoding
        p = tmp_path / "bomb.png"
        Image.new("1", (20000, 20000)).save(p)
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
