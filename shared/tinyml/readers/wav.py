"""WAV (RIFF/WAVE): PCM 8/16/24/32-bit, float, or G.711 mu-law/A-law (also as EXTENSIBLE), any number of channels, at the rate in
its header.

Integer PCM is declared in full scale (int16 / 32768, ...); float WAV declares nothing, so the unit
check sees its values as they are (a float WAV holding int16-sized numbers is caught there); for an audio
app, float samples a little beyond full scale (peak 1-16) are clipped to +-1 with a notice.
The file's channels are numbered 1, 2... (also "left", "right"): `--channel 2` takes the second one.
Without a pick, the file's channels are the app's in order; a multichannel file for an app with one
channel is mixed down, with a notice; fewer channels than the app needs are refused, picks or not.
"""

from __future__ import annotations

import dataclasses
import struct
import warnings
from pathlib import Path

import numpy as np

from ..errors import TinymlError, notice
from . import FileSignal, ReadSpec, channel_options

SIDES = {"left": "1", "right": "2"}


def claim(path: Path, head: bytes) -> int:
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return 100
    return 10 if path.suffix.lower() == ".wav" else 0


def _load(path: Path) -> tuple[np.ndarray, int]:
    from scipy.io import wavfile

    try:
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            rate, data = wavfile.read(path)
    except ValueError as e:
        if "MULAW" in str(e) or "ALAW" in str(e):  # G.711 telephony audio: scipy reads PCM and float only
            return _g711(path)
        raise TinymlError(f"{path}: not a readable WAV file ({e})") from None
    except (EOFError, OSError, struct.error) as e:  # struct.error: a truncated header
        raise TinymlError(f"{path}: not a readable WAV file ({e})") from None
    except (UnboundLocalError, ZeroDivisionError, IndexError):  # scipy on a header with no fmt chunk, 0 channels
        raise TinymlError(f"{path}: not a readable WAV file (no usable format chunk: no 'fmt ' chunk, or 0 "
                          "channels)") from None
    # a data chunk longer than the file: an interrupted copy or recording, never scored as if whole (a
    # streaming writer's "unknown size", 0xFFFFFFFF, is read to the end by scipy without this warning)
    short = next((str(w.message) for w in said if "EOF prematurely" in str(w.message)), None) or _data_short(path)
    if short:
        raise TinymlError(f"{path}: WAV file is truncated (its header announces more samples than it holds: "
                          f"{short.split(';', 1)[-1].strip().rstrip('.')})")
    if data.size == 0:
        raise TinymlError(f"{path}: WAV file has no samples")
    return data, int(rate)


def _data_short(path: Path) -> str | None:
    """The data chunk's announced and held sizes where it announces more than the file holds (scipy says so only
    when the RIFF size disagrees too); None otherwise, and for a streaming writer's unknown size. Reads the chunk
    headers only."""
    with open(path, "rb") as f:
        end = f.seek(0, 2)
        at = 12
        while at + 8 <= end:
            f.seek(at)
            cid, size = struct.unpack("<4sI", f.read(8))
            if cid == b"data":
                held = end - at - 8
                return None if size in (0, 0xFFFFFFFF) or size <= held else f"{size} bytes of samples announced, {held} held"
            at += 8 + size + (size & 1)
    return None


G711 = {6: "A-law", 7: "mu-law"}  # WAVE format tags
EXTENSIBLE = 0xFFFE
KSDATAFORMAT_TAIL = b"\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"  # GUID {000000tt-0000-0010-8000-00AA00389B71}


def _g711_table(law: str) -> np.ndarray:
    """The 256 G.711 codes as int16 samples (ITU-T G.711: a sign, a 3-bit segment, a 4-bit step)."""
    code = np.arange(256)
    if law == "mu-law":
        u = ~code & 0xFF
        mag = (((u & 0x0F) << 3) + 0x84) << ((u >> 4) & 7)
        return np.where(u & 0x80, 0x84 - mag, mag - 0x84).astype(np.int16)
    a = code ^ 0x55
    seg, step = (a >> 4) & 7, a & 0x0F
    mag = np.where(seg == 0, (step << 4) + 8, ((step << 4) + 0x108) << np.maximum(seg - 1, 0))
    return np.where(a & 0x80, mag, -mag).astype(np.int16)


def _g711(path: Path) -> tuple[np.ndarray, int]:
    """A mu-law or A-law WAV (8-bit G.711, as telephone systems record) as int16 samples and its rate."""
    raw = path.read_bytes()
    fmt, data, at = None, None, 12
    while at + 8 <= len(raw) and data is None:
        cid, size = raw[at:at + 4], struct.unpack("<I", raw[at + 4:at + 8])[0]
        body = raw[at + 8:at + 8 + size]
        if cid == b"fmt " and len(body) >= 16:
            fmt = struct.unpack("<HHIIHH", body[:16])
            if fmt[0] == EXTENSIBLE and len(body) >= 40 and body[28:40] == KSDATAFORMAT_TAIL:
                fmt = (struct.unpack("<H", body[24:26])[0], *fmt[1:])  # the real tag is in the sub-format GUID
        elif cid == b"data":
            if len(body) < size:
                raise TinymlError(f"{path}: WAV file is truncated (its data chunk announces {size} bytes, "
                                  f"the file holds {len(body)})")
            data = body
        at += 8 + size + (size & 1)
    if fmt is None or data is None or fmt[0] not in G711 or fmt[5] != 8:
        raise TinymlError(f"{path}: not a readable WAV file (a G.711 file needs 8-bit 'fmt ' and 'data' chunks)")
    x = _g711_table(G711[fmt[0]])[np.frombuffer(data, np.uint8)]
    channels = max(int(fmt[1]), 1)
    x = x[: len(x) // channels * channels].reshape(-1, channels)
    if not x.size:
        raise TinymlError(f"{path}: WAV file has no samples")
    return (x[:, 0] if channels == 1 else x), int(fmt[2])


def _full_scale(data: np.ndarray) -> np.ndarray:
    if data.dtype == np.int16:
        return data.astype(np.float32) / 32768.0
    if data.dtype == np.int32:  # scipy gives 24-bit PCM left-aligned in int32
        return data.astype(np.float32) / 2147483648.0
    if data.dtype == np.uint8:
        return (data.astype(np.float32) - 128.0) / 128.0
    with np.errstate(over="ignore"):  # a float64 sample past float32's range becomes inf: refused as overflow later
        return data.astype(np.float32)


def wav_samples(path: Path) -> tuple[np.ndarray, int]:
    """A WAV file's samples as float32 ([n] or [n, ch]; integer PCM in full scale, -1..1) and its rate."""
    data, rate = _load(path)
    return _full_scale(data), rate


def read(path: Path, spec: ReadSpec) -> FileSignal:
    data, rate = _load(path)
    x = _full_scale(data)
    x = x[:, None] if x.ndim == 1 else x
    k = x.shape[1]
    if k < len(spec.channels):  # no pick can make up the missing axes
        raise TinymlError(_channel_count(path, k, spec))
    if spec.picks:
        picks = {ch: SIDES.get(v.strip().lower(), v) for ch, v in spec.picks.items()}
        found = dataclasses.replace(spec, picks=picks).match([str(i + 1) for i in range(k)], path, "WAV", "channel")
        cols = {ch: x[:, j] for ch, j in found.items()}
    elif k > 1 and len(spec.all_channels) == 1:
        notice(path, f"{k} channels mixed down to mono")
        cols = {spec.channels[0]: x.mean(axis=1)}
    elif k in (len(spec.channels), len(spec.all_channels)):
        cols = dict(zip(spec.all_channels, x.T))
    else:
        raise TinymlError(_channel_count(path, k, spec))
    pcm = data.dtype.kind in "iu"
    clipped = () if pcm else _clip_float_audio(cols, spec, path)
    return FileSignal({ch: np.asarray(v, np.float64) for ch, v in cols.items()}, rate=float(rate),
                      units={ch: "full scale" for ch in cols} if pcm else {}, clipped=clipped)


def _what(spec: ReadSpec) -> str:
    """What the app's channels are, from its manifest's sensor: an accelerometer's or IMU's are axes."""
    sensor = (spec.sensor or "").lower()
    return "axes" if any(w in sensor for w in ("accel", "imu", "gyro", "magnetometer")) else "channels"


def _channel_count(path: Path, k: int, spec: ReadSpec) -> str:
    """Why a file of `k` channels does not fit the app's, and what to do: too few cannot be picked from."""
    n, need = len(spec.channels), ", ".join(spec.channels)
    has = f"{k} channel{'s' if k != 1 else ''}"
    if k < n:
        return (f"{path}: the app needs {n} channels ({need}) and this WAV has {has}: it cannot run on fewer; "
                f"record all {n} {_what(spec)}, or give a CSV with columns {need}")
    picks = channel_options([f"{c}={i + 1}" for i, c in enumerate(spec.channels)])
    return f"{path}: the app needs {n} channels ({need}) and this WAV has {has}; say which is which: {picks}"


FLOAT_OVER_MAX = 16.0  # +24 dBFS: a float WAV holding int16-sized values (peaks in the thousands) is the unit check's


def _clip_float_audio(cols: dict, spec: ReadSpec, path: Path) -> tuple[str, ...]:
    """A float WAV's samples are full scale, nominally -1..1. Beyond it (a mix or a gain stage run hot), the
    samples are clipped to +-1, as a conversion to PCM does (sox, ffmpeg) and as the device's microphone and
    converter saturate, with one notice giving the peak and how many were clipped. Only for an app whose channel
    is audio in full scale; whole numbers (int16 sample values stored as float) are left to the unit check.
    Returns the channels clipped."""
    from ..units import _quantity, _whole_numbers

    clipped = []
    for ch, x in cols.items():
        if _quantity(ch, spec) != "audio":
            continue
        v = np.asarray(x, np.float64)
        v = v[np.isfinite(v)]
        peak = float(np.abs(v).max()) if len(v) else 0.0
        if not 1.0 < peak <= FLOAT_OVER_MAX or _whole_numbers({ch: x}, [ch]) is not None:
            continue
        over = np.abs(x) > 1.0
        cols[ch] = np.clip(x, -1.0, 1.0)
        clipped.append(ch)
        notice(path, f"{ch}: float samples peak at {peak:.3g}, beyond full scale (+-1): {int(over.sum())} of {len(x)} "
                     f"({100 * over.mean():.2g}%) clipped to +-1, as a conversion to 16-bit PCM (sox, ffmpeg) or the "
                     f"device's converter would; scale the file down if that level is real")
    return tuple(clipped)
