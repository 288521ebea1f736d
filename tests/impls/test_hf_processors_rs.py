"""hf-processors-rs / hf-processors-rs-torchvision: the installed Rust port run as it is. Its stages are
observed through its own API (rescale/normalize switched off; the Qwen patch layout inverted), so the
tests check the inversion against transformers' own patchify, that the observed stages are the ones its
final tensor is made from (exact agreement with transformers where the port is exact), and pin the
divergences found (alpha dropped; Pillow 13's vertical-first pass order not reproduced)."""

from pathlib import Path

import numpy as np
import pytest
from conftest import make_rgb
from PIL import Image

from parity.decode import decode_pil
from parity.errors import ParityError
from parity.impls import ImageInput, get_impl
from parity.impls.hf_processors_rs import HfProcessorsRsImpl, exact_uint8, processor, unpatchify
from parity.impls.transformers_processors import make_processor
from parity.presets import all_presets, get_preset

IMPLS = {"pil": HfProcessorsRsImpl("pil"), "torchvision": HfProcessorsRsImpl("torchvision")}
IMAGES = Path(__file__).resolve().parents[2] / "fixtures" / "images"
COVERED = ["qwen2-vl", "qwen2.5-vl", "qwen3-vl", "llava-1.5", "mobilevlm"]


def image(name: str) -> str:
    return str(IMAGES / name)


def test_names_mirror_hf_pil_and_hf_torchvision():
    assert (IMPLS["pil"].name, IMPLS["torchvision"].name) == ("hf-processors-rs", "hf-processors-rs-torchvision")
    assert IMPLS["pil"].version == "hf-processors-rs 0.1.0 (backend=pil)"


@pytest.mark.parametrize("backend", ["pil", "torchvision"])
def test_supported_presets_and_the_librarys_own_refusals(backend):
    impl = IMPLS[backend]
    assert {n for n, p in all_presets().items() if impl.supports(p) is None} == set(COVERED)
    assert impl.supports(get_preset("gemma-3")) == "hf-processors-rs 0.1.0: unsupported processor: Gemma3ImageProcessor"


@pytest.mark.parametrize("name", ["qwen2-vl", "qwen3-vl"])
def test_unpatchify_inverts_transformers_patchify(name):
    preset = get_preset(name)
    s = processor(preset, "pil").settings
    p, m, t = s["patch_size"], s["merge_size"], s["temporal_patch_size"]
    x = np.random.default_rng(0).standard_normal((3, 4 * p, 6 * p)).astype(np.float32)
    patches, gh, gw = make_processor(preset, "pil").patchify(x, patch_size=p, merge_size=m, temporal_patch_size=t)
    assert unpatchify(patches, (1, gh, gw), 3, t, p, m).tobytes() == x.tobytes()


def test_non_uint8_values_are_refused():
    with pytest.raises(ParityError, match="not uint8-valued"):
        exact_uint8(np.array([0.0, 12.5]), "resize")


#: sizes where the port is exact on both backends: both sides grow (qwen3: 200x150 -> 320x224), or the height
#: shrinks by at most twice the width's shrink (qwen2: 60x90 -> 56x84; llava: 400x500 -> 336x420), so
#: Pillow 13 also resizes horizontally first
EXACT = [("qwen2-vl", (60, 90)), ("qwen3-vl", (200, 150)), ("llava-1.5", (400, 500))]


@pytest.mark.parametrize("backend", ["pil", "torchvision"])
@pytest.mark.parametrize(("name", "size"), EXACT)
def test_observed_stages_equal_transformers_where_the_port_is_exact(backend, name, size):
    preset, rgb = get_preset(name), make_rgb(*size, seed=7)
    ours = IMPLS[backend].run(ImageInput("generated.png", rgb), preset)
    hf = get_impl(f"hf-{backend}").run(ImageInput("generated.png", rgb), preset)
    for stage in ("decode", "resize", "tiles", "pack", "image_grid_thw"):
        if stage in hf:
            assert ours[stage].value.tobytes() == hf[stage].value.tobytes(), stage
    assert ours.plan["resized"] == hf.plan["resized"]
    # pack is the library's own output for these pixels
    direct = processor(preset, backend)(rgb, input_data_format="channels_last")
    direct = direct["pixel_values"] if isinstance(direct, dict) else direct
    assert ours["pack"].value.tobytes() == np.asarray(direct).tobytes()


def test_pil_backend_keeps_pillow_12s_pass_order():
    """480x640 -> 476x644 (qwen2-vl): Pillow 13.0.0's Resample.c runs the vertical pass first when the
    height shrinks by more than twice the width (here it grows); the port always goes horizontal first,
    as Pillow <= 12 did. Both passes round to uint8, so the order shows."""
    preset, rgb = get_preset("qwen2-vl"), make_rgb(480, 640, seed=1)
    ours = IMPLS["pil"].run(ImageInput("generated.png", rgb), preset)["resize"].value
    hf = get_impl("hf-pil").run(ImageInput("generated.png", rgb), preset)["resize"].value
    im = Image.fromarray(rgb)
    horizontal_first = np.asarray(im.resize((644, 480), Image.BICUBIC).resize((644, 476), Image.BICUBIC))
    vertical_first = np.asarray(im.resize((640, 476), Image.BICUBIC).resize((644, 476), Image.BICUBIC))
    assert ours.tobytes() == horizontal_first.tobytes()
    assert hf.tobytes() == vertical_first.tobytes() != ours.tobytes()
    tv = IMPLS["torchvision"].run(ImageInput("generated.png", rgb), preset)["resize"].value
    assert tv.tobytes() == get_impl("hf-torchvision").run(ImageInput("generated.png", rgb), preset)["resize"].value.tobytes()


@pytest.mark.parametrize("backend", ["pil", "torchvision"])
def test_its_decoder_drops_alpha_where_transformers_composites_over_white(backend):
    d = IMPLS[backend].run(ImageInput(image("mode_rgba_300x200.png")), get_preset("llava-1.5"))["decode"].value
    assert d.tobytes() == decode_pil(image("mode_rgba_300x200.png"), "pil-drop-alpha").rgb.tobytes()
    assert d.tobytes() != decode_pil(image("mode_rgba_300x200.png"), "pil-hf").rgb.tobytes()


@pytest.mark.parametrize("backend", ["pil", "torchvision"])
def test_its_decoder_ignores_exif_and_matches_pillows_jpeg(backend):
    for name in ("exif_orient6_240x160.jpg", "jpeg_420_501x377.jpg"):
        d = IMPLS[backend].run(ImageInput(image(name)), get_preset("qwen3-vl"))["decode"].value
        assert d.tobytes() == decode_pil(image(name), "pil-hf").rgb.tobytes(), name
