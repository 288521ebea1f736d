"""Diagnose: each cause, produced in the test by corrupting a correct tensor in exactly that way, must rank
first; correct tensors must get no diagnosis. Reference trace: hf-pil on llama-3.2-vision (one 560 tile,
an upscale 300x420 -> 400x560 with 160 rows of padding), or a 2x2-tile downscale for tile order."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_rgb
from PIL import Image

from parity.diagnose import EXIF_TRANSFORMS, KNOWN_NORMALIZATIONS, diagnose, diagnose_decode, diagnose_traces
from parity.impls import IMPLS, ImageInput
from parity.presets import get_preset
from parity.report.external import render_diagnosis_text

PRESET = get_preset("llama-3.2-vision")
MEAN = np.asarray(PRESET["image_mean"])
STD = np.asarray(PRESET["image_std"])


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    path = tmp_path_factory.mktemp("diag") / "small.png"
    Image.fromarray(make_rgb(300, 420, seed=3)).save(path)
    ref = IMPLS["hf-pil"].run(ImageInput(str(path)), PRESET)
    assert ref.plan["resized"] == [400, 560] and ref.plan["grid"] == [1, 1]
    return str(path), ref


def tiles_of(canvas: np.ndarray, rows: int, cols: int, t: int = 560) -> np.ndarray:
    """(H, W, C) -> (rows*cols, C, t, t), row-major: written here, independently of the code under test."""
    return np.stack([np.moveaxis(canvas[r * t:(r + 1) * t, c * t:(c + 1) * t], -1, 0)
                     for r in range(rows) for c in range(cols)])


def normalized(canvas: np.ndarray, mean=MEAN, std=STD, scale=1 / 255) -> np.ndarray:
    x = tiles_of(canvas.astype(np.float64), 1, 1)
    return ((x * scale - mean[None, :, None, None]) / std[None, :, None, None]).astype(np.float32)


def padded(resized: np.ndarray, fill=0, y0: int = 0, x0: int = 0) -> np.ndarray:
    canvas = np.full((560, 560, 3), fill, np.uint8)
    canvas[y0:y0 + resized.shape[0], x0:x0 + resized.shape[1]] = resized
    return canvas


def run(small, observed, **kw):
    path, ref = small
    d = diagnose(observed, ref, PRESET, path, IMPLS["hf-pil"], **kw)
    assert d.causes, f"nothing found:\n{render_diagnosis_text(d.to_dict())}"
    return d


def pack(small) -> np.ndarray:
    return np.asarray(small[1]["pack"].value)


class TestNoFalseDiagnosis:
    def test_identical_dump_has_no_cause(self, small):
        d = diagnose(pack(small), small[1], PRESET, small[0], IMPLS["hf-pil"])
        assert d.baseline["n_diff"] == 0 and d.causes == () and not d.unknown
        assert d.to_dict()["verdict"] == "no difference"

    def test_other_backend_is_only_normalize_arithmetic(self, small):
        # hf-torchvision: same canvas on this upscale, fused float32 normalize: a true, harmless cause
        tv = IMPLS["hf-torchvision"].run(ImageInput(small[0]), PRESET)
        d = run(small, tv["pack"].value)
        assert d.top.name == "normalize-arithmetic" and d.top.match == "exact"
        assert "fused" in d.top.detail["arithmetic"]
        assert {c.name for c in d.causes} == {"normalize-arithmetic"}

    def test_unexplained_noise_is_unknown(self, small):
        rng = np.random.default_rng(0)
        noisy = pack(small) + rng.choice([-1, 1], size=pack(small).shape) * 3 / 255 / STD[0]  # ±3 levels
        d = diagnose(noisy.astype(np.float32), small[1], PRESET, small[0], IMPLS["hf-pil"])
        assert d.unknown and d.to_dict()["verdict"] == "unknown"
        assert "unknown" in render_diagnosis_text(d.to_dict())


class TestPackLevel:
    def test_hwc_vs_chw(self, small):
        d = run(small, np.moveaxis(pack(small), 1, -1))
        assert (d.top.name, d.top.match) == ("hwc-vs-chw", "exact")

    def test_width_height_swap(self, small):
        d = run(small, np.swapaxes(pack(small), -1, -2))
        assert (d.top.name, d.top.match) == ("width-height-swap", "exact")

    def test_bgr_planes(self, small):
        d = run(small, pack(small)[:, ::-1])
        assert (d.top.name, d.top.match, d.top.stage) == ("rgb-vs-bgr", "exact", "pack")

    @pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
    def test_low_precision_rounding(self, small, dtype):
        import torch

        rounded = torch.from_numpy(pack(small).copy()).to(getattr(torch, dtype)).float().numpy()
        d = run(small, rounded)
        assert (d.top.name, d.top.match) == (f"{dtype}-rounding", "exact")


class TestNormalizeLevel:
    def test_missing_normalization(self, small):
        d = run(small, tiles_of(small[1]["pad"].value.astype(np.float32) / np.float32(255), 1, 1))
        assert d.top.name == "missing-normalization"

    def test_range_0_255(self, small):
        d = run(small, tiles_of(small[1]["pad"].value.astype(np.float32), 1, 1))
        assert d.top.name == "range-0-255"

    def test_doubled_normalization(self, small):
        p = pack(small).astype(np.float64)
        d = run(small, ((p - MEAN[None, :, None, None]) / STD[None, :, None, None]).astype(np.float32))
        assert d.top.name == "doubled-normalization"

    @pytest.mark.parametrize("constants", ["ImageNet default", "ImageNet standard 0.5"])
    def test_wrong_mean_std_names_the_set(self, small, constants):
        mean, std = (np.asarray(v) for v in KNOWN_NORMALIZATIONS[constants])
        d = run(small, normalized(small[1]["pad"].value, mean, std))
        assert d.top.name == "wrong-mean-std" and d.top.detail["constants"] == constants
        fit = d.top.detail["affine_fit"]
        np.testing.assert_allclose(fit["mean"], mean, atol=1e-4)
        np.testing.assert_allclose(fit["std"], std, atol=1e-4)

    def test_unknown_mean_std_is_fitted(self, small):
        mean, std = np.array([0.3, 0.4, 0.45]), np.array([0.2, 0.25, 0.3])
        d = run(small, normalized(small[1]["pad"].value, mean, std))
        assert d.top.name == "wrong-mean-std" and "fitted" in d.top.title
        np.testing.assert_allclose(d.top.detail["affine_fit"]["mean"], mean, atol=1e-4)


class TestCanvasLevel:
    def test_bgr_input_pixels(self, small):
        # the image read as BGR (cv2.imread style), then the whole pipeline as usual
        rgb = small[1]["decode"].value
        bgr = IMPLS["hf-pil"].run(ImageInput(small[0], injected=rgb[..., ::-1].copy()), PRESET)
        d = run(small, bgr["pack"].value)
        assert (d.top.name, d.top.stage) == ("rgb-vs-bgr", "decode") and d.top.match == "exact"

    @pytest.mark.parametrize("flag", ["INTER_NEAREST", "INTER_CUBIC", "INTER_AREA"])
    def test_resample_filter(self, small, flag):
        import cv2

        rgb = small[1]["decode"].value
        resized = cv2.resize(rgb, (560, 400), interpolation=getattr(cv2, flag))
        d = run(small, normalized(padded(resized)))
        assert d.top.name == "resample-filter"
        assert d.top.detail["kernel"].startswith("opencv-") or flag == "INTER_NEAREST", d.top.detail

    @pytest.mark.parametrize("module, expected", [("xdraw", "xdraw-catmullrom"),
                                                  ("pillow_fixed", "llamacpp-pillow-bicubic")])
    def test_runtime_resample_kernels(self, small, module, expected):
        # the runtimes' own resizers (Ollama's x/image CatmullRom, llama.cpp's fixed-point Pillow bicubic)
        from importlib import import_module

        mod = import_module(f"parity.kernels.{module}")  # part of parity: a plain import, never skipped
        rgb = small[1]["decode"].value
        if module == "xdraw":
            resized = mod.resize_kernel_xdraw(np.dstack([rgb, np.full((300, 420), 255, np.uint8)]), (400, 560),
                                              "catmullrom")[..., :3]
        else:
            resized = mod.resize_pillow_fixed(rgb, 560, 400, "bicubic")
        d = run(small, normalized(padded(resized)))
        assert d.top.name == "resample-filter" and expected in d.top.detail["equivalent_kernels"], d.top

    def test_resample_filter_exact_lists_equivalents(self, small):
        # PIL bicubic rendered through the reference's own arithmetic: an exact explanation
        rgb = small[1]["decode"].value
        resized = np.asarray(Image.fromarray(rgb).resize((560, 400), Image.Resampling.BICUBIC))
        tv = IMPLS["hf-pil"].run(ImageInput(small[0], injected=rgb), PRESET)
        lut_pack = _through_reference_lut(tv, padded(resized))
        d = run(small, lut_pack)
        assert (d.top.name, d.top.match) == ("resample-filter", "exact")
        assert "pil-bicubic" in d.top.detail["equivalent_kernels"]

    @pytest.mark.parametrize("fill", [255, 128])
    def test_pad_colour(self, small, fill):
        canvas = small[1]["pad"].value.copy()
        canvas[400:] = fill
        d = run(small, normalized(canvas))
        assert d.top.name == "pad-colour" and str(fill) in d.top.detail["fill"]

    def test_pad_position_centre(self, small):
        d = run(small, normalized(padded(small[1]["resize"].value, y0=80)))
        assert d.top.name == "pad-position" and d.top.detail["position"] == "center"

    def test_off_by_one_size(self, small):
        rgb = small[1]["decode"].value
        resized = np.asarray(Image.fromarray(rgb).resize((559, 400), Image.Resampling.BILINEAR))
        d = run(small, normalized(padded(resized)))
        assert d.top.name == "off-by-one-size" and d.top.detail["size"] == [400, 559]


class TestDecodeLevel:
    def test_alpha_policy(self, tmp_path):
        rgba = np.dstack([make_rgb(300, 420, seed=5), np.where(np.arange(420)[None, :] < 200, 255, 0)
                          .repeat(300, 0).astype(np.uint8)])
        path = str(tmp_path / "alpha.png")
        Image.fromarray(rgba, "RGBA").save(path)
        ref = IMPLS["hf-pil"].run(ImageInput(path), PRESET)  # composites over white
        black = np.asarray(Image.alpha_composite(Image.new("RGBA", (420, 300), (0, 0, 0, 255)),
                                                 Image.fromarray(rgba, "RGBA")).convert("RGB"))
        dump = IMPLS["hf-pil"].run(ImageInput(path, injected=black), PRESET)["pack"].value
        d = diagnose(dump, ref, PRESET, path, IMPLS["hf-pil"])
        assert (d.top.name, d.top.match) == ("alpha-policy", "exact") and d.top.detail["policy"] == "pil-black"

    def test_exif_orientation_ignored(self, tmp_path):
        img = Image.fromarray(make_rgb(300, 420, seed=6))
        exif = Image.Exif()
        exif[0x0112] = 6
        path = str(tmp_path / "exif.png")
        img.save(path, exif=exif)
        ref = IMPLS["hf-pil"].run(ImageInput(path), PRESET)  # transformers ignores EXIF
        upright = np.asarray(img.transpose(Image.Transpose.ROTATE_270))
        dump = IMPLS["hf-pil"].run(ImageInput(path, injected=upright), PRESET)["pack"].value
        d = diagnose(dump, ref, PRESET, path, IMPLS["hf-pil"])
        assert (d.top.name, d.top.match) == ("exif-orientation", "exact")


class TestTileOrder:
    def test_column_major(self, tmp_path):
        path = str(tmp_path / "grid.png")
        Image.fromarray(make_rgb(1200, 1300, seed=7)).save(path)
        ref = IMPLS["hf-torchvision"].run(ImageInput(path), PRESET)
        assert ref.plan["grid"] == [2, 2]
        p = np.asarray(ref["pack"].value)
        d = diagnose(p[[0, 2, 1, 3]], ref, PRESET, path, IMPLS["hf-torchvision"])
        assert (d.top.name, d.top.match) == ("tile-order", "exact") and d.top.detail["order"] == "column-major"


def _through_reference_lut(ref, canvas: np.ndarray) -> np.ndarray:
    """Map a canvas through the uint8 -> float table read off ``ref`` (pad -> pack), test-side."""
    pad, p = ref["pad"].value, np.asarray(ref["pack"].value)
    src = tiles_of(pad, 1, 1)
    lut = np.zeros((3, 256), np.float32)
    for c in range(3):
        lut[c, src[:, c].ravel()] = p[:, c].ravel()
    new = tiles_of(canvas, 1, 1)
    out = np.stack([lut[c][new[:, c]] for c in range(3)], 1)
    missing = ~np.stack([np.isin(new[:, c], src[:, c]) for c in range(3)], 1)
    out[missing] = normalized(canvas)[missing]
    return out


class TestDecodeDiagnosis:
    @pytest.mark.parametrize("tag", range(2, 9))
    def test_exif_transforms_match_pillow(self, tmp_path, tag):
        from PIL import ImageOps

        x = make_rgb(5, 7, seed=tag)
        img = Image.fromarray(x)
        exif = img.getexif()
        exif[0x0112] = tag
        img.save(tmp_path / "e.png", exif=exif)
        upright = np.asarray(ImageOps.exif_transpose(Image.open(tmp_path / "e.png")).convert("RGB"))
        np.testing.assert_array_equal(EXIF_TRANSFORMS[tag](x), upright)

    def test_traces_with_different_decodes(self, tmp_path):
        img = Image.fromarray(make_rgb(300, 420, seed=8))
        exif = img.getexif()
        exif[0x0112] = 8
        path = str(tmp_path / "rot.png")
        img.save(path, exif=exif)
        a = IMPLS["hf-pil"].run(ImageInput(path), PRESET)
        b = IMPLS["hf-pil"].run(ImageInput(path, injected=np.rot90(np.asarray(img), 1).copy()), PRESET)
        d = diagnose_traces(a, b, PRESET, path, IMPLS["hf-pil"])
        assert (d.top.name, d.top.stage, d.top.detail["orientation"]) == ("exif-orientation", "decode", 8)

    def test_small_decoder_differences_are_only_partial(self):
        a = make_rgb(40, 50, seed=9)
        b = np.clip(a.astype(int) + (np.arange(a.size).reshape(a.shape) % 3 == 0), 0, 255).astype(np.uint8)
        causes = diagnose_decode(a, b)
        assert [c.name for c in causes] == ["decoder-arithmetic"] and causes[0].match == "partial"
        assert diagnose_decode(a, a.copy()) == []


GEMMA = get_preset("gemma-3")


@pytest.fixture(scope="module")
def large(tmp_path_factory):
    """hf-pil on Gemma 3: a 1000x1200 -> 896x896 downscale with bilinear antialiasing, and no pad stage (the
    resized image is the canvas)."""
    path = tmp_path_factory.mktemp("diag") / "large.png"
    Image.fromarray(make_rgb(1000, 1200, seed=5)).save(path)
    ref = IMPLS["hf-pil"].run(ImageInput(str(path)), GEMMA)
    assert "pad" not in ref and ref["resize"].shape == (896, 896, 3)
    return str(path), ref


def gemma_pack(resized: np.ndarray) -> np.ndarray:
    mean, std = np.asarray(GEMMA["image_mean"]), np.asarray(GEMMA["image_std"])
    x = np.moveaxis(resized.astype(np.float64), -1, 0)[None] / 255
    return ((x - mean[None, :, None, None]) / std[None, :, None, None]).astype(np.float32)


class TestAntialias:
    @pytest.mark.parametrize("flag", ["INTER_LINEAR", "INTER_CUBIC"])
    def test_no_antialias_on_downscale_is_named(self, large, flag):
        import cv2

        path, ref = large
        resized = cv2.resize(ref["decode"].value, (896, 896), interpolation=getattr(cv2, flag))
        d = diagnose(gemma_pack(resized), ref, GEMMA, path, IMPLS["hf-pil"])
        assert d.top is not None, render_diagnosis_text(d.to_dict())
        assert (d.top.name, d.top.stage) == ("no-antialias", "resize"), d.top
        assert d.top.detail["baseline_kernel"] == "pil-bilinear"
        assert "no antialias on downscale" in render_diagnosis_text(d.to_dict())

    def test_another_antialiased_kernel_is_a_filter_mismatch(self, large):
        path, ref = large
        resized = np.asarray(Image.fromarray(ref["decode"].value).resize((896, 896), Image.Resampling.LANCZOS))
        d = diagnose(gemma_pack(resized), ref, GEMMA, path, IMPLS["hf-pil"])
        assert d.top is not None and d.top.name == "resample-filter", d.top
