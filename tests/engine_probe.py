"""An engine observer for tests: what a worker process looked like when it ran a case (imported by name in
the worker, as ``Job`` observers are)."""

from __future__ import annotations

import os

from parity.engine import THREAD_ENV, WORKER_MALLOC_ENV


def environment_observer():
    """Each case dict gets the worker's pid and the settings ``parity.engine.init_worker`` is meant to make."""
    def observe(case, d: dict) -> None:
        d["worker_pid"] = os.getpid()
        d["worker_environment"] = {name: os.environ.get(name) for name in (*THREAD_ENV, *WORKER_MALLOC_ENV)}

    return observe
