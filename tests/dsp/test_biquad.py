import numpy as np
import pytest
from scipy import signal

from tinyml.dsp.biquad import biquad, biquad_reference, design_biquad
from tinyml.errors import TinymlError


def test_design_matches_butter():
    sos = design_biquad("lowpass", 12.0, 100.0, 4)
    ref = signal.butter(4, 12.0, fs=100.0, output="sos").astype(np.float32)
    assert sos.dtype == np.float32 and sos.shape == (2, 6)
    np.testing.assert_array_equal(sos, ref)
    bp = design_biquad("bandpass", [0.5, 20.0], 100.0, 2)
    np.testing.assert_array_equal(bp, signal.butter(2, [0.5, 20], "bandpass", fs=100.0, output="sos").astype(np.float32))
    assert design_biquad("highpass", 1.0, 50, 3).shape == (2, 6)


@pytest.mark.parametrize(
    "args, msg",
    [
        (("notch", 5, 100), "allowed: lowpass"),
        (("lowpass", 60, 100), "rate/2"),
        (("bandpass", 5, 100), r"\[lo, hi\]"),
        (("bandstop", [20, 10], 100), "lo < hi"),
        (("lowpass", 5, 100, 0), "order"),
    ],
)
def test_design_errors(args, msg):
    with pytest.raises(TinymlError, match=msg):
        design_biquad(*args)


def test_fast_path_is_bit_exact_with_the_reference_loop():
    rng = np.random.default_rng(1)
    for kind, cut, order in [("lowpass", 5.0, 4), ("highpass", 0.7, 2), ("bandstop", (8.0, 12.0), 2)]:
        sos = design_biquad(kind, cut, 100.0, order)
        x = (rng.standard_normal((300, 3)) * 100).astype(np.float32)
        st = rng.standard_normal((sos.shape[0], 2, 3)).astype(np.float32)
        y0, s0 = biquad_reference(x, sos, st)
        y1, s1 = biquad(x, sos, st)
        assert y1.dtype == np.float32 and s1.dtype == np.float32
        np.testing.assert_array_equal(y0, y1)
        np.testing.assert_array_equal(s0, s1)


def test_reference_loop_follows_the_documented_order():
    # one section, hand-unrolled float32 arithmetic
    f = np.float32
    sos = design_biquad("lowpass", 7.0, 100.0, 2)
    b0, b1, b2, _, a1, a2 = sos[0]
    x = np.random.default_rng(2).standard_normal(50).astype(np.float32)
    z1 = z2 = f(0)
    ref = []
    for xi in x:
        y = z1 + b0 * xi
        z1 = (z2 + xi * b1) - y * a1
        z2 = xi * b2 - y * a2
        ref.append(y)
    np.testing.assert_array_equal(biquad(x, sos)[0], np.array(ref, np.float32))


def test_close_to_scipy_sosfilt_in_double():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4000, 2)).astype(np.float32)
    for kind, cut, order in [("lowpass", 5.0, 4), ("bandpass", (0.5, 20.0), 2), ("highpass", 2.0, 3)]:
        sos = design_biquad(kind, cut, 100.0, order)
        y, _ = biquad(x, sos)
        ref = signal.sosfilt(sos.astype(np.float64), x.astype(np.float64), axis=0)
        # float32 rounding noise amplified by the poles; bound stated relative to the signal scale
        assert np.max(np.abs(y - ref)) <= 1e-4 * np.max(np.abs(ref))


def test_streaming_in_chunks_equals_one_shot():
    rng = np.random.default_rng(4)
    x = rng.standard_normal(1000).astype(np.float32)
    sos = design_biquad("bandpass", (1.0, 10.0), 50.0, 2)
    y_all, s_all = biquad(x, sos)
    st = None
    parts = []
    for a, b in [(0, 1), (1, 64), (64, 65), (65, 500), (500, 1000)]:
        y, st = biquad(x[a:b], sos, st)
        parts.append(y)
    np.testing.assert_array_equal(np.concatenate(parts), y_all)
    np.testing.assert_array_equal(st, s_all)


def test_filters_what_it_should():
    t = np.arange(2000) / 100.0
    low = np.sin(2 * np.pi * 1.0 * t)
    high = np.sin(2 * np.pi * 30.0 * t)
    y, _ = biquad(low + high, design_biquad("lowpass", 5.0, 100.0, 4))
    tail = slice(500, None)
    amp = lambda f: 2 * np.abs(np.mean(y[tail] * np.exp(-2j * np.pi * f * t[tail])))  # noqa: E731
    assert abs(amp(1.0) - 1.0) < 0.01  # passband kept
    assert amp(30.0) < 0.002  # 30 Hz is ~60 dB down at order 4, fc 5 Hz


def test_state_errors():
    sos = design_biquad("lowpass", 5.0, 100.0, 4)
    with pytest.raises(TinymlError, match="state must have shape"):
        biquad(np.zeros((10, 3)), sos, np.zeros((2, 2)))
    bad = sos.copy()
    bad[0, 3] = 2
    with pytest.raises(TinymlError, match="a0 == 1"):
        biquad(np.zeros(10), bad)
    with pytest.raises(TinymlError, match=r"\[k, 6\]"):
        biquad(np.zeros(10), sos[:, :5])
