"""PhysioNet `.mat` records (PhysioNet/CinC 2017 and the other challenges): a MATLAB v4 file holding `val`
(int16 samples, one row per signal) beside a WFDB header `<name>.hea` that gives the rate, the gain and the
lead name (the signal file `<name>.mat`, format 16 at byte offset 24). The header is required: without it
the gain and the rate would be guesses. Read through tinyml.readers.wfdb.

As a reader (tinyml.readers): give `predict`/`run` the `.mat` path; the lead is picked as for WFDB records.
For dataset loaders: read_lead(path, names, channel=None) -> (samples mV float32 [n], rate Hz, lead name).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import TinymlError
from . import wfdb as _wfdb


def can_read(path) -> bool:
    return Path(path).suffix.lower() == ".mat"


def _is_v4_val(head: bytes) -> bool:
    return len(head) >= 24 and head[16:20] == b"\x04\x00\x00\x00" and head[20:24] == b"val\x00"


def claim(path: Path, head: bytes) -> int:
    if not can_read(path):
        return 0
    return 60 if _is_v4_val(head) else 15


def read(path: Path, spec):
    from . import FileSignal

    hea = _header_of(Path(path))
    return _wfdb.read_with(Path(path), spec, FileSignal, _wfdb.header(hea))


def _header_of(p: Path) -> Path:
    if not p.is_file():
        raise TinymlError(f"{p}: file not found")
    hea = p.with_suffix(".hea")
    with open(p, "rb") as f:
        head = f.read(24)
    if not hea.is_file() and not _is_v4_val(head):
        # not a PhysioNet record: say what it is rather than ask for a header it was never meant to have
        if head.startswith(b"MATLAB 5.0"):
            raise TinymlError(f"{p}: a MATLAB 5 file (such as CWRU's), not a PhysioNet record's MATLAB v4 'val' "
                              "matrix")
        raise TinymlError(f"{p}: not a readable .mat file (neither a MATLAB 5 file such as CWRU's nor a PhysioNet "
                          "record's MATLAB v4 'val' matrix)")
    if not hea.is_file():
        raise TinymlError(f"{p}: no header {hea.name} beside it (PhysioNet .mat records need their .hea for the "
                          "rate and the gain)")
    h = _wfdb.header(hea)
    files = {Path(str(f)).name for f in (h.file_name or [])}
    if p.name not in files:
        raise TinymlError(f"{hea}: describes {', '.join(sorted(files)) or 'no signal file'}, not {p.name}")
    return hea


def read_lead(path, names, channel=None):
    p = Path(path)
    return _wfdb.read_lead(_header_of(p), names, channel)
