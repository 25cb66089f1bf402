"""A recording: one multichannel signal with its rate, channel names and ground truth.

This is the unit every dataset yields and every input file becomes. Readers here turn user files
(CSV, Edge Impulse data-acquisition JSON, WAV) into a Recording in the manifest's channels and units,
and refuse bad input with one line that names the problem.
"""

from __future__ import annotations

import csv
import json
import math
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import TinymlError


@dataclass
class Recording:
    signal: np.ndarray  # float32 [n_samples, n_channels], in the manifest's units
    rate: float  # Hz
    channels: tuple[str, ...]
    subject: str = ""  # who/what was recorded: the split key (person, voice, machine)
    label: str = ""  # trial-level label, one of the app's labels (e.g. "fall")
    activity: str = ""  # finer code from the dataset (e.g. SisFall "F01")
    events: list[tuple[float, str]] = field(default_factory=list)  # ground-truth (t seconds, label)
    source: str = ""  # file path or generator id
    split: str = ""  # "" (the split decides by subject) or "train": augmentation material, never held out
    # Deployment values this recording was made under, {section: {key: value}} (a machine's shaft speed and
    # bearing from a dataset or a file): they replace the manifest's for this recording's features.
    deployment: dict = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return self.signal.shape[0] / self.rate


def _fail(path: Path, msg: str) -> TinymlError:
    return TinymlError(f"{path}: {msg}")


G = 9.80665  # m/s^2 per g
ACCEL_UNITS_TO_G = {"g": 1.0, "m/s2": 1 / G, "m/s^2": 1 / G, "m/s²": 1 / G, "ms2": 1 / G, "mg": 1e-3}


def read_recording(path: Path, channels: list[str], rate: float | None = None,
                   aliases: dict[str, list[str]] | None = None, units: str | None = None) -> Recording:
    """Read CSV, Edge Impulse JSON or WAV into a Recording with exactly `channels` (in that order).
    A column or sensor may also carry one of the channel's `aliases` (case-insensitive). When the file
    declares its units (Edge Impulse sensors) and they differ from `units`, values are converted."""
    path = Path(path)
    if not path.exists():
        raise TinymlError(f"{path}: file not found")
    if path.is_dir():
        raise TinymlError(f"{path}: is a folder, expected a recording file")
    suffix = path.suffix.lower()
    names = {c: [c, *(aliases or {}).get(c, [])] for c in channels}
    if suffix == ".json":
        rec = _read_ei_json(path, channels, names, units)
    elif suffix == ".wav":
        rec = _read_wav(path, channels)
    else:
        rec = _read_csv(path, channels, rate, names)
    if rec.signal.shape[0] == 0:
        raise _fail(path, "recording has no samples")
    bad = ~np.isfinite(rec.signal)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise _fail(path, f"non-finite value (NaN/inf) in channel {rec.channels[col]!r} at sample {row}")
    return rec


TIME_COLUMNS = ("timestamp", "time_ms", "t_ms", "time", "t")


def _find(header: list[str], names: list[str]) -> int | None:
    low = [h.lower() for h in header]
    for n in names:
        if n.lower() in low:
            return low.index(n.lower())
    return None


def _read_csv(path: Path, channels: list[str], rate: float | None, names: dict[str, list[str]]) -> Recording:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise _fail(path, "not a UTF-8 text CSV") from None
    rows = list(csv.reader(line for line in text.splitlines() if line.strip() and not line.startswith("#")))
    if not rows:
        raise _fail(path, "empty CSV")
    header = [h.strip() for h in rows[0]]
    if len(rows) == 1:
        raise _fail(path, "CSV has a header but no samples")
    found = {c: _find(header, names[c]) for c in channels}
    missing = [c for c, i in found.items() if i is None]
    if missing:
        raise _fail(path, f"CSV lacks column(s) {', '.join(missing)}; header must name {', '.join(channels)}")
    time_col = next((c for c in TIME_COLUMNS if c in header), None)
    idx = [found[c] for c in channels]
    t_idx = header.index(time_col) if time_col else None
    data = np.empty((len(rows) - 1, len(channels)), np.float32)
    times = np.empty(len(rows) - 1, np.float64)
    for i, r in enumerate(rows[1:]):
        try:
            data[i] = [float(r[j]) for j in idx]
            if t_idx is not None:
                times[i] = float(r[t_idx])
        except (ValueError, IndexError):
            raise _fail(path, f"line {i + 2}: expected numbers in columns {', '.join(channels)}") from None
    if rate is None:
        if t_idx is None:
            raise _fail(path, f"no time column ({'/'.join(TIME_COLUMNS[:2])} in ms) and no --rate given")
        rate = _rate_from_times(path, times)
    return Recording(data, float(rate), tuple(channels), source=str(path))


def _rate_from_times(path: Path, t_ms: np.ndarray) -> float:
    if len(t_ms) < 2:
        raise _fail(path, "need at least two samples to infer the rate from the time column")
    dt = np.diff(t_ms)
    if not np.all(np.isfinite(dt)) or np.any(dt <= 0):
        raise _fail(path, "time column (ms) must increase strictly")
    med = float(np.median(dt))
    # Real loggers jitter; tolerate it, but not gaps that make the rate meaningless.
    if np.mean(np.abs(dt - med) > 0.5 * med) > 0.05:
        raise _fail(path, f"time column is irregular (median step {med:.3g} ms); resample it or pass --rate")
    return 1000.0 / med


def _read_ei_json(path: Path, channels: list[str], names_of: dict[str, list[str]], units: str | None) -> Recording:
    """Edge Impulse data acquisition format: payload.{interval_ms, sensors[{name, units}], values}."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        payload = doc["payload"]
        interval = float(payload["interval_ms"])
        names = [s["name"] for s in payload["sensors"]]
        sensor_units = [str(s.get("units", "")) for s in payload["sensors"]]
        values = payload["values"]
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise _fail(path, f"not valid JSON ({e.__class__.__name__})") from None
    except (KeyError, TypeError, ValueError):
        raise _fail(path, "not Edge Impulse data-acquisition JSON (needs payload.interval_ms, sensors, values)") from None
    if interval <= 0 or not math.isfinite(interval):
        raise _fail(path, f"payload.interval_ms must be > 0, got {interval}")
    found = {c: _find(names, names_of[c]) for c in channels}
    missing = [c for c, i in found.items() if i is None]
    if missing:
        raise _fail(path, f"sensors lack {', '.join(missing)}; found {', '.join(names)}")
    try:
        arr = np.asarray(values, dtype=np.float32)
    except (ValueError, TypeError):
        raise _fail(path, "payload.values must be a list of equal-length number rows") from None
    if arr.ndim == 1 and len(names) == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] != len(names):
        raise _fail(path, f"payload.values rows must have {len(names)} values (one per sensor)")
    cols = [found[c] for c in channels]
    sel = arr[:, cols].copy()
    if units in ACCEL_UNITS_TO_G:  # convert declared acceleration units to the manifest's
        for j, col in enumerate(cols):
            u = sensor_units[col].strip().lower()
            if u in ACCEL_UNITS_TO_G and u != units:
                sel[:, j] *= np.float32(ACCEL_UNITS_TO_G[u] / ACCEL_UNITS_TO_G[units])
                print(f"notice: {path.name}: {names[col]} converted from {sensor_units[col]} to {units}", file=sys.stderr)
    return Recording(np.ascontiguousarray(sel), 1000.0 / interval, tuple(channels), source=str(path))


def wav_samples(path: Path) -> tuple[np.ndarray, int]:
    """A WAV file's samples as float32 full scale [-1, 1) ([n] or [n, ch]) and its rate; PCM 8/16/32 or float."""
    import warnings

    from scipy.io import wavfile

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rate, data = wavfile.read(path)
    except (ValueError, EOFError, OSError, struct.error) as e:  # struct.error: a truncated header
        raise _fail(path, f"not a readable WAV file ({e})") from None
    if data.size == 0:
        raise _fail(path, "WAV file has no samples")
    if data.dtype == np.int16:
        x = data.astype(np.float32) / 32768.0
    elif data.dtype == np.int32:
        x = data.astype(np.float32) / 2147483648.0
    elif data.dtype == np.uint8:
        x = (data.astype(np.float32) - 128.0) / 128.0
    else:
        x = data.astype(np.float32)
    return x, int(rate)


def _read_wav(path: Path, channels: list[str]) -> Recording:
    x, rate = wav_samples(path)
    if x.ndim == 2 and len(channels) == 1 and x.shape[1] > 1:
        print(f"notice: {path.name}: {x.shape[1]} channels mixed down to mono", file=sys.stderr)
        x = x.mean(axis=1)
    if x.ndim == 1:
        x = x[:, None]
    if x.shape[1] != len(channels):
        raise _fail(path, f"WAV has {x.shape[1]} channels, app expects {len(channels)}")
    return Recording(np.ascontiguousarray(x, np.float32), float(rate), tuple(channels), source=str(path))
