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


def lower_rate(X: np.ndarray, rng: np.random.Generator, rate: float, rates: tuple[int, int], fraction: float,
               aliased_fraction: float = 0.5) -> np.ndarray:
    """A fraction of the windows as a slower sensor would deliver them to the pipeline: sampled at an integer
    rate drawn from `rates` (Hz, inclusive), then resampled back to `rate` by the core's resampler, as
    `predict` does with such a recording. A share `aliased_fraction` of the slow sensors just pick samples
    at a random phase, as many cheap tags do (a short impact peak is caught at full height or missed between
    two samples); the others low-pass first (the resampler's anti-alias filter), which lowers and widens it.
    Windows are padded with their edge values while resampled, so no window gets a false dip at its ends."""
    from ..dsp.resample import resample

    out = X.copy()
    n = X.shape[1]
    pad = int(rate // 2)
    for i in np.flatnonzero(rng.random(len(X)) < fraction):
        slow = int(rng.integers(rates[0], rates[1] + 1))
        if slow >= rate:
            continue
        x = np.pad(X[i], ((pad, pad), (0, 0)), mode="edge")
        if rng.random() < aliased_fraction:  # no filter: linear interpolation at the slow sample times
            t = rng.uniform(0, 1) + np.arange(int((len(x) - 1) * slow / rate)) * (rate / slow)
            lo = np.floor(t).astype(int)
            w = (t - lo)[:, None].astype(np.float32)
            y = x[lo] * (1 - w) + x[np.minimum(lo + 1, len(x) - 1)] * w
        else:
            y = resample(x, rate, slow)
        back = resample(y, slow, rate)
        out[i] = back[pad : pad + n] if len(back) >= pad + n else np.pad(back[pad:], ((0, pad + n - len(back)), (0, 0)), mode="edge")
    return out
