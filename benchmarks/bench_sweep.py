"""Sweep throughput, scaling and memory (a benchmark to run by hand, never a timed test).

    python benchmarks/bench_sweep.py [--workdir /tmp/sweep/bench] [--big 1000] [--steps all]

On a corpus from ``fixtures/make_sweep_corpus.py`` (deterministic; the first N images of the big corpus
are the N-image corpus), with llama-3.2-vision x reference,hf-pil,ollama, each sweep run as the user runs
it (``parity sweep ... --json`` in a fresh results folder, wall time measured around the command):

- ``scaling``: 200 images with 1 and with 2 workers: images/s and the 2-worker speed-up, by wall time,
  by the task phase (``runs.images_per_s``: from the first submission to the last result, worker start-up
  included) and in steady state (``done.finished`` timestamps after the first 10 % of images);
- ``memory``: peak resident memory of each worker process (``runs.peak_rss_mib``) at 100 and at the big
  size, 2 workers: bounded means it does not grow with the corpus;
- ``big``: the big sweep itself (wall time, images/s), its pages checked in headless Chromium and a
  screenshot of ``index.html`` written next to the results.

The load average (1 min: before, after, mean of samples every 5 s) and the CPU seconds the sweep and its
workers used (hence the cores it really had) are printed with each run: the machine may be shared. Results go to
``WORKDIR/bench.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "fixtures"))
import make_sweep_corpus  # noqa: E402

from parity.report.browser import browser_check_site, find_browser  # noqa: E402

PRESET = "llama-3.2-vision"
IMPLS = "reference,hf-pil,ollama"


def load() -> float:
    return round(os.getloadavg()[0], 2)


def corpus_list(workdir: Path, n_big: int, n: int) -> Path:
    """A list file of the first ``n`` images of the big corpus (generated once)."""
    paths = make_sweep_corpus.generate(workdir / "corpus", n_big)
    lst = workdir / f"list{n}.txt"
    lst.write_text("\n".join(str(p) for p in paths[:n]) + "\n")
    return lst


def steady_rate(out: Path, skip_share: float = 0.1) -> float | None:
    """Images/s between the first ``skip_share`` of finished tasks and the last (start-up excluded)."""
    db = sqlite3.connect(out / "results.sqlite")
    times = sorted(t for (t,) in db.execute("SELECT finished FROM done"))
    db.close()
    k = max(1, int(len(times) * skip_share))
    if len(times) - k < 2:
        return None
    return round((len(times) - 1 - k) / (times[-1] - times[k]), 3)


class LoadSampler(threading.Thread):
    """The 1-minute load average every few seconds while a sweep runs (other users' work included)."""

    def __init__(self, every_s: float = 5.0) -> None:
        super().__init__(daemon=True)
        self.every_s, self.samples, self.stop = every_s, [], threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self.every_s):
            self.samples.append(os.getloadavg()[0])


def cpu_s() -> float:
    """CPU seconds (user + system) of every finished descendant (the sweep and its pool workers)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def sweep(lst: Path, out: Path, workers: int) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    before, cpu0 = load(), cpu_s()
    sampler = LoadSampler()
    sampler.start()
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "parity.cli", "sweep", str(lst), "--model", PRESET, "--impl", IMPLS,
                           "-o", str(out), "--workers", str(workers), "--json"], capture_output=True, text=True)
    wall = time.monotonic() - t0
    sampler.stop.set()
    cpu = cpu_s() - cpu0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"sweep failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    s = json.loads(proc.stdout)
    run = s["run"]
    n = run["tasks_run"]
    return {"images": n, "workers": workers, "wall_s": round(wall, 1), "images_per_s_wall": round(n / wall, 3),
            "images_per_s_tasks": run["images_per_s"], "images_per_s_steady": steady_rate(out),
            "phases_s": run["phases_s"], "peak_rss_mib": run["peak_rss_mib"], "divergent": s["divergent"],
            "compared": s["compared"], "bad_inputs": s["bad_input_count"],
            # cores this sweep really had on average, and CPU seconds per image (equal for 1 and 2 workers
            # = no parallel overhead; a speed-up below 2 then means the machine was shared)
            "cpu_s": round(cpu, 1), "cores_used": round(cpu / wall, 2), "cpu_s_per_image": round(cpu / n, 3),
            "load_before": before, "load_after": load(),
            "load_mean": round(sum(sampler.samples) / len(sampler.samples), 2) if sampler.samples else before}


def screenshot(out: Path) -> dict:
    exe = find_browser()
    if exe is None:
        return {"error": "no chromium"}
    png = out / "index.png"
    subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1400,2600",
                    f"--screenshot={png}", (out / "index.html").as_uri()], capture_output=True, timeout=120)
    return {"screenshot": str(png), "checks": [{k: c[k] for k in ("page", "ok", "images", "broken")}
                                               for c in browser_check_site(out)]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", default="/tmp/sweep/bench")
    ap.add_argument("--big", type=int, default=1000, help="size of the big corpus (default 1000)")
    ap.add_argument("--steps", default="scaling,memory,big", help="comma-separated: scaling, memory, big")
    args = ap.parse_args()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    steps = args.steps.split(",")
    report_path = work / "bench.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    report["cpus"] = os.cpu_count()
    if "scaling" in steps:
        lst = corpus_list(work, args.big, 200)
        one = sweep(lst, work / "w1_200", 1)
        print("200 images, 1 worker: ", json.dumps(one), flush=True)
        two = sweep(lst, work / "w2_200", 2)
        print("200 images, 2 workers:", json.dumps(two), flush=True)
        report["scaling"] = {"one": one, "two": two, "speedup_wall": round(one["wall_s"] / two["wall_s"], 2),
                             "speedup_tasks": round(two["images_per_s_tasks"] / one["images_per_s_tasks"], 2),
                             "speedup_steady": round(two["images_per_s_steady"] / one["images_per_s_steady"], 2)
                             if one["images_per_s_steady"] and two["images_per_s_steady"] else None}
        print("speed-up:", {k: v for k, v in report["scaling"].items() if k.startswith("speedup")}, flush=True)
    if "memory" in steps or "big" in steps:
        small = sweep(corpus_list(work, args.big, 100), work / "w2_100", 2)
        print("100 images, 2 workers:", json.dumps(small), flush=True)
        report["memory_100"] = small
    if "big" in steps:
        big = sweep(corpus_list(work, args.big, args.big), work / f"w2_{args.big}", 2)
        print(f"{args.big} images, 2 workers:", json.dumps(big), flush=True)
        big["browser"] = screenshot(work / f"w2_{args.big}")
        print("browser:", json.dumps(big["browser"]), flush=True)
        report["big"] = big
    report_path.write_text(json.dumps(report, indent=1) + "\n")
    print(f"written {report_path}")


if __name__ == "__main__":
    main()
