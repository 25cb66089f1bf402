"""DCT-II with orthonormal scaling (scipy.fft.dct(x, type=2, norm='ortho')), first n_out coefficients.

The matrix D[k, i] = s_k * cos(pi * k * (2i + 1) / (2n)), s_0 = sqrt(1/n), s_k = sqrt(2/n), is computed
in float64 and rounded once to float32 (`dct_matrix`, a generated constant; `tml_dct_matrix` computes
it the same way in C with double cos/sqrt, at most 1 ulp apart). Applying it is a sequential float32
dot product per output, acc = 0; acc = acc + D[k, i]*x[i] for i = 0..n-1, bit-exact with `tml_dct`
given the same table.
"""

from __future__ import annotations

import numpy as np

from ..errors import TinymlError


def dct_matrix(n: int, n_out: int | None = None) -> np.ndarray:
    n_out = n if n_out is None else int(n_out)
    if n < 1 or not 1 <= n_out <= n:
        raise TinymlError(f"dct: need n >= 1 and 1 <= n_out <= n, got n={n}, n_out={n_out}")
    k = np.arange(n_out, dtype=np.float64)[:, None]
    i = np.arange(n, dtype=np.float64)[None, :]
    d = np.cos(np.pi * k * (2.0 * i + 1.0) / (2.0 * n))
    s = np.full((n_out, 1), np.sqrt(2.0 / n))
    s[0, 0] = np.sqrt(1.0 / n)
    return (d * s).astype(np.float32)


def dct(x: np.ndarray, n_out: int | None = None, matrix: np.ndarray | None = None) -> np.ndarray:
    """x [..., n] -> float32 [..., n_out]."""
    x = np.asarray(x, dtype=np.float32)
    D = dct_matrix(x.shape[-1], n_out) if matrix is None else np.asarray(matrix, dtype=np.float32)
    if D.shape[1] != x.shape[-1]:
        raise TinymlError(f"dct: matrix expects {D.shape[1]} inputs, x has {x.shape[-1]}")
    acc = np.zeros((*x.shape[:-1], D.shape[0]), np.float32)
    for i in range(D.shape[1]):  # tml_dct's order, vectorized over frames and outputs
        acc = acc + D[:, i] * x[..., i, None]
    return acc
