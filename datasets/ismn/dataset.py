"""ISMN: real in-situ soil moisture from the International Soil Moisture Network, with its quality flags
as sensor-fault labels.

`load(path, rate, channels)` walks a downloaded ISMN folder (either layout: tinyml.readers.ismn) and gives
one Recording per continuous stretch of each soil-moisture sensor (stretches break at gaps longer than
`max_gap_h`; shorter ones are interpolated), at the app's rate (linear for states, conserved sums for rain,
as predict does). The station's soil temperature at the sensor's depth and its precipitation fill those
channels; the others are NaN (missing). subject = the station (splits never share a station).

truth["fault"] per sample, from the ISMN flags (Dorigo et al. 2013): D06 spike, D07 drop (negative jump),
D08 jump, D09 stuck (low constant), D10 plateau, D04/D05 rise without rain, C01-C03 out of range, G ok;
-1 (not scored) where the value was missing or the soil was frozen (D01-D03: not a sensor fault).
Note that these flags are ISMN's own automated checks, not an expert's truth: a model is scored on how well
it agrees with them (and a rule baseline built like them agrees by construction).
ISMN terms forbid redistribution: never commit the data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinyml.errors import TinymlError
from tinyml.readers.ismn import parse_stm, siblings
from tinyml.recording import Recording

FLAG_CLASS = {"D06": "spike", "D07": "drop", "D08": "jump", "D09": "stuck", "D10": "plateau", "D04": "rise_no_rain",
              "D05": "rise_no_rain", "C01": "out_of_range", "C02": "out_of_range", "C03": "out_of_range"}
UNSCORED = ("M", "D01", "D02", "D03")
# when a sample carries several flags, the one that names the fault best
PRIORITY = ["out_of_range", "spike", "drop", "jump", "plateau", "stuck", "rise_no_rain"]


def fault_label(flag: str, faults: list[str]) -> int:
    parts = [f.strip() for f in flag.split(",") if f.strip()]
    if not parts or any(p.startswith(UNSCORED) for p in parts if p not in FLAG_CLASS and p != "G"):
        return -1
    named = [FLAG_CLASS[p] for p in parts if p in FLAG_CLASS]
    if not named:
        return 0 if "G" in parts else -1
    best = min(named, key=PRIORITY.index)
    return faults.index(best) if best in faults else -1


def resolution(values: np.ndarray) -> float:
    """A probe's resolution: its most common step between consecutive distinct readings (m³/m³; 0 if it never
    changed). A coarse probe (TAHMO's GS1) steps 0.01, a fine one 0.001 or less."""
    steps = np.round(np.abs(np.diff(values[np.isfinite(values)])), 5)
    steps = steps[steps > 0]
    if not len(steps):
        return 0.0
    levels, counts = np.unique(steps, return_counts=True)
    return float(levels[np.argmax(counts)])


def station_split(subjects, fractions=(0.6, 0.2, 0.2), seed: int = 2024) -> dict[str, str]:
    """Each station ("ismn:<network>:<station>") to "train", "val" or "test": by station (its probes and
    stretches stay together), stratified by network (each network's stations drawn on their own, with a seed
    of their own, so adding a network leaves the others' draw as it was), deterministic. A network of three or
    more stations gives val and test at least one each."""
    import zlib

    _, f_val, f_test = fractions
    by_net: dict[str, list[str]] = {}
    for s in sorted(set(subjects)):
        by_net.setdefault(s.split(":")[1], []).append(s)
    out = {}
    for net, stations in sorted(by_net.items()):
        order = [stations[i] for i in np.random.default_rng([seed, zlib.crc32(net.encode())]).permutation(len(stations))]
        small = len(stations) < 3
        n_test = 0 if small else max(1, round(f_test * len(stations)))
        n_val = 0 if small else max(1, round(f_val * len(stations)))
        for i, s in enumerate(order):
            out[s] = "test" if i < n_test else "val" if i < n_test + n_val else "train"
    return out



def _between_readings(labels: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Each resampled sample's label from the readings it lies between (x: its place on the readings' grid): a
    sample on a reading takes its label; one between two takes the worse (a fault over unscored over good), as
    its value is interpolated from both (the three 15-minute samples before a flagged hourly reading lean
    toward it)."""
    last = len(labels) - 1
    a = labels[np.minimum(np.floor(x).astype(np.int64), last)]
    b = labels[np.minimum(np.ceil(x).astype(np.int64), last)]
    return np.where(a == b, a, np.where(a > 0, a, np.where(b > 0, b, -1)))


def load(path, *, rate: float, channels, faults=None, max_gap_h: float = 6.0, min_days: float = 10.0,
         max_depth_m: float = 0.3, split_fractions=None, split_seed: int = 2024, **_ignored) -> list[Recording]:
    from tinyml.dsp.resample import resample_linear, resample_totals

    faults = list(faults or ["ok", "spike", "drop", "jump", "stuck", "plateau", "rise_no_rain", "out_of_range", "noisy"])
    root = Path(path)
    files = sorted(p for p in root.rglob("*_sm_*.stm"))
    if not files:
        raise TinymlError(f"{root}: no ISMN soil-moisture files (*_sm_*.stm) found")
    recs: list[Recording] = []
    for f in files:
        stm = parse_stm(f)
        if stm.depth[0] > max_depth_m:
            continue
        step = float(np.median(np.diff(stm.times))) if len(stm.times) > 1 else 0.0
        if step <= 0:
            continue
        labels = np.array([fault_label(fl, faults) for fl in stm.flags], np.int16)
        res = resolution(stm.values)  # the probe's, from the whole file
        cols = {"vwc": stm.values}
        gauge = None  # the rain gauge's own (times, amounts): rain is not sampled at the probe's rows
        sib = siblings(stm)
        for var, ch in (("ts", "soil_temp_c"), ("p", "rain_mm")):
            if var in sib and ch in channels:
                o = parse_stm(sib[var])
                if ch == "rain_mm":
                    gauge = (o.times, o.values)
                    continue
                idx = np.clip(np.searchsorted(o.times, stm.times), 0, len(o.times) - 1)
                cols[ch] = np.where(o.times[idx] == stm.times, o.values[idx], np.nan)
        ok = np.isfinite(stm.values)
        t = stm.times
        # stretches without gaps longer than max_gap_h
        good_t = t[ok]
        if len(good_t) < 2:
            continue
        breaks = np.nonzero(np.diff(good_t) > max_gap_h * 3600)[0]
        bounds = np.split(np.arange(len(good_t)), breaks + 1)
        for part, idx_part in enumerate(bounds):
            tt = good_t[idx_part]
            if tt[-1] - tt[0] < min_days * 86400:
                continue
            grid = np.arange(tt[0], tt[-1] + 1, step)
            near = np.clip(np.searchsorted(tt, grid), 0, len(tt) - 1)
            read_at = np.abs(tt[near] - grid) < step / 2  # grid steps with a reading of their own
            sig_in = []
            for ch in channels:
                if ch == "rain_mm" and gauge is not None:  # amounts per step at the gauge's own times (also
                    # where the probe has no row); a step without a gauge reading is missing, not dry
                    g_t, g_v = gauge
                    at = np.clip(np.searchsorted(g_t, grid), 0, len(g_t) - 1)
                    sig_in.append(np.where(np.abs(g_t[at] - grid) < step / 2, g_v[at], np.nan))
                    continue
                if ch not in cols:
                    sig_in.append(np.full(len(grid), np.nan))
                    continue
                v = cols[ch][ok][idx_part]
                fin = np.isfinite(v)
                sig_in.append(np.interp(grid, tt[fin], v[fin]) if fin.sum() > 1 else np.full(len(grid), np.nan))
            x = np.stack(sig_in, axis=1)
            lab_grid = np.where(read_at, labels[ok][idx_part][near], -1)
            rate_in = 1.0 / step
            y = resample_linear(x, rate_in, rate)
            if "rain_mm" in channels:
                c = list(channels).index("rain_mm")
                y[:, c] = resample_totals(x[:, c], rate_in, rate)
            labels_out = _between_readings(lab_grid, np.arange(len(y)) * rate_in / rate)
            missing = tuple(ch for ch in channels if ch != "vwc" and not np.isfinite(y[:, list(channels).index(ch)]).any())
            recs.append(Recording(
                y.astype(np.float32), rate, tuple(channels), subject=f"ismn:{stm.network}:{stm.station}",
                source=f"{f}#{part}", missing=missing,
                truth={"fault": labels_out.astype(np.int8), "fault_age": np.zeros(len(y), np.int32),
                       "network": stm.network, "station": stm.station, "depth_m": stm.depth[0], "sensor": stm.sensor,
                       "resolution": res, "t0": float(tt[0]), "real": True}))
    if not recs:
        raise TinymlError(f"{root}: no soil-moisture stretch of at least {min_days:g} days within {max_depth_m} m depth")
    if split_fractions:  # the stations' own split (station_split), fixed on the recordings beside a generator's
        where = station_split([r.subject for r in recs], split_fractions, split_seed)
        for r in recs:
            r.split = where[r.subject]
    return recs
