"""pytest plugin: pin your own preprocessing with parity's goldens.

    def test_my_preprocessing(parity_golden):
        stages = {"plan": {"grid": [2, 2]}, "resize": my_resize(img), "pack": my_pack(img)}
        parity_golden.check("my-model/cat-640x480", stages)   # or a parity Trace

The name is explicit (never taken from the test name), so renaming a test keeps its golden. Goldens
live under ``<rootdir>/<parity_golden_dir>`` (ini option, default ``tests/golden``) in the same format
as this project's (``parity.golden``: a manifest of sha256/shape/dtype/plan + pixel-library versions,
and compressed arrays unless ``parity_golden_arrays = false``).

Protocol (as pytest-regressions'): a missing golden is written and the test fails; a mismatch fails
with the stage, the cause (environment or code), the numeric diff, and an ``.obtained.npz`` next to the
expected array; ``--update-goldens`` rewrites the goldens of the tests that run and fails them, so an
update is always a deliberate second run.

Registered as the ``pytest11`` entry point ``parity`` (pyproject.toml), or ``-p parity.pytest_plugin``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from parity.golden import GoldenStore, Produced, check, records_from, update
from parity.report.golden import render_golden_report
from parity.trace import StageRecord, Trace

_NAME = re.compile(r"^[A-Za-z0-9._+-]+(/[A-Za-z0-9._+-]+)*$")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("parity", "vlm-parity goldens")
    group.addoption("--update-goldens", action="store_true", default=False,
                    help="rewrite the parity_golden goldens of the tests that run (they fail, to be rerun)")
    parser.addini("parity_golden_dir", default="tests/golden",
                  help="folder of parity_golden goldens, relative to rootdir (default tests/golden)")
    parser.addini("parity_golden_arrays", type="bool", default=True,
                  help="store compressed arrays next to the hashes, for numeric diffs (default true)")


class ParityGolden:
    """The ``parity_golden`` fixture object: one ``check(name, stages)``."""

    def __init__(self, root: Path, update_goldens: bool, store_arrays: bool) -> None:
        self.root = root
        self.update_goldens = update_goldens
        self.store_arrays = store_arrays

    def check(self, name: str, stages: Trace | Mapping[str, Any] | Iterable[StageRecord], *,
              std: list[float] | None = None, version: str = "") -> None:
        """Compare ``stages`` ({stage: ndarray | tuple of ndarrays | JSON-able dict}, or a Trace) with
        the golden ``name`` (slash-separated words). ``std``: per-channel std, to report float |Δ| in
        uint8 levels; ``version``: your code's version, recorded and compared like a library's."""
        if not _NAME.match(name) or ".." in name.split("/"):
            raise ValueError(f"golden name {name!r}: use words of [A-Za-z0-9._+-] separated by '/'")
        records = records_from(stages)
        if not records:
            raise ValueError(f"golden {name!r}: no stages given")
        produced = Produced(name, tuple(records), version, tuple(std) if std else None, image=name)
        arrays = [name] if self.store_arrays else []
        exists = name in GoldenStore(self.root).cases
        if self.update_goldens or not exists:
            summary = update([produced], self.root, array_images=arrays, prune=False)
            verb = "updated" if exists else "created"
            pytest.fail(f"golden {name!r} {verb} under {self.root}: {summary.summary_line()}; "
                        f"rerun {'without --update-goldens ' if self.update_goldens else ''}to check against it",
                        pytrace=False)
        report = check([produced], self.root)
        report.update_hint = f"`pytest --update-goldens` (then review the diff of {self.root})"
        if not report.passed:
            pytest.fail(render_golden_report(report.to_dict()), pytrace=False)


@pytest.fixture
def parity_golden(request: pytest.FixtureRequest) -> ParityGolden:
    """Pin stage outputs against goldens: ``parity_golden.check(name, stages)``."""
    cfg = request.config
    root = Path(cfg.rootpath) / cfg.getini("parity_golden_dir")
    return ParityGolden(root, bool(cfg.getoption("update_goldens")), bool(cfg.getini("parity_golden_arrays")))
