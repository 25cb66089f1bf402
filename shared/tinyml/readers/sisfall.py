"""SisFall trials (Sucerquia et al., Sensors 2017): a waist device's three sensors at 200 Hz, no heading, one
sample a line: 9 comma-separated integers right-aligned in 4 characters, the line ending with `;`.

      12,-237,-105, 102,  19,  -4,  40,-978,-406;

Columns 1-3: the ADXL345 (13 bit, +-16 g), read as `x`, `y`, `z` in g; 4-6: the ITG3200 gyroscope (16 bit,
+-2000 deg/s), as `gyro_x`, `gyro_y`, `gyro_z` in deg/s; 7-9: the MMA8451Q (14 bit, +-8 g), as `mma_x`, `mma_y`,
`mma_z` in g; counts to units by the distribution's Readme: (2 * range / 2^bits) * counts. Every column may also
be picked by its number (`--channel ax=7`). Only a .txt file is claimed, and only in that layout (each field
right-aligned in 4 characters, `;` ending the lines) or under a SisFall trial's name (`F05_SE06_R01.txt`: two files
of the distribution, D01_SA01_R01 and D02_SA01_R01, have no `;`): another logger's 9 integers (an Arduino's 9-DoF
dump) go on to the CSV reader, whose columns are picked by number. Reading one says so, in a notice: its units and
rate come from the layout, not the file.

This module holds the one parser of the layout: datasets/sisfall's loader reads its trials with read_trial.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np

from ..errors import TinymlError, notice
from . import HEAD_BYTES, FileSignal, ReadSpec, head_text

RATE = 200.0
N_COLUMNS = 9
# units per count: (2 * range) / 2^resolution, the distribution's Readme
ADXL345_G_PER_COUNT = 32.0 / 8192.0
ITG3200_DEG_S_PER_COUNT = 4000.0 / 65536.0
MMA8451Q_G_PER_COUNT = 16.0 / 16384.0
# (sensor, prefix of its columns' names, unit, units per count): columns 1-3, 4-6, 7-9
SENSORS = (("ADXL345", "", "g", ADXL345_G_PER_COUNT), ("ITG3200", "gyro_", "deg/s", ITG3200_DEG_S_PER_COUNT),
           ("MMA8451Q", "mma_", "g", MMA8451Q_G_PER_COUNT))
COLUMNS = tuple((prefix + a, unit, per_count) for _, prefix, unit, per_count in SENSORS for a in "xyz")
TRIAL_FILE = re.compile(r"^([DF]\d\d)_(S[AE]\d\d)_R(\d\d)\.txt$")
_SAMPLE = re.compile(r"^\s*[+-]?\d+(?:\s*,\s*[+-]?\d+){8}\s*(;?)\s*$")
_CLAIM_LINES = 20  # sample lines of the head that decide
_CLAIM_SHARE = 0.8  # of them in SisFall's shape


def claim(path: Path, head: bytes) -> int:
    text = head_text(head) if path.suffix.lower() == ".txt" else None  # SisFall's trials are .txt
    if text is None:
        return 0
    lines = text.splitlines()
    if len(head) >= HEAD_BYTES:
        lines = lines[:-1]  # the head may cut its last line
    sample = [ln for ln in lines if ln.strip()][:_CLAIM_LINES]
    shapes = [m for ln in sample if (m := _SAMPLE.match(ln))]
    # the first line a sample (a heading is some other table's), and most others: a malformed one is read_trial's
    # to name, by its line
    if not shapes or not _SAMPLE.match(sample[0]) or len(shapes) < _CLAIM_SHARE * len(sample):
        return 0
    laid_out = any(m.group(1) for m in shapes) and all(_in_columns_of_4(m.group(0)) for m in shapes)
    if laid_out or TRIAL_FILE.match(path.name):  # SisFall's columns and `;` line ends, or a trial's name
        return 60  # above the CSV reader's claim of any .txt table
    return 0


def _in_columns_of_4(line: str) -> bool:
    """SisFall's fields: each right-aligned in 4 characters (`  12,-237,-105, 102`), a wider number unpadded."""
    fields = line.rstrip(" \t\r\n;").split(",")
    return all(len(f) == 4 or (len(f) > 4 and not f.startswith(" ")) for f in fields)


def read(path: Path, spec: ReadSpec) -> FileSignal:
    raw = read_trial(path)
    names = [name for name, _, _ in COLUMNS] + [str(k + 1) for k in range(N_COLUMNS)]  # by name or number
    found = spec.match(names, path, kind="SisFall trial", columns=[*range(N_COLUMNS), *range(N_COLUMNS)])
    cols, units = {}, {}
    for ch, i in found.items():
        k = i % N_COLUMNS
        _, units[ch], per_count = COLUMNS[k]
        cols[ch] = raw[:, k].astype(np.float64) * per_count
    sensors = dict.fromkeys(SENSORS[(i % N_COLUMNS) // 3] for i in found.values())  # in the order read
    notice(path, "read as a SisFall trial: " + "; ".join(
        f"{name} at {RATE:g} Hz, {1 / per_count:g} counts per {unit}" for name, _, unit, per_count in sensors))
    return FileSignal(cols, rate=RATE, units=units, names={ch: names[i] for ch, i in found.items()})


def read_trial(file: Path) -> np.ndarray:
    """All 9 raw integer columns of one trial file as int32 [n, 9]; TinymlError naming file and line."""
    file = Path(file)
    try:
        text = file.read_text(encoding="ascii")
    except UnicodeDecodeError:
        raise TinymlError(f"{file}: not a SisFall text file (non-ASCII bytes)") from None
    lines = text.splitlines()
    stripped = [ln.strip() for ln in lines]
    n_data = sum(1 for s in stripped if s)
    if n_data == 0:
        raise TinymlError(f"{file}: empty file (no samples)")
    # Fast path (C parser); on any doubt fall back to the line-by-line parser for an exact message.
    ends = sum(1 for s in stripped if s.endswith(";"))
    if ends in (0, n_data) and text.count(";") == ends:
        try:
            arr = np.loadtxt(io.StringIO(text.replace(";", "")), delimiter=",", dtype=np.int32, ndmin=2)
            if arr.shape == (n_data, N_COLUMNS):
                return arr
        except ValueError:
            pass
    return _read_slow(file, stripped)


def _read_slow(file: Path, stripped: list[str]) -> np.ndarray:
    rows = []
    first = next(s for s in stripped if s)
    terminated = first.endswith(";")  # the first sample line sets the file's convention
    for i, s in enumerate(stripped, start=1):
        if not s:
            continue
        if s.endswith(";") != terminated:
            need = "must end with ';'" if terminated else "';' where the file's first line has none"
            raise TinymlError(f"{file}: line {i}: malformed line ({need}): {s[:60]!r}")
        body = s[:-1] if terminated else s
        if ";" in body:
            raise TinymlError(f"{file}: line {i}: malformed line (more than one ';'): {s[:60]!r}")
        parts = body.split(",")
        if len(parts) != N_COLUMNS:
            raise TinymlError(f"{file}: line {i}: expected {N_COLUMNS} comma-separated columns, found {len(parts)}")
        try:
            rows.append([int(p) for p in parts])
        except ValueError:
            raise TinymlError(f"{file}: line {i}: malformed line (non-integer value): {s[:60]!r}") from None
    return np.asarray(rows, dtype=np.int32).reshape(-1, N_COLUMNS)
