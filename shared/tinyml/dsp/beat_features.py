"""Per-beat features for beat classification (C twin `tml_beat_features`, bit-exact): the QRS width and the
shape correlation with a running template of the subject's normal beats. Prematurity is plain arithmetic on
R-R intervals in the app's post-processing.

qrs_width(x, c, half) -> seconds * rate (a sample count, float32): within x[c - half .. c + half] (clipped
  to x), the absolute first differences d_i = |x_i - x_{i-1}|; the QRS spans from the first to the last
  sample whose d_i >= 0.3 * max d (the steep part of the complex). A normal QRS (80-100 ms) measures about
  40-80 ms this way, a ventricular one 100-170 ms; it is the width the classifier compares, not a clinical QRS
  duration.
template_corr(x, t) -> Pearson correlation of two equal-length segments (float32; 0 when either is flat).
template_update(t, x, k) -> t + (x - t) / k, the running template (k = 8: about the last 8 normal beats).

Float32, sequential sums from 0 in index order, sqrtf: Python and C give identical values.
"""

from __future__ import annotations

import numpy as np

_F = np.float32


def qrs_width(x, c: int, half: int) -> np.float32:
    x = np.asarray(x, np.float32)
    lo, hi = max(1, c - half), min(len(x) - 1, c + half)
    if hi < lo:
        return _F(0)
    d = np.abs(x[lo : hi + 1] - x[lo - 1 : hi])
    thr = d.max() * _F(0.3)
    on = np.flatnonzero(d >= thr)
    return _F(on[-1] - on[0] + 1)


def _seq_sum(v) -> np.float32:
    acc = _F(0)
    for x in np.asarray(v, np.float32):
        acc = _F(acc + x)
    return acc


def template_corr(x, t) -> np.float32:
    x = np.asarray(x, np.float32)
    t = np.asarray(t, np.float32)
    n = _F(len(x))
    mx = _F(_seq_sum(x) / n)
    mt = _F(_seq_sum(t) / n)
    a, b = x - mx, t - mt
    sab, saa, sbb = _seq_sum(a * b), _seq_sum(a * a), _seq_sum(b * b)
    den = np.sqrt(_F(saa * sbb))
    return _F(0) if den == 0 else _F(sab / den)


def template_update(t, x, k: int = 8) -> np.ndarray:
    t = np.asarray(t, np.float32)
    return t + (np.asarray(x, np.float32) - t) / _F(k)
