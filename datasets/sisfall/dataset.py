"""SisFall loader: the real public layout, read as it is distributed.

Layout (Sucerquia, Lopez and Vargas-Bonilla, Sensors 2017):

    <root>/SA01 ... SA23, SE01 ... SE15 / <CODE>_<SUBJ>_<Rnn>.txt      e.g. F05_SA01_R04.txt

Each file holds 200 Hz samples, one per line: 9 comma-separated integers, the line ending with ';'
and padded with spaces (two files of the distribution, D01_SA01_R01 and D02_SA01_R01, have no ';'
on any line: a file is read either way, but never with a mix). Columns 1-3 are the ADXL345 (13 bit, +-16 g: g = raw*32/8192), 4-6 the
ITG3200 gyroscope, 7-9 the MMA8451Q (14 bit, +-8 g: g = raw*16/16384).

Codes D01-D19 are activities of daily living (label "adl"), F01-F15 are falls (label "fall").
Subjects SA01-SA23 are adults aged 19-30 (cohort "adult"), SE01-SE15 elderly people aged 60-75 (cohort
"elderly"); of the elderly only SE06 (a judo expert) performed the falls.
SisFall has no fall-onset or impact annotation: the impact time of a fall trial is ESTIMATED here
as the time of the peak of |a| over the trial (the impact dominates every SisFall fall trial).

The trial layout is parsed by tinyml.readers.sisfall.read_trial, the parser `predict` reads a trial with.
Imported by file path (not as a package): only absolute imports of numpy/scipy/tinyml.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from tinyml.errors import TinymlError
from tinyml.readers.sisfall import ADXL345_G_PER_COUNT, MMA8451Q_G_PER_COUNT, TRIAL_FILE, read_trial
from tinyml.readers.sisfall import RATE as NATIVE_RATE
from tinyml.recording import Recording

# sensor -> (first column, 0-based; raw -> g factor)
SENSORS = {
    "adxl345": (0, ADXL345_G_PER_COUNT),
    "mma8451q": (6, MMA8451Q_G_PER_COUNT),
}
COHORTS = {"SA": "adult", "SE": "elderly"}
SUBJECT_DIR = re.compile(r"^S[AE]\d\d$")

ACTIVITIES = {
    "D01": "walking slowly",
    "D02": "walking quickly",
    "D03": "jogging slowly",
    "D04": "jogging quickly",
    "D05": "walking upstairs and downstairs slowly",
    "D06": "walking upstairs and downstairs quickly",
    "D07": "slowly sit in a half height chair, wait a moment, and up slowly",
    "D08": "quickly sit in a half height chair, wait a moment, and up quickly",
    "D09": "slowly sit in a low height chair, wait a moment, and up slowly",
    "D10": "quickly sit in a low height chair, wait a moment, and up quickly",
    "D11": "sitting a moment, trying to get up, and collapse into a chair",
    "D12": "sitting a moment, lying slowly, wait a moment, and sit again",
    "D13": "sitting a moment, lying quickly, wait a moment, and sit again",
    "D14": "being on one's back change to lateral position, wait a moment, and change to one's back",
    "D15": "standing, slowly bending at knees, and getting up",
    "D16": "standing, slowly bending without bending knees, and getting up",
    "D17": "standing, get into a car, remain seated and get out of the car",
    "D18": "stumble while walking",
    "D19": "gently jump without falling (trying to reach a high object)",
    "F01": "fall forward while walking caused by a slip",
    "F02": "fall backward while walking caused by a slip",
    "F03": "lateral fall while walking caused by a slip",
    "F04": "fall forward while walking caused by a trip",
    "F05": "fall forward while jogging caused by a trip",
    "F06": "vertical fall while walking caused by fainting",
    "F07": "fall while walking, with use of hands in a table to dampen fall, caused by fainting",
    "F08": "fall forward when trying to get up",
    "F09": "lateral fall when trying to get up",
    "F10": "fall forward when trying to sit down",
    "F11": "fall backward when trying to sit down",
    "F12": "lateral fall when trying to sit down",
    "F13": "fall forward while sitting, caused by fainting or falling asleep",
    "F14": "fall backward while sitting, caused by fainting or falling asleep",
    "F15": "lateral fall while sitting, caused by fainting or falling asleep",
}


def load(
    path: Path,
    *,
    rate: float,
    channels: list[str] | tuple[str, ...],
    sensor: str = "adxl345",
    subjects: list[str] | None = None,
    activities: list[str] | None = None,
    resample: bool = True,
    progress: bool = False,
    on_error: str = "raise",
) -> list[Recording]:
    """Read every trial under `path` (the folder holding SA01..SE15, or one level above it).

    sensor: "adxl345" (cols 1-3, default) or "mma8451q" (cols 7-9).
    subjects / activities: optional filters, e.g. ["SA01", "SE02"] / ["D19", "F01"].
    resample: when True and `rate` differs from 200 Hz, resample each trial here (per file, so the
    whole dataset never sits in memory at 200 Hz); otherwise return 200 Hz and let the core resample.
    Channels map to the sensor's x, y, z by their last letter (ax/ay/az), else by position.
    on_error: "raise" (default) stops at the first bad file with a one-line TinymlError naming file and line;
    "skip" leaves bad files out, with a notice on stderr for each.
    """
    root = Path(path)
    if on_error not in ("raise", "skip"):
        raise TinymlError(f"sisfall: on_error must be 'raise' or 'skip', got {on_error!r}")
    if sensor not in SENSORS:
        raise TinymlError(f"sisfall: unknown sensor {sensor!r}; choose one of {', '.join(SENSORS)}")
    axes = _axis_order(channels)
    files = find_trials(root)
    if subjects:
        files = [f for f in files if f[1] in set(subjects)]
    if activities:
        files = [f for f in files if f[2] in set(activities)]
    if not files:
        raise TinymlError(f"{root}: no SisFall trials found (expected SA01..SE15/<CODE>_<SUBJ>_<Rnn>.txt)")
    it = files
    if progress:
        from tqdm import tqdm

        it = tqdm(files, desc="sisfall", unit="trial")
    col0, scale = SENSORS[sensor]
    recs = []
    for file, subject, code in it:
        try:
            raw = read_trial(file)
        except TinymlError as e:
            if on_error == "raise":
                raise
            import sys

            print(f"notice: skipped {e}", file=sys.stderr)
            continue
        g = raw[:, col0 : col0 + 3].astype(np.float32) * np.float32(scale)
        g = np.ascontiguousarray(g[:, axes])
        is_fall = code.startswith("F")
        events: list[tuple[float, str]] = []
        if is_fall:
            mag = np.sqrt(np.sum(g.astype(np.float64) ** 2, axis=1))
            events = [(float(np.argmax(mag)) / NATIVE_RATE, "fall")]
        out_rate = NATIVE_RATE
        if resample and abs(rate - NATIVE_RATE) > 1e-6:
            g = _resample(g, NATIVE_RATE, float(rate))
            out_rate = float(rate)
        recs.append(
            Recording(
                signal=g,
                rate=out_rate,
                channels=tuple(channels),
                subject=subject,
                label="fall" if is_fall else "adl",
                activity=code,
                events=events,
                source=str(file),
                cohort=COHORTS[subject[:2]],
            )
        )
    return recs


def find_trials(root: Path) -> list[tuple[Path, str, str]]:
    """(file, subject folder, activity code) for every trial file, sorted; accepts root or its parent."""
    root = Path(root)
    if not root.is_dir():
        raise TinymlError(f"{root}: not a folder (point [dataset] path at the SisFall folder holding SA01..SE15)")
    subject_dirs = sorted(p for p in root.iterdir() if p.is_dir() and SUBJECT_DIR.match(p.name))
    if not subject_dirs:  # e.g. path points at the unzipped archive that contains SisFall_dataset/
        for child in sorted(p for p in root.iterdir() if p.is_dir()):
            subject_dirs = sorted(p for p in child.iterdir() if p.is_dir() and SUBJECT_DIR.match(p.name))
            if subject_dirs:
                break
    out = []
    for d in subject_dirs:
        for f in sorted(d.iterdir()):
            m = TRIAL_FILE.match(f.name)
            if m and f.is_file():
                out.append((f, d.name, m.group(1)))
    return out


def _axis_order(channels) -> list[int]:
    channels = list(channels)
    if len(channels) != 3:
        raise TinymlError(f"sisfall: expects 3 accelerometer channels (x, y, z), manifest names {len(channels)}: {channels}")
    last = [c[-1:].lower() for c in channels]
    if sorted(last) == ["x", "y", "z"]:
        return ["xyz".index(c) for c in last]
    return [0, 1, 2]


def _resample(x: np.ndarray, src: float, dst: float) -> np.ndarray:
    """The core's resampler when present (same filter as everything else), else a polyphase one."""
    try:
        from tinyml.dsp.resample import resample
    except ImportError:
        from fractions import Fraction

        from scipy.signal import resample_poly

        fr = Fraction(dst / src).limit_denominator(1000)
        return np.ascontiguousarray(resample_poly(x, fr.numerator, fr.denominator, axis=0), np.float32)
    return np.ascontiguousarray(resample(x, src, dst), np.float32)
