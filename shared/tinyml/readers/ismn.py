"""ISMN (International Soil Moisture Network) `.stm` files, in both layouts the ISMN portal delivers.

File names: `<CSE>_<NETWORK>_<STATION>_<var>_<depth_from>_<depth_to>_<SENSOR>_<start>_<end>.stm`, var one of
sm (soil moisture, m³/m³), ts (soil temperature, °C), p (precipitation, mm), ta (air temperature) ...

- "Header + values": a first line `CSE network station lat lon elev depth_from depth_to sensor`, then one
  line per sample: `YYYY/MM/DD HH:MM value ismn_flag provider_flag`.
- CEOP (separate files): no header; 15 columns per line: `date time date time CSE network station lat lon
  elev depth_from depth_to value ismn_flag provider_flag` (UTC date/time first, then the original one).

Values of -9999 (flag M) are missing (NaN). Quality flags (G good, C01-C03 out of range, D01-D10 dubious,
comma-separated when several apply) are kept per sample: `parse_stm` returns them for datasets to use as
labels (datasets/ismn), `read` gives the values to predict/run. A soil-moisture file is the `vwc` channel;
its station folder's soil temperature at the same depth and precipitation files, when present, fill the
optional channels (soil_temp_c, rain_mm) that the app asks for.
ISMN data may not be redistributed: never commit any (tests use a fixture written in this layout).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..errors import TinymlError
from . import FileSignal, ReadSpec

MISSING = -9999.0
_NAME = re.compile(r"^(?P<cse>[^_]+)_(?P<net>[^_]+)_(?P<station>.+?)_(?P<var>[a-z]+)_(?P<d0>-?\d+(?:\.\d+)?)_"
                   r"(?P<d1>-?\d+(?:\.\d+)?)_(?P<sensor>.+)_(?P<start>\d{8})_(?P<end>\d{8})\.stm$", re.IGNORECASE)
_DATE = re.compile(r"^\d{4}/\d{2}/\d{2}$")
_TIME = re.compile(r"^\d{2}:\d{2}$")
# ISMN variable -> (the app channel it fills, the unit ISMN gives it in)
VARIABLES = {"sm": ("vwc", "m3/m3"), "ts": ("soil_temp_c", "degC"), "p": ("rain_mm", "mm")}


@dataclass
class StmFile:
    path: Path
    layout: str  # "header_values" or "ceop"
    network: str
    station: str
    variable: str  # sm, ts, p, ...
    depth: tuple[float, float]  # m
    sensor: str
    lat: float
    lon: float
    times: np.ndarray  # seconds since 1970 (UTC), float64 [n]
    values: np.ndarray  # float64 [n], NaN where missing
    flags: list[str] = field(default_factory=list)  # ISMN flag per sample ("G", "D06", "C03,D10", ...)
    provider_flags: list[str] = field(default_factory=list)


def claim(path: Path, head: bytes) -> int:
    if path.suffix.lower() != ".stm":
        return 0
    try:
        lines = head.decode("ascii").splitlines()
    except UnicodeDecodeError:
        return 0
    return 100 if lines and _layout(lines[0].split(), lines[1].split() if len(lines) > 1 else []) else 10


def _layout(first: list[str], second: list[str]) -> str | None:
    if len(first) == 15 and _DATE.match(first[0]) and _TIME.match(first[1]) and _DATE.match(first[2]):
        return "ceop"
    if 8 <= len(first) <= 13 and not _DATE.match(first[0]) and len(second) >= 4 and _DATE.match(second[0]):
        return "header_values"
    return None


def _name_parts(path: Path) -> dict:
    m = _NAME.match(path.name)
    if not m:
        raise TinymlError(f"{path}: not an ISMN file name (<CSE>_<NETWORK>_<STATION>_<var>_<from>_<to>_<SENSOR>_"
                          "<start>_<end>.stm)")
    return m.groupdict()


def _epoch(date: str, time: str) -> float:
    y, mo, d = date.split("/")
    hh, mm = time.split(":")
    return datetime(int(y), int(mo), int(d), int(hh), int(mm), tzinfo=timezone.utc).timestamp()


def parse_stm(path: Path) -> StmFile:
    """One .stm file in either layout, with its per-sample flags; a TinymlError naming the line otherwise."""
    path = Path(path)
    parts = _name_parts(path)
    try:
        lines = path.read_text(encoding="ascii", errors="strict").splitlines()
    except (UnicodeDecodeError, OSError) as e:
        raise TinymlError(f"{path}: cannot read as an ISMN text file ({e.__class__.__name__})") from None
    lines = [ln for ln in lines if ln.strip()]
    if len(lines) < 2:
        raise TinymlError(f"{path}: an ISMN file needs at least one sample line")
    layout = _layout(lines[0].split(), lines[1].split())
    if layout is None:
        raise TinymlError(f"{path}: line 1 is neither an ISMN header (CSE network station lat lon elev depth_from "
                          "depth_to sensor) nor a CEOP sample line (15 columns)")
    if layout == "header_values":
        head = lines[0].split()
        lat, lon = float(head[3]), float(head[4])
        body, first_line, cols = lines[1:], 2, (0, 1, 2, 3, 4)
    else:
        f = lines[0].split()
        lat, lon = float(f[7]), float(f[8])
        body, first_line, cols = lines, 1, (0, 1, 12, 13, 14)
    n = len(body)
    times = np.empty(n, np.float64)
    values = np.empty(n, np.float64)
    flags, prov = [], []
    need = max(cols) + 1
    for k, ln in enumerate(body):
        f = ln.split()
        if len(f) < need:
            raise TinymlError(f"{path}: line {first_line + k}: expected {need} columns, got {len(f)}")
        try:
            times[k] = _epoch(f[cols[0]], f[cols[1]])
            values[k] = float(f[cols[2]])
        except ValueError:
            raise TinymlError(f"{path}: line {first_line + k}: expected 'YYYY/MM/DD HH:MM value flag flag', "
                              f"got {ln.strip()[:60]!r}") from None
        flags.append(f[cols[3]])
        prov.append(f[cols[4]] if len(f) > cols[4] else "")
    missing = (values <= MISSING + 0.5) | np.array([fl.startswith("M") for fl in flags])
    values[missing] = np.nan
    return StmFile(path, layout, parts["net"], parts["station"], parts["var"].lower(),
                   (float(parts["d0"]), float(parts["d1"])), parts["sensor"], lat, lon, times, values, flags, prov)


def siblings(stm: StmFile) -> dict[str, Path]:
    """Other variables of the same station in the same folder: {"ts": path at the same depth, "p": path}."""
    out: dict[str, Path] = {}
    for p in sorted(stm.path.parent.glob("*.stm")):
        if p == stm.path:
            continue
        m = _NAME.match(p.name)
        if not m or m["station"] != stm.station:
            continue
        var = m["var"].lower()
        if var == "ts" and abs(float(m["d0"]) - stm.depth[0]) < 1e-6 and abs(float(m["d1"]) - stm.depth[1]) < 1e-6:
            out.setdefault("ts", p)
        elif var == "p":
            out.setdefault("p", p)
    return out


def read(path: Path, spec: ReadSpec) -> FileSignal:
    stm = parse_stm(path)
    if stm.variable not in VARIABLES:
        raise TinymlError(f"{path}: an ISMN '{stm.variable}' file; soil moisture (sm) files are read here")
    channel, unit = VARIABLES[stm.variable]
    found = spec.match([channel], path, kind="ISMN file", what="variable")
    if channel not in found:
        raise TinymlError(f"{path}: an ISMN {stm.variable} file has no {', '.join(spec.channels)}")
    # Missing samples (-9999, flag M) are rows the logger did not deliver: the core interpolates short gaps
    # and cuts the recording at long ones ([signal] max_gap_s) into parts scored on their own (predict, run).
    if np.isinf(stm.values).any():
        i = int(np.argmax(np.isinf(stm.values)))
        raise TinymlError(f"{path}: infinite value at sample {i} (an overflow, not a missing value: ISMN marks "
                          "those -9999 or M)")
    keep = np.isfinite(stm.values)
    if not keep.any():
        raise TinymlError(f"{path}: every sample is missing (-9999 / flag M)")
    times = stm.times[keep]
    columns = {channel: stm.values[keep]}
    units = {channel: unit}
    for var, sib in siblings(stm).items():
        ch, u = VARIABLES[var]
        if ch in spec.all_channels and ch not in columns:
            other = parse_stm(sib)
            # the station's other series on this file's timestamps (missing where it has no sample)
            idx = np.clip(np.searchsorted(other.times, times), 0, len(other.times) - 1)
            columns[ch] = np.where(other.times[idx] == times, other.values[idx], np.nan)
            units[ch] = u
    t0 = times[0]
    return FileSignal(columns, times=times - t0, time_origin=datetime.fromtimestamp(t0, tz=timezone.utc),
                      time_note="ISMN date and time (UTC)", units=units, names={c: c for c in columns})
