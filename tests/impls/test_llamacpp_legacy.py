"""``llamacpp-legacy``: llama.cpp c392e50 examples/llava/clip.cpp, end to end.

The pipeline cases compare ``inp_raw`` (the ``pack`` stage's bytes) with sha256 recorded from the real
C++ (tests/oracles/llamacpp-legacy/preprocess.json): exact. The geometry tests pin the decisions
(dispatch, LLaVA branch, pinpoint choice and its ties, MiniCPM-V grid, slice order) on hand-derived values.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import legacy_oracle_pattern as pattern
from PIL import Image

from parity.errors import ParityError
from parity.impls import IMPLS
from parity.impls.base import ImageInput
from parity.impls.llamacpp_legacy import LlamaCppLegacyImpl
from parity.impls.llamacpp_legacy.anyres import plan_anyres, select_best_resolution
from parity.impls.llamacpp_legacy.config import config_from_gguf, llava_branch, pinpoints_of
from parity.impls.llamacpp_legacy.qwen2vl import plan_qwen2vl
from parity.impls.llamacpp_legacy.uhd import best_grid, ensure_divide, plan_uhd, slice_multiple
from parity.kernels.clip_legacy import resize_bicubic_llamacpp_legacy
from parity.presets import get_preset, preset_from_dict
from parity.trace import canonical_bytes

ORACLES = Path(__file__).parents[1] / "oracles" / "llamacpp-legacy"
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
PINPOINTS = [336, 672, 672, 336, 672, 672, 1008, 336, 336, 1008]
FLAGS = {"minicpmv": "clip.has_minicpmv_projector", "qwen2vl": "clip.has_qwen2vl_merger",
         "glm": "clip.has_glm_projector"}
IMPL = LlamaCppLegacyImpl()


def llava_values(**extra) -> dict:
    base = {"clip.vision.image_size": 336, "clip.vision.patch_size": 14,
            "clip.vision.image_mean": CLIP_MEAN, "clip.vision.image_std": CLIP_STD}
    return {**base, **extra}


def preset_of(values: dict):
    table = {k: {"value": v, "source": "test"} for k, v in values.items()}
    return preset_from_dict({"name": "test", "family": "llava"}, overlays={"gguf": table})


def oracle_preset(cfg: dict):
    values = {"clip.vision.image_size": cfg["image_size"], "clip.vision.patch_size": cfg["patch_size"],
              "clip.vision.image_mean": cfg["mean"], "clip.vision.image_std": cfg["std"],
              "clip.vision.mm_patch_merge_type": cfg["merge_type"]}
    if cfg["pinpoints"]:
        values["clip.vision.image_grid_pinpoints"] = cfg["pinpoints"]
    if cfg["kind"] in FLAGS:
        values[FLAGS[cfg["kind"]]] = True
    return preset_of(values)


def pack_bytes(trace) -> bytes:
    return canonical_bytes(trace["pack"].value)


PREPROCESS_CASES = json.loads((ORACLES / "preprocess.json").read_text())["cases"]


class TestAgainstCpp:
    @pytest.mark.parametrize("case", PREPROCESS_CASES, ids=lambda c: c["case"])
    def test_inp_raw_matches_recorded_cpp(self, case, tmp_path):
        h, w = case["input_hw"]
        rgb = pattern(h, w)
        path = tmp_path / "in.png"
        if case["rgba"]:
            y, x = np.mgrid[0:h, 0:w]
            alpha = ((x * 40 + y * 9) % 256).astype(np.uint8)
            Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(path)
        else:
            Image.fromarray(rgb).save(path)
        trace = IMPL.run(ImageInput(str(path)), oracle_preset(case["config"]))
        raw = pack_bytes(trace)
        assert len(raw) == case["inp_raw_nbytes"]
        head = np.frombuffer(raw[:64], np.float32).tolist()
        assert head == case["inp_raw_head"], "first floats of inp_raw differ"
        assert hashlib.sha256(raw).hexdigest() == case["inp_raw_sha256"]
        assert trace["pack"].sha256 == case["inp_raw_sha256"]
        assert trace["decode"].approximate is None  # PNG: stb semantics reproduced exactly

    def test_stage_injection_gives_the_same_pack(self, tmp_path):
        rgb = pattern(100, 300)
        path = tmp_path / "in.png"
        Image.fromarray(rgb).save(path)
        preset = preset_of(llava_values(**{"clip.vision.mm_patch_merge_type": "spatial_unpad",
                                           "clip.vision.image_grid_pinpoints": PINPOINTS}))
        a = IMPL.run(ImageInput(str(path)), preset)
        b = IMPL.run(ImageInput(str(path), injected=rgb), preset)
        assert a["pack"].sha1 == b["pack"].sha1
        assert b["decode"].note.startswith("profile injected")


class TestConfig:
    def test_dispatch_by_flags(self):
        assert config_from_gguf(llava_values()).preprocessor == "llava"
        for kind, flag in FLAGS.items():
            assert config_from_gguf(llava_values(**{flag: True})).preprocessor == {"minicpmv": "uhd"}.get(kind, kind)

    def test_minicpmv_first_and_version_zero_disables_it(self):
        both = llava_values(**{"clip.has_minicpmv_projector": True, "clip.has_qwen2vl_merger": True})
        assert config_from_gguf(both).preprocessor == "uhd"
        off = llava_values(**{"clip.has_minicpmv_projector": True, "clip.minicpmv_version": 0})
        assert config_from_gguf(off).preprocessor == "llava"

    def test_flag_inferred_from_projector_type_with_a_note(self):
        cfg = config_from_gguf(llava_values(**{"clip.projector_type": "resampler"}))
        assert cfg.preprocessor == "uhd"
        assert any("has_minicpmv_projector absent" in n for n in cfg.notes)
        explicit = config_from_gguf(llava_values(**{"clip.projector_type": "resampler",
                                                     "clip.has_minicpmv_projector": False}))
        assert explicit.preprocessor == "llava"

    @pytest.mark.parametrize("key", ["clip.vision.image_size", "clip.vision.image_mean", "clip.vision.patch_size"])
    def test_missing_required_key(self, key):
        values = llava_values()
        del values[key]
        with pytest.raises(ParityError, match=key):
            config_from_gguf(values)

    def test_unknown_projector_is_unsupported(self):
        preset = preset_of(llava_values(**{"clip.projector_type": "qwen2.5vl_merger"}))
        reason = IMPL.supports(preset)
        assert reason and "qwen2.5vl_merger" in reason
        with pytest.raises(ParityError, match="qwen2.5vl_merger"):
            IMPL.run(ImageInput("x.png", injected=pattern(4, 4)), preset)

    def test_no_overlay_is_unsupported(self):
        preset = preset_from_dict({"name": "bare", "family": "llava"})
        assert "gguf overlay" in IMPL.supports(preset)

    def test_pinpoints_as_clip_model_load_keeps_them(self):
        assert pinpoints_of({"clip.vision.image_grid_pinpoints": [336, 672, 0, 5, 7, 9]}) == ((336, 672),)
        assert pinpoints_of({"clip.vision.image_grid_pinpoints": [[336, 672], [672, 336]]}) == ((336, 672), (672, 336))
        many = list(range(1, 41))  # only the first 32 values fit clip_hparams.image_grid_pinpoints
        assert len(pinpoints_of({"clip.vision.image_grid_pinpoints": many})) == 16
        with pytest.raises(ParityError, match="pairs"):
            pinpoints_of({"clip.vision.image_grid_pinpoints": [336, 672, 672]})

    @pytest.mark.parametrize("merge,pins,w,h,branch", [
        ("flat", False, 640, 480, "pad_to_square"),
        ("flat", False, 480, 480, "fixed"),
        ("flat", True, 480, 480, "anyres"),           # a square image never pads: pinpoints win
        ("flat", True, 640, 480, "pad_to_square"),
        ("spatial_unpad", True, 640, 480, "anyres"),
        ("spatial_unpad", False, 640, 480, "fixed"),  # no pad, no pinpoints: packed rows
    ])
    def test_llava_branch(self, merge, pins, w, h, branch):
        values = llava_values(**{"clip.vision.mm_patch_merge_type": merge})
        if pins:
            values["clip.vision.image_grid_pinpoints"] = PINPOINTS
        assert llava_branch(config_from_gguf(values), w, h) == branch


class TestAnyres:
    CANDIDATES = tuple(zip(PINPOINTS[0::2], PINPOINTS[1::2]))

    @pytest.mark.parametrize("wh,best", [
        ((1500, 1749), (672, 672)),
        ((1000, 300), (1008, 336)),  # 1008x302 keeps all 300000 pixels
        ((300, 1000), (336, 1008)),
        ((100, 100), (336, 672)),    # all keep 10000: least waste, tie between 336x672 and 672x336 -> first
        ((700, 350), (672, 336)),
    ])
    def test_best_resolution(self, wh, best):
        assert select_best_resolution(*wh, self.CANDIDATES) == best

    def test_plan_and_slice_order(self):
        cfg = config_from_gguf(llava_values(**{"clip.vision.mm_patch_merge_type": "spatial_unpad",
                                               "clip.vision.image_grid_pinpoints": PINPOINTS}))
        plan = plan_anyres(1500, 1749, cfg)
        assert (plan.best_resolution, plan.resized, plan.pad_offset, plan.grid, plan.num_images) == \
            ((672, 672), (672, 577), (0, 47), (2, 2), 5)
        rgb = pattern(175, 150)
        trace = IMPL.run(ImageInput("x.png", injected=rgb), preset_of(llava_values(
            **{"clip.vision.mm_patch_merge_type": "spatial_unpad", "clip.vision.image_grid_pinpoints": PINPOINTS})))
        assert trace.names == ["decode", "plan", "resize", "pad", "tiles", "normalize", "pack"]
        tiles = trace["tiles"].value
        assert tiles.shape == (3, 336, 336, 3)  # 336x672 canvas: overview + 2 patches
        assert np.array_equal(tiles[0], resize_bicubic_llamacpp_legacy(rgb, 336, 336)), "overview first"
        canvas = trace["pad"].value
        assert np.array_equal(tiles[1], canvas[:336]) and np.array_equal(tiles[2], canvas[336:])


class TestFixed:
    def test_pad_to_square_top_left_then_resize(self):
        rgb = pattern(13, 29)
        trace = IMPL.run(ImageInput("x.png", injected=rgb), preset_of(llava_values()))
        assert trace.names == ["decode", "plan", "pad", "resize", "normalize", "pack"]
        pad = trace["pad"].value
        assert pad.shape == (29, 29, 3) and np.array_equal(pad[:13], rgb)
        assert (pad[13:] == [122, 116, 104]).all()
        assert trace.plan["padded_square"] == [29, 29] and trace.plan["pad_offset"] == [0, 0]  # top-left
        assert trace["pack"].shape == (1, 3, 336, 336)

    def test_unpadded_non_square_packs_rows(self):
        preset = preset_of(llava_values(**{"clip.vision.mm_patch_merge_type": "spatial_unpad"}))
        trace = IMPL.run(ImageInput("x.png", injected=pattern(100, 300)), preset)
        assert trace.plan["resized"] == [112, 336] and "rows are packed" in trace["plan"].note
        assert trace.plan["padded_square"] == [100, 300] and trace.plan["canvas"] == [336, 336]
        buf = trace["normalize"].value[0].reshape(-1)
        resized = trace["resize"].value
        expected = (resized.astype(np.float32) / np.float32(255) - np.float32(CLIP_MEAN)) / np.float32(CLIP_STD)
        # the resized rows follow each other with their own stride; the rest of the buffer is 0.0
        assert np.array_equal(buf[:resized.size], expected.reshape(-1))
        assert (buf[resized.size:] == 0).all()
        # so the encoder's row 0 holds the resized image's rows 0 and 1 (CHW planar, R plane)
        assert np.array_equal(trace["pack"].value[0, 0, 0, :336], expected[0, :, 0])


class TestUhd:
    def test_ensure_divide_rounds_half_away(self):
        assert ensure_divide(21, 14) == 28   # 1.5 -> 2
        assert ensure_divide(20, 14) == 14   # 1.43 -> 1
        assert ensure_divide(3, 14) == 14    # at least one patch

    def test_best_grid_first_minimum(self):
        # 1000x700 (h x w): multiple 4 -> factorisations of 3, 4, 5; log(0.7) is closest to log(2/2)
        assert best_grid(4, np.float32(np.log(0.7))) == (2, 2)
        assert best_grid(2, np.float32(0.0)) == (1, 2)  # (1,2) and (2,1) tie in |log|: first wins

    @pytest.mark.parametrize("w,h,multiple,grid,n", [
        (60, 100, 1, (0, 0), 1), (700, 1000, 4, (2, 2), 5), (1400, 448, 4, (1, 3), 4), (1500, 1749, 9, (3, 3), 10),
        (448, 448, 1, (0, 0), 1), (449, 448, 2, (1, 2), 3),
    ])
    def test_plan(self, w, h, multiple, grid, n):
        plan = plan_uhd(w, h)
        assert (slice_multiple(w, h), plan.grid, plan.num_images, len(plan.tgt_sizes)) == (multiple, grid, n, n)

    def test_overview_first_and_reshape_by_patch(self):
        preset = preset_of(llava_values(**{"clip.has_minicpmv_projector": True}))
        rgb = pattern(1000, 700)
        trace = IMPL.run(ImageInput("x.png", injected=rgb), preset)
        tiles = trace["tiles"].value
        oh, ow = trace.plan["resized"]
        assert np.array_equal(tiles[0], resize_bicubic_llamacpp_legacy(rgb, ow, oh))
        pack = trace["pack"].value
        first = pack[0] if isinstance(pack, tuple) else pack[0]
        assert first.shape == (3, 14, 14 * (oh // 14) * (ow // 14))


class TestQwen2vl:
    @pytest.mark.parametrize("w,h,resized", [(20, 30, [56, 28]), (28, 28, [28, 28]), (29, 57, [84, 56])])
    def test_plan_ceil_to_multiples_of_28(self, w, h, resized):
        cfg = config_from_gguf(llava_values(**{"clip.has_qwen2vl_merger": True}))
        assert list(plan_qwen2vl(w, h, cfg).resized) == resized


class TestRealPresets:
    def test_registered(self):
        assert IMPLS["llamacpp-legacy"].version == "llama.cpp c392e50 (examples/llava/clip.cpp)"

    @pytest.mark.parametrize("name,branch", [("llava-1.5", "fixed"), ("mobilevlm", "fixed"), ("llava-1.6", "anyres"),
                                             ("minicpm-v-2.6", "minicpmv-uhd"), ("qwen2-vl", "qwen2vl")])
    def test_runs_on_preset(self, name, branch):
        # the plan's note names the preprocessor (the plan's keys are the family's, for comparison)
        preset = get_preset(name)
        assert IMPL.supports(preset) is None, f"{name}: {IMPL.supports(preset)}"  # every listed preset must run
        trace = IMPL.run(ImageInput("x.png", injected=pattern(61, 90)), preset)
        assert trace["plan"].note.startswith(branch + " (clip.cpp c392e50)")
        assert trace["pack"].dtype == "float32"
        assert trace["pack"].nbytes == sum(4 * int(np.prod(v.shape)) for v in (
            trace["pack"].value if isinstance(trace["pack"].value, tuple) else [trace["pack"].value]))
