"""Downsample by an integer factor, each output the mean of `factor` consecutive inputs (C twin `tml_decimate`).

Float32, bit-exact: per channel and output sample, acc = 0; acc = acc + x[k*factor + i] for i = 0..factor-1 in
order; out = acc / (float)factor. The mean is a boxcar low-pass (first null at rate/factor): run it on a
signal already low-passed below the new Nyquist frequency (e.g. an ECG band-passed to 40 Hz, decimated 250 ->
62.5 Hz). A trailing partial group is dropped.
"""

from __future__ import annotations

import numpy as np

from ..errors import TinymlError


def decimate(x: np.ndarray, factor: int) -> np.ndarray:
    """x [n, ch] -> float32 [n // factor, ch]."""
    x = np.asarray(x, np.float32)
    if x.ndim != 2:
        raise TinymlError(f"decimate: x must be [time, channels], got shape {x.shape}")
    if not isinstance(factor, (int, np.integer)) or factor < 1:
        raise TinymlError(f"decimate: factor must be an integer >= 1, got {factor!r}")
    k = x.shape[0] // factor
    g = x[: k * factor].reshape(k, factor, x.shape[1])
    acc = np.zeros((k, x.shape[1]), np.float32)
    for i in range(factor):  # sequential float32 sum, the C loop's order
        acc = acc + g[:, i]
    return acc / np.float32(factor)
