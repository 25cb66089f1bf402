"""SYNTHETIC vibration of rotating machines, from the physics of their faults (no real data inside).

A stand-in for the vibration data sets that cannot be downloaded here. Each simulated machine is a motor
driving a load through a shaft on rolling bearings, with an accelerometer on a bearing housing. Its
parameters are drawn once per machine, within ranges from the literature:

- shaft speed 12-60 Hz (720-3600 rpm), with 0.5-3 % load-dependent slip below the nominal speed that the
  user configures, varying between captures (induction motors); line frequency 50 or 60 Hz;
- a bearing of 7-16 rolling elements, d/D 0.15-0.32, contact angle 0 or 10-25 deg: defect orders from the
  kinematics (tinyml.bearing; Harris), real defect rates 1-2 % off them (slip of the rolling elements);
- 2-4 structural resonances between 1.2 and 11 kHz, damping 2-8 % (Randall and Antoni, MSSP 2011);
- a transfer path and a sensor: gain error +-15 %, a mounting resonance (magnet mounts), a sensor bandwidth
  of 8-12.5 kHz or the anti-alias filter of a 12 kHz or 20 kHz recorder (then nothing above it, not even
  noise), white noise, and on MEMS sensors a DC offset (gravity on the axis);
- healthy content: shaft harmonics 1x-5x (0.1-20 mg at 1x, acceleration), rolling noise through the
  resonances (20-70 mg broadband on CWRU's healthy rig; the range is wider) modulated at 1x and 2x, a gear
  mesh with +-1x sidebands on geared machines, 2x line frequency (magnetic), process noise below 200 Hz,
  and on some machines flow noise in a mid band and sparse random impacts tied to no shaft order (valve
  clicks, a loose cover): impulsive, but not a bearing (NASA IMS's healthy rig is impulsive and shows little
  1x, which a generator without these nuisances calls a fault).

Faults (severity s in 0..1 sets their size relative to the machine's own noise):
- imbalance: 1x grows 3-15 fold; misalignment: 2x (and 3x, 4x) above 1x; mechanical looseness: many
  harmonics to 10x, half orders (0.5x, 1.5x, ...) and a rattle impact per revolution (Mais, "Spectrum
  analysis", SKF 2002; ISO 13373);
- bearing defects are trains of impulses that ring the resonances (McFadden and Smith, JSV 1984): outer
  race at BPFO, steady (a fixed defect in the load zone); inner race at BPFI, amplitude-modulated by the
  load zone as the defect turns with the shaft; rolling element at 2 x BSF, modulated at the cage rate
  (FTF); each impulse jitters 0.5-2 % in time (slip); severe defects add broadband noise and 1x.

Captures are `capture_s` long (a sensor waking up every few minutes); speed, load and phases change from
one capture to the next, and baseline and history recordings drift slowly (temperature, load).

generate() returns, per machine (subject "sim-mNNN"; the split is by machine):
- one "captures" recording per condition (normal, imbalance, misalignment, looseness, outer_race,
  inner_race, rolling_element): `captures` captures back to back; a fault's carries the event (0, label);
- one "baseline" recording: `baseline_captures` healthy captures after installation (calibration, then
  false-alarm counting);
- for `history_fraction` of the machines a "history": `history_captures` captures from installation to
  failure, healthy until a bearing defect starts at 50-75 % of it and grows to failure at the end;
  events [(onset s, label)].
Every recording carries the machine's configured [machine] values (nominal speed, catalogue orders) in
`deployment`.
"""

from __future__ import annotations

import numpy as np
from scipy import signal as sps

from tinyml.bearing import defect_orders
from tinyml.recording import Recording

LABELS = ["normal", "imbalance", "misalignment", "looseness", "outer_race", "inner_race", "rolling_element"]
BEARING_FAULTS = ("outer_race", "inner_race", "rolling_element")


class Machine:
    """One simulated machine: its parameters are drawn from `rng` once."""

    def __init__(self, rng: np.random.Generator, rate: float):
        self.rate = float(rate)
        self.nominal_hz = float(np.exp(rng.uniform(np.log(12.0), np.log(60.0))))
        self.slip = (rng.uniform(0.005, 0.03), rng.uniform(0.002, 0.006))  # mean slip, capture-to-capture
        self.line_hz = float(rng.choice([50.0, 60.0]))
        balls = int(rng.integers(7, 17))
        ratio = rng.uniform(0.15, 0.32)
        contact = 0.0 if rng.random() < 0.7 else rng.uniform(10, 25)
        pitch = 40.0
        self.orders = defect_orders(balls, ratio * pitch, pitch, contact)
        self.defect_slip = rng.uniform(-0.02, 0.005)  # real defect rates run a little below the kinematics
        nyq = self.rate / 2
        k = int(rng.integers(2, 5))
        self.modes = np.sort(np.exp(rng.uniform(np.log(1200.0), np.log(min(11000.0, 0.9 * nyq)), k)))
        self.zeta = rng.uniform(0.02, 0.08, k)
        self.mode_gain = np.exp(rng.uniform(np.log(0.3), np.log(1.0), k))
        # healthy levels, g (ranges cover small test rigs like CWRU's, a 0.4 mg 1x and 20-70 mg broadband, to
        # larger machines; acceleration at 1x grows with speed)
        self.noise = float(np.exp(rng.uniform(np.log(0.02), np.log(0.6))))  # rolling noise through the structure
        self.a1 = float(np.exp(rng.uniform(np.log(0.0001), np.log(0.02)))) * (self.nominal_hz / 30.0)
        self.harm = np.concatenate([[1.0, np.exp(rng.uniform(np.log(0.05), np.log(0.8)))],
                                    np.exp(rng.uniform(np.log(0.03), np.log(1.5), 3))])
        self.am = rng.uniform(0.0, 0.3, 2) * (rng.random() < 0.7)  # 1x, 2x modulation of the broadband (runout)
        # healthy nuisances: flow or structure noise in a mid band (pumps, fans), and sparse random impacts
        # (valve clicks, a loose cover, electrical spikes) that are impulsive but tied to no shaft order
        self.flow = (rng.uniform(150, 2500), rng.uniform(0.3, 1.5), float(np.exp(rng.uniform(np.log(0.002), np.log(0.05))))) \
            if rng.random() < 0.5 else None
        # (IMS test 1's healthy rig: band excess kurtosis about 3, above 99.8 % of captures from a generator with
        # ticks on 30 % of machines at 0.5-20 /s and 1-8x the rolling noise; same draws, so no other parameter moves)
        self.ticks = (rng.uniform(0.5, 60.0), float(np.exp(rng.uniform(np.log(1.0), np.log(15.0))))) if rng.random() < 0.6 else None
        self.line2x = float(np.exp(rng.uniform(np.log(0.0002), np.log(0.01))))
        self.process = float(np.exp(rng.uniform(np.log(0.001), np.log(0.01))))
        self.gear_teeth = int(rng.integers(17, 62)) if rng.random() < 0.4 else 0
        self.gear_amp = float(np.exp(rng.uniform(np.log(0.002), np.log(0.05))))
        # sensor, mounting and acquisition: the sensor's own bandwidth, and the recorder's anti-alias filter
        # when it sampled at 12 or 20 kHz (nothing above 5.4-6 or 9-10 kHz then, not even noise)
        self.gain = rng.uniform(0.85, 1.15)
        r = rng.random()
        self.acquisition = 12000.0 if r < 0.3 else 20000.0 if r < 0.45 else 0.0
        sensor_bw = rng.uniform(8000, 12500)
        cut = {12000.0: rng.uniform(5200, 5900), 20000.0: rng.uniform(8800, 9700)}.get(self.acquisition, sensor_bw)
        self.bandwidth = min(cut, 0.95 * nyq)
        self.mount = (rng.uniform(2500, 8000), rng.uniform(4, 15)) if rng.random() < 0.4 else None
        self.sensor_noise = float(np.exp(rng.uniform(np.log(0.0003), np.log(0.003))))
        self.dc = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.9, 1.1)) if rng.random() < 0.3 else 0.0
        self.defect_gain = float(np.exp(rng.uniform(np.log(0.5), np.log(2.0))))  # transfer path to the sensor
        order = 12 if self.acquisition else 4
        self._sos_sensor = sps.butter(order, self.bandwidth, "lowpass", fs=self.rate, output="sos")

    def config(self, rng: np.random.Generator | None = None) -> dict:
        """What a user writes in [machine]: the nominal speed and the catalogue orders."""
        return {"shaft_hz": self.nominal_hz, **self.orders}

    # ---- one capture ----

    def capture(self, rng: np.random.Generator, n: int, condition: str = "normal", severity: float = 0.0,
                load: float = 1.0, drift: float = 0.0) -> np.ndarray:
        """n samples of acceleration in g. drift (about -1..1) moves healthy levels slowly over weeks."""
        fs = self.rate
        warm = int(0.05 * fs)
        m = n + warm
        t = np.arange(m) / fs
        speed = self.nominal_hz * (1 - self.slip[0] * load - rng.normal(0, self.slip[1]))
        x = np.zeros(m)
        # shaft harmonics
        amps = self.a1 * self.harm * (1 + 0.15 * drift) * (0.9 + 0.2 * load)
        amps = amps * np.exp(rng.normal(0, 0.08, len(amps)))
        half = np.zeros(4)
        s = float(severity)
        # Shaft faults reach the levels that call for action: 1x velocity of 1-7 mm/s (ISO 10816 zones B-D)
        # at least, as acceleration in g at that order (a = 2 pi f v).
        vel = lambda mm_s, order: 2 * np.pi * order * speed * mm_s * 1e-3 / 9.80665  # noqa: E731
        if condition == "imbalance":
            amps[0] = max(amps[0] * (3 + 12 * s), vel(1.0 + 6 * s, 1))
        elif condition == "misalignment":
            amps[1] = max(amps[0] * (1.5 + 4 * s), vel(0.8 + 4 * s, 2)) * rng.uniform(0.8, 1.2)
            amps[2] = max(amps[2], amps[1] * rng.uniform(0.3, 0.8))
            amps[3] = max(amps[3], amps[1] * rng.uniform(0.1, 0.5))
            amps[0] *= 1 + 0.5 * s
        elif condition == "looseness":
            lvl = max(amps[0] * (0.5 + 2.5 * s), vel(0.5 + 3 * s, 1))
            amps = np.concatenate([amps, np.zeros(5)])
            for h in range(1, 10):
                amps[h] = max(amps[h], lvl * rng.uniform(0.4, 1.0) / np.sqrt(h + 1))
            half = lvl * rng.uniform(0.2, 0.6, 4) / np.sqrt(np.arange(1, 5))
        for h, a in enumerate(amps, start=1):
            x += a * np.sin(2 * np.pi * h * speed * t + rng.uniform(0, 2 * np.pi))
        for j, a in enumerate(half):
            if a:
                x += a * np.sin(2 * np.pi * (j + 0.5) * speed * t + rng.uniform(0, 2 * np.pi))
        # electrical, process, gear mesh
        x += self.line2x * (1 + 0.3 * rng.normal()) * np.sin(2 * np.pi * 2 * self.line_hz * t + rng.uniform(0, 6.3))
        proc = rng.normal(0, 1, m)
        proc = sps.sosfilt(sps.butter(2, 200.0, fs=fs, output="sos"), proc)
        x += self.process * proc / (np.std(proc) + 1e-12)
        if self.gear_teeth:
            fm = self.gear_teeth * speed
            if fm < 0.45 * fs:
                ph = rng.uniform(0, 6.3)
                g = self.gear_amp * (1 + 0.1 * drift)
                x += g * np.sin(2 * np.pi * fm * t + ph)
                for sb in (-1, 1):
                    x += 0.3 * g * np.sin(2 * np.pi * (fm + sb * speed) * t + rng.uniform(0, 6.3))
                if 2 * fm < 0.45 * fs:
                    x += 0.3 * g * np.sin(2 * np.pi * 2 * fm * t + rng.uniform(0, 6.3))
        if self.flow is not None:
            fc, width, lvl = self.flow
            band = sps.sosfilt(sps.butter(2, [fc, min(fc * (1 + width), 0.45 * fs)], "bandpass", fs=fs, output="sos"),
                               rng.normal(0, 1, m))
            x += lvl * (1 + 0.1 * drift) * band / (np.std(band) + 1e-12)
        # structural excitation: rolling noise (modulated at 1x and 2x), bearing impulses, rattle, ticks
        mod = 1 + self.am[0] * np.cos(2 * np.pi * speed * t + rng.uniform(0, 6.3)) \
            + self.am[1] * np.cos(4 * np.pi * speed * t + rng.uniform(0, 6.3))
        exc = rng.normal(0, 1, m) * self.noise * (1 + 0.1 * drift) * mod
        if self.ticks is not None:
            rate_hz, amp = self.ticks
            k = rng.poisson(rate_hz * m / fs)
            if k:
                idx = rng.integers(0, m, k)
                np.add.at(exc, idx, self.noise * amp * np.exp(rng.normal(0, 0.5, k)) * rng.choice([-1, 1], k))
        if condition in BEARING_FAULTS and s > 0:
            exc += self._defect_train(rng, t, speed, condition, s, load)
            exc += rng.normal(0, 1, m) * self.noise * 1.5 * max(0.0, s - 0.6)  # a spalled surface is rough
        if condition == "looseness" and s > 0:
            exc += self._impacts(rng, t, 1.0 / speed, 0.02, self.noise * (3 + 10 * s), mod=None)
        x += self._ring(exc)
        if condition in BEARING_FAULTS and s > 0.7:
            x += self.a1 * (s - 0.7) * 3 * np.sin(2 * np.pi * speed * t + rng.uniform(0, 6.3))
        # sensor
        if self.mount is not None:
            f0, q = self.mount
            b, a = sps.iirpeak(f0, q, fs=fs)
            x = x + 0.7 * sps.lfilter(b, a, x)
        x = x * self.gain + rng.normal(0, self.sensor_noise, m)
        x = sps.sosfilt(self._sos_sensor, x) + self.dc
        return x[warm:].astype(np.float32)

    def _ring(self, exc: np.ndarray) -> np.ndarray:
        """Excitation through the structural resonances: 2-pole resonators in parallel, each with zeros at
        DC and Nyquist (a structure's acceleration answers a slow force with nothing: below a resonance it
        moves as a spring), so bearing impacts and rolling noise add no low-frequency lines."""
        fs = self.rate
        y = np.zeros_like(exc)
        for f0, z, g in zip(self.modes, self.zeta, self.mode_gain):
            w = 2 * np.pi * f0 / fs
            r = np.exp(-z * w)
            a = [1.0, -2 * r * np.cos(w * np.sqrt(1 - z * z)), r * r]
            b = [g * (1 - r) * 2.0, 0.0, -g * (1 - r) * 2.0]
            y += sps.lfilter(b, a, exc)
        return y

    def _impacts(self, rng, t, period, jitter, amp, mod) -> np.ndarray:
        """An impulse every `period` s (jittered by `jitter` of a period), amplitude amp * mod(t)."""
        fs = self.rate
        m = len(t)
        out = np.zeros(m)
        start = t[0] + rng.uniform(0, period)
        k = int((t[-1] - start) / period) + 1
        times = start + period * (np.arange(k) + rng.normal(0, jitter, k))
        times = times[(times >= t[0]) & (times < t[-1])]
        idx = (times - t[0]) * fs
        i0 = np.floor(idx).astype(int)
        frac = idx - i0
        a = amp * np.exp(rng.normal(0, 0.15, len(times)))
        if mod is not None:
            a = a * mod(times)
        np.add.at(out, i0, a * (1 - frac))
        np.add.at(out, np.minimum(i0 + 1, m - 1), a * frac)
        return out

    def _defect_train(self, rng, t, speed, kind, s, load) -> np.ndarray:
        o = self.orders
        fr = speed * (1 + self.defect_slip)
        amp = self.noise * self.defect_gain * 10 ** (-0.5 + 2.3 * s) * (0.6 + 0.4 * load) * 4.0
        jitter = rng.uniform(0.005, 0.02)
        if kind == "outer_race":
            return self._impacts(rng, t, 1 / (o["bpfo"] * fr), jitter, amp, None)
        if kind == "inner_race":
            ph = rng.uniform(0, 2 * np.pi)
            zone = lambda tt: 0.1 + np.clip(np.cos(2 * np.pi * speed * tt + ph), 0, None) ** 1.5  # noqa: E731
            return self._impacts(rng, t, 1 / (o["bpfi"] * fr), jitter, amp * 1.3, zone)
        ph = rng.uniform(0, 2 * np.pi)
        cage = lambda tt: 0.15 + np.clip(np.cos(2 * np.pi * o["ftf"] * speed * tt + ph), 0, None) ** 1.5  # noqa: E731
        train = self._impacts(rng, t, 1 / (2 * o["bsf"] * fr), jitter * 1.5, amp * 0.8, cage)
        return train * np.exp(rng.normal(0, 0.5, len(t)) * (train != 0))  # a spinning ball hits unevenly


def _captures(mach: Machine, rng, k: int, n: int, condition: str, sev_range, drift_walk=None):
    """k captures back to back, and each one's severity."""
    out = np.empty((k, n), np.float32)
    sevs = np.zeros(k)
    for i in range(k):
        sevs[i] = rng.uniform(*sev_range) if condition != "normal" else 0.0
        drift = drift_walk[i] if drift_walk is not None else rng.uniform(-1, 1)
        out[i] = mach.capture(rng, n, condition, sevs[i], load=rng.uniform(0.4, 1.2), drift=drift)
    return out.reshape(-1), sevs


def _walk(rng, k: int) -> np.ndarray:
    """A slow drift over k captures, about -1..1 (weeks of temperature and load)."""
    w = np.cumsum(rng.normal(0, 1, k))
    w = sps.lfilter([0.05], [1, -0.95], w - w.mean())
    return np.clip(w / (np.abs(w).max() + 1e-9), -1, 1)


def generate(*, rate: float, channels, seed: int, progress: bool = False, machines: int = 40, captures: int = 12,
             baseline_captures: int = 250, history_fraction: float = 0.3, history_captures: int = 300,
             capture_s: float = 0.25, severity: tuple = (0.3, 1.0), first_machine: int = 0) -> list[Recording]:
    if len(channels) != 1:
        raise ValueError("synthetic-vibration simulates one accelerometer axis")
    n = int(round(capture_s * rate))
    recs: list[Recording] = []
    it = range(first_machine, first_machine + machines)
    if progress:
        from tqdm import tqdm

        it = tqdm(it, desc="machines", unit="machine")
    for mi in it:
        rng = np.random.default_rng([seed, mi])
        mach = Machine(rng, rate)
        subject = f"sim-m{mi:03d}"
        dep = {"machine": mach.config()}
        common = dict(rate=float(rate), channels=tuple(channels), subject=subject, deployment=dep)
        for cond in LABELS:
            x, sev = _captures(mach, rng, captures, n, cond, severity)
            # a fault is there from the first capture: an event to find (normal: none)
            truth = [] if cond == "normal" else [(0.0, cond)]
            recs.append(Recording(signal=x[:, None], label=cond, activity="captures", events=truth,
                                  source=f"synthetic-vibration:{subject}:{cond}", truth={"severity": sev.tolist()},
                                  **common))
        if baseline_captures:
            x, _ = _captures(mach, rng, baseline_captures, n, "normal", (0, 0), _walk(rng, baseline_captures))
            recs.append(Recording(signal=x[:, None], label="normal", activity="baseline",
                                  source=f"synthetic-vibration:{subject}:baseline", **common))
        if history_captures and rng.random() < history_fraction:
            recs.append(history(mach, rng, history_captures, n, rate, channels, subject, dep))
    return recs


def history(mach: Machine, rng, k: int, n: int, rate, channels, subject, dep, kind: str | None = None,
            onset: float | None = None) -> Recording:
    """k captures from installation to failure: healthy, then a bearing defect from `onset` (fraction of k,
    default 0.5-0.75) that grows exponentially to severity 1 at the last capture."""
    kind = kind or str(rng.choice(BEARING_FAULTS, p=[0.5, 0.25, 0.25]))
    c0 = int((onset if onset is not None else rng.uniform(0.5, 0.75)) * k)
    walk = _walk(rng, k)
    out = np.empty((k, n), np.float32)
    sev = np.zeros(k)
    growth = np.log(1.0 / 0.02)
    for i in range(k):
        if i < c0:
            out[i] = mach.capture(rng, n, "normal", 0.0, load=rng.uniform(0.4, 1.2), drift=walk[i])
        else:
            sev[i] = min(0.02 * np.exp(growth * (i - c0 + 1) / (k - c0)), 1.0)
            out[i] = mach.capture(rng, n, kind, float(sev[i]), load=rng.uniform(0.4, 1.2), drift=walk[i])
    return Recording(signal=out.reshape(-1, 1), rate=float(rate), channels=tuple(channels), subject=subject,
                     label=kind, activity="history", events=[(c0 * n / rate, kind)], truth={"severity": sev.tolist()},
                     source=f"synthetic-vibration:{subject}:history", deployment=dep)


def scene(*, rate: float, channels, seed: int, machine: int = 900, calibration: int = 32, healthy: int = 16,
          degrading: int = 24, kind: str = "outer_race", capture_s: float = 0.25,
          config: dict | None = None) -> tuple[Recording, dict]:
    """The demo: an unseen machine installed healthy (`calibration` captures), weeks of healthy running, then
    a bearing defect that grows over `degrading` captures. Returns the recording (ground truth: the first
    capture with the defect) and the machine's [machine] values. config: the machine's nominal speed and
    defect orders ({shaft_hz, bpfo, bpfi, bsf, ftf}: an app's default [machine]); the rest is drawn."""
    rng = np.random.default_rng([seed, machine])
    mach = Machine(rng, rate)
    if config:
        mach.nominal_hz = float(config["shaft_hz"])
        mach.orders = {k: float(config[k]) for k in ("bpfo", "bpfi", "bsf", "ftf")}
    n = int(round(capture_s * rate))
    k = calibration + healthy + degrading
    rec = history(mach, rng, k, n, rate, channels, f"sim-m{machine:03d}", {"machine": mach.config()}, kind=kind,
                  onset=(calibration + healthy) / k)
    rec.activity = (f"{k} captures of an unseen simulated machine ({mach.nominal_hz * 60:.0f} rpm nominal): "
                    f"{calibration} to calibrate, {healthy} healthy, then a growing {kind.replace('_', ' ')} defect")
    return rec, mach.config()
