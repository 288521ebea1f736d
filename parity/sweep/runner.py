"""Running sweep tasks: in this process, on a local process pool, or on any ``concurrent.futures``
executor (a Dask cluster's, ``parity.sweep.cluster``), with the same function and the same results.

The unit of work is ``sweep_task``: one image (its engine ``Task``: every preset and impl on it, decoded
once per decoder profile) -> its result rows. It runs ``parity.engine.run_task`` and turns each case dict
into rows in the worker, so only small rows travel back, never arrays. The worker first checks that the
file still has the sha256 the rows will be keyed by (a file rewritten mid-sweep is an error row, not a
silent mix of two images). Tasks are submitted a few per worker ahead (``window``), not all at once, so
memory stays flat whatever the corpus size and an interrupt stops soon.

Local pool workers are spawned (not forked: a child of a process holding BLAS/torch thread locks can
deadlock), single-threaded in BLAS/OpenMP (the processes are the parallelism, as Dask's nanny does), and
on Linux die with the parent (``PR_SET_PDEATHSIG``), so ``kill -9`` of a sweep leaves no orphans.
"""

from __future__ import annotations

import ctypes
import hashlib
import multiprocessing
import os
import resource
import signal
import socket
import sys
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from parity.decode import read_bytes
from parity.engine import Job, Task, case_dict, failed_case, init_worker, run_task
from parity.errors import ParityError
from parity.presets import get_preset
from parity.sweep.rows import case_rows, unusable_reason

#: tasks in flight per worker (one running, one queued: a worker never waits for the next task)
IN_FLIGHT_PER_WORKER = 2
#: a sweep task's job: stages with their sha256 only (what a row keeps) and the pack's sha1 beside them
#: (``parity.sweep.rows.pack_sha1_observer``): a sha1 of every stage was a fifth of a sweep's time. The worst
#: cases get their full dicts and pictures when re-run (parity.sweep.worst).
SWEEP_JOB = Job((("parity.sweep.rows:pack_sha1_observer", ()),), stage_hashes=("sha256",))


@dataclass(frozen=True)
class SweepItem:
    """One task of a sweep: the image's content key and size, and the engine task on its path."""

    sha256: str
    size: int
    task: Task


def _peak_rss_mib() -> float:
    """Peak resident memory of this process (Linux reports ru_maxrss in KiB)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(kib / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def sweep_task(item: SweepItem, job: Job = SWEEP_JOB) -> dict[str, Any]:
    """Run one task; {"sha256", "rows", "unusable", "elapsed_s", "worker", "peak_rss_mib"}."""
    t0 = time.monotonic()
    task = item.task
    try:
        changed = hashlib.sha256(read_bytes(task.image)).hexdigest() != item.sha256
        problem = f"file changed since it was hashed (not sha256 {item.sha256[:12]}...)" if changed else None
    except ParityError as e:
        problem = " ".join(str(e).split())
    if problem is None:
        cases = run_task(task, job)
    else:
        cases = [case_dict(failed_case(get_preset(p), task.image, impls, problem), 0.0) for p, impls in task.cases]
    rows = [r for c in cases for r in case_rows(c, task.image, item.sha256, item.size)]
    reasons = [r for r in (unusable_reason(c) for c in cases) if r]
    return {"sha256": item.sha256, "rows": rows, "unusable": reasons[0] if reasons else None,
            "elapsed_s": time.monotonic() - t0, "worker": f"{socket.gethostname()}:{os.getpid()}",
            "peak_rss_mib": _peak_rss_mib()}


def _init_pool_worker() -> None:
    init_worker()  # as the engine's pool workers: one thread per library, freed memory kept
    if sys.platform.startswith("linux"):
        try:  # prctl(PR_SET_PDEATHSIG = 1, SIGKILL): die with the sweep process
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle


def local_pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_pool_worker)


def run_items(items: Iterable[SweepItem], job: Job = SWEEP_JOB, workers: int = 1, executor: Executor | None = None,
              slots: int | None = None) -> Iterator[dict[str, Any]]:
    """Each item's ``sweep_task`` result as it completes: in this process (``workers`` 1, no executor),
    on a local pool of ``workers`` processes, or on ``executor`` (``slots``: how many tasks it runs at
    once, for the submission window)."""
    items = iter(items)
    if executor is None and workers <= 1:
        for item in items:
            yield sweep_task(item, job)
        return
    own = executor is None
    pool = executor or local_pool(workers)
    window = IN_FLIGHT_PER_WORKER * max(1, slots or workers)
    pending: set = set()
    try:
        while True:
            while len(pending) < window:
                item = next(items, None)
                if item is None:
                    break
                pending.add(pool.submit(sweep_task, item, job))
            if not pending:
                return
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                yield fut.result()
    finally:
        for fut in pending:
            fut.cancel()
        if own:
            pool.shutdown(wait=True, cancel_futures=True)
