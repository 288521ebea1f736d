"""``reference``: the model authors' own preprocessing, quirks included.

Where the authors publish their code as an installable package it is called (llama-models,
qwen-vl-utils, mistral-common); where it cannot be installed or imported here (llava-torch pins an
obsolete torch/transformers; MiniCPM-V and Phi-4 ship remote code), the needed module is ported with
provenance in the family module's docstring and checked against the real code in a test. Per-family recipes are registered in FAMILIES:
``fn(rgb, preset, tb)`` records the stages after ``decode``.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from importlib import metadata

from parity.decode import Decoded
from parity.impls.base import Impl, load_recipe
from parity.presets import Preset
from parity.trace import TraceBuilder


def _v(dist: str) -> str:
    return f"{dist} {metadata.version(dist)}"


GEMMA_COMMIT = "google-deepmind/gemma@7691fd4"


@dataclass(frozen=True)
class Recipe:
    """How the reference runs one family: the decoder profile the authors' code implies, the recipe
    module in this package (``stages(rgb, preset, rec)``, loaded on first use: it imports the authors'
    packages), the authors' package it calls (None for a port) and the version of that code."""

    decoder: str
    module: str
    package: str | None
    version: str


def _recipes() -> dict[str, Recipe]:
    llava = ("haotian-liu/LLaVA v1.2.2 llava/mm_utils.py (llava-torch 1.2.2.post1, ported) "
             "+ transformers CLIPImageProcessorPil")
    qwen = f"{_v('qwen-vl-utils')} + {_v('transformers')} (torchvision backend)"
    return {
        "llava": Recipe("pil-drop-alpha", "llava", None, llava),
        "llava-next": Recipe("pil-drop-alpha", "llava_next", None, llava.replace("mm_utils.py", "mm_utils.py "
                                                                                 "process_anyres_image")),
        "mllama": Recipe("pil-drop-alpha", "mllama", "llama_models",
                         f"{_v('llama-models')} (models/llama3/multimodal/image_transform.py)"),
        "llama4": Recipe("pil-hf", "llama4", "llama_models",
                         f"{_v('llama-models')} (models/llama4/preprocess.py, chat_format.py)"),
        "minicpmv": Recipe("pil-drop-alpha", "minicpmv", None,
                           "port of openbmb/MiniCPM-V-2_6 image_processing_minicpmv.py (remote code)"),
        "qwen2-vl": Recipe("pil-hf", "qwen2_vl", "qwen_vl_utils", qwen),
        "qwen3-vl": Recipe("pil-hf", "qwen2_vl", "qwen_vl_utils", qwen),
        "pixtral": Recipe("pil-hf", "pixtral", "mistral_common",
                          f"{_v('mistral-common')} ({_v('opencv-python-headless')})"),
        "phi4mm": Recipe("pil-hf", "phi4mm", None,
                         "port of microsoft/Phi-4-multimodal-instruct processing_phi4mm.py (Phi4MMImageProcessor) "
                         f"on {_v('torch')}, {_v('torchvision')}, Pillow {metadata.version('pillow')}"),
        "gemma3": Recipe("pil-hf", "gemma3", "jax", f"port of {GEMMA_COMMIT} gemma/gm/vision/_preprocess.py "
                         f"on {_v('jax')}"),
        "gemma4": Recipe("pil-hf", "gemma4", None, f"port of {GEMMA_COMMIT} gemma/gm/nn/gemma4/vision/"
                         f"_preprocessing.py (numpy + Pillow {metadata.version('pillow')})"),
        "idefics3": Recipe("pil-hf", "idefics3", None,
                           f"{_v('transformers')} Idefics3ImageProcessorPil (the authors' own processor, "
                           "PIL backend as trained)"),
        "internvl": Recipe("pil-drop-alpha", "internvl", None,
                           "port of OpenGVLab/InternVL@2410d1d internvl_chat/internvl/train/dataset.py dynamic_preprocess "
                           f"+ build_transform (model card load_image) on Pillow {metadata.version('pillow')}, "
                           f"{_v('torchvision')}"),
        "deepseek-ocr": Recipe("pil-drop-alpha-exif", "deepseek_ocr", None,
                               "port of deepseek-ai/DeepSeek-OCR@e4ac34e DeepSeek-OCR-vllm/process/image_process.py "
                               f"(Gundam mode) on Pillow {metadata.version('pillow')}, {_v('torchvision')}"),
    }


#: family -> how the reference runs it
RECIPES: dict[str, Recipe] = _recipes()
#: family -> the authors' package (import name) its recipe calls; absent -> the recipe is a port
#: (LLaVA's llava/mm_utils.py is ported: llava-torch pins torch 2.0.1 / transformers 4.36.2)
REQUIRES: dict[str, str] = {f: r.package for f, r in RECIPES.items() if r.package}
#: transitional name
FAMILIES = RECIPES


def _installed(package: str) -> bool:
    return package in sys.modules or importlib.util.find_spec(package) is not None


class ReferenceImpl(Impl):
    name = "reference"
    version = "authors' code (per family, see `parity impls`)"
    description = "the model authors' own preprocessing (llama-models, qwen-vl-utils, mistral-common, gemma/jax; cited ports of LLaVA, MiniCPM-V, Phi-4)"

    def supports(self, preset: Preset) -> str | None:
        if preset.path.endswith(".gguf"):
            return ("preset derived from a GGUF file carries only llama.cpp's clip.* keys; "
                    "the reference needs the checkpoint's own preset (--model)")
        if preset.family not in RECIPES:
            return f"no reference recipe for family {preset.family!r}"
        package = REQUIRES.get(preset.family)
        if package and not _installed(package):
            return (f"the authors' package {package!r} is not installed (run the README's install command: "
                    "python -m pip install -c constraints.txt -e '.[dev]')")
        return None

    def decoder(self, preset: Preset) -> str:
        return RECIPES[preset.family].decoder

    def version_for(self, preset: Preset) -> str:
        return RECIPES[preset.family].version

    def record_stages(self, decoded: Decoded, preset: Preset, rec: TraceBuilder) -> None:
        stages = load_recipe(f"{__name__}.{RECIPES[preset.family].module}:stages")
        stages(decoded.rgb, preset, rec)
