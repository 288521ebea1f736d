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
from collections.abc import Callable

from parity.decode import decode_pil
from parity.errors import ParityError
from parity.impls.base import ImageInput, Impl, injected_decode
from parity.presets import Preset
from parity.trace import Trace, TraceBuilder

from . import gemma3, gemma4, idefics3, llama4, llava, llava_next, minicpmv, mllama, phi4mm, pixtral, qwen2_vl

#: family -> (decode policy name, stage recipe, version string of the authors' code)
FAMILIES: dict[str, tuple[str, Callable, str]] = {
    "llava": ("pil-drop-alpha", llava.stages, llava.VERSION),
    "llava-next": ("pil-drop-alpha", llava_next.stages, llava_next.VERSION),
    "mllama": ("pil-drop-alpha", mllama.stages, mllama.VERSION),
    "llama4": ("pil-hf", llama4.stages, llama4.VERSION),
    "minicpmv": ("pil-drop-alpha", minicpmv.stages, minicpmv.VERSION),
    "qwen2-vl": ("pil-hf", qwen2_vl.stages, qwen2_vl.version()),
    "qwen3-vl": ("pil-hf", qwen2_vl.stages, qwen2_vl.version()),
    "pixtral": ("pil-hf", pixtral.stages, pixtral.version()),
    "phi4mm": ("pil-hf", phi4mm.stages, phi4mm.version()),
    "gemma3": ("pil-hf", gemma3.stages, gemma3.version()),
    "gemma4": ("pil-hf", gemma4.stages, gemma4.version()),
    "idefics3": ("pil-hf", idefics3.stages, idefics3.version()),
}


#: family -> the authors' package (import name) its recipe calls; absent -> the recipe is a port
#: (LLaVA's llava/mm_utils.py is ported: llava-torch pins torch 2.0.1 / transformers 4.36.2)
REQUIRES: dict[str, str] = {
    "mllama": "llama_models",
    "llama4": "llama_models",
    "qwen2-vl": "qwen_vl_utils",
    "qwen3-vl": "qwen_vl_utils",
    "pixtral": "mistral_common",
    "gemma3": "jax",
}


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
        if preset.family not in FAMILIES:
            return f"no reference recipe for family {preset.family!r}"
        package = REQUIRES.get(preset.family)
        if package and not _installed(package):
            return (f"the authors' package {package!r} is not installed (run the README's install command: "
                    "python -m pip install -c constraints.txt -e '.[dev]')")
        return None

    def run(self, image: ImageInput, preset: Preset) -> Trace:
        if preset.family not in FAMILIES:
            raise ParityError(f"reference cannot run {preset.name}: no recipe for family {preset.family!r}")
        policy, recipe, version = FAMILIES[preset.family]
        decoded = injected_decode(image) or decode_pil(image.path, policy)
        tb = TraceBuilder()
        tb.add("decode", decoded.rgb, "HWC", note=f"policy {decoded.policy}")
        recipe(decoded.rgb, preset, tb)
        return tb.build(preset.name, self.name, version, image.label)
