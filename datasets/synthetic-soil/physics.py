"""The field: a FAO-56 style root-zone water balance at 15-minute steps, soil temperature at the sensor's
depth, and bulk electrical conductivity. Parameters from the literature:

- Soils: FAO-56 (Allen et al. 1998) Table 19, field capacity and wilting point (mid-range values), readily
  evaporable water; saturation (total porosity) and saturated conductivity from Rawls, Brakensiek & Saxton
  (1982) texture classes; drainage above field capacity as an exponential recession whose time constant
  grows from sand (~0.5 day) to clay (~5 days).
- Crops: FAO-56 Table 12 crop coefficients (Kc ini / mid / end), Table 11 stage lengths (scaled to the
  season), Table 22 root depth and depletion fraction p.
- Water stress: Ks = (TAW - Dr) / ((1 - p) TAW) once the depletion Dr passes RAW = p TAW (FAO-56 eq. 84);
  evaporation from a wetted surface raises the coefficient for a few days after rain or irrigation.
- Soil temperature: a damped, lagged diurnal wave (damping depth 0.1 m) around a mean that follows the
  air's daily mean with a 2-day lag; wetter soil damps it more (higher heat capacity).
- Bulk EC: Rhoades et al. (1976): sigma_b = sigma_w (a theta + b) theta... with the pore-water EC
  concentrating as the soil dries (sigma_w = sigma_w,fc theta_fc / theta), plus surface conductivity that
  grows with clay; 1.9 %/°C temperature coefficient (USDA Handbook 60).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

STEP_H = 0.25


@dataclass(frozen=True)
class Soil:
    name: str
    fc: float  # field capacity, m³/m³
    wp: float  # wilting point
    sat: float  # saturation (porosity)
    ksat_mm_h: float  # saturated hydraulic conductivity: infiltration capacity
    drain_days: float  # time constant of drainage above field capacity
    clay: float  # clay fraction (EC surface conductivity, sensor temperature sensitivity)


# ksat_mm_h here is the basic infiltration rate of a wetted soil (FAO Irrigation Water Management manual 4:
# sand > 30, sandy loam 20-30, loam 10-20, clay loam 5-10, clay 1-5 mm/h); a dry soil takes more (infiltration
# capacity up to 3x, falling as it wets: Green-Ampt in short).
SOILS = {
    "sand": Soil("sand", 0.12, 0.045, 0.40, 80.0, 0.5, 0.03),
    "loamy_sand": Soil("loamy_sand", 0.15, 0.065, 0.41, 45.0, 0.8, 0.06),
    "sandy_loam": Soil("sandy_loam", 0.23, 0.11, 0.41, 25.0, 1.2, 0.10),
    "loam": Soil("loam", 0.25, 0.12, 0.43, 15.0, 1.8, 0.20),
    "silt_loam": Soil("silt_loam", 0.29, 0.15, 0.46, 10.0, 2.5, 0.15),
    "clay_loam": Soil("clay_loam", 0.33, 0.19, 0.46, 7.0, 3.5, 0.33),
    "clay": Soil("clay", 0.36, 0.22, 0.48, 4.0, 5.0, 0.50),
}


def application(amount_mm: float, soil: Soil, min_hours: float = 2.0, max_hours: float = 12.0) -> list[float]:
    """An irrigation of amount_mm as per-step depths at a rate the soil takes in (70 % of its basic
    infiltration rate, as sprinklers are chosen), over 2 to 12 hours."""
    hours = min(max_hours, max(min_hours, amount_mm / (0.7 * soil.ksat_mm_h)))
    steps = max(1, int(round(hours / STEP_H)))
    return [amount_mm / steps] * steps


@dataclass(frozen=True)
class Crop:
    name: str
    kc: tuple[float, float, float]  # ini, mid, end
    stages: tuple[float, float, float, float]  # fractions of the season: initial, development, mid, late
    root_m: float  # effective root depth (the sensed bucket)
    p: float  # depletion fraction allowed without stress (management-allowed depletion)


CROPS = {
    "maize": Crop("maize", (0.30, 1.20, 0.60), (0.2, 0.25, 0.35, 0.2), 0.6, 0.55),
    "wheat": Crop("wheat", (0.30, 1.15, 0.40), (0.15, 0.2, 0.45, 0.2), 0.6, 0.55),
    "potato": Crop("potato", (0.50, 1.15, 0.75), (0.2, 0.25, 0.35, 0.2), 0.4, 0.35),
    "tomato": Crop("tomato", (0.60, 1.15, 0.80), (0.22, 0.29, 0.29, 0.2), 0.5, 0.40),
}


def kc_curve(crop: Crop, n_steps: int) -> np.ndarray:
    """The FAO-56 Kc curve over a season of n_steps: flat, linear rise, flat, linear decline."""
    f = np.arange(n_steps) / max(1, n_steps - 1)
    a, b, c, _ = np.cumsum(crop.stages)
    ini, mid, end = crop.kc
    return np.select([f < a, f < b, f < c], [np.full_like(f, ini), ini + (mid - ini) * (f - a) / (b - a),
                                             np.full_like(f, mid)], mid + (end - mid) * (f - c) / max(1e-9, 1 - c))


@dataclass
class FieldState:
    """The water balance, stepped 15 minutes at a time (so a controller can act between steps)."""
    soil: Soil
    crop: Crop
    root_m: float
    theta: float
    wet_days: float = 99.0  # days since the surface was last wetted (evaporation boost)
    out: dict = field(default_factory=dict)

    @property
    def taw(self) -> float:
        return 1000.0 * (self.soil.fc - self.soil.wp) * self.root_m

    @property
    def depletion_mm(self) -> float:
        return max(0.0, 1000.0 * (self.soil.fc - self.theta) * self.root_m)

    def ks(self) -> float:
        taw, dr = self.taw, self.depletion_mm
        raw = self.crop.p * taw
        return 1.0 if dr <= raw else max(0.0, (taw - dr) / ((1 - self.crop.p) * taw))

    def step(self, water_mm: float, et0_mm: float, kc: float) -> dict:
        s, z = self.soil, 1000.0 * self.root_m
        wet = min(1.0, max(0.0, (self.theta - s.wp) / (s.sat - s.wp)))
        cap = s.ksat_mm_h * STEP_H * (1.0 + 2.0 * (1.0 - wet))
        infil = min(water_mm, cap)
        runoff = water_mm - infil
        self.theta += infil / z
        if self.theta > s.sat:
            runoff += (self.theta - s.sat) * z
            self.theta = s.sat
        if water_mm > 2.0:
            self.wet_days = 0.0
        drain = 0.0
        if self.theta > s.fc:
            drain = (self.theta - s.fc) * (1.0 - math.exp(-STEP_H / (24.0 * s.drain_days)))
            self.theta -= drain
        # evaporation from a wetted surface adds to a sparse canopy's coefficient for a few days
        k_eff = max(kc, 1.05 * math.exp(-self.wet_days / 1.5)) if kc < 1.0 else kc
        et = self.ks() * k_eff * et0_mm
        self.theta = max(0.5 * s.wp, self.theta - et / z)
        self.wet_days += STEP_H / 24.0
        return {"et_mm": et, "drain_mm": drain * z, "runoff_mm": runoff}


def simulate(soil: Soil, crop: Crop, root_m: float, rain: np.ndarray, et0: np.ndarray, kc: np.ndarray,
             theta0: float, controller=None) -> dict[str, np.ndarray]:
    """True root-zone water content and fluxes. controller(i, state, theta, irrigation) -> mm to apply over
    the next steps (a list of per-step amounts) or None; it is called before every step and keeps its own
    cadence (history: the true water content and the irrigation of the steps before i)."""
    n = len(rain)
    st = FieldState(soil, crop, root_m, theta0)
    theta = np.empty(n)
    irr = np.zeros(n)
    ks = np.empty(n)
    et = np.empty(n)
    pending: list[float] = []
    for i in range(n):
        if controller is not None:
            add = controller(i, st, theta[:i], irr[:i])
            if add:
                pending = list(add) + pending[len(add):] if len(pending) > len(add) else list(add)
        w = pending.pop(0) if pending else 0.0
        irr[i] = w
        f = st.step(rain[i] + w, et0[i], kc[i])
        theta[i] = st.theta
        ks[i] = st.ks()
        et[i] = f["et_mm"]
    return {"theta": theta, "irrigation": irr, "ks": ks, "et": et}


def soil_temperature(air: np.ndarray, theta: np.ndarray, soil: Soil, depth_m: float) -> np.ndarray:
    """°C at the sensor depth from 15-minute air temperature: daily mean lagged ~2 days, a diurnal wave
    damped by exp(-z/d) and delayed by z/d radians (d = 0.1 m), less in wet soil."""
    n = len(air)
    days = n // 96
    daily = air[: days * 96].reshape(days, 96)
    mean = daily.mean(axis=1)
    amp = 0.5 * (daily.max(axis=1) - daily.min(axis=1))
    lagged = np.empty(days)
    acc = mean[0]
    for k in range(days):
        acc += (mean[k] - acc) * (1 - np.exp(-1 / 2.0))
        lagged[k] = acc
    d = 0.10
    damp = np.exp(-depth_m / d)
    lag_h = (depth_m / d) * 24 / (2 * np.pi)
    h = (np.arange(days * 96) % 96) / 4.0
    wet = np.clip((theta[: days * 96] - soil.wp) / (soil.sat - soil.wp), 0, 1)
    wave = np.repeat(amp, 96) * 0.8 * damp * (1 - 0.3 * wet) * np.sin(2 * np.pi * (h - 8.0 - lag_h) / 24.0)
    t = np.repeat(lagged, 96) + 1.5 + wave
    if len(t) < n:
        t = np.concatenate([t, np.full(n - len(t), t[-1])])
    return t


def bulk_ec(theta: np.ndarray, temp: np.ndarray, soil: Soil, ecw_fc: float) -> np.ndarray:
    """Bulk EC (dS/m) that follows moisture and salinity (Rhoades model, pore water concentrating as the
    soil dries), at the soil's temperature."""
    th = np.maximum(theta, 0.02)
    sigma_w = ecw_fc * soil.fc / th
    sigma_s = 0.02 + 0.5 * soil.clay
    ec25 = sigma_w * th * (1.3 * th + 0.03) + sigma_s * th / soil.sat
    return np.maximum(0.0, ec25 * (1 + 0.019 * (temp - 25.0)))
