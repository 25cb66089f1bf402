"""Natural log with a floor: y = log(max(x, floor)) in float32 (log of energies for MFCC / log-mel).

Arithmetic: the max is exact; the log is float32 (numpy float32 log here, logf in the C twin `tml_log`).
Both are within about 1 ulp of the true value but not guaranteed identical: tests allow 2 ulp
(|dy| <= 2.4e-7 * max(1, |y|)).
"""

from __future__ import annotations

import numpy as np

from ..errors import TinymlError


def log(x: np.ndarray, floor: float = 1e-10) -> np.ndarray:
    if not floor > 0:
        raise TinymlError(f"log: floor must be > 0, got {floor}")
    x = np.asarray(x, dtype=np.float32)
    return np.log(np.maximum(x, np.float32(floor)))
