"""How the legacy impl records ragged or uniform slice lists (same conventions as ``llamacpp``)."""

from __future__ import annotations

import numpy as np


def stack_or_tuple(arrays: tuple[np.ndarray, ...]) -> np.ndarray | tuple[np.ndarray, ...]:
    """One array when all share a shape (stacked on a new first axis), else the tuple; the canonical
    bytes are the same concatenation either way."""
    if len({a.shape for a in arrays}) == 1:
        return np.stack(arrays)
    return arrays


def one_or_tuple(arrays: tuple[np.ndarray, ...]) -> np.ndarray | tuple[np.ndarray, ...]:
    return arrays[0] if len(arrays) == 1 else arrays
