"""MATLAB `.mat` files saved by MATLAB, Octave or scipy (v5/v7): one variable per channel, named like the
channel (or an alias, or --channel NAME), and the rate as a scalar variable (`fs`, `Fs`, `rate`,
`sample_rate`, `sampling_rate`, `srate`, `sr`) or --rate. A file with a single numeric vector gives it to an
app with one channel, with a notice. A struct's fields are variables too, named `struct.field` or by the field
alone (MFPT's `bearing.gs` at `bearing.sr`), and a struct array of named signals (elements with a `Name` and one
numeric vector) gives each signal by its name. A variable's name may end in its unit (`accel_ms2`, `ecg_uV`), as a
CSV heading may; otherwise the core tells the unit by the values' size.

CWRU, MFPT and Paderborn records (cwru_mat, mfpt_mat, paderborn_mat) and PhysioNet records (mat, with their
.hea) have their own readers; a compressed one, whose variable names cannot be seen in its first bytes, is
handed over from here.
MATLAB v7.3 files are HDF5: refused in one line (save with `-v7`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import TinymlError, notice, option
from . import FileSignal, ReadSpec, declared_unit, matlab_first
from ._logger import offered_names

V5_MAGIC = b"MATLAB 5.0 MAT-file"
V73_MAGIC = b"MATLAB 7.3 MAT-file"
# in order of preference: a bare `rate` comes last, as it may be another rate (MFPT's `bearing.rate` is the shaft's
# 25 Hz beside `bearing.sr`, its sample rate)
RATE_NAMES = ("fs", "sample_rate", "sampling_rate", "samplerate", "sampling_frequency", "srate", "sr", "sf", "rate")
_DEPTH = 4  # struct levels looked into


def claim(path: Path, head: bytes) -> int:
    if head.startswith(V5_MAGIC) or head.startswith(V73_MAGIC):
        return 40  # above cwru_mat's bare-suffix claim, below its claim on CWRU variable names
    return 0


def read(path: Path, spec: ReadSpec) -> FileSignal:
    from . import cwru_mat, mfpt_mat, paderborn_mat

    with open(path, "rb") as f:
        if f.read(len(V73_MAGIC)) == V73_MAGIC:
            raise TinymlError(f"{path}: a MATLAB v7.3 (HDF5) file, not read; save it with "
                              "save(..., '-v7') in MATLAB or Octave")
    mat = cwru_mat.load_mat(path, squeeze_me=True)
    names = [k for k in mat if not k.startswith("__")]
    if any(cwru_mat._CHANNEL.match(k) for k in names):
        return cwru_mat.read(path, spec, mat)  # loaded once: a compressed file's whole decompression
    if mfpt_mat.is_mfpt(mat):
        return mfpt_mat.read(path, spec, mat)
    chans = paderborn_mat.channels(mat)
    if chans is not None:
        return paderborn_mat.read(path, spec, chans)
    variables = dict(_flatten({k: mat[k] for k in names}))
    vectors = {k: np.asarray(v) for k, v in variables.items() if _is_vector(v)}
    if not vectors:
        raise TinymlError(f"{path}: MATLAB file without a numeric vector to read (it has {_described(mat, names)}); "
                          f"save the signal as a vector variable")
    rate = _rate(variables, path) if spec.rate is None else None  # --rate: the file's rate-named fields unread
    keys = list(vectors)
    offered, columns = offered_names([_leaf(k) for k in keys], keys)  # `bearing.gs` is also `gs`, if alone
    try:
        found = spec.match(offered, path, kind="MATLAB file", what="variable", columns=columns)
        found = {ch: columns[i] for ch, i in found.items()}
    except TinymlError:
        if len(spec.channels) != 1 or len(vectors) != 1 or spec.picks:
            raise
        only = next(iter(vectors))
        notice(path, f"the file's one signal, {only!r}, read as {spec.channels[0]}")
        found = {spec.channels[0]: 0}
    if rate is None and spec.rate is None:
        raise TinymlError(f"{path}: no rate in the file (a variable {', '.join(RATE_NAMES[:4])} ...): "
                          f"give {option('rate', 'HZ')}")
    cols = {ch: vectors[keys[i]].astype(np.float64).reshape(-1) for ch, i in found.items()}
    lengths = {len(v) for v in cols.values()}
    if len(lengths) > 1:
        raise TinymlError(f"{path}: the variables for {', '.join(cols)} differ in length ({sorted(lengths)})")
    return FileSignal(cols, rate=rate, names={ch: keys[i] for ch, i in found.items()},
                      units={ch: declared_unit(_leaf(keys[i]), spec, ch) for ch, i in found.items()})  # `accel_ms2`


def _is_vector(v) -> bool:
    a = np.asarray(v)
    return a.dtype.kind in "iuf" and a.ndim == 1 and a.size > 1


def _rate(variables: dict, path: Path) -> float | None:
    """The rate from the variable whose name (a struct's field: its last part) comes first in RATE_NAMES. One
    holding several values is another quantity (a heart-rate series `rec.rate`): passed over."""
    named = {}
    for k, v in variables.items():
        leaf = _leaf(k).lower()
        if leaf in RATE_NAMES:
            named.setdefault(leaf, (k, v))
    for leaf in RATE_NAMES:
        if leaf not in named:
            continue
        k, v = named[leaf]
        a = np.asarray(v)
        if a.size > 1:
            continue
        if a.dtype.kind in "iuf" and a.size == 1:
            r = float(matlab_first(a))
            if r > 0 and np.isfinite(r):
                return r
        raise TinymlError(f"{path}: variable {k!r} should be the rate in Hz (one number above 0); give "
                          f"{option('rate', 'HZ')} otherwise")
    return None


def _flatten(variables: dict, depth: int = 0):
    """(name, value) for every variable, a struct's fields as `name.field` (its elements' signals as
    `name.Signal` for a struct array of named signals), `_DEPTH` levels deep."""
    for name, value in variables.items():
        a = value if isinstance(value, np.ndarray) else None
        if a is None or not a.dtype.names or depth >= _DEPTH:
            yield name, value
        elif a.size == 1:
            one = matlab_first(a)
            yield from _flatten({f"{name}.{f}": one[f] for f in a.dtype.names}, depth + 1)
        else:
            yield from _flatten(_named_signals(name, a), depth + 1)


def _named_signals(name: str, array: np.ndarray) -> dict:
    """`name.Signal` -> its vector for each element of a struct array that has a text `Name` field and one
    numeric vector (a measurement system's list of channels); {} when the elements are not named so."""
    label = next((f for f in array.dtype.names if f.lower() == "name"), None)
    out = {}
    for element in array.reshape(-1) if label else ():
        title = np.asarray(element[label]).reshape(-1)
        data = [element[f] for f in array.dtype.names if f != label and _is_vector(element[f])]
        if title.size == 1 and isinstance(title[0], str) and len(data) == 1:
            out[f"{name}.{title[0]}"] = data[0]
    return out


def _leaf(name: str) -> str:
    """A struct field's own name (`bearing.accel_ms2` -> `accel_ms2`), which may end in its unit."""
    return name.rsplit(".", 1)[-1]


def _described(mat: dict, names: list[str]) -> str:
    """The file's variables for a message: `bearing (struct: rate, load)`, `x (3x4 double)`."""
    out = []
    for k in names[:8]:
        a = np.asarray(mat[k])
        if a.dtype.names:
            out.append(f"{k} (struct{'' if a.size == 1 else ' array'}: {', '.join(a.dtype.names[:6])})")
        else:
            out.append(f"{k} ({'x'.join(map(str, a.shape)) or 'scalar'} {a.dtype.name})")
    return ", ".join(out) + (", ..." if len(names) > 8 else "") if out else "no variables"
