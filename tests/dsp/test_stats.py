import numpy as np
import pytest
import scipy.stats

from tinyml.dsp import stats as S
from tinyml.errors import TinymlError


def _signals():
    rng = np.random.default_rng(0)
    t = np.arange(1000) / 100.0
    return [
        rng.standard_normal((1000, 3)).astype(np.float32) * 2 + 1,
        np.stack([np.sin(2 * np.pi * 2.0 * t), 9.81 + 0.1 * np.sin(2 * np.pi * 0.5 * t)], 1).astype(np.float32),
        rng.laplace(size=(257, 2)).astype(np.float32),
        (rng.integers(-2048, 2048, size=(128, 1))).astype(np.float32),
    ]


@pytest.mark.parametrize("i", range(4))
def test_against_numpy_and_scipy(i):
    x = _signals()[i]
    xd = x.astype(np.float64)
    np.testing.assert_allclose(S.mean(x), xd.mean(0), rtol=1e-5, atol=1e-6 * np.abs(xd).max())
    np.testing.assert_allclose(S.std(x), xd.std(0), rtol=1e-4)
    np.testing.assert_array_equal(S.minimum(x), x.min(0))
    np.testing.assert_array_equal(S.maximum(x), x.max(0))
    np.testing.assert_allclose(S.rms(x), np.sqrt((xd**2).mean(0)), rtol=1e-5)
    np.testing.assert_allclose(S.kurtosis(x), scipy.stats.kurtosis(xd, axis=0), rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(S.crest_factor(x), np.abs(xd).max(0) / np.sqrt((xd**2).mean(0)), rtol=1e-5)
    ref_zc = np.count_nonzero(np.diff(np.signbit(x) & (x != 0), axis=0), axis=0)
    np.testing.assert_array_equal(S.zero_crossings(x), ref_zc)


def test_sequential_float32_definition_bit_exact():
    rng = np.random.default_rng(1)
    x = (rng.standard_normal(300) * 1e3 + 5e3).astype(np.float32)
    f = np.float32
    acc = f(0)
    for v in x:
        acc = acc + v
    m = acc / f(len(x))
    acc2 = acc4 = f(0)
    acc_sq = f(0)
    for v in x:
        d = v - m
        acc2 = acc2 + d * d
        acc4 = acc4 + (d * d) * (d * d)
        acc_sq = acc_sq + v * v
    m2, m4 = acc2 / f(len(x)), acc4 / f(len(x))
    assert S.mean(x) == m
    assert S.std(x) == np.sqrt(m2)
    assert S.kurtosis(x) == m4 / (m2 * m2) - f(3)
    assert S.rms(x) == np.sqrt(acc_sq / f(len(x)))
    assert S.crest_factor(x) == np.abs(x).max() / np.sqrt(acc_sq / f(len(x)))
    # np.sum is pairwise and differs from the sequential sum here: we really are sequential
    assert np.float32(np.sum(x)) != acc


def test_known_values():
    t = np.arange(1000) / 1000.0
    s = np.sin(2 * np.pi * 5 * t + 0.1).astype(np.float32)
    assert S.zero_crossings(s) == 10
    assert abs(S.crest_factor(s) - np.sqrt(2)) < 1e-3
    assert abs(S.kurtosis(s) - (-1.5)) < 1e-3
    c = np.full(50, 3.0, np.float32)
    assert S.std(c) == 0 and S.kurtosis(c) == 0 and S.crest_factor(np.zeros(5)) == 0
    assert S.zero_crossings(np.array([1, 0, -1, 0, 1], np.float32)) == 2  # 0 counts as positive


def test_stats_layout_and_errors():
    x = _signals()[0]
    out = S.stats(x)
    assert out.shape == (3, len(S.STAT_NAMES)) and out.dtype == np.float32
    np.testing.assert_array_equal(out[:, 1], S.std(x))
    one = S.stats(x[:, 2], ["rms", "max"])
    assert one.shape == (2,)
    np.testing.assert_array_equal(one, [S.rms(x[:, 2]), x[:, 2].max()])
    with pytest.raises(TinymlError, match="unknown statistic 'median'"):
        S.stats(x, ["median"])
    with pytest.raises(TinymlError, match="non-empty"):
        S.mean(np.zeros((0, 3)))
