import math

import numpy as np
import pytest

from tinyml.dsp.magnitude import isqrt_floor, magnitude, magnitude_int
from tinyml.errors import TinymlError


def test_float_close_to_double_and_follows_left_to_right_order():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((2000, 3)) * rng.choice([1e-3, 1, 1e3], size=(2000, 1))).astype(np.float32)
    m = magnitude(x)
    assert m.dtype == np.float32 and m.shape == (2000,)
    ref = np.sqrt(np.sum(x.astype(np.float64) ** 2, axis=1))
    np.testing.assert_allclose(m, ref, rtol=3e-7)
    # the documented order, hand-written in float32 scalars
    for row, got in zip(x[:200], m[:200]):
        a, b, c = row
        assert got == np.sqrt((a * a + b * b) + c * c)


def test_order_matters_and_is_left_to_right():
    # 1 + 2^-24 rounds back to 1 (ties to even), so left to right the four tiny squares vanish;
    # summed first (4 * 2^-24 = 2^-22) they survive the sqrt as 1 + 2^-23.
    e = np.float32(2.0**-12)  # e*e = 2^-24
    x = np.array([[1.0, e, e, e, e]], np.float32)
    assert magnitude(x)[0] == np.float32(1.0)
    assert np.sqrt(np.float32(1) + ((e * e + e * e) + (e * e + e * e))) == np.float32(1 + 2.0**-23)


def test_one_channel_is_abs():
    x = np.array([-3.0, 0.0, 2.5], np.float32)
    np.testing.assert_array_equal(magnitude(x), np.abs(x))


def test_int_is_exact_floor_sqrt():
    rng = np.random.default_rng(1)
    x = rng.integers(-32768, 32768, size=(5000, 3)).astype(np.int16)
    edge = np.array([[-32768, -32768, -32768], [32767, 32767, 32767], [0, 0, 0], [3, 4, 0], [3, 4, 1], [1, 1, 1]],
                    np.int16)
    x = np.concatenate([x, edge])
    got = magnitude_int(x)
    assert got.dtype == np.int32
    ref = [math.isqrt(int(a) ** 2 + int(b) ** 2 + int(c) ** 2) for a, b, c in x]
    np.testing.assert_array_equal(got, ref)
    assert got[-6] == 56755 and got[-3] == 5 and got[-2] == 5 and got[-1] == 1


def test_isqrt_floor_near_perfect_squares_and_large():
    r = np.array([0, 1, 2, 46340, 65535, 2**31 - 1, 2**31 - 1], dtype=np.int64)
    v = np.concatenate([r * r - 1, r * r, r * r + 1, [2**62 - 1, 2**53 + 1, 2**60 + 12345]])
    v = v[v >= 0]
    np.testing.assert_array_equal(isqrt_floor(v), [math.isqrt(int(a)) for a in v])


def test_int_errors():
    with pytest.raises(TinymlError, match="int16"):
        magnitude_int(np.array([[40000, 0]]))
    with pytest.raises(TinymlError, match="int16"):
        magnitude_int(np.array([[1.5, 0]]))
    with pytest.raises(TinymlError, match="negative"):
        isqrt_floor(np.array([-1]))
