"""Heart-rate and R-R interval features over a window (C twin `tml_rr_features`, bit-exact).

Input: R-R intervals in seconds (float32 [k], k >= 0). Output float32 [5], in this order (FEATURES):
  hr_bpm        60 / mean(rr)                                   (NaN when k < 1)
  sdnn_ms       1000 * sqrt(mean((rr - mean)^2))                (NaN when k < 2)
  rmssd_ms      1000 * sqrt(mean(diff(rr)^2))                    (NaN when k < 2)
  pnn50         share of |diff(rr)| > 0.05 s                     (NaN when k < 2)
  irregularity  min over lags L = 1, 2, 3 of median_n |rr[n] - rr[n-L]|, divided by median(rr)  (NaN when k < 4)

The irregularity separates atrial fibrillation from sinus rhythm with ectopic beats: sinus rhythm with
isolated ectopics is regular at lag 1 for most beats, bigeminy at lag 2, trigeminy at lag 3, while AF's
intervals are irregularly irregular at every lag (typically 0.1-0.3 against < 0.05). Medians are the lower
middle element of the sorted values (no arithmetic), so Python and C agree exactly.

Float32 throughout, sums sequential from 0 in index order: mean = sum / k, squares summed the same way,
then sqrtf; the constants 60, 1000 and 0.05 are float32.
"""

from __future__ import annotations

import numpy as np

from .stats import seqsum

FEATURES = ("hr_bpm", "sdnn_ms", "rmssd_ms", "pnn50", "irregularity")
_F = np.float32


def _median_low(v) -> np.float32:
    s = np.sort(np.asarray(v, np.float32))
    return s[(len(s) - 1) // 2]


def rr_features(rr) -> np.ndarray:
    rr = np.asarray(rr, np.float32).reshape(-1)
    k = len(rr)
    out = np.full(5, np.nan, np.float32)
    if k < 1:
        return out
    mean = _F(seqsum(rr) / _F(k))
    out[0] = _F(60) / mean
    if k < 2:
        return out
    dev = rr - mean
    out[1] = _F(1000) * np.sqrt(_F(seqsum(dev * dev) / _F(k)))
    d = rr[1:] - rr[:-1]
    out[2] = _F(1000) * np.sqrt(_F(seqsum(d * d) / _F(k - 1)))
    out[3] = _F(int(np.sum(np.abs(d) > _F(0.05)))) / _F(k - 1)
    if k < 4:
        return out
    med = _median_low(rr)
    best = min(_median_low(np.abs(rr[lag:] - rr[:-lag])) for lag in (1, 2, 3))
    out[4] = best / med
    return out
