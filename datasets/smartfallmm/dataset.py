"""SmartFallMM loader: a MetaMotion sensor on the hip and a phone in the front trouser pocket (by default; the
wrist sensors on request), read as `tinyml predict` reads each file.

Layout (Texas State University, github.com/txst-cs-smartfall/SmartFallMM-Dataset, as distributed):

    <root>/{young,old}/accelerometer/{meta_hip,phone,meta_wrist,watch}/S<subject>A<activity>T<trial>.csv

The four sensors recorded each trial at once. MetaMotion files (g, 25-50 Hz): `epoch (ms), time, elapsed (s),
x-axis (g), y-axis (g), z-axis (g)`, most without that heading row; phone and watch files (m/s^2): `date time,
x, y, z`, without a heading. A file's columns are found as predict finds them (the core CSV reader: by a
heading's names; without one, the columns left once the time and clock columns are out); a file predict refuses
for want of a heading is read by its sensor's column numbers, as that refusal tells a user (`--channel ax=4
...`). Activities A01-A09 are daily activities (label "adl"), A10-A14 falls (label "fall"); young people
performed both, older people the daily activities only (cohort "young" / "old"). No impact time is annotated:
a fall's event is ESTIMATED as its peak of |a|. A subject is `smartfallmm-<young|old>-S<nn>`: one person's
files from every sensor are one split group.

Each file is read with the app's reading rules, as datasets/mobifall reads its own (its read_whole: a file
predict would not score whole is left out, one notice counts them). Imported by file path (not as a package).
"""

from __future__ import annotations

import re
from pathlib import Path

from tinyml.data import dataset_module
from tinyml.errors import TinymlError
from tinyml.readers import ReadSpec, parse_picks
from tinyml.readers.csv import NO_HEADING
from tinyml.recording import Recording

_FILES = dataset_module("mobifall")  # read_whole, as_trial, progress_of, left_out_notice

KIND = "SmartFallMM, a MetaMotion sensor on the hip and a phone in a trouser pocket"
TRIAL_FILE = re.compile(r"^S(\d+)A(\d+)T(\d+)\.csv$")
GROUPS = ("young", "old")
ACTIVITIES = {
    "A01": "drinking water", "A02": "picking up an object", "A03": "putting on and taking off a jacket",
    "A04": "stepping up", "A05": "sweeping the floor", "A06": "washing hands", "A07": "waving a hand",
    "A08": "walking (the TUG test for older people)", "A09": "sitting down and standing up",
    "A10": "fall backward", "A11": "fall forward", "A12": "fall to the left", "A13": "fall to the right",
    "A14": "fall while turning",
}
FALLS = {"A10", "A11", "A12", "A13", "A14"}
# sensor folder -> (position, the columns of a file without a heading: MetaMotion epoch, date-time, elapsed, x, y,
# z; phone and watch date-time, x, y, z)
SENSORS = {
    "meta_hip": ("hip (MetaMotion sensor)", ("ax=4", "ay=5", "az=6")),
    "phone": ("front trouser pocket (phone)", ("ax=2", "ay=3", "az=4")),
    "meta_wrist": ("wrist (MetaMotion sensor)", ("ax=4", "ay=5", "az=6")),
    "watch": ("wrist (smartwatch)", ("ax=2", "ay=3", "az=4")),
}
WORN_AT_THE_WAIST = ("meta_hip", "phone")  # the default: where a waist device sits (hip, trouser pocket)


def subject_id(group: str, number: str | int) -> str:
    """The split key of SmartFallMM's subject S<number> of a group (distinct from every other source's)."""
    return f"smartfallmm-{group}-S{int(number):02d}"


def find_trials(root: Path, sensors=tuple(SENSORS)) -> list[tuple[Path, str, str, str, str]]:
    """(file, subject id, activity code, sensor folder, group) of every accelerometer trial of those sensors."""
    root = Path(root)
    if not root.is_dir():
        raise TinymlError(f"{root}: not a folder (point the smartfallmm source at the SmartFallMM-Dataset folder)")
    unknown = sorted(set(sensors) - set(SENSORS))
    if unknown:
        raise TinymlError(f"smartfallmm: unknown sensor {unknown[0]!r}; choose from {', '.join(SENSORS)}")
    out = []
    for p in sorted(root.rglob("S*A*T*.csv")):
        mo = TRIAL_FILE.match(p.name)
        sensor, group = p.parent.name, p.parent.parent.parent.name
        if mo is None or sensor not in sensors or p.parent.parent.name != "accelerometer" or group not in GROUPS:
            continue
        code = f"A{int(mo.group(2)):02d}"
        if code in ACTIVITIES and p.is_file():
            out.append((p, subject_id(group, mo.group(1)), code, sensor, group))
    if not out:
        raise TinymlError(f"{root}: no SmartFallMM accelerometer trials found (expected <young|old>/accelerometer/"
                          f"<sensor>/S<n>A<n>T<n>.csv, sensor one of {', '.join(sensors)})")
    return out


def read_file(file: Path, sensor: str, manifest) -> Recording | str:
    """The file as predict reads it (the core reader's rule for its columns, heading or not), or why it is left
    out. One predict refuses for want of a heading is read with its sensor's columns, as that refusal tells a
    user (`--channel ax=4 ...`): a MetaMotion file whose clock jumps, its elapsed seconds then no clock."""
    rec = _FILES.read_whole(file, ReadSpec.from_manifest(manifest), manifest)
    if isinstance(rec, str) and NO_HEADING in rec:
        picks = parse_picks(SENSORS[sensor][1], manifest.channels)
        return _FILES.read_whole(file, ReadSpec.from_manifest(manifest, picks=picks), manifest)
    return rec


def load(path, *, rate: float, channels, manifest=None, sensors=WORN_AT_THE_WAIST,
         progress: bool = False) -> list[Recording]:
    """Every accelerometer trial of `sensors` as a Recording at its own steady rate (the core resamples to
    `rate`), read with the manifest's rules (the core passes it)."""
    if manifest is None:
        raise TinymlError("smartfallmm: needs the app's manifest to read files as predict does (the core passes it)")
    files = find_trials(Path(path), tuple(sensors))
    recs, left_out = [], []
    for file, subject, code, sensor, group in _FILES.progress_of(files, progress):
        rec = read_file(file, sensor, manifest)
        if isinstance(rec, str):
            left_out.append(f"{sensor}/{file.name}: {rec}")
            continue
        recs.append(_FILES.as_trial(rec, subject, code, "fall" if code in FALLS else "adl", cohort=group))
    _FILES.left_out_notice("smartfallmm", left_out, len(files))
    return recs


def position(rec: Recording) -> str:
    """Where the recording's sensor was worn (from its file's folder)."""
    return SENSORS[Path(rec.source).parent.name][0]
