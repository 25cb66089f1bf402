"""[features].stream: stream blocks run once over the whole signal before framing (as the device runs them
sample by sample); the frames, the chain and the post-processor see their output."""

from __future__ import annotations

import numpy as np
import pytest

from tinyml.dsp.biquad import biquad, design_biquad
from tinyml.errors import TinymlError
from tinyml.features import FeatureExtractor
from tinyml.manifest import load_manifest

from apptest import ROOT

GOOD = (ROOT / "apps" / "_template" / "app.toml").read_text()


def _manifest(tmp_path, stream: str, chain: str | None = None):
    text = GOOD.replace("chain = [", f"stream = {stream}\nchain = [", 1)
    if chain is not None:
        a = text.index("chain = [")
        b = text.index("]\n", text.index("\n]", a)) if "\n]" in text[a:] else text.index("]", a)
        text = text[:a] + f"chain = {chain}\n" + text[text.index("\n", b) + 1 :]
    d = tmp_path / "_template"
    d.mkdir(exist_ok=True)
    (d / "app.toml").write_text(text)
    return load_manifest(d / "app.toml")


def test_stream_blocks_keep_their_state_across_windows(tmp_path):
    m = _manifest(tmp_path, '[{ block = "biquad", kind = "highpass", cutoff_hz = 5.0 }]')
    fx = FeatureExtractor(m)
    x = np.random.default_rng(0).standard_normal((700, 1)).astype(np.float32) + 3.0
    y, _ = biquad(x, design_biquad("highpass", 5.0, m.rate, 2))
    np.testing.assert_array_equal(fx.stream(x), y)
    frames = fx.frames(x)
    W, hop = fx.window, fx.hop
    np.testing.assert_array_equal(frames[3], y[3 * hop : 3 * hop + W])  # not re-filtered from zero per window
    assert fx.stream_channels() == 1 and m.feature_hash() != load_manifest(ROOT / "apps/_template/app.toml").feature_hash()


def test_a_stream_block_may_add_channels_for_the_chain(tmp_path):
    m = _manifest(tmp_path, '[{ block = "magnitude", append = true }]', '[{ block = "select", channels = [1] }]')
    fx = FeatureExtractor(m)
    assert fx.stream_channels() == 2 and fx.input_shape() == (fx.window, 1)
    x = -np.ones((fx.window, 1), np.float32)
    np.testing.assert_array_equal(fx.batch(fx.frames(x))[0], np.ones((fx.window, 1), np.float32))


def test_only_stream_blocks_may_stream(tmp_path):
    m = _manifest(tmp_path, '[{ block = "stats", names = ["mean"] }]')
    with pytest.raises(TinymlError, match=r"\[features.stream\[0\]\] block 'stats' is not a stream block; allowed: .*qrs_detect"):
        FeatureExtractor(m)
    with pytest.raises(TinymlError, match=r"features.stream\[0\]"):
        _manifest(tmp_path, '[ 3 ]')
