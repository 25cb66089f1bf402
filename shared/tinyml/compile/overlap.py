"""How far a kernel's output may overlap its input in the arena: the in-place contracts of the kernels.

A kernel that reads its input and writes its output front to back may place its output at O <= I + D
(I, O: arena offsets, D from here) over an input that dies at this op: every output byte is then written
only after the input bytes below it are no longer needed. D comes from the kernel's schedule, block by
block: D = min over blocks j of (the lowest input byte still read after block j's outputs are written)
- (the output bytes written up to and including block j). The planner (planner.py) places buffers with
these allowances and check_plan proves every overlap it made is one of them; the randomized tests run the
kernels at exactly O = I + D (planner.plan_steps(tight=True)).
"""

from __future__ import annotations

import numpy as np

UNBOUNDED = 1 << 40  # no input byte is read after any output byte is written


def from_blocks(need_after: np.ndarray, written: np.ndarray) -> int:
    """D from per-block arrays (need_after: lowest input byte read after the block, or >= UNBOUNDED)."""
    need_after = np.asarray(need_after, dtype=np.int64)
    written = np.asarray(written, dtype=np.int64)
    live = need_after < UNBOUNDED
    if not live.any():
        return UNBOUNDED
    return int((need_after[live] - written[live]).min())


def _suffix_min(a: np.ndarray) -> np.ndarray:
    return np.minimum.accumulate(a[::-1])[::-1]


def window_lowest(in_h, in_w, in_c, out_h, out_w, k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_h, pad_w):
    """Per output pixel (row-major), the lowest input byte its window reads (UNBOUNDED: all padding)."""
    def first_tap(n_out, stride, pad, k, dil, n_in):
        o = np.arange(n_out, dtype=np.int64)
        start = o * stride - pad
        taps = np.arange(k, dtype=np.int64)
        pos = start[:, None] + taps[None, :] * dil
        ok = (pos >= 0) & (pos < n_in)
        first = np.where(ok, pos, UNBOUNDED).min(axis=1)
        return first
    fy = first_tap(out_h, stride_h, pad_h, k_h, dil_h, in_h)
    fx = first_tap(out_w, stride_w, pad_w, k_w, dil_w, in_w)
    low = (fy[:, None] * in_w + fx[None, :]) * in_c
    low = np.where((fy[:, None] >= UNBOUNDED) | (fx[None, :] >= UNBOUNDED), UNBOUNDED, low)
    return low.reshape(-1)


def packed_conv(g: dict, block: int = 2) -> int:
    """tml_conv2d_packed_s8: pixels in pairs, both windows copied before the pair's outputs are written."""
    low = window_lowest(g["in_h"], g["in_w"], g["in_c"], g["out_h"], g["out_w"], g["k_h"], g["k_w"], g["stride_h"],
                        g["stride_w"], g["dil_h"], g["dil_w"], g["pad_h"], g["pad_w"])
    npix = len(low)
    ends = np.minimum(np.arange(block, npix + block, block), npix)  # pixels done after each block
    after = np.append(_suffix_min(low), UNBOUNDED)[ends]
    return from_blocks(after, ends * g["out_c"])


def packed_depthwise(g: dict) -> int:
    """tml_dwconv2d_packed_s8: before output row oy, every input row up to iy0 + rows - 1 is in the ring."""
    rows = (g["k_h"] - 1) * g["dil_h"] + 1
    oy = np.arange(g["out_h"], dtype=np.int64)
    iy0 = oy * g["stride_h"] - g["pad_h"]
    consumed = np.maximum.accumulate(iy0 + rows)  # first row not yet copied, after output row oy
    nxt = np.append(iy0[1:], UNBOUNDED)  # first row output row oy+1 reads
    need_row = np.maximum(consumed, nxt)
    row_bytes = g["in_w"] * g["in_c"]
    need = np.where(need_row < g["in_h"], need_row * row_bytes, UNBOUNDED)
    return from_blocks(need, (oy + 1) * g["out_w"] * g["out_c"])


def pool(g: dict) -> int:
    """Pooling: an output pixel's channels are written while its window is read channel by channel."""
    low = window_lowest(g["in_h"], g["in_w"], g["c"], g["out_h"], g["out_w"], g["k_h"], g["k_w"], g["stride_h"],
                        g["stride_w"], 1, 1, g["pad_h"], g["pad_w"])
    npix = len(low)
    return from_blocks(low, (np.arange(npix, dtype=np.int64) + 1) * g["c"])


def fully_connected(rows: int, k: int, m: int) -> int:
    """tml_fc_packed_s8: row r's outputs are written while row r is read."""
    r = np.arange(rows, dtype=np.int64)
    return from_blocks(r * k, (r + 1) * m)


ELEMENTWISE = 0  # out[i] written after in[i] is read, front to back (and every row read before it is written)
