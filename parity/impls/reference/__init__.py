"""``reference``: the model authors' own preprocessing, quirks included.

Where the authors publish their code as a package it is called (llava-torch, llama-models,
qwen-vl-utils, mistral-common); where it cannot be imported here, the needed module is ported with
provenance in the family module's docstring. Per-family recipes are registered in FAMILIES:
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
REQUIRES: dict[str, str] = {
    "llava": "llava",
    "llava-next": "llava",
    "mllama": "llama_models",
    "llama4": "llama_models",
    "qwen2-vl": "qwen_vl_utils",
    "qwen3-vl": "qwen_vl_utils",
    "pixtral": "mistral_common",
    "gemma3": "jax",
}


def _installed(package: str) -> bool:
    if package in sys.modules:  # e.g. llava, registered without its __init__ by the llava recipe
        return True
    return importlib.util.find_spec(package) is not None


class ReferenceImpl(Impl):
    name = "reference"
    version = "authors' code (per family, see `parity impls`)"
    description = "the model authors' own preprocessing (llava-torch, llama-models, qwen-vl-utils, mistral-common, ports)"

    def supports(self, preset: Preset) -> str | None:
        if preset.path.endswith(".gguf"):
            return ("preset derived from a GGUF file carries only llama.cpp's clip.* keys; "
                    "the reference needs the checkpoint's own preset (--model)")
        if preset.family not in FAMILIES:
            return f"no reference recipe for family {preset.family!r}"
        package = REQUIRES.get(preset.family)
        if package and not _installed(package):
            return f"the authors' package {package!r} is not installed (nox installs it; see noxfile.py)"
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
