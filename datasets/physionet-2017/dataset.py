"""PhysioNet/Computing in Cardiology Challenge 2017 (AF classification from a short single-lead ECG), read
through the `wfdb` package: `training2017/A00001.mat` (MATLAB v4, variable `val`, int16, 1000 counts/mV)
with its WFDB header `A00001.hea` (300 Hz, format 16 at byte offset 24), and `REFERENCE.csv` rows
`A00001,N` (also `REFERENCE-v3.csv`): N normal, A AF, O other rhythm, ~ too noisy. 9-60 s each.

load(path, *, rate, channels, reference=None, classes=("N", "A", "O", "~")) -> list[Recording]: `path` is
the folder holding REFERENCE*.csv and the records (or holding training2017/); one Recording per row: signal
[n, 1] in mV at 300 Hz (the core resamples), label normal / af / other / noise, subject "cinc17-<name>"
(one recording per person as far as the challenge tells; the manifest's split draws by subject), truth
{"rhythm": [(0, duration, "N" | "AF" | "OTHER" | "NOISE")]}.
"""

from __future__ import annotations

import csv
from pathlib import Path

from tinyml.errors import TinymlError
from tinyml.readers import mat as mat_reader
from tinyml.recording import Recording

CLASSES = {"N": ("normal", "N"), "A": ("af", "AF"), "O": ("other", "OTHER"), "~": ("noise", "NOISE")}


def find_reference(root: Path) -> Path:
    for folder in (root, root / "training2017"):
        for name in ("REFERENCE.csv", "REFERENCE-v3.csv", "REFERENCE-v2.csv", "REFERENCE-v1.csv"):
            if (folder / name).is_file():
                return folder / name
    raise TinymlError(f"{root}: no REFERENCE.csv (PhysioNet/CinC 2017 layout: REFERENCE.csv beside A00001.mat)")


def load(path, *, rate=None, channels=("ecg",), reference=None, classes=("N", "A", "O", "~"), progress=False,
         aliases=("ECG",)) -> list[Recording]:
    root = Path(path)
    ref = Path(reference) if reference else find_reference(root)
    folder = ref.parent
    out = []
    with ref.open(newline="", encoding="utf-8") as f:
        for i, row in enumerate(csv.reader(f)):
            if not row or not row[0].strip():
                continue
            if len(row) < 2 or row[1].strip() not in CLASSES:
                raise TinymlError(f"{ref}: line {i + 1}: expected 'A00001,N' with a class in N, A, O, ~")
            name, cls = row[0].strip(), row[1].strip()
            if cls not in classes:
                continue
            mat = folder / f"{name}.mat"
            x, fs, _ = mat_reader.read_lead(mat, ["ECG", *aliases])
            label, rhythm = CLASSES[cls]
            out.append(Recording(x[:, None], fs, tuple(channels), subject=f"cinc17-{name}", label=label,
                                 activity=cls, events=[(0.0, "af")] if cls == "A" else [], source=str(mat),
                                 truth={"rhythm": [(0.0, len(x) / fs, rhythm)]}))
    if not out:
        raise TinymlError(f"{ref}: no records of classes {', '.join(classes)}")
    return out
