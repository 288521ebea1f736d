"""The browser check of the HTML reports: each page loaded in headless Chromium, its console and its
images read back (a page that logs anything, or shows a broken image, fails)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome", "chromium-headless-shell")


def find_browser() -> str | None:
    """A Chromium-family executable on PATH, or None."""
    return next((p for p in (shutil.which(b) for b in BROWSERS) if p), None)


def browser_check(path: str | Path, browser: str | None = None, timeout_s: float = 90) -> dict[str, Any]:
    """Load a report page in headless Chromium: {"page", "ok", "console": [messages], "images": n,
    "broken": n, "error"}. ``ok`` means the page loaded, logged nothing to the console (our pages log
    nothing, so any message, an uncaught exception included, is a failure) and every image rendered
    (the page's own script counts images with naturalWidth 0 into ``body[data-broken]``)."""
    exe = browser or find_browser()
    path = Path(path).resolve()
    out: dict[str, Any] = {"page": str(path), "ok": False, "console": [], "images": None, "broken": None, "error": None}
    if exe is None:
        out["error"] = "no chromium executable on PATH (apt-get install -y chromium)"
        return out
    with tempfile.TemporaryDirectory(prefix="parity-chromium-") as profile:
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", f"--user-data-dir={profile}",
               "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic",
               "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000", "--dump-dom", path.as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            out["error"] = f"chromium did not finish within {timeout_s} s"
            return out
    out["console"] = [ln.split("] ", 1)[-1] for ln in proc.stderr.splitlines() if ":CONSOLE" in ln]
    m_img = re.search(r'data-images="(\d+)"', proc.stdout)
    m_broken = re.search(r'data-broken="(\d+)"', proc.stdout)
    if proc.returncode != 0 or m_img is None or m_broken is None:
        out["error"] = (f"page did not finish loading (exit {proc.returncode}; the load handler did not run)"
                        + (": " + proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""))
        return out
    out["images"], out["broken"] = int(m_img.group(1)), int(m_broken.group(1))
    out["ok"] = not out["console"] and out["broken"] == 0
    return out


def browser_check_site(out: str | Path, max_case_pages: int = 3) -> list[dict[str, Any]]:
    """browser_check of index.html and the first case pages that have pictures (heatmaps first)."""
    out = Path(out)
    pages = [out / "index.html"]
    cases = sorted((out / "cases").glob("*.html"))
    with_heat = [p for p in cases if "heatmaps of" in p.read_text()]
    pages += (with_heat + [p for p in cases if p not in with_heat])[:max_case_pages]
    return [browser_check(p) for p in pages]
