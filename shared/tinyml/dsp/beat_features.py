"""Per-beat features for beat classification (C twin `tml_beat_features`, bit-exact): the QRS width and the
shape correlation with a running template of the subject's normal beats. Prematurity is plain arithmetic on
R-R intervals in the app's post-processing.

qrs_width(x, c, half) -> a sample count (float32): within x[c - half .. c + half] (clipped to x), the
  deflection d_i = |x_i - base| from the baseline base = mean of the span's first BASE samples (the PR
  segment), and its maximum at m; the QRS is the run around m of samples with d_i >= 0.3 * d_m, bridging
  gaps of up to GAP samples (the zero crossing between R and S), so a noise spike elsewhere does not
  stretch it. A normal QRS measures about 25-60 ms this way, a ventricular one 70-150 ms; it is the width
  the classifier compares, not a clinical QRS duration.
template_corr(x, t) -> Pearson correlation of two equal-length segments (float32; 0 when either is flat).
template_match(x, t, shift) -> the best template_corr of t against x[s : s + len(t)], s = 0 .. 2*shift
  (x is len(t) + 2*shift long): the shape match with the beat re-aligned by up to `shift` samples, since the
  R-peak mark may sit on R in one beat and on S in the next when both are about as deep.
template_align(x, t, shift) -> (template_match's value, the first s that gives it): where the beat lines up
  with the template, so that the running template averages aligned beats (averaging beats whose R mark sits a
  few samples apart would smear the template, lowering its peak and every later beat's correlation).
template_update(t, x, k) -> t + (x - t) / k, the running template (k = 8: about the last 8 normal beats).

Float32, sequential sums from 0 in index order, sqrtf: Python and C give identical values.
"""

from __future__ import annotations

import numpy as np

from .stats import seqsum

_F = np.float32


GAP = 2
BASE = 4  # samples averaged for the baseline at the start of the span


def qrs_width(x, c: int, half: int) -> np.float32:
    x = np.asarray(x, np.float32)
    lo, hi = max(0, c - half), min(len(x) - 1, c + half)
    if hi - lo + 1 < BASE:
        return _F(0)
    base = _F(seqsum(x[lo : lo + BASE]) / _F(BASE))
    d = np.abs(x[lo : hi + 1] - base)
    m = int(np.argmax(d))  # the first maximum
    thr = d[m] * _F(0.3)
    a = b = m
    while True:  # extend left over samples beyond the threshold, bridging up to GAP below it
        k = next((j for j in range(a - 1, max(a - 2 - GAP, -1), -1) if d[j] >= thr), None)
        if k is None:
            break
        a = k
    while True:
        k = next((j for j in range(b + 1, min(b + 2 + GAP, len(d))) if d[j] >= thr), None)
        if k is None:
            break
        b = k
    return _F(b - a + 1)


def template_corr(x, t) -> np.float32:
    x = np.asarray(x, np.float32)
    t = np.asarray(t, np.float32)
    n = _F(len(x))
    mx = _F(seqsum(x) / n)
    mt = _F(seqsum(t) / n)
    a, b = x - mx, t - mt
    sab, saa, sbb = seqsum(a * b), seqsum(a * a), seqsum(b * b)
    den = np.sqrt(_F(saa * sbb))
    return _F(0) if den == 0 else _F(sab / den)


def template_align(x, t, shift: int) -> tuple[np.float32, int]:
    x = np.asarray(x, np.float32)
    n = len(t)
    best, at = _F(-2), 0
    for s in range(2 * shift + 1):
        c = template_corr(x[s : s + n], t)
        if c > best:
            best, at = c, s
    return best, at


def template_match(x, t, shift: int) -> np.float32:
    return template_align(x, t, shift)[0]


def template_update(t, x, k: int = 8) -> np.ndarray:
    t = np.asarray(t, np.float32)
    return t + (np.asarray(x, np.float32) - t) / _F(k)
