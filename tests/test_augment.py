"""Augmentation keeps physics: rotations are proper and keep |a|; the rest is bounded and seeded."""

import numpy as np
import pytest

from tinyml.data import augment


@pytest.mark.parametrize("max_angle", [None, 0.3])
def test_rotation_is_proper_and_keeps_magnitude(max_angle):
    rng = np.random.default_rng(1)
    for _ in range(50):
        R = augment.random_rotation(rng, max_angle)
        np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-5)
        assert np.linalg.det(R) == pytest.approx(1.0, abs=1e-5)
        if max_angle is not None:
            angle = np.arccos(np.clip((np.trace(R) - 1) / 2, -1, 1))
            assert angle <= max_angle + 1e-4
    X = rng.normal(size=(20, 64, 3)).astype(np.float32)
    Y = augment.rotate(X, rng, full_fraction=0.5, max_angle=0.4)
    np.testing.assert_allclose(np.linalg.norm(Y, axis=2), np.linalg.norm(X, axis=2), rtol=1e-5)
    assert not np.allclose(X, Y)


def test_seeded_and_bounded():
    X = np.ones((10, 32, 3), np.float32) * 10
    a = augment.clip(augment.noise(augment.gain(X, np.random.default_rng(3), 0.1), np.random.default_rng(3), (0.01, 0.02)), 10.5)
    b = augment.clip(augment.noise(augment.gain(X, np.random.default_rng(3), 0.1), np.random.default_rng(3), (0.01, 0.02)), 10.5)
    np.testing.assert_array_equal(a, b)
    assert a.max() <= 10.5
    g = augment.gain(X, np.random.default_rng(0), 0.1)
    assert 9.0 <= g.min() and g.max() <= 11.0


def test_lower_rate_smears_a_short_peak_and_keeps_the_rest():
    """A 20-50 Hz sensor sees a 40 ms impact lower and wider (or misses its top); gravity and slow
    motion pass unchanged, and no window gets a dip at its ends."""
    rate, n = 50.0, 200
    t = np.arange(n) / rate
    x = np.zeros((n, 3), np.float32)
    x[:, 1] = -1.0 + 0.2 * np.sin(2 * np.pi * 0.5 * t)  # slow posture change
    x[100:102, 1] = -6.0  # a 40 ms impact
    X = np.repeat(x[None], 64, axis=0)
    Y = augment.lower_rate(X, np.random.default_rng(0), rate, (20, 25), fraction=1.0)
    assert Y.shape == X.shape and Y.dtype == np.float32
    peaks = np.abs(Y[:, :, 1]).max(axis=1)
    assert (peaks > 1.5).all() and (peaks < 6.5).all()  # never gone, no overshoot beyond ringing
    assert np.median(peaks) < 5.5 and np.ptp(peaks) > 1.0  # mostly lower; sample picking differs by phase
    quiet = np.r_[0:80, 125:200]  # away from the impact: the slow signal survives, also at both ends
    np.testing.assert_allclose(Y[:, quiet, 1], np.broadcast_to(x[quiet, 1], (64, len(quiet))), atol=0.08)
    Z = augment.lower_rate(X, np.random.default_rng(0), rate, (20, 25), fraction=0.0)
    np.testing.assert_array_equal(Z, X)
    again = augment.lower_rate(X, np.random.default_rng(0), rate, (20, 25), fraction=1.0)
    np.testing.assert_array_equal(again, Y)
