"""nox sessions. They run in the current environment (``venv_backend="none"``) and install nothing: the
README's install command (``python -m pip install -c constraints.txt -e '.[dev]'``) is the one and
complete install (torch + torchvision are 5.5 GB; one copy is enough). Each session first checks that
install is consistent (``pip check``), so a broken environment fails loudly instead of half-working."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.default_venv_backend = "none"


def check_install(session: nox.Session) -> None:
    session.run("python", "-m", "pip", "check")


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite (what CI runs)."""
    check_install(session)
    session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    session.run("ruff", "check", "parity", "tests", "fixtures", "noxfile.py")


@nox.session
def bench(session: nox.Session) -> None:
    """Side-by-side speed of impls on the same case (ratios, never asserted)."""
    check_install(session)
    session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/bench",
                "--benchmark-enable", "--benchmark-only", "--benchmark-columns=min,mean,median,rounds",
                *session.posargs)


@nox.session
def parity(session: nox.Session) -> None:
    """The whole matrix (presets x impls x fixture images) into reports/; exit 1 on a golden regression."""
    check_install(session)
    session.run("parity", "matrix", "--browser-check", *session.posargs)
