"""Paderborn University bearing data (KAt data center; Lessmeier et al., PHM Society 2016), read as
distributed: one MATLAB `.mat` file per 4 s measurement, named `<condition>_<bearing>_<n>.mat`, e.g.
`N15_M07_F10_KA01_1.mat`: N15 = 1500 rpm (N09 = 900), M07 = 0.7 Nm load torque (M01 = 0.1), F10 = 1000 N
radial force (F04 = 400), bearing KA01, measurement 1 of 20. Bearing folders (`KA01/`) may sit anywhere
below `path`.

The file holds one variable named like the file: a struct whose field `Y` is an array of channel
structs with `Name`, `Type`, `Unit`, `Raster` and `Data`; the vibration of the bearing housing is the
channel named `vibration_1` (64 kHz, in g after the charge amplifier; its `Raster` names the rate, e.g.
`Mech_64kHz`).

Bearings (type 6203: 8 balls of 6.75 mm on a 28.55 mm pitch circle): K001-K006 healthy; KA.. outer-race
and KI.. inner-race damage, artificial (KA01, KA03, KA05-KA09, KI01, KI03, KI05, KI07, KI08) or from
accelerated life tests (KA04, KA15, KA16, KA22, KA30, KI04, KI14, KI16-KI18, KI21); KB.. have both and are
left out unless `combined = true` (then labelled inner race, the stronger signature).

One Recording per file, the subject is the bearing (a split never shares a bearing), the condition's
speed and the 6203's defect orders are its [machine] values. Licence: CC BY-NC 4.0 (cite the paper).

Imported by file path (not as a package): only absolute imports.
"""

from __future__ import annotations

import re
import sys
import zlib
from pathlib import Path

import numpy as np

from tinyml.bearing import KNOWN
from tinyml.errors import TinymlError
from tinyml.recording import Recording

NAME = re.compile(r"^N(\d\d)_M(\d\d)_F(\d\d)_(K[AIB]\d\d|K\d{3})_(\d+)$")
CHANNEL = "vibration_1"
DEFAULT_RATE = 64000.0
ORDERS = KNOWN["6203-paderborn"]


def label_of(bearing: str, combined: bool) -> str | None:
    if re.fullmatch(r"K\d{3}", bearing):
        return "normal"
    kind = bearing[:2]
    if kind == "KA":
        return "outer_race"
    if kind == "KI":
        return "inner_race"
    if kind == "KB":
        return "inner_race" if combined else None
    return None


def read_measurement(path: Path) -> tuple[np.ndarray, float]:
    """(float64 vibration_1 samples, rate in Hz) of one file; TinymlError naming the file otherwise."""
    from scipy.io import loadmat

    path = Path(path)
    try:
        mat = loadmat(path, squeeze_me=False, struct_as_record=True)
    except (ValueError, OSError, TypeError, IndexError, zlib.error, NotImplementedError) as e:
        raise TinymlError(f"{path}: unreadable .mat file ({str(e).splitlines()[0][:80]})") from None
    keys = [k for k in mat if not k.startswith("__")]
    var = mat.get(path.stem, mat[keys[0]] if len(keys) == 1 else None)
    try:
        ys = np.asarray(var["Y"][0, 0]).reshape(-1)
        names = [str(np.asarray(y["Name"]).reshape(-1)[0]) for y in ys]
    except (TypeError, ValueError, IndexError, KeyError):
        raise TinymlError(f"{path}: not a Paderborn measurement (a struct with channels in field Y)") from None
    if CHANNEL not in names:
        raise TinymlError(f"{path}: no channel {CHANNEL!r}; it has {', '.join(names)}")
    y = ys[names.index(CHANNEL)]
    data = np.asarray(y["Data"], dtype=np.float64).reshape(-1)
    if data.size == 0 or not np.isfinite(data).all():
        raise TinymlError(f"{path}: channel {CHANNEL} is empty or holds non-finite values")
    rate = DEFAULT_RATE
    try:
        raster = str(np.asarray(y["Raster"]).reshape(-1)[0])
        m = re.search(r"(\d+(?:\.\d+)?)\s*kHz", raster, re.IGNORECASE)
        if m:
            rate = float(m.group(1)) * 1000.0
    except (IndexError, ValueError, KeyError):
        pass
    return data, rate


def load(path: Path, *, rate: float, channels, combined: bool = False, on_error: str = "skip",
         progress: bool = False) -> list[Recording]:
    root = Path(path)
    if not root.is_dir():
        raise TinymlError(f"{root}: not a folder (point [dataset] path at the Paderborn bearing folders)")
    if on_error not in ("raise", "skip"):
        raise TinymlError(f"paderborn: on_error must be 'raise' or 'skip', got {on_error!r}")
    if len(channels) != 1:
        raise TinymlError(f"paderborn: one vibration channel per file; the app has {len(channels)} channels")
    recs = []
    for f in sorted(root.rglob("*.mat")):
        m = NAME.match(f.stem)
        if not m:
            continue
        speed, torque, force, bearing, number = m.groups()
        label = label_of(bearing, combined)
        if label is None:
            continue
        try:
            data, fs = read_measurement(f)
        except TinymlError as e:
            if on_error == "raise":
                raise
            print(f"notice: skipped {e}", file=sys.stderr)
            continue
        rpm = int(speed) * 100.0
        recs.append(Recording(
            signal=np.ascontiguousarray(data.astype(np.float32)[:, None]), rate=fs, channels=tuple(channels),
            subject=f"paderborn-{bearing}", label=label,
            activity=f"{bearing} N{speed} M{torque} F{force} #{number}", source=str(f),
            deployment={"machine": {"shaft_hz": rpm / 60.0, **ORDERS}},
        ))
    if not recs:
        raise TinymlError(f"{root}: no Paderborn measurements (files like N15_M07_F10_KA01_1.mat)")
    return recs
