"""nox sessions. They run in the current environment (``venv_backend="none"``) and install nothing: the
README's install command (``python -m pip install -c constraints.txt -e '.[dev]'``) is the one and
complete install (torch + torchvision are 5.5 GB; one copy is enough). Each session first checks that
install is consistent (``pip check``), so a broken environment fails loudly instead of half-working."""

from __future__ import annotations

import os

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.default_venv_backend = "none"


def check_install(session: nox.Session) -> None:
    session.run("python", "-m", "pip", "check")


#: bytecode caches on, even where the shell sets PYTHONDONTWRITEBYTECODE: without them each xdist worker and
#: each process a test starts compiles the project's modules again, and pytest rewrites the asserts of
#: every test module again (~6 s per worker). They go to git-ignored __pycache__ folders.
TEST_ENV = {"PYTHONDONTWRITEBYTECODE": ""}


def tests_environment() -> dict[str, str]:
    """TEST_ENV, plus what the engine's pool workers get (``parity.engine.init_worker``), in every test process:
    glibc keeping freed memory for reuse (a third fewer page faults) and one thread per numerical library
    unless the shell set a count (pytest-xdist already runs a worker per core). ~95 -> ~80 s."""
    from parity.engine import THREAD_ENV, WORKER_MALLOC_ENV

    return {**WORKER_MALLOC_ENV, **{n: os.environ.get(n, "1") for n in THREAD_ENV}, **TEST_ENV}


#: a worker per core; ``worksteal``: an idle worker takes tests queued for a busy one, so the run does not
#: wait on one worker's tail of slow tests (4 alternating runs here: 96-108 s vs 101-132 s with ``load``)
PYTEST_ARGS = ("-q", "-p", "no:cacheprovider", "-n", "auto", "--dist", "worksteal")


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite (what CI runs), on every core.

    pytest-xdist runs the tests in parallel; property tests marked ``slow`` draw a quarter of their
    examples (hypothesis profile ``ci``, tests/conftest.py)."""
    check_install(session)
    session.run("python", "-m", "pytest", *PYTEST_ARGS, *session.posargs, env=tests_environment())


@nox.session
def tests_full(session: nox.Session) -> None:
    """Nightly: the test suite with every example of every property test (hypothesis profile ``nightly``)."""
    check_install(session)
    session.run("python", "-m", "pytest", *PYTEST_ARGS, *session.posargs,
                env={**tests_environment(), "HYPOTHESIS_PROFILE": "nightly"})


@nox.session
def lint(session: nox.Session) -> None:
    session.run("ruff", "check", "parity", "tests", "fixtures", "noxfile.py")


@nox.session
def bench(session: nox.Session) -> None:
    """Every runtime port beside hf-pil: the table on stdout, all samples in reports/bench.json.

    Same process, same image, interleaved runs (benchmarks/bench_table.py): ratios to compare run to run,
    never asserted. Arguments go to the script (``nox -s bench -- --repeat 9 --case llava``)."""
    check_install(session)
    session.run("python", "benchmarks/bench_table.py", "--json-out", "reports/bench.json", *session.posargs)


@nox.session
def bench_kernels(session: nox.Session) -> None:
    """pytest-benchmark statistics of each impl on its benchmark cases (tests/bench)."""
    check_install(session)
    session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/bench",
                "--benchmark-enable", "--benchmark-only", "--benchmark-columns=min,mean,median,rounds",
                *session.posargs)


@nox.session
def parity(session: nox.Session) -> None:
    """The whole matrix (presets x impls x fixture images) into reports/; exit 1 on a golden regression."""
    check_install(session)
    session.run("parity", "matrix", "--browser-check", *session.posargs)
