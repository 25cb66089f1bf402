import numpy as np

from tinyml.dsp.biquad import biquad, design_biquad
from tinyml.dsp.envelope import envelope


def test_envelope_is_lowpassed_rectified_signal():
    rate = 1000.0
    t = np.arange(4000) / rate
    am = 1.0 + 0.5 * np.sin(2 * np.pi * 3.0 * t)  # 3 Hz modulation of a 200 Hz carrier
    x = (am * np.sin(2 * np.pi * 200.0 * t)).astype(np.float32)
    sos = design_biquad("lowpass", 20.0, rate, 4)
    y, st = envelope(x, sos)
    np.testing.assert_array_equal(y, biquad(np.abs(x), sos)[0])
    assert y.dtype == np.float32 and st.shape == (2, 2)
    # mean of |sin| is 2/pi: the envelope follows 2/pi * am once the filter has settled (group delay ~20 ms)
    tail = slice(1000, None)
    delay = 20
    err = np.abs(y[tail][delay:] - (2 / np.pi) * am[tail][:-delay])
    assert err.max() < 0.05
    # streaming
    y1, s1 = envelope(x[:1234], sos)
    y2, _ = envelope(x[1234:], sos, s1)
    np.testing.assert_array_equal(np.concatenate([y1, y2]), y)


def test_band_envelope_measures_the_band_only():
    """A 0.5 mV 10 Hz wave (an ECG-band signal) leaves the 40-120 Hz envelope near zero; noise in that band
    raises it in proportion (mean |x| of Gaussian noise: sqrt(2/pi) x its RMS), and it streams in chunks."""
    from tinyml.dsp.band_envelope import band_envelope

    rate = 250.0
    rng = np.random.default_rng(3)
    n = 5000
    t = np.arange(n) / rate
    slow = (0.5 * np.sin(2 * np.pi * 10.0 * t)).astype(np.float32)
    band = design_biquad("bandpass", [40.0, 120.0], rate, 2)
    lp = design_biquad("lowpass", 2.0, rate, 2)
    y0, _ = band_envelope(slow, band, lp, 1.0)
    assert np.abs(y0[1000:]).max() < 0.02
    noise = biquad(rng.standard_normal(n).astype(np.float32), design_biquad("bandpass", [45.0, 110.0], rate, 4))[0]
    noise = (0.2 * noise / noise[500:].std()).astype(np.float32)
    y, st = band_envelope(slow + noise, band, lp, 4.0)
    level = float(np.mean(y[1000:]))
    assert 0.7 * 4 * 0.2 * np.sqrt(2 / np.pi) < level < 1.1 * 4 * 0.2 * np.sqrt(2 / np.pi)
    y1, s1 = band_envelope((slow + noise)[:777], band, lp, 4.0)
    y2, _ = band_envelope((slow + noise)[777:], band, lp, 4.0, s1)
    np.testing.assert_array_equal(np.concatenate([y1, y2]), y)


def test_malformed_frequency_parameters_are_refused_naming_the_block():
    import pytest

    from tinyml.dsp import apply_chain
    from tinyml.errors import TinymlError

    x = np.zeros((500, 1), np.float32)
    ok = {"block": "band_envelope", "band_hz": [40.0, 120.0], "cutoff_hz": 2.0}
    assert apply_chain(x, 250.0, [ok]).shape == (500, 1)
    for bad in ([["a"], 2], [40], 40.0, "x"):
        with pytest.raises(TinymlError, match="'band_envelope': (parameter ')?band_hz'? must be"):
            apply_chain(x, 250.0, [{**ok, "band_hz": bad}])
    with pytest.raises(TinymlError, match="'band_envelope': (parameter ')?cutoff_hz'? must be"):
        apply_chain(x, 250.0, [{**ok, "cutoff_hz": [1, 2]}])
    with pytest.raises(TinymlError, match="'biquad': cutoff_hz"):
        apply_chain(x, 250.0, [{"block": "biquad", "kind": "bandpass", "cutoff_hz": [["a"], 2]}])
