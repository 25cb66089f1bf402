"""MobiFall v2.0 loader: a phone in a trouser pocket, read as `tinyml predict` reads each file.

Layout (Vavoulas et al. 2014, as distributed):

    <root>/sub<N>/{FALLS,ADL}/<CODE>/<CODE>_{acc,gyro,ori}_<N>_<trial>.txt     e.g. sub1/FALLS/FOL/FOL_acc_1_1.txt

Each accelerometer file: a `#` comment preamble (its heading `#timestamp(ns),x,y,z(m/s^2)` among it), `@DATA`,
then `<ns>, x, y, z` rows in m/s^2 at about 81-99 Hz with irregular timestamps (a Samsung Galaxy S3, +-2 g).
Only `_acc_` files are read (gyroscope and orientation files are other sensors). Codes FOL, FKL, BSC, SDL are
falls (label "fall"), the 9 daily activities ADL codes (label "adl"); 24 people performed the falls, 9 of
them the daily activities too. No impact time is annotated: a fall's event is ESTIMATED as its peak of |a|,
as for SisFall.

Each file is read by the core's readers with the app's reading rules (heading, aliases, units, time column,
max_gap_s: tinyml.readers.ReadSpec.from_manifest), so training sees exactly what `predict` sees. A file that
would not be scored as one recording (refused, cut at a gap, shorter than one window) is left out; one notice
counts them. Imported by file path (not as a package): only absolute imports of numpy/tinyml.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
from pathlib import Path

import numpy as np

from tinyml.errors import TinymlError, notices_held
from tinyml.readers import ReadSpec
from tinyml.recording import Recording, read_recording_parts

KIND = "MobiFall v2.0, a phone in a trouser pocket (24 people)"
TRIAL_FILE = re.compile(r"^([A-Z]{3})_acc_(\d+)_(\d+)\.txt$")
FALLS = {
    "FOL": "forward-lying: fall forward from standing, hands used to dampen the fall",
    "FKL": "front-knees-lying: fall forward from standing, first impact on the knees",
    "BSC": "back-sitting-chair: fall backward while trying to sit on a chair",
    "SDL": "sideward-lying: fall sidewards from standing, bending the legs",
}
ADLS = {
    "STD": "standing with subtle movements (5 min)",
    "WAL": "normal walking (5 min)",
    "JOG": "jogging (30 s)",
    "JUM": "continuous jumping (30 s)",
    "STU": "stairs up, 10 stairs (10 s)",
    "STN": "stairs down, 10 stairs (10 s)",
    "SCH": "sitting on a chair (6 s)",
    "CSI": "stepping into a car (6 s)",
    "CSO": "stepping out of a car (6 s)",
}
ACTIVITIES = {**FALLS, **ADLS}
POSITION = "trouser pocket (phone)"


def subject_id(number: str | int) -> str:
    """The split key of MobiFall's subject N (distinct from every other source's)."""
    return f"mobifall-{int(number)}"


def find_trials(root: Path) -> list[tuple[Path, str, str]]:
    """(file, subject id, activity code) of every accelerometer trial under root, sorted."""
    root = Path(root)
    if not root.is_dir():
        raise TinymlError(f"{root}: not a folder (point the mobifall source at the MobiFall_Dataset_v2.0 folder)")
    out = []
    for p in sorted(root.rglob("*_acc_*.txt")):
        mo = TRIAL_FILE.match(p.name)
        if mo and mo.group(1) in ACTIVITIES and p.is_file():
            out.append((p, subject_id(mo.group(2)), mo.group(1)))
    if not out:
        raise TinymlError(f"{root}: no MobiFall accelerometer trials found (expected sub<N>/{{FALLS,ADL}}/<CODE>/"
                          f"<CODE>_acc_<N>_<trial>.txt, CODE one of {', '.join(ACTIVITIES)})")
    return out


def load(path, *, rate: float, channels, manifest=None, progress: bool = False) -> list[Recording]:
    """Every MobiFall accelerometer trial as a Recording at its own steady rate (the core resamples to `rate`),
    read with the manifest's rules (the core passes it)."""
    if manifest is None:
        raise TinymlError("mobifall: needs the app's manifest to read files as predict does (the core passes it)")
    spec = ReadSpec.from_manifest(manifest)
    files = find_trials(Path(path))
    recs, left_out = [], []
    for file, subject, code in progress_of(files, progress):
        rec = read_whole(file, spec, manifest)
        if isinstance(rec, str):
            left_out.append(f"{file.name}: {rec}")
            continue
        recs.append(as_trial(rec, subject, code, "fall" if code in FALLS else "adl", cohort=""))
    left_out_notice("mobifall", left_out, len(files))
    return recs


# --- reading a trial file whole (datasets/smartfallmm uses these too) ------------------------------------------


def read_whole(file: Path, spec: ReadSpec, manifest) -> Recording | str:
    """The file as one recording, or why it is left out: refused by the reader, cut at a gap longer than
    max_gap_s into parts of a window or more (predict would score them apart), or shorter than one window at
    the device rate (a part shorter than one window beside a longer one is dropped, as predict drops it). The
    reader's notices (units converted, rows stamped in bursts) are not printed: thousands of files, each as
    the data set is."""
    try:
        with contextlib.redirect_stderr(io.StringIO()), notices_held():
            parts, _ = read_recording_parts(file, spec)
    except TinymlError as e:
        return str(e).replace(f"{file}: ", "", 1)
    window = int(manifest.features["window"])
    # predict's prepare and read_input_parts: each part's samples once resampled to the device rate (a part one
    # sample short after resampling is skipped there too)
    whole = [p for p in parts if _device_samples(p, manifest) >= window]
    if len(whole) > 1:
        return f"cut into {len(whole)} parts at gaps"
    if not whole:
        window_s = window / manifest.rate
        return f"{parts[0].duration:.2f} s, shorter than one window ({window_s:g} s)" if len(parts) == 1 else (
            f"cut into {len(parts)} parts at gaps, each shorter than one window ({window_s:g} s)")
    return whole[0]


def _device_samples(rec: Recording, manifest) -> float:
    """The recording's length at the device rate; exact (the resampler's own count) near one window."""
    n = len(rec.signal) * manifest.rate / rec.rate
    if n >= int(manifest.features["window"]) + 1 or abs(rec.rate - manifest.rate) < 1e-6 * manifest.rate:
        return n
    return len(manifest.resample(rec.signal, rec.rate))


def as_trial(rec: Recording, subject: str, code: str, label: str, cohort: str) -> Recording:
    """The recording labelled as a trial; a fall's event at its peak of |a| (no impact time is annotated)."""
    rec.subject, rec.label, rec.activity, rec.cohort = subject, label, code, cohort
    rec.events = []
    if label == "fall":
        mag = np.sqrt(np.sum(np.asarray(rec.signal, np.float64) ** 2, axis=1))
        rec.events = [(float(np.argmax(mag)) / rec.rate, "fall")]
    return rec


def progress_of(files, progress: bool):
    if not progress:
        return files
    from tqdm import tqdm

    return tqdm(files, desc="files", unit="file")


def left_out_notice(name: str, left_out: list[str], total: int) -> None:
    if left_out:
        print(f"notice: {name}: {len(left_out)} of {total} files left out, as predict would not score them whole "
              f"(e.g. {left_out[0]})", file=sys.stderr)
