"""Power spectrum of a windowed frame (one-sided) and a framed spectrogram.

Definition: P[k] = |X[k]|^2 = re^2 + im^2 for k = 0..n_fft/2, X = DFT(frame * window, n_fft)
(zero-padded to n_fft when n_fft > frame length). No scaling.

Arithmetic (n_fft a power of two, every frontend the device runs): float32 throughout, exactly the C
twin `tml_power_spectrum` (firmware/runtime/dsp/tml_fft.c), so the two are bit-exact: the window
product x*w; a bit-reversal permutation; radix-2 decimation-in-time stages with the twiddle table
`fft_twiddles` and, per butterfly, vr = re[b]*wr - im[b]*wi, vi = re[b]*wi + im[b]*wr,
re[a], re[b] = ur + vr, ur - vr (same for im); then P = re*re + im*im. numpy float32 elementwise ops
round like C float ops without FMA (the C is built with -ffp-contract=off), so doing the same
operations vectorized over frames and butterflies gives the same bits. Error against the exact DFT:
about one float32 rounding of ||x||_2 per stage (tests bound it).

Any other n_fft (host-only, no C twin): numpy's float64 rfft, rounded once to float32.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..errors import TinymlError
from .frame import frame as _frame
from .window import window as _window

_CHUNK = 512  # frames per FFT pass: keeps the working set cache-sized


def _win(window, n):
    if isinstance(window, str):
        return _window(window, n)
    w = np.asarray(window, dtype=np.float32)
    if w.shape != (n,):
        raise TinymlError(f"spectrum: window must have length {n}, got shape {w.shape}")
    return w


def _is_pow2(n: int) -> bool:
    return n >= 2 and n & (n - 1) == 0


@lru_cache(maxsize=16)
def _bitrev(n: int) -> np.ndarray:
    bits = n.bit_length() - 1
    i = np.arange(n)
    r = np.zeros(n, np.int64)
    for b in range(bits):
        r |= ((i >> b) & 1) << (bits - 1 - b)
    return r


@lru_cache(maxsize=16)
def _stage_twiddles(n: int) -> tuple:
    """Per stage (half, wr[half], wi[half]): tml_fft's tc[j*step], ts[j*step]."""
    tw = fft_twiddles(n)
    out = []
    length = 2
    while length <= n:
        half, step = length // 2, n // length
        out.append((half, np.ascontiguousarray(tw[0, ::step][:half]), np.ascontiguousarray(tw[1, ::step][:half])))
        length *= 2
    return tuple(out)


def _power_fft32(xw: np.ndarray, n_fft: int) -> np.ndarray:
    """xw float32 [m, n] (n <= n_fft, rows = frames) -> float32 [m, n_fft//2 + 1], as tml_power_spectrum.

    Works on [n_fft, frames] blocks (frames innermost), so every butterfly op is one long contiguous loop."""
    m, n = xw.shape
    nb = n_fft // 2 + 1
    out = np.empty((m, nb), np.float32)
    rev = _bitrev(n_fft)
    src = np.flatnonzero(rev < n)  # bit-reversed positions that hold samples (the rest is zero padding)
    stages = _stage_twiddles(n_fft)
    for c0 in range(0, m, _CHUNK):
        x = xw[c0 : c0 + _CHUNK]
        k = x.shape[0]
        re = np.zeros((n_fft, k), np.float32)
        re[src] = x[:, rev[src]].T
        im = np.zeros((n_fft, k), np.float32)
        t1 = np.empty((n_fft // 2, k), np.float32)
        t2, vr, vi = np.empty_like(t1), np.empty_like(t1), np.empty_like(t1)
        for half, wr, wi in stages:
            shape = (n_fft // (2 * half), half, k)
            r4 = re.reshape(-1, 2, half, k)
            i4 = im.reshape(-1, 2, half, k)
            ar, br, ai, bi = r4[:, 0], r4[:, 1], i4[:, 0], i4[:, 1]
            T1, T2, VR, VI = (a.reshape(shape) for a in (t1, t2, vr, vi))
            wr2, wi2 = wr[:, None], wi[:, None]
            np.multiply(br, wr2, out=T1)         # vr = re[b]*wr - im[b]*wi
            np.multiply(bi, wi2, out=T2)
            np.subtract(T1, T2, out=VR)
            np.multiply(br, wi2, out=T1)         # vi = re[b]*wi + im[b]*wr
            np.multiply(bi, wr2, out=T2)
            np.add(T1, T2, out=VI)
            np.subtract(ar, VR, out=br)          # re[b] = ur - vr (before re[a] changes)
            np.add(ar, VR, out=ar)
            np.subtract(ai, VI, out=bi)
            np.add(ai, VI, out=ai)
        r, i = re[:nb], im[:nb]
        out[c0 : c0 + k] = (r * r + i * i).T
    return out


def _power_rows(xw: np.ndarray, n_fft: int) -> np.ndarray:
    """float32 [..., n] (time last) -> float32 [..., n_fft//2 + 1]."""
    lead = xw.shape[:-1]
    flat = np.ascontiguousarray(xw.reshape(-1, xw.shape[-1]), dtype=np.float32)
    if _is_pow2(n_fft):
        P = _power_fft32(flat, n_fft)
    else:
        X = np.fft.rfft(flat.astype(np.float64), n=n_fft, axis=1)
        P = (X.real * X.real + X.imag * X.imag).astype(np.float32)
    return P.reshape(*lead, n_fft // 2 + 1)


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
    return np.moveaxis(_power_rows(np.moveaxis(xw, 0, -1), n_fft), -1, 0)


def spectrogram(x, length: int, hop: int, window="hann", n_fft: int | None = None) -> np.ndarray:
    """x [n] or [n, ch] -> float32 [n_frames, n_fft//2 + 1] or [n_frames, n_fft//2 + 1, ch]."""
    x = np.asarray(x, dtype=np.float32)
    fr = _frame(x, length, hop)  # [n_frames, length, ...]
    n_fft = length if n_fft is None else int(n_fft)
    if n_fft < length:
        raise TinymlError(f"spectrogram: n_fft ({n_fft}) must be >= the frame length ({length})")
    if fr.shape[0] == 0:
        return np.zeros((0, n_fft // 2 + 1, *x.shape[1:]), np.float32)
    w = _win(window, length)
    shape = [1, length] + [1] * (x.ndim - 1)
    xw = fr * w.reshape(shape)
    return np.moveaxis(_power_rows(np.moveaxis(xw, 1, -1), n_fft), -1, 1)


def fft_twiddles(n_fft: int) -> np.ndarray:
    """float32 [2, n_fft/2]: cos and -sin of 2*pi*k/n_fft, computed in float64 and rounded once.

    The table the C FFT uses (generated into headers; `tml_fft_twiddles` computes the same numbers).
    """
    if n_fft < 2 or n_fft & (n_fft - 1):
        raise TinymlError(f"fft: n_fft must be a power of two >= 2, got {n_fft}")
    k = np.arange(n_fft // 2, dtype=np.float64)
    ang = 2.0 * np.pi * k / n_fft
    return np.stack([np.cos(ang), -np.sin(ang)]).astype(np.float32)
