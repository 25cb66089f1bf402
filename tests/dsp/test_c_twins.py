"""C twins (firmware/runtime/dsp) vs the numpy blocks, through a host shared library.

Bit-exact: magnitude, magnitude_int, isqrt64, biquad, stats, apply_window, power_spectrum, mel, log, dct,
mfcc (same tables; the library is compiled with -ffp-contract=off like every firmware build).
<= 1 ulp : window, fft_twiddles, dct_matrix tables (double cos rounded to float).
Tolerance, stated per test below: fft against numpy's double FFT, fft_band_power (float64 band sums).
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinyml.dsp.biquad import biquad, design_biquad
from tinyml.dsp.dct import dct, dct_matrix
from tinyml.dsp.fft_band_power import fft_band_power
from tinyml.dsp.log import log
from tinyml.dsp.magnitude import magnitude, magnitude_int
from tinyml.dsp.mel import mel, mel_filterbank
from tinyml.dsp.mfcc import mfcc
from tinyml.dsp.spectrum import fft_twiddles, power_spectrum
from tinyml.dsp.stats import STAT_NAMES, stats
from tinyml.dsp.window import apply_window, window


@pytest.fixture(scope="module")
def tw():
    from tinyml.dsp.ctwin import CTwins

    return CTwins()


def _ulp_diff(a, b):
    a = np.asarray(a, np.float32).view(np.int32).astype(np.int64)
    b = np.asarray(b, np.float32).view(np.int32).astype(np.int64)
    a = np.where(a < 0, -(a & 0x7FFFFFFF), a)  # sign-magnitude -> ordered integers
    b = np.where(b < 0, -(b & 0x7FFFFFFF), b)
    return np.abs(a - b)


def _accel(rng, n, rate=50.0):
    """Accelerometer-like: gravity on z, gait at ~2 Hz, an impact spike, sensor noise (g)."""
    t = np.arange(n) / rate
    x = np.stack([0.3 * np.sin(2 * np.pi * 2.0 * t), 0.2 * np.sin(2 * np.pi * 4.0 * t + 1), 1.0 + 0.1 * np.cos(2 * np.pi * 2.0 * t)], 1)
    k = min(3, n - n // 2)
    x[n // 2 : n // 2 + k] += rng.normal(0, 3.0, (k, 3))
    return (x + rng.normal(0, 0.02, x.shape)).astype(np.float32)


def _audio(rng, n, rate=16000.0):
    """Speech-like: a few harmonics of a gliding pitch, amplitude envelope, noise floor."""
    t = np.arange(n) / rate
    f0 = 120 + 40 * t / t[-1]
    ph = 2 * np.pi * np.cumsum(f0) / rate
    y = sum(np.sin(k * ph) / k for k in range(1, 8)) * np.hanning(n)
    return (0.3 * y + 0.003 * rng.standard_normal(n)).astype(np.float32)


# ---- bit-exact paths ----


def test_magnitude_bit_exact(tw):
    rng = np.random.default_rng(0)
    for ch in (1, 2, 3, 5):
        for scale in (1e-20, 1e-3, 1.0, 9.81, 1e4, 1e19):
            x = (rng.standard_normal((333, ch)) * scale).astype(np.float32)
            np.testing.assert_array_equal(tw.magnitude(x), magnitude(x))
    x = _accel(rng, 500)
    np.testing.assert_array_equal(tw.magnitude(x), magnitude(x))
    special = np.array([[0, 0, 0], [-0.0, 0, 0], [1e-45, 1e-45, 0], [3e38, 3e38, 1]], np.float32)
    np.testing.assert_array_equal(tw.magnitude(special), magnitude(special))


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float32, st.tuples(st.integers(1, 50), st.integers(1, 4)),
                  elements=st.floats(-1e6, 1e6, width=32, allow_subnormal=True)))
def test_magnitude_and_stats_bit_exact_hypothesis(tw, x):
    np.testing.assert_array_equal(tw.magnitude(x), magnitude(x))
    np.testing.assert_array_equal(tw.stats(x), stats(x))


def test_magnitude_int_and_isqrt_exact(tw):
    rng = np.random.default_rng(1)
    for ch in (1, 3, 4):
        x = rng.integers(-32768, 32768, size=(2000, ch)).astype(np.int16)
        x[:3] = [-32768] * ch, [32767] * ch, [0] * ch
        np.testing.assert_array_equal(tw.magnitude_int(x), magnitude_int(x))
    vals = [0, 1, 2, 3, 4, 15, 16, 17, 2**32 - 1, 2**32, 2**62, 2**63, 2**64 - 1]
    vals += [int(v) for v in rng.integers(0, 2**63, size=500, dtype=np.uint64)]
    r = [int(v) for v in rng.integers(0, 2**32, size=200, dtype=np.uint64)]
    vals += [v * v - 1 for v in r if v] + [v * v for v in r]
    for v in vals:
        assert tw.isqrt64(v) == math.isqrt(v), v


@pytest.mark.parametrize("kind, cut, order", [("lowpass", 5.0, 4), ("highpass", 0.5, 2), ("bandpass", (0.5, 15.0), 2),
                                              ("bandstop", (8.0, 12.0), 3), ("lowpass", 20.0, 1)])
def test_biquad_bit_exact(tw, kind, cut, order):
    rng = np.random.default_rng(2)
    sos = design_biquad(kind, cut, 50.0, order)
    for x in (_accel(rng, 700), (rng.standard_normal((400, 2)) * 1000).astype(np.float32),
              np.concatenate([np.zeros(50), np.ones(200)]).astype(np.float32)):
        y_py, s_py = biquad(x, sos)
        y_c, s_c = tw.biquad(x, sos)
        np.testing.assert_array_equal(y_c, y_py)
        np.testing.assert_array_equal(s_c, s_py)
    # streaming in C from a non-zero state equals Python one-shot from that state
    x = _accel(rng, 300)
    st0 = rng.standard_normal((sos.shape[0], 2, 3)).astype(np.float32)
    y_py, s_py = biquad(x, sos, st0)
    y1, s1 = tw.biquad(x[:123], sos, st0)
    y2, s2 = tw.biquad(x[123:], sos, s1)
    np.testing.assert_array_equal(np.concatenate([y1, y2]), y_py)
    np.testing.assert_array_equal(s2, s_py)


def test_stats_bit_exact(tw):
    rng = np.random.default_rng(3)
    cases = [_accel(rng, n) for n in (1, 2, 7, 128, 1000)]
    cases += [(rng.standard_normal((n, 2)) * s + o).astype(np.float32) for n, s, o in
              [(64, 1e-3, 0), (500, 100, 1e4), (3000, 1, -5), (257, 1e-30, 0)]]
    cases += [np.zeros((10, 2), np.float32), np.full((33, 1), 7.25, np.float32),
              rng.integers(-2048, 2048, (512, 3)).astype(np.float32)]
    for x in cases:
        np.testing.assert_array_equal(tw.stats(x), stats(x))
        for name in STAT_NAMES:  # the single-statistic entry points too
            got = tw.stat(name, x[:, 0])
            assert np.float32(got) == stats(x[:, 0], [name])[0] or (np.isnan(got) and np.isnan(stats(x[:, 0], [name])[0]))
    assert tw.stats(cases[0], ["rms", "min"]).shape == (3, 2)


def test_window_tables_and_apply(tw):
    for kind in ("hann", "hamming", "rectangular"):
        for n in (1, 2, 3, 64, 255, 400, 512):
            for sym in (False, True):
                assert _ulp_diff(tw.window(kind, n, sym), window(kind, n, sym)).max() <= 1, (kind, n, sym)
    rng = np.random.default_rng(4)
    x = _accel(rng, 256)
    w = window("hamming", 256)
    np.testing.assert_array_equal(tw.apply_window(x, w), apply_window(x, w))
    np.testing.assert_array_equal(tw.apply_window(x[:, 1], w), apply_window(x[:, 1], w))


def test_mel_dct_tables_and_bit_exact_application(tw):
    rng = np.random.default_rng(5)
    fb = mel_filterbank(16000, 512, 40, 20.0, 7600.0)
    for _ in range(20):
        P = (rng.exponential(size=257) * 10.0 ** rng.uniform(-6, 3)).astype(np.float32)
        np.testing.assert_array_equal(tw.mel(P, fb), mel(P, fb))
    P = (rng.exponential(size=(6, 257)) * 10.0).astype(np.float32)  # vectorized over frames
    M = mel(P, fb)
    for i in range(len(P)):
        np.testing.assert_array_equal(tw.mel(P[i], fb), M[i])
    X = (rng.standard_normal((6, 40)) * 5).astype(np.float32)
    Y = dct(X, 13, dct_matrix(40, 13))
    for i in range(len(X)):
        np.testing.assert_array_equal(tw.dct(X[i], matrix=dct_matrix(40, 13)), Y[i])
    for n, n_out in [(40, 13), (32, 32), (10, 1)]:
        assert _ulp_diff(tw.dct_matrix(n, n_out), dct_matrix(n, n_out)).max() <= 1
        D = dct_matrix(n, n_out)
        for _ in range(10):
            x = (rng.standard_normal(n) * 5).astype(np.float32)
            np.testing.assert_array_equal(tw.dct(x, matrix=D), dct(x, n_out, D))


def test_log_bit_exact_and_within_2_ulp(tw):
    rng = np.random.default_rng(6)
    x = np.concatenate([10.0 ** rng.uniform(-12, 8, 5000), [0, -1, 1, np.e, 1e-10, 3.4e38]]).astype(np.float32)
    np.testing.assert_array_equal(tw.log(x, 1e-10), log(x, 1e-10))
    # every binade, subnormals, the reduction's edges around sqrt(2), and the specials
    x = np.concatenate([10.0 ** rng.uniform(-45, 38.5, 100_000), rng.uniform(0.7, 1.42, 50_000),
                        [1e-45, 1.1754942e-38, 1.1754944e-38, 0.70710677, 0.7071068, 1.4142135, 1.4142137,
                         1.0, 2.0, 3.4028235e38]]).astype(np.float32)
    got = log(x, 1e-45)
    np.testing.assert_array_equal(tw.log(x, 1e-45), got)
    ref = np.log(x.astype(np.float64)).astype(np.float32)  # correctly rounded but for double rounding
    assert _ulp_diff(got, ref).max() <= 2  # stated in tinyml.dsp.log: within 1 ulp (measured max 1)
    special = np.array([0.0, -0.0, np.inf, np.nan], np.float32)
    np.testing.assert_array_equal(tw.log(special, 1e-45), log(special, 1e-45))
    from tinyml.dsp.log import logf
    np.testing.assert_array_equal(logf(special), np.array([-np.inf, -np.inf, np.inf, np.nan], np.float32))


# ---- tolerance paths (float32 FFT) ----


def test_fft_twiddles_and_fft_vs_numpy(tw):
    for n in (2, 4, 8, 64, 256, 1024):
        assert _ulp_diff(tw.fft_twiddles(n), fft_twiddles(n)).max() <= 1
    rng = np.random.default_rng(7)
    for n in (2, 4, 16, 128, 512, 2048):
        x = (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(np.complex64)
        ref = np.fft.fft(x.astype(np.complex128))
        err = np.max(np.abs(tw.fft(x) - ref))
        # float32 radix-2: about one float32 rounding (6e-8) of ||x||_2 per stage; measured ~0.3 of this bound
        assert err <= 1.5e-7 * max(1, math.log2(n)) * np.linalg.norm(x.astype(np.complex128)), (n, err)
    with pytest.raises(Exception, match="power of two"):
        tw.fft(np.zeros(12))


@pytest.mark.parametrize("n, n_fft, kind", [(256, 256, "hann"), (400, 512, "hann"), (64, 64, "rectangular"),
                                            (1024, 1024, "hamming")])
def test_power_spectrum_bit_exact(tw, n, n_fft, kind):
    rng = np.random.default_rng(n)
    for x in (_audio(rng, n), rng.standard_normal(n).astype(np.float32) * 100, _accel(rng, n)[:, 2],
              (rng.standard_normal(n) * 1e-6).astype(np.float32)):
        got = power_spectrum(x, kind, n_fft)
        np.testing.assert_array_equal(tw.power_spectrum(x, kind, n_fft), got)
        # against the exact DFT: a float32 rounding of the frame's energy per stage
        X = np.fft.rfft(x.astype(np.float64) * window(kind, n).astype(np.float64), n_fft)
        ref = X.real ** 2 + X.imag ** 2
        assert np.max(np.abs(got - ref)) <= 2e-7 * ref.sum()
    # spectrogram frames (vectorized over frames) equal frame-by-frame C
    from tinyml.dsp.spectrum import spectrogram

    y = _audio(rng, 4 * n)
    S = spectrogram(y, n, n // 2, kind, n_fft)
    for j in range(len(S)):
        np.testing.assert_array_equal(S[j], tw.power_spectrum(y[j * (n // 2) : j * (n // 2) + n], kind, n_fft))


def test_fft_band_power_tolerance(tw):
    rng = np.random.default_rng(8)
    bands = [(0, 0.5), (0.5, 3.0), (3.0, 8.0), (8.0, 25.0)]
    for n in (64, 128, 256):
        x = _accel(rng, n)
        for kind in ("hann", "rectangular"):
            ref = fft_band_power(x, 50.0, bands, kind)
            got = tw.fft_band_power(x, 50.0, bands, kind)
            total = fft_band_power(x, 50.0, [(0, 26)], kind)  # [ch, 1]
            # stated in tinyml.dsp.fft_band_power: |error| <= 5e-7 * the frame's total power (measured <= 1e-7)
            assert np.all(np.abs(got - ref) <= 5e-7 * total), (n, kind, np.abs(got - ref).max())
    with pytest.raises(Exception, match="power of two"):
        tw.fft_band_power(np.zeros(100, np.float32), 50.0, bands)


def test_mfcc_bit_exact(tw):
    from tinyml.dsp.mfcc import mfcc_frames

    rng = np.random.default_rng(9)
    for y in (_audio(rng, 16000), (rng.standard_normal(16000) * 1e-4).astype(np.float32), np.zeros(16000, np.float32)):
        for start in range(0, 16000 - 480, 1600):
            fr = y[start : start + 480]
            np.testing.assert_array_equal(tw.mfcc(fr, 16000, 13, 40, 512, "hann", 20.0, 7600.0),
                                          mfcc(fr, 16000, 13, 40, 512, "hann", 20.0, 7600.0))
        # the framed (training) path, vectorized over frames, equals C frame by frame
        F = mfcc_frames(y, 16000, 480, 320, 10, 40, 512, "hann", 20.0, 4000.0, log_floor=1e-6)
        for j in range(0, len(F), 7):
            np.testing.assert_array_equal(F[j], tw.mfcc(y[j * 320 : j * 320 + 480], 16000, 10, 40, 512, "hann",
                                                        20.0, 4000.0, log_floor=1e-6))


def test_envelope_bit_exact(tw):
    from tinyml.dsp.envelope import envelope

    rng = np.random.default_rng(10)
    sos = design_biquad("lowpass", 3.0, 50.0, 2)
    x = _accel(rng, 600)
    y_py, s_py = envelope(x, sos)
    y_c, s_c = tw.envelope(x, sos)
    np.testing.assert_array_equal(y_c, y_py)
    np.testing.assert_array_equal(s_c, s_py)


def test_band_envelope_bit_exact(tw):
    from tinyml.dsp.band_envelope import band_envelope

    rng = np.random.default_rng(11)
    rate = 250.0
    t = np.arange(3000) / rate
    # an ECG-like wave with bursts of broadband muscle noise and a DC offset
    x = (1.5 + np.sin(2 * np.pi * 1.2 * t) ** 31 + rng.normal(0, 0.2, t.size) * (np.sin(2 * np.pi * 0.3 * t) > 0))
    band = design_biquad("bandpass", [40.0, 120.0], rate, 2)
    lp = design_biquad("lowpass", 2.0, rate, 2)
    y_py, _ = band_envelope(x.astype(np.float32), band, lp, 4.0)
    np.testing.assert_array_equal(tw.band_envelope(x, band, lp, 4.0), y_py)


def test_clip_bit_exact(tw):
    from tinyml.dsp.clip import clip

    rng = np.random.default_rng(5)
    x = (rng.normal(size=4000) * 6).astype(np.float32)
    x[:4] = [4.0, -4.0, np.float32(4.0000005), -0.0]
    for lo, hi in ((-4.0, 4.0), (-0.5, 2.25), (0.0, 1e-3)):
        np.testing.assert_array_equal(tw.clip(x, lo, hi), clip(x, lo, hi))
    assert clip(x, -4, 4).max() == 4.0 and clip(x, -4, 4).min() == -4.0
