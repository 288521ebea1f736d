"""``hf-pil`` and ``hf-torchvision``: transformers' two image-processor backends, stage by stage.

Stages are produced by calling the processor's own methods and module helpers (resize, pad, rescale,
normalize, tile split...) in the order its ``_preprocess`` calls them, so each stage is what the real
code computes; a test checks the staged ``pack`` equals the processor's own ``pixel_values`` bit for
bit. Per-family stage recipes live in sibling modules (``mllama.py``...), registered in RECIPES.
transformers is imported only when a recipe runs, so listing impls and presets stays instant.
"""

from __future__ import annotations

from importlib import metadata

import numpy as np

from parity.decode import Decoded
from parity.impls.base import Impl, load_recipe
from parity.presets import Preset
from parity.trace import TraceBuilder

#: family -> (recipe module in this package, {backend: function name}); a recipe
#: ``fn(proc, kwargs, rgb, preset, rec)`` records the stages after decode. Recipe modules import
#: transformers' model code (seconds), so they are loaded on first use (``load_recipe``).
RECIPES: dict[str, tuple[str, dict[str, str]]] = {
    "mllama": ("mllama", {"pil": "stages_pil", "torchvision": "stages_torchvision"}),
    "llava": ("llava", {"pil": "stages_pil", "torchvision": "stages_torchvision"}),
    "llava-next": ("llava_next", {"pil": "stages_pil", "torchvision": "stages_torchvision"}),
    "llama4": ("llama4", {"torchvision": "stages_torchvision"}),
    "qwen2-vl": ("qwen2_vl", {"pil": "stages_pil", "torchvision": "stages_torchvision"}),
    "qwen3-vl": ("qwen2_vl", {"pil": "stages_pil", "torchvision": "stages_torchvision"}),
    "gemma3": ("gemma3", {"pil": "stages_pil", "torchvision": "stages_torchvision"}),
    "gemma4": ("gemma4", {"pil": "stages_pil", "torchvision": "stages_torchvision"}),
    "pixtral": ("pixtral", {"pil": "stages_pil", "torchvision": "stages_torchvision"}),
    "idefics3": ("idefics3", {"pil": "stages_pil", "torchvision": "stages_torchvision"}),
    "phi4mm": ("phi4mm", {"torchvision": "stages_torchvision"}),
    "internvl": ("internvl", {"pil": "stages_pil", "torchvision": "stages_torchvision"}),
    "lfm2-vl": ("lfm2_vl", {"torchvision": "stages_torchvision"}),
    "glm4v": ("glm4v", {"pil": "stages_pil", "torchvision": "stages_torchvision"}),
    "step3-vl": ("step3vl", {"torchvision": "stages_torchvision"}),
    "nemotron-vl": ("nemotron_vl", {"torchvision": "stages_torchvision"}),
}


def _versions(*dists: str) -> str:
    return ", ".join(f"{d} {metadata.version(d)}" for d in dists)


class HfImpl(Impl):
    default_decoder = "pil-hf"

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.name = f"hf-{backend}"
        if backend == "torchvision":
            self.version = _versions("transformers", "torch", "torchvision")
        else:
            self.version = _versions("transformers", "pillow")
        self.description = (f"transformers' {'PIL/NumPy' if backend == 'pil' else 'torchvision'} image "
                            f"processor backend (XxxImageProcessor{'Pil' if backend == 'pil' else ''})")

    def supports(self, preset: Preset) -> str | None:
        if not preset.hf_processor:
            return "preset has no transformers processor"
        if self.backend not in RECIPES.get(preset.family, ("", {}))[1]:
            return f"transformers has no {self.backend} processor (or no {self.name} recipe) for family {preset.family!r}"
        return None

    def record_stages(self, decoded: Decoded, preset: Preset, rec: TraceBuilder) -> None:
        module, functions = RECIPES[preset.family]
        recipe = load_recipe(f"{__name__}.{module}:{functions[self.backend]}")
        run_recipe = load_recipe("parity.impls.transformers_processors:run_recipe")
        # a private, writable copy: torch.from_numpy must not share the decode cache's read-only pixels
        run_recipe(recipe, preset, self.backend, np.array(decoded.rgb), rec)


class HfPilImpl(HfImpl):
    def __init__(self) -> None:
        super().__init__("pil")


class HfTorchvisionImpl(HfImpl):
    def __init__(self) -> None:
        super().__init__("torchvision")
