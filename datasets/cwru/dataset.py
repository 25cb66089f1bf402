"""CWRU bearing data loader: the Case Western Reserve University Bearing Data Center records, read as
distributed (MATLAB v5 `.mat`, one record per file; the format is tinyml.readers.cwru_mat).

Layouts read (any folder depth below `path`):

    XiongMeijing/CWRU-1       Data/12k_DE/IR007_1.mat  Data/12k_FE/OR007@6_0.mat  Data/48k_DE/B014_0.mat
                              Data/Normal/Normal_0.mat
    AaronCosmos/wdcnn         data/0HP/12k_Drive_End_OR007@6_0_130.mat  data/1HP/normal_1_98.mat
    the Data Center's own     130.mat  97.mat  (the condition from the record number, 12 kHz series only)

A name gives the condition: `B` ball (rolling element), `IR` inner race, `OR` outer race (`@6`, `@3`, `@12`:
the defect's clock position relative to the load zone), the defect diameter in mils (007 = 0.007 in), and
after `_` the motor load in HP (0-3, at about 1797, 1772, 1750, 1730 rpm). `Normal`/`normal` is the
healthy baseline. A `12k_FE` / `Fan_End` path means the defect is in the fan-end bearing (SKF 6203),
otherwise in the drive-end bearing (SKF 6205).

One Recording per readable file: the accelerometer of the bearing that carries the defect (`channel =
"own"`, the default; "DE" or "FE" to choose), in g at the file's rate, with the file's motor speed and that
bearing's defect orders as the recording's [machine] values. Splits never put one record on both sides:
`split_by = "load"` (default: the subject is the load, so a held-out load is an unseen operating
condition), `"bearing"` (the subject is the physical test bearing: every load of IR007 at the drive end
is one subject) or `"file"`. Unreadable files (the public mirrors hold some truncated ones) are left out
with a notice, or stop the load with `on_error = "raise"`.

Imported by file path (not as a package): only absolute imports.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from tinyml.bearing import KNOWN
from tinyml.errors import TinymlError
from tinyml.readers.cwru_mat import BEARING_AT, describe, parse
from tinyml.recording import Recording

LABELS = {"B": "rolling_element", "IR": "inner_race", "OR": "outer_race", "N": "normal"}
NOMINAL_RPM = {0: 1797.0, 1: 1772.0, 2: 1750.0, 3: 1730.0}

def load(path: Path, *, rate: float, channels, channel: str = "own", split_by: str = "load",
         on_error: str = "skip", progress: bool = False) -> list[Recording]:
    """Every CWRU record under `path` (see the module docstring). `rate` is not applied here: records
    keep their 12/48 kHz and the core resamples them."""
    root = Path(path)
    if not root.is_dir():
        raise TinymlError(f"{root}: not a folder (point [dataset] path at a CWRU folder of .mat records)")
    if channel not in ("own", "DE", "FE"):
        raise TinymlError(f"cwru: channel must be 'own', 'DE' or 'FE', got {channel!r}")
    if split_by not in ("load", "bearing", "file"):
        raise TinymlError(f"cwru: split_by must be 'load', 'bearing' or 'file', got {split_by!r}")
    if on_error not in ("raise", "skip"):
        raise TinymlError(f"cwru: on_error must be 'raise' or 'skip', got {on_error!r}")
    if len(channels) != 1:
        raise TinymlError(f"cwru: records are read one accelerometer at a time; the app has {len(channels)} channels")
    files = sorted(p for p in root.rglob("*.mat") if p.is_file())
    recs: list[Recording] = []
    unknown = []
    for f in files:
        what = describe(f)
        if what is None:
            unknown.append(f.name)
            continue
        try:
            rec = parse(f)
        except TinymlError as e:
            if on_error == "raise":
                raise
            print(f"notice: skipped {e}", file=sys.stderr)
            continue
        end_, fault, size, pos, load_hp = what
        use = end_ if channel == "own" else channel
        if use not in rec.channels or rec.rate is None:
            why = f"no {use} channel" if use not in rec.channels else "rate unknown (no 12k/48k in its path)"
            if on_error == "raise":
                raise TinymlError(f"{f}: {why}")
            print(f"notice: skipped {f}: {why}", file=sys.stderr)
            continue
        rpm = rec.rpm or NOMINAL_RPM.get(load_hp, NOMINAL_RPM[0])
        # A defect at one end is seen by the other end's sensor too, but the defect orders are its bearing's.
        orders = KNOWN[BEARING_AT[end_ if fault != "N" else use]]
        tag = "normal" if fault == "N" else f"{fault}{size:03d}" + (f"@{pos}" if pos else "")
        subject = {"load": f"cwru-load{load_hp}", "bearing": f"cwru-{end_}-{tag}", "file": str(f)}[split_by]
        x = rec.channels[use].astype(np.float32)[:, None]
        recs.append(Recording(
            signal=np.ascontiguousarray(x), rate=rec.rate, channels=tuple(channels), subject=subject,
            label=LABELS[fault], activity=f"{tag} {end_} {load_hp}HP {rec.rate / 1000:g}k {use}",
            source=str(f), deployment={"machine": {"shaft_hz": rpm / 60.0, **orders}},
        ))
    if unknown:
        print(f"notice: cwru: {len(unknown)} .mat file(s) with no condition in the name left out, e.g. {unknown[0]}",
              file=sys.stderr)
    if not recs:
        raise TinymlError(f"{root}: no readable CWRU records (e.g. 12k_DE/IR007_0.mat, 0HP/normal_0_97.mat)")
    return recs
