"""internvl3 on hf-pil / hf-torchvision (staged == transformers' InternVLProcessor, bit for bit) and on the
reference (the authors' load_image port == the authors' functions run on the same pixels, recorded in
tests/oracles/internvl-reference). The llamacpp impl is checked in test_llamacpp_coverage_a.py."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import make_rgb
from PIL import Image

from parity.impls import ImageInput, get_impl
from parity.presets import get_preset

PRESET = get_preset("internvl3")
ORACLE = json.loads((Path(__file__).parents[1] / "oracles" / "internvl-reference" / "cases.json").read_text())
IMAGES = Path(__file__).parents[2] / "fixtures" / "images"
SIZES = [(480, 640), (5, 7), (1, 1), (20, 160), (448, 448), (1000, 1000), (300, 2000)]


@pytest.fixture(scope="module")
def internvl_processor():
    """transformers' real InternVLProcessor around the checkpoint's image processor config (crop_to_patches as
    the file has it, false: the processor turns it on) and a stand-in word-level tokenizer holding the image
    tokens (the tokenizer does not touch pixels)."""
    from tokenizers import Tokenizer, models
    from transformers import InternVLProcessor, InternVLVideoProcessor, PreTrainedTokenizerFast

    from parity.impls.transformers_processors import make_processor

    vocab = {"<unk>": 0, "<img>": 1, "</img>": 2, "<IMG_CONTEXT>": 3, "<video>": 4}
    tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel(vocab, unk_token="<unk>")),
                                  unk_token="<unk>", extra_special_tokens={
                                      "start_image_token": "<img>", "end_image_token": "</img>",
                                      "context_image_token": "<IMG_CONTEXT>", "video_token": "<video>"})

    def build(backend):
        image_processor = type(make_processor(PRESET, backend))(**{**PRESET.hf_config, "crop_to_patches": False})
        return InternVLProcessor(image_processor=image_processor, tokenizer=tok,
                                 video_processor=InternVLVideoProcessor(), image_seq_length=256)

    return build


class TestHf:
    @pytest.mark.parametrize("backend", ["pil", "torchvision"])
    @pytest.mark.parametrize("h,w", SIZES)
    def test_pack_and_tokens_equal_the_internvl_processor(self, internvl_processor, backend, h, w):
        rgb = make_rgb(h, w, seed=h * 3 + w)
        out = internvl_processor(backend)(images=[Image.fromarray(rgb)], text=["<IMG_CONTEXT>"], return_tensors="np")
        trace = get_impl(f"hf-{backend}").run(ImageInput("x.png", rgb), PRESET)
        assert trace["pack"].value.dtype == out["pixel_values"].dtype
        assert np.array_equal(trace["pack"].value, out["pixel_values"])
        ids = out["input_ids"][0]
        plan = trace["plan"].value
        assert plan["num_tokens"] == len(ids) and plan["num_embeddings"] == int((ids == 3).sum())

    def test_tiles_are_crops_of_the_resized_image(self):
        trace = get_impl("hf-pil").run(ImageInput("x.png", make_rgb(480, 640)), PRESET)
        resized, tiles = trace["resize"].value, trace["tiles"].value
        assert resized.shape == (3 * 448, 4 * 448, 3) and tiles.shape == (13, 3, 448, 448)
        assert np.array_equal(tiles[5].transpose(1, 2, 0), resized[448:896, 448:896])  # row 1, col 1


def _pixels(inp):
    if "make_rgb" in inp:
        h, w, seed = inp["make_rgb"]
        return ImageInput("x.png", make_rgb(h, w, seed=seed))
    return ImageInput(str(IMAGES / inp["fixture"]))


#: every generated size and a sample of the fixtures (alpha, palette, 16-bit, EXIF, CMYK, thin, photo)
FIXTURES = {"mode_rgba_300x200.png", "mode_palette_trns_300x200.png", "mode_gray16_300x200.png",
            "exif_orient6_240x160.jpg", "mode_cmyk_300x200.jpg", "aspect_1x200_10x2000.png", "photo_640x427.jpg",
            "tie_1344x1001.png"}
REF_CASES = [c for c in ORACLE["cases"] if "make_rgb" in c["input"] or c["input"]["fixture"] in FIXTURES]


class TestReference:
    def test_the_sample_is_all_there(self):
        assert len(REF_CASES) == 13 + len(FIXTURES)

    @pytest.mark.parametrize("case", REF_CASES, ids=lambda c: str(c["input"]))
    def test_pack_equals_the_authors_load_image(self, case):
        trace = get_impl("reference").run(_pixels(case["input"]), PRESET)
        pv = trace["pack"].value
        assert pv.dtype == np.float32 and pv.shape[0] == case["num_patches"]
        assert hashlib.sha256(pv.astype("<f4").tobytes()).hexdigest() == case["pixel_values_sha256"]

    def test_decodes_like_convert_rgb(self):
        # Image.open(f).convert('RGB'): no EXIF rotation, alpha dropped (not composited)
        from parity.impls.reference import RECIPES

        assert RECIPES["internvl"].decoder == "pil-drop-alpha"
