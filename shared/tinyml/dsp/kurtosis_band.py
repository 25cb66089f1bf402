"""The most impulsive band: band-pass the window in each of several bands and keep the one whose output
has the highest kurtosis. A fixed-band version of the spectral-kurtosis choice of a demodulation band
(Antoni, "Fast computation of the kurtogram", MSSP 2007): bearing defects ring a structural resonance
that differs from machine to machine, and the band where the signal is most impulsive is where their
impacts stand out of the noise. Envelope analysis then demodulates that band.

Arithmetic (float32, C twin `tml_kurtosis_band`, bit-exact): each band is a Butterworth band-pass biquad
cascade (tinyml.dsp.biquad, zero initial state) over the window; its kurtosis is tinyml.dsp.stats's;
the first band with the largest kurtosis wins (a strict > when scanning in band order). The output is that
band's filtered signal, per channel (each channel chooses its own band), without its first `skip` samples:
a filter started from rest rings at the window's start (more so under a strong low-frequency component),
and that start-up transient would look impulsive; kurtosis is measured without it too.
"""

from __future__ import annotations

import numpy as np

from ..errors import TinymlError
from .biquad import biquad, design_biquad
from .fft_band_power import band_pairs
from .stats import kurtosis


def band_filters(bands, rate: float, order: int) -> list[np.ndarray]:
    """The sos of each band (float32 [k, 6])."""
    return [design_biquad("bandpass", (lo, hi), rate, order) for lo, hi in band_pairs(bands, "kurtosis_band")]


def kurtosis_band(x, sos_list, skip: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """x [n] or [n, ch] -> (float32 band-passed x[skip:] ([n - skip] or [n - skip, ch]), int chosen band index
    per channel)."""
    x = np.asarray(x, dtype=np.float32)
    x2 = x if x.ndim == 2 else x[:, None]
    if not 0 <= skip < x2.shape[0]:
        raise TinymlError(f"kurtosis_band: skip must be 0..{x2.shape[0] - 1} samples, got {skip}")
    best = np.zeros(x2.shape[1], np.int64)
    best_k = np.full(x2.shape[1], -np.inf, np.float32)
    out = np.empty((x2.shape[0] - skip, x2.shape[1]), np.float32)
    for b, sos in enumerate(sos_list):
        y = biquad(x2, sos)[0][skip:]
        k = kurtosis(y)
        better = k > best_k
        best = np.where(better, b, best)
        best_k = np.where(better, k, best_k)
        out[:, better] = y[:, better]
    return (out if x.ndim == 2 else out[:, 0]), best
