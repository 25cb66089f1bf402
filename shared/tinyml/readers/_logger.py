"""Shared by the data-logger readers (hobo, toa5, meter): finding channels among a logger's many columns; the
matlab reader offers a struct's fields by their own names the same way.

A logger file holds several sensors, often one quantity at several depths ("VWC_5cm_Avg", "VWC_10cm_Avg",
or HOBO's "Water Content ... LBL: 30 CM"). Each column has a *family* (the quantity: "VWC", "Water
Content") and a *tag* (what tells its sensor apart: "5cm", "30 CM", "2"). The names offered to
ReadSpec.match are each column's full name, plus its bare family when that family has one column only;
so `vwc` finds "VWC" by alias in a one-sensor file, and a file with several depths asks for a pick
(`--channel vwc=VWC_10cm_Avg`), listing them. The other channels then come from the same sensor: the
column of their family with the picked column's tag (T_10cm_Avg, BulkEC_10cm_Avg).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from . import ReadSpec, column_name


def offered_names(families: list[str], full: list[str]) -> tuple[list[str], list[int]]:
    """(names for ReadSpec.match, the column index each name stands for): every full name, then each family
    that one column alone has (several probes' shared family is no name: their tags tell them apart). Unlike
    edf._derivation_names, which offers an electrode shared by two derivations for each (the first is read)."""
    names, index = list(full), list(range(len(full)))
    counts = Counter(f.lower() for f in families)
    for i, fam in enumerate(families):
        if fam and counts[fam.lower()] == 1 and fam.lower() not in (n.lower() for n in full):
            names.append(fam)
            index.append(i)
    return names, index


def choose(spec: ReadSpec, families: list[str], tags: list[str], full: list[str], path: Path,
           kind: str) -> dict[str, int]:
    """channel -> column index: by name/alias/pick, then unmatched optional channels from the required
    channels' sensor (same tag)."""
    names, index = offered_names(families, full)
    found = {ch: index[i] for ch, i in spec.match(names, path, kind=kind, columns=index).items()}
    anchor = next((found[c] for c in spec.channels if c in found), None)
    if anchor is None or not tags[anchor]:
        return found
    for ch in spec.optional:
        if ch in found or ch in spec.picks:
            continue
        wanted = {column_name(n)[0].lower() for n in spec.names_for(ch)}
        for i, (fam, tag) in enumerate(zip(families, tags)):
            if fam.lower() in wanted and tag == tags[anchor]:
                found[ch] = i
                break
    return found
