"""A small CWRU tree in the two public layouts, for tests (no real data needed).

    write_fixture(root, seed=0) -> {relative path: {"DE": float64 [n], "FE": ..., "rpm": int or None,
                                                     "rate": Hz, "label": ..., "end": "DE"/"FE", "load": HP}}

Files are MATLAB v5 (scipy.io.savemat), with the variables exactly as the Data Center distributes them:
`X<nnn>_DE_time`, `X<nnn>_FE_time` (and `X<nnn>_BA_time` for fault records) as [n, 1] float64 columns
in g, and `X<nnn>RPM` as a [1, 1] uint16, where nnn is the record number (for the 0.028 in records a
different number, as in the real files, and no RPM). Signals are short: a shaft line, noise, and for a
defect a train of decaying bursts at its defect frequency, so the labels have something to show.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ORDERS = {"OR": 3.5848, "IR": 5.4152, "B": 2 * 4.7135}

# (relative path, record number, rate, label, end, load HP, rpm or None, fault code)
FILES = [
    ("Data/12k_DE/IR007_1.mat", 106, 12000, "inner_race", "DE", 1, 1772, "IR"),
    ("Data/12k_DE/OR007@6_0.mat", 130, 12000, "outer_race", "DE", 0, 1796, "OR"),
    ("Data/12k_DE/B028_2.mat", 50, 12000, "rolling_element", "DE", 2, None, "B"),
    ("Data/12k_FE/OR014@3_1.mat", 310, 12000, "outer_race", "FE", 1, 1772, "OR"),
    ("Data/48k_DE/B007_0.mat", 122, 48000, "rolling_element", "DE", 0, 1797, "B"),
    ("Data/Normal/Normal_0.mat", 97, 48000, "normal", "DE", 0, 1796, "N"),
    ("data/3HP/12k_Drive_End_IR021_3_212.mat", 212, 12000, "inner_race", "DE", 3, 1730, "IR"),
    ("data/0HP/normal_0_97.mat", 97, 48000, "normal", "DE", 0, 1796, "N"),
    ("numbered/234.mat", 234, 12000, "outer_race", "DE", 0, 1797, "OR"),
]


def signal(rate: float, seconds: float, rpm: float, fault: str, rng) -> np.ndarray:
    n = int(rate * seconds)
    t = np.arange(n) / rate
    fr = rpm / 60.0
    x = 0.02 * np.sin(2 * np.pi * fr * t) + 0.01 * rng.standard_normal(n)
    if fault in ORDERS:
        period = 1.0 / (ORDERS[fault] * fr)
        k = np.floor(t / period)
        tau = t - k * period
        x += 0.5 * np.exp(-tau * 800.0) * np.sin(2 * np.pi * 3000.0 * tau)
    return x


def write_fixture(root: Path, seed: int = 0, seconds: float = 0.5) -> dict[str, dict]:
    from scipy.io import savemat

    root = Path(root)
    rng = np.random.default_rng(seed)
    out = {}
    for rel, num, rate, label, end, load, rpm, fault in FILES:
        speed = rpm or {0: 1797, 1: 1772, 2: 1750, 3: 1730}[load]
        de = signal(rate, seconds, speed, fault if end == "DE" else "N", rng)
        fe = signal(rate, seconds, speed, fault if end == "FE" else "N", rng)
        var = {f"X{num:03d}_DE_time": de[:, None], f"X{num:03d}_FE_time": fe[:, None]}
        if fault != "N":
            var[f"X{num:03d}_BA_time"] = signal(rate, seconds, speed, "N", rng)[:, None]
        if rpm is not None:
            var[f"X{num:03d}RPM"] = np.array([[rpm]], np.uint16)
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        savemat(path, var, format="5")
        out[rel] = {"DE": de, "FE": fe, "rpm": rpm, "rate": rate, "label": label, "end": end, "load": load}
    (root / "Data" / "readme.txt").write_text("not a record\n")
    return out
