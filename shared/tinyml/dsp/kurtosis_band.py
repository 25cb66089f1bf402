"""The most impulsive band: band-pass the window in each of several bands and keep the one whose output
has the highest kurtosis. A fixed-band version of the spectral-kurtosis choice of a demodulation band
(Antoni, "Fast computation of the kurtogram", MSSP 2007): bearing defects ring a structural resonance
that differs from machine to machine, and the band where the signal is most impulsive is where their
impacts stand out of the noise. Envelope analysis then demodulates that band.

Arithmetic (float32, C twin `tml_kurtosis_band`, bit-exact): each band is a Butterworth band-pass biquad
cascade (tinyml.dsp.biquad, zero initial state) over the window; its kurtosis is tinyml.dsp.stats's;
the first band with the largest kurtosis wins (a strict > when scanning in band order). The output is that
band's filtered signal, per channel (each channel chooses its own band).
"""

from __future__ import annotations

import numpy as np

from ..errors import TinymlError
from .biquad import biquad, design_biquad
from .stats import kurtosis


def band_filters(bands, rate: float, order: int) -> list[np.ndarray]:
    """The sos of each band (float32 [k, 6])."""
    try:
        pairs = [(float(lo), float(hi)) for lo, hi in bands]
    except (TypeError, ValueError):
        raise TinymlError(f"kurtosis_band: bands must be a list of [lo, hi] pairs in Hz, got {bands!r}") from None
    if not pairs:
        raise TinymlError("kurtosis_band: bands must not be empty")
    return [design_biquad("bandpass", (lo, hi), rate, order) for lo, hi in pairs]


def kurtosis_band(x, sos_list) -> tuple[np.ndarray, np.ndarray]:
    """x [n] or [n, ch] -> (float32 band-passed x of the same shape, int chosen band index per channel)."""
    x = np.asarray(x, dtype=np.float32)
    x2 = x if x.ndim == 2 else x[:, None]
    best = np.zeros(x2.shape[1], np.int64)
    best_k = np.full(x2.shape[1], -np.inf, np.float32)
    out = np.empty_like(x2)
    for b, sos in enumerate(sos_list):
        y = biquad(x2, sos)[0]
        k = kurtosis(y)
        better = k > best_k
        best = np.where(better, b, best)
        best_k = np.where(better, k, best_k)
        out[:, better] = y[:, better]
    return (out if x.ndim == 2 else out[:, 0]), best
