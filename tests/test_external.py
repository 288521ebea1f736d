"""`parity compare` (parity.external): stage injection, the Llama 3.2 Vision 1500x1749 scenario (the
PRODUCT example: a dump from one impl, which impl matches, where the others diverge), and a dump read as
``pack`` first (issue 11: a 640x480 photo's two tiles swapped is a tile-order mistake, not a mismatched
``normalize`` canvas)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_rgb
from PIL import Image

from parity.compare import compare_traces
from parity.errors import ParityError
from parity.external import compare_external, run_impls
from parity.impls import IMPLS, ImageInput
from parity.presets import get_preset
from parity.report.external import render_external_text
from parity.schema import SCHEMA_VERSION

PRESET = get_preset("llama-3.2-vision")
STD = list(PRESET["image_std"])
PHOTO_640x480 = "fixtures/images/photo_640x480.jpg"


class TestInjection:
    def test_decode_injection_feeds_the_same_pixels(self, image_file):
        path = image_file(200, 260)
        traces, failed = run_impls([IMPLS["hf-pil"], IMPLS["hf-torchvision"]], PRESET, path, "decode")
        assert failed == {}
        a, b = traces["hf-pil"], traces["hf-torchvision"]
        assert a["decode"].note == b["decode"].note and a["decode"].note.startswith("profile injected")
        assert compare_traces(a, b, STD)["decode"].passed

    def test_compare_external_from_decode(self, image_file, tmp_path):
        path = image_file(200, 260, seed=4)
        rgb = np.asarray(Image.open(path).convert("RGB"))
        dump = IMPLS["hf-pil"].run(ImageInput(path, injected=rgb), PRESET)["pack"].value
        np.save(tmp_path / "d.npy", dump)
        res = compare_external(str(tmp_path / "d.npy"), PRESET, path, ["hf-pil"], from_stage="decode")
        assert res.passed and res.from_stage == "decode" and res.to_dict()["from_stage"] == "decode"
        assert "every impl started from the same decode output" in render_external_text(res)

    def test_later_stage_is_refused_with_the_supported_list(self, image_file):
        # the one injection path (parity.case.inject_decode) and its message
        with pytest.raises(ParityError, match="--from-stage 'resize' is not injectable; valid: decode"):
            run_impls([IMPLS["hf-pil"]], PRESET, image_file(20, 20), "resize")


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    """The PRODUCT example's geometry: a 1500x1749 (w x h) photo -> 2x2 tiles of 560 (15,052,800 bytes)."""
    path = tmp_path_factory.mktemp("scenario") / "photo.png"
    Image.fromarray(make_rgb(1749, 1500, seed=42)).save(path)
    return str(path)


def test_llama32_1500x1749_scenario(photo, tmp_path):
    tv = IMPLS["hf-torchvision"].run(ImageInput(photo), PRESET)
    raw = np.asarray(tv["pack"].value).astype("<f4").tobytes()
    assert len(raw) == 15_052_800
    dump = tmp_path / "inp_raw.bin"
    dump.write_bytes(raw)
    res = compare_external(str(dump), PRESET, photo, ["hf-pil", "hf-torchvision"])
    assert res.passed and res.matched == ["hf-torchvision"]
    assert res.dump.shape == (4, 3, 560, 560) and res.plan["grid"] == [2, 2]
    other = next(m for m in res.matches if m.impl == "hf-pil")
    assert other.match != "exact"
    # the two backends resize differently (PIL vs torchvision antialiased bilinear), the rest follows
    assert other.diverges_from_match["first_divergence"] == "resize"
    assert "pack" in other.diverges_from_match["consequences"]
    assert other.diff.worst_at is not None and set(other.diff.worst_at) == {"tile", "channel", "y", "x"}
    text = render_external_text(res)
    assert "MATCH: the dump is bit-identical to the output of hf-torchvision" in text
    assert "diverges from hf-torchvision at resize" in text
    d = res.to_dict()
    assert d["schema_version"] == SCHEMA_VERSION and d["closest"] == "hf-torchvision"

    # and the other way round, with hf-pil as the reference: the diagnosis names the resize and the
    # normalize arithmetic of the torchvision backend
    td = compare_traces(IMPLS["hf-pil"].run(ImageInput(photo), PRESET), tv, STD)
    assert td.first_divergence.name == "resize" and td["plan"].passed
    # the pack differences split into those inherited from the resize and the normalize arithmetic's own
    iso = td["pack"].isolated
    assert iso["n_diff_from_upstream"] + iso["n_diff"] == td["pack"].n_diff
    assert 0 < iso["n_diff_from_upstream"] <= td["resize"].n_diff
    assert iso["n_diff"] > 0 and iso["max_abs"] < 1e-6  # float32 rounding only, where the pixels agree


class TestDumpIsPackFirst:
    """A dump is inp_raw: compared with ``pack`` unless it equals another stage of its size exactly."""

    @pytest.fixture(scope="class")
    def reference(self):
        trace = IMPLS["reference"].run(ImageInput(PHOTO_640x480), PRESET)
        # the geometry: 2 tiles, and a canvas-shaped normalize of the same byte count as pack
        assert trace["pack"].shape == (2, 3, 560, 560) and trace["normalize"].shape == (3, 560, 1120)
        return trace

    def test_swapped_tiles_are_compared_as_pack_and_diagnosed_as_tile_order(self, reference, tmp_path):
        tiles = np.asarray(reference["pack"].value)
        path = tmp_path / "inp_raw.bin"
        path.write_bytes(tiles[[1, 0]].astype("<f4").tobytes())
        res = compare_external(str(path), PRESET, PHOTO_640x480)  # every impl, as a new user runs it
        assert not res.passed
        assert res.dump.chosen.target.stage == "pack" and res.dump.shape == (2, 3, 560, 560)
        ref = next(m for m in res.matches if m.impl == "reference")
        assert ref.stage == "pack" and ref.match == "differ" and res.closest.stage == "pack"
        top = res.diagnosis.top
        assert (top.name, top.match, top.stage, top.detail["perm"]) == ("tile-order", "exact", "tiles", [1, 0])
        assert res.first_divergence == {"stage": "tiles", "source": "diagnosis", "evidence": top.title}
        text = render_external_text(res)
        assert "shape from pack 2x3x560x560" in text
        assert "likely causes:\n  1. [exact] tile order: " in text
        assert "needs a pack-sized dump" not in text

    def test_a_dump_equal_to_another_stage_is_compared_as_that_stage(self, reference, tmp_path):
        path = tmp_path / "normalize.bin"
        path.write_bytes(np.asarray(reference["normalize"].value).astype("<f4").tobytes())
        res = compare_external(str(path), PRESET, PHOTO_640x480, ["reference", "hf-pil"])
        assert res.passed and res.dump.chosen.target.stage == "normalize" and res.dump.shape == (3, 560, 1120)
        assert [(m.impl, m.stage, m.match) for m in res.matches] == [("reference", "normalize", "exact"),
                                                                     ("hf-pil", "normalize", "exact")]
