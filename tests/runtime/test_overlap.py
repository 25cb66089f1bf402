"""The kernels' in-place contracts (tinyml.compile.overlap) against their read/write schedules written out
here byte by byte: the allowance D is exactly the largest output offset (relative to the input) at which no
output byte lands on an input byte that is still to be read. That the kernels follow these schedules is
what the tight-plan parity tests check (test_packed.py)."""

from __future__ import annotations

import numpy as np
import pytest

from tinyml.compile import overlap


def _max_shift(blocks) -> int:
    """blocks: [(input bytes read in the block, output bytes written after them)], in order. The largest
    shift s such that no output byte o + s meets an input byte read in a later block (or in the same block's
    reads still to come, which the kernels never do)."""
    best = overlap.UNBOUNDED
    later: set[int] = set()
    lowest_later = []
    for reads, _ in reversed(blocks):
        lowest_later.append(min(later) if later else None)
        later |= set(reads)
    lowest_later.reverse()
    for (reads, writes), low in zip(blocks, lowest_later):
        if low is None or not writes:
            continue
        best = min(best, low - max(writes) - 1)
    return best


def _windows(g):
    """Input bytes of each output pixel's window, real taps only (row-major pixels)."""
    out = []
    for oy in range(g["out_h"]):
        for ox in range(g["out_w"]):
            taps = set()
            for ky in range(g["k_h"]):
                iy = oy * g["stride_h"] - g["pad_h"] + ky * g["dil_h"]
                for kx in range(g["k_w"]):
                    ix = ox * g["stride_w"] - g["pad_w"] + kx * g["dil_w"]
                    if 0 <= iy < g["in_h"] and 0 <= ix < g["in_w"]:
                        taps.update(range((iy * g["in_w"] + ix) * g["in_c"], (iy * g["in_w"] + ix + 1) * g["in_c"]))
            out.append(taps)
    return out


def _geom(rng, depthwise=False):
    ih, iw = int(rng.integers(1, 9)), int(rng.integers(1, 9))
    kh, kw = int(rng.integers(1, min(ih, 4) + 1)), int(rng.integers(1, min(iw, 4) + 1))
    sh, sw = int(rng.integers(1, 3)), int(rng.integers(1, 3))
    dh = dw = 1
    ph, pw = int(rng.integers(0, kh)), int(rng.integers(0, kw))
    oh, ow = (ih + 2 * ph - kh) // sh + 1, (iw + 2 * pw - kw) // sw + 1
    ic = int(rng.integers(1, 6))
    oc = ic if depthwise else int(rng.integers(1, 9))
    return dict(in_h=ih, in_w=iw, in_c=ic, out_h=oh, out_w=ow, out_c=oc, k_h=kh, k_w=kw, stride_h=sh,
                stride_w=sw, dil_h=dh, dil_w=dw, pad_h=ph, pad_w=pw)


@pytest.mark.parametrize("seed", range(60))
def test_packed_conv_allowance(seed):
    g = _geom(np.random.default_rng(seed))
    wins = _windows(g)
    n, oc = len(wins), g["out_c"]
    blocks = []
    for p in range(0, n, 2):  # pixel pairs: both windows read, then both pixels' outputs written
        pix = range(p, min(p + 2, n))
        blocks.append((set().union(*(wins[q] for q in pix)), list(range(p * oc, (pix[-1] + 1) * oc))))
    assert overlap.packed_conv(g) == _max_shift(blocks)


@pytest.mark.parametrize("seed", range(60))
def test_packed_depthwise_allowance(seed):
    g = _geom(np.random.default_rng(1000 + seed), depthwise=True)
    rows = (g["k_h"] - 1) * g["dil_h"] + 1
    row_bytes, out_row = g["in_w"] * g["in_c"], g["out_w"] * g["out_c"]
    blocks, nxt = [], -g["pad_h"]
    for oy in range(g["out_h"]):  # the ring takes the rows output row oy needs, then the row is written
        iy0 = oy * g["stride_h"] - g["pad_h"]
        reads = set()
        for iy in range(max(nxt, iy0), iy0 + rows):
            if 0 <= iy < g["in_h"]:
                reads.update(range(iy * row_bytes, (iy + 1) * row_bytes))
        nxt = max(nxt, iy0 + rows)
        blocks.append((reads, list(range(oy * out_row, (oy + 1) * out_row))))
    assert overlap.packed_depthwise(g) == _max_shift(blocks)


@pytest.mark.parametrize("seed", range(40))
def test_pool_allowance_is_safe(seed):
    """Pooling reads a window channel by channel while writing the pixel: the allowance is the
    whole-pixel bound, never more than the schedule permits."""
    g = _geom(np.random.default_rng(2000 + seed), depthwise=True)
    pg = dict(in_h=g["in_h"], in_w=g["in_w"], c=g["in_c"], out_h=g["out_h"], out_w=g["out_w"], k_h=g["k_h"],
              k_w=g["k_w"], stride_h=g["stride_h"], stride_w=g["stride_w"], pad_h=g["pad_h"], pad_w=g["pad_w"])
    wins = _windows(dict(g, dil_h=1, dil_w=1))
    c = g["in_c"]
    blocks = []
    for p, win in enumerate(wins):
        for ch in range(c):
            blocks.append(({b for b in win if b % c == ch}, [p * c + ch]))
    assert overlap.pool(pg) <= _max_shift(blocks)


@pytest.mark.parametrize("rows,k,m", [(1, 10, 3), (3, 7, 12), (5, 16, 4), (2, 1, 1)])
def test_fully_connected_allowance(rows, k, m):
    blocks = [(set(range(r * k, (r + 1) * k)), list(range(r * m, (r + 1) * m))) for r in range(rows)]
    # row r's outputs are written while row r is still read: its own reads count as later ones
    shifted = [(set(), [])] + [(blocks[r][0], []) for r in range(rows)]
    for r in range(rows):
        shifted[r] = (shifted[r][0], blocks[r][1])
    assert overlap.fully_connected(rows, k, m) == _max_shift(shifted)
