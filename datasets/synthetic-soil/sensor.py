"""What a field node reads from the true state, and how its soil-moisture sensor fails.

Sensor realism (capacitance / FDR probes such as the 5TM, GS1, CS616, SMT100): a per-sensor calibration
error (gain 0.93-1.07, offset sd 0.01 m³/m³: soil-specific calibration is rarely done), a temperature
sensitivity of 0 to 0.0015 m³/m³ per °C (larger in clay; Kizito et al. 2008), white noise 0.0005-0.002, and
the output resolution (0.001 or 0.0001). Soil temperature: 0.05 °C noise, 0.01 °C resolution. Bulk EC:
±10 % gain, 2 % noise, 0.001 dS/m resolution. Rain: a tipping-bucket gauge (0.2 mm per tip) that also
catches sprinkler irrigation. ET0: a weather station's daily value, spread over the day.

Faults, the ISMN quality-control taxonomy (Dorigo et al. 2013) plus a noisy sensor, injected as episodes:
  spike (D06)        one or two samples 0.05-0.25 m³/m³ off, then back; 1-6 of them over up to two days;
  drop (D07)         a step down of 0.04-0.15 that persists (lost contact, a break);
  jump (D08)         a step up of 0.04-0.15 without rain that persists;
  stuck (D09)        the reading freezes, exactly constant, at its last or a low value, 12 h to 5 days (not
                     scored until a working sensor would have read otherwise);
  plateau (D10)      the reading sits at a saturated high value for 12 h to 4 days while the soil dries;
  rise_no_rain (D04) a rise of 0.02-0.08 over 2-12 h with no rain in the 24 h before;
  out_of_range (C01-C03) readings below 0 or above 0.6 / saturation for 1 h to 2 days;
  noisy              noise of 0.01-0.04 m³/m³ for 6 h to 5 days.
When an offset ends (drop, jump, rise without rain) the reading steps back to the truth: the 6 h after are
labelled by that step's shape (a drop or a jump, as ISMN's break flags would name it, or -1, not scored,
when it is too small or rain could explain it); the 6 h after a stuck, plateau or out-of-range episode are
-1 (the reading is true again but jumps there).
Per sample: the class (0 = ok, -1 not scored) and the age of its episode in samples, from which the app decides when a
fault has shown enough of itself to be named (a stuck value needs hours of constancy, a spike is instant).
"""

from __future__ import annotations

import numpy as np

FAULTS = ["ok", "spike", "drop", "jump", "stuck", "plateau", "rise_no_rain", "out_of_range", "noisy"]
# relative frequency of each fault class among injected episodes (ISMN's flag counts put spikes, jumps and
# plateaus well ahead of drops; the rarer ones are made common enough to learn)
WEIGHTS = {"spike": 2.0, "drop": 2.0, "jump": 2.5, "stuck": 1.2, "plateau": 1.0, "rise_no_rain": 2.5,
           "out_of_range": 1.0, "noisy": 1.0}


def read_sensors(truth: dict, soil, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Sensor readings of the true state (no faults yet)."""
    theta, temp, ec, rain, et0 = truth["theta"], truth["temp"], truth["ec"], truth["water"], truth["et0"]
    n = len(theta)
    gain = rng.uniform(0.93, 1.07)
    offset = rng.normal(0.0, 0.01)
    k_temp = rng.uniform(0.0, 0.0015) * (0.5 + soil.clay * 2)
    noise = rng.uniform(0.0005, 0.002)
    res = 0.001 if rng.random() < 0.4 else 0.0001
    vwc = gain * theta + offset + k_temp * (temp - 20.0) + rng.normal(0, noise, n)
    vwc = np.round(vwc / res) * res
    t = np.round((temp + rng.normal(0, 0.05, n)) / 0.01) * 0.01
    e = ec * rng.uniform(0.9, 1.1) * (1 + rng.normal(0, 0.02, n))
    e = np.maximum(0.0, np.round(e / 0.001) * 0.001)
    tip = 0.2
    cum = np.floor(np.cumsum(rain) / tip) * tip  # a tipping bucket reports whole tips
    gauge = np.diff(np.concatenate([[0.0], cum]))
    et = np.round(et0 * rng.uniform(0.92, 1.08), 3)
    return {"vwc": vwc, "soil_temp_c": t, "ec_ds_m": e, "rain_mm": gauge, "et0_mm": et,
            "noise": np.full(n, noise), "res": np.full(n, res)}


def station_logging(read: dict, rng: np.random.Generator, coarse: float = 0.2, hourly: float = 0.35) -> dict:
    """How a network station records the probe, beside the node's own 15-minute samples (ISMN's TAHMO and
    AMMA-CATCH series): a share of probes report only 0.01 m³/m³ (GS1-class; TAHMO's GS1 series step by
    0.01, its TEROS 12 by 0.001), and a share of loggers keep one value an hour, which `predict` resamples
    linearly to 15 minutes. A dry spell then reads exactly constant for hours or days, and a healthy node
    must not call that stuck. Applied to the sensor's own readings, before any fault."""
    out = dict(read)
    n = len(read["vwc"])
    if rng.random() < coarse:
        out["vwc"] = np.round(read["vwc"] / 0.01) * 0.01
        out["res"] = np.full(n, 0.01)
    if rng.random() < hourly and n > 8:
        hours = np.arange(0, n, 4)
        for k in ("vwc", "soil_temp_c", "ec_ds_m"):
            out[k] = np.interp(np.arange(n), hours, out[k][hours])
    return out


def _rain_free(rain: np.ndarray, i: int, hours: float = 24.0) -> bool:
    return float(rain[max(0, i - int(hours * 4)) : i + 1].sum()) < 0.1


def inject(read: dict, soil, rng: np.random.Generator, episodes_per_30d: float = 3.0,
           classes: list[str] | None = None, schedule: list[tuple[str, int]] | None = None
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Faulty vwc, per-sample class index, per-sample episode age (samples since its onset). `schedule`:
    explicit (class, start sample) episodes instead of random ones (the demo)."""
    vwc = read["vwc"].copy()
    rain = read["rain_mm"]
    n = len(vwc)
    label = np.zeros(n, np.int8)
    age = np.zeros(n, np.int32)
    names = classes or list(WEIGHTS)
    w = np.array([WEIGHTS[c] for c in names])
    bursts = schedule is None  # a scheduled spike (the demo) is exactly one glitch
    if schedule is None:
        k = rng.poisson(episodes_per_30d * n / (30 * 96))
        schedule = [(str(rng.choice(names, p=w / w.sum())), int(rng.integers(96, max(97, n - 96)))) for _ in range(k)]
    res = float(read["res"][0])
    returns = []  # (sample where the reading comes back to the truth, its label for the 6 h after)
    for cls, s in sorted(schedule, key=lambda e: e[1]):
        if label[s] != 0:
            continue
        c = FAULTS.index(cls)
        if cls == "spike":
            # a spiking sensor spikes again: 1 to 6 glitches over up to two days (one sample, sometimes two)
            at = [s] + (sorted(int(v) for v in s + rng.integers(8, 192, int(rng.integers(0, 6)))) if bursts else [])
            for t0 in at:
                if t0 >= n or label[t0] != 0:
                    continue
                span = 1 if (rng.random() < 0.8 or not bursts) else 2
                mag = rng.uniform(0.05, 0.25) * (1 if rng.random() < 0.6 else -1)
                seg = slice(t0, min(n, t0 + span))
                vwc[seg] = np.clip(vwc[seg] + mag, -0.05, 0.95)
                label[seg] = c
                age[seg] = np.arange(seg.stop - seg.start)
            continue
        elif cls in ("drop", "jump"):
            if cls == "jump" and not _rain_free(rain, s, 12):
                continue
            mag = rng.uniform(0.04, 0.15)
            if cls == "drop":
                mag = -min(mag, max(0.03, vwc[s] - 0.01))
            dur = int(rng.uniform(6, 120) * 4)
            seg = slice(s, min(n, s + dur))
            vwc[seg] += mag
            returns.append((seg.stop, _break_class(-mag, rain, seg.stop)))
            seg = slice(s, min(n, s + 24))  # named for the 6 hours after the step; then the level looks normal
        elif cls == "stuck":
            dur = int(rng.uniform(12, 120) * 4)
            seg = slice(s, min(n, s + dur))
            level = vwc[s - 1] if rng.random() < 0.5 else rng.uniform(0.0, max(0.01, vwc[s] * 0.5))
            vwc[seg] = np.round(level / res) * res
            # a stuck sensor shows itself only once a working one would have read otherwise: a coarse or
            # hourly probe in a dry spell reads the same constant; until then the samples are not scored
            moved = np.nonzero(np.abs(read["vwc"][seg] - vwc[s]) >= 0.5 * res)[0]
            hidden = int(moved[0]) if len(moved) else seg.stop - s
        elif cls == "plateau":
            dur = int(rng.uniform(12, 96) * 4)
            seg = slice(s, min(n, s + dur))
            top = soil.sat + rng.uniform(-0.02, 0.02)
            vwc[seg] = np.round((top + rng.normal(0, 0.0003, seg.stop - s)) / res) * res
        elif cls == "rise_no_rain":
            if not _rain_free(rain, s, 24):
                continue
            up = int(rng.uniform(2, 12) * 4)
            total = rng.uniform(0.02, 0.08)
            hold = int(rng.uniform(6, 48) * 4)
            ramp = np.concatenate([np.linspace(0, total, up), np.full(hold, total)])
            seg = slice(s, min(n, s + len(ramp)))
            vwc[seg] += ramp[: seg.stop - s]
            returns.append((seg.stop, _break_class(-total, rain, seg.stop)))
            seg = slice(s, min(n, s + up + 16))
        elif cls == "out_of_range":
            dur = int(rng.uniform(1, 48) * 4)
            seg = slice(s, min(n, s + dur))
            low = rng.random() < 0.5
            vwc[seg] = (rng.uniform(-0.12, -0.01) if low else rng.uniform(0.62, 0.95)) + rng.normal(0, 0.002, seg.stop - s)
        elif cls == "noisy":
            dur = int(rng.uniform(6, 120) * 4)
            seg = slice(s, min(n, s + dur))
            vwc[seg] += rng.normal(0, rng.uniform(0.01, 0.04), seg.stop - s)
        else:
            raise ValueError(cls)
        if cls in ("stuck", "plateau", "out_of_range"):
            returns.append((seg.stop, -1))
        label[seg] = c
        age[seg] = np.arange(seg.stop - seg.start)
        if cls == "stuck" and hidden:
            label[s : s + hidden] = -1
    for t0, c in returns:  # where no later episode took the samples
        seg = slice(t0, min(n, t0 + 24))
        free = label[seg] == 0
        label[seg] = np.where(free, c, label[seg])
        age[seg] = np.where(free, np.arange(seg.stop - seg.start), age[seg])
    return vwc, label, age


def _break_class(step: float, rain: np.ndarray, i: int) -> int:
    """The label of the 6 h after an offset ends: the reading steps back to the truth, which is a break in
    ISMN's sense (D07 negative, D08 positive without rain) when it is as large as one (0.03 m³/m³), and
    not scored (-1) when it is smaller or rain could explain a rise: the reading is true again, yet it
    shows a step no quality check could tell from a fault."""
    if step <= -0.03:
        return FAULTS.index("drop")
    if step >= 0.03 and i < len(rain) and _rain_free(rain, i, 12):
        return FAULTS.index("jump")
    return -1
