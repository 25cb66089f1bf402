"""FEMTO-ST PRONOSTIA bearing run-to-failure data (IEEE PHM 2012 prognostic challenge; P. Nectoux et al.,
"PRONOSTIA: an experimental platform for bearings accelerated degradation tests", IEEE PHM 2012), read as
distributed: a folder per bearing (`Learning_set/Bearing1_1/`, `Full_Test_Set/Bearing2_3/`, ...) of 0.1 s
snapshots `acc_00001.csv` taken every 10 s (the format is tinyml.readers.femto).

Seventeen bearings under three operating conditions (1800 rpm / 4000 N, 1650 / 4200, 1500 / 5000), each run
until its vibration passed 20 g: that is the failure, its type not stated (the organisers: often several
components at once). `Learning_set` and `Full_Test_Set` hold whole runs; the challenge's `Test_set` holds
the same eleven test bearings cut before the end: such a copy is left out (with a notice) when the whole
run is also there, and read as a history without failure otherwise.

One Recording per bearing, a history: its snapshots in time order, each resampled to `rate` on its own.
A capture of `capture_s` longer than a snapshot joins consecutive snapshots (0.25 s: three, cut to 6,400
samples, one capture every 30 s); a shorter one cuts each snapshot into whole captures, so no analysis
window straddles two snapshots unless the capture needs it. `truth["capture_s"]` holds each capture's
time (s from the run's first snapshot, from the files' own clock), `truth["snapshots_per_capture"]` the
join, `truth["failure_s"]` the failure's time for a whole run (none for a cut one). `label` is "" (the
type is unknown), `activity = "history"`, the subject is the bearing ("femto-bearing1_1"), the cohort its
condition ("femto/condition1"), and `deployment` the condition's shaft speed and the bearing's orders.

Imported by file path (not as a package): only absolute imports.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

from tinyml.dsp.resample import resample
from tinyml.errors import TinymlError
from tinyml.readers.femto import AXES, NAME, RATE, ROWS, SNAPSHOT_EVERY_S, condition, machine, parse
from tinyml.recording import Recording

CUT = "Test_set"  # the challenge's truncated copies of the test bearings
DAY_S = 86400.0


def _runs(root: Path) -> dict[str, tuple[Path, list[Path]]]:
    """bearing name -> (its folder, its snapshots in number order): the whole run where a cut copy exists too
    (notice)."""
    folders: dict[Path, list[Path]] = {}
    for f in root.rglob("acc_*.csv"):
        if f.is_file() and NAME.match(f.name):
            folders.setdefault(f.parent, []).append(f)
    by_bearing: dict[str, list[Path]] = {}
    for folder in sorted(folders):
        by_bearing.setdefault(folder.name.lower(), []).append(folder)
    out = {}
    for name, cands in sorted(by_bearing.items()):
        whole = [c for c in cands if c.parent.name != CUT]
        pick = max(whole or cands, key=lambda c: len(folders[c]))
        for c in cands:
            if c != pick:
                print(f"notice: {c}: left out; {pick} holds {name}'s {'whole ' if c.parent.name == CUT else ''}run",
                      file=sys.stderr)
        out[name] = (pick, sorted(folders[pick], key=lambda f: int(NAME.match(f.name).group(1))))
    return out


def _unwrapped(clock: list[float], where: Path) -> np.ndarray:
    """Seconds since the first snapshot from time-of-day clocks: a run may pass midnight, and a snapshot whose
    clock is out of its neighbours' sequence (Bearing1_1 has two, hours off) takes its place in the
    sequence between them instead (notice)."""
    t = np.asarray(clock, np.float64)
    # each step taken modulo a day, within +-12 h: midnight passes, and a clock that jumps away and back cancels
    t = t[0] + np.r_[0.0, np.cumsum((np.diff(t) + DAY_S / 2) % DAY_S - DAY_S / 2)]
    i = np.arange(len(t))
    drift = t - SNAPSHOT_EVERY_S * i  # steady for a steady clock
    local = np.array([np.median(drift[max(0, k - 5) : k + 6]) for k in i])
    off = np.abs(drift - local) > 6 * SNAPSHOT_EVERY_S
    if off.any() and (~off).sum() >= 2:
        t[off] = np.interp(i[off], i[~off], t[~off])
        print(f"notice: {where}: {int(off.sum())} snapshot clock(s) out of sequence; placed between their "
              "neighbours", file=sys.stderr)
    return t - t[0]


def load(path: Path, *, rate: float, channels, capture_s: float = 0.25, axis: str = "horizontal",
         max_snapshots: int = 0, on_error: str = "skip") -> list[Recording]:
    root = Path(path)
    if not root.is_dir():
        raise TinymlError(f"{root}: not a folder (give the folder of FEMTO bearing runs: Learning_set/Bearing1_1/"
                          "acc_00001.csv ...)")
    if on_error not in ("raise", "skip"):
        raise TinymlError(f"femto: on_error must be 'raise' or 'skip', got {on_error!r}")
    if axis not in AXES:
        raise TinymlError(f"femto: axis must be one of {', '.join(AXES)}, got {axis!r}")
    if len(channels) != 1:
        raise TinymlError(f"femto: runs are read one axis at a time; the app has {len(channels)} channels")
    runs = _runs(root)
    if not runs:
        raise TinymlError(f"{root}: no FEMTO snapshots (folders of acc_00001.csv ...)")
    col = AXES.index(axis)
    per_snapshot = int(round(ROWS * rate / RATE))
    cap = max(1, int(round(capture_s * rate)))
    join = max(1, math.ceil(cap / per_snapshot))
    recs: list[Recording] = []
    for name, (folder, files) in runs.items():
        whole = folder.parent.name != CUT and not (max_snapshots and len(files) > max_snapshots)
        if max_snapshots:
            files = files[:max_snapshots]
        snaps: list[np.ndarray] = []
        clock: list[float] = []
        for f in files:
            try:
                t, data = parse(f)
                if len(data) != ROWS:
                    raise TinymlError(f"{f}: {len(data)} rows; a FEMTO snapshot has {ROWS}")
            except TinymlError as e:
                if on_error == "raise":
                    raise
                print(f"notice: skipped {e}", file=sys.stderr)
                continue
            x = data[:, col].astype(np.float32)
            snaps.append(resample(x[:, None], RATE, float(rate))[:, 0] if abs(rate - RATE) > 1e-6 else x)
            clock.append(t)
        if len(snaps) < join:
            continue
        times = _unwrapped(clock, folder)
        parts, starts = [], []
        if join > 1:  # consecutive snapshots side by side, cut to one capture (joins inside it: said above)
            for g in range(0, len(snaps) - join + 1, join):
                parts.append(np.concatenate(snaps[g : g + join])[:cap])
                starts.append(times[g])
        else:
            for s, t in zip(snaps, times):
                k = len(s) // cap
                parts += [s[i * cap : (i + 1) * cap] for i in range(k)]
                starts += [t + i * cap / rate for i in range(k)]
        cond = condition(folder)
        truth = {"capture_s": [float(v) for v in starts], "snapshots_per_capture": join}
        if whole:  # the run stopped when its vibration passed 20 g: the last snapshot is the failure
            truth["failure_s"] = float(times[-1])
        recs.append(Recording(
            signal=np.concatenate(parts)[:, None].astype(np.float32), rate=float(rate), channels=tuple(channels),
            subject=f"femto-{name}", label="", activity="history", source=str(folder),
            cohort=f"femto/condition{cond}" if cond else "femto", truth=truth,
            deployment={"machine": machine(folder)},
        ))
    if not recs:
        raise TinymlError(f"{root}: no readable FEMTO runs")
    return recs
