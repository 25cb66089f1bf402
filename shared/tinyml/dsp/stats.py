"""Per-channel summary statistics of a window.

Arithmetic: float32, bit-exact with the C twins `tml_stats_*` (firmware/runtime/dsp/tml_stats.c).
Every sum is sequential, left to right, in a float32 accumulator starting at 0.0f (here np.add.accumulate,
which is strictly sequential; not np.sum, which is pairwise). n is converted to float32 (exact for
n < 2**24). With S(v) = that sequential sum:

    mean      = S(x) / n
    d         = x - mean
    m2        = S(d*d) / n                  std = sqrtf(m2)   (population, ddof=0, like np.std)
    m4        = S((d*d)*(d*d)) / n          kurtosis = m4 / (m2*m2) - 3   (Fisher, biased, like
                                            scipy.stats.kurtosis defaults); 0 when m2 == 0
    m3        = S((d*d)*d) / n              skewness = m3 / (m2*sqrtf(m2))  (biased, like
                                            scipy.stats.skew defaults); 0 when m2 == 0
    rms       = sqrtf(S(x*x) / n)
    peak      = max|x|
    crest     = peak / rms; 0 when rms == 0
    min, max  exact
    zero_crossings = number of i in 1..n-1 with (x[i-1] < 0) != (x[i] < 0)  (0 counts as positive)

An empty window raises TinymlError (C returns 0 for every statistic).
"""

from __future__ import annotations

import numpy as np

from ..errors import TinymlError

# Codes are positions here (the C enum TML_STAT_*): new statistics go at the end.
STAT_NAMES = ("mean", "std", "min", "max", "rms", "kurtosis", "crest", "zero_crossings", "skewness", "peak")


def _prep(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim not in (1, 2) or x.shape[0] == 0:
        raise TinymlError(f"stats: x must be a non-empty [n] or [n, ch], got shape {x.shape}")
    return x


def seqsum(v: np.ndarray) -> np.ndarray:
    """Sequential float32 sum over axis 0 (the C loop `acc += v[i]`)."""
    return np.add.accumulate(np.asarray(v, dtype=np.float32), axis=0)[-1]


def mean(x) -> np.ndarray:
    x = _prep(x)
    return seqsum(x) / np.float32(x.shape[0])


def _moments(x):
    m = mean(x)
    d = x - m
    d2 = d * d
    n = np.float32(x.shape[0])
    return seqsum(d2) / n, seqsum(d2 * d2) / n


def std(x) -> np.ndarray:
    x = _prep(x)
    return np.sqrt(_moments(x)[0])


def minimum(x) -> np.ndarray:
    return _prep(x).min(axis=0)


def maximum(x) -> np.ndarray:
    return _prep(x).max(axis=0)


def rms(x) -> np.ndarray:
    x = _prep(x)
    return np.sqrt(seqsum(x * x) / np.float32(x.shape[0]))


def kurtosis(x) -> np.ndarray:
    x = _prep(x)
    m2, m4 = _moments(x)
    den = m2 * m2
    with np.errstate(divide="ignore", invalid="ignore"):
        k = m4 / den - np.float32(3)
    return np.where(m2 == 0, np.float32(0), k).astype(np.float32)


def skewness(x) -> np.ndarray:
    x = _prep(x)
    d = x - mean(x)
    d2 = d * d
    n = np.float32(x.shape[0])
    m2, m3 = seqsum(d2) / n, seqsum(d2 * d) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        k = m3 / (m2 * np.sqrt(m2))
    return np.where(m2 == 0, np.float32(0), k).astype(np.float32)


def peak(x) -> np.ndarray:
    return np.abs(_prep(x)).max(axis=0)


def crest_factor(x) -> np.ndarray:
    x = _prep(x)
    r = rms(x)
    peak = np.abs(x).max(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = peak / r
    return np.where(r == 0, np.float32(0), c).astype(np.float32)


def zero_crossings(x) -> np.ndarray:
    x = _prep(x)
    neg = x < 0
    return np.count_nonzero(neg[1:] != neg[:-1], axis=0)


_FUNCS = {
    "mean": mean,
    "std": std,
    "min": minimum,
    "max": maximum,
    "rms": rms,
    "kurtosis": kurtosis,
    "crest": crest_factor,
    "zero_crossings": zero_crossings,
    "skewness": skewness,
    "peak": peak,
}


def stats(x, names=STAT_NAMES) -> np.ndarray:
    """float32 [len(names)] for x [n], or [ch, len(names)] for x [n, ch]; order as in `names`."""
    bad = [s for s in names if s not in _FUNCS]
    if bad:
        raise TinymlError(f"stats: unknown statistic {bad[0]!r}; allowed: {', '.join(STAT_NAMES)}")
    x = _prep(x)
    cols = [np.asarray(_FUNCS[s](x), dtype=np.float32) for s in names]
    return np.stack(cols, axis=-1)
