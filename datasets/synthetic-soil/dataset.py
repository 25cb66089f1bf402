"""synthetic-soil: a SYNTHETIC field soil-moisture generator driven by REAL daily weather.

Each recording is one growing season of one field, sampled every 15 minutes as a field node does: volumetric
water content `vwc` (m³/m³), `soil_temp_c`, bulk EC `ec_ds_m`, `rain_mm` (gauge, includes sprinkler
irrigation) and `et0_mm` per 15-minute interval. The weather is real (the aquacrop package's daily files,
11 sites, 1976-2021: weather.py), the field is simulated (physics.py: FAO-56 water balance, soils from sand
to clay, crops, soil temperature, EC), and so are the sensor and its faults (sensor.py). Fields are rainfed,
irrigated on a fixed schedule, or irrigated when a depletion threshold is passed.

Splits never leak: a recording's subject is its weather *region* (nearby sites share weather: the four
East-England sites are one region), held-out regions (`test_regions`) are split="test" and use only the
last `test_year_fraction` of their years, the other regions only the earlier years, so test seasons are
unseen places in unseen years. Soil type is in truth["soil"] for a robustness table.

Imported by file path; the sibling modules are loaded the same way.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from tinyml.apps import load_module
from tinyml.errors import TinymlError
from tinyml.recording import Recording

_HERE = Path(__file__).resolve().parent
weather = load_module(_HERE / "weather.py", "tinyml_datasets.synthetic_soil.weather")
physics = load_module(_HERE / "physics.py", "tinyml_datasets.synthetic_soil.physics")
sensor = load_module(_HERE / "sensor.py", "tinyml_datasets.synthetic_soil.sensor")

FAULTS = sensor.FAULTS
SOILS = physics.SOILS
CROPS = physics.CROPS
SITES = weather.SITES
CHANNEL_KEYS = ("vwc", "soil_temp_c", "ec_ds_m", "rain_mm", "et0_mm")
LEAD_DAYS = 14  # simulated before the season so every window has history
MANAGEMENT = ("rainfed", "fixed", "threshold")


def regions() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for site, (region, *_rest) in SITES.items():
        out.setdefault(region, []).append(site)
    return out


def season_years(site: str) -> list[int]:
    w = weather.load_weather(site)
    _, start, length, _, _ = SITES[site]
    return [int(y) for y in sorted(set(w.year.tolist()))
            if weather.season_days(w, int(y), start, length, LEAD_DAYS) is not None]


def fixed_schedule(every_days: float, amount_mm: float, hour: int = 6):
    """A farmer's calendar: amount_mm every `every_days` at `hour`, at a rate the soil takes in."""
    period = int(round(every_days * 96))

    def control(i, state, *history):
        if i >= LEAD_DAYS * 96 and (i - LEAD_DAYS * 96 - hour * 4) % period == 0:
            return physics.application(amount_mm, state.soil)
        return None

    return control


def threshold_control(mad: float, refill: float = 1.0, hour: int = 6):
    """Irrigate at `hour` when the root-zone depletion passes mad * TAW: back to field capacity (x refill)."""

    def control(i, state, *history):
        if i >= LEAD_DAYS * 96 and (i % 96) == hour * 4 and state.depletion_mm > mad * state.taw:
            return physics.application(state.depletion_mm * refill, state.soil)
        return None

    return control


def field_season(site: str, year: int, soil: str, crop: str | None = None, *, controller=None, seed: int = 0,
                 root_m: float | None = None, depth_m: float = 0.15, ecw_fc: float = 1.5, theta0: float | None = None,
                 rain_seed: int | None = None) -> dict:
    """The true state of one field over one season (with LEAD_DAYS before it): 15-minute water (rain +
    irrigation), ET0, air and soil temperature, EC, water content, stress. The weather disaggregation draws
    from `rain_seed` (default: `seed`), so two managements of one field see the same rain."""
    if site not in SITES:
        raise TinymlError(f"synthetic-soil: unknown site {site!r}; sites: {', '.join(SITES)}")
    if soil not in SOILS:
        raise TinymlError(f"synthetic-soil: unknown soil {soil!r}; soils: {', '.join(SOILS)}")
    region, start, length, convective, site_crop = SITES[site]
    cr = CROPS[crop or site_crop]
    so = SOILS[soil]
    w = weather.load_weather(site)
    days = weather.season_days(w, year, start, length, LEAD_DAYS)
    if days is None:
        raise TinymlError(f"synthetic-soil: {site} has no complete season starting in {year}")
    met = weather.disaggregate(w, days, convective, np.random.default_rng(seed if rain_seed is None else rain_seed))
    n = len(met["rain"])
    kc = np.concatenate([np.full(LEAD_DAYS * 96, cr.kc[0]), physics.kc_curve(cr, n - LEAD_DAYS * 96)])
    rng = np.random.default_rng(seed + 1)
    z = root_m or cr.root_m
    th0 = theta0 if theta0 is not None else so.wp + (so.fc - so.wp) * rng.uniform(0.5, 1.0)
    sim = physics.simulate(so, cr, z, met["rain"], met["et0"], kc, th0, controller)
    temp = physics.soil_temperature(met["air"], sim["theta"], so, depth_m)
    ec = physics.bulk_ec(sim["theta"], temp, so, ecw_fc)
    return {"theta": sim["theta"], "irrigation": sim["irrigation"], "ks": sim["ks"], "et": sim["et"],
            "water": met["rain"] + sim["irrigation"], "rain": met["rain"], "et0": met["et0"], "air": met["air"],
            "temp": temp, "ec": ec, "soil": so, "crop": cr, "root_m": z, "site": site, "region": region,
            "year": year, "start": LEAD_DAYS * 96, "day0": int(days[0])}


def closed_loop(site: str, year: int, soil: str, decide, *, crop: str | None = None, seed: int = 0,
                root_m: float | None = None, depth_m: float = 0.15, ecw_fc: float = 1.5,
                faults: list[tuple[str, int]] = (), days: int | None = None) -> dict:
    """One season of a field whose irrigation a node decides from its own readings: decide(i, readings)
    gets the node's samples before step i ([i, 5], CHANNEL_KEYS order: the sensor's calibration error, noise
    and resolution, a tipping-bucket gauge that also catches the irrigation) and returns mm to apply now (0:
    none). `faults`: (class, sample) of a failing sensor the node reads: "spike" (one glitch of +0.15 m³/m³)
    or "stuck" (the reading freezes from that sample on). `days`: stop after this many days of the season.
    Returns field_season's truth dict plus "readings" and per-sample "fault" labels."""
    n_days = days
    region, start, length, convective, site_crop = SITES[site]
    cr, so = CROPS[crop or site_crop], SOILS[soil]
    w = weather.load_weather(site)
    days_idx = weather.season_days(w, year, start, length, LEAD_DAYS)
    if days_idx is None:
        raise TinymlError(f"synthetic-soil: {site} has no complete season starting in {year}")
    met = weather.disaggregate(w, days_idx, convective, np.random.default_rng(seed))
    n = len(met["rain"])
    kc = np.concatenate([np.full(LEAD_DAYS * 96, cr.kc[0]), physics.kc_curve(cr, n - LEAD_DAYS * 96)])
    if n_days is not None:
        n = (LEAD_DAYS + n_days) * 96
        met = {k: v[:n] for k, v in met.items()}
        kc = kc[:n]
    z = root_m or cr.root_m
    rng = np.random.default_rng(seed + 5)
    label = np.zeros(n, np.int8)
    spikes = {t for c, t in faults if c == "spike"}
    stuck_from = min([t for c, t in faults if c == "stuck"], default=n + 1)
    for t in spikes:
        label[t] = sensor.FAULTS.index("spike")
    label[stuck_from:] = sensor.FAULTS.index("stuck")
    gain, offset = rng.uniform(0.93, 1.07), rng.normal(0.0, 0.01)
    k_temp = rng.uniform(0.0, 0.0015) * (0.5 + so.clay * 2)
    noise = rng.normal(0, rng.uniform(0.0005, 0.002), n)
    res = 0.001 if rng.random() < 0.4 else 0.0001
    temp = physics.soil_temperature(met["air"], np.full(n, so.fc), so, depth_m)
    t_read = np.round((temp + rng.normal(0, 0.05, n)) / 0.01) * 0.01
    et_read = np.round(met["et0"], 3)
    readings = np.zeros((n, 5))
    gauge = {"cum": 0.0, "tips": 0.0}

    def controller(i, state, theta, irrigation):
        if i > 0:
            j = i - 1
            v = gain * theta[j] + offset + k_temp * (temp[j] - 20.0) + noise[j]
            gauge["cum"] += met["rain"][j] + irrigation[j]
            tips = np.floor(gauge["cum"] / 0.2) * 0.2
            ec = physics.bulk_ec(np.array([theta[j]]), np.array([temp[j]]), so, ecw_fc)[0]
            v = np.round(v / res) * res + (0.15 if j in spikes else 0.0)
            if j >= stuck_from:
                v = readings[stuck_from - 1, 0]
            readings[j] = (v, t_read[j], round(ec, 3), tips - gauge["tips"], et_read[j])
            gauge["tips"] = tips
        mm = decide(i, readings[:i]) if i > 0 and state is not None else 0.0
        return physics.application(mm, so) if mm and mm > 0 else None

    th0 = so.wp + (so.fc - so.wp) * 0.8
    sim = physics.simulate(so, cr, z, met["rain"], met["et0"], kc, th0, controller)
    # the last sample's reading (the loop records step j before deciding at j + 1)
    controller(n, None, sim["theta"], sim["irrigation"])
    age = np.zeros(n, np.int32)
    for i in range(1, n):
        age[i] = age[i - 1] + 1 if label[i] == label[i - 1] and label[i] else 0
    return {"theta": sim["theta"], "irrigation": sim["irrigation"], "ks": sim["ks"], "readings": readings,
            "rain": met["rain"], "et0": met["et0"], "soil": so, "crop": cr, "root_m": z, "site": site, "year": year,
            "region": region, "start": LEAD_DAYS * 96, "fault": label, "fault_age": age}


def to_recording(truth: dict, read: dict, vwc: np.ndarray, label: np.ndarray, age: np.ndarray, channels,
                 subject: str, source: str, split: str = "", **extra) -> Recording:
    cols = {**{k: read[k] for k in CHANNEL_KEYS}, "vwc": vwc}
    unknown = [c for c in channels if c not in cols]
    if unknown:
        raise TinymlError(f"synthetic-soil makes {', '.join(CHANNEL_KEYS)}; not {', '.join(unknown)}")
    signal = np.stack([cols[c] for c in channels], axis=1).astype(np.float32)
    so, cr = truth["soil"], truth["crop"]
    info = {"fault": label, "fault_age": age, "theta": truth["theta"].astype(np.float32),
            "irrigation": truth["irrigation"].astype(np.float32), "ks": truth["ks"].astype(np.float32),
            "site": truth["site"], "region": truth["region"], "year": truth["year"], "soil": so.name,
            "crop": cr.name, "fc": so.fc, "wp": so.wp, "sat": so.sat, "root_m": truth["root_m"], "p": cr.p,
            "start": truth["start"], **extra}
    return Recording(signal, 1 / 900.0, tuple(channels), subject=subject, source=source, split=split, truth=info)


def generate(*, rate: float, channels, seed: int = 0, progress: bool = False, seasons_per_region: int = 10,
             soils: list[str] | None = None, test_regions=("cordoba", "north-england"),
             test_year_fraction: float = 0.3, faulty_fraction: float = 0.7, episodes_per_30d: float = 3.0,
             max_days: int | None = None, val_seasons_per_region: int = 0, extra_train_seasons_per_region: int = 0,
             **_ignored) -> list[Recording]:
    """Seasons of simulated fields, `seasons_per_region` per weather region (see the module docstring).
    `val_seasons_per_region` > 0 adds that many validation seasons per region that is not held out, from the
    years its training seasons never use (its last `test_year_fraction`, as the held-out regions' test
    seasons): subject "<region>:later", split="val", so validation sees unseen years of every training
    region (and every region that is not held out trains). Drawn after the others with their own seed: the
    training and test seasons stay as they were."""
    if abs(rate - 1 / 900.0) > 1e-9:
        raise TinymlError(f"synthetic-soil generates 15-minute samples (rate {1 / 900:.6g} Hz), not {rate:g} Hz")
    if extra_train_seasons_per_region > 0 and val_seasons_per_region <= 0:
        # without validation seasons the split draws validation regions among those the extra seasons train
        raise TinymlError("extra_train_seasons_per_region needs val_seasons_per_region > 0: without validation "
                          "seasons the split draws validation regions, and the extra seasons would put one both in "
                          "training and validation (set val_seasons_per_region in the [dataset] options)")
    soil_names = list(soils or SOILS)
    opts = dict(channels=channels, soil_names=soil_names, faulty_fraction=faulty_fraction,
                episodes_per_30d=episodes_per_30d, max_days=max_days, progress=progress)
    root = np.random.default_rng(seed)
    recs: list[Recording] = []
    for r_i, (region, sites) in enumerate(sorted(regions().items())):
        held_out = region in test_regions
        pool = []
        for site in sites:
            early, late = _years(site, test_year_fraction)
            pool += [(site, y) for y in (late if held_out else early)]
        if not pool:
            continue
        picks = root.choice(len(pool), size=min(seasons_per_region, len(pool)), replace=False)
        for k, p in enumerate(sorted(picks)):
            recs.append(_season(region, *pool[p], k + r_i, root, "test" if held_out else "", **opts))
    if val_seasons_per_region > 0:
        recs += _seasons_of_training_regions(val_seasons_per_region, np.random.default_rng([seed, 1]), later=True,
                                             split="val", first_soil=0, repeats=False, test_regions=test_regions,
                                             test_year_fraction=test_year_fraction, opts=opts)
    if extra_train_seasons_per_region > 0:
        recs += _seasons_of_training_regions(extra_train_seasons_per_region, np.random.default_rng([seed, 2]),
                                             later=False, split="train", first_soil=seasons_per_region, repeats=True,
                                             test_regions=test_regions, test_year_fraction=test_year_fraction,
                                             opts=opts)
    return recs


def _seasons_of_training_regions(n: int, rng, *, later: bool, split: str, first_soil: int, repeats: bool,
                                 test_regions, test_year_fraction: float, opts: dict) -> list[Recording]:
    """`n` more seasons, drawn with `rng`, of every region not held out: from its later years (its last
    `test_year_fraction`, which no training season uses; subject "<region>:later") or its earlier ones (subject
    the region). With `repeats` a year may come again where a region has fewer than `n` (another soil, sensor and
    faults), else it gives what it has. Soils continue from the region's `first_soil`-th."""
    out = []
    for r_i, (region, sites) in enumerate(sorted(regions().items())):
        if region in test_regions:
            continue
        pool = [(site, y) for site in sites for y in _years(site, test_year_fraction)[1 if later else 0]]
        if not pool:
            continue
        picks = rng.choice(len(pool), size=n if repeats else min(n, len(pool)), replace=repeats and len(pool) < n)
        subject = f"{region}:later" if later else None
        for k, p in enumerate(sorted(picks)):
            out.append(_season(region, *pool[p], first_soil + k + r_i, rng, split, subject=subject, **opts))
    return out


def _years(site: str, test_year_fraction: float) -> tuple[list[int], list[int]]:
    """(earlier years, last `test_year_fraction` of the years) of a site's seasons."""
    ys = season_years(site)
    cut = int(math.floor(len(ys) * (1 - test_year_fraction)))
    return ys[:cut], ys[cut:]


def _season(region: str, site: str, year: int, k: int, root, split: str, *, channels, soil_names, faulty_fraction,
            episodes_per_30d, max_days, progress, subject: str | None = None) -> Recording:
    """One season of one field: soil (the k-th of the list), crop of the site, management, sensor and faults."""
    s = int(root.integers(2**31))
    rng = np.random.default_rng(s)
    soil = soil_names[k % len(soil_names)] if len(soil_names) > 1 else soil_names[0]
    crop_name = SITES[site][4]
    cr = CROPS[crop_name]
    mgmt = MANAGEMENT[int(rng.choice(3, p=[0.3, 0.3, 0.4]))]
    if mgmt == "fixed":
        ctl = fixed_schedule(rng.uniform(3, 7), rng.uniform(15, 35))
    elif mgmt == "threshold":
        ctl = threshold_control(rng.uniform(0.3, 0.8), refill=rng.uniform(0.7, 1.1))
    else:
        ctl = None
    truth = field_season(site, year, soil, crop_name, controller=ctl, seed=s,
                         root_m=cr.root_m * rng.uniform(0.8, 1.2), depth_m=rng.uniform(0.1, 0.3),
                         ecw_fc=float(np.exp(rng.uniform(np.log(0.3), np.log(5.0)))))
    if max_days:
        cut = truth["start"] + max_days * 96
        truth = {k2: (v[:cut] if isinstance(v, np.ndarray) else v) for k2, v in truth.items()}
    read = sensor.station_logging(sensor.read_sensors(truth, truth["soil"], rng), rng)
    if rng.random() < faulty_fraction:
        vwc, label, age = sensor.inject(read, truth["soil"], rng, episodes_per_30d)
    else:
        vwc, label, age = read["vwc"], np.zeros(len(read["vwc"]), np.int8), np.zeros(len(read["vwc"]), np.int32)
    if progress:
        print(f"  {region} {site} {year} {soil} {mgmt}: {len(vwc) / 96:.0f} days", flush=True)
    return to_recording(truth, read, vwc, label, age, channels, subject or region,
                        f"synthetic-soil:{site}:{year}:{soil}:{mgmt}", split, management=mgmt)


def demo_season(channels, *, site: str = "tunis", year: int | None = None, soil: str = "loam", seed: int = 7,
                days: int = 40, controller=None, spikes_from_day: float = 24.0, stuck_from_day: float = 30.0) -> tuple:
    """The demo: a held-out site and year, `days` of a season with rain, dry-downs and irrigation (the
    `controller` decides it, e.g. the app's own), and a sensor that starts spiking and then sticks.
    Returns (Recording, truth)."""
    ys = season_years(site)
    year = year or ys[-1]
    truth = field_season(site, year, soil, controller=controller, seed=seed)
    cut = truth["start"] + days * 96
    truth = {k: (v[:cut] if isinstance(v, np.ndarray) else v) for k, v in truth.items()}
    rng = np.random.default_rng(seed + 11)
    read = sensor.read_sensors(truth, truth["soil"], rng)
    t_spike = truth["start"] + int(spikes_from_day * 96)
    t_stuck = truth["start"] + int(stuck_from_day * 96)
    schedule = [("spike", t_spike + int(h * 4)) for h in (0, 9.5, 21, 30.25, 44)] + [("stuck", t_stuck)]
    vwc, label, age = sensor.inject(read, truth["soil"], rng, schedule=schedule)
    region = SITES[site][0]
    rec = to_recording(truth, read, vwc, label, age, channels, region, f"synthetic-soil demo:{site}:{year}:{soil}",
                       "test")
    return rec, truth
