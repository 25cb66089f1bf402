"""Peaks of a power spectrum at orders of a base frequency: the energy at shaft harmonics (1x, 2x, 3x) and
at bearing defect orders and their harmonics, with a tolerance for slip and speed error.

Input: one-sided power spectra [frames, bins] (tinyml.dsp.spectrum, n_fft = 2 (bins - 1)) of a signal at
`rate` Hz, so bin k is at k * rate / n_fft Hz. For each order o (in the given order) and each harmonic
h = 1..harmonics, the target frequency is f = (base_hz * o) * h and the peak is the largest bin in
[ceil(f (1 - tolerance) / df), floor(f (1 + tolerance) / df)] (the nearest bin when that is empty),
df = rate / n_fft. The output is ln(max(peak, floor)) minus ln(max(reference, floor)), where the reference
is, by `reference`: "absolute" none (0: the peak's level itself); "local" the mean of the bins within
f (1 +- background) outside the peak's range (how far the line stands out of its neighbourhood); "mean"
the mean of every bin but DC (the line against the whole spectrum: its share, whatever the level). A
frequency beyond the spectrum gives ln(floor) (absolute) or 0. Output [frames, len(orders) * harmonics],
order-major: [o1 h1, o1 h2, ..., o2 h1, ...].

Arithmetic (float32, C twin `tml_harmonic_energies`, bit-exact): every product and division above is one
float32 operation in that order, bins by floorf/ceilf, the background a sequential float32 sum divided by
its count (converted to float), the whole-spectrum mean a sequential sum over bins 1..n_bins-1 divided by
n_bins - 1, logs by tml_logf (tinyml.dsp.log.logf).
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import TinymlError
from .log import logf

_F = np.float32
REFERENCES = ("absolute", "local", "mean")


def target_bins(n_bins: int, rate: float, base_hz: float, orders, harmonics: int, tolerance: float,
                background: float) -> np.ndarray:
    """int64 [n_targets, 4]: peak range [lo, hi] and background range [blo, bhi] (inclusive bins), -1 when
    the target lies beyond the spectrum. The float32 arithmetic of the C twin."""
    n_fft = 2 * (n_bins - 1)
    df = _F(rate) / _F(n_fft)
    out = []
    one = _F(1)
    for o in orders:
        fo = _F(base_hz) * _F(o)
        for h in range(1, harmonics + 1):
            f = fo * _F(h)
            lo = math.ceil(_F(f * (one - _F(tolerance))) / df)
            hi = math.floor(_F(f * (one + _F(tolerance))) / df)
            if lo > hi:
                lo = hi = int(math.floor(_F(f / df) + _F(0.5)))
            blo = math.floor(_F(f * (one - _F(background))) / df)
            bhi = math.ceil(_F(f * (one + _F(background))) / df)
            if lo < 1 or hi > n_bins - 1:
                out.append((-1, -1, -1, -1))
                continue
            out.append((lo, hi, max(blo, 1), min(bhi, n_bins - 1)))
    return np.array(out, np.int64).reshape(-1, 4)


def harmonic_energies(P, rate: float, base_hz: float, orders, harmonics: int = 1, tolerance: float = 0.03,
                      reference: str = "absolute", background: float = 0.25, floor: float = 1e-12) -> np.ndarray:
    P = np.asarray(P, dtype=np.float32)
    if P.ndim == 1:
        P = P[None, :]
    if P.ndim != 2 or P.shape[1] < 2:
        raise TinymlError(f"harmonic_energies: input must be power spectra [frames, bins], got shape {P.shape}")
    if not (base_hz >= 0 and 0 <= tolerance < 1 and tolerance < background < 1 and floor > 0 and harmonics >= 1):
        raise TinymlError("harmonic_energies: needs base_hz >= 0, 0 <= tolerance < background < 1, floor > 0, "
                          f"harmonics >= 1; got {base_hz}, {tolerance}, {background}, {floor}, {harmonics}")
    if reference not in REFERENCES:
        raise TinymlError(f"harmonic_energies: reference {reference!r} not allowed; allowed: {', '.join(REFERENCES)}")
    relative = reference != "absolute"
    tb = target_bins(P.shape[1], rate, base_hz, orders, harmonics, tolerance, background)
    fl = _F(floor)
    peak = np.full((P.shape[0], len(tb)), fl, np.float32)
    bg = np.full((P.shape[0], len(tb)), fl, np.float32)
    valid = (tb[:, 0] >= 0) & (base_hz != 0)
    for j, (lo, hi, blo, bhi) in enumerate(tb):
        if not valid[j]:
            continue
        peak[:, j] = P[:, lo : hi + 1].max(axis=1)
        if reference == "local":
            idx = [k for k in range(blo, bhi + 1) if not lo <= k <= hi]
            bg[:, j] = (np.add.accumulate(P[:, idx], axis=1)[:, -1] / _F(len(idx))) if idx else peak[:, j]
    if reference == "mean":
        bg[:] = (np.add.accumulate(P[:, 1:], axis=1)[:, -1] / _F(P.shape[1] - 1))[:, None]
    v = logf(np.maximum(peak, fl))
    if relative:
        v = np.where(valid, v - logf(np.maximum(bg, fl)), _F(0))
    return np.where(valid, v, _F(0) if relative else logf(fl)).astype(np.float32)
