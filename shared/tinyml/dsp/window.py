"""Analysis windows (hann, hamming, rectangular) and their application.

Arithmetic: coefficients are computed in float64 (numpy cos) and rounded once to float32; this matches
scipy.signal.get_window(kind, length, fftbins=not symmetric) cast to float32. Applying a window is one
float32 multiply per sample (bit-exact in C). The C twin `tml_window_fill` computes the same table with
double cos() and rounds to float (equal to this table up to at most 1 ulp, normally identical); firmware
should prefer the table generated from Python, `tml_window_apply` then matches bit for bit.
"""

from __future__ import annotations

import numpy as np

from ..errors import TinymlError

KINDS = ("hann", "hamming", "rectangular")
KIND_CODE = {"rectangular": 0, "hann": 1, "hamming": 2}  # shared with tml_dsp.h TML_WINDOW_*


def window(kind: str, length: int, symmetric: bool = False) -> np.ndarray:
    """float32 [length] window. periodic (symmetric=False, for spectra) or symmetric (for filter design).

    w[i] = a - (1 - a) * cos(2*pi*i / M), M = length (periodic) or length - 1 (symmetric);
    a = 0.5 (hann), 0.54 (hamming); rectangular is all ones. length 1 gives [1.0].
    """
    if kind not in KINDS:
        raise TinymlError(f"window: kind {kind!r} not allowed; allowed: {', '.join(KINDS)}")
    if not isinstance(length, (int, np.integer)) or isinstance(length, bool) or length < 1:
        raise TinymlError(f"window: length must be an integer >= 1, got {length!r}")
    if kind == "rectangular" or length == 1:
        return np.ones(length, np.float32)
    a = 0.5 if kind == "hann" else 0.54
    m = (length - 1) if symmetric else length
    i = np.arange(length, dtype=np.float64)
    w = a - (1.0 - a) * np.cos(2.0 * np.pi * i / m)
    return w.astype(np.float32)


def apply_window(x: np.ndarray, w: np.ndarray, axis: int = 0) -> np.ndarray:
    """x * w along `axis` (x.shape[axis] == len(w)); float32 multiply, result float32."""
    x = np.asarray(x, dtype=np.float32)
    w = np.asarray(w, dtype=np.float32)
    if w.ndim != 1 or x.ndim == 0 or x.shape[axis] != w.shape[0]:
        raise TinymlError(f"apply_window: window of length {w.shape} does not fit axis {axis} of x {x.shape}")
    shape = [1] * x.ndim
    shape[axis] = w.shape[0]
    return x * w.reshape(shape)
