"""Time columns: which column holds time, and in what unit, turned into seconds from the first row.

Names: `timestamp`, `time`, `t`, `datetime`, `elapsed`, `epoch`... alone or with a unit suffix
(`time_ms`, `t_us`, `timestamp_s`) or a unit in brackets (`Time (s)`, `time [ms]`); a bare unit word
(`ms`, `millis`, `seconds`) too. Values: numbers (seconds, milliseconds, microseconds, nanoseconds;
Unix times in any of them), ISO-8601 date-times as loggers write them (`2026-12-05T14:28:08.120Z`,
`2026-12-05 14:28:08`, `2026/12/05 14:28`), `05.12.2026 14:28`, d/m/y or m/d/y dates (`13/04/2021 09:30`: a
field above 12 tells which is the day; one date throughout is read day first, with a notice; several ambiguous
ones are refused), or clock times (`14:28:08.120`, with a `date` column). A headless table's first column of
any of them is its time.

A unit the name states is used as is. Otherwise it is inferred from the median step: the unit that
gives a rate the app accepts (Edge Impulse's convention, `timestamp` in ms, first), and a notice says
which unit was assumed, so a surprising choice is visible.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

import numpy as np

from .errors import TinymlError, notice
from .readers import column_name

SECONDS_PER = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
UNIT_WORDS = {
    "s": "s", "sec": "s", "secs": "s", "second": "s", "seconds": "s",
    "ms": "ms", "msec": "ms", "millis": "ms", "millisecond": "ms", "milliseconds": "ms",
    "us": "us", "µs": "us", "μs": "us", "usec": "us", "micros": "us", "microsecond": "us", "microseconds": "us",
    "ns": "ns", "nsec": "ns", "nanos": "ns", "nanosecond": "ns", "nanoseconds": "ns",
}
TIME_BASES = ("timestamp", "time", "t", "datetime", "date_time", "time_stamp", "elapsed", "elapsed_time",
              "epoch", "unix_time", "unixtime", "clock", "date",
              "epoc", "zeit", "zeitstempel", "datum")  # MetaWear's "epoc (ms)"; German exports
DATE_NAMES = ("date", "datum")  # a column of days: the time column only when no other says time
UNIT_NAMES = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}
UNIX_SECONDS = (1e8, 5e9)  # 1973 to 2128: a first value in this range (after the unit) is a Unix time


def _key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def time_column(header: str) -> tuple[bool, str | None]:
    """(is a time column, unit its name states or None) for one header cell."""
    name, bracket = column_name(header)
    key = _key(name)
    stated = UNIT_WORDS.get(_key(bracket)) if bracket else None
    if key in TIME_BASES:
        return True, stated
    if key in UNIT_WORDS:
        return True, UNIT_WORDS[key]
    base, _, suffix = key.rpartition("_")
    if base in TIME_BASES and suffix in UNIT_WORDS:
        return True, UNIT_WORDS[suffix]
    return False, None


def find_time_column(header: Sequence[str], skip: Sequence[int] = ()) -> int | None:
    """Index of the time column (the first one whose name says time), not one of `skip`. A column named
    `date` only when no other says time (beside a `time` column of clock times it gives the day)."""
    hits = [i for i, h in enumerate(header) if i not in skip and time_column(h)[0]]
    if hits:
        return next((i for i in hits if _key(header[i]) not in DATE_NAMES), hits[0])
    return _time_like(header, skip)


def _words(name: str) -> list[str]:
    """`accelerometerTimestamp_sinceReboot` -> accelerometer, timestamp, since, reboot."""
    return [w.lower() for w in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", name)]


def _time_like(header: Sequence[str], skip: Sequence[int]) -> int | None:
    """When no column is named as a time column: one whose name has `timestamp`, or ends in `time`, among
    other words, as phone apps write them (`accelerometerTimestamp_sinceReboot(s)`, `loggingTime(txt)`,
    `Phone time`). Preferred: the one of the same sensor as the channels (same first word), then one whose
    unit is a time unit."""
    first = {(_words(column_name(header[j])[0]) or [""])[0] for j in skip}
    best, best_key = None, None
    for i, h in enumerate(header):
        name, bracket = column_name(h)
        words = _words(name)
        if i in skip or not words or not ("timestamp" in words or words[-1] == "time"):
            continue
        key = (words[0] in first and len(words) > 1, _key(bracket) in UNIT_WORDS)
        if best_key is None or key > best_key:
            best, best_key = i, key
    return best


def stated_unit(header: str) -> str | None:
    """The time unit a time column's name states (`time_ms`, `Time (s)`, `accelerometerTimestamp(s)`)."""
    found, stated = time_column(header)
    if found:
        return stated
    return UNIT_WORDS.get(_key(column_name(header)[1]))


def to_seconds(cells: Sequence[str], header: str, spec, path, dates: Sequence[str] | None = None,
               where=lambda k: f"row {k + 1}", day_first: bool | None = None) -> tuple[np.ndarray, datetime | None, str]:
    """Seconds from the first row (float64, in file order), the wall-clock time of the first row when
    the column holds absolute times, and how the column was read (for messages). `dates`: a separate
    date column for clock times. `where(k)`: how a message names cell k ("line 12" of a CSV). `day_first`:
    the order of d/m/y dates when the format fixes it (a logger that writes month/day: False); None tells
    it from a field above 12."""
    stated = stated_unit(header)
    name = header.strip()
    try:
        values = np.asarray(cells, dtype=np.float64)
    except ValueError:
        _refuse_bad_cell(cells, name, path, where)
        return _datetimes(cells, name, path, dates, where, day_first)
    if not np.all(np.isfinite(values)):
        row = int(np.argmin(np.isfinite(values)))
        raise TinymlError(f"{path}: {where(row)}: time column {name!r} has no number ({cells[row]!r}); every row "
                          f"needs a time")
    compact = None if stated else _compact_datetimes(cells)
    if compact is not None:
        secs, origin = compact
        return secs - secs[0], origin, f"time column {name!r} as date-times (YYYYMMDDHHMM)"
    unit = stated or _infer_unit(values, name, spec, path)
    secs = values * SECONDS_PER[unit]
    origin = None
    if UNIX_SECONDS[0] <= abs(secs[0]) <= UNIX_SECONDS[1]:
        origin = datetime.fromtimestamp(float(secs[0]), tz=timezone.utc)
    how = f"time column {name!r} in {UNIT_NAMES[unit]}" + ("" if stated else " (from its step; a name like "
                                                            f"{_key(name).split('_')[0]}_s or _ms says which)")
    return secs - secs[0], origin, how


_COMPACT = {12: "%Y%m%d%H%M", 14: "%Y%m%d%H%M%S"}  # AmeriFlux/FLUXNET TIMESTAMP_START, met services


def _compact(cell: str) -> datetime | None:
    """A date-time written as digits only (202004010030, 20200401003000), or None: a year 1900-2100 and
    a valid month, day, hour and minute in every place (a count of ms since 1970 has 13 digits; one of
    12 digits would be 1973-2001 and fails the fields within a few samples)."""
    text = cell.strip()
    fmt = _COMPACT.get(len(text))
    if fmt is None or not text.isdigit() or not 1900 <= int(text[:4]) <= 2100:
        return None
    try:
        return datetime.strptime(text, fmt)
    except ValueError:
        return None


def _compact_datetimes(cells: Sequence[str]) -> tuple[np.ndarray, datetime] | None:
    """(seconds from 1970, naive; the first date-time) for a column of compact date-times, None unless every
    cell is one."""
    first = _compact(cells[0]) if len(cells) else None
    if first is None:
        return None
    out = np.empty(len(cells), np.float64)
    epoch = datetime(1970, 1, 1)
    for i, c in enumerate(cells):
        dt = first if i == 0 else _compact(c)
        if dt is None:
            return None
        out[i] = (dt - epoch) / timedelta(seconds=1)
    return out, first


def _infer_unit(values: np.ndarray, name: str, spec, path) -> str:
    """The name's conventional unit (ms for `timestamp`, as Edge Impulse writes it; s otherwise) when
    its median step gives an accepted rate; else another unit whose rate is accepted and within a
    decade of the device rate (time in s where ms was expected, or the reverse), nearest to it."""
    conventional = "ms" if _key(name).startswith("timestamp") else "s"
    steps = np.diff(np.unique(values))
    if not len(steps):
        return conventional
    step = float(np.median(steps))
    lo, hi = plausible_rates(spec)
    target = (spec.device_rate if spec is not None else None) or math.sqrt(lo * hi)

    def rate(u):
        return 1.0 / (step * SECONDS_PER[u])

    unit = conventional
    if not lo <= rate(conventional) <= hi:
        near = [u for u in SECONDS_PER if lo <= rate(u) <= hi and abs(math.log10(rate(u) / target)) <= 1]
        if near:
            unit = min(near, key=lambda u: abs(math.log(rate(u) / target)))
    if unit != "ms" or conventional != "ms":
        notice(path, f"time column {name!r} read in {UNIT_NAMES[unit]} (median step {step:g}: {rate(unit):.4g} Hz); "
                     f"a name like {_key(name).split('_')[0]}_{unit} says so")
    return unit


def plausible_rates(spec) -> tuple[float, float]:
    """The rates a time unit may imply: the app's accepted rates, or a decade around the device rate."""
    if spec is not None and spec.accepted_rates:
        return spec.accepted_rates
    if spec is not None and spec.device_rate:
        return spec.device_rate / 10, spec.device_rate * 10
    return 1e-6, 1e7


_CLOCK = re.compile(r"^\d{1,2}:\d{2}(\.\d+|:\d{2}(\.\d+)?)?$")  # 14:28, 14:28:08.120, or 0:03.125 (m:ss.fff)
# a clock time's layout written as a unit (PhysioNet's units row: 'hh:mm:ss.mmm')
CLOCK_LAYOUT = re.compile(r"^(hh?:)?mm?:ss(\.m+)?$", re.IGNORECASE)


def _refuse_bad_cell(cells: Sequence[str], name: str, path, where) -> None:
    """Text time cells that are not all numbers: an empty one is named as empty, wherever it is; in a column of
    numbers (its first cell one) the first cell that is not a number is named. Date-times pass."""
    for k, c in enumerate(cells):
        if not str(c).strip():
            raise TinymlError(f"{path}: {where(k)}: the time cell (column {name!r}) is empty; every row needs a time")
    try:
        float(str(cells[0]))
    except (ValueError, IndexError):
        return
    for k, c in enumerate(cells):
        try:
            float(str(c))
        except ValueError:
            raise TinymlError(f"{path}: {where(k)}: time column {name!r}: {c!r} is not a number (the column holds "
                              f"numbers above it)") from None


def _datetimes(cells: Sequence[str], name: str, path, dates: Sequence[str] | None, where=lambda k: f"row {k + 1}",
               day_first: bool | None = None) -> tuple[np.ndarray, datetime | None, str]:
    """ISO-8601 date-times (or clock times, with a date column when there is one) -> seconds."""
    clock = bool(cells) and is_clock_time(cells[0])
    if day_first is None:
        day_first = _day_first(dates if clock and dates is not None else cells, name, path)
    out = np.empty(len(cells), np.float64)
    first = None
    day = 0.0
    for i, c in enumerate(cells):
        text = c.strip()
        if clock and dates is not None:
            text, clock_row = f"{dates[i].strip()} {text}", False
        else:
            clock_row = clock
        try:
            if clock_row:
                t = _clock_seconds(text)
                if i and t + day < out[i - 1] - 43200:  # the clock passed midnight
                    day += 86400.0
                out[i] = t + day
                continue
            dt = _parse_datetime(text, day_first)
        except ValueError:
            raise TinymlError(f"{path}: {where(i)}: time column {name!r}: {c!r} is neither a number nor an "
                              "ISO-8601 date-time (2026-12-05T14:28:08.120)") from None
        if first is None:
            first = dt
        out[i] = (dt - first) / timedelta(seconds=1)
    if clock and dates is None:
        out -= out[0]
        return out, None, f"time column {name!r} as clock times"
    return out, first, f"time column {name!r} as date-times"


_DOTTED = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:[ T](.*))?$")  # 05.12.2026 14:28 (German, Swiss ...)
_SLASHED = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})(?:[ T](.*))?$")  # 12/05/2026: which is the day?


def _clock_seconds(text: str) -> float:
    """`14:28` (h:mm), `14:28:08.120` (h:mm:ss) or `0:03.125` (m:ss.fff: an elapsed time, as PhysioNet writes
    it; a fraction tells seconds, never minutes) in seconds."""
    fields = text.split(":")
    if len(fields) == 2 and "." in fields[1]:
        return int(fields[0]) * 60 + float(fields[1])
    h, m, *s = fields
    return int(h) * 3600 + int(m) * 60 + (float(s[0]) if s else 0.0)


def _slashed(cells: Sequence[str]) -> list[re.Match]:
    """The cells written d/m/y or m/d/y (12/05/2026), matched."""
    return [m for m in (_SLASHED.match(c.strip()) for c in cells) if m]


def day_first_of(cells: Sequence[str], found: list[re.Match] | None = None) -> bool | None:
    """For dates written d/m/y or m/d/y: True (day first) or False, decided by a field above 12 somewhere
    in the column; None when no date tells (the column has no such dates, or all are ambiguous). `found`: the
    column's _slashed matches, where the caller has them."""
    found = _slashed(cells) if found is None else found
    if not found:
        return None
    if max(int(m.group(1)) for m in found) > 12:
        return True
    if max(int(m.group(2)) for m in found) > 12:
        return False
    return None


def untold_dates(cells: Sequence[str]) -> str | None:
    """A cell of the column, when its d/m/y or m/d/y dates are ambiguous throughout (no field above 12) and more
    than one date appears: read the wrong way, its days would be months apart. None otherwise."""
    found = _slashed(cells)
    if not found or day_first_of(cells, found) is not None or len({m.group(1, 2, 3) for m in found}) == 1:
        return None
    return found[0].group(0)


def _day_first(cells: Sequence[str], name: str, path) -> bool | None:
    """day_first_of. A column of d/m/y or m/d/y dates ambiguous throughout: one date only (a day's recording) is
    read day first, said in a notice (its times are the same either way); several are refused (untold_dates)."""
    found = _slashed(cells)
    told = day_first_of(cells, found)
    if told is not None or not found:
        return told
    example = untold_dates(cells)
    if example is None:
        notice(path, f"time column {name!r}: the date {found[0].group(0).split()[0]!r} may be day/month or "
                     "month/day: read as day/month/year (one date throughout: the times are the same either way)")
        return True
    raise TinymlError(f"{path}: time column {name!r}: dates like {example!r} may be day/month or "
                      "month/day and no day above 12 tells which: write them as ISO-8601 (2026-12-05 14:28)")


def _iso(m: re.Match, day_first: bool) -> str:
    a, b, y, rest = int(m.group(1)), int(m.group(2)), m.group(3), m.group(4)
    d, mo = (a, b) if day_first else (b, a)
    year = int(y) + (2000 if len(y) == 2 else 0)
    return f"{year:04d}-{mo:02d}-{d:02d}" + (f" {_clock_24h(rest.strip())}" if rest else "")


def _clock_24h(t: str) -> str:
    """`09:30:01 AM` -> `09:30:01`, `12:05 PM` -> `12:05` (a 12-hour clock, as US exports write it)."""
    m = re.match(r"^(\d{1,2})(:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*([AaPp][Mm])$", t)
    if not m:
        return "0" + t if re.match(r"^\d:", t) else t
    h = int(m.group(1)) % 12 + (12 if m.group(3).lower() == "pm" else 0)
    return f"{h:02d}{m.group(2)}"


def is_clock_time(text: str) -> bool:
    """A cell that reads as a time of day without a date (`00:22:45.700000`, `14:28:08.120`): a headerless
    table's time column too."""
    return _CLOCK.match(text.strip()) is not None


def is_datetime(text: str) -> bool:
    """A cell that reads as a date-time (ISO-8601, `05.12.2026 14:28`, `2026/12/05 14:28`, `03/04/2021 00:00:00`
    day or month first): a headerless table's time column."""
    # a date's separators first: fromisoformat takes '20260101' (Python 3.11), so plain numbers would be dates
    if not re.match(r"^\s*\d{1,4}[-./]\d{1,2}[-./]\d{1,4}", text):
        return False
    for day_first in (True, False) if _SLASHED.match(text.strip()) else (None,):  # which: the column tells
        try:
            _parse_datetime(text, day_first)
            return True
        except ValueError:
            pass
    return False


def _parse_datetime(text: str, day_first: bool | None = None) -> datetime:
    t = text.strip()
    m = _DOTTED.match(t) or (_SLASHED.match(t) if day_first is not None else None)
    if m:
        t = _iso(m, True if m.re is _DOTTED else day_first)
    if re.match(r"^\d{4}/\d{1,2}/\d{1,2}", t):  # 2026/12/05 14:28 (loggers): ISO with slashes
        d, _, rest = t.partition(" ")
        y, mo, da = d.split("/")
        t = f"{int(y):04d}-{int(mo):02d}-{int(da):02d}" + (f" {rest}" if rest else "")
    dt = datetime.fromisoformat(t)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)  # naive times: only differences matter
    return dt
