"""The geometry summary as text cells: the columns every report shows first, side by side per impl."""

from __future__ import annotations

from typing import Any

#: (summary key, column label), in display order
GEOMETRY_COLUMNS = (
    ("image_size", "decoded"),
    ("resized", "resized"),
    ("canvas", "canvas"),
    ("pad_offset", "pad at"),
    ("grid", "grid"),
    ("num_images", "images"),
    ("num_tokens", "tokens"),
    ("num_embeddings", "embeddings"),
)


def geometry_value(summary: dict[str, Any], key: str) -> str:
    """``[h, w]`` as ``h x w``, grids as ``rows x cols``, counts as numbers, '-' when absent."""
    v = summary.get(key)
    if v is None:
        return "-"
    if isinstance(v, list | tuple):
        return "x".join(str(x) for x in v)
    return str(v)


def geometry_line(impl: str, summary: dict[str, Any], width: int = 16) -> str:
    """One line: ``impl  resized 1736x1512 (canvas 1736x1512, pad at 0x0), grid 1x1, 1 image, 3350 tokens (3348 embeddings)``."""
    g = {k: geometry_value(summary, k) for k, _ in GEOMETRY_COLUMNS}
    canvas = f" (canvas {g['canvas']}" + (f", pad at {g['pad_offset']}" if g["pad_offset"] not in ("0x0", "-") else "") + ")" \
        if g["canvas"] != g["resized"] or g["pad_offset"] not in ("0x0", "-") else ""
    return (f"{impl:<{width}} resized {g['resized']}{canvas}, grid {g['grid']}, {_count(g['num_images'], 'image')}, "
            f"{_count(g['num_tokens'], 'token')} ({_count(g['num_embeddings'], 'embedding')})")


def _count(n: str, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == "1" else "s")
