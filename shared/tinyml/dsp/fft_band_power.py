"""Signal power in frequency bands, from the rfft of a windowed frame.

Definition (n = frame length, w = window, X = rfft(frame * w), S2 = sum(w*w)):

    band_power[b] = sum_{k: lo_b <= k*rate/n < hi_b} c_k * |X[k]|^2 / (n * S2)

with c_k = 1 for DC and (n even) Nyquist, else 2 (one-sided). This equals scipy.signal.periodogram
(scaling='density', detrend=False, same window) integrated over the band (times rate/n), so with a
rectangular window the bands covering [0, rate/2] sum to mean(x**2); a sine of amplitude A in a band
gives about A**2/2 with a hann window.

Arithmetic: the power spectrum is tinyml.dsp.spectrum's (float32, bit-exact with the C FFT for n a power
of two), the band sums are float64 here, result float32. The C twin `tml_fft_band_power` runs the same
float32 radix-2 FFT (n a power of two), sums c_k*P[k] sequentially in float32 and multiplies by the precomputed
float32 scale 1/(n*S2) (`band_scale`); bins come from `band_bins`. Not bit-exact: tests bound the error
by 5e-7 times the frame's total power (measured <= 1e-7).
"""

from __future__ import annotations

import numpy as np

from ..errors import TinymlError
from .spectrum import _win, power_spectrum


def _check_bands(bands, rate):
    try:
        out = [(float(lo), float(hi)) for lo, hi in bands]
    except (TypeError, ValueError):
        raise TinymlError(f"fft_band_power: bands must be a list of [lo, hi] pairs in Hz, got {bands!r}") from None
    if not out:
        raise TinymlError("fft_band_power: bands must not be empty")
    for lo, hi in out:
        if not 0 <= lo < hi:
            raise TinymlError(f"fft_band_power: band [{lo}, {hi}] needs 0 <= lo < hi")
    return out


def band_bins(n: int, rate: float, bands) -> tuple[np.ndarray, np.ndarray]:
    """First bin and one-past-last bin (int32 each [n_bands]) of each band for an n-point rfft."""
    bands = _check_bands(bands, rate)
    f = np.arange(n // 2 + 1) * (rate / n)
    lo = np.array([np.searchsorted(f, a, side="left") for a, _ in bands], np.int32)
    hi = np.array([np.searchsorted(f, b, side="left") for _, b in bands], np.int32)
    return lo, hi


def bin_weights(n: int) -> np.ndarray:
    """c_k: float32 [n//2 + 1], 1 at DC and Nyquist (n even), 2 elsewhere."""
    c = np.full(n // 2 + 1, 2.0, np.float32)
    c[0] = 1.0
    if n % 2 == 0:
        c[-1] = 1.0
    return c


def band_scale(w: np.ndarray) -> np.float32:
    """1 / (n * sum(w*w)) as float32 (computed in float64)."""
    w = np.asarray(w, dtype=np.float64)
    return np.float32(1.0 / (w.shape[0] * np.sum(w * w)))


def fft_band_power(frame, rate: float, bands, window="hann") -> np.ndarray:
    """frame [n] or [n, ch] -> float32 [n_bands] or [ch, n_bands] (band power, see module docstring)."""
    x = np.asarray(frame, dtype=np.float32)
    if not rate > 0:
        raise TinymlError(f"fft_band_power: rate must be > 0 Hz, got {rate}")
    P = power_spectrum(x, window).astype(np.float64)  # [bins] or [bins, ch]
    n = x.shape[0]
    w = _win(window, n)
    lo, hi = band_bins(n, rate, bands)
    c = bin_weights(n).astype(np.float64)
    cP = P * (c if P.ndim == 1 else c[:, None])
    scale = 1.0 / (n * np.sum(w.astype(np.float64) ** 2))
    out = np.stack([cP[a:b].sum(axis=0) for a, b in zip(lo, hi)], axis=-1) * scale
    return out.astype(np.float32)
