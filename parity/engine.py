"""The runner for many cases: (image x presets x impls) tasks, serially or on every core.

One task is one image with every preset that runs on it, so the image is decoded once per decoder
profile and shared by every preset and impl of the task (``DecodeCache``). Each case becomes a JSON-able
dict at once, after the job's ``observers`` have seen its traces (goldens checked or updated, report
assets written), so memory stays flat however large the run, and results can cross process boundaries
as plain data: run serially, on a local process pool (``workers``), or on any executor with the
``concurrent.futures`` interface (a Dask ``distributed.Client`` has it), the rows are the same.

Observers are named by ``"module:attribute"`` in the job and built once per process (a picklable job,
no import edges upward): ``observer(case_result, case_dict)`` may add to the dict.
"""

from __future__ import annotations

import ctypes
import importlib
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from parity.case import CaseResult, run_case
from parity.decode.profiles import DecodeCache
from parity.errors import ParityError
from parity.impls import IMPLS
from parity.presets import Preset, get_preset
from parity.trace import FAST_HASH, FULL_HASHES

#: an observer sees each case while its traces are alive and may add JSON-able data to its dict
Observer = Callable[[CaseResult, dict], None]


@dataclass(frozen=True)
class Task:
    """One image and the (preset, impls) cases to run on it."""

    image: str
    cases: tuple[tuple[str, tuple[str, ...]], ...]  # (preset name, impl names that support it)
    baseline: str | None = None
    decoders: tuple[tuple[str, str], ...] = ()  # impl -> decoder profile overrides


@dataclass(frozen=True)
class Job:
    """What each process does besides running the cases: observers by ``"module:factory"`` name, each
    called once per process with ``args`` to build the observer."""

    observers: tuple[tuple[str, tuple], ...] = ()
    # False: traces only, no impl-vs-baseline diffs, and the case dicts' stages carry only the fast hash (a
    # golden check or update: it compares the records themselves with the store)
    compare: bool = True
    # the hashes of each stage in the case dicts; None: sha1 and sha256 when comparing, else the fast hash
    stage_hashes: tuple[str, ...] | None = None

    @property
    def hashes(self) -> tuple[str, ...]:
        """The hashes of each stage in the case dicts."""
        if self.stage_hashes is not None:
            return self.stage_hashes
        return FULL_HASHES if self.compare else (FAST_HASH,)


@dataclass
class Plan:
    tasks: list[Task]
    presets: list[Preset]
    images: list[str]
    unsupported: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def num_cases(self) -> int:
        return sum(len(t.cases) for t in self.tasks)


def supports_reason(impl, preset: Preset) -> str | None:
    """impl.supports(preset), an exception turned into the reason (one broken impl must not stop a run)."""
    try:
        return impl.supports(preset)
    except Exception as e:
        return f"supports() raised {type(e).__name__}: {e}"


def plan_tasks(presets: Sequence[Preset], images: Sequence[str | os.PathLike], impls: Sequence[str] | None = None,
               baseline: str | None = None, decoders: dict[str, str] | None = None) -> Plan:
    """One task per image with every preset some requested impl supports (impls that do not are listed
    in ``unsupported``)."""
    unknown = [n for n in (impls or []) if n not in IMPLS]
    if unknown:
        raise ParityError(f"unknown impl {unknown[0]!r}; valid: {', '.join(IMPLS)}")
    chosen = list(impls or IMPLS)
    runnable: list[tuple[str, tuple[str, ...]]] = []
    unsupported: dict[str, dict[str, str]] = {}
    for p in presets:
        reasons = {n: supports_reason(IMPLS[n], p) for n in chosen}
        names = tuple(n for n in chosen if reasons[n] is None)
        unsupported[p.name] = {n: r for n, r in reasons.items() if r is not None}
        if names:
            runnable.append((p.name, names))
    overrides = tuple(sorted((decoders or {}).items()))
    tasks = [Task(os.fspath(img), tuple(runnable), baseline, overrides) for img in images] if runnable else []
    return Plan(tasks, list(presets), [os.fspath(i) for i in images], unsupported)


def build_observers(job: Job) -> tuple[Observer, ...]:
    """The job's observers (each reads its inputs, e.g. the golden manifest, when built)."""
    built = []
    for target, args in job.observers:
        module, _, attr = target.partition(":")
        built.append(getattr(importlib.import_module(module), attr)(*args))
    return tuple(built)


@cache
def _worker_observers(job: Job) -> tuple[Observer, ...]:
    """Built once per worker process (a pool lives for one run)."""
    return build_observers(job)


def case_dict(case: CaseResult, elapsed_s: float, hashes: tuple[str, ...] = FULL_HASHES) -> dict[str, Any]:
    """A CaseResult as JSON-able data (no array values; plans whole; each stage with the named ``hashes``)."""
    d = case.to_dict(hashes=hashes)
    d["elapsed_s"] = round(elapsed_s, 3)
    d["first_divergences"] = {name: diff.get("first_divergence") for name, diff in d["diffs"].items()}
    return d


def failed_case(preset: Preset, image: str, impls: Sequence[str], message: str) -> CaseResult:
    return CaseResult(preset, os.path.basename(image), "", errors={n: message for n in impls})


def run_task(task: Task, job: Job = Job(), observers: Sequence[Observer] | None = None) -> list[dict[str, Any]]:
    """Every case of one task, decoded once per profile; each case's dict after the observers saw it
    (``observers``: built by the caller; by default the job's, built once in this worker process)."""
    observers = _worker_observers(job) if observers is None else observers
    decode_cache = DecodeCache()
    out = []
    for preset_name, impls in task.cases:
        preset = get_preset(preset_name)
        t = time.monotonic()
        base = task.baseline if task.baseline in impls else None
        try:
            case = run_case(task.image, preset, list(impls), base, decoders=dict(task.decoders), cache=decode_cache,
                            compare=job.compare)
        except Exception as e:  # an impl failing outside its run: recorded, the run goes on
            msg = str(e) if isinstance(e, ParityError) else f"{type(e).__name__}: {e}"
            case = failed_case(preset, task.image, impls, msg)
        d = case_dict(case, time.monotonic() - t, hashes=job.hashes)
        d["decode_cache"] = {"hits": decode_cache.hits, "misses": decode_cache.misses}
        for observe in observers:
            observe(case, d)
        out.append(d)
    return out


def run_tasks(tasks: Iterable[Task], job: Job = Job(), workers: int = 1,
              executor: Executor | None = None) -> Iterator[list[dict[str, Any]]]:
    """The case dicts of each task as it completes: serially (``workers`` 1), on a local process pool,
    or on ``executor`` (a Dask ``distributed.Client`` works: same ``submit``/futures interface)."""
    tasks = list(tasks)
    if executor is None and workers <= 1:
        observers = build_observers(job)
        for task in tasks:
            yield run_task(task, job, observers)
        return
    own = executor is None
    # spawn, not fork: a forked child of a process whose BLAS / torch threads hold locks can deadlock
    pool = executor or ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                           initializer=init_worker)
    try:
        futures = [pool.submit(run_task, task, job) for task in tasks]
        for fut in as_completed(futures):
            yield fut.result()
    finally:
        if own:
            pool.shutdown(cancel_futures=True)


#: thread pools of numerical libraries (OpenMP: torch; BLAS: numpy, OpenCV) pinned to one thread in pool
#: workers: the pool already runs a worker per core, and two threads each on two cores only contend (a
#: golden check: ~10 CPU-s less). Read when each library loads, i.e. after the initializer.
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
              "NUMEXPR_NUM_THREADS")


def init_worker() -> None:
    """A pool worker's set-up, before its first task: one thread per numerical library (unless the user
    set a count) and ``keep_freed_memory``. Speed only: results do not depend on either."""
    for name in THREAD_ENV:
        os.environ.setdefault(name, "1")
    keep_freed_memory()


#: glibc malloc settings a worker makes: name -> (``mallopt`` parameter number from malloc.h, value). MMAP_MAX 0:
#: no block is served by its own ``mmap``, however large (the threshold alone stops at 32 MiB, and a case's
#: float stages are often larger); MMAP_THRESHOLD still matters where a library asks for mmap itself.
_WORKER_MALLOPT = {"MMAP_THRESHOLD": (-3, 32 << 20), "MMAP_MAX": (-4, 0), "TRIM_THRESHOLD": (-1, 1 << 30),
                   "TOP_PAD": (-2, 64 << 20)}
#: the same settings for child processes, which glibc reads from the environment at start (also what
#: ``nox -s tests`` gives its pytest-xdist workers)
WORKER_MALLOC_ENV = {f"MALLOC_{name}_": str(value) for name, (_, value) in _WORKER_MALLOPT.items()}


def keep_freed_memory() -> bool:
    """In a worker process (pool initializer): glibc serves every block from its heap and keeps freed ones
    for reuse instead of unmapping them. A case allocates and frees arrays of megabytes stage after stage;
    by default each one of 128 KiB or more is a fresh ``mmap`` whose every page faults in zeroed (a golden
    check: ~4 million page faults, a fifth of its CPU time, in the kernel; 2.0 million with the 32 MiB
    threshold alone, 1.0 million with no ``mmap`` at all). The memory a worker holds stays near its peak until it exits (a pool lives for one
    run; a 160-image sweep's largest worker: 1.46 -> 1.52 GB). Speed only; False where it does not apply
    (not glibc) or a value was refused."""
    for name, value in WORKER_MALLOC_ENV.items():  # the same for what the worker starts (Node)
        os.environ.setdefault(name, value)
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return all([mallopt(param, value) == 1 for param, value in _WORKER_MALLOPT.values()])


def default_workers() -> int:
    """Every core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def image_paths(selection: Sequence[str | os.PathLike], directory: Path) -> list[Path]:
    """Names (looked up in ``directory``) or paths, each checked to exist."""
    out = []
    for n in selection:
        p = directory / n if (directory / str(n)).exists() else Path(n)
        if not p.exists():
            raise ParityError(f"image not found: {p}")
        out.append(p)
    return out
