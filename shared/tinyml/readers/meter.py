"""METER (Decagon) logger exports: ZENTRA Cloud / ZENTRA Utility CSV (ZL6, EM60) and ECH2O Utility CSV (Em50).

Three header rows, then one row per record:
    z6-04628,Port1,Port1,Port2,Port2                                      logger serial, each column's port
    # Records: 1056,TEROS 12 Moisture/Temp/EC,TEROS 12 Moisture/Temp/EC,...  record count, each port's sensor
    Timestamps, m3/m3 Water Content, degree_C Soil Temperature,...        unit and measurement
    04/01/2020 12:00:00 AM,0.074,25.0,...
ECH2O Utility writes the same with its own words: `Port 1` ..., `5TM Moisture/Temp`, `Measurement Time,m³/m³
VWC,°C Temp,mS/cm EC Bulk`. The unit leads the measurement (` m3/m3 Water Content`, ` % Water Content`,
` degree_F Soil Temperature`, `m³/m³ VWC`): it is declared to the core, so percent and Fahrenheit are converted. The
measurement is a column's family and its port the tag: one probe's moisture is `Water Content`; with several
probes pick one (`--channel vwc="Water Content Port2"`), its temperature and EC follow (readers/_logger.py).
Date-times are the logger's local time with a 12- or 24-hour clock, as the computer that exported them writes
dates: day/month/year when a day above 12 says so, else month/day/year (the US default, said in a notice when
several dates could be either). A record without a value is a missing sample (NaN), left to the core like any
other file's.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from ..errors import TinymlError, notice
from ..timestamps import day_first_of, to_seconds, untold_dates
from ..units import lookup
from . import MISSING, FileSignal, ReadSpec, decode_text, head_text, numbered_lines, parse_numbers
from ._logger import choose

HEADER_ROWS = 3
_PORT = re.compile(r"^\s*port\s*\d+\s*$", re.IGNORECASE)
_TIME = re.compile(r"^\s*(timestamps?|measurement time)\s*$", re.IGNORECASE)
# empty or `#N/A`: the probe did not answer (+-inf is an overflow, refused by the core as in any file)
_NOT_A_VALUE = MISSING | {"#n/a", "***"}


def claim(path: Path, head: bytes) -> int:
    rows = list(csv.reader((head_text(head) or "").splitlines()[:HEADER_ROWS]))
    if len(rows) < HEADER_ROWS or any(len(r) < 2 for r in rows):
        return 0
    ports, _sensors, heading = rows
    if any(_PORT.match(c) for c in ports[1:]) and _TIME.match(heading[0]):
        return 100
    return 0


def measurement(cell: str) -> tuple[str, str]:
    """(unit, measurement) of a heading: ("m3/m3", "Water Content") for " m3/m3 Water Content"; ("", cell)
    when the first word is not a unit (` Sensor Output`)."""
    words = cell.strip().split(None, 1)
    if len(words) == 2 and (words[0] == "%" or lookup(words[0]) is not None):
        return words[0], words[1].strip()
    return "", cell.strip()


def read(path: Path, spec: ReadSpec) -> FileSignal:
    text = decode_text(path.read_bytes(), path, "METER export")  # an Excel "CSV" writes `³` and `°` in cp1252
    numbered = numbered_lines(text)
    rows = list(csv.reader(ln for _, ln in numbered))  # one row per line: a logger quotes no line breaks
    if len(rows) <= HEADER_ROWS:
        raise TinymlError(f"{path}: a METER export has 3 header rows (ports, sensors, measurements) and then data")
    ports, heading = rows[0], rows[2]
    data_cols = [i for i in range(1, len(heading)) if heading[i].strip()]
    units, families = zip(*(measurement(heading[i]) for i in data_cols)) if data_cols else ((), ())
    tags = [(ports[i] if i < len(ports) else "").strip() for i in data_cols]
    names = [f"{fam} {tag}".strip() for fam, tag in zip(families, tags)]
    found = choose(spec, list(families), tags, names, path, "METER export")
    records = [(n, r) for (n, _), r in zip(numbered[HEADER_ROWS:], rows[HEADER_ROWS:]) if any(c.strip() for c in r)]
    body = [r for _, r in records]
    line_of = lambda k: records[k][0]  # noqa: E731 (the file line of body row k, for messages)
    cols = {ch: parse_numbers([r[data_cols[k]] if data_cols[k] < len(r) else "" for r in body], path, names[k],
                              line_of, _NOT_A_VALUE) for ch, k in found.items()}
    fs = FileSignal(cols, units={ch: units[k] for ch, k in found.items()},
                    names={ch: names[k] for ch, k in found.items()})
    if spec.rate is None and body:
        stamps = [r[0] for r in body]
        told = day_first_of(stamps)
        day_first = bool(told)  # month/day (the US default) unless a day above 12 says otherwise
        example = untold_dates(stamps) if told is None else None
        if example is not None:  # several dates no day above 12 tells: say which way they were read
            notice(path, f"{heading[0]!r}: dates like {example!r} may be month/day or day/month and no day above 12 "
                         "tells which: read as month/day/year (the US default of METER's software); if the computer "
                         "that exported them writes day/month, re-export with ISO dates (2026-12-05 14:28)")
        fs.times, fs.time_origin, fs.time_note = to_seconds(stamps, heading[0], spec, path,
                                                            where=lambda k: f"line {line_of(k)}", day_first=day_first)
    return fs
