"""A Dask distributed cluster as a sweep's executor (``--scheduler tcp://HOST:8786``).

``distributed.Client(address)`` connects to a running scheduler (``dask scheduler``) whose workers
(``dask worker tcp://HOST:8786 --nthreads 1 --nworkers N``) have the same install; its
``get_executor()`` is a ``concurrent.futures.Executor``, so the sweep submits the same ``sweep_task``
as on a local pool. Before any task runs, every worker's pixel-library versions (``environment()``) are
checked against this machine's: a worker with another Pillow or torch would give other hashes, so it is
refused with the fix, not mixed in silently. Workers read the images by the paths the sweep names: the
corpus must be at the same path on every machine (a shared or copied file system); a worker that cannot
read one records it as an error row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from distributed import Client

from parity.errors import ParityError
from parity.golden import environment

CONNECT_TIMEOUT_S = 20
WORKERS_TIMEOUT_S = 60
INSTALL = "python -m pip install -c constraints.txt -e '.[dev]'"


@dataclass
class Cluster:
    client: Client
    executor: Any
    slots: int  # worker threads in all: tasks that run at once
    workers: list[str]

    def close(self) -> None:
        self.client.close()


def connect(address: str) -> Cluster:
    """A checked connection to the scheduler at ``address`` (ParityError with one line otherwise)."""
    try:
        client = Client(address, timeout=f"{CONNECT_TIMEOUT_S}s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as e:
        raise ParityError(f"cannot reach the Dask scheduler at {address}: {' '.join(str(e).split())[:200]}") from None
    try:
        try:
            client.wait_for_workers(1, timeout=WORKERS_TIMEOUT_S)
        except (TimeoutError, OSError) as e:
            raise ParityError(f"the Dask scheduler at {address} has no workers after {WORKERS_TIMEOUT_S} s "
                              f"(start some: dask worker {address} --nthreads 1): {e}") from None
        here = environment()
        try:
            envs = client.run(environment)
        except Exception as e:  # a worker without parity (or a broken install) cannot even answer
            raise ParityError(f"Dask workers of {address} cannot run parity ({type(e).__name__}: {e}); install "
                              f"them with the README's command ({INSTALL})") from None
        for worker, env in sorted(envs.items()):
            diff = {k: (env.get(k), v) for k, v in here.items() if env.get(k) != v}
            if diff:
                k, (theirs, ours) = next(iter(diff.items()))
                raise ParityError(f"Dask worker {worker} has {k} {theirs}, this machine {ours}: results would "
                                  f"differ; install workers with the README's command ({INSTALL})")
        nthreads = client.nthreads()
        return Cluster(client, client.get_executor(pure=False), max(1, sum(nthreads.values())), sorted(nthreads))
    except BaseException:
        client.close()
        raise
