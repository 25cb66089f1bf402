"""Onset HOBO logger CSV exports (HOBOware, HOBOlink): what a HOBO micro station or MX logger writes.

    "Plot Title: CM2SM"
    "#","Date Time, GMT-07:00","Water Content, m³/m³ (LGR S/N: 20418942, SEN S/N: 20684002, LBL: 30 CM)",...
    1,08/18/20 09:30:01 AM,0.2257,...
A column heading is "<quantity>, <unit> (<serials>, LBL: <label>)": the quantity is the column's family,
the label (or the sensor serial) its tag, the unit is declared to the core (readers/_logger.py says how
channels are chosen). Date-times are month/day/year with a 12- or 24-hour clock, in the time zone the
heading names. Event columns (Coupler Attached, End of File, ...) and rows without a value are skipped.
"""

from __future__ import annotations

import csv
import math
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from ..errors import TinymlError
from . import FileSignal, ReadSpec, decode_text
from ._logger import choose

_HEADING = re.compile(r"^\s*(?P<qty>[^,(]+?)\s*,\s*(?P<unit>[^(]*?)\s*(?:\((?P<info>[^)]*)\))?\s*$")
_LABEL = re.compile(r"LBL:\s*([^,)]+)")
_SERIAL = re.compile(r"SEN S/N:\s*([^,)]+)")
_TZ = re.compile(r"GMT\s*([+-])(\d{1,2}):?(\d{2})")
_FORMATS = ("%m/%d/%y %I:%M:%S %p", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%y %I:%M %p", "%m/%d/%Y %I:%M %p",
            "%m/%d/%y %H:%M:%S", "%m/%d/%Y %H:%M:%S", "%m/%d/%y %H:%M", "%m/%d/%Y %H:%M", "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%d %H:%M")


def claim(path: Path, head: bytes) -> int:
    text = head.decode("utf-8-sig", errors="replace")
    first = text.lstrip().splitlines()[0] if text.strip() else ""
    if first.strip('"').startswith("Plot Title:") or ("Date Time, GMT" in text and "LGR S/N" in text):
        return 100
    return 0


def _parse_time(text: str) -> datetime:
    t = text.strip()
    for fmt in _FORMATS:
        try:
            return datetime.strptime(t, fmt)
        except ValueError:
            continue
    raise ValueError(t)


def read(path: Path, spec: ReadSpec) -> FileSignal:
    text = decode_text(path.read_bytes(), path, "HOBO export")  # HOBOware on Windows writes `°` in cp1252
    lines = text.splitlines()
    start = 1 if lines and lines[0].strip('"\ufeff ').startswith("Plot Title") else 0
    rows = list(csv.reader(lines[start:]))
    if len(rows) < 2:
        raise TinymlError(f"{path}: a HOBO export needs a heading row and data rows")
    head = rows[0]
    tcol = next((i for i, h in enumerate(head) if h.strip().lower().startswith("date time")), None)
    if tcol is None:
        raise TinymlError(f"{path}: HOBO heading has no 'Date Time' column")
    tz = _TZ.search(head[tcol])
    offset = timedelta(0)
    if tz:
        offset = timedelta(hours=int(tz.group(2)), minutes=int(tz.group(3))) * (1 if tz.group(1) == "+" else -1)
        if abs(offset) >= timedelta(hours=24):
            raise TinymlError(f"{path}: the 'Date Time' heading's time zone {tz.group(0)!r} is no offset from GMT "
                              "(under 24 h)")
    cols, families, tags, names, units = [], [], [], [], []
    for i, h in enumerate(head):
        if i == tcol or h.strip() in ("#", ""):
            continue
        m = _HEADING.match(h)
        if not m:
            continue
        info = m.group("info") or ""
        lab = _LABEL.search(info) or _SERIAL.search(info)
        tag = lab.group(1).strip() if lab else ""
        cols.append(i)
        families.append(m.group("qty").strip())
        tags.append(tag)
        names.append(f"{m.group('qty').strip()} {tag}".strip())
        units.append(m.group("unit").strip())
    found = {ch: k for ch, k in choose(spec, families, tags, names, path, "HOBO export").items()}
    body = rows[1:]
    times, keep = [], []
    for k, r in enumerate(body):
        if tcol >= len(r) or not r[tcol].strip():
            continue
        try:
            times.append(_parse_time(r[tcol]))
        except ValueError:
            raise TinymlError(f"{path}: line {start + k + 2}: {r[tcol]!r} is not a HOBO date-time "
                              "(MM/DD/YY hh:mm:ss AM)") from None
        keep.append(k)
    required = [found[c] for c in spec.channels]
    out = {ch: np.full(len(keep), np.nan) for ch in found}
    for row_i, k in enumerate(keep):
        r = body[k]
        for ch, j in found.items():
            cell = r[cols[j]].strip() if cols[j] < len(r) else ""
            if cell:
                try:
                    out[ch][row_i] = float(cell)
                except ValueError:
                    raise TinymlError(f"{path}: line {start + k + 2}: expected a number in {names[j]!r}, "
                                      f"got {cell!r}") from None
                if math.isinf(out[ch][row_i]):  # an overflow, not an event-only row's empty cell
                    raise TinymlError(f"{path}: line {start + k + 2}: infinite value in {names[j]!r} (an overflow, "
                                      "not a missing value): fix the value, or leave the row out")
    # rows that log an event only (no value for the required channels) are not samples
    valid = np.all([np.isfinite(out[c]) for c in spec.channels if c in out], axis=0) if required else None
    if valid is not None and not valid.all():
        out = {ch: v[valid] for ch, v in out.items()}
        times = [t for t, v in zip(times, valid) if v]
    if not times:
        raise TinymlError(f"{path}: no rows with values")
    tzinfo = timezone(offset)
    origin = times[0].replace(tzinfo=tzinfo)
    secs = np.array([(t - times[0]).total_seconds() for t in times], np.float64)
    return FileSignal(out, times=secs, time_origin=origin, time_note=f"HOBO date-time column {head[tcol].strip()!r}",
                      units={ch: units[j] for ch, j in found.items()}, names={ch: names[j] for ch, j in found.items()})
