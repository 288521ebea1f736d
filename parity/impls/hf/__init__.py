"""``hf-pil`` and ``hf-torchvision``: transformers' two image-processor backends, stage by stage.

Stages are produced by calling the processor's own methods and module helpers (resize, pad, rescale,
normalize, tile split...) in the order its ``_preprocess`` calls them, so each stage is what the real
code computes; a test checks the staged ``pack`` equals the processor's own ``pixel_values`` bit for
bit. Per-family stage recipes live in sibling modules (``mllama.py``...), registered in FAMILIES.

transformers 5.x: ``XxxImageProcessor`` is the torchvision backend, ``XxxImageProcessorPil`` the PIL
backend; without torchvision the former silently falls back to PIL, so we import both explicitly and
check the backend.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np

from parity.decode import decode_pil
from parity.errors import ParityError
from parity.impls.base import ImageInput, Impl, injected_decode
from parity.presets import Preset
from parity.trace import Trace, TraceBuilder

from . import gemma3, gemma4, idefics3, llama4, llava, llava_next, mllama, phi4mm, pixtral, qwen2_vl

#: family -> {"pil": fn, "torchvision": fn}; fn(proc, kwargs, rgb, preset, tb) records stages.
FAMILIES: dict[str, dict[str, Callable]] = {
    "mllama": {"pil": mllama.stages_pil, "torchvision": mllama.stages_torchvision},
    "llava": {"pil": llava.stages_pil, "torchvision": llava.stages_torchvision},
    "llava-next": {"pil": llava_next.stages_pil, "torchvision": llava_next.stages_torchvision},
    "llama4": {"torchvision": llama4.stages_torchvision},
    "qwen2-vl": {"pil": qwen2_vl.stages_pil, "torchvision": qwen2_vl.stages_torchvision},
    "qwen3-vl": {"pil": qwen2_vl.stages_pil, "torchvision": qwen2_vl.stages_torchvision},
    "gemma3": {"pil": gemma3.stages_pil, "torchvision": gemma3.stages_torchvision},
    "gemma4": {"pil": gemma4.stages_pil, "torchvision": gemma4.stages_torchvision},
    "pixtral": {"pil": pixtral.stages_pil, "torchvision": pixtral.stages_torchvision},
    "idefics3": {"pil": idefics3.stages_pil, "torchvision": idefics3.stages_torchvision},
    "phi4mm": {"torchvision": phi4mm.stages_torchvision},
}

BACKEND_SUFFIX = {"pil": "ImageProcessorPil", "torchvision": "ImageProcessor"}
#: keys of preprocessor_config.json that are metadata, not processor kwargs
_META_KEYS = {"image_processor_type", "processor_class", "auto_map"}


def processor_class(stem: str, backend: str) -> type:
    import transformers

    name = stem + BACKEND_SUFFIX[backend]
    cls = getattr(transformers, name, None)
    if cls is None:
        raise ParityError(f"transformers {transformers.__version__} has no {name}")
    base = {"pil": "PilBackend", "torchvision": "TorchvisionBackend"}[backend]
    if not any(b.__name__ == base for b in cls.__mro__):
        raise ParityError(f"{name} is not a {base} (is torchvision installed?)")
    return cls


_PROCESSORS: dict[tuple, Any] = {}


def make_processor(preset: Preset, backend: str) -> Any:
    """The real transformers processor for ``preset`` on ``backend``, built from the stored config
    (cached: building one costs milliseconds that add up over a matrix)."""
    cfg = {k: v for k, v in preset.hf_config.items() if k not in _META_KEYS}
    key = (preset.hf_processor, backend, json.dumps(cfg, sort_keys=True))
    if key not in _PROCESSORS:
        _PROCESSORS[key] = processor_class(preset.hf_processor, backend)(**cfg)
    return _PROCESSORS[key]


def resolved_kwargs(proc: Any) -> dict:
    """The kwargs ``preprocess`` hands to ``_preprocess``: defaults from the processor, standardized
    (SizeDict sizes, tuple mean/std) exactly as ``BaseImageProcessor.preprocess`` does."""
    kwargs: dict[str, Any] = {}
    for name in proc._valid_kwargs_names:
        kwargs.setdefault(name, getattr(proc, name, None))
    return proc._standardize_kwargs(**kwargs)


def to_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


class HfImpl(Impl):
    def __init__(self, backend: str) -> None:
        import transformers

        self.backend = backend
        self.name = f"hf-{backend}"
        if backend == "torchvision":
            import torch
            import torchvision

            self.version = (f"transformers {transformers.__version__}, torch {torch.__version__}, "
                            f"torchvision {torchvision.__version__}")
        else:
            import PIL

            self.version = f"transformers {transformers.__version__}, Pillow {PIL.__version__}"
        self.description = (f"transformers' {'PIL/NumPy' if backend == 'pil' else 'torchvision'} image "
                            f"processor backend (XxxImageProcessor{'Pil' if backend == 'pil' else ''})")

    def supports(self, preset: Preset) -> str | None:
        if not preset.hf_processor:
            return "preset has no transformers processor"
        try:
            processor_class(preset.hf_processor, self.backend)
        except ParityError as e:
            return str(e)
        if preset.family not in FAMILIES or self.backend not in FAMILIES[preset.family]:
            return f"no {self.name} stage recipe for family {preset.family!r}"
        return None

    def run(self, image: ImageInput, preset: Preset) -> Trace:
        reason = self.supports(preset)
        if reason:
            raise ParityError(f"{self.name} cannot run {preset.name}: {reason}")
        decoded = injected_decode(image) or decode_pil(image.path, "pil-hf")
        tb = TraceBuilder()
        tb.add("decode", decoded.rgb, "HWC", note=f"policy {decoded.policy}")
        proc = make_processor(preset, self.backend)
        FAMILIES[preset.family][self.backend](proc, resolved_kwargs(proc), decoded.rgb, preset, tb)
        return tb.build(preset.name, self.name, self.version, image.label)
