"""``parity gguf`` recognises every projector type of llama.cpp 0c1e570 (tests/oracles/llamacpp/projector_names.json,
read from clip-impl.h): each is mapped to a family or refused with a reason, and one mapping serves both modules."""

from __future__ import annotations

import json
from pathlib import Path

import gguf
import pytest

import parity.gguf as pg
from parity.errors import ParityError
from parity.impls.llamacpp import hparams as hk
from parity.impls.llamacpp.projectors import AUDIO, NAMES_0C1E570, recognise

NAMES = json.loads((Path(__file__).parent / "oracles" / "llamacpp" / "projector_names.json").read_text())["names"]


def test_the_port_lists_exactly_the_names_of_0c1e570():
    assert list(NAMES_0C1E570) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_every_projector_is_mapped_or_refused_with_a_reason(name):
    rec = recognise(name)
    assert rec.known and rec.status in ("ported", "not ported", "audio")
    if rec.status == "ported":
        assert rec.family and name in hk.FAMILY_OF_PROJECTOR or name == "qwen2.5o"
        assert rec.reason == ""
    else:
        assert rec.reason and "\n" not in rec.reason
        assert (name in AUDIO) == (rec.status == "audio")


def test_unknown_name():
    rec = recognise("not_a_projector")
    assert not rec.known and rec.status == "unknown" and "PROJECTOR_TYPE_UNKNOWN" in rec.reason


def test_one_mapping():
    assert not hasattr(pg, "FAMILY_OF_PROJECTOR")
    assert pg.family_of is hk.family_of


def test_part_b_projectors_map_to_their_families():
    names = ("lfm2", "glm4v", "deepseekocr", "deepseekocr2", "step3vl", "nemotron_v2_vl")
    got = {p: recognise(p).family for p in names}
    assert got == {"lfm2": "lfm2-vl", "glm4v": "glm4v", "deepseekocr": "deepseek-ocr", "deepseekocr2": "deepseek-ocr",
                   "step3vl": "step3-vl", "nemotron_v2_vl": "nemotron-vl"}


def _write(path, projector):
    w = gguf.GGUFWriter(str(path), "clip")
    w.add_bool("clip.has_vision_encoder", True)
    w.add_string("clip.projector_type", projector)
    w.add_uint32("clip.vision.image_size", 448)
    w.add_uint32("clip.vision.patch_size", 14)
    w.add_array("clip.vision.image_mean", [0.5, 0.5, 0.5])
    w.add_array("clip.vision.image_std", [0.5, 0.5, 0.5])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


@pytest.mark.parametrize("projector,status", [("lightonocr", "not ported"), ("ultravox", "audio"),
                                              ("glm5v", "not ported"), ("made_up", "unknown")])
def test_inspect_reports_unported_with_the_reason(tmp_path, projector, status):
    report = pg.inspect_mmproj(_write(tmp_path / "m.gguf", projector))
    assert report["projector"] == projector and report["status"] == status and report["reason"]
    assert report["derived"] is None and report["keys"]["clip.projector_type"] == projector
    text = pg.render_gguf_text(report)
    assert f"{status}: " in text and "Traceback" not in text
    with pytest.raises(ParityError, match="not covered"):
        pg.preset_from_gguf(tmp_path / "m.gguf")


def test_inspect_names_the_presets_of_the_family(tmp_path):
    path = _write(tmp_path / "m.gguf", "lfm2")
    report = pg.inspect_mmproj(path)
    assert report["status"] == "ported" and report["family"] == "lfm2-vl" and report["presets"] == ["lfm2-vl"]
    assert "presets: lfm2-vl" in pg.render_gguf_text(report)
