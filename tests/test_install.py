"""The README's one install is complete and consistent: every package an impl needs is declared,
installed and importable, pinned where it changes pixels, and ``pip check`` is clean. These fail when
an authors' package silently drops out of the install (as llava-torch and mistral-common once did)."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from parity.impls.reference import RECIPES, REQUIRES, ReferenceImpl
from parity.presets import all_presets

ROOT = Path(__file__).resolve().parent.parent
#: import name -> distribution name, for the authors' packages the reference impl calls
DISTRIBUTIONS = {"llama_models": "llama-models", "qwen_vl_utils": "qwen-vl-utils",
                 "mistral_common": "mistral-common", "jax": "jax"}


def declared_requirements() -> set[str]:
    reqs = metadata.requires("vlm-parity") or []
    return {re.split(r"[ ;<>=!\[]", r, maxsplit=1)[0].lower() for r in reqs if "extra ==" not in r}


def constraint_pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.strip().lower()] = version.strip()
    return pins


@pytest.mark.parametrize("package", sorted(set(REQUIRES.values())))
def test_authors_package_declared_installed_importable(package):
    dist = DISTRIBUTIONS[package]
    assert dist in declared_requirements(), f"{dist} is not a dependency in pyproject.toml"
    assert importlib.util.find_spec(package) is not None, f"{package} is not importable"
    assert metadata.version(dist) == constraint_pins()[dist], f"{dist} is not the pinned version"


def test_every_reference_family_runs_with_the_install():
    ref = ReferenceImpl()
    presets = [p for p in all_presets().values() if p.family in RECIPES]
    assert presets
    refused = {p.name: ref.supports(p) for p in presets if ref.supports(p) is not None}
    assert not refused, f"reference impl refuses presets: {refused}"


def test_pinned_versions_are_installed():
    pins = constraint_pins()
    wrong = {name: (metadata.version(name), want) for name, want in pins.items()
             if metadata.version(name) != want}
    assert not wrong, f"installed versions differ from constraints.txt: {wrong}"


def test_pip_check_is_clean():
    proc = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_no_install_around_the_resolver():
    """No ``--no-deps`` install step in the repository's scripts (nox, CI, README)."""
    for rel in ("noxfile.py", ".ci/run", "README.md", "pyproject.toml"):
        text = (ROOT / rel).read_text()
        assert "--no-deps" not in text.replace("`--no-deps` or by a nox session", ""), rel


def test_gguf_imports_with_its_optional_mistral_common():
    """gguf's vocab module imports mistral_common (-> pydantic_extra_types.language_code -> pycountry)."""
    import gguf  # noqa: F401
    from gguf import vocab  # noqa: F401
