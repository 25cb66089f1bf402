"""NASA IMS bearing run-to-failure data (Qiu, Lee, Lin, Yu: J. Sound and Vibration 289, 2006; the NASA
Prognostics Data Repository), read as distributed: a folder per test of 1 s snapshots named by time,
`2003.10.22.12.06.24`, tab-separated text (the format is tinyml.readers.ims).

Tests (4 Rexnord ZA-2115 bearings on one shaft, 2000 rpm, 6000 lb; a snapshot every 10 minutes, 5 in the
first days of test 1):
    1  2003.10.22 - 2003.11.25, 8 columns (x, y per bearing): bearing 3 inner race, bearing 4 roller failed
    2  2004.02.12 - 2004.02.19, 4 columns: bearing 1 outer race failed
    3  2004.03.04 - 2004.04.18, 4 columns: bearing 3 outer race failed
A folder is matched to its test by its first snapshot's date (or, unknown, by its column count: no
failure known then).

One Recording per accelerometer column, a history: its snapshots in time order, each resampled to
`rate` on its own and cut to a whole number of `capture_s` captures (so no analysis window straddles two
snapshots taken 10 minutes apart), `activity = "history"`. `label` is the bearing's fate (see `fate`), and
a history that reaches the failure carries one event at its end, (duration, label). Which part of a
failing history is still healthy is not known; evaluations use the first half as healthy, as is
customary. Subjects are "ims-test<t>-bearing<b>": the two axes of one
bearing stay together. Only complete snapshots are used; others are left out with a notice.

Imported by file path (not as a package): only absolute imports.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from tinyml.bearing import KNOWN
from tinyml.dsp.resample import resample
from tinyml.errors import TinymlError
from tinyml.readers.ims import RATE, ROWS, SHAFT_HZ, parse, snapshot_time
from tinyml.recording import Recording

ORDERS = KNOWN["rexnord-za-2115"]
# test -> (first snapshot, last snapshot, columns, {bearing: failure label})
TESTS = {
    1: ("2003.10.22.12.06.24", "2003.11.25.23.39.56", 8, {3: "inner_race", 4: "rolling_element"}),
    2: ("2004.02.12.10.32.39", "2004.02.19.06.22.39", 4, {1: "outer_race"}),
    3: ("2004.03.04.09.27.46", "2004.04.18.02.42.55", 4, {3: "outer_race"}),
}


def _which_test(first: str, columns: int) -> int | None:
    for t, (start, _, cols, _) in TESTS.items():
        if first[:10] == start[:10] and cols == columns:
            return t
    return None


def fate(test: int | None, bearing: int, first: Path, last: Path) -> tuple[str, bool]:
    """(label, failed within the files): the bearing's failure when the files reach the test's last
    snapshot; "normal" for a bearing that survived, or when the files end in the test's first half
    (customarily healthy); "" (unknown) for a failing bearing's history cut off in its second half."""
    if test is None:
        return "normal", False
    start, end, _, failures = TESTS[test]
    t0, t1 = (snapshot_time(Path(x)) for x in (start, end))
    if bearing not in failures:
        return "normal", False
    if last.name == end:
        return failures[bearing], True
    if snapshot_time(last) <= t0 + (t1 - t0) / 2:
        return "normal", False
    return "", False


def load(path: Path, *, rate: float, channels, capture_s: float = 0.25, max_snapshots: int = 0,
         on_error: str = "skip", progress: bool = False) -> list[Recording]:
    root = Path(path)
    if not root.is_dir():
        raise TinymlError(f"{root}: not a folder (point [dataset] path at a folder of IMS tests)")
    if on_error not in ("raise", "skip"):
        raise TinymlError(f"ims: on_error must be 'raise' or 'skip', got {on_error!r}")
    if len(channels) != 1:
        raise TinymlError(f"ims: histories are read one accelerometer at a time; the app has {len(channels)} channels")
    folders: dict[Path, list[Path]] = {}
    for f in root.rglob("*"):
        if f.is_file() and snapshot_time(f) is not None:
            folders.setdefault(f.parent, []).append(f)
    if not folders:
        raise TinymlError(f"{root}: no IMS snapshots (files named like 2003.10.22.12.06.24)")
    cap = max(1, int(round(capture_s * rate)))
    recs: list[Recording] = []
    for folder, files in sorted(folders.items()):
        files.sort(key=snapshot_time)
        if max_snapshots:
            files = files[:max_snapshots]
        parts: list[np.ndarray] = []
        width = None
        for f in files:
            try:
                data = parse(f)
                if data.shape[0] != ROWS or (width is not None and data.shape[1] != width):
                    raise TinymlError(f"{f}: {data.shape[0]} rows of {data.shape[1]} columns; a snapshot of "
                                      f"this test has {ROWS} of {width or data.shape[1]}")
            except TinymlError as e:
                if on_error == "raise":
                    raise
                print(f"notice: skipped {e}", file=sys.stderr)
                continue
            width = data.shape[1]
            x = resample(data.astype(np.float32), RATE, float(rate)) if abs(rate - RATE) > 1e-6 else data
            n = (x.shape[0] // cap) * cap
            parts.append(np.asarray(x[:n], np.float32))
        if not parts:
            continue
        test = _which_test(files[0].name, width)
        sig = np.concatenate(parts)
        for c in range(width):
            bearing = c // 2 + 1 if width == 8 else c + 1
            label, failed = fate(test, bearing, files[0], files[-1])
            x = np.ascontiguousarray(sig[:, c : c + 1])
            dur = x.shape[0] / rate
            name = f"test{test}" if test else folder.name
            recs.append(Recording(
                signal=x, rate=float(rate), channels=tuple(channels), subject=f"ims-{name}-bearing{bearing}",
                label=label, activity="history", source=str(folder),
                events=[(dur, label)] if failed else [],
                deployment={"machine": {"shaft_hz": SHAFT_HZ, **ORDERS}},
            ))
    if not recs:
        raise TinymlError(f"{root}: no readable IMS snapshots")
    return recs
