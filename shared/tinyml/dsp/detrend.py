"""Remove the mean of each channel: y = x - mean(x) (float32; C twin `tml_detrend`, bit-exact).

mean is tinyml.dsp.stats.mean (a sequential float32 sum divided by n), then one float32 subtraction per
sample. Accelerometers that see gravity (MEMS) or drift carry a DC offset that would otherwise dominate
levels such as rms and peak.
"""

from __future__ import annotations

import numpy as np

from .stats import mean


def detrend(x) -> np.ndarray:
    """x [n] or [n, ch] -> float32 of the same shape, each channel minus its mean."""
    x = np.asarray(x, dtype=np.float32)
    return (x - mean(x)).astype(np.float32, copy=False)
