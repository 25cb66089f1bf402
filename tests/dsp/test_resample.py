import numpy as np
import pytest
from scipy.signal import resample_poly

from tinyml.dsp.resample import rational_ratio, resample
from tinyml.errors import TinymlError


def test_ratio_is_exact_for_integer_rates():
    assert rational_ratio(44100, 16000) == (160, 441)
    assert rational_ratio(100.0, 50) == (1, 2)
    assert rational_ratio(np.float32(200), 50) == (1, 4)


def test_a_measured_rate_is_resampled_within_a_millionth():
    """An Apple Watch states 511.422 Hz: no fraction with a denominator <= 1000 came within 1e-6 (refused)."""
    up, down = rational_ratio(511.422, 250)
    assert abs(up / down - 250 / 511.422) <= 1e-6 * 250 / 511.422 and down > 1000
    assert rational_ratio(44100, 16000) == (160, 441)  # what fits in 1000 keeps its short filter


def test_a_measured_rate_gets_the_smallest_denominator_within_a_millionth_not_the_closest():
    up, down = rational_ratio(511.422, 250)
    assert down <= 10000 and abs(up / down - 250 / 511.422) <= 1e-6 * 250 / 511.422  # not 9346/19119
    assert rational_ratio(48828, 25600) == (6400, 12207)  # whole-number rates: exact, as before
    t_in = np.arange(int(511.422 * 4)) / 511.422
    y = resample(np.sin(2 * np.pi * 7.0 * t_in), 511.422, 250)
    t_out = np.arange(len(y)) / 250.0
    mid = slice(50, len(y) - 50)
    np.testing.assert_allclose(y[mid], np.sin(2 * np.pi * 7.0 * t_out[mid]), atol=2e-3)


def test_matches_resample_poly_multichannel():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4410, 2)).astype(np.float32)
    y = resample(x, 44100, 16000)
    ref = resample_poly(x.astype(np.float64), 160, 441, axis=0, padtype="edge").astype(np.float32)
    assert y.dtype == np.float32 and y.shape == (1600, 2)
    np.testing.assert_array_equal(y, ref)


def test_sine_keeps_its_frequency():
    t_in = np.arange(2000) / 1000.0
    x = np.sin(2 * np.pi * 13.0 * t_in)
    y = resample(x, 1000, 250)
    t_out = np.arange(len(y)) / 250.0
    mid = slice(50, len(y) - 50)  # away from the edge transients
    np.testing.assert_allclose(y[mid], np.sin(2 * np.pi * 13.0 * t_out[mid]), atol=2e-3)


def test_same_rate_is_a_float32_copy():
    x = np.arange(10, dtype=np.int16)
    y = resample(x, 50, 50.0)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, x)
    y[0] = 99
    assert x[0] == 0


def test_errors():
    with pytest.raises(TinymlError, match="rates must be > 0"):
        resample(np.zeros(10), 0, 100)
    with pytest.raises(TinymlError, match="no fraction"):
        resample(np.zeros(10), 100000, 50001)  # 0.50001: 1/2, then 50001/100000
    with pytest.raises(TinymlError, match="shape"):
        resample(np.zeros((2, 2, 2)), 100, 50)


def test_no_dip_at_the_ends():
    """A constant signal stays constant through resampling, ends included (zero padding dipped them)."""
    for rate_in, rate_out in ((20, 50), (200, 50), (44100, 16000)):
        x = np.ones((rate_in, 3), np.float32)
        y = resample(x, rate_in, rate_out)
        np.testing.assert_allclose(y, 1.0, atol=1e-3)
