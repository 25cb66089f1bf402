"""Power spectrum of a windowed frame (one-sided, via rfft) and a framed spectrogram.

Definition: P[k] = |X[k]|^2 = re^2 + im^2 for k = 0..n_fft/2, X = rfft(frame * window, n_fft)
(zero-padded to n_fft when n_fft > frame length). No scaling.

Arithmetic: the reference computes the FFT in float64 and rounds P to float32. The C twin
`tml_power_spectrum` (firmware/runtime/dsp/tml_fft.c: iterative radix-2 complex FFT in float32, n_fft a
power of two, twiddles from `fft_twiddles`) is not bit-exact: the tests bound its error by
2e-7 * sum(P) per bin (float32 rounding through the log2(n_fft) butterfly stages; measured <= 4e-8).
The window product frame*window is float32 (bit-exact in C).
"""

from __future__ import annotations

import numpy as np

from ..errors import TinymlError
from .frame import frame as _frame
from .window import window as _window


def _win(window, n):
    if isinstance(window, str):
        return _window(window, n)
    w = np.asarray(window, dtype=np.float32)
    if w.shape != (n,):
        raise TinymlError(f"spectrum: window must have length {n}, got shape {w.shape}")
    return w


def power_spectrum(frame, window="hann", n_fft: int | None = None) -> np.ndarray:
    """frame [n] or [n, ch] -> float32 [n_fft//2 + 1] or [n_fft//2 + 1, ch]."""
    x = np.asarray(frame, dtype=np.float32)
    if x.ndim not in (1, 2) or x.shape[0] < 1:
        raise TinymlError(f"power_spectrum: frame must be non-empty [n] or [n, ch], got shape {x.shape}")
    n = x.shape[0]
    n_fft = n if n_fft is None else int(n_fft)
    if n_fft < n:
        raise TinymlError(f"power_spectrum: n_fft ({n_fft}) must be >= the frame length ({n})")
    w = _win(window, n)
    xw = x * (w if x.ndim == 1 else w[:, None])
    X = np.fft.rfft(xw.astype(np.float64), n=n_fft, axis=0)
    return (X.real * X.real + X.imag * X.imag).astype(np.float32)


def spectrogram(x, length: int, hop: int, window="hann", n_fft: int | None = None) -> np.ndarray:
    """x [n] or [n, ch] -> float32 [n_frames, n_fft//2 + 1] or [n_frames, n_fft//2 + 1, ch]."""
    x = np.asarray(x, dtype=np.float32)
    fr = _frame(x, length, hop)  # [n_frames, length, ...]
    n_fft = length if n_fft is None else int(n_fft)
    if fr.shape[0] == 0:
        return np.zeros((0, n_fft // 2 + 1, *x.shape[1:]), np.float32)
    w = _win(window, length)
    shape = [1, length] + [1] * (x.ndim - 1)
    xw = fr * w.reshape(shape)
    X = np.fft.rfft(xw.astype(np.float64), n=n_fft, axis=1)
    return (X.real * X.real + X.imag * X.imag).astype(np.float32)


def fft_twiddles(n_fft: int) -> np.ndarray:
    """float32 [2, n_fft/2]: cos and -sin of 2*pi*k/n_fft, computed in float64 and rounded once.

    The table the C FFT uses (generated into headers; `tml_fft_twiddles` computes the same numbers).
    """
    if n_fft < 2 or n_fft & (n_fft - 1):
        raise TinymlError(f"fft: n_fft must be a power of two >= 2, got {n_fft}")
    k = np.arange(n_fft // 2, dtype=np.float64)
    ang = 2.0 * np.pi * k / n_fft
    return np.stack([np.cos(ang), -np.sin(ang)]).astype(np.float32)
