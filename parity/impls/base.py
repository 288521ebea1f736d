"""What an impl is: a name, a pinned version, and ``run(image, preset) -> Trace``.

An impl records only the stages it really has, in its own order, marking a stage ``approximate`` with
a reason when it is not bit-faithful to the real code. It never compares, prints or writes.

Conventions for stage values (so traces compare by name):
- ``decode``: (H, W, 3) uint8, layout ``HWC``.
- ``plan``: a dict of ints / lists / strings (the geometry decision).
- ``resize`` / ``pad``: uint8 images recorded ``HWC`` (a tuple of them when ragged), whatever layout
  the impl worked in; float intermediates are recorded as they are, with their layout label.
- ``tiles`` / ``normalize`` / ``pack``: the impl's own tensor layout, with a label such as
  ``tiles,C,H,W``; ``pack`` is exactly what is fed to the encoder (its bytes are ``inp_raw``).
"""

from __future__ import annotations

import abc
import os
from dataclasses import dataclass

import numpy as np

from parity.decode import Decoded
from parity.presets import Preset
from parity.trace import Trace


@dataclass(frozen=True)
class ImageInput:
    """The image a run starts from: its path, and optionally injected decoded pixels.

    ``decoded`` is set by stage injection (``--from-stage decode``): every impl then skips its own
    decoder and starts from the same RGB pixels.
    """

    path: str
    decoded: np.ndarray | None = None

    @property
    def label(self) -> str:
        return os.path.basename(self.path)


class Impl(abc.ABC):
    #: the name users type (``--impl``)
    name: str
    #: pinned version: a commit or a package version
    version: str
    #: one line: what this impl is, with its source
    description: str

    @abc.abstractmethod
    def supports(self, preset: Preset) -> str | None:
        """None if this impl can run ``preset``, else the reason it cannot."""

    @abc.abstractmethod
    def run(self, image: ImageInput, preset: Preset) -> Trace:
        """Run the whole pipeline, recording every stage."""

    def to_dict(self) -> dict:
        return {"name": self.name, "version": self.version, "description": self.description}


def injected_decode(image: ImageInput) -> Decoded | None:
    """The injected decode, if any, as a Decoded (policy ``injected``)."""
    if image.decoded is None:
        return None
    rgb = np.ascontiguousarray(image.decoded, dtype=np.uint8)
    return Decoded(rgb, "injected", {"width": rgb.shape[1], "height": rgb.shape[0]})
