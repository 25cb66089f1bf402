"""CSV and other delimited text (`,` `;` or tab): a header row that names the columns, one row per sample.

Columns are found by channel name, alias or --channel pick (a unit may follow in brackets: `ax (mg)`);
other columns are ignored, and so are lines starting with `#`. Time is a column whose name says so
(tinyml.timestamps: `timestamp` in ms as Edge Impulse writes it, `time_s`, `t_us`, ISO date-times...).
An empty cell or NaN is a missing value (refused in a required channel, kept as NaN in an optional one).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ..errors import TinymlError
from ..timestamps import find_time_column, to_seconds
from . import FileSignal, ReadSpec, column_name, parse_numbers

DELIMITERS = (",", ";", "\t")


def claim(path: Path, head: bytes) -> int:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return 30
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError:
        return 0
    first = next((ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")), "")
    if not any(d in first for d in DELIMITERS):
        return 0
    return 20 if suffix == ".txt" else 5  # any other text table: the reader of last resort


def read(path: Path, spec: ReadSpec) -> FileSignal:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise TinymlError(f"{path}: not a UTF-8 text CSV") from None
    numbered = [(i + 1, ln) for i, ln in enumerate(text.splitlines()) if ln.strip() and not ln.startswith("#")]
    if not numbered:
        raise TinymlError(f"{path}: empty CSV")
    head_line = numbered[0][1]
    delim = max(DELIMITERS, key=head_line.count)
    rows = list(csv.reader((ln for _, ln in numbered), delimiter=delim))
    lines = [n for n, _ in numbered]
    header = [h.strip() for h in rows[0]]
    body = rows[1:]
    found = spec.match(header, path)
    cols = {ch: _numbers(body, i, header[i], lines, path) for ch, i in found.items()}
    fs = FileSignal(cols, units={ch: column_name(header[i])[1] for ch, i in found.items()},
                    names={ch: header[i] for ch, i in found.items()})
    t = find_time_column(header, skip=list(found.values()))
    if t is not None and spec.rate is None and body:
        cells = _cells(body, t, header[t], lines, path)
        d = next((i for i, h in enumerate(header) if h.strip().lower() == "date" and i != t), None)
        dates = _cells(body, d, header[d], lines, path) if d is not None else None
        fs.times, fs.time_origin, fs.time_note = to_seconds(cells, header[t], spec, path, dates)
    elif t is not None:
        fs.time_note = f"time column {header[t]!r}"  # not read: the user's --rate decides
    return fs


def _cells(body: list[list[str]], j: int, name: str, lines: list[int], path: Path) -> list[str]:
    try:
        return [r[j] for r in body]
    except IndexError:
        k = next(k for k, r in enumerate(body) if len(r) <= j)
        raise TinymlError(f"{path}: line {lines[k + 1]}: no value in column {name!r}") from None


def _numbers(body: list[list[str]], j: int, name: str, lines: list[int], path: Path) -> np.ndarray:
    return parse_numbers(_cells(body, j, name, lines, path), path, name, lambda k: lines[k + 1])
