"""A small SmartFallMM tree in exactly the distributed layout, for tests (no real data needed).

    write_fixture(root, seed=0) -> {relative path: {"g": float [n, 3] in g, "impact": sample index or None}}

Young people S28-S31 (a fall and a daily activity each) and older people S01-S03 (daily activities only);
every trial recorded by the four sensors: `meta_hip` and `meta_wrist` (g, 50 Hz, `epoch (ms), date-time,
elapsed (s), x, y, z`: without a heading row, but S01's files with MetaMotion's heading), `phone` and `watch`
(m/s^2, about 50 Hz, `date time, x, y, z`, no heading). Upright, the hip sensor reads gravity on -x, the phone
on +x; a fall dips under 1 g, hits several g and ends lying.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

G = 9.80665
RATE = 50.0
# (group, subject, activity, trial, seconds)
TRIALS = [("young", s, a, 1, 8.0) for s in (28, 29, 30, 31) for a in ((10, 9) if s % 2 else (11, 1))] + [
    ("old", s, a, 1, 8.0) for s in (1, 2, 3) for a in (8, 9)]
METAMOTION_HEADING = "epoch (ms),time (-11:00),elapsed (s),x-axis (g),y-axis (g),z-axis (g)\n"
UPRIGHT = {"meta_hip": [-0.96, 0.25, -0.08], "meta_wrist": [0.1, -0.95, 0.2], "phone": [0.97, 0.2, -0.1],
           "watch": [0.2, 0.1, 0.97]}


def write_fixture(root: Path, seed: int = 0) -> dict[str, dict]:
    root = Path(root)
    rng = np.random.default_rng(seed)
    out: dict[str, dict] = {}
    start = datetime(2022, 7, 20, 15, 17, 7, tzinfo=timezone.utc)
    for group, subject, activity, trial, seconds in TRIALS:
        for sensor, upright in UPRIGHT.items():
            g, impact = trial_g(activity, seconds, np.asarray(upright), rng)
            rel = f"{group}/accelerometer/{sensor}/S{subject:02d}A{activity:02d}T{trial:02d}.csv"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            if sensor.startswith("meta"):
                text = metamotion_rows(start, g, heading=subject == 1)
            else:
                text = phone_rows(start, g * G, rng)
            (root / rel).write_text(text, encoding="utf-8")
            out[rel] = {"g": g, "impact": impact}
        start += timedelta(minutes=1)
    return out


def metamotion_rows(start: datetime, g: np.ndarray, heading: bool) -> str:
    """`epoch ms, 2022-07-20T15:17:07.683, elapsed s, x, y, z` rows at RATE (LF line ends)."""
    rows = []
    for i, (x, y, z) in enumerate(g):
        t = start + timedelta(seconds=i / RATE)
        rows.append(f"{int(t.timestamp() * 1000)},{t.strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3]},{i / RATE:.2f},"
                    f"{x:.3f},{y:.3f},{z:.3f}\n")
    return (METAMOTION_HEADING if heading else "") + "".join(rows)


def phone_rows(start: datetime, ms2: np.ndarray, rng: np.random.Generator) -> str:
    """`2023-05-10 13:34:42.097000, x, y, z` rows in m/s^2 at about RATE (jittered), no heading."""
    t = start + timedelta(seconds=0)
    rows = []
    for x, y, z in ms2:
        rows.append(f"{t.strftime('%Y-%m-%d %H:%M:%S.%f')},{x:.7g},{y:.7g},{z:.7g}\n")
        t += timedelta(seconds=float(rng.uniform(0.9, 1.1)) / RATE)
    return "".join(rows)


def trial_g(activity: int, seconds: float, upright: np.ndarray, rng: np.random.Generator):
    """Acceleration in g for one sensor, and a fall's impact sample (its strict peak of |a|)."""
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    g = np.tile(upright, (n, 1))
    impact = None
    if activity >= 10:  # a fall: dip, impact, lying still (gravity turned a quarter)
        k = int(rng.uniform(3.0, 3.5) * RATE)
        lying = np.roll(upright, 1)
        g[k - 25 : k] *= 0.3
        g[k:] = lying
        g[k : k + 2] = lying * 3.5
        g[k] *= 1.05
        impact = k
    elif activity in (1, 8):  # walking, reaching: a gentle bounce
        g = g + 0.2 * np.sin(2 * np.pi * 1.8 * t)[:, None] * upright
    else:  # sitting down and standing up
        g[int(3 * RATE) : int(5 * RATE)] = np.roll(upright, 2)
    return g + rng.normal(0.0, 0.01, g.shape), impact
