"""``reference``: the model authors' own preprocessing, quirks included.

Where the authors publish their code as a package it is called (llava-torch, llama-models,
qwen-vl-utils, mistral-common); where it cannot be imported here, the needed module is ported with
provenance in the family module's docstring. Per-family recipes are registered in FAMILIES:
``fn(rgb, preset, tb)`` records the stages after ``decode``.
"""

from __future__ import annotations

from typing import Callable

from parity.decode import decode_pil
from parity.errors import ParityError
from parity.impls.base import ImageInput, Impl, injected_decode
from parity.presets import Preset
from parity.trace import Trace, TraceBuilder

from . import qwen2_vl

#: family -> (decode policy name, stage recipe, version string of the authors' code)
FAMILIES: dict[str, tuple[str, Callable, str]] = {
    "qwen2-vl": ("pil-hf", qwen2_vl.stages, qwen2_vl.version()),
    "qwen3-vl": ("pil-hf", qwen2_vl.stages, qwen2_vl.version()),
}


class ReferenceImpl(Impl):
    name = "reference"
    version = "authors' code (per family, see `parity impls`)"
    description = "the model authors' own preprocessing (llava-torch, llama-models, qwen-vl-utils, mistral-common, ports)"

    def supports(self, preset: Preset) -> str | None:
        if preset.family not in FAMILIES:
            return f"no reference recipe for family {preset.family!r}"
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
