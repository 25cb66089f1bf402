"""MFPT bearing fault data (Society for Machinery Failure Prevention Technology): `.mat` files as distributed.

The files are named baseline_1.mat, OuterRaceFault_vload_3.mat, InnerRaceFault_vload_6.mat, ...

A file holds a struct `bearing` with the acceleration in g (`gs`), its sample rate (`sr`: 97,656 or 48,828
Hz), the shaft speed in Hz (`rate`, 25: not a sample rate) and the load; most files also state the defect
frequencies in Hz (`BPFO`, `BPFI`, `BSF`, `FTF`). Read with the shaft speed and the bearing's orders as
[machine] values: a fault type judged at another machine's defect frequencies is a wrong answer. The
stated FTF is the cage speed against the inner ring; the cage order against the fixed outer ring follows
from BPFO and BPFI (tinyml.bearing: BPFO + BPFI = n, FTF = BPFO / n).

The files are compressed, so their variable names are not in their first bytes: the generic MATLAB reader
loads a file and hands an MFPT one here (`claim` is 0).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import TinymlError, option
from . import FileSignal, matlab_first, the_one_channel

SIGNAL, RATE, SHAFT = "gs", "sr", "rate"  # the `bearing` struct's fields


def claim(path: Path, head: bytes) -> int:
    return 0  # compressed: the matlab reader tells an MFPT file by its variables and hands it here


def is_mfpt(mat: dict) -> bool:
    """Whether loaded variables are an MFPT record: a struct `bearing` with `gs` and `sr`."""
    b = mat.get("bearing")
    return isinstance(b, np.ndarray) and b.dtype.names is not None and {SIGNAL, RATE} <= set(b.dtype.names)


def read(path: Path, spec, mat: dict) -> FileSignal:
    """The acceleration as the app's one channel, at the file's rate, with the machine it was measured on."""
    ch = the_one_channel(spec, path, "an MFPT record has one accelerometer")
    want = spec.picks.get(ch)
    if want is not None and want.strip().lower() not in (SIGNAL, f"bearing.{SIGNAL}"):
        raise TinymlError(f"{path}: an MFPT record has one signal, bearing.{SIGNAL}; leave out "
                          f"{option('channel', want)}")
    b = matlab_first(mat["bearing"])
    signal = np.asarray(b[SIGNAL], dtype=np.float64).reshape(-1)
    rate = _scalar(b[RATE])
    if rate is not None and rate <= 0:
        rate = None
    if rate is None and spec.rate is None:  # a given --rate stands in (the recording prefers it anyway)
        raise TinymlError(f"{path}: MFPT record without a sample rate in bearing.{RATE}; give {option('rate', 'HZ')}")
    machine = _machine(mat, b)
    return FileSignal({ch: signal}, rate=rate, units={ch: "g"}, names={ch: f"bearing.{SIGNAL}"},
                      deployment={"machine": machine} if machine else {})


def _machine(mat: dict, b) -> dict[str, float]:
    """The shaft speed in Hz and, when the file states BPFO and BPFI, the defect orders."""
    shaft = _scalar(b[SHAFT]) if SHAFT in b.dtype.names else None
    if not shaft or shaft <= 0:
        return {}
    machine = {"shaft_hz": shaft}
    hz = {k: _scalar(mat.get(k.upper())) for k in ("bpfo", "bpfi", "bsf")}
    if hz["bpfo"] and hz["bpfi"] and hz["bpfo"] > 0 and hz["bpfi"] > 0:  # else the file states no usable orders
        orders = {k: v / shaft for k, v in hz.items() if v}
        orders["ftf"] = orders["bpfo"] / (orders["bpfo"] + orders["bpfi"])
        # rounded once to float32, as tinyml.bearing's orders and the firmware's (the host scores what the node does)
        machine.update({k: float(np.float32(v)) for k, v in orders.items()})
    return machine


def _scalar(v) -> float | None:
    """A scalar field's value (a MATLAB number, or a number saved as text such as the load '250')."""
    if v is None:
        return None
    a = np.asarray(v).reshape(-1)
    if a.size != 1:
        return None
    try:
        x = float(a[0])
    except (TypeError, ValueError):
        return None
    return x if np.isfinite(x) else None
