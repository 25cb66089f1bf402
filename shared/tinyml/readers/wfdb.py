"""WFDB records (PhysioNet: MIT-BIH and most ECG databases): the `.hea` header names the signal files, their
format (212, 16, 16+24 in a .mat, ...), gains and lead names; the `wfdb` package decodes them (never by hand).

As a reader (tinyml.readers): give `predict`/`run` the `.hea` path (or the `.dat` beside it). Each app channel is the lead whose name
matches it or one of its aliases (case-insensitive), or the lead named by --channel (e.g. `--channel V5`);
the samples come in the header's physical units (mV, uV, ...), declared, so the core converts them. A
multi-segment record (MIMIC's: a master header, a layout, segments and gaps) is read across its segments,
NaN where a segment lacks the lead or is a gap: missing samples, cut at like any others.

For dataset loaders: read_lead(path, names, channel=None) -> (samples mV float32 [n], rate Hz, lead name);
a lead in other units than volts is refused, never guessed.
"""

from __future__ import annotations

import math
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..errors import TinymlError

TO_MV = {"mv": 1.0, "uv": 1e-3, "µv": 1e-3, "v": 1e3}


def can_read(path) -> bool:
    return Path(path).suffix.lower() == ".hea"


def claim(path: Path, head: bytes) -> int:
    if not can_read(path):
        # a record's signal file given instead of its header: read through the header beside it
        return 40 if Path(path).suffix.lower() == ".dat" and Path(path).with_suffix(".hea").is_file() else 0
    first = head.split(b"\n", 1)[0].split()
    return 60 if len(first) >= 2 and first[0].decode("latin-1", "replace") == Path(path).stem else 20


def read(path: Path, spec):
    """The app's channels from a WFDB record (the leads matched by name, alias or --channel)."""
    from . import FileSignal

    return read_with(Path(path), spec, FileSignal, header(path))


def read_with(path: Path, spec, file_signal, h):
    """Shared with the .mat reader: `path` names the record in messages, `h` is its header."""
    signals = _layout(path, h)
    names = [str(n) for n in (signals.sig_name or [])]
    if not names:
        raise TinymlError(f"{path}: the WFDB header describes no signals (a record line, then one line per signal)")
    found = spec.match(names, path, kind="WFDB record", what="lead")
    order = sorted(set(found.values()))
    _check_lengths(path, h)
    samples, fs = _samples(path, h, signals, [names[k] for k in order], order)
    cols, units, named = {}, {}, {}
    for ch, k in found.items():
        j = order.index(k)
        cols[ch] = samples[j]
        units[ch] = str((signals.units or [""] * (k + 1))[k] or "").strip()
        named[ch] = names[k]
    return file_signal(columns=cols, rate=fs, units=units, names=named)


def _samples(path: Path, h, signals, leads: list[str], order: list[int]) -> tuple[list[np.ndarray], float]:
    """The chosen leads' samples (float64, physical units) and their rate. A lead stored several samples a frame
    (`212x4`: a 500 Hz ECG in a 125 frames/s record) is read at its own rate, not averaged to the frame rate, in
    a multi-segment record too (MIMIC's 041s); leads of different samples a frame are averaged to it (one rate
    for every channel)."""
    wfdb = _wfdb()
    base = str(_record_base(path, h))
    per_frame = {int((getattr(signals, "samps_per_frame", None) or [1] * (k + 1))[k] or 1) for k in order}
    own_rate = len(per_frame) == 1 and per_frame != {1}
    try:
        with quiet():
            if signals is not h:  # segments joined, NaN where one lacks the lead or is a gap ('~'): missing samples
                rec = wfdb.rdrecord(base, channel_names=leads, physical=True, m2s=True, smooth_frames=not own_rate)
            else:
                rec = wfdb.rdrecord(base, channels=order, physical=True, smooth_frames=not own_rate)
    except FileNotFoundError as e:
        raise TinymlError(f"{path}: a signal file named in the header is missing ({Path(e.filename or '').name})") from None
    except Exception as e:
        raise TinymlError(f"{path}: the signal file does not match its header ({_first_line(e)})") from None
    fs = float(rec.fs)
    if not (fs > 0 and math.isfinite(fs)):
        raise TinymlError(f"{path}: the header gives no sampling rate")
    if own_rate:
        return [np.asarray(x, np.float64) for x in rec.e_p_signal], fs * per_frame.pop()
    if rec.p_signal is None:  # every segment a gap
        raise TinymlError(f"{path}: the record's segments hold no samples of lead(s) {', '.join(leads)}")
    return [np.asarray(rec.p_signal[:, j], np.float64) for j in range(len(leads))], fs


# bytes per sample of the WFDB storage formats (signals(5)); compressed ones (508 ...) are not checked
FORMAT_BYTES = {"8": 1, "16": 2, "24": 3, "32": 4, "61": 2, "80": 1, "160": 2, "212": 1.5, "310": 4 / 3, "311": 4 / 3}


def _layout(path: Path, h):
    """The header that lists a record's signals: its own, or for a multi-segment record (MIMIC's) its layout
    segment's (a variable layout), else its first segment's (a fixed one)."""
    wfdb = _wfdb()
    if not hasattr(h, "seg_name"):
        return h
    first = next((n for n in (h.seg_name or []) if n != "~"), None)
    if first is None:
        raise TinymlError(f"{path}: a multi-segment record whose segments are all gaps ('~'): no signal to read")
    try:
        with quiet():
            return wfdb.rdheader(str(_record_base(path, h).with_name(first)))
    except FileNotFoundError:
        raise TinymlError(f"{path}: a segment header named in the record is missing ({first}.hea)") from None
    except Exception as e:
        raise TinymlError(f"{path}: segment {first} has no readable WFDB header ({_first_line(e)})") from None


def _check_lengths(path: Path, h) -> None:
    """A signal file shorter than its header's length (an interrupted download or copy) is refused in one line
    naming both sizes, rather than wfdb's array error."""
    n = int(h.sig_len or 0)
    if not n or not getattr(h, "file_name", None):  # a multi-segment record's segments are checked by wfdb
        return
    need: dict[str, float] = {}
    for k, name in enumerate(h.file_name):
        fmt = str(h.fmt[k]) if h.fmt else ""
        if fmt not in FORMAT_BYTES:
            return
        spf = int((h.samps_per_frame or [1] * (k + 1))[k] or 1)
        offset = int((h.byte_offset or [0] * (k + 1))[k] or 0)
        need[name] = need.get(name, offset) + FORMAT_BYTES[fmt] * spf * n
    for name, size in need.items():
        f = _record_base(path, h).with_name(str(name))
        if f.is_file() and f.stat().st_size < math.floor(size):
            raise TinymlError(f"{path}: {f.name} is truncated: {f.stat().st_size} bytes, the header's "
                              f"{n} samples need {math.floor(size)}")


def _record_base(path: Path, h) -> Path:
    """The record's path without extension, from its header (the .hea may be reached through a .mat)."""
    return Path(path).with_name(str(h.record_name))


def header(path):
    """The record's header (wfdb.Record without samples); one-line errors for a missing or malformed one."""
    wfdb = _wfdb()
    p = Path(path)
    if not p.is_file():
        raise TinymlError(f"{p}: file not found")
    try:
        with quiet():
            h = wfdb.rdheader(str(p.with_suffix("")))
    except Exception as e:  # wfdb raises ValueError, IndexError, ... on malformed headers
        raise TinymlError(f"{p}: not a readable WFDB header ({_first_line(e)})") from None
    _check_record_line(p.with_suffix(".hea"))
    return h


def _check_record_line(hea: Path) -> None:
    """The record line's frequency and length as written (`name nsig fs[/counter[(base)]] len`): wfdb reads a
    frequency it cannot parse as its default 250 Hz, and a length it cannot parse as none, without a word."""
    try:
        lines = hea.read_text(encoding="latin-1").splitlines()
    except OSError:
        return
    fields = next((ln.split() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")), [])
    if len(fields) >= 3:
        fs = fields[2].split("/")[0]
        try:
            ok = float(fs) > 0 and math.isfinite(float(fs))
        except ValueError:
            ok = False
        if not ok:
            raise TinymlError(f"{hea}: the record line's sampling frequency {fields[2]!r} is not a positive number")
    if len(fields) >= 4 and not fields[3].isdigit():
        raise TinymlError(f"{hea}: the record line's length {fields[3]!r} is not a number of samples")


def choose_lead(path, sig_names, names, channel=None) -> int:
    have = [str(s) for s in (sig_names or [])]
    low = [s.lower() for s in have]
    wanted = [channel] if channel else list(names)
    for w in wanted:
        if w and w.lower() in low:
            return low.index(w.lower())
    if channel:
        raise TinymlError(f"{path}: no lead named {channel!r}; the record has {', '.join(have) or 'no named leads'}")
    raise TinymlError(f"{path}: no lead named {' / '.join(names)}; the record has {', '.join(have) or 'none'} "
                      "(choose one with --channel NAME)")


def read_lead(path, names, channel=None, sampfrom: int = 0, sampto: int | None = None):
    """One lead of a WFDB record in mV: (float32 [n], rate, lead name)."""
    wfdb = _wfdb()
    p = Path(path)
    h = header(p)
    k = choose_lead(p, h.sig_name, names, channel)
    unit = str((h.units or [""] * (k + 1))[k]).strip()
    if unit.lower() not in TO_MV:
        raise TinymlError(f"{p}: lead {h.sig_name[k]!r} is in {unit!r}, not a voltage (mV, uV or V)")
    try:
        with quiet():
            rec = wfdb.rdrecord(str(p.with_suffix("")), channels=[k], physical=True, sampfrom=sampfrom,
                                sampto=sampto)
    except FileNotFoundError as e:
        raise TinymlError(f"{p}: a signal file named in the header is missing ({Path(e.filename or '').name})") from None
    except Exception as e:
        raise TinymlError(f"{p}: the signal file does not match its header ({_first_line(e)})") from None
    x = np.asarray(rec.p_signal[:, 0], np.float64) * TO_MV[unit.lower()]
    rate = float(rec.fs)
    if not (rate > 0 and math.isfinite(rate)):
        raise TinymlError(f"{p}: the header gives no sampling rate")
    if len(x) == 0:
        raise TinymlError(f"{p}: the record has no samples")
    return x.astype(np.float32), rate, str(h.sig_name[k])


def _wfdb():
    """The wfdb package, imported quietly: its first import warns about pandas' own deprecations."""
    with quiet():
        import wfdb
    return wfdb


@contextmanager
def quiet():
    """wfdb's pandas calls warn about pandas' own deprecations: not the user's business."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _first_line(e: Exception) -> str:
    s = str(e).strip().splitlines()
    return s[0] if s else type(e).__name__
