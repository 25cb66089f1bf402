"""block_summary: what each feature means, and its C twin bit for bit (NaN blocks, glitches, clipping)."""

from __future__ import annotations

import numpy as np
import pytest

from tinyml.dsp.block_summary import block_summary
from tinyml.dsp.ctwin import CTwins
from tinyml.errors import TinymlError

P = dict(size=4, level=0, level_center=0.25, level_scale=4.0, delta_scale=0.1, sums=[[3, 10.0], [4, 0.5]],
         means=[[1, 20.0, 15.0]], missing=-1.0, clip=3.0)


def _window(n_blocks=8, seed=0):
    rng = np.random.default_rng(seed)
    x = np.zeros((2 + 4 * n_blocks, 5), np.float32)
    x[:, 0] = 0.25 + np.cumsum(rng.normal(0, 0.002, len(x)))
    x[:, 1] = 15 + 5 * rng.random(len(x))
    x[:, 3] = np.where(rng.random(len(x)) < 0.2, rng.exponential(2.0, len(x)), 0.0)
    x[:, 4] = 0.05 * rng.random(len(x))
    return x.astype(np.float32)


def test_features_say_what_happened():
    x = _window()
    x[2:6, 0] = 0.30  # block 0: a steady 0.30
    x[6:10, 0] = 0.30
    x[8, 0] = 0.45  # block 1: a glitch of +0.15 in the middle
    x[10:14, 0] = 0.20  # block 2: a step down from 0.30 to 0.20, then flat
    x[14:18, 3] = np.nan  # block 3: the rain gauge is missing
    f = block_summary(x, **P)
    assert f.shape == (8, 7)
    assert f[0, 0] == pytest.approx((0.30 - 0.25) * 4) and f[0, 1] == 0.0  # stuck-flat block: range 0
    assert f[1, 3] == pytest.approx(np.sqrt(0.15 / 0.1), rel=1e-5)  # the glitch, signed
    assert f[2, 2] == pytest.approx(-np.sqrt(0.10 / 0.1), rel=1e-5)  # the step down over the block
    assert f[3, 4] == -1.0 and f[3, 5] >= 0  # missing rain; ET0 still there
    x[20, 0] = 5.0
    assert block_summary(x, **P)[4].max() == 3.0  # clipped


def test_window_length_and_channels_are_checked():
    with pytest.raises(TinymlError, match="2 \\+ size"):
        block_summary(np.zeros((33, 5), np.float32), **P)
    with pytest.raises(TinymlError, match="channel 3"):
        block_summary(np.zeros((34, 3), np.float32), **{**P, "means": []})


def test_more_features_than_the_device_keeps_are_refused():
    import re
    from pathlib import Path

    from tinyml.dsp.block_summary import MAX_FEATURES

    header = (Path(__file__).resolve().parents[2] / "firmware" / "runtime" / "tml_dsp.h").read_text()
    assert int(re.search(r"#define TML_BLOCK_SUMMARY_MAX_FEATURES (\d+)", header).group(1)) == MAX_FEATURES
    x = _window()
    fits = {**P, "sums": [[3, 1.0]] * (MAX_FEATURES - 5), "means": []}  # 4 + 1 + sums = MAX_FEATURES with last
    assert block_summary(x, **fits, last=True).shape[1] == MAX_FEATURES
    with pytest.raises(TinymlError, match=f"23 features per block; the device keeps at most {MAX_FEATURES}"):
        block_summary(x, **fits, last=True, unchanged=True)


@pytest.fixture(scope="module")
def tw():
    return CTwins()


@pytest.mark.parametrize("seed", range(6))
def test_c_twin_bit_exact(tw, seed):
    x = _window(32, seed)
    rng = np.random.default_rng(100 + seed)
    x[rng.integers(0, len(x), 6), 0] += rng.normal(0, 0.1, 6).astype(np.float32)  # glitches and steps
    if seed % 2:
        x[rng.integers(0, len(x), 5), 1] = np.nan  # a temperature sensor that drops samples
    if seed == 4:
        x[40:60, 0] = x[40, 0]  # stuck
    np.testing.assert_array_equal(tw.block_summary(x, **P), block_summary(x, **P))
    g = {**P, "resolution": 3.0 / 127}
    on_grid = block_summary(x, **g)
    np.testing.assert_array_equal(tw.block_summary(x, **g), on_grid)
    steps = on_grid / np.float32(3.0 / 127)
    assert np.all(np.abs(steps - np.round(steps)) < 1e-3) and np.abs(steps).max() <= 127


def test_last_is_the_newest_reading_a_mean_hides(tw):
    """`last`: the block's newest sample, scaled as the level, right after the glitch (C twin bit for bit)."""
    x = _window(8, 3)
    x[33, 0] = -0.05  # the last block's newest reading falls below 0: its mean barely moves
    with_last = block_summary(x, **{**P, "last": True})
    plain = block_summary(x, **P)
    assert with_last.shape == (8, plain.shape[1] + 1)
    np.testing.assert_array_equal(with_last[:, :4], plain[:, :4])
    np.testing.assert_array_equal(with_last[:, 5:], plain[:, 4:])
    assert with_last[7, 4] == np.float32((np.float32(-0.05) - np.float32(0.25)) * np.float32(4.0))
    assert with_last[7, 0] > -0.5  # the mean of the hour is still a plausible level
    np.testing.assert_array_equal(tw.block_summary(x, **P, last=True), with_last)
    g = {**P, "resolution": 3.0 / 127, "last": True}
    np.testing.assert_array_equal(tw.block_summary(x, **g), block_summary(x, **g))


def test_unchanged_counts_repeated_readings_at_the_probe_resolution(tw):
    """`unchanged`: the share of the block's readings equal to the one before (after `last`); a frozen probe
    reads 1, a live fine one less (C twin bit for bit)."""
    x = _window(8, 5)
    x[2 + 4 * 6 - 1 :, 0] = x[2 + 4 * 6 - 1, 0]  # frozen from the last sample of block 5 on
    x[2 + 4 * 2 + 1, 0] = x[2 + 4 * 2, 0]  # one repeat in block 2
    both = block_summary(x, **{**P, "last": True, "unchanged": True})
    plain = block_summary(x, **P)
    assert both.shape == (8, plain.shape[1] + 2)
    np.testing.assert_array_equal(both[:, 6:], plain[:, 4:])
    assert both[2, 5] == np.float32(0.25) and both[3, 5] == 0 and both[5, 5] == 0
    assert both[6, 5] == 1 and both[7, 5] == 1
    np.testing.assert_array_equal(tw.block_summary(x, **P, last=True, unchanged=True), both)
    g = {**P, "resolution": 3.0 / 127, "unchanged": True}
    np.testing.assert_array_equal(tw.block_summary(x, **g), block_summary(x, **g))


def test_a_batch_of_windows_gives_each_window_its_own_features_bit_for_bit():
    """FeatureExtractor.batch runs block_summary once over [windows, time, ch]: every window's features must be
    those it gets alone (glitches, repeats, NaN blocks, the resolution grid), or training would learn other
    inputs than the device computes."""
    wins = []
    for seed in range(12):
        x = _window(seed=seed)
        if seed % 3 == 0:
            x[10:14, 3] = np.nan  # a missing rain block
        if seed % 4 == 1:
            x[14:22, 0] = x[14, 0]  # a stuck reading: repeats
            x[25, 0] += 0.2  # and a glitch
        wins.append(x)
    batch = np.stack(wins)
    for params in (P, {**P, "last": True, "unchanged": True, "resolution": 3.0 / 127}):
        together = block_summary(batch, **params)
        assert together.shape == (len(wins), *block_summary(wins[0], **params).shape)
        for i, x in enumerate(wins):
            np.testing.assert_array_equal(together[i], block_summary(x, **params))


def test_the_feature_extractor_batches_a_chain_of_batched_blocks_with_the_same_values():
    """Every app whose chain is all batched blocks: FeatureExtractor.batch (one call per batch) gives what
    features() gives window by window (the device's way)."""
    from apptest import APPS
    from tinyml.apps import load_app
    from tinyml.dsp import BLOCKS
    from tinyml.features import FeatureExtractor

    rng = np.random.default_rng(4)
    checked = []
    for app in map(load_app, APPS):
        if not all(BLOCKS[s["block"]].batched for s in app.manifest.features["chain"]):
            continue
        fx = FeatureExtractor(app.manifest)
        frames = rng.normal(0.3, 0.05, (40, fx.window, fx.stream_channels())).astype(np.float32)
        frames[5, 10:20, -1] = np.nan
        np.testing.assert_array_equal(fx.batch(frames), np.stack([fx.features(f) for f in frames]), app.id)
        checked.append(app.id)
    assert checked, "no app's chain is all batched blocks: the batch path is untested"
