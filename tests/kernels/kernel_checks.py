"""The contract every kernel in parity/kernels keeps (after torchvision's ``check_kernel``): it takes
arrays and returns new ones — the input is never modified, a read-only input (the decode cache shares
read-only pixels between impls) works, the output does not alias the input, and the same input gives
the same bytes twice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def check_kernel(kernel: Callable[..., Any], img: np.ndarray, *args: Any, dtype=np.uint8, **kwargs: Any) -> Any:
    """Run ``kernel(img, *args, **kwargs)`` under the contract; returns its output for further checks."""
    writable = np.array(img)
    before = writable.copy()
    out = kernel(writable, *args, **kwargs)
    assert np.array_equal(writable, before), f"{kernel.__name__} modified its input"
    frozen = np.array(img)
    frozen.setflags(write=False)
    again = kernel(frozen, *args, **kwargs)
    for a, b in zip(_parts(out), _parts(again)):
        assert a.dtype == dtype, f"{kernel.__name__} returned {a.dtype}, expected {np.dtype(dtype)}"
        assert a.tobytes() == b.tobytes(), f"{kernel.__name__} is not deterministic (or differs on a read-only input)"
        assert not np.shares_memory(a, writable) and not np.shares_memory(b, frozen), \
            f"{kernel.__name__} returned a view of its input"
    return out


def _parts(out: Any) -> tuple[np.ndarray, ...]:
    return tuple(out) if isinstance(out, tuple | list) else (out,)
