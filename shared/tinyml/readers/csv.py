"""CSV and other delimited text (`,` `;` or tab): a header row that names the columns, one row per sample.

Columns are found by channel name, alias or --channel pick (a unit may follow in brackets: `ax (mg)`);
other columns are ignored, and so are lines starting with `#`. A file separated by `;` or tabs may
write decimal commas (`9,81`, as European spreadsheets and phone apps do): they are read as points. Time is a column whose name says so
(tinyml.timestamps: `timestamp` in ms as Edge Impulse writes it, `time_s`, `t_us`, ISO date-times...).
An empty cell or NaN is a missing value (refused in a required channel, kept as NaN in an optional one).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np

from ..errors import TinymlError, notice, option
from ..timestamps import DATE_NAMES, find_time_column, time_column, to_seconds
from . import FileSignal, ReadSpec, column_name, decode_text, declared_unit, head_text, is_number, parse_numbers

DELIMITERS = (",", ";", "\t")


def claim(path: Path, head: bytes) -> int:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return 30
    text = head_text(head)
    if text is None:
        return 0
    first = next((ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")), "")
    if not any(d in first for d in DELIMITERS) and not is_number(first.strip()):
        return 0  # neither a table nor a column of bare numbers (one sample a line)
    return 20 if suffix == ".txt" else 5  # any other text table: the reader of last resort


def read(path: Path, spec: ReadSpec) -> FileSignal:
    text = decode_text(path.read_bytes(), path, "text CSV")
    numbered = [(i + 1, ln) for i, ln in enumerate(text.splitlines()) if ln.strip() and not ln.startswith("#")]
    if not numbered:
        raise TinymlError(f"{path}: empty CSV")
    delim, start = _layout([ln for _, ln in numbered[:SAMPLE_LINES]])
    if start:
        notice(path, f"{start} line{'s' if start > 1 else ''} before the heading skipped "
                     f"({numbered[0][1].strip()[:40]!r}...)")
    numbered = numbered[start:]
    rows = list(csv.reader((ln for _, ln in numbered), delimiter=delim))
    lines = [n for n, _ in numbered]
    heading_of_numbers = _is_heading_of_numbers(rows)
    if heading_of_numbers:
        notice(path, f"first line {','.join(rows[0])[:40]!r} read as the heading: the columns are named by numbers")
    if (all(is_number(c.strip()) for c in rows[0] if c.strip()) and any(c.strip() for c in rows[0])
            and not heading_of_numbers):
        header, body = _numbered_columns(rows[0], spec, path), rows  # no heading: every line is data
        lines = lines[:1] + lines  # body row k is on lines[k + 1], as below a heading
    else:
        header, body = [_unquoted(h.strip()) for h in rows[0]], rows[1:]
    if body and _is_units_row(body[0], header):  # a row of units under the heading (loggers, lab software)
        header = [f"{h} ({u.strip()})" if u.strip() and not column_name(h)[1] else h for h, u in zip(header, body[0])]
        body, lines = body[1:], lines[:1] + lines[2:]
    found = spec.match(header, path)
    t = find_time_column(header, skip=list(found.values()))
    if delim != ",":
        _decimal_commas(body, [*found.values(), *([t] if t is not None else [])], path)
    cols = {ch: _numbers(body, i, header[i], lines, path) for ch, i in found.items()}
    fs = FileSignal(cols, units={ch: declared_unit(header[i], spec, ch) for ch, i in found.items()},
                    names={ch: header[i] for ch, i in found.items()})
    if t is not None and not time_column(header[t])[0]:
        notice(path, f"time read from column {header[t]!r} (no column is named time or timestamp)")
    if t is not None and spec.rate is None and body:
        cells = _cells(body, t, header[t], lines, path)
        d = next((i for i, h in enumerate(header) if h.strip().lower() in DATE_NAMES and i != t), None)
        dates = _cells(body, d, header[d], lines, path) if d is not None else None
        fs.times, fs.time_origin, fs.time_note = to_seconds(cells, header[t], spec, path, dates,
                                                                 lambda k: f"line {lines[k + 1]}")
    elif t is not None:
        fs.time_note = f"time column {header[t]!r}"  # not read: the user's --rate decides
    return fs


SAMPLE_LINES = 50  # lines that decide the separator and where the heading is


def _numbered_columns(first: list[str], spec: ReadSpec, path: Path) -> list[str]:
    """Names for the columns of a file without a heading row (a logger's or a data set's bare numbers): their
    numbers from 1, which --channel picks (`accel=5`); the app's channel for the one column of a one-column
    file, with a notice. Anything else is refused: which column is which cannot be told."""
    if spec.picks:
        return [str(i + 1) for i in range(len(first))]
    if len(first) == 1 and len(spec.all_channels) == 1:
        notice(path, f"no heading row: the file's one column read as {spec.channels[0]}")
        return [spec.channels[0]]
    line = ",".join(c.strip() for c in first)
    raise TinymlError(f"{path}: CSV without a heading row (its first line, {line[:48]!r}, is numbers): pick each "
                      f"channel's column by its number ({option('channel', spec.channels[0] + '=' + str(len(first)))}"
                      f") or add a heading that names the columns ({', '.join(spec.channels)}; time_s for the time)")


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


def _layout(sample: list[str]) -> tuple[str, int]:
    """(separator, index of the heading line): the separator that splits most lines into one same number
    of cells (more than one), and the first line with that many cells that is not numbers (lines above it
    are a preamble: `Device: ...`, `Sample rate: 50Hz`). A one-column file: ",", 0."""
    best = (0, 0, ",", 1)  # (lines with the modal count, -preference, separator, modal count)
    for pref, d in enumerate(DELIMITERS):
        counts = [len(r) for r in csv.reader(sample, delimiter=d)]
        multi = [c for c in counts if c > 1]
        if not multi:
            continue
        mode = max(set(multi), key=lambda c: (multi.count(c), c))
        best = max(best, (counts.count(mode), -pref, d, mode))
    _, _, delim, mode = best
    if mode == 1:
        return delim, 0
    rows = list(csv.reader(sample, delimiter=delim))
    start = next(i for i, r in enumerate(rows) if len(r) == mode)
    numbers = [c for c in rows[start] if c.strip() and is_number(c.strip())]
    if start and len(numbers) * 2 > len([c for c in rows[start] if c.strip()]):
        start -= 1  # that is data: the heading is the line above, with another number of cells (a trailing `,`)
    return delim, start


def _is_units_row(row: list[str], header: list[str]) -> bool:
    """Every cell under a named column a unit (`s`, `g`, `m/s^2`, `mV`) or empty, and at least one unit."""
    from ..timestamps import UNIT_WORDS
    from ..units import lookup

    cells = [c.strip() for c, h in zip(row, header) if h]
    return (any(cells) and all(not c or lookup(c) is not None or c.lower() in UNIT_WORDS for c in cells)
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
