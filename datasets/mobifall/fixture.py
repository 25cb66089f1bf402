"""A small MobiFall v2.0 tree in exactly the distributed layout, for tests (no real data needed).

    write_fixture(root, seed=0) -> {relative path: {"g": float [n, 3] in g, "impact": sample index or None,
                                                    "t_s": each sample's time from the file's first, s}}

Four people (sub1-sub4) with a fall of two kinds each, two of them (sub1, sub2) with daily activities too; each
accelerometer file has MobiFall's `#` preamble (its heading `#timestamp(ns),x,y,z(m/s^2)` in it), `@DATA`, then
`<ns>, x, y, z` rows in m/s^2 at about 87 Hz with jittered timestamps, CRLF line ends, values clipped at the
phone's +-2 g; a gyroscope file beside each (another sensor, which the loader must leave out). Upright, the
pocket phone reads gravity on +y; a fall dips under 1 g, hits several g (clipped) and ends lying (gravity on z).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

G = 9.80665
RATE = 87.0
# (subject, code, trial, seconds)
TRIALS = [(s, code, 1, 8.0) for s in (1, 2, 3, 4) for code in (("FOL", "SDL") if s % 2 else ("FKL", "BSC"))] + [
    (1, "WAL", 1, 12.0), (1, "SCH", 1, 6.0), (2, "JUM", 1, 10.0), (2, "STD", 1, 12.0)]
PREAMBLE = """#Acceleration force along the x y z axes (including gravity).
#timestamp(ns),x,y,z(m/s^2)
#Datetime: 05/07/2013 11:20:54
##########################################
#Activity: {number} - {code} - {code} - 10s
#Subject ID: {subject}
#First Name: sub{subject}
#Last Name: sub{subject}
#Age: 32
#Height(cm): 180
#Weight(kg): 85
#Gender: Male
##########################################


@DATA
"""


def write_fixture(root: Path, seed: int = 0) -> dict[str, dict]:
    root = Path(root)
    rng = np.random.default_rng(seed)
    out: dict[str, dict] = {}
    for subject, code, trial, seconds in TRIALS:
        g, impact = trial_g(code, seconds, rng)
        kind = "ADL" if code in ("WAL", "SCH", "JUM", "STD") else "FALLS"
        folder = root / f"sub{subject}" / kind / code
        folder.mkdir(parents=True, exist_ok=True)
        t_ns = 1_913_880_219_000 + np.cumsum(rng.uniform(0.8, 1.2, len(g)) / RATE * 1e9).astype(np.int64)
        rel = f"sub{subject}/{kind}/{code}/{code}_acc_{subject}_{trial}.txt"
        (root / rel).write_bytes(format_file(t_ns, g * G, subject, code).encode("ascii"))
        (folder / f"{code}_gyro_{subject}_{trial}.txt").write_bytes(
            format_file(t_ns, rng.normal(0, 0.1, g.shape), subject, code).encode("ascii"))
        out[rel] = {"g": g, "impact": impact, "t_s": (t_ns - t_ns[0]) / 1e9}
    return out


def format_file(t_ns: np.ndarray, values: np.ndarray, subject: int, code: str) -> str:
    """MobiFall's text: the preamble, then `<ns>, x, y, z` rows, CRLF line ends."""
    head = PREAMBLE.format(number=10, code=code, subject=subject)
    rows = "".join(f"{t}, {x:.8g}, {y:.8g}, {z:.8g}\n" for t, (x, y, z) in zip(t_ns, values))
    return (head + rows).replace("\n", "\r\n")


def trial_g(code: str, seconds: float, rng: np.random.Generator) -> tuple[np.ndarray, int | None]:
    """Acceleration in g as the pocket phone reads it, and a fall's impact sample (its strict peak of |a|)."""
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    upright, lying = np.array([0.05, 0.98, -0.15]), np.array([0.1, 0.2, 0.97])
    g = np.tile(upright, (n, 1))
    impact = None
    if code in ("WAL", "JUM"):  # steps or jumps: a bounce along the body
        f, depth = (1.8, 0.35) if code == "WAL" else (2.2, 0.9)
        g[:, 1] += depth * np.sin(2 * np.pi * f * t)
    elif code == "SCH":  # sitting down: the thigh turns level
        g[int(3 * RATE):] = [0.1, 0.3, 0.95]
    elif code != "STD":  # a fall: dip, impact (clipped at the phone's 2 g), lying still
        k = int(rng.uniform(3.0, 3.5) * RATE)
        g[k - 40 : k] *= 0.3
        g[k:] = lying
        g[k : k + 3] = lying * 2.4
        g[k + 1] *= 1.05
        impact = k + 1
    g = g + rng.normal(0.0, 0.01, g.shape)
    return np.clip(g, -2.0, 2.0), impact
