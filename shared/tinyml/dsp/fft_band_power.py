"""Signal power in frequency bands, from the rfft of a windowed frame.

Definition (n = frame length, w = window, X = rfft(frame * w), S2 = sum(w*w)):

    band_power[b] = sum_{k: lo_b <= k*rate/n < hi_b} c_k * |X[k]|^2 / (n * S2)

with c_k = 1 for DC and (n even) Nyquist, else 2 (one-sided). This equals scipy.signal.periodogram
(scaling='density', detrend=False, same window) integrated over the band (times rate/n), so with a
rectangular window the bands covering [0, rate/2] sum to mean(x**2); a sine of amplitude A in a band
gives about A**2/2 with a hann window.

With `length` (Welch's method), the window is cut into frames of `length` samples every `hop` and the
band powers are the mean over the frames: a steadier estimate at a coarser resolution.

Arithmetic (float32, C twin `tml_fft_band_power`, bit-exact for n a power of two): the power spectrum is
tinyml.dsp.spectrum's; each band sums c_k*P[k] sequentially in float32 (c_k*P[k] is P[k] or 2.0f*P[k])
and multiplies by the float32 scale 1/(n*S2) (`band_scale`); bins come from `band_bins`; frames are
summed sequentially in float32 and divided by their count (as float). Any other n (host only): numpy's
float64 rfft rounded to float32, then the same float32 sums.
"""

from __future__ import annotations

import numpy as np

from ..errors import TinymlError
from .spectrum import _win, power_spectrum


def band_pairs(bands, block: str) -> list[tuple[float, float]]:
    """A block's `bands` parameter as (lo, hi) pairs in Hz, or a one-line error naming the block."""
    try:
        out = [(float(lo), float(hi)) for lo, hi in bands]
    except (TypeError, ValueError):
        raise TinymlError(f"{block}: bands must be a list of [lo, hi] pairs in Hz, got {bands!r}") from None
    if not out:
        raise TinymlError(f"{block}: bands must not be empty")
    return out


def _check_bands(bands, rate):
    out = band_pairs(bands, "fft_band_power")
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


def _band_sums(P: np.ndarray, n: int, rate: float, bands, window) -> np.ndarray:
    """P float32 [bins, ...] (power spectra of n-point frames) -> float32 [..., n_bands]."""
    lo, hi = band_bins(n, rate, bands)
    c = bin_weights(n).reshape((-1,) + (1,) * (P.ndim - 1))
    cP = P * c  # exact: a factor of 1 or 2
    scale = band_scale(_win(window, n))
    sums = [np.add.accumulate(cP[a:b], axis=0)[-1] if b > a else np.zeros(cP.shape[1:], np.float32)
            for a, b in zip(lo, hi)]
    return (np.stack(sums, axis=-1).astype(np.float32) * scale).astype(np.float32)


def _one_frame(x: np.ndarray, rate: float, bands, window) -> np.ndarray:
    return _band_sums(power_spectrum(x, window), x.shape[0], rate, bands, window)


def fft_band_power(frame, rate: float, bands, window="hann", length: int = 0, hop: int = 0) -> np.ndarray:
    """frame [n] or [n, ch] -> float32 [n_bands] or [ch, n_bands] (band power, see module docstring);
    length > 0: the mean over frames of `length` samples every `hop` (0: = length)."""
    x = np.asarray(frame, dtype=np.float32)
    if not rate > 0:
        raise TinymlError(f"fft_band_power: rate must be > 0 Hz, got {rate}")
    if not length:
        return _one_frame(x, rate, bands, window)
    hop = hop or length
    if not 1 <= length <= x.shape[0] or hop < 1:
        raise TinymlError(f"fft_band_power: length must be 1..{x.shape[0]} and hop >= 1, got {length}, {hop}")
    starts = range(0, x.shape[0] - length + 1, hop)
    fr = np.stack([x[s : s + length] for s in starts], axis=1)  # [length, frames, ...]: one FFT pass
    per = _band_sums(power_spectrum(fr.reshape(length, -1), window).reshape(-1, *fr.shape[1:]), length, rate,
                     bands, window)  # [frames, ..., n_bands]
    acc = per[0]
    for b in per[1:]:
        acc = (acc + b).astype(np.float32)
    return (acc / np.float32(len(starts))).astype(np.float32)
