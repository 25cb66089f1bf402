"""Readers: one module per file format, each turning a user's recording into named columns.

A reader is any module in this package whose name does not start with "_"; it is found by discovery
(no list to edit), so a new format is one new file here. It defines:

    def claim(path: Path, head: bytes) -> int
        How sure the module is that it reads this file: 0 not mine, 10 the suffix fits, 50 the content
        looks right, 100 unmistakable (magic bytes, a signature). `head` is the file's first 4 KiB.
        The highest claim wins (ties: the module name, so the choice is stable).
    def read(path: Path, spec: ReadSpec) -> FileSignal
        The columns of the channels `spec` asks for (`spec.match` finds them by name, alias or
        --channel pick and refuses a file without a required channel), plus what the file says about
        time (a steady `rate`, or per-sample `times` in seconds, however irregular) and `units`.
        Problems are a TinymlError of one line that starts with the path.

Everything after the reader is the same for every format (recording.read_recording): units and
plausible ranges (tinyml.units), time (tinyml.timestamps, tinyml.regularize), missing optional
channels as NaN, and the non-finite check on required channels.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import ModuleType

import numpy as np

from ..errors import TinymlError, notice, option
from ..hints import via_make

HEAD_BYTES = 4096


@dataclass(frozen=True)
class ReadSpec:
    """What the app wants from a file: the manifest's [signal] inputs and the user's options."""

    channels: tuple[str, ...]  # required, in this order
    optional: tuple[str, ...] = ()  # optional channels, after the required ones; absent ones become NaN
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # channel -> other names
    picks: Mapping[str, str] = field(default_factory=dict)  # --channel: channel -> the file's name for it
    # channel -> names of a related signal read in its place, with a notice, when none of its names is there
    stand_ins: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    sensor: str = ""  # [signal] sensor ("accelerometer", "microphone", "ecg"): how messages speak of channels
    units: Mapping[str, str] = field(default_factory=dict)  # channel -> the manifest's unit ("" unknown)
    plausible_range: Mapping[str, tuple[float, float]] = field(default_factory=dict)  # channel -> (lo, hi)
    typical_magnitude: tuple[float, float] | None = None  # median |required channels| in normal use
    counts_per_unit: Mapping[str, float] = field(default_factory=dict)  # channel -> raw counts per unit
    # required channels whose one value over a whole file is legitimate ([signal] may_be_flat); None (a spec
    # not made from a manifest) checks no channel for flatness
    may_be_flat: tuple[str, ...] | None = None
    rate: float | None = None  # --rate: the user's rate, over the file's time
    device_rate: float | None = None  # [signal] rate: guides the unit of an unnamed time column
    accepted_rates: tuple[float, float] | None = None  # [signal] accepted_rates
    max_gap_s: float | None = None  # longest gap between timestamps that is interpolated over

    @property
    def all_channels(self) -> tuple[str, ...]:
        return (*self.channels, *self.optional)

    @classmethod
    def from_manifest(cls, m, rate: float | None = None, picks: Mapping[str, str] | None = None) -> "ReadSpec":
        """The spec for an app's manifest (a tinyml.manifest.Manifest) and the user's options."""
        s = m.signal
        required = tuple(s["channels"])
        optional = tuple(s.get("optional_channels") or ())
        every = (*required, *optional)
        acc = s.get("accepted_rates") or []
        return cls(
            channels=required,
            optional=optional,
            aliases={c: tuple(v) for c, v in (s.get("aliases") or {}).items()},
            stand_ins={c: tuple(v) for c, v in (s.get("stand_ins") or {}).items()},
            sensor=str(s.get("sensor") or ""),
            picks=dict(picks or {}),
            units={c: m.unit_of(c) for c in every},
            plausible_range={c: tuple(v) for c, v in _per_channel(s.get("plausible_range"), every).items()},
            typical_magnitude=tuple(s["typical_magnitude"]) if s.get("typical_magnitude") else None,
            counts_per_unit=_per_channel(s.get("counts_per_unit"), every),
            may_be_flat=tuple(s.get("may_be_flat") or ()),
            rate=rate,
            device_rate=float(s["rate"]),
            accepted_rates=(float(acc[0]), float(acc[1])) if len(acc) >= 2 else None,
            max_gap_s=m.max_gap_s,
        )

    def names_for(self, channel: str) -> list[str]:
        """The file names that may hold `channel`: the --channel pick alone, else the name and aliases."""
        if channel in self.picks:
            return [self.picks[channel]]
        return [channel, *self.aliases.get(channel, ())]

    def match(self, names: Sequence[str], path: Path, kind: str = "CSV", what: str = "column",
              columns: Sequence[int] | None = None) -> dict[str, int]:
        """channel -> index into `names` for every required channel and every optional one present.
        Names compare case-insensitively, without a unit in brackets ("ax (mg)" is "ax"); then with spaces,
        underscores and hyphens alike ("Water_Content_10_CM" is "Water Content 10 CM"), when that names one column
        only (several: refused in one line naming them). `columns`: the column each name stands for, where several
        names offer one column (a logger's short names)."""
        column_of = list(columns) if columns is not None else list(range(len(names)))
        keys = [column_name(n)[0].lower() for n in names]
        bare = [unit_suffix(k)[0] for k in keys]  # "ecg_mv" -> "ecg": tried after the name as written
        folded = [_fold(k) for k in keys]
        found: dict[str, int] = {}
        for ch in self.all_channels:
            own = [column_name(n)[0].lower() for n in self.names_for(ch)]
            stand = [] if ch in self.picks else [column_name(n)[0].lower() for n in self.stand_ins.get(ch, ())]
            hits_of = {w: self._hits(w, keys, bare, folded) for w in (*own, *stand)}
            # the names in order of preference (the channel's, its aliases, then stand-ins): the first one the
            # file has as written wins, else the first it has spelled otherwise; so a 12-lead file's `Lead II`
            # is read for heart's ecg, not its `Lead I`, and an exact `MLII` beats a loose `ECG_mV`
            w = next((w for w in (*own, *stand) if w in keys),
                     next((w for w in (*own, *stand) if hits_of[w]), None))
            if w is None:
                continue
            hits = []  # one name for each column the name finds (a logger offers two names for one column)
            for i in hits_of[w]:
                if all(column_of[j] != column_of[i] for j in hits):
                    hits.append(i)
            if len(hits) > 1:
                raise TinymlError(f"{path}: {kind} {what}s {', '.join(repr(names[i]) for i in hits)} all "
                                  f"match {ch!r} (spaces, underscores and hyphens alike); pick one by its "
                                  f"exact name: {option('channel', ch + '=NAME')}")
            found[ch] = hits[0]
            read = column_of[hits[0]]
            others = sorted({column_of[i] for h in hits_of.values() for i in h} - {read})
            others = [next(i for i, c in enumerate(column_of) if c == col) for col in others]  # a name of each
            also = (f" (also matching: {', '.join(repr(names[i]) for i in others)}); pick another with "
                    f"{option('channel', ch + '=NAME')}") if others else ""
            if w in stand and w not in own:
                notice(path, f"{ch}: read from {what} {names[hits[0]]!r}, a stand-in: the app expects "
                             f"{' or '.join(self.names_for(ch)[1:4] or [ch])}; results may differ from what it "
                             f"was validated on{also}")
            elif others:
                notice(path, f"{ch}: read from {what} {names[hits[0]]!r}{also}")
        # a required channel must be there; so must an optional one the user picked a column for
        missing = [c for c in self.all_channels if c not in found and (c in self.channels or c in self.picks)]
        if missing:
            has = ", ".join(n for n in names[:16] if n) + (", ..." if len(names) > 16 else "")
            picked = [f"{c}={self.picks[c]}" for c in missing if c in self.picks]
            why = f" ({channel_options(picked)} {'names' if len(picked) == 1 else 'name'} no {what})" if picked else ""
            raise TinymlError(
                f"{path}: {kind} lacks {what}(s) {', '.join(missing)}{why}; it has {has or 'none'}; "
                f"name {'them' if len(missing) > 1 else 'it'} so, or pick one: {option('channel', missing[0] + '=NAME')}"
            )
        return found


    @staticmethod
    def _hits(w: str, keys: list[str], bare: list[str], folded: list[str]) -> list[int]:
        """The columns a name finds: the one written so, else the one so named before a unit suffix, else
        every one equal with spaces, underscores and hyphens alike."""
        for within in (keys, bare):
            if w in within:
                return [within.index(w)]
        fw = _fold(w)
        return [i for i, k in enumerate(folded) if k == fw]


def _fold(name: str) -> str:
    """A column name with runs of spaces, underscores and hyphens as one space ("lead_ii" is "lead ii")."""
    return re.sub(r"[\s_\-]+", " ", name.strip().lower()).strip()


@dataclass
class FileSignal:
    """What a reader got out of a file, before units, time and optional channels are settled."""

    columns: dict[str, np.ndarray]  # channel -> float64 [n] values (NaN where the file has no value)
    rate: float | None = None  # Hz, when the file states a steady rate (WAV, Edge Impulse interval_ms)
    times: np.ndarray | None = None  # seconds per row from the first one, when the file gives times
    time_origin: datetime | None = None  # the wall-clock time of times == 0, when known (messages)
    time_note: str = ""  # how the times were read ("time column 'time' in seconds"), for messages
    units: dict[str, str] = field(default_factory=dict)  # channel -> unit the file declares
    names: dict[str, str] = field(default_factory=dict)  # channel -> the file's name for it (messages)
    # deployment values the file states, {section: {key: value}} (a CWRU record's motor speed): they reach
    # the features through Recording.deployment, unless the user --set the same key
    deployment: dict = field(default_factory=dict)
    # channels the reader clipped itself and said so (a float WAV beyond +-1): the clipping check says no more
    clipped: tuple[str, ...] = ()
    # each row's line in the file (a text table), so that a message names the line a user can find
    lines: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0


def the_one_channel(spec: ReadSpec, path: Path, holds: str) -> str:
    """The app's one channel, for a file that holds one signal at a time (`holds`: "an MFPT record has one
    accelerometer"); an app with more channels, optional ones too, is refused in one line naming them."""
    if len(spec.all_channels) == 1:
        return spec.all_channels[0]
    optional = f"; optional: {', '.join(spec.optional)}" if spec.optional else ""
    raise TinymlError(f"{path}: {holds}; the app wants {len(spec.all_channels)} channels "
                      f"({', '.join(spec.channels)}{optional})")


def machine_from_path(path: Path, bearing: str, speed: re.Pattern, shaft_hz: Callable[[re.Match], float],
                      no_speed: str) -> dict[str, float]:
    """A data set's [machine] values: the known bearing's defect orders (tinyml.bearing.KNOWN[bearing]) and the
    shaft speed `shaft_hz(match)` from the first of the file's name and its folders, innermost first, that
    `speed` finds in; without one, a notice (`no_speed`: what names it, and how to give it)."""
    from ..bearing import KNOWN

    machine = dict(KNOWN[bearing])
    m = next((m for part in reversed(path.parts) if (m := speed.search(part))), None)
    if m:
        machine["shaft_hz"] = float(shaft_hz(m))
    else:
        notice(path, no_speed)
    return machine


def matlab_first(v):
    """The first element of a value scipy loaded from a .mat file: a 1x1 struct's record, a cell's text, a
    scalar's number (matlab and the data sets' readers it hands files to)."""
    return np.asarray(v).reshape(-1)[0]


def decode_text(raw: bytes, path: Path, kind: str = "text file") -> str:
    """A text file's bytes as str: UTF-8 (with or without a BOM), UTF-16 with its BOM (Excel's "Unicode
    text"), else Windows-1252, the encoding Excel and Windows loggers write `°` and `²` in (with a notice).
    Bytes with NULs and no UTF-16 BOM are not text: refused in one line."""
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise TinymlError(f"{path}: not a readable {kind} (UTF-16 with broken characters)") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    if b"\x00" in raw:
        raise TinymlError(f"{path}: not a {kind}: binary content")
    # cp1252 leaves 5 bytes undefined: those are read as Latin-1, so any byte decodes
    text = raw.decode("cp1252", errors="replace")
    if "\ufffd" in text:
        text = raw.decode("latin-1")
    notice(path, "not UTF-8: read as Windows-1252 (Latin-1) text")
    return text


def head_text(head: bytes) -> str | None:
    """A file's first bytes as text, decoded as decode_text would (for claims); None when binary."""
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return head[: len(head) // 2 * 2].decode("utf-16", errors="ignore")
    try:
        return head.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        if e.start >= len(head) - 3:  # a character cut by the end of the head
            return head[: e.start].decode("utf-8-sig")
    return None if b"\x00" in head else head.decode("latin-1")


def numbered_lines(text: str, start: int = 1) -> list[tuple[int, str]]:
    """(file line, text) of each non-blank line of `text`, whose first line is file line `start`: readers drop
    blank lines and still name the right line in their messages."""
    return [(n, ln) for n, ln in enumerate(text.splitlines(), start) if ln.strip()]


def is_number(cell: str) -> bool:
    """A text cell holds one number (a decimal comma allowed: `-0,034`)."""
    try:
        float(cell.replace(",", "."))
        return True
    except ValueError:
        return False


MISSING = frozenset({"", "nan", "na", "n/a", "null", "none"})  # cells that mean "no value" (any case)


def parse_numbers(cells: Sequence[str], path: Path, column: str, line_of=lambda k: k + 1,
                  missing: frozenset[str] = MISSING) -> np.ndarray:
    """Text cells of one column as float64: a `missing` marker is NaN, anything else that is not a number
    is refused in one line naming the file line (`line_of(k)` for cell k) and the column."""
    try:
        out = np.asarray(cells, dtype=np.float64)
        if not missing & {"inf", "-inf"} or np.isfinite(out).all():
            return out
    except ValueError:
        pass
    out = np.empty(len(cells), np.float64)
    for k, c in enumerate(cells):
        c = c.strip()
        if c.lower() in missing:
            out[k] = np.nan
            continue
        try:
            out[k] = float(c)
        except ValueError:
            raise TinymlError(f"{path}: line {line_of(k)}: expected numbers in column {column!r}, got {c!r}") from None
    return out


_UNIT_IN_NAME = re.compile(r"^(.*?)\s*[\(\[]\s*([^\)\]]*?)\s*[\)\]]\s*$")


def column_name(header: str) -> tuple[str, str]:
    """("ax", "mg") for "ax (mg)" or "ax[mg]"; (header, "") when no unit is written in brackets."""
    h = header.strip()
    m = _UNIT_IN_NAME.match(h)
    return (m.group(1), m.group(2)) if m and m.group(1) else (h, "")


def unit_suffix(name: str) -> tuple[str, str]:
    """("ecg", "mV") for "ecg_mV", when what follows the last "_" is a unit tinyml.units knows, or the last two
    or three parts that spell one (m/s² is known as `m_s2` and `m_s_2`: "accel_m_s2" -> "m_s2"); (name, "")
    otherwise."""
    from ..units import lookup

    parts = name.strip().split("_")
    for k in (1, 2, 3):
        base, unit = "_".join(parts[:-k]), "_".join(parts[-k:])
        if base and lookup(unit) is not None:
            return base, unit
    return name.strip(), ""


def declared_unit(header: str, spec: ReadSpec, channel: str) -> str:
    """The unit a column's heading (a variable's name) declares for `channel`: in brackets (`ax (mg)`), or as
    a suffix (`ecg_mV`, `accel_ms2`, a --channel pick's `vib_ms2`) unless the heading is one of the manifest's
    names for the channel as written (`soil_temp_c` is a name, not a unit; a manifest lists a name like `theta_v`
    among its aliases). A suffix of another quantity than the channel's is kept, so the reader refuses it
    (`accel_v`, a sensor's volts, is not g)."""
    name, unit = column_name(header)
    if unit or name.lower() in {column_name(n)[0].lower() for n in (channel, *spec.aliases.get(channel, ()))}:
        return unit
    return unit_suffix(name)[1]


def parse_picks(values: Sequence[str] | None, channels: Sequence[str]) -> dict[str, str]:
    """`--channel NAME` (an app with one channel) or `--channel ch=NAME` (repeatable) -> {ch: NAME}."""
    picks: dict[str, str] = {}
    for v in values or ():
        ch, sep, name = v.partition("=")
        if not sep:
            if len(channels) != 1:
                raise TinymlError(f"{option('channel', v)}: the app has channels {', '.join(channels)}; "
                                  f"say which one: {option('channel', channels[0] + '=' + v)}")
            ch, name = channels[0], v
        ch, name = ch.strip(), name.strip()
        if ch not in channels:
            raise TinymlError(f"{option('channel', v)}: {ch!r} is not one of the app's channels {', '.join(channels)}")
        if not name:
            raise TinymlError(f"{option('channel', v)}: give the file's column or lead name after '='")
        _refuse_joined_mappings(v, name, channels)
        picks[ch] = name
    return picks


def _refuse_joined_mappings(given: str, name: str, channels: Sequence[str]) -> None:
    """`ax=X1 ay=Y1` as one value (make's CHANNEL= splits at ';' only, as a column name may have spaces): the name
    would be "X1 ay=Y1", a column no file has. One line saying how to give each mapping."""
    starts = "|".join(re.escape(ch) for ch in channels)
    if not re.search(rf"\s(?:{starts})\s*=", name):
        return
    mappings = re.split(rf"\s+(?=(?:{starts})\s*=)", given.strip())
    raise TinymlError(f"{option('channel', given)}: several mappings in one; give them as {channel_options(mappings)}")


def channel_options(mappings: Sequence[str]) -> str:
    """Channel mappings as the user gives them: `--channel ax=X1 --channel 'ay=Y 1'`, or under make one
    `CHANNEL='ax=X1;ay=Y 1'` (make splits CHANNEL at ';' only)."""
    if via_make():
        return option("channel", shlex.quote(";".join(mappings)))
    return " ".join(option("channel", shlex.quote(m)) for m in mappings)


def _per_channel(value, channels: Sequence[str]) -> dict:
    """A manifest value given once for every channel, or as a table per channel."""
    if value is None or value == [] or value == {}:
        return {}
    if isinstance(value, dict):
        return {c: v for c, v in value.items() if c in channels}
    return {c: value for c in channels}


def modules() -> list[ModuleType]:
    """Every reader module in this package, by name."""
    out = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{__name__}.{info.name}")
        if callable(getattr(mod, "claim", None)) and callable(getattr(mod, "read", None)):
            out.append(mod)
    return out


def reader_for(path: Path) -> ModuleType:
    """The reader module with the highest claim on `path`."""
    with open(path, "rb") as f:
        head = f.read(HEAD_BYTES)
    # whatever its name says (a FLAC saved as .wav, a TOB3 .dat): no reader decodes it. A bare MPEG frame sync
    # is 11 set bits, which a sensor's binary samples start with too (a WFDB .dat whose first sample is -1281):
    # looked for first only where the name says audio or nothing, else only when no reader takes the file
    unread = _unread_format(head, mpeg=_named_as_audio(path))
    if unread:
        raise TinymlError(f"{path}: {unread}")
    best, best_claim = None, 0
    for mod in modules():
        c = int(mod.claim(path, head) or 0)
        if c > best_claim:
            best, best_claim = mod, c
    if best is None:
        if _mpeg_frame(head):  # the one format the check above left out for this file's name
            raise TinymlError(f"{path}: MP3 audio, not WAV; {CONVERT_AUDIO}")
        names = ", ".join(m.__name__.rsplit(".", 1)[1] for m in modules())
        hint = next((h for suffixes, h in NOT_READ.items() if path.suffix.lower() in suffixes), "")
        raise TinymlError(f"{path}: no reader for this file{hint} (formats read: {names})")
    return best


CONVERT_AUDIO = "convert it to WAV first (ffmpeg -i FILE out.wav)"
COMPRESSED_AUDIO = (".mp3", ".m4a", ".aac", ".ogg", ".opus", ".flac", ".aif", ".aiff", ".webm", ".caf", ".amr", ".au",
                    ".snd", ".wma", ".3gp")

# Formats users have that no reader takes, and what to do (the refusal says it).
NOT_READ = {
    COMPRESSED_AUDIO: f": compressed or non-WAV audio; {CONVERT_AUDIO}",
    (".raw", ".pcm"): ": headerless audio samples; make a WAV of them stating their rate and encoding "
                      "(sox -r 16000 -e signed -b 16 -c 1 FILE out.wav)",
    (".xlsx", ".xls", ".ods", ".numbers"): ": a spreadsheet; save the sheet as CSV",
    (".gdf",): ": GDF biosignals are not read; export the lead as EDF, CSV or a WFDB record",
    (".parquet", ".h5", ".hdf5", ".npy", ".npz", ".pkl", ".feather"): ": a binary array file; write it as CSV",
}


# The first bytes of audio containers no reader decodes (a WAV is RIFF/RF64 .. WAVE): told by content, so a
# FLAC or an MP3 saved under a .wav name is named for what it is, not reported as a broken WAV. ID3 and caff
# with their version bytes: a CSV heading may start `ID3_temp` or `caffeine`.
_AUDIO_MAGIC = ((b"fLaC", "FLAC"), (b"OggS", "Ogg (Vorbis/Opus)"), (b"ID3\x02", "MP3"), (b"ID3\x03", "MP3"),
                (b"ID3\x04", "MP3"), (b".snd", "Sun/NeXT (.au)"), (b"#!AMR", "AMR"),
                (b"\x1aE\xdf\xa3", "WebM/Matroska"), (b"caff\x00\x01", "Core Audio (.caf)"),
                (b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", "Windows Media (.wma)"))


def _named_as_audio(path: Path) -> bool:
    """Whether a file's name says audio (a WAV or a compressed format's suffix) or nothing (no suffix)."""
    return path.suffix.lower() in ("", ".wav", *COMPRESSED_AUDIO)


def _unread_format(head: bytes, mpeg: bool) -> str:
    """What a file no reader decodes is, and what to do, told by its first bytes; "" for any other file.
    `mpeg`: whether a bare MPEG frame header (no ID3 tag) counts."""
    container = _audio_container(head, mpeg)
    if container:
        return f"{container} audio, not WAV; {CONVERT_AUDIO}"
    campbell = re.match(rb'"(TOB[123])"', head)
    if campbell:  # a Campbell logger's binary table: TOA5, its text form, is read
        return (f"Campbell {campbell.group(1).decode()} binary data; convert it to TOA5 first (LoggerNet's "
                "CardConvert, or the logger's TOA5 output)")
    return ""


def _audio_container(head: bytes, mpeg: bool) -> str:
    """The name of the audio container `head` starts, or "" (MPEG audio without an ID3 tag is told by its
    frame header; AIFF and MP4/M4A by their chunk types)."""
    for magic, name in _AUDIO_MAGIC:
        if head.startswith(magic):
            return name
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "AIFF"
    if head[4:8] == b"ftyp" and head[8:11] in (b"M4A", b"mp4", b"iso", b"3gp", b"M4B", b"qt "):
        return "MP4/M4A"
    if mpeg and _mpeg_frame(head):
        return "MP3"
    return ""


def _mpeg_frame(head: bytes) -> bool:
    """Whether `head` starts an MPEG audio layer III or II frame: an 11-bit sync, a version that is not the
    reserved one, a valid bitrate and sample-rate index (a UTF-16 BOM, FF FE, would be layer I: not taken)."""
    if len(head) < 4 or head[0] != 0xFF:
        return False
    b1, b2 = head[1], head[2]
    return (b1 & 0xE0 == 0xE0 and b1 & 0x18 != 0x08 and b1 & 0x06 in (0x02, 0x04)
            and b2 & 0xF0 != 0xF0 and b2 & 0x0C != 0x0C)
