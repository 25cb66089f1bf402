"""Empatica E4 wristband CSV files (ACC.csv, BVP.csv, EDA.csv, TEMP.csv, HR.csv from E4 connect): no heading; a
first row of the session's start (Unix seconds) and a second of the rate in Hz, repeated in every column, then
the samples.

    1495437325.000000, 1495437325.000000, 1495437325.000000
    32.000000, 32.000000, 32.000000
    -37,26,48
    ...
ACC.csv holds the x, y and z axes in 1/64 g (the E4's +-2 g range): read as `x`, `y`, `z` in g. A one-column
file's signal is named after the file (`BVP`, `EDA`, `TEMP`, `HR`) and given in the file's own unit.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from ..errors import TinymlError
from . import FileSignal, ReadSpec, decode_text, head_text, is_number, numbered_lines, parse_numbers

ACC_COUNTS_PER_G = 64.0  # the E4's accelerometer: +-2 g in 8 bits
AXES = ("x", "y", "z")
_UNIX_SECONDS = (1e9, 4e9)  # 2001 .. 2096: a session's start


def claim(path: Path, head: bytes) -> int:
    text = head_text(head)
    if text is None:
        return 0
    lines = [ln for ln in text.splitlines() if ln.strip()][:3]
    return 70 if len(lines) == 3 and _preamble(lines[:2]) is not None else 0


def read(path: Path, spec: ReadSpec) -> FileSignal:
    lines = numbered_lines(decode_text(path.read_bytes(), path, "E4 CSV"))
    start_rate = _preamble([ln for _, ln in lines[:2]])
    if start_rate is None:
        raise TinymlError(f"{path}: not an E4 file: its first two rows are not the start time and the rate")
    start, rate = start_rate
    rows = [[c.strip() for c in ln.split(",")] for _, ln in lines[2:]]
    width = len(lines[0][1].split(","))
    names = list(AXES) if width == 3 else [path.stem] if width == 1 else [str(k + 1) for k in range(width)]
    found = spec.match(names, path, kind="E4 file", what="column")
    where = [n for n, _ in lines[2:]]
    cols, units = {}, {}
    for ch, k in found.items():
        values = parse_numbers([r[k] if k < len(r) else "" for r in rows], path, names[k], lambda i: where[i])
        cols[ch], units[ch] = (values / ACC_COUNTS_PER_G, "g") if width == 3 else (values, "")
    return FileSignal(cols, rate=rate, time_origin=datetime.fromtimestamp(start, tz=timezone.utc), units=units,
                      names={ch: names[k] for ch, k in found.items()})


def _preamble(first_two: list[str]) -> tuple[float, float] | None:
    """(start in Unix seconds, rate in Hz) when the two rows are E4's: each one number repeated in every column."""
    values = []
    for ln in first_two:
        cells = [c.strip() for c in ln.split(",")]
        if not cells or not all(is_number(c) for c in cells) or len({float(c) for c in cells}) != 1:
            return None
        values.append(float(cells[0]))
    start, rate = values
    return (start, rate) if _UNIX_SECONDS[0] <= start <= _UNIX_SECONDS[1] and 0 < rate <= 1000 else None
