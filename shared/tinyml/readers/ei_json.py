"""Edge Impulse data-acquisition JSON: `payload.sensors[{name, units}]`, `payload.values` (one row per
sample, or a flat list for one sensor) and `payload.interval_ms` (the steady step, a float allowed:
1000/16000 for audio). Sensors are matched to channels by name, alias or --channel pick, and their
declared `units` reach the unit check (`m/s2`, `mg`; `wav` is Edge Impulse's int16 audio).

The format has no per-sample timestamps. A file without a steady interval (`interval_ms` 0 or absent,
as Edge Impulse's Python SDK writes by default) carries its time as one more sensor axis named like a
time column (`timestamp` with units `ms`, `time` with units `s`); its rows are then resampled like a
CSV's irregular time column.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ..errors import TinymlError, option
from ..timestamps import time_column, to_seconds
from . import FileSignal, ReadSpec


def claim(path: Path, head: bytes) -> int:
    if b'"payload"' in head and (b'"sensors"' in head or b'"values"' in head or b'"interval_ms"' in head):
        return 60
    return 10 if path.suffix.lower() == ".json" else 0


def read(path: Path, spec: ReadSpec) -> FileSignal:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        payload = doc["payload"]
        sensors = payload["sensors"]
        names = [str(s["name"]) for s in sensors]
        units = [str(s.get("units", "") or "") for s in sensors]
        values = payload["values"]
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise TinymlError(f"{path}: not valid JSON ({e.__class__.__name__})") from None
    except (KeyError, TypeError, AttributeError):
        raise TinymlError(f"{path}: not Edge Impulse data-acquisition JSON (needs payload.sensors and "
                          "payload.values, and payload.interval_ms or a time axis)") from None
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (ValueError, TypeError):
        raise TinymlError(f"{path}: payload.values must be a list of equal-length number rows") from None
    if arr.size == 0:
        raise TinymlError(f"{path}: payload.values is empty: no samples")
    if arr.ndim == 1 and len(names) == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] != len(names):
        raise TinymlError(f"{path}: payload.values rows must have {len(names)} values (one per sensor)")
    found = spec.match(names, path, kind="JSON", what="sensor")
    time_axis = next((i for i, n in enumerate(names) if i not in found.values() and time_column(n)[0]), None)
    fs = FileSignal({ch: arr[:, i].copy() for ch, i in found.items()},
                    units={ch: units[i] for ch, i in found.items()}, names={ch: names[i] for ch, i in found.items()})
    interval = payload.get("interval_ms")
    steady = isinstance(interval, (int, float)) and not isinstance(interval, bool) and math.isfinite(interval) \
        and interval > 0
    if steady:
        fs.rate = 1000.0 / float(interval)
    elif time_axis is not None:
        if spec.rate is None:
            header = f"{names[time_axis]} ({units[time_axis]})" if units[time_axis] else names[time_axis]
            fs.times, fs.time_origin, fs.time_note = to_seconds(arr[:, time_axis], header, spec, path)
    elif interval not in (None, 0) or spec.rate is None:
        raise TinymlError(f"{path}: payload.interval_ms must be a step in ms above 0, got {interval!r}, and no "
                          f"sensor axis gives time (a 'timestamp' axis in ms); or give {option('rate', 'HZ')}")
    return fs
