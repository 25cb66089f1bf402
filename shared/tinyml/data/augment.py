"""Augmentation for windows [n, time, channels]: the nuisances real sensors and wearers add.

All functions take a numpy Generator, so training stays reproducible from the manifest's seed.
"""

from __future__ import annotations

import numpy as np


def random_rotation(rng: np.random.Generator, max_angle: float | None = None) -> np.ndarray:
    """A 3x3 rotation: uniformly random (max_angle None) or about a random axis by up to max_angle rad."""
    if max_angle is None:
        q = rng.normal(size=4)  # a normalised Gaussian quaternion is uniform over rotations
    else:
        axis = rng.normal(size=3)
        axis /= np.linalg.norm(axis)
        ang = rng.uniform(-max_angle, max_angle)
        q = np.array([np.cos(ang / 2), *(np.sin(ang / 2) * axis)])
    w, x, y, z = q / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ],
        np.float32,
    )


def rotate(X: np.ndarray, rng: np.random.Generator, *, full_fraction: float, max_angle: float) -> np.ndarray:
    """Rotate each 3-axis window: a fraction fully at random (any mounting), the rest by a small tilt."""
    out = np.empty_like(X)
    for i in range(len(X)):
        R = random_rotation(rng, None if rng.random() < full_fraction else max_angle)
        out[i] = X[i] @ R.T
    return out


def gain(X: np.ndarray, rng: np.random.Generator, spread: float) -> np.ndarray:
    """Per-window gain error in [1 - spread, 1 + spread] (sensitivity tolerance)."""
    return X * rng.uniform(1 - spread, 1 + spread, size=(len(X), 1, 1)).astype(X.dtype)


def bias(X: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    """Per-window, per-channel offset (zero-g/zero-level error)."""
    return X + rng.normal(0, sigma, size=(len(X), 1, X.shape[2])).astype(X.dtype)


def noise(X: np.ndarray, rng: np.random.Generator, sigma: tuple[float, float]) -> np.ndarray:
    """White noise with a per-window level drawn from [sigma_lo, sigma_hi]."""
    level = rng.uniform(*sigma, size=(len(X), 1, 1))
    return X + rng.normal(0, 1, size=X.shape).astype(X.dtype) * level.astype(X.dtype)


def clip(X: np.ndarray, full_scale: float) -> np.ndarray:
    """Saturate like the sensor at ±full_scale."""
    return np.clip(X, -full_scale, full_scale)
