"""Side-by-side speed of every runtime port beside ``hf-pil``: one process, same image, interleaved runs.

Usage: ``python benchmarks/bench_table.py [--repeat 5] [--format jpg,png] [--case llava] [--json-out FILE]``

For each case (a preset, a fixture photo and the ports that run it), every repeat runs ``hf-pil`` and
each port once on the same file, alternating which goes first, and keeps the minimum wall time of each
(the least disturbed run on a shared machine). A run is the whole public ``Impl.run`` from the image
path: decode, every stage, the sha256 of every record (a record's sha1 is taken on first use, by
``to_dict`` or a renderer, so it is not in the time). One warm-up run per (impl, image) comes first, so
imports and per-size caches are not timed. Prints a Markdown table (case | port | port ms | hf-pil ms |
ratio); ``--json-out`` also writes every sample with the environment (CPUs, load, library versions).

Images: the fixture photos (JPEG, as committed) and lossless PNG copies of them written to a temporary
folder (decoders differ in speed: stb/Go PNG decoding is a real part of a port's time). The 2000x900
Gemma 3 image is derived from ``photo_1280x853.jpg`` (centre crop to 20:9, Pillow LANCZOS to 2000x900,
JPEG quality 90 like the other photos, see ``fixtures/make_photos.py``), since no fixture has that size.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT / "fixtures" / "images"
BASELINE = "hf-pil"
VERSIONED = ("numpy", "pillow", "torch", "torchvision", "transformers", "opencv-python-headless", "jpeglib")


@dataclass(frozen=True)
class Case:
    preset: str
    photo: str  # stem of the image: a fixture photo, or the derived 2000x900 one
    ports: tuple[str, ...]


CASES = (
    Case("llama-3.2-vision", "photo_1500x1749", ("ollama",)),
    Case("llava-1.6", "photo_1500x1749", ("llamacpp", "llamacpp-legacy")),
    Case("qwen2.5-vl", "photo_1280x853", ("llamacpp", "ollama")),
    Case("gemma-3", "photo_2000x900", ("llamacpp", "ollama")),
)
FORMATS = ("jpg", "png")


def cases_for(port: str) -> list[tuple[Case, str]]:
    """(case, format) pairs whose case benchmarks ``port`` (for tests/bench's pytest-benchmark files)."""
    return [(c, fmt) for c in CASES if port in c.ports for fmt in FORMATS]


def make_images(folder: Path, stems: set[str], formats: tuple[str, ...]) -> dict[tuple[str, str], str]:
    """{(stem, format): path}: the committed JPEGs, the derived 2000x900 photo, lossless PNG copies."""
    from PIL import Image

    jpegs = {}
    for stem in sorted(stems):
        if stem == "photo_2000x900":
            with Image.open(PHOTOS / "photo_1280x853.jpg") as src:
                rgb = src.convert("RGB")
            w, h = rgb.size
            crop_h = w * 9 // 20  # centre crop to 20:9
            top = (h - crop_h) // 2
            img = rgb.crop((0, top, w, top + crop_h)).resize((2000, 900), Image.LANCZOS)
            path = folder / f"{stem}.jpg"
            img.save(path, quality=90, subsampling=2)  # 4:2:0, as make_photos.py writes the photos
            jpegs[stem] = path
        else:
            path = PHOTOS / f"{stem}.jpg"
            if not path.exists():
                sys.exit(f"bench_table: missing fixture photo {path} (see fixtures/make_photos.py)")
            jpegs[stem] = path
    out = {}
    for stem, jpg in jpegs.items():
        if "jpg" in formats:
            out[(stem, "jpg")] = str(jpg)
        if "png" in formats:
            png = folder / f"{stem}.png"
            with Image.open(jpg) as src:
                src.convert("RGB").save(png)
            out[(stem, "png")] = str(png)
    return out


def environment() -> dict:
    env = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "loadavg_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "versions": {},
    }
    for dist in VERSIONED:
        try:
            env["versions"][dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            env["versions"][dist] = None
    try:
        import torch

        env["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    return env


def time_run(impl, image_input, preset) -> float:
    """Wall time of one whole ``Impl.run``, in milliseconds."""
    t0 = time.perf_counter()
    impl.run(image_input, preset)
    return (time.perf_counter() - t0) * 1e3


def bench(cases, images: dict, repeat: int, progress=None) -> list[dict]:
    """Every case's samples, interleaved: per repeat, each (preset, image) group runs hf-pil and its
    ports once, the order rotating between repeats."""
    from parity.impls import get_impl
    from parity.impls.base import ImageInput
    from parity.presets import get_preset

    groups = []
    for case in cases:
        preset = get_preset(case.preset)
        for fmt in FORMATS:
            if (case.photo, fmt) not in images:
                continue
            names = [BASELINE, *case.ports]
            skipped = {n: r for n in names if (r := get_impl(n).supports(preset))}
            if BASELINE in skipped:
                sys.exit(f"bench_table: {BASELINE} cannot run {case.preset}: {skipped[BASELINE]}")
            names = [n for n in names if n not in skipped]
            groups.append((case, fmt, preset, ImageInput(images[(case.photo, fmt)]), names, skipped))

    samples = {(id(g), n): [] for g in groups for n in g[4]}
    for g in groups:  # warm-up: imports, per-size caches, first-touch allocations
        for name in g[4]:
            time_run(get_impl(name), g[3], g[2])
    for r in range(repeat):
        for g in groups:
            names = g[4]
            k = r % len(names)
            for name in names[k:] + names[:k]:
                samples[(id(g), name)].append(time_run(get_impl(name), g[3], g[2]))
        if progress:
            progress(r + 1, repeat)

    rows = []
    for g in groups:
        case, fmt, preset, image, names, skipped = g
        base = samples[(id(g), BASELINE)]
        for port in case.ports:
            row = {"preset": case.preset, "image": Path(image.path).name, "format": fmt, "port": port,
                   "baseline": BASELINE}
            if port in skipped:
                row["skipped"] = skipped[port]
            else:
                ms = samples[(id(g), port)]
                row.update(port_ms=min(ms), baseline_ms=min(base), ratio=min(ms) / min(base),
                           port_samples_ms=ms, baseline_samples_ms=base)
            rows.append(row)
    return rows


def markdown(rows: list[dict], repeat: int, env: dict | None = None) -> str:
    lines = [f"min of {repeat} interleaved runs, whole Impl.run from the file; ratio = port / {BASELINE}"]
    if env and env.get("loadavg_start") is not None:
        load = " -> ".join(f"{e[0]:.2f}" for e in (env["loadavg_start"], env.get("loadavg_end")) if e)
        lines.append(f"1-min load average {load} on {env['cpus_usable']} usable CPUs (a shared machine is slower)")
    lines += ["", f"| case | port | port ms | {BASELINE} ms | ratio |", "|---|---|---|---|---|"]
    for row in rows:
        size = row["image"].split("_")[-1].split(".")[0]
        case = f"{row['preset']}, {size} {row['format'].upper()}"
        if "skipped" in row:
            lines.append(f"| {case} | {row['port']} | skipped: {row['skipped']} | | |")
        else:
            lines.append(f"| {case} | {row['port']} | {row['port_ms']:.0f} | {row['baseline_ms']:.0f} "
                         f"| {row['ratio']:.2f}x |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per impl and image (default 5)")
    ap.add_argument("--format", default=",".join(FORMATS), help="image formats: jpg,png (default both)")
    ap.add_argument("--case", action="append", default=[],
                    help="only presets whose name contains this (repeatable)")
    ap.add_argument("--json-out", type=Path, help="also write the rows and the environment as JSON")
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error(f"--repeat must be at least 1, got {args.repeat}")
    formats = tuple(f.strip() for f in args.format.split(",") if f.strip())
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        ap.error(f"--format: unknown {', '.join(bad) or 'empty list'}; valid: {', '.join(FORMATS)}")
    cases = [c for c in CASES if not args.case or any(s in c.preset for s in args.case)]
    if not cases:
        ap.error(f"--case matches no preset; cases: {', '.join(c.preset for c in CASES)}")

    env = environment()
    with tempfile.TemporaryDirectory(prefix="parity-bench-") as tmp:
        images = make_images(Path(tmp), {c.photo for c in cases}, formats)
        rows = bench(cases, images, args.repeat,
                     progress=lambda i, n: print(f"repeat {i}/{n}", file=sys.stderr, flush=True))
    env["loadavg_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    print(markdown(rows, args.repeat, env))
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps({"schema": "parity-bench/1", "repeat": args.repeat,
                                             "environment": env, "rows": rows}, indent=2) + "\n")
        print(f"wrote {args.json_out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
