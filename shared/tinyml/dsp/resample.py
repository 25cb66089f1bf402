"""Resample a signal between rates: polyphase FIR (scipy.signal.resample_poly, the default), or for slow
physical states sampled by loggers ([signal] resample = "linear": soil moisture, temperature) linear
interpolation, after a moving mean over one output step when the rate goes down; FIR would ring around
a wetting front and invent overshoots. Channels that hold an amount per sample ([signal] totals: rain or
irrigation in mm per interval) are resampled conserving the amount: each output interval gets what fell
in it, spread evenly over each input interval (`resample_signal` applies both choices per channel).

The signal is extended by its edge values beyond both ends (no dip toward zero at the ends).

Arithmetic: float64 inside scipy, output cast to float32. This block is host-only (data preparation:
bring recordings to the manifest's rate); it has no C twin, because a device samples at the rate it is
configured for.

NaN marks a missing value (an optional channel the sensor did not report): an output sample is NaN
when the input sample nearest to it in time is, and the values around a hole are filtered as if it
were filled by linear interpolation.

The ratio rate_out/rate_in is approximated by a fraction up/down with a denominator <= 1000
(exact for integer rates such as 44100 -> 16000 = 160/441), else the exact fraction when its denominator is
<= 20000 (whole-number rates such as MFPT's 48828 Hz -> 25600 Hz = 6400/12207), else the first within 1e-6
with a denominator <= 10000, then <= 20000 (a measured rate, an Apple Watch's 511.422 Hz: 3699/7567; the
shortest filter that is close enough, as limit_denominator returns the closest, not the smallest); the
approximation is relative error < 1e-6 or a TinymlError is raised.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy.signal import resample_poly

from ..errors import TinymlError

MAX_DENOMINATOR = 1000
MEASURED_MAX_DENOMINATORS = (10000, 20000)  # tried in turn: 511.422 -> 250 Hz within 2e-8 at 7567
MEASURED_MAX_DENOMINATOR = MEASURED_MAX_DENOMINATORS[-1]  # 48828 -> 25600 Hz: 6400/12207 exactly


def rational_ratio(rate_in: float, rate_out: float) -> tuple[int, int]:
    """(up, down) with up/down ~= rate_out/rate_in."""
    if not (rate_in > 0 and rate_out > 0):
        raise TinymlError(f"resample: rates must be > 0, got rate_in={rate_in}, rate_out={rate_out}")
    ratio = Fraction(float(rate_out)) / Fraction(float(rate_in))
    exact = [ratio] if ratio.denominator <= MEASURED_MAX_DENOMINATOR else []
    for frac in (ratio.limit_denominator(MAX_DENOMINATOR), *exact,
                 *(ratio.limit_denominator(limit) for limit in MEASURED_MAX_DENOMINATORS)):
        if abs(float(frac) - float(ratio)) <= 1e-6 * float(ratio):
            return frac.numerator, frac.denominator
    raise TinymlError(
        f"resample: ratio {rate_out}/{rate_in} has no fraction with denominator <= {MEASURED_MAX_DENOMINATOR}")


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
    # Beyond the ends the signal is taken to hold its edge value, not zero: zero padding made every
    # resampled recording dip at its first and last samples (a wearer at 1 g read 0.38 g).
    y = resample_poly(x, up, down, axis=0, padtype="edge")
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


METHODS = ("fir", "linear")


def resample_linear(x: np.ndarray, rate_in: float, rate_out: float) -> np.ndarray:
    """Linear interpolation onto the output grid (t_k = k / rate_out), after a centred moving mean over one
    output step when downsampling. NaN as in `resample`. Same output length as `resample`."""
    x = np.asarray(x)
    up, down = rational_ratio(rate_in, rate_out)
    n_out = -(-x.shape[0] * up // down)
    if up == down:
        return x.astype(np.float32, copy=True)
    if x.shape[0] == 0:
        return np.zeros((0, *x.shape[1:]), np.float32)
    x2 = x.astype(np.float64).reshape(x.shape[0], -1)
    holes = ~np.isfinite(x2)
    if holes.any():
        x2 = _filled(x2)
    k = int(round(rate_in / rate_out))
    if k > 1:  # downsampling: average over one output step so noise does not alias
        kernel = np.ones(k) / k
        pad = np.pad(x2, ((k // 2, k - 1 - k // 2), (0, 0)), mode="edge")
        x2 = np.stack([np.convolve(pad[:, c], kernel, mode="valid") for c in range(x2.shape[1])], axis=1)
    pos = np.arange(n_out) * (rate_in / rate_out)
    idx = np.arange(x2.shape[0])
    y = np.stack([np.interp(pos, idx, x2[:, c]) for c in range(x2.shape[1])], axis=1)
    if holes.any():
        nearest = np.minimum(np.rint(pos).astype(np.int64), len(holes) - 1)
        y[holes[nearest]] = np.nan
    return y.reshape(n_out, *x.shape[1:]).astype(np.float32)


def resample_totals(x: np.ndarray, rate_in: float, rate_out: float) -> np.ndarray:
    """Amounts per sample interval (sample i covers [i, i+1) / rate_in) onto the output intervals, keeping
    the sum: the cumulative amount, linear within each input interval, differenced at the output edges.
    A missing (NaN) input interval counts as none, and output intervals that overlap it are NaN."""
    x = np.asarray(x)
    up, down = rational_ratio(rate_in, rate_out)
    n_out = -(-x.shape[0] * up // down)
    if up == down:
        return x.astype(np.float32, copy=True)
    if x.shape[0] == 0:
        return np.zeros((0, *x.shape[1:]), np.float32)
    x2 = x.astype(np.float64).reshape(x.shape[0], -1)
    holes = ~np.isfinite(x2)
    cum = np.vstack([np.zeros((1, x2.shape[1])), np.cumsum(np.where(holes, 0.0, x2), axis=0)])
    edges = np.arange(n_out + 1) * (rate_in / rate_out)  # output edges in input-sample units
    edges = np.minimum(edges, x2.shape[0])
    at = np.stack([np.interp(edges, np.arange(x2.shape[0] + 1), cum[:, c]) for c in range(x2.shape[1])], axis=1)
    y = np.diff(at, axis=0)
    if holes.any():
        first = np.minimum(np.floor(edges[:-1]).astype(np.int64), x2.shape[0] - 1)
        last = np.minimum(np.ceil(edges[1:]).astype(np.int64) - 1, x2.shape[0] - 1)
        hole_cum = np.vstack([np.zeros((1, x2.shape[1])), np.cumsum(holes, axis=0)])
        y[(hole_cum[last + 1] - hole_cum[first]) > 0] = np.nan
    return y.reshape(n_out, *x.shape[1:]).astype(np.float32)


def resample_signal(x: np.ndarray, rate_in: float, rate_out: float, method: str = "fir",
                    totals: tuple[int, ...] = ()) -> np.ndarray:
    """[n, ch] with the manifest's choices: `method` for state channels, conserved amounts for `totals`."""
    if method not in METHODS:
        raise TinymlError(f"resample: method {method!r} not known; allowed: {', '.join(METHODS)}")
    x = np.asarray(x)
    state = resample_linear if method == "linear" else resample
    if not totals:
        return state(x, rate_in, rate_out)
    y = state(x, rate_in, rate_out)
    for c in totals:
        y[:, c] = resample_totals(x[:, c], rate_in, rate_out)
    return y
