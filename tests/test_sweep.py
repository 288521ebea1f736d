"""``parity sweep``: INPUT expansion, the results store, resume after ``kill -9``, the same rows serially,
on local workers and on a real Dask cluster (scheduler and workers as separate processes), the summary
against the store, the worst cases' arrays and pages (headless Chromium), exit codes.

One small generated corpus (six images of ``fixtures/make_sweep_corpus.py``, at most 96 px: RGB, L, RGBA
and P, JPEG, progressive JPEG and PNG) plus bad inputs, swept once serially in this process; every other
run is compared to it.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import io
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import browser_or_skip

from parity.case import run_case
from parity.cli import main
from parity.presets import get_preset
from parity.report.browser import browser_check_site
from parity.sweep import cluster
from parity.sweep.inputs import collect_inputs, expand_paths
from parity.trace import canonical_bytes

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "fixtures"))
import make_sweep_corpus  # noqa: E402

PRESETS = "llama-3.2-vision,qwen2-vl"
IMPLS = "reference,hf-pil,ollama"  # ollama has no qwen2-vl: that preset runs reference and hf-pil
#: what the tests that start new processes (a local pool, kill -9 and resume, a Dask cluster) sweep: numpy
#: ports only, so a new process imports neither torch nor transformers (~5 CPU-s each)
PORT_PRESETS = "gemma-3,qwen2.5-vl"
PORT_IMPLS = "llamacpp,ollama"
KEEP = 2
#: the corpus images swept (make_sweep_corpus indices): RGBA PNG, RGB progressive 4:2:0 JPEG, L 4:4:4 JPEG,
#: RGB PNG of 14x28, L PNG, P PNG with a transparent index
CORPUS = (0, 1, 2, 3, 6, 9)
N_IMAGES = len(CORPUS)
IN_A = 3  # the first images go to set/a/, the others to set/b/nested/
ROWS_PER_IMAGE = 3 + 2
VOLATILE = ("case_elapsed_s", "run_id")


def run_cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(argv))
    return code, out.getvalue()


def sweep_argv(inputs: list[str], out: Path, *extra: str, ports: bool = False) -> list[str]:
    """The sweep of IMPLS on PRESETS, or (``ports``) of PORT_IMPLS on PORT_PRESETS."""
    presets, impls = (PORT_PRESETS, PORT_IMPLS) if ports else (PRESETS, IMPLS)
    return ["sweep", *inputs, "--model", presets, "--impl", impls, "-o", str(out), "--keep-worst", str(KEEP), *extra]


def db_content(out: Path) -> dict[str, list[tuple]]:
    """Every table that a rerun must reproduce, without timings and run ids, in key order."""
    db = sqlite3.connect(out / "results.sqlite")
    cols = [r[1] for r in db.execute("PRAGMA table_info(results)") if r[1] not in VOLATILE]
    content = {
        "results": db.execute(f"SELECT {', '.join(cols)} FROM results ORDER BY image_sha256, preset, impl").fetchall(),
        "done": db.execute("SELECT image_sha256, presets, impls, baseline, unusable FROM done ORDER BY 1").fetchall(),
        "inputs": db.execute("SELECT path, sha256, bytes, error FROM inputs ORDER BY path").fetchall(),
        "worst": db.execute("SELECT preset, impl, rank, image_sha256, class, arrays, page FROM worst ORDER BY 1, 2, 3")
        .fetchall(),
    }
    db.close()
    return content


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict:
    """Images in nested folders, a duplicate, a truncated JPEG, an empty file, a FIFO, a missing path,
    a glob that matches nothing; listed partly through a list file."""
    root = tmp_path_factory.mktemp("corpus")
    paths = make_sweep_corpus.write_images(root / "gen", CORPUS, max_side=96)
    (root / "set" / "a").mkdir(parents=True)
    (root / "set" / "b" / "nested").mkdir(parents=True)
    for i, p in enumerate(paths):
        shutil.copy(p, root / "set" / ("a" if i < IN_A else "b/nested") / p.name)
    shutil.copy(paths[0], root / "set" / "b" / ".hidden.png")  # dot-names are skipped in folder walks
    (root / "set" / "b" / "notes.md").write_text("not an image")
    (root / "extra").mkdir()
    shutil.copy(paths[1], root / "extra" / "dup.jpg")  # same bytes as an image of the set: one task
    data = paths[1].read_bytes()
    (root / "extra" / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (root / "extra" / "empty.png").write_bytes(b"")
    os.mkfifo(root / "extra" / "fifo.png")
    (root / "list.txt").write_text("# extra inputs\nextra/dup.jpg\nextra/truncated.jpg\n\nextra/empty.png\n"
                                   "extra/fifo.png\nextra/missing.png\n")
    inputs = [str(root / "set"), str(root / "list.txt"), str(root / "none" / "*.jpg")]
    return {"root": root, "inputs": inputs, "names": [p.name for p in paths]}


@pytest.fixture(scope="module")
def serial(corpus, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("serial") / "results"
    code, stdout = run_cli(*sweep_argv(corpus["inputs"], out, "--workers", "1", "--json"))
    return {"out": out, "code": code, "payload": json.loads(stdout), "content": db_content(out)}


@pytest.fixture(scope="module")
def serial_ports(corpus, tmp_path_factory) -> dict:
    """The ports-only sweep in this process: what the process tests must reproduce."""
    out = tmp_path_factory.mktemp("serial_ports") / "results"
    code, stdout = run_cli(*sweep_argv(corpus["inputs"], out, "--workers", "1", "--json", ports=True))
    content = db_content(out)
    assert code == 1 and content["worst"], "the ports-only sweep must find divergences to keep"
    return {"out": out, "code": code, "content": content}


# ------------------------------------------------------------------------------------------------ inputs


class TestInputs:
    def test_folders_recursive_sorted_images_only(self, corpus):
        found = [p for p, err in expand_paths([str(corpus["root"] / "set")])]
        assert [Path(p).name for p in found] == corpus["names"]  # a/ then b/nested/, sorted; .hidden, .md skipped
        assert all(os.path.isabs(p) for p in found)

    def test_globs_plain_and_recursive(self, corpus):
        root = corpus["root"]
        assert [Path(p).name for p, _ in expand_paths([str(root / "set" / "a" / "*.jpg")])] == \
            sorted(n for n in corpus["names"][:IN_A] if n.endswith(".jpg"))
        assert {Path(p).name for p, _ in expand_paths([str(root / "set" / "**" / "*.png")])} == \
            {n for n in corpus["names"] if n.endswith(".png")}

    def test_list_file_relative_to_its_folder(self, corpus, tmp_path, monkeypatch):
        monkeypatch.chdir(tmp_path)  # the list's lines do not depend on the working directory
        got = expand_paths([str(corpus["root"] / "list.txt")])
        assert [Path(p).name for p, _ in got] == ["dup.jpg", "truncated.jpg", "empty.png", "fifo.png", "missing.png"]
        assert dict(got)[str(corpus["root"] / "extra" / "missing.png")] == "not found"

    def test_unusable_paths_are_bad_input_rows_with_their_reason(self, corpus):
        by_name = {Path(i.path).name: i for i in collect_inputs(corpus["inputs"])}
        assert "empty" in by_name["empty.png"].error
        assert "FIFO" in by_name["fifo.png"].error
        assert by_name["missing.png"].error == "not found"
        assert by_name["*.jpg"].error == "no file matches this glob"
        assert by_name["truncated.jpg"].ok  # readable bytes: the decoders decide (an unusable image)
        assert by_name["dup.jpg"].sha256 == by_name[corpus["names"][1]].sha256

    def test_the_results_folder_is_never_an_input(self, corpus, tmp_path):
        shutil.copytree(corpus["root"] / "set" / "a", tmp_path / "a")
        shutil.copytree(corpus["root"] / "set" / "a", tmp_path / "results" / "inputs")
        found = expand_paths([str(tmp_path), str(tmp_path / "results" / "inputs" / "*")], exclude=tmp_path / "results")
        assert found and all(Path(p).parent == tmp_path / "a" for p, _ in found)

    def test_a_folder_without_images_is_named(self, tmp_path):
        (tmp_path / "x.txt").write_text("x")
        [(path, error)] = expand_paths([str(tmp_path)])
        assert path == str(tmp_path) and error.startswith("directory has no image files")


# ------------------------------------------------------------------------------------------------- store


class TestStore:
    def test_exit_1_and_json(self, serial):
        assert serial["code"] == 1  # ollama differs from the reference on these images
        p = serial["payload"]
        assert p["command"] == "sweep" and p["exit_code"] == 1 and p["schema_version"] >= 2

    def test_one_row_per_image_preset_impl(self, serial):
        rows = serial["content"]["results"]
        usable_and_truncated = N_IMAGES + 1
        assert len(rows) == usable_and_truncated * ROWS_PER_IMAGE
        assert len({r[:3] for r in rows}) == len(rows)
        assert len(serial["content"]["done"]) == usable_and_truncated

    def test_bad_inputs(self, serial, corpus):
        db = sqlite3.connect(serial["out"] / "results.sqlite")
        bad = dict(db.execute("SELECT path, error FROM bad_inputs"))
        names = {Path(p).name: e for p, e in bad.items()}
        assert set(names) == {"empty.png", "fifo.png", "missing.png", "*.jpg", "truncated.jpg"}
        assert "truncated" in names["truncated.jpg"]
        assert serial["payload"]["bad_input_count"] == 5
        assert serial["payload"]["images"] == N_IMAGES  # the unusable image is not counted as compared

    def test_a_row_equals_a_direct_parity_run(self, serial, corpus):
        """Checked against run_case itself, not against the sweep's code."""
        db = sqlite3.connect(serial["out"] / "results.sqlite")
        db.row_factory = sqlite3.Row
        row = db.execute("SELECT * FROM results WHERE impl = 'ollama' AND class = 'geometry' LIMIT 1").fetchone()
        case = run_case(row["image_path"], get_preset(row["preset"]), ["reference", "ollama"])
        assert case.traces["ollama"]["pack"].sha256 == row["pack_sha256"]
        assert case.traces["ollama"]["pack"].sha1 == row["pack_sha1"]  # `shasum inp_raw`, though stages carry no sha1
        stages = json.loads(row["stages"])
        assert [s["sha256"] for s in stages] == [r.sha256 for r in case.traces["ollama"].stages]
        assert case.diffs["ollama"].first_divergence.name == row["first_stage"] == "plan"
        assert row["command"] == (f"parity run {row['image_path']} --model {row['preset']} "
                                  "--impl reference,ollama --baseline reference")

    def test_resume_after_kill_9(self, serial_ports, corpus, tmp_path):
        out = tmp_path / "results"

        def argv(workers: int) -> list[str]:
            return [sys.executable, "-m", "parity.cli",
                    *sweep_argv(corpus["inputs"], out, "--workers", str(workers), ports=True)]

        proc = subprocess.Popen(argv(2), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        total = N_IMAGES + 1
        done, children = 0, []
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            children = sorted(set(children) | set(child_pids(proc.pid)))
            done = count_done(out)
            if done >= 2:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert 2 <= done < total, f"not killed mid-run ({done} of {total} done)"
        assert children and wait_gone(children), "pool workers outlived the killed sweep"
        # the resume: the same sweep in one process (the worker count is no part of what is resumed)
        code = subprocess.run(argv(1), capture_output=True, text=True, timeout=600)
        assert code.returncode == 1, code.stderr
        assert db_content(out) == serial_ports["content"]
        db = sqlite3.connect(out / "results.sqlite")
        runs = db.execute("SELECT status, tasks_skipped, tasks_run FROM runs ORDER BY run_id").fetchall()
        assert runs[0][0] == "killed" and runs[1][0] == "finished"
        assert runs[1][1] >= done and runs[1][1] + runs[1][2] == total  # nothing done twice, nothing lost


def count_done(out: Path) -> int:
    try:
        db = sqlite3.connect(f"file:{out / 'results.sqlite'}?mode=ro", uri=True)
        try:
            return db.execute("SELECT count(*) FROM done").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def child_pids(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                pass
    return out


def alive(pid: int) -> bool:
    """The process exists and is not a zombie (state Z: dead, not yet reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_gone(pids: list[int], timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(alive(p) for p in pids):
            return True
        time.sleep(0.1)
    return False


# ------------------------------------------------------------------------------------------- executors


class TestSameRowsEverywhere:
    def test_local_workers(self, serial_ports, corpus, tmp_path):
        """A local pool of two processes gives the rows of the serial run (the ports: the pool's new processes
        import no torch; every impl runs on a pool in ``parity golden check``, whose goldens are the serial
        traces)."""
        out = tmp_path / "results"
        code, _ = run_cli(*sweep_argv(corpus["inputs"], out, "--workers", "2", ports=True))
        assert code == 1
        assert db_content(out) == serial_ports["content"]
        peak = json.loads(sqlite3.connect(out / "results.sqlite").execute("SELECT peak_rss_mib FROM runs").fetchone()[0])
        assert len(peak) == 2  # two worker processes really ran tasks

    def test_dask_scheduler_and_two_workers_as_processes(self, serial_ports, corpus, tmp_path, monkeypatch):
        """Three processes: a scheduler and two workers (``--no-nanny``: each worker is its own process, not
        a child of a nanny process, so the cluster starts and stops in a few seconds)."""
        from distributed import Client

        import parity.sweep.workflow

        # the worst cases' re-run in this process, not on a local pool of every core (whose new processes
        # would import torch again); the re-run on a pool is test_local_workers'
        monkeypatch.setattr(parity.sweep.workflow, "default_workers", lambda: 1)
        dask = str(Path(sys.executable).parent / "dask")
        # the scheduler picks its own port and writes its address once it listens: no port chosen in advance
        # that something else (even a worker's own retried connect, a TCP self-connect) can take first
        info, log = tmp_path / "scheduler.json", tmp_path / "scheduler.log"
        with open(log, "wb") as err:
            procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                       "--scheduler-file", str(info)], stdout=subprocess.DEVNULL, stderr=err)]
        try:
            address = scheduler_address(info, procs[0], log)
            for _ in range(2):
                procs.append(subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--no-nanny",
                                               "--no-dashboard", "--memory-limit", "0"],
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            with Client(address, timeout="60s") as client:
                client.wait_for_workers(2, timeout=120)
            out = tmp_path / "results"
            code, stdout = run_cli(*sweep_argv(corpus["inputs"], out, "--scheduler", address, "--json", ports=True))
            assert code == 1
            assert db_content(out) == serial_ports["content"]
            run = json.loads(stdout)["run"]
            assert run["scheduler"] == address and len(run["peak_rss_mib"]) == 2
        finally:
            # the workers first, while the scheduler they say goodbye to is still up (a few seconds faster)
            for group in (procs[1:], procs[:1]):
                for p in group:
                    p.terminate()
                for p in group:
                    try:
                        p.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        p.kill()
                        p.wait()


def scheduler_address(info: Path, proc: subprocess.Popen, log: Path, timeout_s: float = 120) -> str:
    """The address a ``dask scheduler --scheduler-file`` wrote (it writes the file once it listens)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError, KeyError):  # not written yet, or half written
            return json.loads(info.read_text())["address"]
        if proc.poll() is not None:
            raise AssertionError(f"dask scheduler exited {proc.returncode}: {log.read_text()[-2000:]}")
        time.sleep(0.1)
    raise AssertionError(f"dask scheduler wrote no address in {timeout_s} s: {log.read_text()[-2000:]}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------- summary


class TestSummary:
    def test_rates_equal_the_store(self, serial):
        db = sqlite3.connect(serial["out"] / "results.sqlite")
        counts: dict = {}
        for preset, impl, cls, n in db.execute(
                "SELECT preset, impl, class, count(*) FROM results WHERE is_baseline = 0 AND image_sha256 NOT IN "
                "(SELECT image_sha256 FROM done WHERE unusable IS NOT NULL) GROUP BY 1, 2, 3"):
            counts.setdefault((preset, impl), {})[cls] = n
        summary = json.loads((serial["out"] / "summary.json").read_text())
        assert {(c["preset"], c["impl"]): c["classes"] for c in summary["cells"]} == counts
        assert {(c["preset"], c["impl"]) for c in summary["cells"]} == {
            ("llama-3.2-vision", "hf-pil"), ("llama-3.2-vision", "ollama"), ("qwen2-vl", "hf-pil")}
        for c in summary["cells"]:
            assert c["compared"] == N_IMAGES
            assert sum(n for _, n in c["levels"]) + c["levels_undefined"] == c["compared"]
            assert sum(n for _, n in c["token_delta"]) == c["compared"]
        md = (serial["out"] / "summary.md").read_text()
        for c in summary["cells"]:
            assert f"| {c['preset']} | {c['impl']} vs {c['baseline']} | {c['compared']} | {c['divergent']} " in md

    def test_every_divergent_case_has_its_command_in_the_page(self, serial):
        db = sqlite3.connect(serial["out"] / "results.sqlite")
        commands = [r[0] for r in db.execute(
            "SELECT command FROM results WHERE is_baseline = 0 AND class != 'identical' AND image_sha256 NOT IN "
            "(SELECT image_sha256 FROM done WHERE unusable IS NOT NULL)")]
        page = (serial["out"] / "index.html").read_text()
        assert commands and all(html.escape(c, quote=True) in page for c in commands)

    def test_worst_cases_have_arrays_and_pages_and_nothing_else_is_kept(self, serial):
        out = serial["out"]
        worst = serial["content"]["worst"]
        per_cell: dict = {}
        for preset, impl, rank, _sha, _cls, arrays, page in worst:
            per_cell.setdefault((preset, impl), []).append(rank)
            assert (out / arrays).is_file() and (out / page).is_file()
            assert f'href="{page}"' in (out / "index.html").read_text()
        assert all(ranks == list(range(1, len(ranks) + 1)) and len(ranks) <= KEEP for ranks in per_cell.values())
        kept = {str(p.relative_to(out)) for p in (out / "arrays").rglob("*.npz")}
        assert kept == {w[5] for w in worst}

    def test_kept_arrays_are_the_stages_that_were_hashed(self, serial):
        out = serial["out"]
        db = sqlite3.connect(out / "results.sqlite")
        for preset, impl, sha, arrays in db.execute("SELECT preset, impl, image_sha256, arrays FROM worst"):
            rows = dict(db.execute("SELECT impl, stages FROM results WHERE image_sha256 = ? AND preset = ?",
                                   (sha, preset)).fetchall())
            base = db.execute("SELECT baseline FROM results WHERE image_sha256 = ? AND preset = ? LIMIT 1",
                              (sha, preset)).fetchone()[0]
            with np.load(out / arrays) as npz:
                for who in (base, impl):
                    stages = {s["name"]: s["sha256"] for s in json.loads(rows[who])}
                    assert hashlib.sha256(canonical_bytes(npz[f"{who}/pack"])).hexdigest() == stages["pack"]
                assert json.loads(str(npz["meta"]))["impl"] == impl

    def test_the_worst_rank_first_by_class(self, serial):
        """No row left out is of a more fundamental class than a kept one of the same (preset, impl)."""
        db = sqlite3.connect(serial["out"] / "results.sqlite")
        order = ["geometry", "decode", "shape", "pixels", "float", "side"]
        for preset, impl, worst_cls in db.execute("SELECT preset, impl, class FROM worst WHERE rank = 1"):
            classes = {r[0] for r in db.execute("SELECT class FROM results WHERE preset = ? AND impl = ?",
                                                (preset, impl)) if r[0] in order}
            assert order.index(worst_cls) == min(order.index(c) for c in classes)

    def test_pages_load_in_headless_chromium(self, serial):
        browser_or_skip()
        checks = browser_check_site(serial["out"])
        assert len(checks) >= 2 and all(c["ok"] for c in checks), checks
        assert any(c["images"] for c in checks[1:])  # case pages show heatmaps and thumbnails


# ------------------------------------------------------------------------------------------- exit codes


class TestExitCodes:
    def test_0_when_every_impl_agrees(self, serial, corpus, tmp_path):
        rgb = [str(corpus["root"] / "gen" / n) for n in corpus["names"] if "_RGB_" in n or "_L_" in n]
        (tmp_path / "rgb.lst").write_text("\n".join(rgb) + "\n")
        code, stdout = run_cli("sweep", str(tmp_path / "rgb.lst"), "--model", "llama-3.2-vision", "--impl",
                               "reference,hf-pil", "-o", str(tmp_path / "r"), "--workers", "1", "--json")
        assert code == 0, stdout
        assert json.loads(stdout)["divergent"] == 0

    @pytest.mark.parametrize("argv, match", [
        (["--workers", "0"], "--workers must be at least 1"),
        (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "give one"),
        (["--impl", "reference"], "nothing to compare"),
        (["--impl", "reference,nope"], "unknown impl 'nope'"),
        (["--baseline", "ollama", "--impl", "reference,hf-pil"], "baseline 'ollama' is not among"),
        (["--keep-worst", "-1"], "--keep-worst"),
    ])
    def test_2_for_usage_errors_before_any_output(self, capsys, corpus, tmp_path, argv, match):
        out = tmp_path / "r"
        code = main(["sweep", str(corpus["root"] / "gen"), "--model", "llama-3.2-vision", "-o", str(out), *argv])
        err = capsys.readouterr().err
        assert code == 2 and match in err and err.count("\n") == 1
        assert not out.exists()

    def test_2_when_no_input_is_readable(self, capsys, tmp_path):
        out = tmp_path / "r"
        code = main(["sweep", str(tmp_path / "nothing*.png"), "--model", "llama-3.2-vision", "-o", str(out)])
        assert code == 2 and "no readable image" in capsys.readouterr().err
        assert not out.exists()

    def test_2_for_an_unusable_output(self, capsys, corpus, tmp_path):
        (tmp_path / "file").write_text("x")
        assert main(["sweep", str(corpus["root"] / "gen"), "--model", "llama-3.2-vision", "-o",
                     str(tmp_path / "file")]) == 2
        assert "not a directory" in capsys.readouterr().err
        (tmp_path / "d").mkdir()
        (tmp_path / "d" / "results.sqlite").write_bytes(b"not sqlite at all" * 100)
        assert main(["sweep", str(corpus["root"] / "gen" / corpus["names"][3]), "--model", "llama-3.2-vision",
                     "--impl", "reference,hf-pil", "-o", str(tmp_path / "d"), "--workers", "1"]) == 2
        assert "is not a parity sweep store" in capsys.readouterr().err

    def test_2_when_the_scheduler_cannot_be_reached(self, capsys, corpus, tmp_path, monkeypatch):
        monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 2)
        code = main(["sweep", str(corpus["root"] / "gen"), "--model", "llama-3.2-vision", "-o", str(tmp_path / "r"),
                     "--scheduler", f"tcp://127.0.0.1:{free_port()}"])
        err = capsys.readouterr().err
        assert code == 2 and "cannot reach the Dask scheduler" in err, err
