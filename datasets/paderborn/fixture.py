"""A small Paderborn tree in the distributed layout, for tests (no real data needed).

    write_fixture(root, seed=0) -> {relative path: {"vibration": float64 [n], "label": ...}}

Each file is MATLAB v5 with one variable named like the file: a 1x1 struct with fields Info, X, Y and
Description, where Y is a 1x7 struct array of channels (Name, Type, Unit, Raster, Data), as in the real
measurements: force, phase_current_1, phase_current_2, speed, temp_2_bearing_module, torque,
vibration_1 (the only one at 64 kHz). Measurements are shortened to 0.1 s.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

CHANNELS = [  # name, type, unit, raster, rate
    ("force", "", "N", "Mech_4kHz", 4000),
    ("phase_current_1", "", "A", "HostService", 64000),
    ("phase_current_2", "", "A", "HostService", 64000),
    ("speed", "", "rpm", "Mech_4kHz", 4000),
    ("temp_2_bearing_module", "", "degC", "Temp_1Hz", 1),
    ("torque", "", "Nm", "Mech_4kHz", 4000),
    ("vibration_1", "", "g", "Mech_64kHz", 64000),
]
FILES = [
    ("K001/N15_M07_F10_K001_1.mat", "normal"),
    ("KA01/N15_M07_F10_KA01_1.mat", "outer_race"),
    ("KI04/N09_M07_F10_KI04_3.mat", "inner_race"),
    ("KB23/N15_M01_F10_KB23_2.mat", None),
]


def write_fixture(root: Path, seed: int = 0, seconds: float = 0.1) -> dict[str, dict]:
    from scipy.io import savemat

    root = Path(root)
    rng = np.random.default_rng(seed)
    out = {}
    for rel, label in FILES:
        dtype = [("Name", "O"), ("Type", "O"), ("Unit", "O"), ("Raster", "O"), ("Data", "O")]
        ys = np.zeros((1, len(CHANNELS)), dtype=dtype)
        vib = None
        for i, (name, typ, unit, raster, rate) in enumerate(CHANNELS):
            n = max(1, int(rate * seconds))
            data = rng.standard_normal(n) * (0.5 if name == "vibration_1" else 1.0)
            if name == "vibration_1":
                vib = data
            ys[0, i] = (name, typ, unit, raster, data[None, :])
        stem = Path(rel).stem
        st = {"Info": np.array(["measurement"], dtype=object), "X": np.zeros((1, 0)), "Y": ys,
              "Description": np.array([stem], dtype=object)}
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        savemat(path, {stem: st}, format="5")
        out[rel] = {"vibration": vib, "label": label}
    return out
