"""Butterworth biquad cascade: design (scipy) and filtering (float32 transposed direct form II).

Arithmetic (float32 throughout, the C twin `tml_biquad` in firmware/runtime/dsp/tml_biquad.c must match):
the coefficients are cast to float32 once (sos rows [b0, b1, b2, 1, a1, a2]); for each sample x of each
section, with state (z1, z2), in exactly this order and with no fused multiply-add (-ffp-contract=off):

    y  = z1 + b0*x
    z1 = (z2 + x*b1) - y*a1
    z2 = x*b2 - y*a2

and y feeds the next section. Every operation is a single IEEE float32 multiply or add, so C built with
`float` (not double) and no FMA is bit-exact with this module. This is also the exact order of
scipy.signal.lfilter's float32 loop, so the fast path runs lfilter per section; on first use it is
checked against the plain per-sample loop (`biquad_reference`), and the loop is used if they ever differ.

State: float32 array [n_sections, 2, *channels] holding (z1, z2); pass the returned state back in to
filter a stream in chunks (the result is identical to one call on the whole signal).
"""

from __future__ import annotations

import numpy as np
from scipy import signal as _sig

from ..errors import TinymlError

KINDS = ("lowpass", "highpass", "bandpass", "bandstop")


def design_biquad(kind: str, cutoff_hz, rate: float, order: int = 2) -> np.ndarray:
    """Butterworth filter as second-order sections, float32 [k, 6] with a0 == 1.

    kind: lowpass | highpass (cutoff_hz a number) or bandpass | bandstop (cutoff_hz = (lo, hi)).
    order: Butterworth order (band filters have 2*order poles); k = ceil(order/2) (or `order` for bands).
    """
    if kind not in KINDS:
        raise TinymlError(f"biquad: kind {kind!r} not allowed; allowed: {', '.join(KINDS)}")
    if not isinstance(order, (int, np.integer)) or isinstance(order, bool) or not 1 <= order <= 16:
        raise TinymlError(f"biquad: order must be an integer in 1..16, got {order!r}")
    if not rate > 0:
        raise TinymlError(f"biquad: rate must be > 0 Hz, got {rate}")
    nyq = rate / 2.0
    if kind in ("bandpass", "bandstop"):
        try:
            lo, hi = (float(c) for c in cutoff_hz)
        except (TypeError, ValueError):
            raise TinymlError(f"biquad: {kind} needs cutoff_hz = [lo, hi] in Hz, got {cutoff_hz!r}") from None
        if not 0 < lo < hi < nyq:
            raise TinymlError(f"biquad: {kind} needs 0 < lo < hi < rate/2 = {nyq} Hz, got [{lo}, {hi}]")
        wn = [lo, hi]
    else:
        try:
            wn = float(cutoff_hz)
        except (TypeError, ValueError):
            raise TinymlError(f"biquad: {kind} needs one cutoff_hz in Hz, got {cutoff_hz!r}") from None
        if not 0 < wn < nyq:
            raise TinymlError(f"biquad: cutoff_hz must be in (0, rate/2 = {nyq}) Hz, got {wn}")
    sos = _sig.butter(int(order), wn, btype=kind, fs=float(rate), output="sos")
    return np.ascontiguousarray(sos, dtype=np.float32)


def _check(x, sos, state):
    sos = np.asarray(sos)
    if sos.ndim != 2 or sos.shape[1] != 6 or sos.shape[0] < 1:
        raise TinymlError(f"biquad: sos must be [k, 6], got shape {sos.shape}")
    if np.any(sos[:, 3] != 1):
        raise TinymlError("biquad: every section must have a0 == 1 (normalise the sos first)")
    sos = sos.astype(np.float32)
    x = np.asarray(x, dtype=np.float32)
    shape = (sos.shape[0], 2, *x.shape[1:])
    if state is None:
        state = np.zeros(shape, np.float32)
    else:
        state = np.asarray(state, dtype=np.float32)
        if state.shape != shape:
            raise TinymlError(f"biquad: state must have shape {shape}, got {state.shape}")
    return x, sos, state.copy()


def biquad_reference(x, sos, state=None):
    """The definition: the plain per-sample loop in float32 (slow; used for checks and as fallback)."""
    x, sos, state = _check(x, sos, state)
    y = x.copy()
    for s in range(sos.shape[0]):
        b0, b1, b2, _, a1, a2 = sos[s]
        z1 = state[s, 0].copy()
        z2 = state[s, 1].copy()
        for i in range(y.shape[0]):
            xi = y[i].copy()
            yi = z1 + b0 * xi
            z1 = (z2 + xi * b1) - yi * a1
            z2 = xi * b2 - yi * a2
            y[i] = yi
        state[s, 0] = z1
        state[s, 1] = z2
    return y, state


def _lfilter(x, sos, state):
    y = x
    for s in range(sos.shape[0]):
        b = sos[s, :3]
        a = sos[s, 3:]
        y, state[s] = _sig.lfilter(b, a, y, axis=0, zi=state[s])
    return y.astype(np.float32, copy=False), state


_FAST_OK: bool | None = None


def _fast_ok() -> bool:
    global _FAST_OK
    if _FAST_OK is None:
        rng = np.random.default_rng(1234)
        x = (rng.standard_normal((257, 2)) * 3).astype(np.float32)
        sos = design_biquad("bandpass", (3.0, 20.0), 100.0, 2)
        st = (rng.standard_normal((2, 2, 2))).astype(np.float32)
        y0, s0 = biquad_reference(x, sos, st)
        y1, s1 = _lfilter(*_check(x, sos, st))
        _FAST_OK = bool(np.array_equal(y0, y1) and np.array_equal(s0, s1))
    return _FAST_OK


def biquad(x, sos, state=None):
    """Filter `x` ([n] or [n, ch], time on axis 0) by the float32 biquad cascade; returns (y, state).

    y is float32 with the shape of x; state is float32 [k, 2, *x.shape[1:]] (see the module docstring).
    """
    x, sos, state = _check(x, sos, state)
    if x.shape[0] == 0:
        return x.copy(), state
    if _fast_ok():
        return _lfilter(x, sos, state)
    return biquad_reference(x, sos, state)
