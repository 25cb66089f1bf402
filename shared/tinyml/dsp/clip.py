"""Saturate to [lo, hi] (float32, C twin `tml_clip`, bit-exact: comparisons only, no arithmetic).

Used to bound the model input's range so int8 quantization keeps resolution where the signal lives
(e.g. ±4 g of posture and motion rather than ±16 g of rare impacts).
"""

from __future__ import annotations

import numpy as np

from ..errors import TinymlError


def clip(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    if not lo < hi:
        raise TinymlError(f"clip: lo ({lo}) must be below hi ({hi})")
    return np.clip(np.asarray(x, np.float32), np.float32(lo), np.float32(hi))
