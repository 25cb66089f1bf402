"""A recording: one multichannel signal with its rate, channel names and ground truth.

This is the unit every dataset yields and every input file becomes. `read_recording` is the one way
a user's file becomes a Recording in the manifest's channels, units and a steady rate: a reader from
tinyml.readers (chosen by the file) gets its columns, then the same steps for every format settle
units and plausible ranges, time, and missing optional channels. Bad input is refused with one line
that names the problem.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .errors import TinymlError, notice, option
from .readers import FileSignal, ReadSpec, reader_for
from .regularize import Grid, _at, duration_words, steady_parts
from .units import MISSING_MARKERS, check_clipped, to_manifest_units


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
    cohort: str = ""  # "<source>" or "<source>/<group>" (e.g. "sisfall/elderly"): stratified splits, separate reports
    missing: tuple[str, ...] = ()  # optional channels the file lacks: NaN columns in `signal`
    # Annotations beyond trial-level events, by kind, for datasets that have them: e.g. "beats" (sample
    # indices and classes), "rhythm" (labelled time spans), "noise" (unreadable spans). Free-form per dataset;
    # the app's hooks and evaluation read what their datasets provide.
    truth: dict = field(default_factory=dict)
    # Deployment values this recording was made under, {section: {key: value}} (a machine's shaft speed and
    # bearing from a dataset or a file): they replace the manifest's for this recording's features.
    deployment: dict = field(default_factory=dict)
    # where the signal begins in its file, seconds from the file's first sample: a part of a recording cut
    # at a long gap (read_recording_parts) keeps the file's time base in its output lines
    start_s: float = 0.0

    @property
    def duration(self) -> float:
        return self.signal.shape[0] / self.rate


def read_recording(path: Path, spec: ReadSpec | Sequence[str], rate: float | None = None) -> Recording:
    """A user's file (any format a reader claims) as a Recording with the spec's channels: required ones
    first, then optional ones (NaN columns when absent, named in `missing`), in the spec's units, at a
    steady rate. `spec` may be a bare list of channel names (no aliases, units or range checks);
    `rate` is --rate for that bare form (a ReadSpec carries its own). A gap in the time column longer
    than max_gap_s, and NaN in a required channel, are refused (read_recording_parts takes both)."""
    parts, _ = _read(Path(path), spec, rate, split=False)
    return parts[0]


def read_recording_parts(path: Path, spec: ReadSpec | Sequence[str],
                         rate: float | None = None) -> tuple[list[Recording], list[float]]:
    """A user's file as read_recording reads it, for scoring (predict, run): with a time column, or a rate the
    file states (a WFDB record's invalid samples), a row with no value (empty, NaN) in a required channel is a
    missing sample (left out, the gap interpolated like any other, with one notice), and the recording is cut
    at each gap longer than max_gap_s into parts, each a Recording whose `start_s` places it in the file's time
    base. Returns (the parts in time order, the gaps cut at, in seconds)."""
    return _read(Path(path), spec, rate, split=True)


def _read(path: Path, spec, rate, split: bool) -> tuple[list[Recording], list[float]]:
    if not isinstance(spec, ReadSpec):
        spec = ReadSpec(channels=tuple(spec), rate=rate)
    if not path.exists():
        raise TinymlError(f"{path}: file not found")
    if path.is_dir():
        raise TinymlError(f"{path}: is a folder, expected a recording file")
    reader = reader_for(path)
    try:
        fs = reader.read(path, spec)
    except (ValueError, IndexError, KeyError, TypeError, ZeroDivisionError, OverflowError, UnboundLocalError) as e:
        # a field the format leaves no room for (text where a number belongs, a count of 0, a value past any
        # range): the reader did not foresee it, the user still gets one line that names the file and the value
        kind = reader.__name__.rsplit(".", 1)[-1]
        raise TinymlError(f"{path}: not readable as a {kind} file: {type(e).__name__}: {e}") from None
    if fs.n == 0:
        raise TinymlError(f"{path}: recording has no samples")
    first = 0.0  # the first kept row's time from the file's first row (a row left out moves it)
    own_clock = split and spec.rate is None  # the file's times or stated rate place its rows: a hole is a gap
    # a required channel's marker is a missing sample where the file places its rows: found before deciding
    # that a file with only a rate needs each row's time (a -9999 is not NaN yet)
    rows_placed = own_clock and (fs.times is not None or bool(fs.rate))
    fs = _markers_as_missing(fs, (spec.channels if rows_placed else ()) + spec.optional, path)
    if own_clock:
        fs = _timed_by_its_rate(fs, spec)
    if own_clock and fs.times is not None:
        base = float(np.min(fs.times)) if np.isfinite(fs.times).all() else 0.0
        fs = _drop_missing_rows(fs, spec, path)
        first = float(np.min(fs.times)) - base
    _check_required_finite(fs, spec, path)
    in_units = to_manifest_units(fs.columns, fs.units, spec, path, where=lambda k: _row_place(fs, k))
    check_clipped(fs.columns, in_units, spec, path, said=fs.clipped)
    g = _steady(fs, in_units, spec, path, split)
    cols = g.cols
    missing = tuple(c for c in spec.optional if c not in cols)
    if missing:
        notice(path, f"optional channel{'s' if len(missing) > 1 else ''} {', '.join(missing)} not in the file: "
                     "NaN (missing) for the pipeline")
    n = len(next(iter(cols.values())))
    whole = np.full((n, len(spec.all_channels)), np.nan, np.float32)
    for j, ch in enumerate(spec.all_channels):
        if ch in cols:
            whole[:, j] = cols[ch]
    parts = [Recording(whole[a:b], float(g.rate), spec.all_channels, source=str(path),
                       missing=missing, deployment=fs.deployment, start_s=first + s0)
             for (a, b), s0 in zip(g.parts, g.starts)]
    return parts, g.gaps


def _markers_as_missing(fs: FileSignal, chans: Sequence[str], path: Path) -> FileSignal:
    """A logger's missing-value marker (-9999, -999 ...: units.MISSING_MARKERS) in one of `chans` as NaN, with
    one notice, where the smallest marker is over 10x the channel's other values' 99.9th percentile of
    magnitude (a soil moisture in % with a -9999 now and then; an int16 audio sample of 9999 is a value): a
    percentile, not the largest, so that one wild value beside the markers does not hide them. A few markers
    in a long file pass the unit checks (they look at the 0.1-99.9 % of the values): read as values they
    became faults and spikes."""
    columns, said = dict(fs.columns), []
    for ch in chans:
        v = np.asarray(columns.get(ch, ()), np.float64)
        mark = np.isin(np.abs(v), MISSING_MARKERS)
        rest = np.abs(v[~mark & np.isfinite(v)])
        if mark.any() and rest.size and 10 * np.percentile(rest, 99.9) < np.abs(v[mark]).min():
            columns[ch] = np.where(mark, np.nan, v)
            said.append(f"{int(mark.sum())} in {ch!r} ({v[mark][0]:g})")
    if not said:
        return fs
    notice(path, f"missing-value markers read as missing: {', '.join(said)}")
    return replace(fs, columns=columns)


def _timed_by_its_rate(fs: FileSignal, spec: ReadSpec) -> FileSignal:
    """A file that states its rate (a WFDB header, a MATLAB fs) and marks missing samples (WFDB's invalid
    sample value, NaN, a logger's -9999 read as missing) in a required channel: each row's time from the rate,
    so its missing samples are left out and interpolated, or cut at, like a time column's."""
    if fs.times is not None or not fs.rate or not any(np.isnan(fs.columns[ch]).any() for ch in spec.channels):
        return fs
    return replace(fs, times=np.arange(fs.n) / float(fs.rate), time_note=fs.time_note or f"its rate {fs.rate:g} Hz")


def _drop_missing_rows(fs: FileSignal, spec: ReadSpec, path: Path) -> FileSignal:
    """Rows with no value (empty, NaN) in a required channel left out, with one notice: missing samples,
    interpolated like rows the logger never wrote. +-inf is refused: an overflow, not a missing value."""
    gone = np.zeros(fs.n, bool)
    for ch in spec.channels:
        v = np.asarray(fs.columns[ch], np.float64)
        if np.isinf(v).any():
            raise TinymlError(f"{path}: infinite value in channel {ch!r} at sample {int(np.argmax(np.isinf(v)))} "
                              "(an overflow, not a missing value): fix the value, or leave the row out")
        gone |= np.isnan(v)
    if not gone.any():
        return fs
    chans = [ch for ch in spec.channels if np.isnan(fs.columns[ch]).any()]
    if gone.all():
        raise TinymlError(f"{path}: no row has a value in every required channel ({', '.join(map(repr, chans))} "
                          "empty or NaN)")
    i, k = int(np.argmax(gone)), int(gone.sum())
    notice(path, f"{k} sample{'s' if k != 1 else ''} with no value (empty or NaN) in {', '.join(map(repr, chans))}, "
                 f"the first at {_at(float(fs.times[i]), fs.time_origin)}: left out as missing samples "
                 "(gaps up to [signal] max_gap_s interpolated)")
    keep = ~gone
    return replace(fs, columns={c: np.asarray(v)[keep] for c, v in fs.columns.items()},
                   times=np.asarray(fs.times)[keep], lines=None if fs.lines is None else fs.lines[keep])


def _row_place(fs: FileSignal, k: int) -> str:
    """Where row k of the signal read is in the file, for a message: its line (a text table), else its time
    (rows left out keep their times), else `sample k` (no row was left out)."""
    if fs.lines is not None:
        return f"line {int(fs.lines[k])}"
    if fs.times is not None:
        return _at(float(fs.times[k]), fs.time_origin)
    return f"sample {k}"


def _check_required_finite(fs: FileSignal, spec: ReadSpec, path: Path) -> None:
    """NaN or inf in a required channel is refused (an optional channel may have holes: they stay NaN)."""
    for ch in spec.channels:
        bad = ~np.isfinite(fs.columns[ch])
        if bad.any():
            # with a time column, a row left out is a gap, interpolated up to max_gap_s: say so
            hint = "; leave the row out, and the gap is interpolated" if fs.times is not None else ""
            raise TinymlError(f"{path}: non-finite value (NaN/inf, or empty) in channel {ch!r} at sample "
                              f"{int(np.argmax(bad))}{hint}")


def _steady(fs: FileSignal, cols: dict[str, np.ndarray], spec: ReadSpec, path: Path, split: bool = False) -> Grid:
    """The columns at one steady rate: the user's --rate, else the file's times or stated rate; cut into parts
    at gaps over max_gap_s where the file has times (split; else refused)."""
    whole = [(0, len(next(iter(cols.values()))))]
    if spec.rate is not None:
        if not (spec.rate > 0 and np.isfinite(spec.rate)):
            raise TinymlError(f"{option('rate', str(spec.rate))}: must be a rate in Hz above 0")
        if fs.times is not None or fs.time_note:
            notice(path, f"{fs.time_note or 'time column'} ignored: {option('rate', f'{spec.rate:g}')} given")
        elif fs.rate and abs(fs.rate - spec.rate) > 1e-9 * spec.rate:
            notice(path, f"the file's rate {fs.rate:g} Hz replaced by {option('rate', f'{spec.rate:g}')}")
        return Grid(cols, spec.rate, whole)
    if fs.times is not None:
        # a file with a rate and times: no reader gives both, so its times are _timed_by_its_rate's, and the
        # rows left out were named by _drop_missing_rows (a reader that gives both must revisit this)
        g = steady_parts(fs.times, cols, spec, path, fs.time_origin, split=split, missing_said=bool(fs.rate))
        lo, hi = spec.accepted_rates or (0.0, np.inf)
        if not lo <= g.rate <= hi:  # say how the time was read: its unit may be the problem
            raise rate_refused(path, g.rate, (lo, hi), spec.device_rate, fs.time_note)
        return g
    if fs.rate:
        return Grid(cols, fs.rate, whole)
    raise TinymlError(f"{path}: no time column (timestamp in ms, time_s ...) and no rate given: "
                      f"add one, or give {option('rate', 'HZ')}")


def rate_refused(source, rate: float, accepted: tuple[float, float], device_rate: float | None,
                 how: str = "") -> TinymlError:
    """The one-line refusal of a rate outside the app's accepted_rates, in the words a user thinks in (Hz, or
    one sample every 15 min for a logger), saying what to do. `how`: how the file's time was read."""
    lo, hi = accepted
    said = f" ({how})" if how else ""
    if rate > hi and device_rate:
        todo = (f"resample it to {device_rate:.6g} Hz first" if device_rate >= 1 else
                f"average it to {_rate_words(device_rate)} first")
    elif rate < lo:
        need = f"{lo:.6g} Hz or more" if lo >= 1 else f"a sample at least every {duration_words(1 / lo)}"
        todo = f"the app needs {need} ({option('rate', 'HZ')} if the file's rate is misread)"
    else:
        todo = f"give {option('rate', 'HZ')} if the file's rate is wrong"
    span = (f"{lo:g}-{hi:g} Hz" if lo >= 1 else
            f"every {duration_words(1 / hi)} to {duration_words(1 / lo)}" if lo > 0 else f"up to {_rate_words(hi)}")
    return TinymlError(f"{source}: {_rate_words(rate)}{said} not supported; accepted {span}: {todo}")


def _rate_words(hz: float) -> str:
    """`sample rate 16000 Hz`, or `one sample every 15 min` below 1 Hz (a logger's interval)."""
    return f"sample rate {hz:.6g} Hz" if hz >= 1 else f"one sample every {duration_words(1 / hz)}"
