"""Campbell Scientific TOA5 data files (`.dat`, what CR300/CR800/CR1000 loggers and LoggerNet write).

Four header lines, then one row per record:
    "TOA5","<station>","<model>","<serial>","<OS>","<program>","<signature>","<table>"
    "TIMESTAMP","RECORD","VWC_5cm_Avg","T_5cm_Avg","BulkEC_5cm_Avg",...      field names
    "TS","RN","m^3/m^3","Deg C","dS/m",...                                      units
    "","","Avg","Avg","Avg",...                                                 processing
    "2021-05-01 11:00:00",1,0.113,2.687,0.009,...
"NAN" is a missing value. A field's family is its name without the processing suffix and the sensor tag
(`VWC_5cm_Avg` -> VWC, tag 5cm; `EC_2` -> EC, tag 2): see readers/_logger.py for how channels are chosen.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np

from ..errors import TinymlError
from ..timestamps import to_seconds
from . import MISSING, FileSignal, ReadSpec, decode_text, parse_numbers
from ._logger import choose

_PROCESSING = re.compile(r"_(avg|smp|max|min|tot|std|med)$", re.IGNORECASE)
_TAG = re.compile(r"^(.*?)_(\d+(?:\.\d+)?\s*(?:mm|cm|m|in)?|[A-Za-z]?\d+)$", re.IGNORECASE)


def claim(path: Path, head: bytes) -> int:
    return 100 if head.lstrip(b"\xef\xbb\xbf").startswith(b'"TOA5"') else 0


def family_and_tag(field: str) -> tuple[str, str]:
    base = _PROCESSING.sub("", field.strip())
    m = _TAG.match(base)
    return (m.group(1), m.group(2).replace(" ", "").lower()) if m else (base, "")


def read(path: Path, spec: ReadSpec) -> FileSignal:
    text = decode_text(path.read_bytes(), path, "TOA5 file")
    rows = list(csv.reader(text.splitlines()))
    if len(rows) < 5 or not rows[0] or rows[0][0] != "TOA5":
        raise TinymlError(f"{path}: a TOA5 file has 4 header lines (TOA5 environment, field names, units, "
                          "processing) and then data")
    fields = [f.strip() for f in rows[1]]
    units = [u.strip() for u in rows[2]] + [""] * len(fields)
    if "TIMESTAMP" not in fields:
        raise TinymlError(f"{path}: TOA5 header has no TIMESTAMP field")
    ts = fields.index("TIMESTAMP")
    numbered = [(n, r) for n, r in enumerate(rows[4:], start=5) if r]  # (file line, its cells): blank lines skipped
    line_of = [n for n, _ in numbered]
    body = [r for _, r in numbered]
    fam_tag = [family_and_tag(f) for f in fields]
    data_cols = [i for i, f in enumerate(fields) if f not in ("TIMESTAMP", "RECORD")]
    families = [fam_tag[i][0] for i in data_cols]
    tags = [fam_tag[i][1] for i in data_cols]
    names = [fields[i] for i in data_cols]
    found = {ch: data_cols[k] for ch, k in choose(spec, families, tags, names, path, "TOA5 file").items()}
    cols = {ch: parse_numbers([r[j] if j < len(r) else "" for r in body], path, fields[j], lambda k: line_of[k],
                              MISSING | {"inf", "-inf"}) for ch, j in found.items()}
    # a record without a value for a required channel ("NAN": the sensor did not answer) is a missing sample:
    # the core interpolates over short gaps and refuses long ones
    ok = np.all([np.isfinite(cols[c]) for c in spec.channels if c in cols], axis=0)
    if not ok.any():
        raise TinymlError(f"{path}: no record has a value for {', '.join(spec.channels)}")
    cols = {ch: v[ok] for ch, v in cols.items()}
    numbered = [nr for nr, keep in zip(numbered, ok) if keep]
    body = [r for _, r in numbered]
    fs = FileSignal(cols, units={ch: ("" if units[j].lower() == "unitless" else units[j]) for ch, j in found.items()},
                    names={ch: fields[j] for ch, j in found.items()})
    if spec.rate is None and body:
        cells = [r[ts] if ts < len(r) else "" for r in body]
        fs.times, fs.time_origin, fs.time_note = to_seconds(cells, "TIMESTAMP", spec, path,
                                                            where=_record_named(numbered, fields))
    return fs


def _record_named(numbered: list[tuple[int, list[str]]], fields: list[str]):
    """How a time message names record k (of those kept): its file line and, where the table has one, its
    RECORD number (a message counting rows from the first record kept named neither)."""
    at = fields.index("RECORD") if "RECORD" in fields else None

    def where(k: int) -> str:
        line, cells = numbered[k]
        number = cells[at].strip() if at is not None and at < len(cells) else ""
        return f"line {line}" + (f" (RECORD {number})" if number else "")

    return where
