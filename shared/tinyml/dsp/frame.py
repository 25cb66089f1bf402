"""Split a signal into (overlapping) frames.

No arithmetic: frames are read-only strided views of the input (copy them before writing). The C side
needs no twin: firmware keeps a ring buffer and hands out `length` samples every `hop` samples.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import TinymlError


def n_frames(n: int, length: int, hop: int) -> int:
    """Number of full frames: 1 + (n - length) // hop, or 0 when n < length."""
    return 0 if n < length else 1 + (n - length) // hop


def frame(x: np.ndarray, length: int, hop: int) -> np.ndarray:
    """[n, ...] -> [n_frames, length, ...]; frame i is x[i*hop : i*hop + length]. Trailing samples are dropped."""
    x = np.asarray(x)
    for name, v in (("length", length), ("hop", hop)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise TinymlError(f"frame: {name} must be an integer >= 1, got {v!r}")
    if x.ndim < 1:
        raise TinymlError("frame: x must have a time axis (axis 0)")
    if x.shape[0] < length:
        return np.zeros((0, length, *x.shape[1:]), x.dtype)
    v = sliding_window_view(x, length, axis=0)  # [n-length+1, ..., length]
    v = np.moveaxis(v, -1, 1)  # [n-length+1, length, ...]
    return v[::hop]
