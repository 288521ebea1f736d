"""The ``ollama`` impl (f63eea3) for the issue-15 part-B pipelines -- lfm2, glmocr, deepseekocr, nemotronh (tiles
and dynamic) -- against outputs recorded from the real Go code (tests/oracles/ollama/coverage_b.json)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from parity.impls.base import ImageInput
from parity.impls.ollama import OllamaImpl
from parity.presets import get_preset, preset_from_dict

ORACLE_DIR = Path(__file__).parents[1] / "oracles" / "ollama"
CASES = json.loads((ORACLE_DIR / "coverage_b.json").read_text())["cases"]
IMPL = OllamaImpl()
#: the stage holding what the Go ProcessImage returns (nemotronh returns the tiles before packing them)
GO_OUTPUT = {"nemotronh": "normalize"}


def _write_png(tmp_path, image: dict) -> str:
    spec = importlib.util.spec_from_file_location("ollama_oracle_images", ORACLE_DIR / "images.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.write_png(str(tmp_path / "in.png"), image["kind"], image["h"], image["w"], image["seed"])


def _flat(value) -> np.ndarray:
    parts = value if isinstance(value, tuple) else (value,)
    return np.concatenate([np.asarray(p, dtype="<f4").ravel() for p in parts])


def _id(c) -> str:
    dynamic = "-dynamic" if "min_num_patches" in c["values"] else ""
    return f"{c['model']}-{c['image']['kind']}-{c['image']['h']}x{c['image']['w']}{dynamic}"


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_recorded_go_output(tmp_path, case):
    path = _write_png(tmp_path, case["image"])
    values = {k: {"value": v, "source": "recorded oracle config"} for k, v in case["values"].items()}
    preset = preset_from_dict({"name": f"oracle-{case['model']}", "family": case["family"], "values": values})
    trace = IMPL.run(ImageInput(path), preset)
    out = _flat(trace[GO_OUTPUT.get(case["model"], "pack")].value)
    exp = case["expect"]
    assert out.nbytes == exp["f32_nbytes"]
    assert hashlib.sha256(out.tobytes()).hexdigest() == exp["f32_sha256"]
    if case["model"] == "lfm2":
        rows, cols, thumb = exp["layout"]
        assert (trace.plan["grid"], trace.plan["has_thumbnail"]) == ([rows, cols], bool(thumb))
    elif case["model"] == "glmocr":
        assert trace.plan["image_grid_thw"] == exp["grid"][:3]
    elif case["model"] == "deepseekocr":
        assert trace.plan["grid"] == [exp["ratio"][1], exp["ratio"][0]]
    else:
        assert trace.plan["num_images"] == len(exp["sizes"])


def test_presets_run_the_pipelines():
    for name in ("lfm2-vl", "glm-ocr", "deepseek-ocr", "nemotron-nano-vl-12b-v2", "nemotron-3-nano-omni"):
        assert IMPL.supports(get_preset(name)) is None
    assert "GLM-OCR only" in IMPL.supports(get_preset("glm-4.1v"))
    assert IMPL.supports(get_preset("step3-vl")) is not None  # no Step3 pipeline in f63eea3
