"""Summarize a slow sensor record block by block (e.g. each hour of 15-minute samples) into a few bounded
features: what a model needs to see a reading's level, its changes, its glitches and its context, at a
fraction of the samples. C twin `tml_block_summary` (bit-exact: float32 in the order below, sqrtf).

The window holds 2 + size * n samples: the first two only give the first block its history. Block k uses
samples s[-1], s[0] (the two before it) and its own s[1..size]:

  level   clip((mean(s[1..size]) - level_center) * level_scale)   mean: sequential float32 sum / size
  range   sqrt((max - min) / delta_scale)                        over s[1..size]
  step    signed sqrt((s[size] - s[0]) / delta_scale)            the change over the block
  spike   signed sqrt(e / delta_scale), e = the s[i] - (s[i-1] + s[i+1]) / 2 of largest |e|, i = 0..size-1
          (each sample is judged once, with both neighbours: a glitch at a block's end shows in the next)
  last    clip((s[size] - level_center) * level_scale)            only with `last`: the newest reading itself,
          which a mean hides (one sample out of the physical range, the reading a glitch returned to)
  unchanged  (the count of i = 1..size with s[i] == s[i-1]) / size   only with `unchanged`: how many of the
          block's readings repeat the one before exactly, i.e. at the probe's own resolution (a live fine probe
          repeats some, a frozen one all; a coarse probe at rest all, so the model weighs it with the context)
for the `level` channel, then for each [channel, scale] of `sums`: sqrt(sum(s[1..size]) / scale), and for
each [channel, center, scale] of `means`: clip((mean - center) / scale). A sum or mean over a block with a
missing (NaN) sample is `missing` (an optional channel the node does not have). Every feature is clipped to
[-clip, clip]; signed sqrt(v) = sign(v) * sqrt(|v|), which keeps resolution for the small changes (a stuck
sensor's range of 0 against a live one's 0.002) in int8. With `resolution` > 0 every feature is then put on
that grid: floor(f * (1 / resolution) + 0.5) * resolution (a node stores the small integer and gives each of
its models the same value, whatever their input quantization).
"""

from __future__ import annotations

import numpy as np

from ..errors import TinymlError

F32 = np.float32


def _ssqrt(v: np.ndarray, scale: np.float32) -> np.ndarray:
    a = np.sqrt((np.abs(v) / scale).astype(F32)).astype(F32)
    return np.where(v < 0, -a, a).astype(F32)


def _seq_sum(blocks: np.ndarray) -> np.ndarray:
    """Sum along the last axis left to right in float32 (the C twin's loop order)."""
    acc = blocks[..., 0].astype(F32)
    for i in range(1, blocks.shape[-1]):
        acc = (acc + blocks[..., i]).astype(F32)
    return acc


MAX_FEATURES = 22  # the C twin's TML_BLOCK_SUMMARY_MAX_FEATURES (tml_dsp.h)


def n_features(sums=(), means=(), last: bool = False, unchanged: bool = False) -> int:
    """Features per block: level, range, step, glitch, then last, unchanged, sums and means as asked."""
    return 4 + int(bool(last)) + int(bool(unchanged)) + len(sums) + len(means)


def block_summary(x: np.ndarray, size: int = 4, level: int = 0, level_center: float = 0.0, level_scale: float = 1.0,
                  delta_scale: float = 1.0, sums=(), means=(), missing: float = -1.0, clip: float = 3.0,
                  resolution: float = 0.0, last: bool = False, unchanged: bool = False) -> np.ndarray:
    """x [2 + size*n, ch] -> [n, 4 + last + unchanged + len(sums) + len(means)] float32; a batch of windows
    [windows, 2 + size*n, ch] -> [windows, n, ...], each window's features exactly as alone (elementwise float32)."""
    x = np.asarray(x, F32)
    if x.ndim not in (2, 3):
        raise TinymlError("block_summary: expects [time, channels] (or a batch [windows, time, channels]), got shape "
                          f"{x.shape}")
    nf = n_features(sums, means, last, unchanged)
    if nf > MAX_FEATURES:
        raise TinymlError(f"block_summary: {nf} features per block; the device keeps at most {MAX_FEATURES} "
                          "(fewer sums or means)")
    if size < 2:
        raise TinymlError(f"block_summary: size must be >= 2 samples, got {size}")
    n, rem = divmod(x.shape[-2] - 2, size)
    if n < 1 or rem:
        raise TinymlError(f"block_summary: the window must be 2 + size * blocks samples (size {size}), got {x.shape[-2]}")
    for c in [level, *[int(s[0]) for s in sums], *[int(m[0]) for m in means]]:
        if not 0 <= c < x.shape[-1]:
            raise TinymlError(f"block_summary: channel {c} out of range (the window has {x.shape[-1]})")
    lo, hi = F32(-clip), F32(clip)
    idx = 2 + np.arange(n)[:, None] * size + np.arange(size)[None, :]  # each block's own samples
    v = x[..., level]
    own = v[..., idx]
    inv = F32(1.0) / F32(size)
    mean = (_seq_sum(own) * inv).astype(F32)
    out = [np.clip(((mean - F32(level_center)) * F32(level_scale)).astype(F32), lo, hi)]
    d = F32(delta_scale)
    out.append(np.clip(_ssqrt((own.max(axis=-1) - own.min(axis=-1)).astype(F32), d), lo, hi))
    first = v[..., 1 + np.arange(n) * size]  # s[0]: the sample before the block
    out.append(np.clip(_ssqrt((own[..., -1] - first).astype(F32), d), lo, hi))
    # glitch: s[i] - (s[i-1] + s[i+1]) / 2 for i = 0..size-1 (s[i+1] exists for every such i)
    cand = 1 + np.arange(n)[:, None] * size + np.arange(size)[None, :]  # positions of s[0..size-1]
    e = (v[..., cand] - ((v[..., cand - 1] + v[..., cand + 1]).astype(F32) * F32(0.5))).astype(F32)
    pick = np.argmax(np.abs(e), axis=-1)  # the first of equal magnitudes, as the C loop's strict '>'
    out.append(np.clip(_ssqrt(np.take_along_axis(e, pick[..., None], axis=-1)[..., 0], d), lo, hi))
    if last:
        out.append(np.clip(((own[..., -1] - F32(level_center)) * F32(level_scale)).astype(F32), lo, hi))
    if unchanged:  # s[i] == s[i-1] for i = 1..size (NaN never equals: a missing reading is not a repeat)
        same = (v[..., cand + 1] == v[..., cand]).sum(axis=-1).astype(F32)
        out.append(np.clip((same * inv).astype(F32), lo, hi))
    for ch, scale in ((int(s[0]), F32(s[1])) for s in sums):
        blk = x[..., ch][..., idx]
        total = _seq_sum(blk)
        f = np.clip(np.sqrt(np.maximum(total, F32(0)) / scale).astype(F32), lo, hi)
        out.append(np.where(np.isnan(blk).any(axis=-1), F32(missing), f).astype(F32))
    for ch, center, scale in ((int(m[0]), F32(m[1]), F32(m[2])) for m in means):
        blk = x[..., ch][..., idx]
        mu = (_seq_sum(blk) * inv).astype(F32)
        f = np.clip(((mu - center) / scale).astype(F32), lo, hi)
        out.append(np.where(np.isnan(blk).any(axis=-1), F32(missing), f).astype(F32))
    y = np.stack(out, axis=-1).astype(F32)
    if resolution > 0:
        inv = F32(1.0) / F32(resolution)
        y = (np.floor((y * inv + F32(0.5)).astype(F32)) * F32(resolution)).astype(F32)
    return y
