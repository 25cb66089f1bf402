"""EDF and EDF+ (European Data Format: Holter and sleep recorders, OpenBCI, PhysioNet's EDF databases) and
BDF (BioSemi, 24-bit): a text header, then data records of int16 (BDF: int24) samples per signal.

    256 bytes: version, patient, recording, start date and time, header bytes, reserved ("EDF+C"/"EDF+D"),
               number of records, record duration (s), number of signals
    256 bytes per signal: label, transducer, physical unit, physical min/max, digital min/max, prefilter,
               samples per record, reserved
Each app channel is the signal whose label matches it or an alias (`ECG`, `II`, ...), a bipolar derivation by
the electrode it is measured from (`ECG1-ECG2` is `ECG1`), or the one --channel names; its rate is samples
per record / record duration, its unit the header's (uV, mV ...), declared.
Discontinuous EDF+D/BDF+D files and a file shorter than its header says are refused in one line.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..errors import TinymlError
from . import FileSignal, ReadSpec

ANNOTATION_LABELS = ("EDF Annotations", "BDF Annotations")  # EDF+ / BDF+ time-stamped annotation lists, not signals
_FIELDS = (("label", 16), ("transducer", 80), ("unit", 8), ("pmin", 8), ("pmax", 8), ("dmin", 8), ("dmax", 8),
           ("prefilter", 80), ("samples", 8), ("reserved", 32))


def claim(path: Path, head: bytes) -> int:
    if head[:8] == b"0       " and len(head) >= 256 and head[184:192].strip().isdigit():
        return 90
    if head[:8] == b"\xffBIOSEMI":
        return 90
    return 10 if path.suffix.lower() in (".edf", ".bdf") else 0


def read(path: Path, spec: ReadSpec) -> FileSignal:
    raw = path.read_bytes()
    bdf = raw[:8] == b"\xffBIOSEMI"
    width = 3 if bdf else 2
    try:
        head_bytes, n_signals = int(raw[184:192]), int(raw[252:256])
        n_records, duration = int(raw[236:244]), float(raw[244:252])
        fields = _signal_fields(raw, n_signals)
        spr = [int(s) for s in fields["samples"]]
        pmin, pmax = (np.array([float(v) for v in fields[k]]) for k in ("pmin", "pmax"))
        dmin, dmax = (np.array([float(v) for v in fields[k]]) for k in ("dmin", "dmax"))
    except (ValueError, IndexError):
        raise TinymlError(f"{path}: not a readable EDF/BDF header") from None
    # the header's own sizes (8-character ASCII numbers any writer can get wrong): 256 bytes plus 256 per signal
    if n_signals < 1 or head_bytes != 256 * (1 + n_signals):
        raise TinymlError(f"{path}: the EDF header is inconsistent: {head_bytes} header bytes for {n_signals} signals "
                          f"(256 + 256 per signal: {256 * (1 + max(n_signals, 0))})")
    if any(s < 0 for s in spr):
        raise TinymlError(f"{path}: the EDF header gives a negative number of samples per record ({min(spr)})")
    if not math.isfinite(duration):
        raise TinymlError(f"{path}: the EDF header gives a record duration of {duration} s")
    if raw[192:197] in (b"EDF+D", b"BDF+D"):
        kind = raw[192:197].decode()
        raise TinymlError(f"{path}: a discontinuous {kind[:4]} file ({kind}): its records are not one steady signal")
    if fields["label"] and all(lab in ANNOTATION_LABELS for lab in fields["label"]):
        raise TinymlError(f"{path}: no signals, only {fields['label'][0]} (events and their times; a PhysioNet "
                          "record's annotations file): give the file that holds the recording")
    if duration <= 0 or not any(spr):
        raise TinymlError(f"{path}: the EDF header gives no record duration or no samples per record")
    record = sum(spr) * width
    held = (len(raw) - head_bytes) // record if record else 0
    if n_records < 0:  # -1: the recorder stopped before writing the count
        n_records = held
    elif held < n_records:
        raise TinymlError(f"{path}: the EDF file is truncated: {held} of the header's {n_records} data records")
    labels = fields["label"]
    usable = [i for i, lab in enumerate(labels) if lab not in ANNOTATION_LABELS]
    offered, column = _derivation_names([labels[i] for i in usable])
    matched = spec.match(offered, path, kind="EDF file", what="signal", columns=column)
    found = {ch: column[k] for ch, k in matched.items()}
    data = np.frombuffer(raw[head_bytes:head_bytes + n_records * record], np.uint8).reshape(n_records, record)
    starts = np.concatenate([[0], np.cumsum(spr)]) * width
    cols, units, names, rates = {}, {}, {}, set()
    for ch, k in found.items():
        i = usable[k]
        block = data[:, starts[i]:starts[i + 1]].reshape(-1, width)
        digital = _ints(block, width)
        gain = (pmax[i] - pmin[i]) / (dmax[i] - dmin[i]) if dmax[i] != dmin[i] else np.nan
        if not np.isfinite(gain) or gain == 0:
            raise TinymlError(f"{path}: signal {labels[i]!r} has no usable physical/digital range in the header")
        cols[ch] = (digital - dmin[i]) * gain + pmin[i]
        units[ch], names[ch] = fields["unit"][i], labels[i]
        rates.add(spr[i] / duration)
    if len(rates) > 1:
        raise TinymlError(f"{path}: the chosen signals have different rates ({', '.join(f'{r:g}' for r in sorted(rates))} "
                          "Hz); pick signals of one rate with --channel")
    return FileSignal(cols, rate=rates.pop(), units=units, names=names)


def _derivation_names(labels: list[str]) -> tuple[list[str], list[int]]:
    """(names for ReadSpec.match, the signal each stands for): every label, then for a bipolar derivation
    (`ECG1-ECG2`, `EKG1-EKG2`: sleep recorders' ECG) the electrode it is measured from, when no other label
    has that name. Two derivations from one electrode both offer it (ReadSpec.match reads the first, as a
    recorder lists its main lead first), where _logger.offered_names offers a logger's family only when one
    column has it: probes of one family are alike, and only their tag says which is meant."""
    names, column = list(labels), list(range(len(labels)))
    have = {lab.strip().lower() for lab in labels}
    for i, lab in enumerate(labels):
        head, sep, tail = lab.partition("-")
        if sep and head.strip() and tail.strip() and head.strip().lower() not in have:
            names.append(head.strip())
            column.append(i)
    return names, column


def _signal_fields(raw: bytes, n: int) -> dict[str, list[str]]:
    out, at = {}, 256
    for name, size in _FIELDS:
        out[name] = [raw[at + k * size:at + (k + 1) * size].decode("latin-1").strip() for k in range(n)]
        at += size * n
    return out


def _ints(block: np.ndarray, width: int) -> np.ndarray:
    """Little-endian two's-complement samples, 2 (EDF) or 3 (BDF) bytes each, as float64."""
    if width == 2:
        return block.copy().view("<i2").reshape(-1).astype(np.float64)
    v = block[:, 0].astype(np.int32) | (block[:, 1].astype(np.int32) << 8) | (block[:, 2].astype(np.int32) << 16)
    return np.where(v >= 1 << 23, v - (1 << 24), v).astype(np.float64)
