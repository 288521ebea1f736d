"""What an impl is: a name, a pinned version, and a run that records every stage.

The base class does the common part of every run (as Polygraphy's runners do): refuse an unsupported
preset with its reason, decode the image with the impl's decoder profile (or take injected pixels),
record ``decode``, hand over to the impl's ``record_stages`` hook, and build the trace. Subclasses
implement only hooks, all with one signature style:

- ``supports(preset) -> reason | None``
- ``decoder(preset) -> profile name`` (default: the class's ``decoder``)
- ``record_stages(decoded, preset, rec)``: every stage after ``decode``, in the impl's own order
- optionally ``version_for(preset)`` (the reference impl's version depends on the family) and
  ``prepare(decoded, preset)``: what the runtime does between its decoder and its pipeline (Ollama's
  Composite onto white); the prepared RGB is what ``decode`` records.

An impl records only the stages it really has, marking a stage ``approximate`` with a reason when it is
not bit-faithful to the real code. It never compares, prints or writes.

Conventions for stage values (so traces compare by name):
- ``decode``: (H, W, 3) uint8, layout ``HWC``.
- ``plan``: the family's plan dataclass as a dict (``parity.families``), geometry summary first.
- ``resize`` / ``pad``: uint8 images recorded ``HWC`` (a tuple of them when ragged), whatever layout
  the impl worked in; float intermediates are recorded as they are, with their layout label.
- ``tiles`` / ``normalize`` / ``pack``: the impl's own tensor layout, with a label such as
  ``tiles,C,H,W``; ``pack`` is exactly what is fed to the encoder (its bytes are ``inp_raw``).
"""

from __future__ import annotations

import abc
import importlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from parity.decode import Decoded
from parity.decode.profiles import DecodeCache, decode_file
from parity.errors import ParityError
from parity.presets import Preset
from parity.trace import Trace, TraceBuilder


@dataclass(frozen=True)
class ImageInput:
    """The image a run starts from: its path, optionally injected decoded pixels, and a decode cache.

    ``injected`` is set by stage injection (``--from-stage decode``): every impl then skips its own
    decoder and starts from the same pixels (decoded by the profile the user chose)."""

    path: str
    injected: Decoded | None = None
    cache: DecodeCache | None = None
    #: impl name -> decoder profile replacing the impl's own (``--decoder ollama=go1.25``)
    decoders: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.injected, np.ndarray):  # bare pixels: --from-stage decode from Pillow
            object.__setattr__(self, "injected", injected(self.injected))

    @property
    def decoded(self) -> np.ndarray | None:
        """Injected RGB pixels, if any (transitional: impls not yet on the skeleton read this)."""
        return None if self.injected is None else self.injected.rgb

    @property
    def label(self) -> str:
        return os.path.basename(self.path)

    def decode(self, profile: str) -> Decoded:
        if self.injected is not None:
            return self.injected
        return decode_file(self.path, profile, self.cache)


def decode_note(decoded: Decoded) -> str:
    """``profile NAME``, who decoded injected pixels, and what the runtime did before its pipeline."""
    note = f"profile {decoded.policy}"
    if decoded.policy == "injected":
        note += f" (decoded by {decoded.info.get('source', 'given pixels')})"
    if decoded.info.get("prepared"):
        note += f"; {decoded.info['prepared']}"
    return note


def injected_decode(image: ImageInput) -> Decoded | None:
    """Transitional: the injected decode of ``image``, for impls not yet on the skeleton."""
    return image.injected


def injected(rgb: np.ndarray, source: str = "given pixels") -> Decoded:
    """Pixels given from outside (``--from-stage decode``) as a Decoded; ``source`` says who decoded them."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    return Decoded(rgb, "injected", {"width": rgb.shape[1], "height": rgb.shape[0], "source": source})


def load_recipe(target: str) -> Any:
    """``"package.module:attr"`` imported on first use: the one lazy-loading mechanism of the impls.

    Stage recipes import heavy libraries (transformers' model code, torch: seconds); loading them only
    when a run needs them keeps ``parity impls``/``models``/``--help`` and every error path instant."""
    module, _, attr = target.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except ImportError as e:  # a missing or broken package the recipe needs: one line, never a traceback
        raise ParityError(f"cannot load {module}: {type(e).__name__}: {e} (the README's install command installs "
                          "every package an impl needs)") from None


class Impl(abc.ABC):
    #: the name users type (``--impl``)
    name: str
    #: pinned version: a commit or a package version
    version: str
    #: one line: what this impl is, with its source
    description: str
    #: decoder profile (``parity.decode.profiles.PROFILES``) used when pixels are not injected
    default_decoder: str = "pil-hf"
    #: a real runtime executed as it is, which decodes the file itself: ``record_file`` then records
    #: ``decode`` and every later stage from the path (injected pixels still go through ``record_stages``)
    decodes_files: bool = False

    @abc.abstractmethod
    def supports(self, preset: Preset) -> str | None:
        """None if this impl can run ``preset``, else the reason it cannot."""

    def decoder(self, preset: Preset) -> str:
        return self.default_decoder

    def version_for(self, preset: Preset) -> str:
        return self.version

    def prepare(self, decoded: Decoded, preset: Preset) -> Decoded:
        """What the runtime does between its decoder and its pipeline (default: nothing)."""
        return decoded

    @abc.abstractmethod
    def record_stages(self, decoded: Decoded, preset: Preset, rec: TraceBuilder) -> None:
        """Record every stage after ``decode``."""

    def record_file(self, path: str, preset: Preset, rec: TraceBuilder) -> None:
        """Every stage, ``decode`` included, from the file (``decodes_files`` impls)."""
        raise NotImplementedError(f"{self.name} does not decode files itself")

    def run(self, image: ImageInput, preset: Preset) -> Trace:
        """The whole pipeline on one image, every stage recorded."""
        reason = self.supports(preset)
        if reason:
            raise ParityError(f"{self.name} cannot run {preset.name}: {reason}")
        if self.decodes_files and image.injected is None:
            rec = TraceBuilder()
            self.record_file(image.path, preset, rec)
            return rec.build(preset.name, self.name, self.version_for(preset), image.label)
        decoded = self.prepare(image.decode(image.decoders.get(self.name) or self.decoder(preset)), preset)
        rec = TraceBuilder()
        rec.add("decode", decoded.rgb, "HWC", approximate=decoded.approximate, note=decode_note(decoded))
        self.record_stages(decoded, preset, rec)
        return rec.build(preset.name, self.name, self.version_for(preset), image.label)

    def to_dict(self) -> dict:
        return {"name": self.name, "version": self.version, "description": self.description,
                "decoder": self.default_decoder}
