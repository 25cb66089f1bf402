"""CSV and other delimited text (`,` `;` or tab): a header row that names the columns, one row per sample.

Columns are found by channel name, alias or --channel pick (a unit may follow in brackets: `ax (mg)`);
other columns are ignored, and so are lines starting with `#`. A file separated by `;` or tabs may
write decimal commas (`9,81`, as European spreadsheets and phone apps do): they are read as points. Time is a column whose name says so
(tinyml.timestamps: `timestamp` in ms as Edge Impulse writes it, `time_s`, `t_us`, ISO date-times...).
An empty cell or NaN is a missing value: in a required channel its row is left out and interpolated like a
row the logger never wrote (one notice; a gap longer than [signal] max_gap_s is cut or refused), in an optional
one it stays NaN (tinyml.recording).
A table without a heading row takes its heading from the last comment line above its data with as many
cells (`#timestamp(ns),x,y,z(m/s^2)`), else its columns are named by position (`--channel ax=1`); a one-column
log is an app's one channel; a table with as many columns as the app has channels, once its time and clock columns
(epoch, seconds elapsed) are left out, gives them in order, with a notice (its time from a time column or --rate).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np

from ..errors import TinymlError, notice, option
from ..timestamps import (DATE_NAMES, SECONDS_PER, UNIX_SECONDS, day_first_of, find_time_column, is_clock_time,
                          is_datetime, time_column, to_seconds)
from . import FileSignal, ReadSpec, channel_options, column_name, decode_text, declared_unit, head_text, is_number, parse_numbers

DELIMITERS = (",", ";", "\t")
NO_HEADING = "without a heading row"  # in the refusal of a headless table; a caller that knows the columns retries


def claim(path: Path, head: bytes) -> int:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return 30
    text = head_text(head)
    if text is None:
        return 0
    # the first line of a table: cells (a heading, or numbers), or one number (a one-column log), past a marker
    # line or two (MobiFall's `@DATA`)
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")][:3]
    if not any(any(d in ln for d in DELIMITERS) or is_number(ln.strip()) for ln in lines):
        return 0
    return 20 if suffix == ".txt" else 5  # any other text table: the reader of last resort


def read(path: Path, spec: ReadSpec) -> FileSignal:
    text = decode_text(path.read_bytes(), path, "text CSV")
    all_lines = text.splitlines()
    numbered = [(i + 1, ln) for i, ln in enumerate(all_lines) if ln.strip() and not ln.startswith("#")]
    if not numbered:
        raise TinymlError(f"{path}: empty CSV")
    delim, start = _layout([ln for _, ln in numbered[:SAMPLE_LINES]])
    skipped = numbered[0][1].strip()
    comments = [ln for ln in all_lines[:numbered[start][0] - 1] if ln.startswith("#")]  # above the heading
    numbered = _without_line_ends(numbered[start:], delim)
    rows = list(csv.reader((ln for _, ln in numbered), delimiter=delim))
    lines = [n for n, _ in numbered]
    header = [_unquoted(h.strip()) for h in rows[0]]
    body = rows[1:]
    heading_of_numbers = _is_heading_of_numbers(rows)
    if heading_of_numbers:
        notice(path, f"first line {','.join(rows[0])[:40]!r} read as the heading: the columns are named by numbers")
    headerless = _is_data_row(header) and not heading_of_numbers  # the table starts with its data
    if start:
        notice(path, f"{start} line{'s' if start > 1 else ''} before the {'data' if headerless else 'heading'} "
                     f"skipped ({skipped[:40]!r}...)")
    if heading_of_numbers and not spec.picks:
        _refuse_one_example_per_row(len(rows[0]), spec, path)
    if headerless:
        header, body, lines = _headerless(rows, lines, comments, delim, spec, path)
    if body and _is_group_heading(header, body[0]) and not _is_units_row(body[0], header):
        # groups over columns (UP-Fall: BeltAccelerometer / x-axis (g))
        header = _joined_heading(header, body[0])
        body, lines = body[1:], lines[:1] + lines[2:]
    if body and _is_units_row(body[0], header):  # a row of units under the heading (loggers, lab software)
        units = [_unquoted(u.strip()) for u in body[0]]
        header = [f"{h} ({u})" if u and not column_name(h)[1] else h for h, u in zip(header, units)]
        body, lines = body[1:], lines[:1] + lines[2:]
    found = spec.match(header, path)
    t = find_time_column(header, skip=list(found.values()))
    if delim != ",":
        _decimal_commas(body, [*found.values(), *([t] if t is not None else [])], path)
    cols = {ch: _numbers(body, i, header[i], lines, path) for ch, i in found.items()}
    fs = FileSignal(cols, units={ch: declared_unit(header[i], spec, ch) for ch, i in found.items()},
                    names={ch: header[i] for ch, i in found.items()}, lines=np.asarray(lines[1:len(body) + 1]))
    if t is not None and not time_column(header[t])[0]:
        notice(path, f"time read from column {header[t]!r} (no column is named time or timestamp)")
    if t is not None and spec.rate is None and body:
        cells = [_unquoted(c.strip()) for c in _cells(body, t, header[t], lines, path)]  # PhysioNet: '0:00.003'
        d = next((i for i, h in enumerate(header) if h.strip().lower() in DATE_NAMES and i != t), None)
        dates = _cells(body, d, header[d], lines, path) if d is not None else None
        fs.times, fs.time_origin, fs.time_note = to_seconds(cells, header[t], spec, path, dates,
                                                                 lambda k: f"line {lines[k + 1]}")
    elif t is not None:
        fs.time_note = f"time column {header[t]!r}"  # not read: the user's --rate decides
    return fs


SAMPLE_LINES = 50  # lines that decide the separator and where the heading is


_WHOLE = re.compile(r"^[+-]?\d+$")


def _is_heading_of_numbers(rows: list[list[str]]) -> bool:
    """A first row of numbers that names columns: an empty first cell over a filled one (pandas' to_csv writes
    `,0,1` over its index), or distinct whole numbers (`1,2`; a first sample `0,0,1` is data) over rows that are
    not all whole numbers."""
    if len(rows) < 2 or not rows[0]:
        return False
    first = [c.strip() for c in rows[0]]
    if not first[0] and any(first[1:]) and rows[1] and rows[1][0].strip():
        return True
    below = [c.strip() for r in rows[1:SAMPLE_LINES] for c in r if c.strip()]
    return (all(_WHOLE.match(c) for c in first) and len(set(first)) == len(first)
            and any(not _WHOLE.match(c) for c in below))


WIDE = 16  # more columns than this, and than WIDE_PER_CHANNEL per channel, and none named: examples, not channels
WIDE_PER_CHANNEL = 8


def _refuse_one_example_per_row(width: int, spec: ReadSpec, path: Path) -> None:
    """A table of many more columns than the app has channels and no names for them is a data set's one
    example per row (Kaggle's MIT-BIH heartbeats: 187 samples and a label a row): read by column position,
    each column would be one instant of every example. Refused, saying what predict reads instead."""
    if width <= WIDE or width <= WIDE_PER_CHANNEL * len(spec.all_channels) + 1:
        return
    rate = option("rate", "HZ")
    raise TinymlError(f"{path}: {width} columns with no names: this looks like one example per row (a data set's "
                      "windows or beats, its samples across the row); predict reads a recording over time, one "
                      f"column per channel ({', '.join(spec.channels)}) and one row per sample: to score an "
                      f"example, write its row as a column (one value per line) and give its rate ({rate}); "
                      f"a recording of many channels: pick the app's by number "
                      f"({channel_options([f'{ch}=N' for ch in spec.channels])})")


def _layout(sample: list[str]) -> tuple[str, int]:
    """(separator, index of the heading line): the separator that splits most lines into one same number
    of cells (more than one), and the first line with that many cells that is not numbers (lines above it
    are a preamble: `Device: ...`, `Sample rate: 50Hz`). Between separators that split as well, the one whose
    cells are numbers (`0,02;9,81` is two decimal-comma numbers, not `0`, `02;9`, `81`). A one-column file:
    ",", 0."""
    best = (0, 0.0, 0, ",", 1)  # (lines with the modal count, share of number cells, -preference, separator, count)
    for pref, d in enumerate(DELIMITERS):
        rows = list(csv.reader(sample, delimiter=d))
        counts = [len(r) for r in rows]
        multi = [c for c in counts if c > 1]
        if not multi:
            continue
        mode = max(set(multi), key=lambda c: (multi.count(c), c))
        cells = [c.strip() for r in rows if len(r) == mode for c in r if c.strip()]
        numbers = sum(is_number(c) for c in cells) / max(len(cells), 1)
        best = max(best, (counts.count(mode), numbers, -pref, d, mode))
    *_, delim, mode = best
    if mode == 1:
        return delim, 0
    rows = list(csv.reader(sample, delimiter=delim))
    start = next(i for i, r in enumerate(rows) if len(r) == mode)
    numbers = [c for c in rows[start] if c.strip() and is_number(c.strip())]
    if start and len(numbers) * 2 > len([c for c in rows[start] if c.strip()]) and len(rows[start - 1]) > 1:
        start -= 1  # that is data: the heading is the line above, with another number of cells (a trailing `,`);
        # a line of one cell is a marker (MobiFall's `@DATA`), not the heading of a table of several
    return delim, start


def _without_line_ends(numbered: list[tuple[int, str]], delim: str) -> list[tuple[int, str]]:
    """Lines without the `;` that ends every data line of some tables (SisFall's trials, WISDM) where `;` does not
    separate cells: else the last column reads `-134;`, not a number."""
    if delim == ";" or not all(ln.rstrip().endswith(";") for _, ln in numbered[1:] or numbered):
        return numbered
    return [(n, ln.rstrip()[:-1] if ln.rstrip().endswith(";") else ln) for n, ln in numbered]


def _is_data_row(cells: list[str]) -> bool:
    """Numbers, and perhaps a date-time (an Axivity AX3 export's `2014-05-07 09:00:00.000,-0.0625,...`) or a time of
    day (a phone logger's `00:22:45.700000,9.75,...`)."""
    filled = [c.strip() for c in cells if c.strip()]
    return any(is_number(c) for c in filled) and all(is_number(c) or _is_time_cell(c) for c in filled)


def _is_time_cell(cell: str) -> bool:
    return is_datetime(cell) or is_clock_time(cell)


def _headerless(rows: list[list[str]], lines: list[int], comments: list[str], delim: str, spec: ReadSpec,
                path: Path) -> tuple[list[str], list[list[str]], list[int]]:
    """(heading, rows, line numbers) of a table whose first row is data: its heading from the last comment line
    above it with as many cells that names columns (MobiFall's `#timestamp(ns),x,y,z(m/s^2)`), else
    _numbered_columns (also when every --channel pick is a column number: those name no comment's column)."""
    width = len(rows[0])
    by_number = bool(spec.picks) and all(p.strip().isdigit() for p in spec.picks.values())
    for line in reversed(comments if not by_number else []):
        cells = [c.strip() for c in next(csv.reader([line.lstrip("#")], delimiter=delim))]
        if len(cells) == width and _names_columns(cells, spec):
            return cells, rows, [0, *lines]
    return _numbered_columns(rows, spec, path), rows, [0, *lines]


_NAME_LIKE = re.compile(r"^[A-Za-z_][\w.\-]{0,31}$")  # `x`, `accX`, `timestamp`, `acc.x`, `z-axis`


def _names_columns(cells: list[str], spec: ReadSpec) -> bool:
    """Comment cells that name columns, not a remark split at its commas (`# recorded by phone, model A, 50 Hz`):
    none a number, and one of them the app's channel name or alias or a time name, or each a short identifier
    (`x`, `accX`) or a name with its unit in brackets (`Acc X (g)`)."""
    filled = [c for c in cells if c]
    if not filled or any(is_number(c) for c in filled):
        return False
    known = {n.lower() for ch in spec.all_channels for n in spec.names_for(ch)}
    if any(column_name(c)[0].lower() in known or time_column(c)[0] for c in filled):
        return True
    return all(_NAME_LIKE.match(column_name(c)[0]) or column_name(c)[1] for c in filled)


def _numbered_columns(rows: list[list[str]], spec: ReadSpec, path: Path) -> list[str]:
    """Names for the columns of a file without a heading row (a logger's or a data set's bare numbers, a
    SmartFallMM MetaMotion export): their numbers from 1, which --channel picks (`ax=1`); a column of date-times
    or times of day is `time`. Without picks, the app's channels are named for the user when that is plain, with
    a notice naming the columns read: the app's channel for the one column of a one-column file; the app's
    required channels, in order, for the columns left once the time and the clock columns (an epoch, the seconds
    elapsed by the file's time, a sample number: _clock_columns) are left out, when exactly as many are left and
    the file has a time column or --rate gives the rate (an app's optional channels are then not read: no column is left for them; pick one
    to read it). Anything else is refused: which column is which cannot be told (the refusal's example picks
    leave out the clock columns, and columns that only rise where others are left: _likely_channels)."""
    first = rows[0]
    names = ["time" if _is_time_cell(c.strip()) else str(i + 1) for i, c in enumerate(first)]
    if spec.picks:
        return names
    if len(first) == 1 and len(spec.all_channels) == 1:
        notice(path, f"no heading row: the file's one column read as {spec.channels[0]}")
        return [spec.channels[0]]
    _refuse_one_example_per_row(len(first), spec, path)  # no names here nor in a comment above
    numbered = [n for n in names if n != "time"]
    rising = _never_going_down(rows)
    clocks = _clock_columns(rows, names, spec.rate, rising)
    channels_left = [n for n in numbered if int(n) - 1 not in clocks]  # a clock or a counter is no channel
    timed = "time" in names or spec.rate is not None
    if len(channels_left) == len(spec.channels) and timed:
        return _named_in_order(names, channels_left, spec, path)
    if len(channels_left) >= len(spec.channels):
        numbered = _likely_channels(channels_left, rising, len(spec.channels))
    picks = ([f"{spec.channels[0]}={numbered[-1]}"] if len(spec.channels) == 1
             else [f"{ch}={n}" for ch, n in zip(spec.channels, numbered)])
    line = ",".join(c.strip() for c in first)
    rate = "" if "time" in names else f"; without a time column give the rate ({option('rate', 'HZ')})"
    raise TinymlError(f"{path}: CSV {NO_HEADING} (its first line, {line[:48]!r}, is numbers): pick each "
                      f"channel's column by its number ({channel_options(picks)}) or add a "
                      f"heading that names the columns ({', '.join(spec.channels)}; time_s for the time){rate}")


def _likely_channels(columns: list[str], rising: dict[int, np.ndarray], n: int) -> list[str]:
    """The columns (numbers) a refusal suggests picking: those that go down somewhere (or stay flat) when there
    are `n` of them. One that rises through the file is a counter or a clock no time span confirms (an Arduino's
    micros() in a table without --rate): no likely channel, though not left out when reading."""
    def only_rises(c: str) -> bool:
        x = rising.get(int(c) - 1)
        return x is not None and x[-1] > x[0]

    signals = [c for c in columns if not only_rises(c)]
    return signals if len(signals) >= n else columns


def _named_in_order(names: list[str], columns: list[str], spec: ReadSpec, path: Path) -> list[str]:
    """`names` with each of `columns` (numbers) named after the app's required channel in its place, said in a
    notice: the user sees which columns were read and how to pick others."""
    as_channel = dict(zip(columns, spec.channels))
    notice(path, f"no heading row: column{'s' if len(columns) > 1 else ''} {', '.join(columns)} read as "
                 f"{', '.join(spec.channels)} (pick others with {option('channel', spec.channels[0] + '=N')})")
    return [as_channel.get(n, n) for n in names]


EPOCH_S_FROM = 1e9  # a Unix time in s (2001 on), ms or us
CLOCK_RISES = 0.9  # the share of rows a clock column rises at
CLOCK_KEEPS_TIME = 0.05  # how near a clock's rise comes to the time the file spans (rounding, a nominal --rate)


def _clock_columns(rows: list[list[str]], names: list[str], rate: float | None,
                   rising: dict[int, np.ndarray]) -> set[int]:
    """The columns (from 0) whose numbers never go down from one row to the next and are a clock: an epoch, however
    it steps (stamped in bursts; rounded by a spreadsheet to one value throughout, `1658430000000` on every row of
    some MetaMotion files); a sample number (rising by 1 at nearly every row); the seconds (ms, us, ns) elapsed,
    rising at nearly every row by as much as the file's time column, epoch or --rate says it spans (a SmartFallMM
    MetaMotion export: epoch, date-time, elapsed from 17.72 s, x, y, z). A sensor's signal that rises at every row
    (soil wetting) counts no time: a channel still, and so is one that only creeps up or an axis flat at rest.
    rising: the table's columns that never go down (_never_going_down)."""
    epochs = {j for j, x in rising.items() if abs(x[0]) >= EPOCH_S_FROM}
    spans = _time_spans(rows, names, rate) + [_epoch_seconds(rising[j]) for j in epochs]
    out = set(epochs)
    for j, x in rising.items():
        steps = np.diff(x)
        counts_rows = np.mean(steps == 1) >= CLOCK_RISES
        if np.mean(steps > 0) >= CLOCK_RISES and (counts_rows or _keeps_time(x[-1] - x[0], spans)):
            out.add(j)
    return out


def _never_going_down(rows: list[list[str]]) -> dict[int, np.ndarray]:
    """The numeric columns (from 0) of at least 3 numbers that never go down from one row to the next: their numbers."""
    out = {}
    for j in range(len(rows[0])):
        try:
            if np.any(np.diff(_column_numbers(rows[:256], j)) < 0):  # goes down near the top: no clock (skip the rest)
                continue
            x = _column_numbers(rows, j)
        except ValueError:
            continue
        if len(x) >= 3 and np.all(np.diff(x) >= 0):
            out[j] = x
    return out


def _column_numbers(rows: list[list[str]], j: int) -> np.ndarray:
    """Column j's filled cells as numbers (a decimal comma read as a point); ValueError at a cell that is none."""
    return np.asarray([float(r[j].replace(",", ".")) for r in rows if j < len(r) and r[j].strip()], np.float64)


def _time_spans(rows: list[list[str]], names: list[str], rate: float | None) -> list[float]:
    """The seconds a headless table spans by its time column (its first and last cells) and by --rate."""
    spans = [(len(rows) - 1) / rate] if rate else []
    if "time" in names:
        j = names.index("time")
        cells = [r[j].strip() for r in rows if j < len(r) and r[j].strip()]
        try:  # slashed dates in the column's own order (none told: day first, as read() reads and says them)
            day_first = day_first_of(cells) is not False
            spans.append(float(to_seconds([cells[0], cells[-1]], "time", None, "", day_first=day_first)[0][-1]))
        except TinymlError:  # a time cell read() names, by its line
            pass
    return spans


def _epoch_seconds(x: np.ndarray) -> float:
    """An epoch column's rise in seconds: its unit (s, ms, us, ns) the one that makes its first value a Unix time."""
    return (x[-1] - x[0]) * next((per for per in SECONDS_PER.values() if abs(x[0]) * per <= UNIX_SECONDS[1]), 1e-9)


def _keeps_time(rise: float, spans: list[float]) -> bool:
    """A column's rise over the file is one of `spans` in s, ms, us or ns."""
    return any(abs(rise * per / span - 1) <= CLOCK_KEEPS_TIME
               for span in spans if span > 0 for per in SECONDS_PER.values())


def _is_group_heading(header: list[str], below: list[str]) -> bool:
    """A heading of groups, each over the columns up to the next (blank cells: a spreadsheet's merged cells),
    above a heading of the columns: the row below holds words, none a number, in every column a group covers.
    A group spans: a blank cell after a named one (blanks only before the first name are pandas' index column)."""
    named = [j for j, h in enumerate(header) if h.strip()]
    if not named or not any(not h.strip() for h in header[named[0]:]) or not any(c.strip() for c in below):
        return False
    covered = range(named[0], len(header))
    return (all(j < len(below) and below[j].strip() for j in covered)
            and not any(is_number(c.strip()) for c in below if c.strip()))


def _joined_heading(header: list[str], below: list[str]) -> list[str]:
    """Each column's name: its group, then its own (`BeltAccelerometer x-axis (g)`)."""
    out, group = [], ""
    for j, sub in enumerate(below):
        group = header[j].strip() if j < len(header) and header[j].strip() else group
        out.append(f"{group} {_unquoted(sub.strip())}".strip())
    return out


def _is_units_row(row: list[str], header: list[str]) -> bool:
    """Every cell under a named column a unit (`s`, `g`, `m/s^2`, `mV`) or empty, and at least one unit."""
    from ..timestamps import CLOCK_LAYOUT, UNIT_WORDS
    from ..units import lookup

    cells = [_unquoted(c.strip()) for c, h in zip(row, header) if h]  # PhysioNet quotes them: 'mV'
    return (any(cells) and all(not c or lookup(c) is not None or c.lower() in UNIT_WORDS or CLOCK_LAYOUT.match(c)
                               for c in cells)
            and not any(is_number(c) for c in cells))


def _unquoted(cell: str) -> str:
    """A heading in single quotes (`'MLII'`, as some MIT-BIH CSV exports write them) without them."""
    return cell[1:-1].strip() if len(cell) >= 2 and cell[0] == cell[-1] == "'" else cell


_DECIMAL_COMMA = re.compile(r"^\s*[+-]?\d*,\d+(?:[eE][+-]?\d+)?\s*$")


def _decimal_commas(body: list[list[str]], columns: list[int], path: Path) -> None:
    """Numbers written with a decimal comma (`-0,034`, `9,81E-1`) in `columns`, as points, in place."""
    uses = [j for j in columns if any(j < len(r) and _DECIMAL_COMMA.match(r[j]) for r in body)]
    if not uses:
        return
    for r in body:
        for j in uses:
            if j < len(r):
                r[j] = r[j].replace(",", ".")
    notice(path, "decimal commas read as decimal points")


def _cells(body: list[list[str]], j: int, name: str, lines: list[int], path: Path) -> list[str]:
    try:
        return [r[j] for r in body]
    except IndexError:
        k = next(k for k, r in enumerate(body) if len(r) <= j)
        raise TinymlError(f"{path}: line {lines[k + 1]}: no value in column {name!r}") from None


def _numbers(body: list[list[str]], j: int, name: str, lines: list[int], path: Path) -> np.ndarray:
    return parse_numbers(_cells(body, j, name, lines, path), path, name, lambda k: lines[k + 1])
