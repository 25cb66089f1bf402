import numpy as np
import pytest
from scipy import signal

from tinyml.dsp.fft_band_power import band_bins, band_scale, bin_weights, fft_band_power
from tinyml.dsp.spectrum import fft_twiddles, power_spectrum, spectrogram
from tinyml.dsp.window import window
from tinyml.errors import TinymlError


def test_power_spectrum_is_abs_rfft_squared():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((400, 2)).astype(np.float32)
    w = window("hann", 400)
    P = power_spectrum(x, "hann", 512)
    ref = np.abs(np.fft.rfft(x.astype(np.float64) * w[:, None], 512, axis=0)) ** 2
    assert P.shape == (257, 2) and P.dtype == np.float32
    np.testing.assert_allclose(P, ref, rtol=1e-6, atol=1e-6 * ref.max())
    with pytest.raises(TinymlError, match="n_fft"):
        power_spectrum(x, "hann", 256)


def test_spectrogram_frames_equal_single_spectra():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(1000).astype(np.float32)
    S = spectrogram(x, 256, 100, "hamming", 256)
    assert S.shape == (1 + (1000 - 256) // 100, 129)
    for i in (0, 3, S.shape[0] - 1):
        np.testing.assert_array_equal(S[i], power_spectrum(x[i * 100 : i * 100 + 256], "hamming"))


@pytest.mark.parametrize("n, kind", [(256, "hann"), (200, "hamming"), (128, "rectangular"), (255, "hann")])
def test_band_power_equals_integrated_periodogram(n, kind):
    rate = 100.0
    rng = np.random.default_rng(n)
    x = rng.standard_normal((n, 3)).astype(np.float32) + np.linspace(0, 1, n, dtype=np.float32)[:, None]
    bands = [(0, 2.0), (2.0, 10.0), (10.0, 30.0), (30.0, 50.01)]
    got = fft_band_power(x, rate, bands, kind)
    assert got.shape == (3, 4) and got.dtype == np.float32
    f, pxx = signal.periodogram(x.astype(np.float64), rate, window=window(kind, n).astype(np.float64),
                                detrend=False, scaling="density", axis=0)
    for b, (lo, hi) in enumerate(bands):
        sel = (f >= lo) & (f < hi)
        np.testing.assert_allclose(got[:, b], pxx[sel].sum(axis=0) * rate / n, rtol=2e-6)


def test_parseval_and_sine_amplitude():
    rng = np.random.default_rng(2)
    x = rng.standard_normal(512).astype(np.float32)
    total = fft_band_power(x, 100.0, [(0, 51)], "rectangular")
    np.testing.assert_allclose(total, [np.mean(x.astype(np.float64) ** 2)], rtol=1e-5)
    t = np.arange(1024) / 1000.0
    s = (3.0 * np.sin(2 * np.pi * 125.0 * t)).astype(np.float32)
    bp = fft_band_power(s, 1000.0, [(0, 100), (100, 150), (150, 500)], "hann")
    assert abs(bp[1] - 4.5) < 0.05 and bp[0] < 1e-3 and bp[2] < 1e-3


def test_helpers_for_generated_constants():
    lo, hi = band_bins(256, 100.0, [(0, 2), (2, 10), (49, 100)])
    f = np.arange(129) * 100.0 / 256
    np.testing.assert_array_equal(lo, [0, np.argmax(f >= 2), np.argmax(f >= 49)])
    np.testing.assert_array_equal(hi, [np.argmax(f >= 2), np.argmax(f >= 10), 129])
    c = bin_weights(8)
    np.testing.assert_array_equal(c, [1, 2, 2, 2, 1])
    np.testing.assert_array_equal(bin_weights(7), [1, 2, 2, 2])
    assert band_scale(np.ones(4, np.float32)) == np.float32(1 / 16)
    tw = fft_twiddles(8)
    np.testing.assert_allclose(tw[0] - 1j * tw[1], np.exp(2j * np.pi * np.arange(4) / 8), atol=1e-7)
    with pytest.raises(TinymlError, match="power of two"):
        fft_twiddles(12)


def test_errors():
    with pytest.raises(TinymlError, match=r"\[lo, hi\] pairs"):
        fft_band_power(np.zeros(64), 100, [1, 2])
    with pytest.raises(TinymlError, match="lo < hi"):
        fft_band_power(np.zeros(64), 100, [(5, 2)])
    with pytest.raises(TinymlError, match="rate"):
        fft_band_power(np.zeros(64), 0, [(0, 2)])
