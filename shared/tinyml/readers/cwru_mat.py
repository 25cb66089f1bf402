"""Case Western Reserve University bearing data: one MATLAB v5 `.mat` file per record, as distributed.

A record holds up to three accelerometer channels and the motor speed, under names that carry the
record number: `X130_DE_time` (drive end), `X130_FE_time` (fan end), `X130_BA_time` (base) and
`X130RPM`. The number in the names sometimes differs from the file's (the 0.028 in files hold X048...),
so channels are chosen by their suffix. Values are acceleration in g; there is no time axis and no
rate in the file: 12 kHz or 48 kHz depends on the part of the data set, so the rate is read from the
file's path (a `12k...` or `48k...` folder or name, as both public layouts have), else from the record
number for the records whose rate is certain. The normal baseline records (97-100) are 48 kHz: their fan
end spectrum matches the healthy fan-end channels of the 12 kHz records only at 48 kHz (a common mistake
reads them as 12 kHz, which puts the shaft line at a quarter of its speed).

`parse(path)` is the format; `claim`/`read` make it a reader for `predict` and `run` (the drive-end
channel by default, the fan end's for a record whose path marks a fan-end fault, another with `--channel FE`);
datasets/cwru labels and splits whole folders.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..bearing import KNOWN
from ..errors import TinymlError, notice, option
from . import FileSignal, the_one_channel

MAX_RPM = 100_000.0  # past any motor a vibration sensor sits on: a stored speed above it is a broken field

MAT_MAGIC = b"MATLAB 5.0 MAT-file"
ENDS = ("DE", "FE", "BA")  # drive end, fan end, base: the channel names a user picks with --channel
BEARING_AT = {"DE": "skf-6205", "FE": "skf-6203"}  # the bearing under each end's accelerometer (tinyml.bearing)
_CHANNEL = re.compile(r"^X?(\d+)_(DE|FE|BA)_time$")
_RPM = re.compile(r"^X?(\d+)RPM$")

# Record numbers whose rate is certain from the data set's own tables (normal baseline at 48 kHz, and the
# 12 kHz drive-end and fan-end series); any other number needs a 12k/48k path or --rate.
_RATE_BY_NUMBER: dict[int, float] = {
    **{n: 48000.0 for n in range(97, 101)},
    **{n: 12000.0 for a, b in ((105, 108), (118, 121), (130, 133), (144, 147), (156, 160), (169, 172), (185, 188),
                               (197, 200), (209, 212), (222, 225), (234, 237), (246, 249), (258, 261),
                               (270, 318), (3001, 3008)) for n in range(a, b + 1)},
}


@dataclass
class CwruRecord:
    channels: dict[str, np.ndarray]  # "DE"/"FE"/"BA" -> float64 [n] acceleration in g
    number: int | None  # the record number in the variable names
    rpm: float | None  # motor speed stated in the file
    rate: float | None  # Hz, from the path or the record number; None when unknown
    keys: list[str] = field(default_factory=list)


def rate_from_path(path: Path) -> float | None:
    """12 kHz or 48 kHz from a `12k_DE`, `48k Drive End...`, `12k_Drive_End_IR007_0_105.mat` component;
    the normal baseline (a `Normal` folder or a `normal_...` name) is 48 kHz."""
    for part in reversed(Path(path).parts):
        low = part.lower()
        if re.search(r"(^|[^0-9])12\s*k", low):
            return 12000.0
        if re.search(r"(^|[^0-9])48\s*k", low):
            return 48000.0
    if any(p.lower().startswith("normal") for p in Path(path).parts[-2:]):
        return 48000.0
    return None


def fan_end_from_path(path: Path) -> bool:
    """Whether the path marks the fan-end bearing's fault data (a `12k_FE` folder, `12k Fan End Bearing Fault
    Data`, a `12k_Fan_End_B007_0_282.mat` name, in the last four parts): `FE` alone (a user's folder) is not."""
    low = " ".join(p.lower() for p in Path(path).parts[-4:])
    return bool(re.search(r"(^|[^a-z0-9])(12|48)\s*k[\s_-]*fe([^a-z]|$)", low) or re.search(r"fan[\s_-]*end", low))


# The record's identity from its file name or Data Center number (the data set's loader labels by it; predict
# reads the defective bearing's own channel by it).
_FAULT = re.compile(r"(?:^|_)(B|IR|OR)(\d{3})(?:@(\d+))?_(\d)(?:_\d+)?$", re.IGNORECASE)
_NORMAL = re.compile(r"(?:^|_)normal_?(\d)(?:_\d+)?$", re.IGNORECASE)
_NUMBER = re.compile(r"^(\d+)$")


def _series(start: int, end_: str, fault: str, size: int, pos: int | None, loads=(0, 1, 2, 3), numbers=None):
    nums = numbers or range(start, start + len(loads))
    return {n: (end_, fault, size, pos, load) for n, load in zip(nums, loads)}


# The 12 kHz records by their Data Center number (checked against the variable names of both public
# mirrors); other numbers need a descriptive file name.
BY_NUMBER: dict[int, tuple[str, str, int, int | None, int]] = {
    **_series(97, "DE", "N", 0, None),
    **_series(105, "DE", "IR", 7, None), **_series(118, "DE", "B", 7, None), **_series(130, "DE", "OR", 7, 6),
    **_series(144, "DE", "OR", 7, 3), **_series(0, "DE", "OR", 7, 12, numbers=(156, 158, 159, 160)),
    **_series(169, "DE", "IR", 14, None), **_series(185, "DE", "B", 14, None), **_series(197, "DE", "OR", 14, 6),
    **_series(209, "DE", "IR", 21, None), **_series(222, "DE", "B", 21, None), **_series(234, "DE", "OR", 21, 6),
    **_series(246, "DE", "OR", 21, 3), **_series(258, "DE", "OR", 21, 12),
    **_series(270, "FE", "IR", 21, None), **_series(274, "FE", "IR", 14, None), **_series(278, "FE", "IR", 7, None),
    **_series(282, "FE", "B", 7, None), **_series(286, "FE", "B", 14, None), **_series(290, "FE", "B", 21, None),
    **_series(294, "FE", "OR", 7, 6), **_series(298, "FE", "OR", 7, 3),
    **_series(0, "FE", "OR", 7, 12, numbers=(302, 305, 306, 307)), **_series(309, "FE", "OR", 14, 3),
    **_series(313, "FE", "OR", 14, 6, loads=(0,)), **_series(315, "FE", "OR", 21, 6, loads=(0,)),
    **_series(316, "FE", "OR", 21, 3, loads=(1, 2, 3)),
}


def describe(path: Path) -> tuple[str, str, int, int | None, int] | None:
    """(end, fault code N/B/IR/OR, size in mils, clock position or None, load HP) from the file's name and
    folders; None when neither the name nor the number tells."""
    path = Path(path)
    stem = path.stem
    end_ = "FE" if fan_end_from_path(path) else "DE"
    m = _NORMAL.search(stem)
    if m:
        return ("DE", "N", 0, None, int(m.group(1)))
    m = _FAULT.search(stem)
    if m:
        pos = int(m.group(3)) if m.group(3) else None
        return (end_, m.group(1).upper(), int(m.group(2)), pos, int(m.group(4)))
    m = _NUMBER.match(stem)
    if m and int(m.group(1)) in BY_NUMBER:
        return BY_NUMBER[int(m.group(1))]
    return None


def load_mat(path: Path, squeeze_me: bool) -> dict:
    """scipy's loadmat, with a damaged or truncated file as one line naming it."""
    from scipy.io import loadmat

    try:
        return loadmat(path, squeeze_me=squeeze_me)
    except (ValueError, OSError, TypeError, IndexError, zlib.error) as e:
        raise TinymlError(f"{path}: unreadable .mat file, truncated or damaged ({str(e).splitlines()[0][:80]})") from None


def parse(path: Path, mat: dict | None = None) -> CwruRecord:
    """Read a CWRU record; TinymlError (one line, naming the file) for anything that is not one. `mat`: the
    file's variables when the caller has loaded them already (scipy.io.loadmat, squeezed or not): a
    compressed file costs a whole decompression per load."""
    path = Path(path)
    if mat is None:
        try:
            with open(path, "rb") as f:
                head = f.read(len(MAT_MAGIC))
        except OSError as e:
            raise TinymlError(f"{path}: cannot read ({e.strerror})") from None
        if head != MAT_MAGIC:
            raise TinymlError(f"{path}: not a MATLAB v5 .mat file (a CWRU record is one)")
        mat = load_mat(path, squeeze_me=False)
    channels: dict[str, np.ndarray] = {}
    numbers: set[int] = set()
    rpm = None
    keys = [k for k in mat if not k.startswith("__")]
    for k in keys:
        m = _CHANNEL.match(k)
        if m:
            v = np.asarray(mat[k])
            column = v.ndim <= 1 or (v.ndim == 2 and min(v.shape) == 1)  # (n, 1) as saved, (n,) squeezed
            if not np.issubdtype(v.dtype, np.number) or v.size == 0 or not column:
                raise TinymlError(f"{path}: variable {k} is not a column of numbers")
            channels[m.group(2)] = v.astype(np.float64).reshape(-1)
            numbers.add(int(m.group(1)))
        m = _RPM.match(k)
        if m and np.asarray(mat[k]).size:
            try:
                r = float(np.asarray(mat[k], dtype=np.float64).reshape(-1)[0])
            except (TypeError, ValueError):
                r = float("nan")
            rpm = r if np.isfinite(r) and 0 < r <= MAX_RPM else None
            if rpm is None:
                notice(path, f"{k} is no motor speed ({np.asarray(mat[k]).reshape(-1)[:1]}): the [machine] speed "
                             f"stands; give the record's, e.g. {option('set', 'machine.shaft_rpm=1797')}")
    if not channels:
        raise TinymlError(f"{path}: no CWRU channel (a variable named like X097_DE_time); it has "
                          f"{', '.join(keys[:8]) or 'no variables'}")
    number = min(numbers) if numbers else None
    rate = rate_from_path(path)
    if rate is None and number is not None:
        rate = _RATE_BY_NUMBER.get(number)
    return CwruRecord(channels, number, rpm, rate, keys)


def claim(path: Path, head: bytes) -> int:
    if head.startswith(MAT_MAGIC) and (b"_DE_time" in head or b"_FE_time" in head):
        return 90  # variable names sit in the first KiB when uncompressed
    return 30 if path.suffix.lower() == ".mat" and head.startswith(MAT_MAGIC) else 0


def read(path: Path, spec, mat: dict | None = None):
    """The drive-end channel (or the one --channel names: DE, FE, BA) as the app's one channel; the rate from
    the path or --rate; the motor speed the file states and that end's bearing as [machine] values. `mat`:
    the variables, when the generic .mat reader has loaded them to find out that the file is CWRU's."""
    rec = parse(path, mat)
    ch = the_one_channel(spec, path, "a CWRU record has one accelerometer per bearing")
    want = spec.picks.get(ch)
    if want is None:
        key = "DE" if "DE" in rec.channels else next(iter(rec.channels))
        what = describe(path)
        if what and what[0] == "FE" and what[1] != "N" and "FE" in rec.channels:  # the drive end sees it second-hand
            key = "FE"
            notice(path, f"a fan-end fault record (its path or number says so): reading the fan-end channel and its bearing "
                         f"({option('channel', 'DE')} reads the drive end)")
        elif key != "DE":
            notice(path, f"no drive-end channel; using {key}")
    else:
        key = want.strip().upper().removesuffix("_TIME")[-2:]
        if key not in rec.channels:
            raise TinymlError(f"{path}: no channel {want!r} in this record; it has {', '.join(rec.channels)} "
                              f"({option('channel', 'FE')} picks the fan end)")
    if rec.rate is None and spec.rate is None:
        raise TinymlError(f"{path}: a CWRU file does not state its rate and its path does not say 12k or 48k; "
                          f"give {option('rate', '12000')} (or 48000)")
    machine = {**KNOWN[BEARING_AT[key]]} if key in BEARING_AT else {}
    if rec.rpm is not None:
        machine["shaft_hz"] = rec.rpm / 60.0
    return FileSignal({ch: rec.channels[key]}, rate=rec.rate, units={ch: "g"}, names={ch: f"{key}_time"},
                      deployment={"machine": machine} if machine else {})
