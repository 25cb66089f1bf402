"""Natural log with a floor: y = log(max(x, floor)) in float32 (log of energies for MFCC / log-mel).

Arithmetic: our own float32 log, no libm, written once in C (`tml_logf` in firmware/runtime/dsp/tml_mfcc.c)
and mirrored here op for op in numpy float32 (elementwise ops round like C without FMA), so Python and
the device are bit-exact. The classic reduction: x = 2^k * m with m in [sqrt(2)/2, sqrt(2)) taken from
the bits (subnormals are first scaled by 2^25), f = m - 1 (exact), s = f / (2 + f),
log(1+f) = f - f^2/2 + s*(f^2/2 + R(s^2)) with the fixed degree-8 odd polynomial R (coefficients LG1..LG4,
Horner in s^4), plus k*ln2 split in a high and a low part. Accuracy: within 1 ulp of the correctly
rounded log for every finite x > 0 (tests check 2 ulp on random and special inputs; measured max 1).
log(+inf) = +inf, log(NaN) = NaN, log(0) = -inf.
"""

from __future__ import annotations

import numpy as np

from ..errors import TinymlError

_F = np.float32
LG1, LG2, LG3, LG4 = _F(0.66666662693), _F(0.40000972152), _F(0.28498786688), _F(0.24279078841)
LN2_HI, LN2_LO = _F(6.9313812256e-01), _F(9.0580006145e-06)
_SQRT2_HALF_BITS = 0x3F3504F3  # sqrt(2)/2 as float32 bits: mantissas above sqrt(2) move to the next exponent


def logf(x: np.ndarray) -> np.ndarray:
    """float32 natural log, bit-exact with the C twin tml_logf."""
    x = np.asarray(x, dtype=np.float32)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _logf(x)


def _logf(x: np.ndarray) -> np.ndarray:
    ix = x.view(np.uint32)
    sub = ix < 0x00800000  # zero and subnormals
    xs = np.where(sub, x * _F(2.0**25), x)
    k = np.where(sub, np.int32(-25), np.int32(0))
    ix = xs.view(np.uint32) + np.uint32(0x3F800000 - _SQRT2_HALF_BITS)
    k = k + (ix >> np.uint32(23)).astype(np.int32) - np.int32(0x7F)
    m = ((ix & np.uint32(0x007FFFFF)) + np.uint32(_SQRT2_HALF_BITS)).view(np.float32)
    f = m - _F(1)
    s = f / (_F(2) + f)
    z = s * s
    w = z * z
    t1 = w * (LG2 + w * LG4)
    t2 = z * (LG1 + w * LG3)
    r = t2 + t1
    hfsq = _F(0.5) * f * f
    dk = k.astype(np.float32)
    y = (((s * (hfsq + r) + dk * LN2_LO) - hfsq) + f) + dk * LN2_HI
    y = np.where(x.view(np.uint32) >= np.uint32(0x7F800000), x, y)  # +inf, NaN (and negatives: not used)
    return np.where(x == 0, _F(-np.inf), y).astype(np.float32, copy=False)


def log(x: np.ndarray, floor: float = 1e-10) -> np.ndarray:
    if not floor > 0:
        raise TinymlError(f"log: floor must be > 0, got {floor}")
    x = np.asarray(x, dtype=np.float32)
    return logf(np.maximum(x, np.float32(floor)))
