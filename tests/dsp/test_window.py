import numpy as np
import pytest
from scipy.signal import get_window

from tinyml.dsp.window import apply_window, window
from tinyml.errors import TinymlError


@pytest.mark.parametrize("kind", ["hann", "hamming"])
@pytest.mark.parametrize("n", [1, 2, 3, 16, 25, 255, 256, 400, 512, 1024])
@pytest.mark.parametrize("symmetric", [False, True])
def test_matches_scipy_get_window(kind, n, symmetric):
    w = window(kind, n, symmetric)
    assert w.dtype == np.float32 and w.shape == (n,)
    np.testing.assert_array_equal(w, get_window(kind, n, fftbins=not symmetric).astype(np.float32))


def test_rectangular_and_symmetry():
    np.testing.assert_array_equal(window("rectangular", 8), get_window("boxcar", 8).astype(np.float32))
    w = window("hann", 9, symmetric=True)
    np.testing.assert_array_equal(w, w[::-1])
    assert w[0] == 0 and w[4] == 1


def test_apply_window_axes():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 16, 3)).astype(np.float32)
    w = window("hann", 16)
    y = apply_window(x, w, axis=1)
    np.testing.assert_array_equal(y, x * w[None, :, None])
    y0 = apply_window(x[0], w)
    np.testing.assert_array_equal(y0, x[0] * w[:, None])
    with pytest.raises(TinymlError, match="does not fit"):
        apply_window(x, w, axis=0)


def test_errors():
    with pytest.raises(TinymlError, match="allowed: hann, hamming, rectangular"):
        window("blackman", 8)
    with pytest.raises(TinymlError, match="length"):
        window("hann", 0)
