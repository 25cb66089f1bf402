"""Keep some channels, in a given order (C twin `tml_select`, bit-exact: a copy).

Used after a stream stage that derives extra channels (e.g. an ECG, its R-R interval and a beat marker) when
the model needs only some of them.
"""

from __future__ import annotations

import numpy as np

from ..errors import TinymlError


def select(x: np.ndarray, channels) -> np.ndarray:
    """x [n, ch] -> float32 [n, len(channels)] with columns `channels` (indices into ch, in that order)."""
    x = np.asarray(x, np.float32)
    if x.ndim != 2:
        raise TinymlError(f"select: x must be [time, channels], got shape {x.shape}")
    idx = [int(c) for c in channels]
    if not idx or any(not 0 <= c < x.shape[1] for c in idx):
        raise TinymlError(f"select: channels {list(channels)} must be indices in 0..{x.shape[1] - 1}")
    return np.ascontiguousarray(x[:, idx])
