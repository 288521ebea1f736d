"""nox sessions. They run in the current environment (``venv_backend="none"``): the README's set-up
installs the pinned stack once (torch + torchvision are 5.5 GB; one copy is enough), and each session
first re-asserts that install against constraints.txt, which is a no-op when nothing changed."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.default_venv_backend = "none"

INSTALL = ("python", "-m", "pip", "install", "-q", "-c", "constraints.txt", "-e", ".[dev]")
# Authors' packages for the reference impl whose declared pins conflict with ours: llava-torch pins
# torch 2.0.1 / transformers 4.36.2 (only its mm_utils module is loaded); mistral-common asks numpy<2.4
# on Python <= 3.12 (it runs with 2.4.6). Their real requirements are in pyproject's dependencies.
INSTALL_NODEPS = ("python", "-m", "pip", "install", "-q", "--no-deps", "-c", "constraints.txt",
                  "llava-torch", "mistral-common")


def install(session: nox.Session) -> None:
    session.run(*INSTALL)
    session.run(*INSTALL_NODEPS)


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite (what CI runs)."""
    install(session)
    session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    install(session)
    session.run("ruff", "check", "parity", "tests", "fixtures", "noxfile.py")


@nox.session
def bench(session: nox.Session) -> None:
    """Side-by-side speed of impls on the same case (ratios, never asserted)."""
    install(session)
    session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/bench",
                "--benchmark-enable", "--benchmark-only", "--benchmark-columns=min,mean,median,rounds",
                *session.posargs)


@nox.session
def parity(session: nox.Session) -> None:
    """The whole matrix (presets x impls x fixture images) into reports/; exit 1 on a golden regression."""
    install(session)
    session.run("python", "-m", "parity.matrix", "--browser-check", *session.posargs)
