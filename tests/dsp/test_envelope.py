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
