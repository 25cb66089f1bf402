"""A small FEMTO / PRONOSTIA tree in the distributed layout, for tests (no real data needed).

    write_fixture(root, seed=0) -> {relative path: {"clock": seconds of day, "data": float64 [2560, 2]}}
    write_run(folder, snapshots, start_clock=0.0, sep=",")   # any run: a list of [2560, 2] arrays in g

`Learning_set/Bearing1_1/` holds 7 snapshots written as the data set writes them (`9,39,39,65664,0.552,-0.146`:
hour, minute, second, microsecond, horizontal g, vertical g), one every 10 s, passing midnight after the
third, with a temperature file beside them; `Full_Test_Set/Bearing2_4/` 4 snapshots separated by semicolons
with the microseconds in exponent form (`8;8;0;4.2504e+05;0.065;-0.058`, as Bearing1_4 has them), and
`Test_set/Bearing2_4/` the challenge's cut copy of it (2 snapshots).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ROWS = 2560


def _snapshot(rng, n: int) -> np.ndarray:
    t = np.arange(ROWS) / 25600.0
    x = 0.3 * rng.standard_normal((ROWS, 2)) + (0.2 + 0.1 * n) * np.sin(2 * np.pi * 30.0 * t)[:, None]
    return np.round(x, 3)


def _write(path: Path, clock: float, x: np.ndarray, sep: str) -> None:
    s = clock + np.arange(len(x)) / 25600.0
    whole = np.floor(s)
    cols = [(whole // 3600) % 24, whole % 3600 // 60, whole % 60, np.round((s - whole) * 1e6), x[:, 0], x[:, 1]]
    us = "%.4e" if sep == ";" else "%d"  # Bearing1_4 writes its microseconds as 4.2504e+05
    np.savetxt(path, np.column_stack(cols), fmt=["%d", "%d", "%d", us, "%.3f", "%.3f"], delimiter=sep)


def write_run(folder: Path, snapshots, start_clock: float = 0.0, sep: str = ",") -> list[float]:
    """`snapshots` ([2560, 2] g each) as acc_00001.csv ... in `folder`, one every 10 s from `start_clock`
    (seconds of the day); returns each one's clock."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    clocks = []
    for i, x in enumerate(snapshots):
        clock = (start_clock + 10.0 * i) % 86400
        _write(folder / f"acc_{i + 1:05d}.csv", clock, np.round(np.asarray(x, np.float64), 3), sep)
        clocks.append(clock)
    return clocks


def write_fixture(root: Path, seed: int = 0) -> dict[str, dict]:
    root = Path(root)
    rng = np.random.default_rng(seed)
    out: dict[str, dict] = {}
    runs = (("Learning_set/Bearing1_1", 7, 86400 - 25.0, ","), ("Full_Test_Set/Bearing2_4", 4, 8 * 3600 + 8 * 60, ";"),
            ("Test_set/Bearing2_4", 2, 8 * 3600 + 8 * 60, ";"))
    for folder, n, start, sep in runs:
        xs = [_snapshot(rng, i) for i in range(n)]
        for i, clock in enumerate(write_run(root / folder, xs, start, sep)):
            out[f"{folder}/acc_{i + 1:05d}.csv"] = {"clock": clock, "data": xs[i]}
    (root / "Learning_set/Bearing1_1/temp_00001.csv").write_text("9,39,39,0.0,30.5\n")
    return out
