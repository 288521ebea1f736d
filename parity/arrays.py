"""Small array helpers every layer shares: layout moves, ragged stage values, shape text."""

from __future__ import annotations

from typing import Any

import numpy as np


def hwc(chw: Any) -> np.ndarray:
    """(C, H, W) -> (H, W, C), any array-like (torch tensors via numpy())."""
    return np.moveaxis(to_numpy(chw), 0, -1)


def to_numpy(x: Any) -> np.ndarray:
    """A numpy view of an array-like (a torch tensor is detached and moved to the CPU first)."""
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def flat(value: np.ndarray | tuple) -> np.ndarray:
    """A stage value as one flat array: a ragged tuple's parts concatenated in order."""
    if isinstance(value, tuple):
        return np.concatenate([np.asarray(p).ravel() for p in value]) if value else np.zeros(0)
    return np.asarray(value).ravel()


def stack_or_tuple(arrays: tuple[np.ndarray, ...]) -> np.ndarray | tuple[np.ndarray, ...]:
    """One stacked array when every part has the same shape, else the ragged tuple."""
    if arrays and len({a.shape for a in arrays}) == 1:
        return np.stack(arrays)
    return arrays


def one_or_tuple(arrays: tuple[np.ndarray, ...]) -> np.ndarray | tuple[np.ndarray, ...]:
    return arrays[0] if len(arrays) == 1 else arrays


def shape_text(shape: Any, cap: int = 3) -> str:
    """``3x560x560``; a ragged shape (a list of shapes) as ``N parts: a, b, c ...``; ``-`` for none."""
    if isinstance(shape, list) and shape and isinstance(shape[0], list | tuple):
        more = " ..." if len(shape) > cap else ""
        return f"{len(shape)} parts: " + ", ".join("x".join(map(str, p)) for p in shape[:cap]) + more
    return "x".join(map(str, shape)) if len(shape) else "-"
