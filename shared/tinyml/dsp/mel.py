"""Mel filterbank (librosa-compatible) and its application to a power spectrum.

`mel_filterbank` reproduces librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk, norm) (float64
maths, rounded once to float32). It is a generated constant: firmware gets it from Python in sparse form
(`mel_sparse`: per filter the first bin, the count and the weights), never recomputes it.

Applying it (`mel`) is a sequential float32 dot product per filter, acc = 0; acc = acc + w[k]*P[k] for
the filter's bins (first to last non-zero weight) in increasing k: bit-exact with the C twin `tml_mel`.
It runs vectorized over frames and filters, step k of every filter at once; filters shorter than the
longest are padded with zero weights, which add exactly +0 for finite, non-negative P (a power).
"""

from __future__ import annotations

import numpy as np

from ..errors import TinymlError

NORMS = ("slaney", "none")


def hz_to_mel(f, htk: bool = False):
    f = np.asarray(f, dtype=np.float64)
    if htk:
        return 2595.0 * np.log10(1.0 + f / 700.0)
    f_sp = 200.0 / 3
    mels = f / f_sp
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, min_log_hz) / min_log_hz) / logstep, mels)


def mel_to_hz(m, htk: bool = False):
    m = np.asarray(m, dtype=np.float64)
    if htk:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    f_sp = 200.0 / 3
    freqs = f_sp * m
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), freqs)


def mel_filterbank(
    rate: float, n_fft: int, n_mels: int = 40, fmin: float = 0.0, fmax: float | None = None,
    htk: bool = False, norm: str = "slaney",
) -> np.ndarray:
    """float32 [n_mels, n_fft//2 + 1] triangular filters (librosa.filters.mel semantics)."""
    if norm is None:
        norm = "none"
    if norm not in NORMS:
        raise TinymlError(f"mel: norm {norm!r} not allowed; allowed: {', '.join(NORMS)}")
    fmax = rate / 2.0 if fmax is None else float(fmax)
    if not 0 <= fmin < fmax <= rate / 2.0:
        raise TinymlError(f"mel: need 0 <= fmin < fmax <= rate/2, got fmin={fmin}, fmax={fmax}, rate={rate}")
    if n_mels < 1 or n_fft < 2:
        raise TinymlError(f"mel: need n_mels >= 1 and n_fft >= 2, got {n_mels}, {n_fft}")
    fftfreqs = np.fft.rfftfreq(n=n_fft, d=1.0 / rate)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(fmin, htk), hz_to_mel(fmax, htk), n_mels + 2), htk)
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    weights = np.zeros((n_mels, len(fftfreqs)), np.float64)
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    if norm == "slaney":
        enorm = 2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels])
        weights *= enorm[:, np.newaxis]
    return weights.astype(np.float32)


def mel_sparse(fb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(start int32 [n_mels], count int32 [n_mels], weights float32 [sum(count)]) of a filterbank.

    Each filter keeps the bins from its first to its last non-zero weight (an empty filter gets count 0).
    """
    fb = np.asarray(fb, dtype=np.float32)
    starts, counts, ws = [], [], []
    for row in fb:
        nz = np.flatnonzero(row)
        if nz.size == 0:
            starts.append(0)
            counts.append(0)
            continue
        a, b = int(nz[0]), int(nz[-1]) + 1
        starts.append(a)
        counts.append(b - a)
        ws.append(row[a:b])
    flat = np.concatenate(ws).astype(np.float32) if ws else np.zeros(0, np.float32)
    return np.array(starts, np.int32), np.array(counts, np.int32), flat


def mel_steps(fb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bin indices int [max_count, n_mels] and weights float32 [max_count, n_mels]: step k of every filter
    (past a filter's count: weight 0 on its first bin, which adds exactly +0 to a finite sum)."""
    start, count, _ = mel_sparse(fb)
    kmax = max(int(count.max()), 1) if count.size else 1
    k = np.arange(kmax)[:, None]
    idx = start[None, :] + np.where(k < count[None, :], k, 0)
    w = np.where(k < count[None, :], fb[np.arange(fb.shape[0])[None, :], idx], np.float32(0)).astype(np.float32)
    return idx, w


def mel(power: np.ndarray, fb: np.ndarray) -> np.ndarray:
    """power [..., n_bins] -> float32 [..., n_mels]: sequential float32 dot product per filter (tml_mel's
    order), vectorized over frames and filters."""
    p = np.asarray(power, dtype=np.float32)
    fb = np.asarray(fb, dtype=np.float32)
    if p.shape[-1] != fb.shape[1]:
        raise TinymlError(f"mel: power has {p.shape[-1]} bins but the filterbank expects {fb.shape[1]}")
    return mel_apply(p, *mel_steps(fb))


def mel_apply(power: np.ndarray, idx: np.ndarray, w: np.ndarray) -> np.ndarray:
    """mel() with the filterbank already in mel_steps form (callers that apply it often build it once)."""
    acc = np.zeros((*power.shape[:-1], idx.shape[1]), np.float32)
    for k in range(idx.shape[0]):
        acc = acc + np.take(power, idx[k], axis=-1) * w[k]
    return acc
