"""NASA IMS bearing data (Lee, Qiu, Yu, Lin: University of Cincinnati, via the NASA prognostics data
repository): a run-to-failure test is a folder of 1 s snapshots, one text file each, named by the time it
was taken, `YYYY.MM.DD.hh.mm.ss` (no suffix; a copy with `.txt` or `.csv` is read too). A snapshot is 20,480
rows at 20 kHz, tab-separated, one column per accelerometer: 8 in the first test (x and y of bearings 1-4),
4 in the second and third (one per bearing). Values are acceleration in g. Four Rexnord ZA-2115 double-row
bearings on one shaft at 2000 rpm under a 6000 lb radial load.

`parse(path)` is the format; `claim`/`read` make it a reader for `predict` and `run` (the first column
by default; `--channel ch5` picks another, ch1..ch8 in file order); datasets/ims reads whole tests.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import numpy as np

from ..bearing import KNOWN
from ..errors import TinymlError, notice, option
from . import FileSignal, the_one_channel

RATE = 20000.0
ROWS = 20480
SHAFT_HZ = 2000.0 / 60.0
NAME = re.compile(r"^(\d{4})\.(\d{2})\.(\d{2})\.(\d{2})\.(\d{2})\.(\d{2})$")


def snapshot_time(path: Path) -> datetime | None:
    m = NAME.match(Path(path).name)
    if not m:
        return None
    try:
        return datetime(*(int(g) for g in m.groups()))
    except ValueError:
        return None


def parse(path: Path) -> np.ndarray:
    """float64 [rows, columns] of one snapshot; TinymlError naming the file and line for anything else."""
    path = Path(path)
    try:
        text = path.read_text(encoding="ascii")
    except UnicodeDecodeError:
        raise TinymlError(f"{path}: not an IMS snapshot (binary content; expected tab-separated numbers)") from None
    except OSError as e:
        raise TinymlError(f"{path}: cannot read ({e.strerror})") from None
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise TinymlError(f"{path}: empty IMS snapshot")
    width = len(lines[0].split())
    if width not in (4, 8):
        raise TinymlError(f"{path}: an IMS snapshot has 4 or 8 tab-separated columns, line 1 has {width}")
    try:
        data = np.array([[float(v) for v in ln.split()] for ln in lines], dtype=np.float64)
    except ValueError:
        bad = next(i for i, ln in enumerate(lines) if not _numbers(ln, width))
        raise TinymlError(f"{path}: line {bad + 1}: expected {width} numbers") from None
    if data.ndim != 2 or data.shape[1] != width:
        bad = next(i for i, ln in enumerate(lines) if len(ln.split()) != width)
        raise TinymlError(f"{path}: line {bad + 1}: expected {width} numbers, like line 1")
    if not np.isfinite(data).all():
        row = int(np.argwhere(~np.isfinite(data))[0][0])
        raise TinymlError(f"{path}: line {row + 1}: non-finite value")
    return data


def _numbers(line: str, width: int) -> bool:
    parts = line.split()
    if len(parts) != width:
        return False
    try:
        [float(p) for p in parts]
    except ValueError:
        return False
    return True


def claim(path: Path, head: bytes) -> int:
    path = Path(path)
    first = head.split(b"\n", 1)[0]
    tabbed = first.count(b"\t") in (3, 7)
    if NAME.match(path.name):
        return 90 if tabbed else 20
    # a copy saved with a suffix (2004.02.12.10.32.39.txt, as some mirrors ship the data): by its content too
    if path.suffix.lower() in (".txt", ".csv", ".tsv") and NAME.match(path.stem) and tabbed:
        return 90
    return 0


def read(path: Path, spec):
    """One column as the app's one channel: ch1 unless --channel names another (ch1..ch8), at 20 kHz."""
    data = parse(path)
    ch = the_one_channel(spec, path, f"an IMS snapshot is read one accelerometer at a time "
                                     f"({option('channel', 'ch1')} ... ch{data.shape[1]})")
    if len(data) < ROWS:  # read, but said: a cut copy looks like a snapshot and scores fewer windows
        notice(path, f"{len(data):,} rows; an IMS snapshot has {ROWS:,} (a cut file?)")
    names = [f"ch{i + 1}" for i in range(data.shape[1])]
    want = spec.picks.get(ch)
    if want is None:
        col = 0
        if data.shape[1] > 1:
            notice(path, f"{data.shape[1]} accelerometers; reading ch1 (bearing 1). {option('channel', 'chN')} "
                         "picks another")
    else:
        w = want.strip().lower()
        if w not in names:
            raise TinymlError(f"{path}: no column {want!r}; this snapshot has {', '.join(names)}")
        col = names.index(w)
    return FileSignal({ch: data[:, col].copy()}, rate=RATE, units={ch: "g"}, names={ch: names[col]},
                      deployment={"machine": {"shaft_hz": SHAFT_HZ, **KNOWN["rexnord-za-2115"]}})
