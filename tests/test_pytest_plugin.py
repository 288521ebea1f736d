"""The pytest plugin, driven through pytester: create -> pass -> regression (stage, cause, numbers,
.obtained.npz) -> --update-goldens -> pass.

Each inner pytest runs in this process (``runpytest_inprocess``: a fresh config and plugin manager, the
test file imported anew), except the first run of the protocol and ``--help``, which start a real
``python -m pytest`` (the plugin found by its entry point, the exit code of a failed check)."""

from __future__ import annotations

import json
from importlib import metadata

import pytest

pytest_plugins = ["pytester"]

#: with the package installed, the plugin is loaded by its pytest11 entry point; else pass -p
ENTRY_POINT = any(ep.value == "parity.pytest_plugin" for ep in metadata.entry_points(group="pytest11"))
PLUGIN_ARGS = () if ENTRY_POINT else ("-p", "parity.pytest_plugin")

TEST_FILE = """
import os
import numpy as np

OFFSET = int(os.environ.get("PREPROC_OFFSET", "0"))
GRID = [int(x) for x in os.environ.get("PREPROC_GRID", "1,2").split(",")]

def my_preprocessing():
    img = (np.arange(4 * 6 * 3).reshape(4, 6, 3) % 200).astype(np.uint8)
    img[2, 3, 1] += OFFSET
    return {"plan": {"grid": GRID}, "resize": img, "normalize": (img.astype(np.float32) / 255 - 0.5) / 0.5}

def test_pinned(parity_golden):
    parity_golden.check("mymodel/cat", my_preprocessing(), std=[0.5, 0.5, 0.5], version="mine 1")
"""


#: the inner runs need neither the cache nor pytest-benchmark (which, in this process under xdist, warns)
INNER_ARGS = (*PLUGIN_ARGS, "-p", "no:cacheprovider", "-p", "no:benchmark")


def run(pytester, *args):
    return pytester.runpytest_inprocess(*INNER_ARGS, *args)


def run_subprocess(pytester, *args):
    return pytester.runpytest_subprocess(*INNER_ARGS, *args)


def test_full_protocol(pytester, monkeypatch):
    pytester.makepyfile(test_pin=TEST_FILE)
    golden_dir = pytester.path / "tests" / "golden"

    first = run_subprocess(pytester)
    assert first.ret == pytest.ExitCode.TESTS_FAILED
    first.assert_outcomes(failed=1)
    first.stdout.fnmatch_lines(["*golden 'mymodel/cat' created*rerun to check against it*"])
    manifest = json.loads((golden_dir / "manifest.json").read_text())
    assert manifest["cases"]["mymodel/cat"]["plan"] == {"grid": [1, 2]}
    assert (golden_dir / "mymodel" / "cat" / "resize.npz").exists()

    run(pytester).assert_outcomes(passed=1)

    monkeypatch.setenv("PREPROC_OFFSET", "3")
    broken = run(pytester)
    broken.assert_outcomes(failed=1)
    broken.stdout.fnmatch_lines([
        "*stage 'resize' changed in 1 cases (cause: code): mymodel/cat*",
        "*Number of differences: 1 / 72*",
        "*at [[]2, 3, 1[]]: obtained *, expected *, difference 3*",
        "*pytest --update-goldens*",
    ])
    assert (golden_dir / "mymodel" / "cat" / "resize.obtained.npz").exists()
    before = (golden_dir / "manifest.json").read_bytes()
    run(pytester).assert_outcomes(failed=1)  # a failing check never rewrites the golden
    assert (golden_dir / "manifest.json").read_bytes() == before

    upd = run(pytester, "--update-goldens")
    upd.assert_outcomes(failed=1)
    upd.stdout.fnmatch_lines(["*golden 'mymodel/cat' updated*rerun without --update-goldens*"])
    run(pytester).assert_outcomes(passed=1)


def test_plan_change_is_shown_key_by_key(pytester, monkeypatch):
    pytester.makepyfile(test_pin=TEST_FILE)
    run(pytester)
    monkeypatch.setenv("PREPROC_GRID", "2,1")
    res = run(pytester)
    res.assert_outcomes(failed=1)
    res.stdout.fnmatch_lines(["*plan[[]'grid'[]]: expected [[]1, 2[]], obtained [[]2, 1[]]*"])


def test_ini_options(pytester):
    pytester.makeini("[pytest]\nparity_golden_dir = pins\nparity_golden_arrays = false\n")
    pytester.makepyfile(test_pin=TEST_FILE)
    run(pytester).assert_outcomes(failed=1)
    assert (pytester.path / "pins" / "manifest.json").exists()
    assert not (pytester.path / "pins" / "mymodel").exists()  # hashes only


def test_bad_name(pytester):
    pytester.makepyfile(test_bad="""
import numpy as np
import pytest

def test_bad(parity_golden):
    with pytest.raises(ValueError, match="golden name"):
        parity_golden.check("../escape", {"x": np.zeros(2)})
""")
    run(pytester).assert_outcomes(passed=1)


def test_option_is_listed(pytester):
    res = run_subprocess(pytester, "--help")
    assert res.ret == pytest.ExitCode.OK
    res.stdout.fnmatch_lines(["*--update-goldens*"])
