"""Real daily weather for the soil generator: the files the `aquacrop` package (AquaCrop-OSPy, Apache-2.0)
ships in aquacrop/data/*_climate.txt: day, month, year, Tmin, Tmax (°C), precipitation and FAO-56
reference evapotranspiration ET0 (mm/day), for 11 sites and 11 to 37 years each. Only the data files are
read (the package itself is never imported: it pulls a crop model we do not use).

Then daily values become 15-minute ones: rain falls in 1-3 events of sub-daily duration (afternoon storms
where the climate is convective), ET0 follows the sun (a half-sine from 06:00 to 18:00 solar time, 5 %
at night), air temperature a sine between Tmin at dawn and Tmax at 14:00.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

STEPS_PER_DAY = 96  # 15 minutes
# site -> (region: the split key, nearby sites share weather; first day-of-year of the growing season;
#          season length in days; convective afternoon rain; irrigated crop)
SITES = {
    "brussels": ("brussels", 105, 150, False, "potato"),
    "cambridge": ("east-england", 105, 150, False, "potato"),
    "lincolnshire": ("east-england", 105, 150, False, "wheat"),
    "norfolk": ("east-england", 110, 150, False, "potato"),
    "suffolk": ("east-england", 110, 150, False, "wheat"),
    "north_yorks": ("north-england", 115, 140, False, "potato"),
    "northumberland": ("north-england", 115, 140, False, "wheat"),
    "champion": ("champion", 130, 140, True, "maize"),
    "cordoba": ("cordoba", 288, 150, True, "maize"),  # southern hemisphere: October to March
    "hyderabad": ("hyderabad", 305, 130, True, "tomato"),  # the dry (rabi) season, irrigated
    "tunis": ("tunis", 60, 130, False, "tomato"),
}


@dataclass
class Weather:
    site: str
    year: np.ndarray  # [days]
    doy: np.ndarray
    tmin: np.ndarray
    tmax: np.ndarray
    rain: np.ndarray  # mm/day
    et0: np.ndarray  # mm/day


def data_dir() -> Path:
    spec = importlib.util.find_spec("aquacrop")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the aquacrop package is not installed (pip install aquacrop==3.1.0): its weather "
                                "files drive the synthetic-soil generator")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def load_weather(site: str) -> Weather:
    path = data_dir() / f"{site}_climate.txt"
    rows = []
    for line in path.read_text().splitlines()[1:]:
        f = line.split()
        if len(f) >= 7:
            rows.append([float(v) for v in f[:7]])
    a = np.array(rows)
    import datetime as dt

    doy = np.array([dt.date(int(y), int(m), int(d)).timetuple().tm_yday for d, m, y in a[:, :3]])
    # a few files hold tiny negative ET0 or rain from rounding: no water is taken by the sky
    return Weather(site, a[:, 2].astype(int), doy, a[:, 3], a[:, 4], np.maximum(a[:, 5], 0), np.maximum(a[:, 6], 0))


def season_days(w: Weather, year: int, start_doy: int, n_days: int, lead_days: int) -> np.ndarray | None:
    """Indices of the days from `lead_days` before the season's start in `year` to its end, or None."""
    start = np.nonzero((w.year == year) & (w.doy == start_doy))[0]
    if not len(start):
        return None
    i0 = int(start[0]) - lead_days
    i1 = int(start[0]) + n_days
    if i0 < 0 or i1 > len(w.year):
        return None
    return np.arange(i0, i1)


def _sun_profile() -> np.ndarray:
    h = (np.arange(STEPS_PER_DAY) + 0.5) / 4.0
    day = np.clip(np.sin(np.pi * (h - 6.0) / 12.0), 0, None)
    prof = 0.95 * day / day.sum() + 0.05 / STEPS_PER_DAY
    return prof / prof.sum()


SUN = _sun_profile()


def disaggregate(w: Weather, days: np.ndarray, convective: bool, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """15-minute rain (mm per step), ET0 (mm per step) and air temperature (°C) for the given days."""
    n = len(days) * STEPS_PER_DAY
    rain = np.zeros(n)
    et0 = np.repeat(w.et0[days], STEPS_PER_DAY) * np.tile(SUN, len(days))
    h = (np.arange(STEPS_PER_DAY) + 0.5) / 4.0
    # air temperature: minimum at 06:00, maximum at 14:00 (piecewise cosine)
    shape = np.where((h >= 6) & (h < 14), 0.5 - 0.5 * np.cos(np.pi * (h - 6) / 8.0),
                     0.5 + 0.5 * np.cos(np.pi * ((h - 14) % 24) / 16.0))
    tmin, tmax = w.tmin[days], w.tmax[days]
    air = (tmin[:, None] + (tmax - tmin)[:, None] * shape[None, :]).ravel()
    for k, d in enumerate(days):
        p = w.rain[d]
        if p < 0.2:
            continue
        n_ev = 1 + min(2, rng.poisson(p / 15.0))
        shares = rng.dirichlet(np.ones(n_ev)) * p
        for amount in shares:
            if convective and rng.random() < 0.7:
                start_h = float(np.clip(rng.normal(16.0, 2.5), 0, 23.5))
            else:
                start_h = rng.uniform(0, 24)
            dur_h = float(np.clip(0.5 + rng.exponential(1.0 + amount / 10.0), 0.25, 12.0))
            steps = max(1, int(round(dur_h * 4)))
            prof = np.bartlett(steps + 2)[1:-1] if steps > 1 else np.ones(1)
            prof = prof / prof.sum()
            s0 = k * STEPS_PER_DAY + int(start_h * 4)
            s1 = min(n, s0 + steps)
            rain[s0:s1] += amount * prof[: s1 - s0] / prof[: s1 - s0].sum()
    return {"rain": rain, "et0": et0, "air": air}
