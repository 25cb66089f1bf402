"""A few PhysioNet/CinC 2017 records in exactly the distributed layout, for tests (no real data needed):
`training2017/A0000k.mat` (MATLAB v4: a 20-byte header, the name `val`, int16 samples, 1000 counts/mV),
`A0000k.hea` (300 Hz, `A0000k.mat 16+24 1000/mV 16 0 <first> <checksum> 0 ECG`) and `REFERENCE.csv`.

    write_fixture(root, seed=0) -> {name: {"class": "N" | "A" | "O" | "~", "mv": float64 samples}}
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from tinyml.data import dataset_module

FS = 300
ROWS = [("A00001", "N", "sinus"), ("A00002", "A", "af"), ("A00003", "O", "bigeminy"), ("A00004", "~", "lead_off")]


def write_mat_v4(path: Path, val: np.ndarray) -> None:
    """MATLAB level-4 file with one int16 matrix `val` [1, n] (type 30: little-endian int16), as the challenge."""
    val = np.asarray(val, "<i2").reshape(1, -1)
    head = struct.pack("<5i", 30, val.shape[0], val.shape[1], 0, 4) + b"val\x00"
    path.write_bytes(head + val.T.tobytes())


def write_fixture(root: Path, seed: int = 0) -> dict:
    gen = dataset_module("synthetic-ecg")
    folder = Path(root) / "training2017"
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for k, (name, cls, what) in enumerate(ROWS):
        sc = gen.scene(rate=FS, channels=["ecg"], seed=seed, subject=40 + k, parts=[(4.0, "sinus"), (8.0, what)])
        val = np.clip(np.round(sc.signal[:, 0].astype(np.float64) * 1000), -32768, 32767).astype(np.int16)
        write_mat_v4(folder / f"{name}.mat", val)
        checksum = int(np.sum(val.astype(np.int64))) & 0xFFFF
        checksum = checksum - 65536 if checksum >= 32768 else checksum
        (folder / f"{name}.hea").write_text(
            f"{name} 1 {FS} {len(val)} 05:05:15 1/05/2000 \n"
            f"{name}.mat 16+24 1000/mV 16 0 {int(val[0])} {checksum} 0 ECG\n")
        out[name] = {"class": cls, "mv": val / 1000.0}
    (folder / "REFERENCE.csv").write_text("".join(f"{n},{c}\n" for n, c, _ in ROWS))
    return out
