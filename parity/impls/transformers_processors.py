"""transformers' image processors built from a preset, shared by the ``hf-*`` and ``reference`` impls.

transformers 5.x: ``XxxImageProcessor`` is the torchvision backend, ``XxxImageProcessorPil`` the PIL
backend; without torchvision the former silently falls back to PIL, so both are named explicitly and
the backend is checked. No hub access exists at run time: a processor is built from the checkpoint's
``preprocessor_config.json`` values kept in the preset (``[hf.config]``).
"""

from __future__ import annotations

import json
from typing import Any

import transformers

from parity.errors import ParityError
from parity.presets import Preset

BACKEND_SUFFIX = {"pil": "ImageProcessorPil", "torchvision": "ImageProcessor"}
BACKEND_BASE = {"pil": "PilBackend", "torchvision": "TorchvisionBackend"}
#: keys of preprocessor_config.json that are metadata, not processor kwargs
META_KEYS = {"image_processor_type", "processor_class", "auto_map"}


def processor_class(stem: str, backend: str) -> type:
    name = stem + BACKEND_SUFFIX[backend]
    cls = getattr(transformers, name, None)
    if cls is None:
        raise ParityError(f"transformers {transformers.__version__} has no {name}")
    if not any(b.__name__ == BACKEND_BASE[backend] for b in cls.__mro__):
        raise ParityError(f"{name} is not a {BACKEND_BASE[backend]} (is torchvision installed?)")
    return cls


_PROCESSORS: dict[tuple, Any] = {}


def make_processor(preset: Preset, backend: str) -> Any:
    """The real transformers processor for ``preset`` on ``backend``, built from the stored config
    (cached: building one costs milliseconds that add up over a matrix)."""
    cfg = {k: v for k, v in preset.hf_config.items() if k not in META_KEYS}
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


def run_recipe(recipe, preset: Preset, backend: str, rgb, rec) -> None:
    """Build the processor for ``preset`` on ``backend`` and let ``recipe`` record its stages."""
    proc = make_processor(preset, backend)
    recipe(proc, resolved_kwargs(proc), rgb, preset, rec)
