"""The results store of a sweep: one SQLite file, ``RESULTS_DIR/results.sqlite``.

Why SQLite (stdlib ``sqlite3``): pandas (``pd.read_sql("select * from results", sqlite3.connect(...))``)
and DuckDB (its ``sqlite`` extension: ``sqlite_scan('results.sqlite', 'results')``) read it as it is; a transaction per task makes resuming exact (a task's rows and its done-marker are committed
together or not at all: ``kill -9`` at any moment loses at most the tasks in flight, which the next run
does again); inserts keyed by content (``image_sha256, preset, impl``) cannot duplicate a row; and it
needs no dependency beyond Python. Parquet would need pyarrow and files that are rewritten, not appended.

Tables (``parity.sweep.rows.COLUMNS`` for ``results``):

- ``results``: one row per (image sha256, preset, impl);
- ``done``: one marker per finished task (image sha256, the preset list, the impl list, the baseline),
  with ``unusable`` (why no impl could use the image, else NULL) and when it finished;
- ``inputs``: every path the INPUTs named, with its sha256 and size, or the ``error`` that made it a bad
  input;
- ``runs``: each invocation: its command, the versions of every pixel library and impl, workers or
  scheduler, counts, wall time, images/s, peak memory per worker process;
- ``worst``: the worst cases per (preset, impl) of the last run, with their arrays and case page;
- ``bad_inputs`` (a view): every path that could not be read, or that no impl could decode, with why.

WAL journal with ``synchronous=NORMAL``: a process killed at any point leaves the last committed task
in the file; a power loss may lose the last few commits (never corrupting the file); either way the next
run does those tasks again. One writer at a time: an exclusive ``flock`` on ``RESULTS_DIR/.lock``.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from parity.errors import ParityError
from parity.sweep.rows import COLUMNS

DB_NAME = "results.sqlite"
#: bumped when a table changes incompatibly; an older store is refused with a clear line
STORE_VERSION = "1"

SCHEMA = [
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)",
    "CREATE TABLE IF NOT EXISTS results (" + ", ".join(f"{n} {t}" for n, t in COLUMNS)
    + ", run_id INTEGER, PRIMARY KEY (image_sha256, preset, impl))",
    "CREATE TABLE IF NOT EXISTS done (image_sha256 TEXT NOT NULL, presets TEXT NOT NULL, impls TEXT NOT NULL, "
    "baseline TEXT NOT NULL, unusable TEXT, elapsed_s REAL, finished REAL, run_id INTEGER, "
    "PRIMARY KEY (image_sha256, presets, impls, baseline))",
    "CREATE TABLE IF NOT EXISTS inputs (path TEXT PRIMARY KEY, sha256 TEXT, bytes INTEGER, error TEXT, run_id INTEGER)",
    "CREATE TABLE IF NOT EXISTS runs (run_id INTEGER PRIMARY KEY AUTOINCREMENT, started TEXT, finished TEXT, "
    "status TEXT, command TEXT, cwd TEXT, presets TEXT, impls TEXT, baseline TEXT, workers INTEGER, "
    "scheduler TEXT, inputs INTEGER, images INTEGER, bad_inputs INTEGER, tasks INTEGER, tasks_skipped INTEGER, "
    "tasks_run INTEGER, elapsed_s REAL, images_per_s REAL, peak_rss_mib TEXT, environment TEXT, "
    "impl_versions TEXT)",
    "CREATE TABLE IF NOT EXISTS worst (preset TEXT, impl TEXT, rank INTEGER, image_sha256 TEXT, image_path TEXT, "
    "class TEXT, first_stage TEXT, max_levels REAL, token_delta INTEGER, arrays TEXT, page TEXT, command TEXT, "
    "PRIMARY KEY (preset, impl, rank))",
    "CREATE INDEX IF NOT EXISTS results_by_preset_impl ON results (preset, impl, class)",
    # every bad input in one place: paths that could not be read, and images no impl could decode
    "CREATE VIEW IF NOT EXISTS bad_inputs AS SELECT path, error FROM inputs WHERE error IS NOT NULL "
    "UNION SELECT i.path, d.unusable FROM inputs i JOIN done d ON d.image_sha256 = i.sha256 WHERE d.unusable IS NOT NULL",
]

_RESULT_NAMES = [n for n, _ in COLUMNS] + ["run_id"]
#: what summaries and the worst-case choice read (the per-stage JSON columns are left in the file)
SUMMARY_COLUMNS = tuple(n for n, _ in COLUMNS if n not in ("stages", "diff"))
_INSERT_RESULT = (f"INSERT OR REPLACE INTO results ({', '.join(_RESULT_NAMES)}) "
                  f"VALUES ({', '.join('?' * len(_RESULT_NAMES))})")


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


class SweepStore:
    """The open store of one results folder (exclusive while open)."""

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = open(self.folder / ".lock", "a+")  # noqa: SIM115 (held for the store's life)
        try:
            fcntl.flock(self._lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock.close()
            raise ParityError(f"another sweep is writing {self.folder} (its .lock is held); wait for it "
                              "or choose another -o") from None
        self.path = self.folder / DB_NAME
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            for stmt in SCHEMA:
                self.db.execute(stmt)
            self._check_version()
        except sqlite3.DatabaseError as e:
            self.close()
            raise ParityError(f"{self.path} is not a parity sweep store: {e}") from None

    def _check_version(self) -> None:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'store_version'").fetchone()
        if row is None:
            self.db.execute("INSERT INTO meta VALUES ('store_version', ?)", (STORE_VERSION,))
        elif row[0] != STORE_VERSION:
            raise ParityError(f"{self.path} is a sweep store of version {row[0]}, this parity writes version "
                              f"{STORE_VERSION}; use another -o")

    def close(self) -> None:
        db = getattr(self, "db", None)
        if db is not None:
            db.close()
            self.db = None
        if not self._lock.closed:
            fcntl.flock(self._lock.fileno(), fcntl.LOCK_UN)
            self._lock.close()

    def __enter__(self) -> SweepStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------ runs

    def start_run(self, info: dict[str, Any]) -> int:
        # we hold the lock: a run still marked running was killed (kill -9, power loss) before it could say so
        self.db.execute("UPDATE runs SET status = 'killed' WHERE status = 'running'")
        cols = ["started", "status", *info]
        values = [now_iso(), "running", *(_sql_value(v) for v in info.values())]
        cur = self.db.execute(f"INSERT INTO runs ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", values)
        return int(cur.lastrowid)

    def finish_run(self, run_id: int, status: str, info: dict[str, Any]) -> None:
        sets = ", ".join(f"{k} = ?" for k in info)
        self.db.execute(f"UPDATE runs SET finished = ?, status = ?{', ' + sets if sets else ''} WHERE run_id = ?",
                        [now_iso(), status, *(_sql_value(v) for v in info.values()), run_id])

    # ---------------------------------------------------------------------------------------- inputs

    def record_inputs(self, inputs: Iterable[Any], run_id: int) -> None:
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany("INSERT OR REPLACE INTO inputs VALUES (?, ?, ?, ?, ?)",
                                [(i.path, i.sha256, i.size, i.error, run_id) for i in inputs])

    # ----------------------------------------------------------------------------------------- tasks

    def done_keys(self, presets: str, impls: str, baseline: str) -> set[str]:
        """sha256 of every image whose task (this preset list, impl list and baseline) is finished."""
        cur = self.db.execute("SELECT image_sha256 FROM done WHERE presets = ? AND impls = ? AND baseline = ?",
                              (presets, impls, baseline))
        return {r[0] for r in cur}

    def commit_task(self, sha256: str, key: tuple[str, str, str], rows: Sequence[dict], unusable: str | None,
                    elapsed_s: float, run_id: int) -> None:
        """A task's rows and its done-marker, in one transaction (all or nothing)."""
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany(_INSERT_RESULT, [[r.get(n) for n in _RESULT_NAMES[:-1]] + [run_id] for r in rows])
            self.db.execute("INSERT OR REPLACE INTO done VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            (sha256, *key, unusable, round(elapsed_s, 3), time.time(), run_id))

    def done_rows(self, presets: str, impls: str, baseline: str) -> list[dict[str, Any]]:
        cur = self.db.execute("SELECT * FROM done WHERE presets = ? AND impls = ? AND baseline = ?",
                              (presets, impls, baseline))
        return _dicts(cur)

    def iter_rows(self, presets: Sequence[str], columns: Sequence[str] = SUMMARY_COLUMNS) -> Iterator[dict[str, Any]]:
        """The rows of ``presets`` one at a time (a cursor, not a list), by (preset, impl, image path)."""
        cur = self.db.execute(f"SELECT {', '.join(columns)} FROM results WHERE preset IN "
                              f"({', '.join('?' * len(presets))}) ORDER BY preset, impl, image_path", list(presets))
        names = [d[0] for d in cur.description]
        for r in cur:
            yield dict(zip(names, r))

    def rows_of(self, shas: Sequence[str]) -> list[dict[str, Any]]:
        """Every column of the rows of these images."""
        out = []
        for i in range(0, len(shas), 500):  # SQLite caps the number of bound parameters
            chunk = list(shas[i:i + 500])
            out += _dicts(self.db.execute(f"SELECT * FROM results WHERE image_sha256 IN "
                                          f"({', '.join('?' * len(chunk))})", chunk))
        return out

    def run_row(self, run_id: int) -> dict[str, Any]:
        return _dicts(self.db.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)))[0]

    # ----------------------------------------------------------------------------------------- worst

    def replace_worst(self, rows: Sequence[dict[str, Any]]) -> None:
        names = ("preset", "impl", "rank", "image_sha256", "image_path", "class", "first_stage", "max_levels",
                 "token_delta", "arrays", "page", "command")
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute("DELETE FROM worst")
            self.db.executemany(f"INSERT INTO worst VALUES ({', '.join('?' * len(names))})",
                                [[r.get(n) for n in names] for r in rows])


def _sql_value(v: Any) -> Any:
    return json.dumps(v, sort_keys=True) if isinstance(v, dict | list | tuple) else v


def _dicts(cur: sqlite3.Cursor) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur]
