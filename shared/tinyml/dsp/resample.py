"""Resample a signal between rates (polyphase FIR, scipy.signal.resample_poly).

Arithmetic: float64 inside scipy, output cast to float32. This block is host-only (data preparation:
bring recordings to the manifest's rate); it has no C twin, because a device samples at the rate it is
configured for.

NaN marks a missing value (an optional channel the sensor did not report): an output sample is NaN
when the input sample nearest to it in time is, and the values around a hole are filtered as if it
were filled by linear interpolation.

The ratio rate_out/rate_in is approximated by a fraction up/down with a denominator <= 1000
(exact for integer rates such as 44100 -> 16000 = 160/441); the approximation is relative error < 1e-6
or a TinymlError is raised.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy.signal import resample_poly

from ..errors import TinymlError

MAX_DENOMINATOR = 1000


def rational_ratio(rate_in: float, rate_out: float) -> tuple[int, int]:
    """(up, down) with up/down ~= rate_out/rate_in."""
    if not (rate_in > 0 and rate_out > 0):
        raise TinymlError(f"resample: rates must be > 0, got rate_in={rate_in}, rate_out={rate_out}")
    ratio = Fraction(float(rate_out)) / Fraction(float(rate_in))
    frac = ratio.limit_denominator(MAX_DENOMINATOR)
    if abs(float(frac) - float(ratio)) > 1e-6 * float(ratio):
        raise TinymlError(
            f"resample: ratio {rate_out}/{rate_in} has no fraction with denominator <= {MAX_DENOMINATOR}"
        )
    return frac.numerator, frac.denominator


def resample(x: np.ndarray, rate_in: float, rate_out: float) -> np.ndarray:
    """Resample `x` ([n] or [n, ch], time on axis 0) from rate_in to rate_out Hz; returns float32.

    Output length is ceil(n * up / down).
    """
    x = np.asarray(x)
    if x.ndim not in (1, 2):
        raise TinymlError(f"resample: x must be [n] or [n, ch], got shape {x.shape}")
    up, down = rational_ratio(rate_in, rate_out)
    if up == down:
        return x.astype(np.float32, copy=True)
    if x.shape[0] == 0:
        return np.zeros((0, *x.shape[1:]), np.float32)
    x = x.astype(np.float64)
    holes = ~np.isfinite(x)
    if holes.any():
        x = _filled(x)
    y = resample_poly(x, up, down, axis=0)
    if holes.any():
        nearest = np.minimum(np.rint(np.arange(len(y)) * down / up).astype(np.int64), len(holes) - 1)
        y[holes[nearest]] = np.nan
    return y.astype(np.float32)


def _filled(x: np.ndarray) -> np.ndarray:
    """NaN replaced by linear interpolation along time (a column of only NaN by zeros)."""
    x = x.copy()
    cols = x[:, None] if x.ndim == 1 else x
    idx = np.arange(len(cols))
    for c in range(cols.shape[1]):
        ok = np.isfinite(cols[:, c])
        cols[:, c] = np.interp(idx, idx[ok], cols[ok, c]) if ok.any() else 0.0
    return x
