import numpy as np
import pytest

from tinyml.dsp.frame import frame, n_frames
from tinyml.errors import TinymlError


@pytest.mark.parametrize("n, length, hop", [(10, 4, 2), (10, 4, 4), (10, 4, 5), (10, 10, 1), (9, 3, 1), (100, 7, 3)])
def test_frames_match_slicing(n, length, hop):
    x = np.arange(n * 2).reshape(n, 2)
    f = frame(x, length, hop)
    expect = [x[i * hop : i * hop + length] for i in range(n_frames(n, length, hop))]
    assert f.shape == (len(expect), length, 2)
    assert len(expect) == 1 + (n - length) // hop
    for got, exp in zip(f, expect):
        np.testing.assert_array_equal(got, exp)
    f1 = frame(x[:, 0], length, hop)
    assert f1.shape == (len(expect), length)
    np.testing.assert_array_equal(f1, f[:, :, 0])


def test_short_input_gives_no_frames_and_views_share_memory():
    assert frame(np.zeros((3, 2)), 4, 1).shape == (0, 4, 2)
    x = np.arange(20.0)
    f = frame(x, 5, 5)
    assert np.shares_memory(f, x)


@pytest.mark.parametrize("length, hop", [(0, 1), (4, 0), (2.5, 1), (True, 1)])
def test_errors(length, hop):
    with pytest.raises(TinymlError, match="must be an integer >= 1"):
        frame(np.zeros(10), length, hop)
