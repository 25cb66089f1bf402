"""A small SisFall tree in exactly the distributed layout, for tests (no real data needed).

    write_fixture(root, seed=0) -> {relative path: {"raw": int32 [n, 9], "impact": sample index or None}}

Writes SA01, SA02 (adults) and SE01 (elderly) with a few D and F trials, 200 Hz, 9 integer columns,
each line padded with spaces and ending in ';' and CRLF (plus a stray non-trial file the loader must ignore).
Values are plausible: standing puts about -1 g on the ADXL345 y axis (-256 counts at 256 LSB/g),
falls have a dip under 1 g, an impact of several g and end lying (gravity on another axis).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

RATE = 200
ADXL_LSB_PER_G = 8192 / 32  # 256
MMA_LSB_PER_G = 16384 / 16  # 1024
GYRO_LSB_PER_DPS = 65536 / 4000

# (subject, code, trial, seconds)
TRIALS = [
    ("SA01", "D01", 1, 6.0),
    ("SA01", "D07", 1, 5.0),
    ("SA01", "F01", 1, 5.0),
    ("SA01", "F01", 2, 5.0),
    ("SA02", "D19", 1, 5.0),
    ("SA02", "F05", 1, 5.0),
    ("SE01", "D10", 1, 5.0),
    ("SE01", "F13", 1, 5.0),
]


def write_fixture(root: Path, seed: int = 0) -> dict[str, dict]:
    root = Path(root)
    rng = np.random.default_rng(seed)
    out: dict[str, dict] = {}
    for subject, code, trial, seconds in TRIALS:
        g, impact = _trial_g(code, seconds, rng)
        raw = _to_raw(g, rng)
        rel = f"{subject}/{code}_{subject}_R{trial:02d}.txt"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(format_lines(raw).encode("ascii"))
        out[rel] = {"raw": raw, "impact": impact}
    (root / "SA01" / "Readme.txt").write_text("not a trial; the loader ignores it\n", encoding="ascii")
    return out


def format_lines(raw: np.ndarray) -> str:
    """SisFall text: integers right-aligned in 4 characters (space padded, wider when needed), ',' between
    columns, each line ending in ';' and CRLF, as in the distributed files (e.g. '  17,-179, -99, -18,...;')."""
    return "".join(",".join(f"{int(v):4d}" for v in row) + ";\r\n" for row in raw)


def _trial_g(code: str, seconds: float, rng: np.random.Generator) -> tuple[np.ndarray, int | None]:
    """Acceleration in g in the ADXL345 frame (y ~ -1 g upright), and the impact index for falls."""
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    upright = np.array([0.03, -0.98, -0.12])
    g = np.tile(upright, (n, 1))
    impact = None
    if code in ("D01",):  # walking: step-frequency bounce
        f = rng.uniform(1.7, 2.0)
        g[:, 1] += -0.3 * np.sin(2 * np.pi * f * t)
        g[:, 2] += 0.15 * np.sin(2 * np.pi * f * t + 0.7)
        g[:, 0] += 0.1 * np.sin(np.pi * f * t)
    elif code in ("D07", "D10"):  # sit down (D10: quickly, hard), stay seated
        k = int(2.0 * RATE)
        g[k:, :] = [0.05, -0.94, 0.30]  # leaning back a little
        if code == "D10":
            g[k - 40 : k, 1] *= 0.6  # brief descent
            g[k : k + 6, 1] = -2.4  # chair contact
    elif code == "D19":  # jump: flight ~0 g, landing ~3.5 g
        k = int(2.0 * RATE)
        g[k - 20 : k - 10, 1] = -1.8  # push-off
        g[k - 10 : k + 40, :] *= 0.05  # flight
        g[k + 40 : k + 48, 1] = -3.6  # landing
    else:  # falls: descent dip, impact, lying
        k = int(rng.uniform(2.0, 2.5) * RATE)
        depth = 0.25 if code != "F13" else 0.55
        g[k - 70 : k, :] *= depth
        peak = {"F01": 6.5, "F05": 8.0, "F13": 3.2}[code]
        lying = np.array([0.10, -0.15, 0.98]) if code != "F13" else np.array([0.95, -0.20, 0.15])
        g[k:, :] = lying
        g[k : k + 3, :] = lying * peak / np.linalg.norm(lying)
        g[k + 1, :] *= 1.05  # the strict maximum
        g[k + 3 : k + 12, 2] += 0.8 * np.exp(-np.arange(9) / 3.0) * np.cos(np.arange(9) * 2.0)
        impact = k + 1
    g += rng.normal(0.0, 0.015, g.shape)
    return g, impact


def _to_raw(g: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = g.shape[0]
    raw = np.empty((n, 9), np.int32)
    raw[:, 0:3] = np.clip(np.round(g * ADXL_LSB_PER_G), -4096, 4095)
    raw[:, 3:6] = np.round(rng.normal(0.0, 1.5, (n, 3)) * GYRO_LSB_PER_DPS)
    # The MMA8451Q sits on the same board, roughly aligned, +-8 g range.
    mma = g * np.array([1.0, 1.0, 1.0]) + rng.normal(0.0, 0.01, g.shape)
    raw[:, 6:9] = np.clip(np.round(mma * MMA_LSB_PER_G), -8192, 8191)
    return raw
