"""MATLAB `.mat` files saved by MATLAB, Octave or scipy (v5/v7): one variable per channel, named like the
channel (or an alias, or --channel NAME), and the rate as a scalar variable (`fs`, `Fs`, `rate`,
`sample_rate`, `sampling_rate`, `srate`) or --rate. A file with a single numeric vector gives it to an
app with one channel, with a notice. A variable's name may end in its unit (`accel_ms2`, `ecg_uV`), as a
CSV heading may; otherwise the core tells the unit by the values' size.

CWRU records (cwru_mat) and PhysioNet records (mat, with their .hea) have their own readers; a compressed
CWRU file, whose variable names cannot be seen in its first bytes, is handed to cwru_mat from here.
MATLAB v7.3 files are HDF5: refused in one line (save with `-v7`).
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from ..errors import TinymlError, notice, option
from . import FileSignal, ReadSpec, declared_unit

V5_MAGIC = b"MATLAB 5.0 MAT-file"
V73_MAGIC = b"MATLAB 7.3 MAT-file"
RATE_NAMES = ("fs", "rate", "sample_rate", "sampling_rate", "samplerate", "sampling_frequency", "srate", "sf")


def claim(path: Path, head: bytes) -> int:
    if head.startswith(V5_MAGIC) or head.startswith(V73_MAGIC):
        return 40  # above cwru_mat's bare-suffix claim, below its claim on CWRU variable names
    return 0


def read(path: Path, spec: ReadSpec) -> FileSignal:
    from scipy.io import loadmat

    from . import cwru_mat

    with open(path, "rb") as f:
        if f.read(len(V73_MAGIC)) == V73_MAGIC:
            raise TinymlError(f"{path}: a MATLAB v7.3 (HDF5) file, not read; save it with "
                              "save(..., '-v7') in MATLAB or Octave")
    mat = cwru_mat.load_mat(path, squeeze_me=True)
    names = [k for k in mat if not k.startswith("__")]
    if any(cwru_mat._CHANNEL.match(k) for k in names):
        return cwru_mat.read(path, spec, mat)  # loaded once: a compressed file's whole decompression
    vectors = {k: np.asarray(mat[k]) for k in names if _is_vector(mat[k])}
    rate = _rate(mat, names, path)
    try:
        found = spec.match(list(vectors), path, kind="MATLAB file", what="variable")
    except TinymlError:
        if len(spec.channels) != 1 or len(vectors) != 1 or spec.picks:
            raise
        only = next(iter(vectors))
        notice(path, f"the file's one signal, {only!r}, read as {spec.channels[0]}")
        found = {spec.channels[0]: 0}
    if rate is None and spec.rate is None:
        raise TinymlError(f"{path}: no rate in the file (a variable {', '.join(RATE_NAMES[:4])} ...): "
                          f"give {option('rate', 'HZ')}")
    keys = list(vectors)
    cols = {ch: vectors[keys[i]].astype(np.float64).reshape(-1) for ch, i in found.items()}
    lengths = {len(v) for v in cols.values()}
    if len(lengths) > 1:
        raise TinymlError(f"{path}: the variables for {', '.join(cols)} differ in length ({sorted(lengths)})")
    return FileSignal(cols, rate=rate, names={ch: keys[i] for ch, i in found.items()},
                      units={ch: declared_unit(keys[i], spec, ch) for ch, i in found.items()})  # `accel_ms2`


def _is_vector(v) -> bool:
    a = np.asarray(v)
    return a.dtype.kind in "iuf" and a.ndim == 1 and a.size > 1


def _rate(mat: dict, names: list[str], path: Path) -> float | None:
    for k in names:
        if k.lower() in RATE_NAMES:
            a = np.asarray(mat[k])
            if a.dtype.kind in "iuf" and a.size == 1:
                r = float(a.reshape(-1)[0])
                if r > 0 and np.isfinite(r):
                    return r
            raise TinymlError(f"{path}: variable {k!r} should be the rate in Hz (one number above 0); give "
                              f"{option('rate', 'HZ')} otherwise")
    return None
