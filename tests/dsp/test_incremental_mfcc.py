"""The device's incremental MFCC frontend equals the Python window features, bit for bit.

The firmware (an app with a one-step mfcc chain, e.g. apps/*/firmware/app.c) computes one frame per frame
hop from the stream, through the C twin, and keeps a ring of the last n_frames; Python recomputes every
window from its samples. With the window hop a multiple of the frame hop, the ring at each window must
hold exactly the window's frames. Checked on each such app's demo recording with the host C twin.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinyml.features import FeatureExtractor
from tinyml.fixtures import demo_path
from tinyml.predict import prepare, read_input


def _mfcc_step(app):
    chain = app.manifest.features["chain"]
    if len(chain) != 1 or chain[0]["block"] != "mfcc":
        pytest.skip(f"{app.id}: the feature chain is not a single mfcc step")
    from tinyml.dsp import describe_chain

    return describe_chain(chain)[0]["params"]


def test_streamed_c_frames_equal_python_window_features(app):
    p = _mfcc_step(app)
    from tinyml.dsp.ctwin import CTwins

    tw = CTwins()
    m = app.manifest
    fx = FeatureExtractor(m)
    x = prepare(app, read_input(app, demo_path(app)), notice=False)[:, 0]
    length, hop = p["length"], p["hop"]
    assert fx.hop % hop == 0, "the window hop must be whole frame hops for an incremental frontend"
    n_frames = 1 + (fx.window - length) // hop
    # the stream's frames, one per frame hop, as the device computes them
    starts = range(0, len(x) - length + 1, hop)
    frames = np.stack([tw.mfcc(x[s : s + length], m.rate, p["n_mfcc"], p["n_mels"], p["n_fft"] or length, p["window"],
                               p["fmin"], p["fmax"] or None, p["htk"], p["norm"], p["log_floor"]) for s in starts])
    windows = fx.frames(x[:, None])
    assert len(windows) > 1
    for w, start in enumerate(fx.window_starts(len(x))):
        end = start + fx.window
        newest = (end - length) // hop  # the last frame complete when the window is due
        assert newest - n_frames + 1 == start // hop  # the ring's oldest frame starts the window
        ring = frames[newest - n_frames + 1 : newest + 1]
        np.testing.assert_array_equal(ring, fx.features(windows[w]), err_msg=f"window {w}")
