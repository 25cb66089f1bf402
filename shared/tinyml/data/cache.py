"""Generated datasets cached on disk compactly and read lazily, one recording at a time.

A cache entry is a folder `<name>-<key>/` (the key: the generator's code, rate, channels, seed, options):
  samples.npy  every recording's samples one after another, [total samples, channels]: int16 when every
               recording lies exactly on a 16-bit grid (x = q * 2^-e; audio at the source is q / 32768,
               a sensor with a power-of-two LSB too), else float32. Either way every sample reads back
               as the same float32 number: q * 2^-e is exact in float32 (int16 has no negative zero, so
               a -0.0 reads back as 0.0, an equal value), and float32 is stored as it is (float16 would
               round a float signal, so it is never used).
  index.pkl    per recording: offset, length, exponent and every other Recording field (small).
Loading reads only the index: a recording's samples are read from the file when its signal is first used
(no memory map, so the process holds only the recordings it is working on), and a few recently decoded
ones are kept. A 6 GB corpus thus costs megabytes until it is used, and evaluation streams through it.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np

from ..errors import TinymlError
from ..recording import Recording

FORMAT = 1  # bump when the layout changes: an older folder is then rebuilt
SAMPLES, INDEX = "samples.npy", "index.pkl"
MAX_EXPONENT = 24  # x = q * 2^-e with e up to this (float32 has 24 significant bits)
DECODED_BYTES = 256 << 20  # recently decoded recordings kept per cache entry


def grid_exponent(x: np.ndarray) -> int | None:
    """The smallest e >= 0 with x * 2^e integral and within int16 for every sample, or None. Exact: from
    each float32's binary exponent and mantissa (x = m * 2^(p - 24), m an integer of up to 24 bits)."""
    x = np.asarray(x, np.float32).ravel()
    nz = x[x != 0]
    if nz.size == 0:
        return 0
    if not np.isfinite(nz).all():
        return None
    mant, p = np.frexp(nz.astype(np.float64))  # |mant| in [0.5, 1), exact
    m = np.abs(mant * (1 << 24)).astype(np.int64)  # the 24-bit significand, an exact integer
    tz = np.log2(m & -m).astype(np.int64)  # trailing zero bits of the significand
    e = int(max(0, np.max(24 - tz - p)))  # fractional bits to shift out
    if e > MAX_EXPONENT:
        return None
    q = nz.astype(np.float64) * 2.0**e
    if q.min() < -32768 or q.max() > 32767:
        return None
    return e


class CacheStore:
    """The samples file of one cache entry: reads one recording's samples on demand."""

    def __init__(self, folder: Path, dtype: np.dtype, n_channels: int, data_offset: int):
        self.folder = folder
        self.path = folder / SAMPLES
        self.dtype = np.dtype(dtype)
        self.n_channels = n_channels
        self.data_offset = data_offset
        self._fd: tuple[int, int] | None = None  # (pid, fd): a forked child opens its own
        self._decoded: OrderedDict[int, np.ndarray] = OrderedDict()
        self._decoded_bytes = 0

    def _file(self) -> int:
        if self._fd is None or self._fd[0] != os.getpid():
            self._fd = (os.getpid(), os.open(self.path, os.O_RDONLY))
        return self._fd[1]

    def read(self, offset: int, length: int, exponent: int) -> np.ndarray:
        """float32 [length, channels], as the generator made it."""
        if offset in self._decoded:
            self._decoded.move_to_end(offset)
            return self._decoded[offset]
        n = length * self.n_channels * self.dtype.itemsize
        raw = os.pread(self._file(), n, self.data_offset + offset * self.n_channels * self.dtype.itemsize)
        if len(raw) != n:
            raise TinymlError(f"{self.path}: truncated cache file; delete {self.folder} to rebuild it")
        q = np.frombuffer(raw, self.dtype).reshape(length, self.n_channels)
        sig = q.astype(np.float32)
        if self.dtype == np.int16 and exponent:
            sig *= np.float32(2.0**-exponent)  # a power of two: exact
        sig.flags.writeable = False  # shared by every access: nobody may change the cached samples
        self._decoded[offset] = sig
        self._decoded_bytes += sig.nbytes
        while self._decoded_bytes > DECODED_BYTES and len(self._decoded) > 1:
            _, old = self._decoded.popitem(last=False)
            self._decoded_bytes -= old.nbytes
        return sig


class CachedRecording(Recording):
    """A Recording whose samples stay on disk until `signal` is read. Assigning `signal` (a resampling,
    say) replaces them in memory, as for any Recording."""

    def __init__(self, store: CacheStore, offset: int, length: int, exponent: int, **fields):
        self._store, self._offset, self._length, self._exponent = store, offset, length, exponent
        self._own: np.ndarray | None = None
        super().__init__(signal=None, **fields)

    @property
    def signal(self) -> np.ndarray:
        if self._own is not None:
            return self._own
        return self._store.read(self._offset, self._length, self._exponent)

    @signal.setter
    def signal(self, value) -> None:
        self._own = value

    @property
    def duration(self) -> float:
        n = self._length if self._own is None else self._own.shape[0]
        return n / self.rate


def _meta(r: Recording) -> dict:
    """A recording's fields but its samples. One unpickled from an old cache may predate a field: it gets
    the field's default, as a new Recording would."""
    out = {}
    for f in dataclasses.fields(Recording):
        if f.name == "signal":
            continue
        if hasattr(r, f.name):
            out[f.name] = getattr(r, f.name)
        else:
            out[f.name] = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
    return out


def write_cache(folder: Path, recs: list[Recording]) -> None:
    """Write the entry atomically (a temporary folder renamed into place)."""
    if not recs:
        raise TinymlError(f"{folder.name}: the generator made no recordings")
    n_ch = {r.signal.shape[1] for r in recs}
    if len(n_ch) != 1:
        raise TinymlError(f"{folder.name}: recordings have different channel counts {sorted(n_ch)}")
    exps = [grid_exponent(r.signal) for r in recs]
    int16 = all(e is not None for e in exps)
    dtype = np.int16 if int16 else np.float32
    total = sum(len(r.signal) for r in recs)
    tmp = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    out = np.lib.format.open_memmap(tmp / SAMPLES, mode="w+", dtype=dtype, shape=(total, n_ch.pop()))
    index, off = [], 0
    for r, e in zip(recs, exps):
        x = np.asarray(r.signal, np.float32)
        out[off : off + len(x)] = (x.astype(np.float64) * 2.0**e).astype(np.int16) if int16 else x
        index.append({"offset": off, "length": len(x), "exponent": e if int16 else 0,
                      "fields": _meta(r)})
        off += len(x)
    out.flush()
    del out
    with (tmp / INDEX).open("wb") as f:
        pickle.dump({"format": FORMAT, "recordings": index}, f, protocol=pickle.HIGHEST_PROTOCOL)
    if folder.exists():  # a stale or half-built entry
        _remove(folder)
    tmp.replace(folder)


def read_cache(folder: Path) -> list[Recording] | None:
    """The entry's recordings (samples still on disk), or None when it is missing or of another format."""
    try:
        with (folder / INDEX).open("rb") as f:
            doc = pickle.load(f)
        with (folder / SAMPLES).open("rb") as f:
            version = np.lib.format.read_magic(f)
            header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, _, dtype = header(f)
            data_offset = f.tell()
    except (OSError, EOFError, pickle.UnpicklingError, ValueError):
        return None
    if doc.get("format") != FORMAT:
        return None
    store = CacheStore(folder, dtype, shape[1], data_offset)
    return [CachedRecording(store, d["offset"], d["length"], d["exponent"], **d["fields"]) for d in doc["recordings"]]


def migrate_pickle(pkl: Path, folder: Path) -> bool:
    """A cache entry of the old format (one pickle of every recording, several GB for audio) becomes the
    new one once, with a notice; the pickle is removed. False when there is none."""
    if not pkl.is_file():
        return False
    print(f"converting the dataset cache {pkl.name} to {folder.name}/ (int16 / float32 samples, read lazily)",
          file=sys.stderr)
    with pkl.open("rb") as f:
        recs = pickle.load(f)
    write_cache(folder, recs)
    pkl.unlink()
    return True


def _remove(folder: Path) -> None:
    for p in folder.iterdir():
        p.unlink()
    folder.rmdir()
