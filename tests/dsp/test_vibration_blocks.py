"""The vibration blocks (detrend, symlog, kurtosis_band, harmonic_energies, decimate, stats skewness/peak,
fft_band_power frames), the concat block and deployment references: what they compute, and their C twins
bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sst

from tinyml.dsp import apply_chain, chain_refs, describe_chain, resolve_chain
from tinyml.dsp.biquad import biquad
from tinyml.dsp.decimate import decimate
from tinyml.dsp.detrend import detrend
from tinyml.dsp.fft_band_power import fft_band_power
from tinyml.dsp.harmonic_energies import harmonic_energies
from tinyml.dsp.kurtosis_band import band_filters, kurtosis_band
from tinyml.dsp.spectrum import power_spectrum
from tinyml.dsp.stats import kurtosis, stats
from tinyml.dsp.symlog import symlog
from tinyml.errors import TinymlError

RATE = 25600.0


@pytest.fixture(scope="module")
def tw():
    from tinyml.dsp.ctwin import CTwins

    return CTwins()


def _bearing(rng, n=6400, shaft=29.95, order=3.5848, res=3000.0, amp=1.0, offset=0.0):
    """Shaft line, noise, and impacts at order*shaft ringing a resonance at `res` Hz (g)."""
    t = np.arange(n) / RATE
    x = 0.05 * np.sin(2 * np.pi * shaft * t) + 0.05 * rng.standard_normal(n)
    period = 1 / (order * shaft)
    tau = t % period
    x += amp * np.exp(-tau * 900) * np.sin(2 * np.pi * res * tau)
    return (x + offset).astype(np.float32)


def test_detrend_symlog_skewness_peak_meanings():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((4000, 2)) * [1, 3] + [9.8, -1]).astype(np.float32)
    np.testing.assert_allclose(detrend(x), x - x.mean(0), atol=2e-5)
    v = np.array([-50, -1, -1e-3, 0, 1e-3, 2, 1e6], np.float32)
    # 1 + |x| is rounded to float32 first: near 0 the error is about one ulp of 1.0
    np.testing.assert_allclose(symlog(v), np.sign(v) * np.log1p(np.abs(v)), rtol=2e-7, atol=1.2e-7)
    y = rng.exponential(size=(5000, 1)).astype(np.float32)
    s = stats(y, ("skewness", "peak"))[0]
    assert s[0] == pytest.approx(sst.skew(y[:, 0]), rel=1e-4) and s[1] == np.abs(y).max()


def test_kurtosis_band_finds_the_impulsive_band():
    rng = np.random.default_rng(1)
    x = _bearing(rng, res=7000.0, amp=0.3)
    x += (0.3 * np.sin(2 * np.pi * 1500 * np.arange(6400) / RATE)).astype(np.float32)  # a loud tone elsewhere
    sos = band_filters([[1000, 2500], [2500, 5000], [5000, 9000], [9000, 12000]], RATE, 2)
    y, best = kurtosis_band(x, sos)
    assert best.tolist() == [2]
    np.testing.assert_array_equal(y, biquad(x, sos[2])[0])
    # a strong low tone makes every band-pass ring at the window's start: skipping the start-up keeps the
    # choice on the impacts
    t = np.arange(6400) / RATE
    z = (_bearing(rng, res=7000.0, amp=0.05) + 5.0 * np.sin(2 * np.pi * 30 * t + 1.0)).astype(np.float32)
    assert kurtosis_band(z, sos, skip=256)[1].tolist() == [2]
    assert kurtosis(biquad(z, sos[0])[0]) > kurtosis(biquad(z, sos[0])[0][256:]) + 5


def test_harmonic_energies_sees_the_order_with_slip_and_only_there():
    rng = np.random.default_rng(2)
    env = np.abs(_bearing(rng, order=3.5848 * 0.985))  # 1.5 % slip below the kinematic order
    P = power_spectrum(decimate(env[:, None], 8)[:, 0] - env.mean(), "hann", 1024)
    rate = RATE / 8
    got = harmonic_energies(P, rate, 29.95, [3.5848, 5.4152], harmonics=2, tolerance=0.03, reference="local")[0]
    assert got.shape == (4,)
    assert got[0] > 2.5 and got[1] > 1.5  # BPFO and 2 x BPFO stand out
    assert abs(got[2]) < 1.5  # nothing at BPFI
    tight = harmonic_energies(P, rate, 29.95, [3.5848], harmonics=2, tolerance=0.0, reference="local")[0]
    assert tight[1] < got[1]  # without slip tolerance the second harmonic is partly missed
    absolute = harmonic_energies(P, rate, 29.95, [3.5848, 500.0], tolerance=0.03)[0]
    assert absolute[0] == pytest.approx(np.log(P[int(3.5848 * 29.95 * 0.97 / 3.125) + 1:
                                                  int(3.5848 * 29.95 * 1.03 / 3.125) + 1].max()), rel=1e-6)
    assert absolute[1] == pytest.approx(np.log(1e-12), rel=1e-6)  # beyond the spectrum: the floor


def test_normalize_and_the_mean_reference_ignore_the_level(tw):
    from tinyml.dsp.normalize import normalize

    rng = np.random.default_rng(9)
    bands = rng.exponential(size=(3, 8)).astype(np.float32)
    y = normalize(bands)
    np.testing.assert_allclose(y.sum(1), 1, rtol=1e-6)
    np.testing.assert_allclose(normalize(bands * 1000), y, rtol=1e-6)
    np.testing.assert_array_equal(normalize(np.zeros((1, 4))), np.zeros((1, 4), np.float32))
    for row in bands:
        np.testing.assert_array_equal(tw.normalize(row), normalize(row[None])[0])
    P = rng.exponential(size=513).astype(np.float32)
    a = harmonic_energies(P, 3200.0, 30.0, [1.0, 2.0], reference="mean")
    b = harmonic_energies(P * 64, 3200.0, 30.0, [1.0, 2.0], reference="mean")  # a power of two: exact scaling
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_fft_band_power_frames_is_the_mean_of_frames():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(6400).astype(np.float32)
    bands = [[0, 500], [500, 4000], [4000, 12800]]
    got = fft_band_power(x, RATE, bands, "hann", length=1024, hop=512)
    frames = [fft_band_power(x[s : s + 1024], RATE, bands, "hann") for s in range(0, 6400 - 1024 + 1, 512)]
    np.testing.assert_allclose(got, np.mean(frames, axis=0), rtol=1e-6)
    assert got.sum() == pytest.approx(1.0, rel=0.1)  # unit white noise


def test_concat_and_deployment_references():
    rng = np.random.default_rng(4)
    x = _bearing(rng, offset=1.0)[:, None]
    chain = [{"block": "concat", "branches": [
        [{"block": "detrend"}, {"block": "stats", "names": ["rms", "peak"]}, {"block": "log", "floor": 1e-6}],
        [{"block": "stats", "names": ["kurtosis", "skewness"]}, {"block": "symlog"}],
        [{"block": "envelope", "cutoff_hz": 1000.0}, {"block": "decimate", "factor": 8},
         {"block": "spectrum", "n_fft": 1024},
         {"block": "harmonic_energies", "base_hz": "@machine.shaft_hz", "orders": [1.0, "@machine.bpfo"],
          "reference": "local"}],
    ]}]
    assert chain_refs(chain) == {"machine.shaft_hz", "machine.bpfo"}
    d = describe_chain(chain)
    assert d[0]["params"]["branches"][1][0]["params"]["names"] == ["kurtosis", "skewness"]
    values = {"machine": {"shaft_hz": 29.95, "bpfo": 3.5848}}
    y = apply_chain(x, RATE, chain, values)
    assert y.shape == (1, 6)
    xd = x - x.mean()
    np.testing.assert_allclose(y[0, :2], np.log([np.sqrt(np.mean(xd ** 2)), np.abs(xd).max()]), rtol=1e-4)
    assert y[0, 5] > 2  # BPFO in the envelope spectrum
    other = apply_chain(x, RATE, chain, {"machine": {"shaft_hz": 29.95, "bpfo": 5.4152}})
    assert other[0, 5] < y[0, 5] - 1  # the reference reaches the block
    with pytest.raises(TinymlError, match="@machine.bpfo names no deployment value"):
        apply_chain(x, RATE, chain, {"machine": {"shaft_hz": 30.0}})
    with pytest.raises(TinymlError, match="none were given"):
        apply_chain(x, RATE, chain)
    with pytest.raises(TinymlError, match="must be a number"):
        resolve_chain(chain, {"machine": {"shaft_hz": "fast", "bpfo": 3.0}})
    with pytest.raises(TinymlError, match="branches give"):
        apply_chain(x, RATE, [{"block": "concat", "branches": [[{"block": "detrend"}], [{"block": "stats"}]]}])
    with pytest.raises(TinymlError, match="non-empty list"):
        describe_chain([{"block": "concat", "branches": [[]]}])


# ---- C twins, bit for bit ----


def test_c_stats_skewness_peak_detrend_symlog_decimate(tw):
    rng = np.random.default_rng(5)
    for n in (1, 7, 6400):
        x = (rng.standard_normal((n, 2)) * 0.3 + 1).astype(np.float32)
        np.testing.assert_array_equal(tw.stats(x, ("skewness", "peak", "kurtosis", "crest")),
                                      stats(x, ("skewness", "peak", "kurtosis", "crest")))
        np.testing.assert_array_equal(tw.detrend(x), detrend(x))
    v = (rng.standard_normal(5000) * np.exp(rng.uniform(-20, 20, 5000))).astype(np.float32)
    v[:3] = [0.0, -0.0, np.float32(1e-30)]
    np.testing.assert_array_equal(tw.symlog(v).view(np.int32), symlog(v).view(np.int32))
    x = rng.standard_normal((6401, 1)).astype(np.float32)
    np.testing.assert_array_equal(tw.decimate(x, 8), decimate(x, 8))


def test_c_fft_band_power_bit_exact(tw):
    rng = np.random.default_rng(6)
    x = _bearing(rng)
    bands = [[0, 50], [50, 200], [200, 1000], [1000, 4000], [4000, 12800.1]]
    one = x[:4096]
    np.testing.assert_array_equal(tw.fft_band_power(one, RATE, bands), fft_band_power(one, RATE, bands))
    np.testing.assert_array_equal(tw.fft_band_power_frames(x, RATE, bands, "hann", 1024, 1024),
                                  fft_band_power(x, RATE, bands, "hann", 1024, 1024))
    np.testing.assert_array_equal(tw.fft_band_power_frames(x, RATE, bands, "hamming", 512, 384),
                                  fft_band_power(x, RATE, bands, "hamming", 512, 384))


def test_c_kurtosis_band_bit_exact(tw):
    rng = np.random.default_rng(7)
    sos = band_filters([[1000, 2500], [2500, 5000], [5000, 9000], [9000, 12000]], RATE, 2)
    for res, skip in ((1800.0, 0), (3500.0, 256), (7000.0, 17), (10000.0, 0)):
        x = _bearing(rng, res=res, amp=0.2)
        y, best = kurtosis_band(x, sos, skip)
        cy, cbest = tw.kurtosis_band(x, sos, skip)
        assert cbest == best[0] and len(y) == 6400 - skip
        np.testing.assert_array_equal(cy, y)


def test_c_harmonic_energies_bit_exact(tw):
    rng = np.random.default_rng(8)
    for trial in range(20):
        P = (rng.exponential(size=513) * np.exp(rng.uniform(-30, 3))).astype(np.float32)
        P[rng.integers(1, 512, 5)] *= 100
        base = float(rng.uniform(5, 80))
        orders = rng.uniform(0.3, 12, 6).astype(np.float32).tolist()
        for reference in ("absolute", "local", "mean"):
            kw = dict(harmonics=int(rng.integers(1, 4)), tolerance=float(rng.uniform(0, 0.05)), reference=reference,
                      background=float(rng.uniform(0.1, 0.4)), floor=1e-12)
            py = harmonic_energies(P, 3200.0, base, orders, **kw)[0]
            c = tw.harmonic_energies(P, 3200.0, base, orders, **kw)
            np.testing.assert_array_equal(c.view(np.int32), py.view(np.int32))
    P = np.ones(513, np.float32)
    np.testing.assert_array_equal(tw.harmonic_energies(P, 3200.0, 0.0, [1.0]), harmonic_energies(P, 3200.0, 0.0, [1.0])[0])


def test_concat_tables_name_each_branch_step():
    from tinyml.dsp.ctables import c_header, chain_tables, has_tables

    chain = [{"block": "concat", "branches": [
        [{"block": "detrend"}, {"block": "stats", "names": ["rms"]}],
        [{"block": "kurtosis_band", "bands": [[1000.0, 3000.0], [3000.0, 6000.0]]},
         {"block": "envelope", "cutoff_hz": 1000.0}, {"block": "decimate", "factor": 8},
         {"block": "spectrum", "n_fft": 1024},
         {"block": "harmonic_energies", "base_hz": "@machine.shaft_hz", "orders": [1.0]}],
    ]}]
    t = chain_tables(chain, RATE, 6400, 1, {"machine": {"shaft_hz": 30.0}})
    assert has_tables(t) and t[0]["tables"] == {}
    kb = t[0]["branches"][1][0]["tables"]
    assert kb["sos"].shape == (2, 2, 6) and kb["n_bands"] == 2
    assert t[0]["branches"][1][3]["tables"]["n_fft"] == 1024  # the spectrum after decimation: 800 -> 1024
    h = c_header(t)
    assert "tml_feat_s0_b1_0_kurtosis_band_sos[24]" in h and "TML_FEAT_S0_B1_3_SPECTRUM_N_FFT 1024" in h
    with pytest.raises(TinymlError, match="deployment values"):
        chain_tables(chain, RATE, 6400, 1)
