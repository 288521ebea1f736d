"""The impls, in a plain dict. An unknown name lists the valid ones."""

from __future__ import annotations

from parity.errors import ParityError
from parity.impls.base import ImageInput, Impl
from parity.impls.hf import HfImpl
from parity.impls.llamacpp import LlamaCppImpl
from parity.impls.llamacpp_legacy import LlamaCppLegacyImpl
from parity.impls.ollama import OllamaImpl
from parity.impls.reference import ReferenceImpl

IMPLS: dict[str, Impl] = {
    impl.name: impl
    for impl in (
        ReferenceImpl(),
        HfImpl("pil"),
        HfImpl("torchvision"),
        LlamaCppImpl(),
        LlamaCppLegacyImpl(),
        OllamaImpl(),
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
