"""A recording: one multichannel signal with its rate, channel names and ground truth.

This is the unit every dataset yields and every input file becomes. `read_recording` is the one way
a user's file becomes a Recording in the manifest's channels, units and a steady rate: a reader from
tinyml.readers (chosen by the file) gets its columns, then the same steps for every format settle
units and plausible ranges, time, and missing optional channels. Bad input is refused with one line
that names the problem.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import TinymlError, notice, option
from .readers import FileSignal, ReadSpec, reader_for
from .regularize import steady
from .units import to_manifest_units


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

    @property
    def duration(self) -> float:
        return self.signal.shape[0] / self.rate


def read_recording(path: Path, spec: ReadSpec | Sequence[str], rate: float | None = None) -> Recording:
    """A user's file (any format a reader claims) as a Recording with the spec's channels: required ones
    first, then optional ones (NaN columns when absent, named in `missing`), in the spec's units, at a
    steady rate. `spec` may be a bare list of channel names (no aliases, units or range checks);
    `rate` is --rate for that bare form (a ReadSpec carries its own)."""
    path = Path(path)
    if not isinstance(spec, ReadSpec):
        spec = ReadSpec(channels=tuple(spec), rate=rate)
    if not path.exists():
        raise TinymlError(f"{path}: file not found")
    if path.is_dir():
        raise TinymlError(f"{path}: is a folder, expected a recording file")
    fs = reader_for(path).read(path, spec)
    if fs.n == 0:
        raise TinymlError(f"{path}: recording has no samples")
    _check_required_finite(fs, spec, path)
    cols = to_manifest_units(fs.columns, fs.units, spec, path)
    cols, rate = _steady(fs, cols, spec, path)
    n = len(next(iter(cols.values())))
    signal = np.full((n, len(spec.all_channels)), np.nan, np.float32)
    for j, ch in enumerate(spec.all_channels):
        if ch in cols:
            signal[:, j] = cols[ch]
    missing = tuple(c for c in spec.optional if c not in cols)
    if missing:
        notice(path, f"optional channel{'s' if len(missing) > 1 else ''} {', '.join(missing)} not in the file: "
                     "NaN (missing) for the pipeline")
    return Recording(signal, float(rate), spec.all_channels, source=str(path), missing=missing,
                     deployment=fs.deployment)


def _check_required_finite(fs: FileSignal, spec: ReadSpec, path: Path) -> None:
    """NaN or inf in a required channel is refused (an optional channel may have holes: they stay NaN)."""
    for ch in spec.channels:
        bad = ~np.isfinite(fs.columns[ch])
        if bad.any():
            # with a time column, a row left out is a gap, interpolated up to max_gap_s: say so
            hint = "; leave the row out, and the gap is interpolated" if fs.times is not None else ""
            raise TinymlError(f"{path}: non-finite value (NaN/inf, or empty) in channel {ch!r} at sample "
                              f"{int(np.argmax(bad))}{hint}")


def _steady(fs: FileSignal, cols: dict[str, np.ndarray], spec: ReadSpec, path: Path) -> tuple[dict, float]:
    """The columns at one steady rate: the user's --rate, else the file's times or stated rate."""
    if spec.rate is not None:
        if not (spec.rate > 0 and np.isfinite(spec.rate)):
            raise TinymlError(f"{option('rate', str(spec.rate))}: must be a rate in Hz above 0")
        if fs.times is not None or fs.time_note:
            notice(path, f"{fs.time_note or 'time column'} ignored: {option('rate', f'{spec.rate:g}')} given")
        elif fs.rate and abs(fs.rate - spec.rate) > 1e-9 * spec.rate:
            notice(path, f"the file's rate {fs.rate:g} Hz replaced by {option('rate', f'{spec.rate:g}')}")
        return cols, spec.rate
    if fs.times is not None:
        cols, rate = steady(fs.times, cols, spec, path, fs.time_origin)
        lo, hi = spec.accepted_rates or (0.0, np.inf)
        if not lo <= rate <= hi:  # say how the time was read: its unit may be the problem
            raise TinymlError(f"{path}: sample rate {rate:.4g} Hz ({fs.time_note}) not supported; "
                              f"accepted {lo:g}-{hi:g} Hz")
        return cols, rate
    if fs.rate:
        return cols, fs.rate
    raise TinymlError(f"{path}: no time column (timestamp in ms, time_s ...) and no rate given: "
                      f"add one, or give {option('rate', 'HZ')}")
