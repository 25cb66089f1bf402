"""SYNTHETIC: vibration bursts on a noisy single-axis sensor, the template app's stand-in dataset.

Each simulated unit (the split key) has its own noise floor, DC offset and resonance. A burst is a
decaying tone (5-20 Hz, 0.3-1.2 s) like a machine starting or a tap; nuisances are hum-like tones,
short clicks and slow drift, which must not trigger. Deterministic from the seed.
"""

from __future__ import annotations

import numpy as np
from tqdm import tqdm

from tinyml.recording import Recording

# What the model card says this data is (tinyml.report): no real recording, an illustrative toy signal.
KIND = ("a simple simulator of decaying 5-20 Hz tone bursts over noise, hum, clicks and drift on one axis, a "
        "stand-in so that a new app trains before it has real data")


def _unit_params(rng):
    return {
        "noise": rng.uniform(0.02, 0.08),
        "offset": rng.uniform(-0.3, 0.3),
        "f0": rng.uniform(6, 16),
        "hum": rng.uniform(0.0, 0.05),
    }


def _background(rng, n, rate, u):
    t = np.arange(n) / rate
    x = u["offset"] + rng.normal(0, u["noise"], n)
    x += u["hum"] * np.sin(2 * np.pi * rng.uniform(25, 45) * t + rng.uniform(0, 6.3))
    x += 0.1 * np.cumsum(rng.normal(0, 0.002, n))  # slow drift
    for _ in range(rng.poisson(n / rate / 20)):  # clicks: short, must not count as bursts
        i = rng.integers(0, n - 3)
        x[i : i + 2] += rng.choice([-1, 1]) * rng.uniform(0.3, 1.0)
    return x


def _burst(rng, rate, u):
    dur = rng.uniform(0.3, 1.2)
    t = np.arange(int(dur * rate)) / rate
    f = u["f0"] * rng.uniform(0.7, 1.3)
    env = np.minimum(1, t / 0.05) * np.exp(-t / rng.uniform(0.2, 0.6))
    return rng.uniform(0.4, 1.5) * env * np.sin(2 * np.pi * f * t + rng.uniform(0, 6.3))


def generate(*, rate, channels, seed, progress=True, units=12, clips_per_unit=20, stream_minutes=5.0):
    recs = []
    for k in tqdm(range(units), desc="synthetic-bursts", disable=not progress):
        rng = np.random.default_rng([seed, k])
        u = _unit_params(rng)
        subject = f"unit{k:02d}"
        for c in range(clips_per_unit):
            n = int(4 * rate)
            x = _background(rng, n, rate, u)
            events = []
            if c % 2 == 0:
                b = _burst(rng, rate, u)
                i = int(rng.integers(int(0.5 * rate), n - len(b) - int(0.5 * rate)))
                x[i : i + len(b)] += b
                events = [((i + len(b) * 0.3) / rate, "burst")]
            recs.append(Recording(x[:, None].astype(np.float32), float(rate), tuple(channels), subject=subject,
                                  label="burst" if events else "idle", events=events, source=f"{subject}/clip{c}"))
        n = int(stream_minutes * 60 * rate)
        recs.append(Recording(_background(rng, n, rate, u)[:, None].astype(np.float32), float(rate), tuple(channels),
                              subject=subject, label="idle", activity="stream", source=f"{subject}/stream"))
    return recs
