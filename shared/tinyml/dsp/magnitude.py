"""Vector magnitude over the channel axis (e.g. |acc| from x, y, z).

Float path (float32, C twin `tml_magnitude`, bit-exact): for each sample, left to right over channels,
    acc = x0*x0; acc = acc + x1*x1; acc = acc + x2*x2; ...; out = sqrtf(acc)
i.e. ((x*x + y*y) + z*z) with float32 multiplies and adds and no FMA, then the correctly rounded
float32 square root (IEEE sqrt, as numpy and sqrtf both give).

Integer path (C twin `tml_magnitude_int`, bit-exact): int16 samples, squares summed exactly in a 64-bit
unsigned accumulator (C: uint64_t; here: int64, exact for any channel count < 2**33), then the exact
floor integer square root. The result is int32 (for <= 3 channels it is <= 56755 and also fits uint16).
"""

from __future__ import annotations

import numpy as np

from ..errors import TinymlError


def _as_2d(x, name):
    x = np.asarray(x)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] < 1:
        raise TinymlError(f"{name}: x must be [n] or [n, ch], got shape {x.shape}")
    return x


def magnitude(x: np.ndarray) -> np.ndarray:
    """[n, ch] (or [n]) -> float32 [n]: sqrt of the sum of squares, summed left to right over channels."""
    x = _as_2d(x, "magnitude").astype(np.float32, copy=False)
    with np.errstate(over="ignore"):  # overflow gives inf, as in C
        acc = x[:, 0] * x[:, 0]
        for c in range(1, x.shape[1]):
            acc = acc + x[:, c] * x[:, c]
    return np.sqrt(acc)


def isqrt_floor(v: np.ndarray) -> np.ndarray:
    """Exact floor(sqrt(v)) for non-negative integers v < 2**62 (vectorised; int64)."""
    v = np.asarray(v, dtype=np.int64)
    if np.any(v < 0):
        raise TinymlError("isqrt_floor: negative input")
    r = np.floor(np.sqrt(v.astype(np.float64))).astype(np.int64)
    # float64 sqrt can be off by one for large v: correct in both directions
    r = np.where(r * r > v, r - 1, r)
    r = np.where((r + 1) * (r + 1) <= v, r + 1, r)
    return r


def magnitude_int(x: np.ndarray) -> np.ndarray:
    """int16 [n, ch] (or [n]) -> int32 [n] = floor(sqrt(sum of squares)), exact."""
    x = np.asarray(x)
    if x.dtype != np.int16:
        if not np.issubdtype(x.dtype, np.integer) or (x.size and (x.min() < -32768 or x.max() > 32767)):
            raise TinymlError(f"magnitude_int: x must hold int16 values, got dtype {x.dtype}")
    x = _as_2d(x, "magnitude_int").astype(np.int64)
    acc = np.sum(x * x, axis=1)  # exact in int64
    return isqrt_floor(acc).astype(np.int32)
