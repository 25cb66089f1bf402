"""LabVIEW measurement files (`.lvm`, what NI DAQ software and LabVIEW's Write To Measurement File write).

    LabVIEW Measurement
    Writer_Version  2  ... Separator  Tab ... Decimal_Separator  . ... X_Columns  One ...
    ***End_of_Header***                                           the file's header
    Channels  1 ... Samples  25600 ... Delta_X  3.906250E-5 ... Y_Unit_Label  g ...
    ***End_of_Header***                                           the first segment's header
    X_Value  Acceleration  Comment                                 its heading: x column(s), channels, comment
    0.000000  0.012345
Each header line is a key and one value per channel. The rate is 1 / Delta_X (seconds between samples) of
the channel read; a `Y_Unit_Label` is the channel's unit. X_Columns `One` (one time column first), `Multi`
(one before each channel) or `No` (none). A file of several segments: the first is read, with a notice.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import TinymlError, notice
from . import FileSignal, ReadSpec, decode_text, head_text, is_number, parse_numbers

MAGIC = "LabVIEW Measurement"
END = "***End_of_Header***"
SEPARATORS = {"tab": "\t", "comma": ",", "semicolon": ";", "space": " "}


def claim(path: Path, head: bytes) -> int:
    return 100 if (head_text(head) or "").lstrip().startswith(MAGIC) else 0


def _header(lines: list[str], sep: str) -> dict[str, list[str]]:
    """key -> its values (one per channel) from a header block's lines."""
    out = {}
    for ln in lines:
        cells = ln.split(sep)
        if cells and cells[0].strip():
            out[cells[0].strip()] = [c.strip() for c in cells[1:]]
    return out


def read(path: Path, spec: ReadSpec) -> FileSignal:
    lines = decode_text(path.read_bytes(), path, "LabVIEW measurement file").splitlines()
    ends = [i for i, ln in enumerate(lines) if ln.strip().startswith(END)]
    if len(ends) < 2:
        raise TinymlError(f"{path}: a LabVIEW measurement file has a file header and a segment header, each ending "
                          f"in {END}; this one has {len(ends)}")
    top = _header(lines[1:ends[0]], "\t")  # read with a tab to find the separator, again with another one
    sep = SEPARATORS.get(top.get("Separator", ["Tab"])[0].lower(), "\t")
    if sep != "\t":
        top = _header(lines[1:ends[0]], sep)
    segment = _header(lines[ends[0] + 1:ends[1]], sep)
    x_columns = (top.get("X_Columns") or ["One"])[0].lower()
    if len(ends) > 2:
        notice(path, f"{len(ends) - 1} segments: the first is read")
    if len(lines) <= ends[1] + 1:
        raise TinymlError(f"{path}: a LabVIEW measurement file with no data: nothing after its segment header")
    heading = [c.strip() for c in lines[ends[1] + 1].split(sep)]
    numbered = []  # (file line, cells) of the data rows, up to the next segment's header (`Channels ...`)
    for n, ln in enumerate(lines[ends[1] + 2:], ends[1] + 3):  # blank lines skipped, file lines kept
        if not ln.strip():
            continue
        cells = ln.split(sep)
        if not is_number(cells[0].strip().replace(",", ".")):
            if cells[0].strip().startswith(("Channels", "LabVIEW", END)):  # the next segment's header
                break
            raise TinymlError(f"{path}: line {n}: {cells[0].strip()!r} where the X value, a number, belongs")
        numbered.append((n, cells))
    body = [r for _, r in numbered]
    if (top.get("Decimal_Separator") or ["."])[0] == ",":
        body = [[c.replace(",", ".") for c in r] for r in body]
    # the channels' columns: after the one x column, or each after its own x column, or all of them; a blank or
    # Comment heading names no channel but keeps its place (Delta_X and Y_Unit_Label count every channel column)
    step = 2 if x_columns == "multi" else 1
    first = 0 if x_columns == "no" else 1
    channels = [(i, j) for i, j in enumerate(range(first, len(heading), step))
                if heading[j] and heading[j].lower() != "comment"]  # (place among channel columns, file column)
    matched = spec.match([heading[j] for _, j in channels], path, kind="LabVIEW file", what="channel")
    found = {ch: channels[k] for ch, k in matched.items()}
    line_of = lambda k: numbered[k][0]  # noqa: E731 (the file line of data row k, for messages)
    out = {ch: parse_numbers([r[j] if j < len(r) else "" for r in body], path, heading[j], line_of)
           for ch, (_, j) in found.items()}
    deltas = [_positive_number(v) for v in segment.get("Delta_X", [])]
    units = segment.get("Y_Unit_Label", [])
    rates = {ch: 1.0 / deltas[i] for ch, (i, _) in found.items() if i < len(deltas) and deltas[i]}
    if len(set(rates.values())) > 1:
        raise TinymlError(f"{path}: the channels read have different rates ({sorted(set(rates.values()))} Hz)")
    return FileSignal(out, rate=next(iter(rates.values()), None),
                      names={ch: heading[j] for ch, (_, j) in found.items()},
                      units={ch: units[i] if i < len(units) else "" for ch, (i, _) in found.items()})


def _positive_number(text: str) -> float | None:
    """A header value as a number above 0 (a decimal comma allowed); None for anything else."""
    try:
        x = float(text.replace(",", "."))
    except ValueError:
        return None
    return x if x > 0 and np.isfinite(x) else None
