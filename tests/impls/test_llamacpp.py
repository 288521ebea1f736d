"""The ``llamacpp`` impl (llama.cpp 0c1e570 tools/mtmd), against outputs recorded from the real C++."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from parity.decode.stb import decode_stb, png_rgb_stb
from parity.impls import IMPLS
from parity.impls.base import ImageInput
from parity.impls.llamacpp import LlamaCppImpl
from parity.impls.llamacpp.dyn_size import smart_resize_llamacpp
from parity.impls.llamacpp.hparams import hparams_from_gguf
from parity.impls.llamacpp.llava_uhd import select_best_resolution
from parity.impls.llamacpp.resize import resize_llamacpp
from parity.kernels.pad_llamacpp import pad_geometry_llamacpp
from parity.presets import get_preset, preset_from_dict

ORACLES = Path(__file__).parents[1] / "oracles" / "llamacpp"
CASES = json.loads((ORACLES / "preprocess.json").read_text())
IMPL = LlamaCppImpl()


def synthetic_image(w: int, h: int) -> np.ndarray:
    """The deterministic input the oracle cases were recorded on (see tests/oracles/llamacpp/README.md)."""
    y, x, c = np.meshgrid(np.arange(h), np.arange(w), np.arange(3), indexing="ij")
    return ((x * 7 + y * 13 + c * 50 + (x * y % 17) * 5) % 256).astype(np.uint8)


def gguf_preset(name: str, values: dict):
    return preset_from_dict({"name": name, "family": "test",
                             "values": {k: {"value": v, "source": "test"} for k, v in values.items()}})


class TestPreprocessorsVsCpp:
    """One recorded case per preprocessor type: the whole ``inp_raw`` must be identical."""

    @pytest.fixture(scope="class")
    def raw(self):
        return dict(np.load(ORACLES / "preprocess.npz"))

    @pytest.mark.parametrize("case", sorted(CASES))
    def test_inp_raw_equals_cpp(self, case, raw):
        meta = CASES[case]
        w, h = meta["image_wh"]
        trace = IMPL.run(ImageInput(f"{case}.png", injected=synthetic_image(w, h)), gguf_preset(case, meta["gguf"]))
        pack = trace["pack"]
        chunks = pack.value if isinstance(pack.value, tuple) else tuple(pack.value)
        assert [[c.shape[2], c.shape[1]] for c in chunks] == meta["chunks_wh"]
        assert pack.nbytes == meta["inp_raw_nbytes"]
        assert pack.sha256 == meta["inp_raw_sha256"]
        if case in raw:
            got = np.concatenate([c.ravel() for c in chunks])
            np.testing.assert_array_equal(got, raw[case])  # exact: same float32 arithmetic

    @pytest.mark.parametrize("case,expected_first,expected_last", [
        ("uhd_llava16", "slice 0", "overview"),      # mlp + pinpoints: ov_img_first is false at 0c1e570
        ("uhd_minicpmv", "overview", "slice 5"),     # resampler: overview first
        ("uhd_llama4", "slice 0", "overview"),
        ("internvl", "slice 0", "overview"),
        ("idefics3_edge", "slice 0", "overview"),
    ])
    def test_slice_order(self, case, expected_first, expected_last):
        meta = CASES[case]
        trace = IMPL.run(ImageInput("x.png", injected=synthetic_image(*meta["image_wh"])), gguf_preset(case, meta["gguf"]))
        roles = trace["pack"].note.split("chunk order: ", 1)[1].split(", ")
        assert roles[0] == expected_first and roles[-1] == expected_last


class TestSmartResize:
    def test_tie_rounds_half_away_from_zero(self):
        # 70 / 28 = 2.5 factors: std::round gives 3 (84); Python's round would give 2 (56)
        assert smart_resize_llamacpp(70, 70, 28) == (84, 84)
        assert round(70 / 28) * 28 == 56
        assert smart_resize_llamacpp(42, 98, 28) == (56, 112)  # 1.5 -> 2, 3.5 -> 4

    # (w, h) -> what the C++ computed (recorded with the qwen2-vl limits: 28-px alignment, 8..4096 tokens)
    CPP = {(70, 70): (84, 84), (42, 42): (84, 84), (910, 372): (924, 364), (10, 10): (84, 84),
           (1, 1): (84, 84), (3000, 4000): (1540, 2044), (1536, 4374): (1036, 2996),
           (4818, 4818): (1792, 1792), (4405, 4405): (1792, 1792), (2676, 2676): (1764, 1764)}

    @pytest.mark.parametrize("wh", sorted(CPP))
    def test_sizes_match_cpp(self, wh):
        assert smart_resize_llamacpp(*wh, 28, 8 * 784, 4096 * 784) == self.CPP[wh]

    def test_float32_matters(self):
        # float64 arithmetic gives 1764 here; llama.cpp's float32 beta gives 1792
        import math

        beta = math.sqrt(4818 * 4818 / (4096 * 784))
        assert math.floor(4818 / beta / 28) * 28 == 1764
        assert smart_resize_llamacpp(4818, 4818, 28, 8 * 784, 4096 * 784) == (1792, 1792)

    def test_longest_edge_branch(self):
        # scale = 40 / 33 in float; ceil to the alignment
        assert smart_resize_llamacpp(33, 21, 16, longest_edge=40) == (48, 32)


class TestPadGeometry:
    @pytest.mark.parametrize("src,style,expected", [
        # scale 16/17: width 16, height 13*0.94 = 12.24 -> ceil 13 (remainder 3 -> offset 1) / round 12
        ((17, 13), "ceil", (16, 13, 0, 1)),
        ((17, 13), "nearest", (16, 12, 0, 2)),
        # height 14*0.8 = 11.2 -> ceil 12 (offset 2) / round 11, remainder 5 -> 2.5 -> 3 (half away)
        ((20, 14), "ceil", (16, 12, 0, 2)),
        ((20, 14), "nearest", (16, 11, 0, 3)),
        # upscale 5x3 -> 16x16: scale 3.2, height 9.6 -> 10 either way, remainder 6 -> 3
        ((5, 3), "ceil", (16, 10, 0, 3)),
        ((3, 5), "nearest", (10, 16, 3, 0)),
    ])
    def test_geometry(self, src, style, expected):
        g = pad_geometry_llamacpp(*src, 16, 16, style)
        assert (g.inner_width, g.inner_height, g.offset_x, g.offset_y) == expected

    @pytest.mark.parametrize("style", ["ceil", "nearest"])
    def test_padded_canvas_vs_cpp(self, style):
        rec = np.load(ORACLES / "resize.npz")
        step = resize_llamacpp(rec["src"], 16, 16, "bicubic", style, (122, 116, 104), "image")
        np.testing.assert_array_equal(step.padded, rec[f"pad_{style}_16x16"])

    def test_same_size_is_a_copy_even_with_pad(self):
        img = synthetic_image(16, 16)
        step = resize_llamacpp(img, 16, 16, "bicubic", "ceil", (1, 2, 3), "image")
        assert step.padded is None and np.array_equal(step.output, img) and step.plan["copy"]


class TestHparams:
    def test_llava16_refined_pad_is_black(self):
        # known quirk of clip.cpp at 0c1e570: the (122, 116, 104) refined colour is set only without pinpoints
        hp = IMPL.hparams(get_preset("llava-1.6"))
        assert hp.preprocessor == "llava_uhd" and not hp.ov_img_first
        assert hp.pad_color == (122, 116, 104) and hp.pad_color_rf == (0, 0, 0)
        assert hp.res_candidates == ((336, 672), (672, 336), (672, 672), (1008, 336), (336, 1008))

    def test_llava15_is_fixed_size_with_grey_pad(self):
        hp = IMPL.hparams(get_preset("llava-1.5"))
        assert (hp.preprocessor, hp.resize_algo, hp.resize_pad, hp.pad_color) == (
            "fixed_size", "bicubic", "ceil", (122, 116, 104))

    def test_qwen2vl_limits_from_token_counts(self):
        hp = IMPL.hparams(get_preset("qwen2-vl"))
        assert (hp.n_merge, hp.image_min_pixels, hp.image_max_pixels) == (2, 8 * 784, 4096 * 784)

    def test_select_best_resolution_first_wins_ties(self):
        # 100x100 fits 200x100 and 100x200 equally: the first listed wins
        assert select_best_resolution(100, 100, ((200, 100), (100, 200))) == (200, 100)
        assert select_best_resolution(100, 100, ((100, 200), (200, 100))) == (100, 200)

    def test_unsupported(self):
        assert "no gguf overlay" in IMPL.supports(get_preset("llama-3.2-vision"))
        with pytest.raises(Exception, match="not covered"):
            hparams_from_gguf({"clip.projector_type": "ultravox", "clip.vision.image_size": 1,
                               "clip.vision.patch_size": 1})


class TestDecode:
    @pytest.mark.parametrize("name", ["rgba", "la", "p_trns", "l16", "l_trns"])
    def test_png_matches_stb(self, name, tmp_path):
        rec = np.load(ORACLES / "stb_decode.npz")
        path = tmp_path / f"{name}.png"
        path.write_bytes(rec[f"{name}__png"].tobytes())
        decoded, approx = decode_stb(path)
        assert approx is None
        np.testing.assert_array_equal(decoded.rgb, rec[f"{name}__rgb"])

    def test_alpha_dropped_not_composited(self):
        rgba = np.zeros((2, 2, 4), np.uint8)
        rgba[..., :3] = 200
        rgba[..., 3] = 0  # fully transparent: HF would composite to white, stb keeps the colour
        assert np.all(png_rgb_stb(Image.fromarray(rgba, "RGBA")) == 200)

    def test_16bit_keeps_high_byte(self):
        grey = np.array([[0x12FF, 0xFF00]], dtype=np.uint16)
        out = png_rgb_stb(Image.fromarray(grey))
        assert out[0, :, 0].tolist() == [0x12, 0xFF]

    def test_jpeg_decode_is_exact_stb(self, tmp_path):
        """JPEG goes through the stb_image port (parity.decode.jpeg.stb): no approximate marker."""
        path = tmp_path / "a.jpg"
        Image.fromarray(synthetic_image(16, 8)).save(path, quality=90)
        trace = IMPL.run(ImageInput(str(path)), get_preset("llava-1.5"))
        assert trace["decode"].approximate is None and trace["pack"].approximate is None


class TestTrace:
    def test_stages_and_inp_raw_layout(self, tmp_path):
        path = tmp_path / "img.png"
        Image.fromarray(synthetic_image(700, 500)).save(path)
        trace = IMPLS["llamacpp"].run(ImageInput(str(path)), get_preset("llava-1.6"))
        assert trace.names == ["decode", "plan", "resize", "pad", "tiles", "normalize", "pack"]
        assert trace.plan["canvas"] == [672, 672] and trace.plan["overview_first"] is False
        assert trace["pack"].note.endswith(", overview")
        norm, pack = trace["normalize"].value, trace["pack"].value
        assert pack.shape == (5, 3, 336, 336) and pack.dtype == np.float32
        # inp_raw: each chunk CHW planar, chunks concatenated in order
        expected = b"".join(np.ascontiguousarray(n.transpose(2, 0, 1)).tobytes() for n in norm)
        assert hashlib.sha1(expected).hexdigest() == trace["pack"].sha1
        tiles = trace["tiles"].value
        assert np.array_equal(tiles[-1], trace["resize"].value[0])  # the overview is the plain resize

    def test_injected_decode_skips_decoder(self):
        rgb = synthetic_image(30, 20)
        trace = IMPL.run(ImageInput("missing.png", injected=rgb), get_preset("gemma-3"))
        assert np.array_equal(trace["decode"].value, rgb) and "injected" in trace["decode"].note

    def test_png_bytes_roundtrip_decode_is_exact(self, tmp_path):
        rgb = synthetic_image(40, 30)
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, "PNG")
        (tmp_path / "a.png").write_bytes(buf.getvalue())
        decoded, approx = decode_stb(tmp_path / "a.png")
        assert approx is None and np.array_equal(decoded.rgb, rgb)
