"""Units: bring a recording's channels to the manifest's units, and catch a wrong unit by its range.

The manifest states each channel's unit (`[signal] units`) and, for this check, what values are
plausible: `plausible_range` (each channel's values; "far outside" means beyond the range by more
than half its width) and `typical_magnitude` (the median of |required channels| as a vector in normal
use, e.g. gravity, 1 g, for an accelerometer; it tells m/s² from g, whose ranges overlap).

For each channel the candidates are tried in this order, and the first whose values are plausible wins:
1. the unit the file declares (an Edge Impulse sensor's `units`, a CSV header's `ax (mg)`, a WAV's PCM);
2. the manifest's own unit (no conversion);
3. raw `counts`, when the manifest declares `counts_per_unit` (the sensor's LSB);
4. the other units of the same quantity that can be told apart by size (g, mg, m/s²; full scale and
   int16/int24/int32 PCM; V, mV, µV ...), nearest to the manifest's first.
A conversion is announced with one notice. When nothing fits, the declared unit (else the one unit tried that
comes near) is still taken, with a notice, if its values are plausible, gravity is not removed and its median
magnitude is within MAGNITUDE_MARGIN of typical_magnitude, its mean reaching typical where the median is under
it (30 s of continuous jumping spends half its time in the air: its median |a| is under gravity, its mean is
not; a unit step is 9.8x or more); otherwise the recording is refused with one line that quotes the file's
extreme values and the sample of the farthest out. A median magnitude a unit step below typical_magnitude (an
ECG in V read as mV is 1000x small) is converted only when exactly one unit of the quantity fits; otherwise the
refusal names the likely unit and the heading that declares it (`ecg (V)`).
Without plausible_range and typical_magnitude only a declared unit is converted.

Before any of this, a required channel that holds one value over the whole file (a disconnected sensor, a
muted input) is refused in one line, unless the manifest lists it in `[signal] may_be_flat`: then a notice.
Of several required channels (one sensor's axes) only all of them flat is refused: some is a device at rest.
A required channel cut at its sensor's rail (check_clipped, run by recording._read for every reader: a phone's
accelerometer at +-2 g, a WAV at full scale) is scored with one notice naming it: what the app looks for may be cut.

Units are spelled as users write them ("m/s^2", "m/s²", "ms2"); `normalize` maps them onto one key.
Add a unit here (a row of UNITS) and every app and reader knows it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .errors import TinymlError, notice, option

G = 9.80665  # m/s^2 per g
MISSING_MARKERS = (999.0, 9999.0, 99999.0, 999999.0)  # loggers' "no value" (AmeriFlux, ISMN: -9999), either sign


@dataclass(frozen=True)
class Unit:
    quantity: str
    factor: float  # base unit per this unit, after the offset: base = (x + offset) * factor
    offset: float = 0.0
    by_size: bool = True  # may be guessed from the values' size (no offset, not confusable)


def _u(quantity, factor, offset=0.0, by_size=True, *names):
    return {n: Unit(quantity, factor, offset, by_size) for n in names}


UNITS: dict[str, Unit] = {
    **_u("acceleration", 1.0, 0.0, True, "g"),
    **_u("acceleration", 1e-3, 0.0, True, "mg"),
    **_u("acceleration", 1 / G, 0.0, True, "m/s2", "ms2", "ms-2", "mps2"),
    **_u("acceleration", 1e-6, 0.0, False, "ug"),
    # audio samples; "wav" is what Edge Impulse calls int16 PCM audio in its data-acquisition format
    **_u("audio", 1.0, 0.0, True, "fullscale", "fs"),
    **_u("audio", 1 / 32768, 0.0, True, "int16", "pcm16", "wav"),
    **_u("audio", 1 / 2**23, 0.0, True, "int24", "pcm24"),
    **_u("audio", 1 / 2**31, 0.0, True, "int32", "pcm32"),
    **_u("audio", 1 / 128, -128.0, False, "uint8", "pcm8"),
    **_u("voltage", 1.0, 0.0, True, "v"),
    **_u("voltage", 1e-3, 0.0, True, "mv"),
    **_u("voltage", 1e-6, 0.0, True, "uv"),
    **_u("angular_rate", 1.0, 0.0, True, "deg/s", "dps"),
    **_u("angular_rate", 1e-3, 0.0, True, "mdps"),
    **_u("angular_rate", 180 / math.pi, 0.0, True, "rad/s"),
    **_u("temperature", 1.0, 0.0, True, "degc", "c", "celsius"),
    **_u("temperature", 1.0, -273.15, True, "k", "kelvin"),
    **_u("temperature", 5 / 9, -32.0, False, "degf", "f", "fahrenheit"),
    **_u("fraction", 1.0, 0.0, True, "fraction", "m3/m3", "cm3/cm3", "v/v"),
    **_u("fraction", 0.01, 0.0, True, "%", "percent", "%vwc", "%vol", "vol%"),  # `Soil Moisture (%VWC)`, `% Vol`
    # electrical conductivity (soil bulk EC): dS/m = mS/cm
    **_u("conductivity", 1.0, 0.0, True, "ds/m", "ms/cm", "mmho/cm"),
    **_u("conductivity", 1e-3, 0.0, True, "us/cm", "umho/cm"),
    **_u("conductivity", 10.0, 0.0, False, "s/m"),
    **_u("conductivity", 0.01, 0.0, False, "ms/m"),
    # depths of water (rain, irrigation, evapotranspiration per sample interval)
    **_u("water_depth", 1.0, 0.0, False, "mm"),
    **_u("water_depth", 10.0, 0.0, False, "cm"),
    **_u("water_depth", 25.4, 0.0, False, "in", "inch", "inches"),
}


def normalize(unit: str) -> str:
    u = unit.strip().lower().replace("µ", "u").replace("μ", "u").replace("°", "deg").replace("²", "2")
    u = u.replace("³", "3").replace("degrees", "deg").replace("degree", "deg")  # METER's `m³/m³`, `degree_C`
    return u.replace("^", "").replace("**", "").replace(" ", "").replace("_", "")


def lookup(unit: str) -> Unit | None:
    return UNITS.get(normalize(unit)) if unit else None


def convert(x: np.ndarray, src: str, dst: str) -> np.ndarray:
    """Values in `src` as `dst` (same quantity)."""
    a, b = lookup(src), lookup(dst)
    if a is None or b is None or a.quantity != b.quantity:
        raise TinymlError(f"cannot convert {src!r} to {dst!r}")
    if normalize(src) == normalize(dst):
        return x
    return (x + a.offset) * (a.factor / b.factor) - b.offset


@dataclass(frozen=True)
class _Candidate:
    name: str  # how the notice calls it: "mg", "counts (256 per g)"
    declared: bool
    fn: object  # values -> values in the manifest's unit


def to_manifest_units(columns: dict[str, np.ndarray], declared: dict[str, str], spec, path,
                      where=lambda k: f"sample {k}") -> dict[str, np.ndarray]:
    """`columns` (channel -> values as the file holds them) in the manifest's units, or a TinymlError. `where`:
    a row's place in the file for messages (its line), given its index in `columns`."""
    check_flat(columns, spec, path)
    declared = _shared_units(columns, declared, spec, path)
    out = dict(columns)
    groups: dict[tuple[str, str], list[str]] = {}
    for ch in columns:
        groups.setdefault((spec.units.get(ch, ""), declared.get(ch, "") or ""), []).append(ch)
    for (unit, said), chans in groups.items():
        out.update(_settle(columns, chans, unit, said, spec, path, where))
    _refuse_or_drop_wild_values(columns, out, spec, path, where)
    return out


CLIP_SHARE = 0.001  # this share of a channel's samples at its largest magnitude is a pile-up at the rail
CLIP_RUN = 3  # or this many consecutive samples there: a peak the sensor could not follow
CLIP_LEVELS = 10  # the rail lies at least this many distinct values beyond the median: not rest noise
CLIP_INNER = 3  # distinct values just inside the rail, whose samples a peak of its own passes through


def check_clipped(columns, out, spec, path, said: Sequence[str] = ()) -> None:
    """Required channels cut at a rail (a phone's accelerometer at +-2 g, a WAV at full scale): ONE notice naming
    them, the rail in the manifest's unit and the share of samples at it; scored as it is, but what the app
    looks for may be cut (an impact's peak). `columns` as the file holds them (a rail is an exact value there),
    `out` in the manifest's units; `said`: channels a reader clipped and said so already."""
    cut = []
    for ch in (c for c in spec.channels if c not in said):
        raw = np.asarray(columns.get(ch, ()), np.float64)
        at = _at_rail(raw)
        if at is not None:
            unit = f" {spec.units[ch]}" if getattr(spec, "units", {}).get(ch) else ""
            cut.append(f"{ch!r} at {_rails_text(np.asarray(out[ch], np.float64)[at])}{unit} "
                        f"({100 * at.sum() / len(raw):.2g}% of its samples)")
    if cut:
        notice(path, f"the recording is clipped: {', '.join(cut)}: the {_sensor_name(spec)}'s range was exceeded "
                     f"and {_cut_peaks(spec)} beyond it are cut: scored as it is, results may differ")


def _cut_peaks(spec) -> str:
    """What a clipped channel loses, in the words of its quantity."""
    quantity = _quantity(spec.channels[0], spec)
    return {"acceleration": "peaks (an impact's)", "audio": "peaks (a loud sound's)"}.get(quantity, "peaks")


def _rails_text(at_rails: np.ndarray) -> str:
    """The rails a channel sits at, in its unit: "+-2" (both, equal within a code), "-2", "32767"."""
    hi, lo = at_rails.max(), at_rails.min()
    if hi > 0 > lo and abs(hi + lo) <= 1e-3 * max(hi, -lo):
        return f"+-{max(hi, -lo):.4g}"
    return f"{hi:.4g}" if hi == lo else f"{lo:.4g} and {hi:.4g}"


def _at_rail(x: np.ndarray) -> np.ndarray | None:
    """Where a signal sits at a rail it was cut at (its max, its min, or both), else None. A two's-complement
    converter's rails differ by one code (-32768 and 32767), so each side is judged on its own."""
    finite = np.isfinite(x)
    v = x[finite]
    if v.size < 2 * CLIP_RUN:
        return None
    at = np.zeros(v.size, bool)
    # sides from the median of the values off both extremes: a channel at its rail for most of the file has its
    # plain median there
    inner = v[(v != v.max()) & (v != v.min())]
    middle = float(np.median(inner)) if inner.size else float(np.median(v))
    for side in (v - middle, middle - v):  # above the middle, then below it
        top = _cut_at_top(side)
        if top is not None:
            at |= top
    if not at.any():
        return None
    where = np.zeros(len(x), bool)
    where[finite] = at
    return where


def _cut_at_top(d: np.ndarray) -> np.ndarray | None:
    """Where `d` (a signal less its middle, one side) sits at its largest value when it was cut there, else None:
    the samples there pile up (a run of CLIP_RUN, or CLIP_SHARE of them), the top lies CLIP_LEVELS distinct
    values beyond the middle (quantized noise at rest and a flat channel reach their own top in a step or two),
    and more samples sit at the top than at the CLIP_INNER values just inside it (a peak of its own, a 12-bit
    ECG's R wave, passes through those on its way up and down; a cut one jumps to the rail and stays)."""
    top = d.max()
    at = d == top
    count = int(at.sum())
    if top <= 0 or count < CLIP_RUN or not (count >= CLIP_SHARE * d.size or _longest_run(at) >= CLIP_RUN):
        return None
    levels = _top_levels(d[d > 0], count)  # ascending
    if len(levels) <= CLIP_LEVELS:
        return None
    return at if count > int(np.isin(d, levels[-1 - CLIP_INNER:-1]).sum()) else None


def _top_levels(d: np.ndarray, count: int) -> np.ndarray:
    """The distinct values of `d` (ascending), at least the CLIP_LEVELS + 1 largest: found among the largest
    samples first (a partition, not a sort of a long recording), all of them only where those are too few."""
    k = min(d.size, count + 64 * (CLIP_LEVELS + 1))
    top = np.unique(np.partition(d, d.size - k)[d.size - k:])
    return top if len(top) > CLIP_LEVELS or k == d.size else np.unique(d)


def _longest_run(flags: np.ndarray) -> int:
    """The most consecutive True in `flags` (found from the few True indices: a long file's rail is rare)."""
    at = np.flatnonzero(flags)
    if not at.size:
        return 0
    ends = np.concatenate(([-1], np.flatnonzero(np.diff(at) != 1), [at.size - 1]))
    return int(np.diff(ends).max())


WILD = 10.0  # a value this many times the plausible range's largest magnitude is no reading of the sensor


def _refuse_or_drop_wild_values(columns, out, spec, path, where) -> None:
    """A value far beyond its channel's plausible range in a file whose bulk fits it (units are told from
    percentiles, so a few rows pass): a logger's missing-value marker or a corrupt row, never the sensor. Read
    on, it would be clipped to full scale and taken for a real extreme (a 16 g impact from one 99999 cell).
    Refused in a required channel; in an optional one (a rain gauge's overflow, inf) the value becomes missing
    (NaN), with a notice, so that one cell does not cost the recording. NaN is missing already."""
    for ch, (lo, hi) in spec.plausible_range.items():
        if ch not in out:
            continue
        x = np.asarray(out[ch], np.float64)
        with np.errstate(invalid="ignore"):
            wild = np.abs(x) > WILD * max(abs(lo), abs(hi))  # NaN compares False
        if not wild.any():
            continue
        k = int(np.argmax(wild))
        raw = float(np.asarray(columns[ch], np.float64)[k])
        marker = " (a logger's missing-value marker?)" if abs(raw) in MISSING_MARKERS else ""
        unit = f" {spec.units[ch]}" if spec.units.get(ch) else ""
        n = int(wild.sum())
        said = (f"{ch} = {raw:g} at {where(k)}{marker}, {n} value{'s' if n > 1 else ''} like it: far beyond the "
                f"plausible {lo:g} to {hi:g}{unit}")
        if ch not in spec.channels:
            notice(path, f"{said}: read as missing (an optional channel)")
            out[ch] = np.where(wild, np.nan, x)
            continue
        raise TinymlError(f"{path}: {said} that the rest of the file fits; leave such cells empty (missing samples) "
                          "or remove their rows")


def _shared_units(columns, declared: dict[str, str], spec, path) -> dict[str, str]:
    """A unit the file declares for some channels of one manifest unit and for none of the others (MobiFall's
    heading `timestamp(ns),x,y,z(m/s^2)`) is theirs too, with a notice: judged alone by its range, an x and a y
    in m/s^2 pass as g."""
    out = dict(declared)
    by_unit: dict[str, list[str]] = {}
    for ch in columns:
        if ch in spec.channels:  # a sensor's axes; optional channels of one unit may be other quantities (rain, ET0)
            by_unit.setdefault(spec.units.get(ch, ""), []).append(ch)
    for chans in by_unit.values():
        said = {declared[ch] for ch in chans if declared.get(ch)}
        bare = [ch for ch in chans if not declared.get(ch)]
        if len(said) != 1 or not bare:
            continue
        (unit,) = said
        if lookup(unit) is None:
            continue
        out.update({ch: unit for ch in bare})
        notice(path, f"{', '.join(bare)}: no unit in the file, read in {unit} like "
                     f"{', '.join(ch for ch in chans if ch not in bare)}")
    return out


def check_flat(columns: dict[str, np.ndarray], spec, path) -> None:
    """A required channel whose every value is the same (zero variance over the whole file) is what a
    disconnected or dead sensor gives. An app of one required channel refuses it in one line, unless
    `[signal] may_be_flat` lists the channel (a soil probe can read one value for days): then a notice, and the
    file is read. Several required channels are one sensor's axes: one or some of them constant is a device at
    rest (an accelerometer lying still reads 0 on two axes): a notice, and the file is scored; every one of them
    flat is a frozen or disconnected sensor: refused, unless may_be_flat lists them all. The wording follows the
    channel's quantity (audio: digital silence). A spec not made from a manifest (may_be_flat None) is not
    checked."""
    allowed = getattr(spec, "may_be_flat", None)
    if allowed is None:
        return
    flat: dict[str, tuple[float, int]] = {}
    for ch in spec.channels:
        x = np.asarray(columns.get(ch, ()), np.float64)
        x = x[np.isfinite(x)]
        if len(x) >= 2 and x.min() == x.max():
            flat[ch] = (float(x[0]), len(x))
    if not flat:
        return
    sensor = _sensor_name(spec)
    ch, (v, _n) = next(iter(flat.items()))
    text = _flat_channels_text(flat, spec)
    if len(spec.channels) > 1 and len(flat) < len(spec.channels):
        notice(path, f"{text}, the other channels vary: the {sensor} at rest? scored as it is")
        return
    if all(c in allowed for c in flat):
        notice(path, f"{text}: {_flat_cause(ch, v, spec)} read as it is")
        return
    if len(flat) > 1:
        raise TinymlError(f"{path}: every channel is flat: {text}: a frozen or disconnected {sensor}? nothing to score")
    raise TinymlError(f"{path}: {text}: {_flat_cause(ch, v, spec)} nothing to score")


def _quantity(ch: str, spec) -> str:
    u = lookup(getattr(spec, "units", {}).get(ch, "") or "")
    return u.quantity if u else ""


def _sensor_name(spec) -> str:
    """The manifest's [signal] sensor as a message names it ("accelerometer", "ecg" -> "ECG front end")."""
    s = (getattr(spec, "sensor", "") or "").strip()
    return {"ecg": "ECG front end", "soil": "soil probe", "": "sensor"}.get(s.lower(), s)


def _flat_text(ch: str, v: float, n: int, spec) -> str:
    if _quantity(ch, spec) == "audio" and v == 0:
        return f"channel {ch!r} is digital silence (every sample 0, {n} samples)"
    return f"channel {ch!r} is flat (every value {v:g}, {n} samples)"


def _flat_channels_text(flat: dict[str, tuple[float, int]], spec) -> str:
    """The flat channels in one notice or error: "channel 'ax' is flat (...)", or for several "channels 'ax' (every
    value 0) and 'ay' (every value 0) are flat (600 samples)"."""
    if len(flat) == 1:
        ch, (v, n) = next(iter(flat.items()))
        return _flat_text(ch, v, n, spec)
    counts = {n for _, n in flat.values()}
    each = len(counts) > 1  # NaNs dropped: the channels' sample counts differ, each is said
    named = [f"{c!r} (every value {v:g}{f', {n} samples' if each else ''})" for c, (v, n) in flat.items()]
    return f"channels {', '.join(named[:-1])} and {named[-1]} are flat" + ("" if each else f" ({counts.pop()} samples)")


def _flat_cause(ch: str, v: float, spec) -> str:
    """What one value over a whole file may mean, for the channel's quantity."""
    if _quantity(ch, spec) == "audio":
        return "a muted input or a silent recording?" if v == 0 else "a constant level, no sound: a disconnected input?"
    return f"a stuck or disconnected {_sensor_name(spec)}?"


def _settle(columns, chans: list[str], unit: str, said: str, spec, path, where) -> dict[str, np.ndarray]:
    """One group of channels (same manifest unit, same declared unit) in the manifest's unit."""
    target, said_u = lookup(unit), lookup(said)
    if said and said_u is None:  # a unit the file states but no table here knows: not silently taken as the app's
        notice(path, f"{', '.join(chans)}: the file's unit {said!r} is none this reads; its values are judged as if "
                     f"no unit were stated (the app's is {unit})")
    if said_u is not None and target is not None and said_u.quantity != target.quantity:
        raise TinymlError(f"{path}: {', '.join(chans)} declared in {said} ({said_u.quantity.replace('_', ' ')}); "
                          f"the app expects {unit} ({target.quantity.replace('_', ' ')})")
    checks = _checks(chans, spec)
    if not said and not set(chans) & set(spec.may_be_flat or ()):  # a declared unit is not judged; a clip's
        _zeros_notice(columns, checks, spec, path)                   # zero padding is no news
    cands = _candidates(chans, unit, said, spec, guess=bool(checks))
    identity = next(c for c in cands if c.name == unit and not c.declared)
    off_typical = ""  # said when the unit taken leaves the median magnitude a little outside typical_magnitude
    if not checks:
        chosen = cands[0]
    else:
        fits = (c for c in cands if _plausible({ch: c.fn(columns[ch]) for ch in chans}, checks))  # in order: the
        chosen = next(fits, None)  # first that fits; a second is looked for only where it would be ambiguous
        if chosen is not None and chosen is not identity and not chosen.declared and _below(columns, checks):
            second = next(fits, None)
            if second is not None:
                raise TinymlError(f"{path}: {', '.join(chans)}: median magnitude "
                                  f"{_magnitude(columns, checks.required):.3g} is below {_checks_text(checks)} in "
                                  f"{unit}, and the values fit {_shown(chosen.name)} and {_shown(second.name)}: say "
                                  f"which in the heading, e.g. `{chans[0]} ({_shown(chosen.name)})`")
        near = _near_typical(columns, chans, unit, cands, checks) if chosen is None else None
        if near is not None:  # nothing fits outright: the file's own unit (else the one unit), a little off typical
            chosen, off_typical = near[0], _off_typical_text(near[1], unit, checks)
        if chosen is None or (chosen is not identity and not chosen.declared):
            _refuse_adc_codes(columns, chans, unit, chosen.name if chosen else unit, checks, path)
        if chosen is None:
            raise TinymlError(_refusal(columns, chans, unit, said, checks, path, cands, where))
    names = ", ".join(chans)
    if chosen.declared:
        notice(path, f"{names}: converted from {chosen.name} to {unit}" + (f"; {off_typical}" if off_typical else ""))
    elif cands[0].declared:  # the file's unit did not fit its values
        notice(path, f"{names}: declared in {said}, but the values fit {chosen.name}: "
                     + ("kept as they are" if chosen is identity else f"converted from {chosen.name} to {unit}"))
    elif chosen is not identity:
        notice(path, f"{names}: values look like {_shown(chosen.name)}, not {unit} ({_checks_text(checks)}): "
                     f"converted to {unit}" + _counts_hint(columns, chans, chosen.name, unit)
                     + (f"; {off_typical}" if off_typical else ""))
    elif off_typical:
        notice(path, f"{names}: {off_typical}: read in {_shown(unit)} as it is")
    return {ch: np.asarray(chosen.fn(columns[ch]), np.float64) for ch in chans}


def _whole_numbers(columns, chans) -> list[np.ndarray] | None:
    """Each channel's finite values, or None unless every channel has some and all are whole numbers."""
    out = []
    for ch in chans:
        x = np.asarray(columns[ch], np.float64)
        x = x[np.isfinite(x)]
        if not len(x) or np.any(x != np.round(x)):
            return None
        out.append(x)
    return out


def _counts_hint(columns, chans, guess: str, unit: str) -> str:
    """What to do if whole numbers taken for a smaller unit by their size are a converter's signed raw counts:
    an ECG front end's int16 codes at 200 per mV read as uV are 5x too small, and no size or amplitude check
    tells them from a real microvolt file (codes at 1000 per mV are microvolts; a low-voltage lead of 0.3 mV
    is real). Audio's int16/int24/int32 are counts already; counts the manifest declares were tried before."""
    g, t = lookup(guess), lookup(unit)
    if g is None or t is None or g.quantity == "audio" or g.factor >= t.factor:
        return ""
    if _whole_numbers(columns, chans) is None:
        return ""
    return (f"; whole numbers: if they are a converter's raw counts, not {_shown(guess)}, give "
            f"{option('set', 'signal.counts_per_unit=N')} (N counts per {unit})")


def _other_counts_hint(columns, chans, unit: str, checks: "_Checks") -> str:
    """Whole numbers that the manifest's counts did not fit: another sensor's counts (an MPU-6050 at +-2 g gives
    16384 per g, not the declared ADXL345's 256): how to give its count, and the count their size suggests (the
    median magnitude over the middle of the typical one)."""
    if _whole_numbers(columns, chans) is None:
        return ""
    text = (f"; whole numbers: another sensor's raw counts? give {option('set', 'signal.counts_per_unit=N')} "
            f"(N counts per {unit}")
    med = _magnitude(columns, checks.required) if checks.magnitude else 0.0
    if med > 0:
        typical = math.sqrt(checks.magnitude[0] * checks.magnitude[1])
        text += f"; these suggest about {med / typical:,.0f}"
    return text + ")"


def _refuse_adc_codes(columns, chans, unit: str, guess: str, checks: "_Checks", path) -> None:
    """Refuse what looks like an unsigned ADC's raw codes for a signal centred on zero: whole numbers,
    never negative, around an n-bit converter's mid-code (512, 2048 ... 32768; Arduino analogRead,
    AD8232 and ADXL335 boards). Scaled by size they would pass as uV or mg with a bogus offset and the
    wrong gain; only the user knows the gain. Undeclared values not plausible as they are, only."""
    if not checks.ranges or any(lo != -hi for lo, hi in checks.ranges.values()):
        return  # a quantity that is not centred on zero (soil moisture in %: whole numbers are fine)
    whole = _whole_numbers(columns, chans)
    if whole is None:
        return
    mids = []
    for x in whole:
        if x.min() < 0:
            return
        med = float(np.median(x))
        bits = next((b for b in range(10, 17) if 0.75 * 2 ** (b - 1) <= med <= 1.25 * 2 ** (b - 1)), None)
        if bits is None:
            return
        mids.append((bits, med))
    bits = max(b for b, _ in mids)
    # a unit can be said in a heading; the manifest's counts (their gain, not their mid-code) cannot
    heading = f" (or, if they are {_shown(guess)}, say so in the heading: `{chans[0]} ({_shown(guess)})`)" if lookup(guess) else ""
    raise TinymlError(f"{path}: {', '.join(chans)}: whole numbers, never negative, around {mids[0][1]:.0f}: raw "
                      f"codes of an unsigned {bits}-bit ADC, not {unit}; subtract the mid-code and divide by the "
                      f"codes per {unit} of your front end{heading}")


def _candidates(chans, unit: str, said: str, spec, guess: bool) -> list[_Candidate]:
    """In the order they are tried: the declared unit, the manifest's, the sensor's counts, then (when
    `guess`) the other units of the quantity, nearest in size first, one per distinct conversion."""
    target = lookup(unit)
    cands = []
    if lookup(said) is not None and target is not None and normalize(said) != normalize(unit):
        cands.append(_Candidate(said, True, lambda x: convert(x, said, unit)))
    cands.append(_Candidate(unit, False, lambda x: x))
    if not guess:
        return cands
    cpu = {spec.counts_per_unit.get(c) for c in chans} - {None}
    if len(cpu) == 1:  # the sensor's counts, as the manifest (or --set) declares them: before guesses
        k = float(cpu.pop())
        cands.append(_Candidate(f"counts ({k:g} per {unit})", False, lambda x: x / k))
    if target is None:
        return cands

    def key(n):
        return round(math.log(UNITS[n].factor / target.factor), 9), UNITS[n].offset

    seen = {key(normalize(c)) for c in (said, unit) if lookup(c)}
    for n in sorted((n for n, u in UNITS.items() if u.quantity == target.quantity and u.by_size),
                    key=lambda n: abs(key(n)[0])):
        if key(n) not in seen:  # ms2 and m/s2 are one candidate
            seen.add(key(n))
            cands.append(_Candidate(n, False, lambda x, n=n: convert(x, n, unit)))
    return cands


@dataclass(frozen=True)
class _Checks:
    ranges: dict[str, tuple[float, float]]
    magnitude: tuple[float, float] | None
    required: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.ranges) or self.magnitude is not None


def _checks(chans: Sequence[str], spec) -> _Checks:
    ranges = {c: tuple(spec.plausible_range[c]) for c in chans if c in spec.plausible_range}
    mag = spec.typical_magnitude if spec.typical_magnitude and set(spec.channels) <= set(chans) else None
    return _Checks(ranges, mag, tuple(spec.channels) if mag else ())


def _spread(x: np.ndarray) -> tuple[float, float]:
    x = x[np.isfinite(x)]
    if not len(x):
        return 0.0, 0.0
    lo, hi = np.percentile(x, [0.1, 99.9])
    return float(lo), float(hi)


def _norms(cols: dict[str, np.ndarray], chans: Sequence[str]) -> np.ndarray:
    """Each sample's magnitude over the channels (the finite ones)."""
    with np.errstate(over="ignore"):  # a value past float64's range squares to inf: left out below, as NaN is
        m = np.sqrt(sum(np.asarray(cols[c], np.float64) ** 2 for c in chans))
    return m[np.isfinite(m)]


def _magnitude(cols: dict[str, np.ndarray], chans: Sequence[str]) -> float:
    """The median magnitude of the samples that are not exactly 0: an ECG written as 0 while the leads were off
    (most of a file, even) says nothing of its unit; the rest does."""
    m = _norms(cols, chans)
    m = m[m != 0]
    return float(np.median(m)) if len(m) else 0.0


def _zeros_notice(columns, checks: "_Checks", spec, path) -> None:
    """Say so when most of a file is exactly 0 (its unit was judged on the rest)."""
    if checks.magnitude is None:
        return
    m = _norms(columns, checks.required)
    zero = float(np.mean(m == 0)) if len(m) else 0.0
    if 0.5 <= zero < 1:  # all of it: check_flat has said so
        why = ("digital silence" if _quantity(checks.required[0], spec) == "audio" else
               "leads off?" if (getattr(spec, "sensor", "") or "").lower() == "ecg" else "sensor off?")
        notice(path, f"{', '.join(checks.required)}: exactly 0 for {100 * zero:.0f}% of the samples ({why}): "
                     f"its unit judged on the rest; those stretches are read as 0")


def far_outside_limits(plausible_range) -> tuple[float, float]:
    """The values beyond which a channel is far outside its plausible_range: by more than half its width."""
    lo, hi = plausible_range
    margin = 0.5 * (hi - lo)
    return lo - margin, hi + margin


# A sensor fault may read somewhat above typical_magnitude's top (a soil probe up to its far-outside 1.65 m3/m3 on a
# top of 1); the smallest unit mistake reads 9.8x (m/s² for g): gravity, 1 g, is 9.8 m/s², above twice the widest top
# in g (4 g, vibration), so twice the top refuses it and scores the fault.
MAGNITUDE_MARGIN = 2.0


def far_above_magnitude(typical_magnitude) -> float:
    """The median magnitude above which one window is in another unit, not a fault: typical's top x MAGNITUDE_MARGIN."""
    return MAGNITUDE_MARGIN * float(typical_magnitude[1])


def _near_typical(columns, chans, unit: str, cands, checks: _Checks):
    """(candidate, converted columns) when none fits typical_magnitude: the declared unit, else the one unit tried,
    if its values are plausible and its median magnitude within MAGNITUDE_MARGIN of typical_magnitude (a unit
    step is 9.8x or more away): e.g. 30 s of continuous jumping, half of it in the air, has a median |a| under
    gravity; a hand waving a watch, over it. A phone's linear acceleration (gravity removed) stays refused. None
    otherwise, and when two units come near (which, the values cannot tell)."""
    if checks.magnitude is None:
        return None
    lo, hi = checks.magnitude
    loose = _Checks(checks.ranges, (lo / MAGNITUDE_MARGIN, far_above_magnitude(checks.magnitude)), checks.required)
    near = []
    for c in cands[:1] if cands[0].declared else cands:
        cols = {ch: c.fn(columns[ch]) for ch in chans}
        if _plausible(cols, loose) and not _gravity_removed(cols, unit, checks) and _low_only_in_median(cols, checks):
            near.append((c, cols))
    return near[0] if len(near) == 1 else None


def _low_only_in_median(cols, checks: _Checks) -> bool:
    """False when the median magnitude is under typical_magnitude and so is the mean: jumping spends half its time
    in the air (a low median) but lands hard (its mean is still gravity); a file that is low throughout is in
    another scale (a still wearer read at 0.3 g, raw counts divided by the wrong counts_per_unit)."""
    if not _below(cols, checks):
        return True
    lo = checks.magnitude[0]
    m = _norms(cols, checks.required)
    m = m[m != 0]
    return bool(len(m)) and float(np.mean(m)) >= lo


def _off_typical_text(cols, unit: str, checks: _Checks) -> str:
    med, (lo, hi) = _magnitude(cols, checks.required), checks.magnitude
    return (f"median magnitude {med:.2g} {_shown(unit)} is {'below' if med < lo else 'above'} [signal] "
            f"typical_magnitude {lo:g} to {hi:g}, within {MAGNITUDE_MARGIN:g}x of it, and no other unit fits")


def _plausible(cols: dict[str, np.ndarray], checks: _Checks) -> bool:
    for c, rng in checks.ranges.items():
        lo, hi = far_outside_limits(rng)
        a, b = _spread(cols[c])
        if a < lo or b > hi:
            return False
    if checks.magnitude is not None:
        lo, hi = checks.magnitude
        if not lo <= _magnitude(cols, checks.required) <= hi:
            return False
    return True


def _checks_text(checks: _Checks) -> str:
    parts = []
    if checks.ranges:
        rs = set(checks.ranges.values())
        parts.append("plausible_range " + (f"{min(r[0] for r in rs):g} to {max(r[1] for r in rs):g}"))
    if checks.magnitude:
        parts.append(f"typical_magnitude {checks.magnitude[0]:g} to {checks.magnitude[1]:g}")
    return "[signal] " + ", ".join(parts)


SHOWN = {"v": "V", "mv": "mV", "uv": "uV", "ms2": "m/s²", "m/s2": "m/s²", "ds/m": "dS/m", "us/cm": "uS/cm"}


def _shown(name: str) -> str:
    """A unit as people write it ("V", not the lookup key "v")."""
    return SHOWN.get(name, name)


def _below(columns, checks: _Checks) -> bool:
    """The values' median magnitude is under typical_magnitude (too small for the manifest's unit)."""
    return checks.magnitude is not None and _magnitude(columns, checks.required) < checks.magnitude[0]


def _extremes(columns, chans, checks: _Checks, where) -> str:
    """The values the file holds: its lowest and highest, and the sample of the one farthest out of its channel's
    plausible_range (of the largest |value| without one), and where (`where`: its line), so the user can find it."""
    lo = hi = None
    worst = (-1.0, "", 0, 0.0)
    for c in chans:
        x = np.asarray(columns[c], np.float64)
        ok = np.isfinite(x)
        if not ok.any():
            continue
        xs = np.where(ok, x, np.nan)
        lo = min(lo, float(np.nanmin(xs))) if lo is not None else float(np.nanmin(xs))
        hi = max(hi, float(np.nanmax(xs))) if hi is not None else float(np.nanmax(xs))
        a, b = checks.ranges.get(c, (0.0, 0.0))
        out = np.where(ok, np.maximum(a - x, x - b), -np.inf)
        k = int(np.argmax(out))
        if out[k] > worst[0]:
            worst = (float(out[k]), c, k, float(x[k]))
    if lo is None:
        return f"{', '.join(chans)} hold no finite value"
    text = f"{', '.join(chans)} range {lo:.4g} to {hi:.4g}" if lo != hi else f"{', '.join(chans)} all {lo:.4g}"
    if worst[1] and lo != hi:
        text += f", farthest out {worst[1]} = {worst[3]:.4g} at {where(worst[2])}"
        if abs(worst[3]) in MISSING_MARKERS:
            text += " (a logger's missing-value marker? leave the cell empty instead)"
    return text


def _likely_unit(columns, chans, unit: str, checks: _Checks) -> str:
    """When the values are too small for the manifest's unit: the unit of its quantity they would fit in (a
    power of ten bigger: V for mV), and how to declare it; "" when none does or the values are not too small."""
    target = lookup(unit)
    if target is None or not _below(columns, checks):
        return ""
    med = _magnitude(columns, checks.required)
    lo, hi = checks.magnitude
    ratio = lo / med if med > 0 else math.inf
    bigger = [n for n, u in UNITS.items() if u.quantity == target.quantity and u.offset == 0 and u.factor > target.factor]
    fit = sorted({_shown(n) for n in bigger if lo <= med * UNITS[n].factor / target.factor <= hi})
    size = f"{ratio:.3g}x" if math.isfinite(ratio) else "far"
    if not fit:
        return f"; its median magnitude {med:.3g} is {size} below typical, and no unit of {target.quantity.replace('_', ' ')} fits"
    return (f"; its median magnitude {med:.3g} is {size} below typical: if the file is in {' or '.join(fit)}, "
            f"say so in the heading, e.g. `{chans[0]} ({fit[0]})`")


def _refusal(columns, chans, unit, said, checks: _Checks, path, cands, where) -> str:
    seen = _extremes(columns, chans, checks, where)
    if checks.magnitude:
        seen += f" (median magnitude {_magnitude(columns, checks.required):.4g})"
    tried = ", ".join(_shown(c.name) for c in cands)
    hint = _other_counts_hint(columns, chans, unit, checks) if any(c.name.startswith("counts") for c in cands) \
        else f"; for raw sensor counts give {option('set', 'signal.counts_per_unit=N')}"
    decl = f" (declared {said})" if said else ""
    start = f"{path}: {seen}{decl}: not plausible in {unit} ({_checks_text(checks)}) nor in any unit tried ({tried})"
    gravity = _gravity_removed(columns, unit, checks)
    if gravity:
        return f"{start}; {gravity}"
    return f"{start}; convert the file to {unit}{_likely_unit(columns, chans, unit, checks)}{hint}"


def _gravity_removed(columns, unit: str, checks: _Checks) -> str:
    """Axes of an accelerometer that average to about 0 while they move, too small for the app's typical
    magnitude (which holds gravity): a phone's linear or user acceleration, gravity taken out; no unit fits
    it, and no conversion brings gravity back. "" otherwise."""
    target = lookup(unit)
    if target is None or target.quantity != "acceleration" or len(checks.required) < 2 or not _below(columns, checks):
        return ""
    mean = math.sqrt(sum(float(np.nanmean(np.asarray(columns[c], np.float64))) ** 2 for c in checks.required))
    med = _magnitude(columns, checks.required)
    if not (med > 0 and mean < 0.2 * med):
        return ""
    return (f"the axes average to {mean:.2g} while they move by {med:.3g}: gravity removed (a phone's linear or "
            "user acceleration)? give the acceleration with gravity (total acceleration, 'with g')")
