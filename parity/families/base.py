"""The plan every family shares: the geometry summary, then the family's own fields.

Every family module defines its plan as a frozen dataclass deriving from ``Plan`` and every impl of
that family returns that type, each computing its own numbers (a runtime with a quirk fills the same
fields with its own values), so plans compare key by key with no false differences. The summary is
what users ask first — what size did each runtime resize to, how many tiles, how many image tokens —
and what every report shows side by side per impl.

Sizes are ``[h, w]`` everywhere; grids are ``[rows, cols]``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, NamedTuple

#: the summary fields, in display order
SUMMARY_FIELDS = ("image_size", "resized", "canvas", "pad_offset", "grid", "num_images", "num_tokens",
                  "num_embeddings")


class Tokens(NamedTuple):
    """How many LLM-sequence positions one image takes, as one runtime builds the sequence.

    total: every position that belongs to the image — the image embeddings plus the delimiter tokens
        the runtime itself puts around or between them (image start/end, row breaks, slice markers,
        newlines it inserts); tokens the user's prompt carries are not counted.
    embeddings: the positions whose vectors come from the vision side (learned separators emitted as
        part of the image tensor, such as LLaVA-NeXT's image_newline, count here)."""

    total: int
    embeddings: int


@dataclass(frozen=True)
class Plan:
    """Geometry summary (first fields of every family plan)."""

    image_size: tuple[int, int]  # [h, w] of the decoded image
    resized: tuple[int, int]  # [h, w] the image itself is resized to (before any pad)
    canvas: tuple[int, int]  # [h, w] after padding (= resized when nothing is padded)
    pad_offset: tuple[int, int]  # [top, left] of the resized image on the canvas
    grid: tuple[int, int]  # [rows, cols] of tiles / slices / crops; [1, 1] when the image is not split
    num_images: int  # images the vision encoder sees: tiles plus any overview / global image
    num_tokens: int  # LLM-sequence positions of this image, delimiters included (``Tokens.total``)
    num_embeddings: int  # of which filled from the vision side (``Tokens.embeddings``)

    def summary(self) -> dict[str, Any]:
        return {k: _plain(getattr(self, k)) for k in SUMMARY_FIELDS}

    def to_dict(self) -> dict[str, Any]:
        return {k: _plain(v) for k, v in asdict(self).items()}

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


def summary_fields(image_size, resized, canvas, pad_offset, grid, num_images: int, tokens: Tokens) -> dict[str, Any]:
    """The summary as keyword arguments of a family plan (``canvas`` None: the resized size)."""
    return {"image_size": tuple(image_size), "resized": tuple(resized),
            "canvas": tuple(canvas if canvas is not None else resized), "pad_offset": tuple(pad_offset),
            "grid": tuple(grid), "num_images": int(num_images), "num_tokens": int(tokens.total),
            "num_embeddings": int(tokens.embeddings)}


def _plain(v: Any) -> Any:
    """Tuples (nested) -> lists, as the plan is stored as JSON."""
    if isinstance(v, tuple | list):
        return [_plain(x) for x in v]
    return v


def summary_of(plan: dict[str, Any]) -> dict[str, Any]:
    """The summary fields of a recorded plan dict (absent ones omitted)."""
    return {k: plan[k] for k in SUMMARY_FIELDS if k in plan}
