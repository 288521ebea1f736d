"""The impls, in a plain dict. An unknown name lists the valid ones.

Impl packages are light to import (heavy recipe modules load on first use, ``base.load_recipe``), so
building this dict costs milliseconds."""

from __future__ import annotations

from parity.errors import ParityError
from parity.impls.base import ImageInput, Impl
from parity.impls.hf import HfPilImpl, HfTorchvisionImpl
from parity.impls.hf_processors_rs import HfProcessorsRsImpl
from parity.impls.llamacpp import LlamaCppImpl
from parity.impls.llamacpp_legacy import LlamaCppLegacyImpl
from parity.impls.ollama import OllamaImpl
from parity.impls.reference import ReferenceImpl
from parity.impls.transformers_js import TransformersJsImpl

IMPLS: dict[str, Impl] = {
    impl.name: impl
    for impl in (
        ReferenceImpl(),
        HfPilImpl(),
        HfTorchvisionImpl(),
        LlamaCppImpl(),
        LlamaCppLegacyImpl(),
        OllamaImpl(),
        TransformersJsImpl(),
        HfProcessorsRsImpl("pil"),
        HfProcessorsRsImpl("torchvision"),
    )
}


def get_impl(name: str) -> Impl:
    try:
        return IMPLS[name]
    except KeyError:
        raise ParityError(f"unknown impl {name!r}; valid: {', '.join(IMPLS)}") from None


def impls_for(preset) -> list[Impl]:
    """Every impl that can run ``preset``, in registry order."""
    return [i for i in IMPLS.values() if i.supports(preset) is None]


__all__ = ["IMPLS", "Impl", "ImageInput", "get_impl", "impls_for"]
