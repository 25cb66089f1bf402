"""Signed log: y = sign(x) * ln(1 + |x|), a log scale for values of either sign (kurtosis, skewness,
ratios) that compresses large values like a log and stays linear near 0.

Arithmetic (float32, C twin `tml_symlog`, bit-exact): a = |x|, l = tml_logf(1.0f + a) (tinyml.dsp.log.logf,
our own log), y = l with the sign of x (copysignf). 0 maps to 0.
"""

from __future__ import annotations

import numpy as np

from .log import logf


def symlog(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return np.copysign(logf(np.float32(1) + np.abs(x)), x).astype(np.float32, copy=False)
