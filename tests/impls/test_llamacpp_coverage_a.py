"""The ``llamacpp`` impl on the coverage presets (Mistral Small 3.1, InternVL3, SmolVLM2, Granite Docling,
MiniCPM-V 4 / 4.5, Kimi-VL) against outputs recorded from the real llama.cpp 0c1e570 C++
(tests/oracles/llamacpp/coverage_a.json; README there): the clip.* keys each preset's gguf overlay holds, the
hparams clip.cpp derives from them, and per image the chunk sizes, per-chunk token counts and the sha256 of
the whole ``inp_raw``."""

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import make_rgb

from parity.decode.profiles import decode_file
from parity.impls import ImageInput, get_impl
from parity.impls.llamacpp.hparams import hparams_from_gguf
from parity.presets import get_preset

ORACLE = json.loads((Path(__file__).parents[1] / "oracles" / "llamacpp" / "coverage_a.json").read_text())
IMAGES = Path(__file__).parents[2] / "fixtures" / "images"
CASES = [(preset, i) for preset, entry in ORACLE.items() for i in range(len(entry["cases"]))]
#: mtmd.cpp init_vision: the text the runtime puts around one image, in tokens, by projector
#: (pixtral: [IMG_END]; internvl: <img> </img>; kimivl: <|media_start|> <|media_end|>)
DELIMITERS = {"pixtral": 1, "internvl": 2, "kimivl": 2}


def pixels(inp: dict) -> np.ndarray:
    if "make_rgb" in inp:
        h, w, seed = inp["make_rgb"]
        return make_rgb(h, w, seed=seed)
    return decode_file(str(IMAGES / inp["fixture"]), inp["decoder"]).rgb


@pytest.mark.parametrize("preset", sorted(ORACLE))
def test_overlay_is_what_was_recorded(preset):
    assert dict(get_preset(preset).clip_metadata()) == ORACLE[preset]["gguf"]


@pytest.mark.parametrize("preset", sorted(ORACLE))
def test_hparams_equal_clip_cpp(preset):
    cpp = ORACLE[preset]["hparams"]
    hp = hparams_from_gguf(ORACLE[preset]["gguf"])
    assert (hp.projector, hp.image_size, hp.patch_size, hp.n_merge) == (cpp["projector"], cpp["image_size"],
                                                                         cpp["patch_size"], cpp["n_merge"])
    assert (hp.image_min_pixels, hp.image_max_pixels) == (cpp["min_pixels"], cpp["max_pixels"])
    assert hp.ov_img_first == bool(cpp["ov_first"])
    if cpp["projector"] == "resampler":
        assert hp.minicpmv_version == cpp["minicpmv_version"]
    if cpp["projector"] == "internvl":
        assert len(hp.res_candidates) > 0 and (cpp["min_tiles"], cpp["max_tiles"]) == (1, 12)


@pytest.mark.parametrize("preset,i", CASES)
def test_inp_raw_and_tokens_equal_cpp(preset, i):
    entry = ORACLE[preset]
    case = entry["cases"][i]
    trace = get_impl("llamacpp").run(ImageInput("x.png", pixels(case["input"])), get_preset(preset))
    pack = trace["pack"]
    chunks = pack.value if isinstance(pack.value, tuple) else tuple(pack.value)
    assert [[c.shape[2], c.shape[1]] for c in chunks] == case["chunks_wh"]
    assert pack.nbytes == case["inp_raw_nbytes"]
    assert pack.sha256 == case["inp_raw_sha256"]
    plan = trace["plan"].value
    assert plan["num_embeddings"] == sum(case["chunk_tokens"])  # clip_n_output_tokens, summed over chunks
    projector = entry["hparams"]["projector"]
    if projector in DELIMITERS:
        assert plan["num_tokens"] == plan["num_embeddings"] + DELIMITERS[projector]
