"""Each row divided by its sum: y = x / S(x) per frame (float32, C twin `tml_normalize`, bit-exact).

S is the sequential float32 sum of the row (tinyml.dsp.stats.seqsum along features); a zero sum gives
zeros. Band powers divided by their total are the spectrum's shape, whatever the level: a sensor's
gain, a machine's size and its load move every band together.
"""

from __future__ import annotations

import numpy as np


def normalize(x) -> np.ndarray:
    """x [frames, features] -> float32, each row over its sum."""
    x = np.asarray(x, dtype=np.float32)
    s = np.add.accumulate(x, axis=-1)[..., -1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        y = x / s
    return np.where(s == 0, np.float32(0), y).astype(np.float32)
