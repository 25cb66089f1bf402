"""Apple Health ECG exports (an Apple Watch's single-lead ECG, "Export as CSV" in the Health app): key-value
lines, then one sample per line.

    Name,Jane Doe
    Recorded Date,2026-12-05 14:28:08 +0100
    Classification,Sinus Rhythm
    Device,"Watch6,1"
    Sample Rate,512 hertz
    ,
    Lead,Lead I
    Unit,µV
    ,
    -12.345
    -13.01
    ...
The rate and the unit are read from the file; the samples are the app's one channel (the file has one lead).
The key words are in the phone's language: a German export writes `Aufzeichnungsdatum`, `Klassifizierung`,
`Messrate,511,422 Hertz` (a decimal comma, unquoted, and a no-break space), `Ableitung`, `Einheit`, and the
samples with decimal commas. Other languages are not listed (_KEYS): their words were not seen in an export.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from ..errors import TinymlError
from . import FileSignal, ReadSpec, decode_text, head_text, is_number, parse_numbers, the_one_channel

# The German export's key words (as observed in real exports; Geburtsdatum and Probenrate as well, the words one
# would expect) -> the English ones the reader looks up.
_KEYS = {"geburtstag": "date of birth", "geburtsdatum": "date of birth", "aufzeichnungsdatum": "recorded date",
         "klassifizierung": "classification", "symptome": "symptoms", "softwareversion": "software version",
         "gerät": "device", "messrate": "sample rate", "probenrate": "sample rate", "ableitung": "lead",
         "einheit": "unit"}
_RATE = re.compile(r"^\s*([0-9]+(?:[.,][0-9]+)?)\s*(hertz|hz)?\s*$", re.IGNORECASE)


def claim(path: Path, head: bytes) -> int:
    text = head_text(head) or ""
    keys = {_key(ln.split(",", 1)[0]) for ln in text.splitlines()[:20]}
    return 80 if {"lead", "unit"} <= keys and keys & {"sample rate", "recorded date", "classification"} else 0


def read(path: Path, spec: ReadSpec) -> FileSignal:
    rows = list(csv.reader(decode_text(path.read_bytes(), path, "Apple Health export").splitlines()))
    meta: dict[str, str] = {}
    first = None
    for i, r in enumerate(rows):
        cells = [c.strip() for c in r]
        if len(cells) >= 2 and cells[0] and not is_number(cells[0]):
            meta[_key(cells[0])] = ",".join(cells[1:]).strip(",")  # an unquoted decimal comma split the value
        elif cells and is_number(cells[0]):
            first = i
            break
    m = _RATE.match(meta.get("sample rate", ""))
    if not m:
        raise TinymlError(f"{path}: Apple Health export without a 'Sample Rate' line in hertz")
    if first is None:
        raise TinymlError(f"{path}: Apple Health export with no samples after its header lines")
    cells = [_sample(r, path, first + k + 1) for k, r in enumerate(rows[first:])]
    while cells and not cells[-1]:
        cells.pop()  # the blank line at the end
    ch = the_one_channel(spec, path, "an Apple Health ECG export holds one lead")
    values = parse_numbers(cells, path, meta.get("lead", ch), lambda k: first + k + 1)
    return FileSignal({ch: values}, rate=float(m.group(1).replace(",", ".")), units={ch: meta.get("unit", "")},
                      names={ch: meta.get("lead", ch)})


def _key(word: str) -> str:
    """A header line's key word, in English."""
    word = word.strip().strip('"').lower()
    return _KEYS.get(word, word)


def _sample(row: list[str], path: Path, line: int) -> str:
    """One sample line's number. A decimal-comma locale writes `-12,345` unquoted, which CSV splits in two:
    joined again (the file has one lead, so two cells can only be that); more cells are refused."""
    cells = [c.strip() for c in row]
    while cells and not cells[-1]:
        cells.pop()
    if len(cells) == 2 and re.fullmatch(r"[+-]?\d+", cells[0]) and cells[1].isdigit():
        return f"{cells[0]}.{cells[1]}"
    if len(cells) > 1:
        raise TinymlError(f"{path}: line {line}: {','.join(row)!r} is not one sample (an ECG export has one per line)")
    return cells[0].replace(",", ".") if cells else ""
