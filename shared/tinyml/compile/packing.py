"""Compile-time layouts for the packed kernels (firmware/runtime/tml_nn.h) and the proof that lets them use
the fast requantization.

The proof, per output channel: for every int8 input (padded taps read the input zero point, an int8 too),
|acc| <= B = |kbias| + 128 * sum|w| < 2^30, so 2 acc fits int32 and SMMULR(2 acc, mult) equals TFLite's
saturating rounding doubling high multiply h; the right shift e = -shift is >= 1 (a multiplier below 1/2),
so TFLite's ties-away rounding shift is the floor shift of h + 2^(e-1) - (h < 0), where h < 0 only when
acc < 0 (and h = 0 rounds to 0 either way); the zero point rides in rnd = 2^(e-1) + zp 2^e. The last sum
stays in int32 when |h| + 1 + |rnd| <= 2^31 - 1 with |h| <= B mult / 2^31 + 1. A layer with any channel
outside these bounds keeps the generic kernels (exact for every case).
"""

from __future__ import annotations

import numpy as np

INT32_MAX = (1 << 31) - 1
ACC_LIMIT = 1 << 30
SPLIT = [0, 2, 1, 3]  # channel order of a group of 4 after SXTB16: bytes 0, 2, then 1, 3


def rq_records(kbias: np.ndarray, abs_wsum: np.ndarray, mults, shifts, out_zp: int, *,
               doubled: bool = False, pad_to: int = 1) -> np.ndarray | None:
    """[n, 4] int32 {kbias, mult, rnd, shift} records (kbias doubled for depthwise), padded with zero
    records to a multiple of pad_to; None when some channel is outside the proof's bounds."""
    rows = []
    for kb, ws, m, s in zip(kbias.tolist(), abs_wsum.tolist(), mults, shifts):
        e = -int(s)
        if not 1 <= e <= 31 or m < 0:
            return None
        bound = abs(int(kb)) + 128 * int(ws)
        if bound >= ACC_LIMIT:
            return None
        rnd = (1 << (e - 1)) + int(out_zp) * (1 << e)
        if (bound * int(m) >> 31) + 2 + 1 + abs(rnd) > INT32_MAX:
            return None
        rows.append((2 * int(kb) if doubled else int(kb), int(m), rnd, e))
    while len(rows) % pad_to:
        rows.append((0, 0, 0, 1))
    return np.array(rows, dtype=np.int64).astype(np.int32)


def k8(k: int) -> int:
    """A packed window's length: k rounded up to a multiple of 8 (two groups of 4 per inner-loop turn)."""
    return (k + 7) // 8 * 8


def pack_gemm(w: np.ndarray) -> np.ndarray:
    """Weights [filters, window] -> tml_conv2d_packed_s8 / tml_fc_packed_s8 order: filter pairs, and per pair
    and group of 4 window values the even filter's 4 bytes then the odd filter's; zero padding to an even
    filter count and a window of k8 values."""
    m, k = w.shape
    m2, kk = m + (m & 1), k8(k)
    wp = np.zeros((m2, kk), dtype=np.int8)
    wp[:m, :k] = w
    return wp.reshape(m2 // 2, 2, kk // 4, 4).transpose(0, 2, 1, 3).reshape(-1)


def pack_depthwise(w: np.ndarray) -> np.ndarray:
    """Weights [k_h, k_w, channels] -> tml_dwconv2d_packed_s8 order: int16 2*w, per group of 4 channels
    (zero-padded) tap by tap, the channels in SPLIT order."""
    kh, kw, c = w.shape
    g = (c + 3) // 4
    wp = np.zeros((kh * kw, 4 * g), dtype=np.int16)
    wp[:, :c] = 2 * w.reshape(kh * kw, c).astype(np.int16)
    return wp.reshape(kh * kw, g, 4)[:, :, SPLIT].transpose(1, 0, 2).reshape(-1)


GEMM_STATE = 32  # TML_GEMM_STATE in tml_nn_gemm.c


def conv_scratch(kh: int, kw: int, ic: int) -> int:
    """tml_conv2d_packed_s8's scratch: a pixel pair's windows (4*k8), the DSP loop's state, plus an im2col
    patch (2*k8) unless the filter is 1x1."""
    kk = k8(kh * kw * ic)
    return 4 * kk + GEMM_STATE + (0 if kh * kw == 1 else 2 * kk)


def ring_geometry(kh: int, kw: int, dil_h: int, dil_w: int, stride_w: int, out_w: int) -> tuple[int, int]:
    """(rows, columns) of tml_dwconv2d_packed_s8's ring."""
    return (kh - 1) * dil_h + 1, (out_w - 1) * stride_w + (kw - 1) * dil_w + 1


def depthwise_scratch(kh: int, kw: int, dil_h: int, dil_w: int, stride_w: int, out_w: int, channels: int) -> int:
    rows, cols = ring_geometry(kh, kw, dil_h, dil_w, stride_w, out_w)
    return rows * cols * ((channels + 3) // 4) * 8
