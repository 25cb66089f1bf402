"""Paderborn University bearing data (KAt data center): one MATLAB `.mat` file per 4 s measurement, as distributed.

A file (`N15_M07_F10_KA01_1.mat`) holds one variable named like it: a struct whose field `Y` is an array of
channels (`Name`, `Type`, `Unit`, `Raster`, `Data`); the bearing housing's vibration is `vibration_1`, in g, at
the rate its `Raster` names (`Mech_64kHz`; 64 kHz when it names none). The name gives the speed (N15 = 1500
rpm, N09 = 900 rpm) and the bearing is a 6203 (8 balls of 6.75 mm on 28.55 mm): both become the run's
[machine] values, as a fault type judged at another machine's defect frequencies is a wrong answer.
`--channel NAME` reads another of the file's channels.

The generic MATLAB reader loads a file and hands a Paderborn one here (`claim` is 0): the variable names
of a compressed file are not in its first bytes.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import TinymlError, notice, option
from . import FileSignal, machine_from_path, matlab_first, the_one_channel

VIBRATION = "vibration_1"
DEFAULT_RATE = 64000.0
_SPEED = re.compile(r"(?:^|_)N(\d\d)_M\d\d_F\d\d_")  # N15 = 1500 rpm
_KHZ = re.compile(r"(\d+(?:\.\d+)?)\s*kHz", re.IGNORECASE)


def claim(path: Path, head: bytes) -> int:
    return 0  # the matlab reader tells a Paderborn file by its variables and hands it here


def channels(mat: dict) -> dict[str, np.void] | None:
    """name -> channel struct of a Paderborn measurement (a struct variable whose field Y lists channels with a
    Name and Data, `vibration_1` among them); None for any other file."""
    for key, var in mat.items():
        a = var if isinstance(var, np.ndarray) else None
        if key.startswith("__") or a is None or not a.dtype.names or "Y" not in a.dtype.names or a.size != 1:
            continue
        ys = np.asarray(matlab_first(a)["Y"])
        if not ys.dtype.names or not {"Name", "Data"} <= set(ys.dtype.names):
            continue
        found = {str(matlab_first(y["Name"])): y for y in ys.reshape(-1)}
        if VIBRATION in found:
            return found
    return None


def read(path: Path, spec, chans: dict[str, np.void]) -> FileSignal:
    """The channel picked (`vibration_1` unless --channel names another) of a measurement's `channels`."""
    ch = the_one_channel(spec, path, "a Paderborn measurement has one vibration channel")
    name = spec.picks.get(ch, VIBRATION).strip()
    if name not in chans:
        raise TinymlError(f"{path}: no channel {name!r} in this measurement; it has {', '.join(chans)} "
                          f"(leave out {option('channel', name)} for {VIBRATION})")
    y = chans[name]
    data = np.asarray(y["Data"], np.float64).reshape(-1)
    return FileSignal({ch: data}, rate=_rate(y, path), names={ch: name},
                      units={ch: "g" if name == VIBRATION else _unit(y)}, deployment={"machine": _machine(path)})


def _rate(y, path: Path) -> float:
    raster = str(matlab_first(y["Raster"])) if "Raster" in y.dtype.names else ""
    m = _KHZ.search(raster)
    if m:
        return float(m.group(1)) * 1000.0
    notice(path, f"the channel's raster {raster!r} names no rate: read at {DEFAULT_RATE:g} Hz, the data set's "
                 f"vibration rate ({option('rate', 'HZ')} to say otherwise)")
    return DEFAULT_RATE


def _unit(y) -> str:
    return str(matlab_first(y["Unit"])) if "Unit" in y.dtype.names and np.asarray(y["Unit"]).size else ""


def _machine(path: Path) -> dict[str, float]:
    """The 6203's defect orders, and the shaft speed the file's name states."""
    return machine_from_path(path, "6203-paderborn", _SPEED, lambda m: int(m.group(1)) * 100 / 60.0,
                             "the file's name does not give the speed (N15_M07_F10_...: 1500 rpm): give it, e.g. "
                             f"{option('set', 'machine.shaft_rpm=1500')}")
