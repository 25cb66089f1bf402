"""FEMTO-ST PRONOSTIA bearing run-to-failure data (IEEE PHM 2012 prognostic challenge; Nectoux et al. 2012).

A run is a folder per bearing (`Learning_set/Bearing1_1/`) of vibration snapshots `acc_00001.csv`: 2,560 rows
(0.1 s at 25.6 kHz, one snapshot every 10 s), no heading, six columns: hour, minute, second, microsecond,
horizontal and vertical acceleration in g. Most files separate them with commas, Bearing1_4's with
semicolons. The horizontal axis is read (`--channel accel=vertical` takes the other; `5` and `6`, the
columns' numbers, are understood too). The bearing's folder names its operating condition (Bearing1_x:
1800 rpm, 4000 N; Bearing2_x: 1650 rpm, 4200 N; Bearing3_x: 1500 rpm, 5000 N), which becomes the run's
shaft speed, with the test bearing's defect orders (13 rollers of 3.5 mm on a 25.6 mm mean diameter).

`parse(path)` is the format (datasets/femto reads whole runs); `claim`/`read` make it a reader for
`predict` and `run`. One snapshot is shorter than the predictive-maintenance window: a run is read whole by
the data set's loader, which joins consecutive snapshots.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import TinymlError, option
from . import FileSignal, ReadSpec, decode_text, head_text, machine_from_path, the_one_channel

RATE = 25600.0
ROWS = 2560
SNAPSHOT_EVERY_S = 10.0
AXES = ("horizontal", "vertical")
CONDITION_RPM = {1: 1800.0, 2: 1650.0, 3: 1500.0}
NAME = re.compile(r"^acc_(\d+)\.csv$", re.IGNORECASE)
_BEARING = re.compile(r"^Bearing([123])_\d+$", re.IGNORECASE)
_ROW = re.compile(r"^\s*[-+0-9.eE]+(\s*[,;]\s*[-+0-9.eE]+){5}\s*$")


def parse(path: Path) -> tuple[float, np.ndarray]:
    """(the snapshot's clock time in seconds of its day, float64 [rows, 2] horizontal and vertical g) of one
    acc_*.csv; TinymlError naming the file and line for anything else."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise TinymlError(f"{path}: cannot read ({e.strerror})") from None
    lines = [ln for ln in decode_text(raw, path, "FEMTO snapshot").splitlines() if ln.strip()]
    if not lines:
        raise TinymlError(f"{path}: empty FEMTO snapshot")
    sep = ";" if ";" in lines[0] else ","
    flat = np.empty(0)
    if all(ln.count(sep) == 5 for ln in lines):
        try:  # numpy stops (or, newer, raises) at a token that is no number
            flat = np.fromstring(" ".join(lines).replace(sep, " "), sep=" ")
        except ValueError:
            pass
    if flat.size != 6 * len(lines):  # a line that is not six numbers: find it, for the message
        bad = next((i for i, ln in enumerate(lines) if ln.count(sep) != 5 or not _ROW.match(ln)), len(lines) - 1)
        raise TinymlError(f"{path}: line {bad + 1}: expected 6 numbers (hour, minute, second, microsecond, "
                          "horizontal and vertical g)")
    data = flat.reshape(-1, 6)
    if not np.isfinite(data).all():
        row = int(np.argwhere(~np.isfinite(data))[0][0])
        raise TinymlError(f"{path}: line {row + 1}: non-finite value")
    h, m, s, us = data[0, :4]
    return float(h * 3600 + m * 60 + s + us * 1e-6), data[:, 4:6]


def condition(path: Path) -> int | None:
    """The operating condition (1, 2, 3) the bearing's folder names (Bearing2_5: 2), or None."""
    m = next((m for part in reversed(Path(path).parts) if (m := _BEARING.match(part))), None)
    return int(m.group(1)) if m else None


def machine(path: Path) -> dict[str, float]:
    """The test bearing's defect orders and the shaft speed its condition names (a notice without one)."""
    return machine_from_path(Path(path), "femto-pronostia", _BEARING,
                             lambda m: CONDITION_RPM[int(m.group(1))] / 60.0,
                             "no Bearing<condition>_<n> folder gives the shaft speed (1800, 1650 or 1500 rpm): "
                             f"give it, e.g. {option('set', 'machine.shaft_rpm=1800')}")


def claim(path: Path, head: bytes) -> int:
    first = (head_text(head) or "").lstrip().split("\n", 1)[0]
    return 95 if NAME.match(Path(path).name) and _ROW.match(first) else 0


def read(path: Path, spec: ReadSpec) -> FileSignal:
    ch = the_one_channel(spec, path, "a FEMTO snapshot is read one axis at a time")
    want = spec.picks.get(ch, AXES[0]).strip().lower()
    col = {"horizontal": 0, "horiz": 0, "h": 0, "5": 0, "vertical": 1, "vert": 1, "v": 1, "6": 1}.get(want)
    if col is None:
        raise TinymlError(f"{path}: no axis {spec.picks[ch]!r}; a FEMTO snapshot has horizontal and vertical "
                          f"({option('channel', f'{ch}=vertical')})")
    _, data = parse(path)
    return FileSignal({ch: data[:, col].copy()}, rate=RATE, units={ch: "g"}, names={ch: AXES[col]},
                      deployment={"machine": machine(path)})
