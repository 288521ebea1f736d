"""mistral-small-3.1 (Pixtral ViT, 14-px patches, 2x2 patch merger, longest edge 1540) on every impl that runs it.

- hf-pil / hf-torchvision: the staged ``pack`` equals what transformers' ``PixtralProcessor`` (patch_size 14,
  spatial_merge_size 2, as the checkpoint's processor_config.json) feeds the model, bit for bit;
- reference: mistral-common's own ``ImageEncoder`` with the checkpoint's image config (pixels and tokens);
- ollama: the pixels are Ollama's mistral3 pipeline (verified in tests/impls/test_ollama.py against the real Go at
  patch 14 / edge 1540); here the token count is checked against Go's patch-merger arithmetic;
- llamacpp: ``inp_raw`` and token counts recorded from the real C++ (tests/oracles/llamacpp/coverage_a.json).
"""

import numpy as np
import pytest
from conftest import make_rgb
from PIL import Image

from parity.errors import ParityError
from parity.impls import ImageInput, get_impl
from parity.presets import get_preset

PRESET = get_preset("mistral-small-3.1")
#: (h, w): 1x1, below one merged patch, 3 rows, a thin strip, a photo, exactly on the 28-px grid, over the edge
SIZES = [(1, 1), (5, 7), (3, 50), (20, 160), (300, 200), (56, 84), (1600, 90)]


@pytest.fixture(scope="module")
def pixtral_processor():
    """transformers' real PixtralProcessor as the checkpoint builds it (a stand-in word-level tokenizer holding
    the three image tokens: the tokenizer does not touch pixels)."""
    from tokenizers import Tokenizer, models
    from transformers import PixtralProcessor, PreTrainedTokenizerFast

    from parity.impls.transformers_processors import make_processor

    vocab = {"<unk>": 0, "[IMG]": 1, "[IMG_BREAK]": 2, "[IMG_END]": 3}
    tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel(vocab, unk_token="<unk>")),
                                  unk_token="<unk>")
    tok.add_special_tokens({"additional_special_tokens": ["[IMG]", "[IMG_BREAK]", "[IMG_END]"]})

    def build(backend):
        image_processor = type(make_processor(PRESET, backend))(**{**PRESET.hf_config, "patch_size": 14})
        return PixtralProcessor(image_processor=image_processor, tokenizer=tok, patch_size=14, spatial_merge_size=2)

    return build


class TestHf:
    @pytest.mark.parametrize("backend", ["pil", "torchvision"])
    @pytest.mark.parametrize("h,w", SIZES)
    def test_pack_equals_the_pixtral_processor(self, pixtral_processor, backend, h, w):
        rgb = make_rgb(h, w, seed=h + w)
        out = pixtral_processor(backend)(images=[Image.fromarray(rgb)], text=["[IMG]"], return_tensors="np")
        trace = get_impl(f"hf-{backend}").run(ImageInput("x.png", rgb), PRESET)
        assert np.array_equal(trace["pack"].value, out["pixel_values"][0])
        assert trace["pack"].value.dtype == out["pixel_values"].dtype
        ids = out["input_ids"][0]
        assert trace["plan"].value["num_tokens"] == len(ids)  # the prompt is the image placeholder alone
        assert trace["plan"].value["num_embeddings"] == int((ids == 1).sum())

    def test_sides_are_whole_merged_patches(self):
        trace = get_impl("hf-pil").run(ImageInput("x.png", make_rgb(1749, 1500)), PRESET)
        plan = trace["plan"].value
        # 1749 x 1500 fits to 1540 x floor(1500 / (1749 / 1540)) = 1320, rounded up to 28 px: 1540 x 1344
        assert plan["fitted"] == [1540, 1320] and plan["resized"] == [1540, 1344]
        assert plan["num_embeddings"] == 55 * 48 and plan["num_tokens"] == 55 * 49

    def test_hf_refuses_a_side_that_floors_to_zero(self):
        with pytest.raises(ParityError, match="floors to 0 pixels"):
            get_impl("hf-pil").run(ImageInput("x.png", make_rgb(1, 2000)), PRESET)


class TestReference:
    @pytest.mark.parametrize("h,w", SIZES + [(1, 2000)])
    def test_pack_and_tokens_equal_mistral_commons_image_encoder(self, h, w):
        from mistral_common.protocol.instruct.chunk import ImageChunk

        from parity.impls.reference.pixtral import encoder

        rgb = make_rgb(h, w, seed=3 * h + w)
        enc = encoder(PRESET)
        assert (enc.image_config.image_patch_size, enc.image_config.max_image_size,
                enc.image_config.spatial_merge_size) == (14, 1540, 2)
        expected = enc(ImageChunk(image=Image.fromarray(rgb)))
        trace = get_impl("reference").run(ImageInput("x.png", rgb), PRESET)
        assert np.array_equal(trace["pack"].value, expected.image)
        assert trace["plan"].value["num_tokens"] == len(expected.tokens)


def go_merged_tokens(height: int, width: int) -> tuple[int, int]:
    """Ollama f63eea3 model/models/mistral3: ProcessImage's size (floor into 1540, round up to 14 px), then
    MultiModalProjector.Forward: patchSizes = size / 14, returned grid patchSizes / 2 (Go integer division);
    EncodeMultimodal makes one row per grid row and PostTokenize gives each row its [IMG] tokens plus one
    [IMG_BREAK] ([IMG_END] for the last)."""
    ratio = max(height / 1540, width / 1540)
    if ratio > 1:
        height, width = int(height / ratio), int(width / ratio)
    ph, pw = (height - 1) // 14 + 1, (width - 1) // 14 + 1
    rows, cols = ph // 2, pw // 2
    return rows * (cols + 1), rows * cols


class TestOllama:
    @pytest.mark.parametrize("h,w", [(1749, 1500), (300, 200), (27, 27), (14, 14), (5, 7), (1600, 90)])
    def test_tokens_follow_the_patch_merger(self, h, w):
        trace = get_impl("ollama").run(ImageInput("x.png", make_rgb(h, w)), PRESET)
        plan = trace["plan"].value
        assert (plan["num_tokens"], plan["num_embeddings"]) == go_merged_tokens(h, w)

    def test_the_odd_patch_column_is_dropped(self):
        # 1500 x 1749 -> 1540 x 1330: 95 patch columns; the 2x2 merger keeps 47 of them, HF and
        # mistral-common round the image up to 1344 px (48 merged columns) instead
        plan = get_impl("ollama").run(ImageInput("x.png", make_rgb(1749, 1500)), PRESET)["plan"].value
        assert plan["resized"] == [1540, 1330] and plan["patch_grid"] == [110, 95]
        assert plan["num_embeddings"] == 55 * 47

    def test_reads_the_checkpoints_values(self):
        overlay = PRESET.overlay("ollama")
        assert (overlay["patch_size"], overlay["spatial_merge_size"], overlay["ollama_longest_edge"]) == (14, 2, 1540)


class TestLlamaCpp:
    def test_hparams(self):
        from parity.impls.llamacpp.hparams import hparams_from_gguf

        hp = hparams_from_gguf(PRESET.clip_metadata())
        assert (hp.projector, hp.preprocessor, hp.patch_size, hp.n_merge) == ("pixtral", "dyn_size", 14, 2)
        # set_limit_image_tokens(8, 1024) with 28-px merged patches
        assert (hp.image_min_pixels, hp.image_max_pixels) == (8 * 784, 1024 * 784)
