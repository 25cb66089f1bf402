"""SYNTHETIC fall / daily-activity accelerometer data, generated from the biomechanics (no real recordings).

A waist-worn 3-axis accelerometer (+-16 g) is simulated for a population of subjects. Each subject has
their own body, gait, habits, device mounting and sensor errors; each trial varies again around them.
Everything is built as the physics dictates and then measured by a simulated sensor:

    specific force  f = a_lin + g_up          (the accelerometer reads +1 g upwards at rest)
    body frame      f_b = R(trunk pitch, roll)^T f  (+ body-fixed motion such as breathing)
    device frame    f_d = M^T f_b              (mounting: belt position, tilt, sometimes upside down)
    sensor          bias, scale, cross-axis, anti-alias low-pass, clock drift and jitter, noise,
                    13-bit quantisation (3.9 mg), clipping at +-16 g

Impacts conserve momentum: the velocity gained in a descent (integral of the dip below 1 g) is removed
by a half-sine contact pulse, so peak = pi * v / (2 * T_contact) and soft surfaces give long, low pulses.

Activities use SisFall codes (D01-D19, F01-F15, see ACTIVITIES) plus four extra hard negatives
(D20 riding in a vehicle, D21 vigorous jumping, D22 jumping down from a step, D23 flopping onto a
bed/sofa) and long continuous daily-life streams (activity "stream") for false alarms per hour.

Entry point: generate(*, rate, channels, seed, progress, **options) -> list[Recording].
Imported by file path (not as a package): only absolute imports of numpy/scipy/tinyml.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import signal as sps

from tinyml.data import dataset_module
from tinyml.data.parallel import run_forked
from tinyml.errors import TinymlError
from tinyml.recording import Recording

G0 = 9.80665
NATIVE_RATE = 200.0
DEG = math.pi / 180.0

# SisFall's own activity table (the real-format loader's), plus four extra hard negatives of ours.
_SISFALL = dataset_module("sisfall").ACTIVITIES
EXTRA_ADL = {
    "D20": "riding in a vehicle (extra: road vibration, bumps, braking, turns)",
    "D21": "vigorous jumping in place (extra: flight ~0 g, landing 3-6 g)",
    "D22": "jumping down from a step or chair (extra: free fall then landing, walk away)",
    "D23": "flopping onto a bed or sofa (extra: descent, soft impact, lying)",
}
ACTIVITIES = {
    **{c: d for c, d in _SISFALL.items() if c.startswith("D")},
    **EXTRA_ADL,
    **{c: d for c, d in _SISFALL.items() if c.startswith("F")},
}
ADL_CODES = [c for c in ACTIVITIES if c.startswith("D")]
FALL_CODES = [c for c in ACTIVITIES if c.startswith("F")]
SISFALL_ADL_CODES = [f"D{i:02d}" for i in range(1, 20)]
SYNCOPE_CODES = ("F06", "F07", "F13")  # slow, low-impact (~1.5-2.5 g) falls

# Nominal mounting (SisFall-like belt device): device x = body right, y = body down, z = body forward.
# Columns are the device axes expressed in the body frame (x forward, y left, z up along the trunk).
M_NOMINAL = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def generate(
    *,
    rate: float,
    channels,
    seed: int = 0,
    progress: bool = False,
    subjects: int = 24,
    trials_per_activity: int = 3,
    stream_hours: float = 12.0,
    stream_minutes: tuple[float, float] = (20.0, 40.0),
    activities: list[str] | None = None,
    long_adl_s: float = 60.0,
    post_fall_s: tuple[float, float] = (6.0, 30.0),
    get_up_prob: float = 0.35,
    elderly_fraction: float = 0.4,
    orientation: str = "random",
    range_g: float = 16.0,
    native_rate: float = NATIVE_RATE,
    workers: int = 2,
) -> list[Recording]:
    """Generate trials (every activity, `trials_per_activity` times per subject) and daily-life streams.

    rate: output rate; the signal is simulated at `native_rate` (200 Hz, like SisFall) and then sampled by
      the simulated sensor at `rate` (anti-alias low-pass, clock drift, jitter), so no core resampling is needed.
    subjects: simulated people "syn-S01"...; each one is the split key.
    stream_hours: total hours of continuous daily life, shared evenly over subjects and cut into streams
      of about `stream_minutes`; 0 for none.
    activities: restrict trials to these codes (default: all D01-D23 and F01-F15).
    orientation: "random" (belt position all round the waist, tilt, sometimes upside down or rotated),
      or "sisfall" (close to the nominal SisFall mounting; y down).
    workers: processes over subjects (fork); 1 runs in-process.
    """
    ch = tuple(channels)
    if len(ch) != 3:
        raise TinymlError(f"synthetic-falls: expects 3 accelerometer channels (x, y, z), got {list(ch)}")
    if orientation not in ("random", "sisfall"):
        raise TinymlError(f"synthetic-falls: orientation must be 'random' or 'sisfall', got {orientation!r}")
    if subjects < 1 or trials_per_activity < 0 or stream_hours < 0:
        raise TinymlError("synthetic-falls: subjects >= 1, trials_per_activity >= 0 and stream_hours >= 0 required")
    codes = list(activities) if activities else ADL_CODES + FALL_CODES
    unknown = [c for c in codes if c not in ACTIVITIES]
    if unknown:
        raise TinymlError(f"synthetic-falls: unknown activity code(s) {unknown}; known: {', '.join(ACTIVITIES)}")
    cfg = dict(
        rate=float(rate),
        channels=ch,
        seed=int(seed),
        trials=int(trials_per_activity),
        codes=codes,
        stream_s=float(stream_hours) * 3600.0 / subjects,
        stream_minutes=tuple(float(x) for x in stream_minutes),
        long_adl_s=float(long_adl_s),
        post_fall_s=tuple(float(x) for x in post_fall_s),
        get_up_prob=float(get_up_prob),
        elderly_fraction=float(elderly_fraction),
        orientation=orientation,
        range_g=float(range_g),
        fs=max(float(native_rate), float(rate)),
    )
    jobs = [(i, cfg) for i in range(subjects)]
    out = run_forked(_subject_job, jobs, workers=workers, name="synthetic-falls", unit="subject", progress=progress)
    return [r for _, recs in out for r in recs]


def scene(*, rate, channels, seed: int = 0, subject: int = 0, fall_code: str = "F01",
          walk_s: float = 10.0, sit_s: float = 8.0, lie_s: float = 15.0, **options) -> Recording:
    """One continuous demo recording of a simulated subject: standing, walking, sitting down, sitting,
    standing up, walking into a fall (`fall_code`), then lying still. events = [(impact time, "fall")].
    Options are generate()'s (orientation, range_g, ...)."""
    if fall_code not in FALL_CODES:
        raise TinymlError(f"synthetic-falls: fall_code must be one of {', '.join(FALL_CODES)}, got {fall_code!r}")
    defaults = dict(elderly_fraction=0.4, orientation="random", range_g=16.0, post_fall_s=(6.0, 30.0),
                    get_up_prob=0.0, long_adl_s=60.0)
    defaults.update(options)
    cfg = dict(rate=float(rate), channels=tuple(channels), seed=int(seed), trials=1, codes=[fall_code],
               stream_s=0.0, stream_minutes=(20.0, 40.0), fs=max(NATIVE_RATE, float(rate)), **defaults)
    ss = np.random.SeedSequence([cfg["seed"], 10_000 + subject])
    s_params, s_scene = ss.spawn(2)
    subj = make_subject(np.random.default_rng(s_params), subject, cfg)
    rng = np.random.default_rng(s_scene)
    b = Builder(subj, rng, cfg["fs"])
    b.hold(2.0, "stand")
    b.gait(walk_s, "walk")
    b.hold(1.0, "stand")
    sit_down(b, "slow")
    b.hold(sit_s, "sit")
    stand_up(b)
    b.hold(1.5, "stand")
    fall(b, fall_code, cfg)
    b.hold(lie_s, "lie_still")
    rec = _measure(b, subj, rng, cfg, fall_code, "scene")
    rec.activity = f"scene: stand, walk, sit, stand up, walk, fall {fall_code}, lie still"
    rec.source = f"synthetic-falls scene {subj.id}"
    return rec


def _subject_job(job) -> tuple[int, list[Recording]]:
    idx, cfg = job
    ss = np.random.SeedSequence([cfg["seed"], idx])
    s_params, s_trials, s_streams = ss.spawn(3)
    subj = make_subject(np.random.default_rng(s_params), idx, cfg)
    recs: list[Recording] = []
    rng = np.random.default_rng(s_trials)
    for code in cfg["codes"]:
        for k in range(cfg["trials"]):
            b = Builder(subj, rng, cfg["fs"])
            ACTIVITY_FN[code](b, cfg)
            recs.append(_measure(b, subj, rng, cfg, code, f"r{k + 1:02d}"))
    if cfg["stream_s"] > 0:
        rng = np.random.default_rng(s_streams)
        lo, hi = cfg["stream_minutes"]
        total = cfg["stream_s"]
        n_streams = max(1, math.ceil(total / (hi * 60.0))) if total > lo * 60 else 1
        for k in range(n_streams):
            dur = total / n_streams
            b = Builder(subj, rng, cfg["fs"])
            daily_life(b, dur * 1.01 + 2.0)  # a little spare for the device clock error
            recs.append(_measure(b, subj, rng, cfg, "stream", f"s{k + 1:02d}", exact_s=dur))
    return idx, recs


# --------------------------------------------------------------------------------------------
# Subjects
# --------------------------------------------------------------------------------------------


@dataclass
class Subject:
    id: str
    elderly: bool
    height: float  # m
    mass: float  # kg
    cadence: float  # steps/s, comfortable walking
    step_cv: float  # step-time coefficient of variation
    amp_cv: float  # step-to-step amplitude variation
    vert: np.ndarray  # vertical harmonic amplitudes (g) at 1x..4x step frequency
    vert_ph: np.ndarray
    ap: np.ndarray  # antero-posterior harmonics
    ap_ph: np.ndarray
    ml: np.ndarray  # medio-lateral at stride frequency (odd harmonics 1, 3)
    ml_ph: np.ndarray
    heel: float  # heel-strike transient (g)
    heel_f: float  # soft-tissue / device resonance (Hz)
    asym: float  # left/right step asymmetry
    walk_lean: float  # rad, forward lean when walking
    stand_lean: float
    sit_lean: float  # rad (negative: reclined)
    sway: float  # postural sway (rad)
    fidget: float  # fidgeting rate multiplier
    speed: float  # transitions speed multiplier (elderly slower)
    breath_f: float
    breath_a: float
    mount: np.ndarray  # 3x3, device axes in body frame
    bias: np.ndarray  # g
    scale: np.ndarray  # 3x3 (scale + cross-axis)
    noise: float  # g rms
    drift: float  # relative clock error
    jitter: float  # sample-time jitter, fraction of a period
    lsb: float  # g per count


def make_subject(rng: np.random.Generator, idx: int, cfg: dict) -> Subject:
    elderly = rng.random() < cfg["elderly_fraction"]
    height = rng.normal(1.64 if elderly else 1.71, 0.09)
    bmi = rng.uniform(19, 33)
    cadence = rng.uniform(1.6, 1.95) if elderly else rng.uniform(1.75, 2.2)
    base = rng.uniform(0.15, 0.32) * (0.8 if elderly else 1.0)
    vert = base * np.array([1.0, rng.uniform(0.3, 0.7), rng.uniform(0.1, 0.35), rng.uniform(0.03, 0.15)])
    ap = rng.uniform(0.08, 0.22) * np.array([1.0, rng.uniform(0.3, 0.8), rng.uniform(0.1, 0.4), rng.uniform(0.0, 0.15)])
    ml = rng.uniform(0.05, 0.15) * np.array([1.0, rng.uniform(0.1, 0.5)])
    return Subject(
        id=f"syn-S{idx + 1:02d}",
        elderly=bool(elderly),
        height=float(height),
        mass=float(bmi * height**2),
        cadence=float(cadence),
        step_cv=float(rng.uniform(0.015, 0.04) * (1.5 if elderly else 1.0)),
        amp_cv=float(rng.uniform(0.05, 0.15)),
        vert=vert,
        vert_ph=rng.uniform(-np.pi, np.pi, 4),
        ap=ap,
        ap_ph=rng.uniform(-np.pi, np.pi, 4),
        ml=ml,
        ml_ph=rng.uniform(-np.pi, np.pi, 2),
        heel=float(rng.uniform(0.1, 0.5) * (0.7 if elderly else 1.0)),
        heel_f=float(rng.uniform(12, 30)),
        asym=float(rng.uniform(0.0, 0.15)),
        walk_lean=float(rng.uniform(0, 10) * DEG),
        stand_lean=float(rng.normal(2.0, 3.0) * DEG),
        sit_lean=float(rng.uniform(-25, 12) * DEG),
        sway=float(rng.uniform(0.3, 1.5) * DEG * (1.5 if elderly else 1.0)),
        fidget=float(rng.uniform(0.5, 2.0)),
        speed=float(rng.uniform(0.6, 0.9) if elderly else rng.uniform(0.85, 1.2)),
        breath_f=float(rng.uniform(0.18, 0.35)),
        breath_a=float(rng.uniform(0.002, 0.012)),
        mount=_mounting(rng, cfg["orientation"]),
        bias=rng.uniform(-0.05, 0.05, 3),
        scale=np.eye(3) * rng.uniform(0.98, 1.02, 3) + (1 - np.eye(3)) * rng.uniform(-0.01, 0.01, (3, 3)),
        noise=float(rng.uniform(0.01, 0.03)),
        drift=float(rng.uniform(-0.005, 0.005)),
        jitter=float(rng.uniform(0.0, 0.05)),
        lsb=1.0 / 256.0,
    )


def _rot(axis: int, a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    if axis == 0:
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    if axis == 1:
        return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def _mounting(rng: np.random.Generator, mode: str) -> np.ndarray:
    """Device axes in the body frame: nominal belt clip, then where on the belt and how it sits."""
    if mode == "sisfall":
        yaw = rng.normal(0, 10) * DEG
        tilt = rng.normal(0, 6, 2) * DEG
        dev = np.eye(3)
    else:
        u = rng.random()
        if u < 0.5:
            yaw = rng.normal(0, 20)  # front
        elif u < 0.9:
            yaw = rng.choice([-1, 1]) * rng.uniform(60, 120)  # hip / side
        else:
            yaw = 180 + rng.normal(0, 20)  # back
        yaw *= DEG
        tilt = rng.normal(0, 10, 2) * DEG  # belly / hip curvature
        v = rng.random()
        if v < 0.15:
            dev = _rot(2, math.pi)  # clipped upside down (x and y flipped)
        elif v < 0.25:
            dev = _rot(2, rng.choice([-1, 1]) * math.pi / 2)  # rotated a quarter turn in the belt plane
        else:
            dev = np.eye(3)
        dev = dev @ _rot(2, rng.normal(0, 8) * DEG)  # not quite straight in its clip
    body = _rot(2, yaw) @ _rot(1, tilt[0]) @ _rot(0, tilt[1])
    return body @ M_NOMINAL @ dev


# --------------------------------------------------------------------------------------------
# The builder: trunk orientation + linear acceleration, segment by segment
# --------------------------------------------------------------------------------------------


def _tilt(th0: float, ph0: float, th1: float, ph1: float) -> float:
    """Angle (rad) between the trunk's gravity directions in two postures."""
    g0 = np.array([-math.sin(th0), math.sin(ph0) * math.cos(th0), math.cos(ph0) * math.cos(th0)])
    g1 = np.array([-math.sin(th1), math.sin(ph1) * math.cos(th1), math.cos(ph1) * math.cos(th1)])
    return math.acos(float(np.clip(g0 @ g1, -1.0, 1.0)))


def _mj(n: int) -> np.ndarray:
    """Minimum-jerk position profile 0 -> 1 over n samples."""
    t = np.linspace(0.0, 1.0, max(n, 2))[:n]
    return 10 * t**3 - 15 * t**4 + 6 * t**5


def _mj_acc(n: int, disp_m: float, dur: float) -> np.ndarray:
    """Acceleration (g) of a minimum-jerk displacement of disp_m metres (+ up) over dur seconds."""
    t = np.linspace(0.0, 1.0, max(n, 2))[:n]
    return disp_m * (60 * t - 180 * t**2 + 120 * t**3) / (dur**2) / G0


def _damped(n: int, fs: float, f: float, tau: float, phase: float = 0.0) -> np.ndarray:
    t = np.arange(n) / fs
    return np.exp(-t / tau) * np.sin(2 * np.pi * f * t + phase)


class Builder:
    """Accumulates a recording: per sample trunk pitch/roll (rad), linear acceleration in the heading frame
    (forward, left, up; in g) and body-fixed acceleration (g). Tracks the current posture between segments."""

    def __init__(self, subj: Subject, rng: np.random.Generator, fs: float):
        self.s = subj
        self.rng = rng
        self.fs = fs
        self.acc: list[np.ndarray] = []
        self.accb: list[np.ndarray] = []
        self.pitch: list[np.ndarray] = []
        self.roll: list[np.ndarray] = []
        self.n = 0
        self.th = subj.stand_lean
        self.ph = 0.0
        self.posture = "stand"
        self.impacts: list[int] = []  # sample index of each fall impact

    # -- bookkeeping --------------------------------------------------------------------------
    def N(self, seconds: float) -> int:
        return max(1, int(round(seconds * self.fs)))

    def push(self, acc: np.ndarray, th: np.ndarray, ph: np.ndarray, accb: np.ndarray | None = None) -> int:
        start = self.n
        n = len(th)
        self.acc.append(acc)
        self.accb.append(np.zeros((n, 3)) if accb is None else accb)
        self.pitch.append(th)
        self.roll.append(ph)
        self.n += n
        self.th, self.ph = float(th[-1]), float(ph[-1])
        return start

    def arrays(self):
        return (np.concatenate(self.acc), np.concatenate(self.accb), np.concatenate(self.pitch), np.concatenate(self.roll))

    def u(self, lo: float, hi: float) -> float:
        return float(self.rng.uniform(lo, hi))

    def lowpass_noise(self, n: int, cutoff: float, sigma: float, dims: int = 1) -> np.ndarray:
        """Gaussian noise low-passed at `cutoff` Hz, scaled to rms `sigma`."""
        x = self.rng.normal(0, 1, (n + int(self.fs), dims))
        sos = sps.butter(2, min(cutoff / (self.fs / 2), 0.99), output="sos")
        y = sps.sosfilt(sos, x, axis=0)[int(self.fs) :]
        y /= max(float(np.std(y)), 1e-9)
        return sigma * y

    def bandnoise(self, n: int, lo: float, hi: float, sigma: float, dims: int = 1) -> np.ndarray:
        x = self.rng.normal(0, 1, (n + int(self.fs), dims))
        sos = sps.butter(2, [lo / (self.fs / 2), min(hi / (self.fs / 2), 0.99)], btype="band", output="sos")
        y = sps.sosfilt(sos, x, axis=0)[int(self.fs) :]
        y /= max(float(np.std(y)), 1e-9)
        return sigma * y

    # -- postures -----------------------------------------------------------------------------
    def lying_posture(self, kind: str) -> tuple[float, float]:
        r = self.rng
        if kind == "supine":
            return -r.uniform(75, 95) * DEG, r.normal(0, 8) * DEG
        if kind == "prone":
            return r.uniform(75, 95) * DEG, r.normal(0, 8) * DEG
        side = 1 if kind == "right" else -1 if kind == "left" else r.choice([-1, 1])
        return r.normal(0, 10) * DEG, side * r.uniform(65, 95) * DEG

    def sit_posture(self) -> tuple[float, float]:
        return self.s.sit_lean + self.rng.normal(0, 5) * DEG, self.rng.normal(0, 4) * DEG

    def stand_posture(self) -> tuple[float, float]:
        return self.s.stand_lean + self.rng.normal(0, 2) * DEG, self.rng.normal(0, 2) * DEG

    # -- primitives ---------------------------------------------------------------------------
    def hold(self, dur: float, mode: str = "stand") -> None:
        """Stay in the current posture: sway, breathing, fidgets and posture shifts.
        mode: stand, sit, desk, lie, lie_still (after a fall), car_idle."""
        n = self.N(dur)
        s = self.s
        sway = {"stand": 1.0, "sit": 0.35, "desk": 0.4, "lie": 0.2, "lie_still": 0.1, "car_idle": 0.3}[mode]
        rate_min = {"stand": 3, "sit": 2, "desk": 6, "lie": 0.8, "lie_still": 0.5, "car_idle": 1.5}[mode] * s.fidget
        th = self.th + self.lowpass_noise(n, 0.5, s.sway * sway)[:, 0]
        ph = self.ph + self.lowpass_noise(n, 0.5, s.sway * sway * 0.7)[:, 0]
        acc = self.lowpass_noise(n, 3.0, 0.004 + 0.01 * sway, 3)
        accb = np.zeros((n, 3))
        t = np.arange(n) / self.fs
        breath = s.breath_a * (2.0 if mode.startswith("lie") else 1.0) * self.u(0.7, 1.3)
        accb[:, 0] += breath * np.sin(2 * np.pi * s.breath_f * self.u(0.85, 1.15) * t + self.u(0, 6.3))
        if mode == "desk":  # typing / reaching: small broadband trunk movement
            accb += self.bandnoise(n, 1.0, 6.0, self.u(0.005, 0.02), 3)
        if mode == "car_idle":  # engine running
            accb[:, 2] += self.bandnoise(n, 20, 35, self.u(0.003, 0.01))[:, 0]
        # Fidgets: a short movement (0.2-0.8 s) and a lasting small posture shift.
        k = self.rng.poisson(rate_min * dur / 60.0)
        dth = np.zeros(n)
        dph = np.zeros(n)
        for _ in range(k):
            i0 = int(self.rng.integers(0, n))
            m = self.N(self.u(0.2, 0.8))
            m = min(m, n - i0)
            if m < 4:
                continue
            amp = self.u(0.02, 0.12) * (0.4 if mode == "lie_still" else 1.0)
            shape = np.sin(np.linspace(0, 2 * np.pi, m)) * amp
            acc[i0 : i0 + m] += shape[:, None] * self.rng.normal(0, 1, 3) / 1.7
            shift = self.rng.normal(0, 3.0 if mode != "lie_still" else 1.0, 2) * DEG
            ramp = np.concatenate([_mj(m), np.ones(n - i0 - m)])
            dth[i0:] += shift[0] * ramp
            dph[i0:] += shift[1] * ramp
        # Shifts drift back towards the base posture (people do not wander off without limit).
        if k:
            pull = np.exp(-np.arange(n) / self.fs / 60.0)
            dth *= pull
            dph *= pull
        self.push(acc, th + dth, ph + dph, accb)

    def move(self, th1: float, ph1: float, dur: float, rise_m: float = 0.0, shape: np.ndarray | None = None,
             a_max: float = 0.45) -> None:
        """Smooth posture change to (th1, ph1) over dur s, the waist rising rise_m metres (negative: lowering).
        Voluntary movements stay under a_max g at the waist: too short a duration is stretched."""
        if rise_m:
            dur = max(dur, math.sqrt(5.774 * abs(rise_m) / (a_max * G0)))
        n = self.N(dur)
        w = _mj(n) if shape is None else shape
        th = self.th + (th1 - self.th) * w
        ph = self.ph + (ph1 - self.ph) * w
        acc = np.zeros((n, 3))
        if rise_m:
            acc[:, 2] = _mj_acc(n, rise_m, dur)
            acc[:, 0] = _mj_acc(n, abs(rise_m) * 0.3 * self.u(-1, 1), dur)  # hips move fore/aft
        acc += self.lowpass_noise(n, 4.0, self.u(0.005, 0.03), 3)
        self.push(acc, th, ph)

    def impact_pulse(self, n_tot: int, i0: int, p: float, T: float, horiz: np.ndarray, ring: float) -> np.ndarray:
        """Half-sine contact pulse of linear peak p (g) and duration T, plus damped ringing; (n_tot, 3)."""
        out = np.zeros((n_tot, 3))
        m = max(2, self.N(T))
        m = min(m, n_tot - i0)
        pulse = p * np.sin(np.pi * (np.arange(m) + 0.5) / m)
        out[i0 : i0 + m, 2] += pulse
        out[i0 : i0 + m, 0] += pulse * horiz[0]
        out[i0 : i0 + m, 1] += pulse * horiz[1]
        j = i0 + m // 2
        r = n_tot - j
        if r > 2 and ring > 0:
            d = _damped(r, self.fs, self.u(6, 22), self.u(0.025, 0.08), self.u(0, 6.3))
            dirv = np.array([self.rng.normal(0, 0.4), self.rng.normal(0, 0.4), 1.0])
            out[j:] += (ring * p * d)[:, None] * dirv
        return out

    def drop(
        self,
        *,
        t_drop: float,
        depth: float,
        peak: float,
        final: tuple[float, float],
        direction: tuple[float, float] = (0.0, 0.0),
        h_descent: float = 0.1,
        h_impact: float = 0.3,
        rot_at_impact: float = 0.85,
        settle: float = 0.5,
        ring: float = 0.2,
        pre_impact: float = 0.0,
        rebound: float = 0.0,
        onset_ap: float = 0.0,
        mid_step: float = 0.0,
        is_fall: bool = False,
    ) -> int:
        """A descent (|a| dips by `depth` g for `t_drop` s), an impact of about `peak` g total, the trunk
        rotating to `final` (pitch, roll); momentum is conserved: the contact time follows from v and peak.
        Returns the sample index of the impact peak."""
        fs = self.fs
        nd = self.N(t_drop)
        dxy = np.asarray(direction, float)
        # descent: raised-cosine onset over ~30 %, then a plateau (free-fall-like)
        ramp = max(2, int(0.3 * nd))
        w = np.ones(nd)
        w[:ramp] = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, ramp))
        w *= 1 + self.rng.normal(0, 0.05, nd).cumsum() / np.sqrt(nd) * 0.5  # not a perfect plateau
        v_gs = depth * float(w.sum()) / fs  # velocity at impact, in g*s
        h = h_impact
        # linear vertical peak p so that |(h p, 1 + p)| == peak
        p = (-1 + math.sqrt(max(1 - (1 + h * h) * (1 - peak * peak), 0.0))) / (1 + h * h)
        p = max(p, 0.05)
        T = float(np.clip(np.pi * v_gs / (2 * p), 0.02, 0.4))
        n_imp = max(2, self.N(T))
        n_post = self.N(max(settle, T) + 0.3)
        n = nd + n_imp + n_post
        acc = np.zeros((n, 3))
        acc[:nd, 2] = -depth * w
        acc[:nd, 0] = h_descent * dxy[0] * w
        acc[:nd, 1] = h_descent * dxy[1] * w
        horiz = -h * dxy / max(np.linalg.norm(dxy), 1e-9) if np.any(dxy) else np.zeros(2)
        acc += self.impact_pulse(n, nd, p, T, horiz, ring)
        if pre_impact > 0:  # hands / knees touch first
            m = self.N(self.u(0.025, 0.05))
            i0 = max(0, nd - self.N(self.u(0.06, 0.16)))
            q = pre_impact * np.sin(np.pi * (np.arange(m) + 0.5) / m)
            acc[i0 : i0 + m, 2] += q[: len(acc[i0 : i0 + m])]
        if onset_ap:  # the perturbation: a foot caught (trip, backwards jerk) or sliding out (slip)
            m = min(nd, self.N(self.u(0.06, 0.15)))
            acc[:m, 0] += onset_ap * np.sin(np.pi * (np.arange(m) + 0.5) / m)
        if mid_step > 0 and nd > 8:  # a reactive step that cannot stop the fall
            m = self.N(self.u(0.04, 0.08))
            i0 = int(nd * self.u(0.3, 0.6))
            q = mid_step * np.sin(np.pi * (np.arange(m) + 0.5) / m)
            acc[i0 : i0 + m, 2] += q[: len(acc[i0 : i0 + m])]
        if rebound > 0:  # a bounce / second body part landing
            i1 = nd + n_imp + self.N(self.u(0.1, 0.3))
            m = self.N(self.u(0.04, 0.1))
            if i1 + m < n:
                acc[i1 : i1 + m, 2] += rebound * p * np.sin(np.pi * (np.arange(m) + 0.5) / m)
        acc += self.lowpass_noise(n, 8.0, 0.02, 3)
        # orientation: ease-in (toppling accelerates) to rot_at_impact, then settle
        th0, ph0 = self.th, self.ph
        th1, ph1 = final
        k = self.u(2.0, 4.0)
        frac = np.empty(n)
        tt = np.linspace(0, 1, nd)
        frac[:nd] = rot_at_impact * (np.exp(k * tt) - 1) / (np.exp(k) - 1)
        frac[nd : nd + n_imp] = rot_at_impact
        ns = n - nd - n_imp
        m = min(self.N(settle), ns)
        frac[nd + n_imp :] = rot_at_impact + (1 - rot_at_impact) * np.concatenate([_mj(m), np.ones(ns - m)])
        th = th0 + (th1 - th0) * frac
        ph = ph0 + (ph1 - ph0) * frac
        start = self.push(acc, th, ph)
        i_peak = start + nd + n_imp // 2
        if is_fall:
            self.impacts.append(i_peak)
        return i_peak

    def gait(self, dur: float, mode: str = "walk", speed: float = 1.0, taper: tuple[bool, bool] = (True, True)) -> None:
        """Walking / jogging / stairs with per-subject harmonics and step-to-step variability.
        mode: walk, jog, up, down."""
        s, r, fs = self.s, self.rng, self.fs
        n = self.N(dur)
        if mode == "jog":
            cad = self.u(2.45, 2.95) * (0.95 + 0.1 * (speed - 1))
        elif mode == "up":
            cad = s.cadence * self.u(0.7, 0.9) * speed
        elif mode == "down":
            cad = s.cadence * self.u(0.9, 1.1) * speed
        else:
            cad = s.cadence * speed * self.u(0.95, 1.05)
        n_steps = int(dur * cad * 1.3) + 4
        T = (1 / cad) * (1 + s.step_cv * r.normal(0, 1, n_steps))
        T = np.convolve(T, [0.3, 0.4, 0.3], "same")
        T[0] = T[1] if n_steps > 1 else T[0]
        bounds = np.concatenate([[0.0], np.cumsum(T)]) - self.u(0, 1) / cad
        t = np.arange(n) / fs
        step = np.interp(t, bounds, np.arange(len(bounds)))
        phi = 2 * np.pi * step
        idx = np.minimum(step.astype(int), n_steps - 1)
        amp = (1 + s.amp_cv * r.normal(0, 1, n_steps))[idx]
        side = np.where(idx % 2 == 0, 1 + s.asym, 1 - s.asym)
        acc = np.zeros((n, 3))
        trial = self.u(0.85, 1.15)
        if mode == "jog":
            duty = self.u(0.42, 0.6) / (0.9 + 0.1 * speed)  # contact time / step time, jogging pace
            u = step - np.floor(step)
            stance = u < duty
            floor = self.u(0.1, 0.4)  # the waist is not the centre of mass: legs and arms swing in flight
            P = (1 - floor * (1 - duty)) * np.pi / (2 * duty)  # mean specific force over a step is 1 g
            fv = np.where(stance, P * np.sin(np.pi * np.clip(u / duty, 0, 1)), floor)
            fv = sps.sosfiltfilt(sps.butter(2, self.u(8, 14) / (fs / 2), output="sos"), fv)  # soft tissue
            acc[:, 2] = (fv - 1) * amp * side
            acc[:, 0] = np.where(stance, -self.u(0.3, 0.7) * np.sin(2 * np.pi * np.clip(u / duty, 0, 1)), 0.0) * amp
            acc[:, 1] = self.u(0.1, 0.3) * np.cos(phi / 2 + s.ml_ph[0])
            acc += self.lowpass_noise(n, 10, 0.05, 3)  # arm swing, flight-phase wobble
            heel = s.heel * self.u(1.5, 3.0)
            lean = s.walk_lean + self.u(4, 12) * DEG
        else:
            g = trial * speed**1.5 * (1.25 if mode == "up" else 1.15 if mode == "down" else 1.0)
            for k in range(4):
                acc[:, 2] += g * s.vert[k] * np.cos((k + 1) * phi + s.vert_ph[k])
                acc[:, 0] += g * s.ap[k] * np.cos((k + 1) * phi + s.ap_ph[k])
            acc[:, 1] = g * (s.ml[0] * np.cos(phi / 2 + s.ml_ph[0]) + s.ml[1] * np.cos(1.5 * phi + s.ml_ph[1]))
            acc[:, 2] *= amp * side
            acc[:, 0] *= amp
            heel = s.heel * (1.8 if mode == "down" else 1.0) * speed
            lean = s.walk_lean + (self.u(5, 15) * DEG if mode == "up" else 0.0)
        # heel strikes: impulse train through the soft-tissue/device resonance
        imp = np.zeros(n)
        hs = np.searchsorted(t, bounds[(bounds >= 0) & (bounds < dur)])
        hs = hs[hs < n]
        imp[hs] = heel * (1 + 0.25 * r.normal(0, 1, len(hs)))
        wr = 2 * np.pi * s.heel_f / fs
        zeta = 0.25
        a1 = -2 * math.exp(-zeta * wr) * math.cos(wr * math.sqrt(1 - zeta**2))
        a2 = math.exp(-2 * zeta * wr)
        hsig = sps.lfilter([1 - math.exp(-zeta * wr)], [1, a1, a2], imp)
        hsig *= heel / max(float(np.max(np.abs(hsig))), 1e-9) if len(hs) else 0
        acc[:, 2] += hsig
        acc[:, 0] -= 0.5 * hsig
        # turns: centripetal acceleration while walking round corners
        n_turns = r.poisson(dur / 15.0)
        for _ in range(n_turns):
            m = self.N(self.u(1.0, 2.5))
            if m >= n:
                continue
            i0 = int(r.integers(0, n - m))
            acc[i0 : i0 + m, 1] += r.choice([-1, 1]) * self.u(0.05, 0.25) * np.sin(np.linspace(0, np.pi, m))
        # gait start / stop
        env = np.ones(n)
        ramp = min(self.N(0.8), n // 3)
        if taper[0] and ramp > 1:
            env[:ramp] = _mj(ramp)
        if taper[1] and ramp > 1:
            env[-ramp:] = _mj(ramp)[::-1]
        acc *= env[:, None]
        th = self.th + (s.stand_lean + lean - self.th) * np.minimum(t / 0.6, 1.0)
        th += (1.5 + 1.5 * speed) * DEG * np.sin(phi + self.u(0, 6.3)) * env  # trunk pitch oscillation
        ph = self.ph * np.maximum(1 - t / 0.6, 0) + 2.5 * DEG * np.sin(phi / 2 + s.ml_ph[0]) * env
        self.push(acc, th, ph)
        self.posture = "stand"


# --------------------------------------------------------------------------------------------
# Composite movements
# --------------------------------------------------------------------------------------------


def sit_down(b: Builder, kind: str = "slow", low: bool = False, car: bool = False) -> None:
    """kind: slow | quick | hard (let go half way: near-free-fall then a 2-3.5 g chair impact)."""
    sp = b.s.speed
    th_s, ph_s = b.sit_posture()
    if car:
        th_s = -b.u(12, 25) * DEG
    lean = b.u(20, 40 if not low else 50) * DEG
    drop_m = b.u(0.35, 0.45) + (0.1 if low else 0.0)
    if kind == "slow":
        d = b.u(1.3, 2.5) / sp
        b.move(lean, b.ph, d * 0.5, rise_m=-drop_m * 0.5)
        b.move(th_s, ph_s, d * 0.5, rise_m=-drop_m * 0.5)
    elif kind == "quick":
        d = b.u(0.6, 1.0) / sp
        b.move(lean, b.ph, d * 0.6, rise_m=-drop_m * 0.4)
        b.drop(t_drop=b.u(0.1, 0.2), depth=b.u(0.2, 0.45), peak=b.u(1.3, 2.0), final=(th_s, ph_s),
               rot_at_impact=0.5, settle=b.u(0.3, 0.6), ring=0.15, h_impact=0.1)
    else:  # hard
        b.move(lean * 0.7, b.ph, b.u(0.3, 0.6) / sp, rise_m=-drop_m * 0.3)
        b.drop(t_drop=b.u(0.15, 0.35), depth=b.u(0.4, 0.75), peak=b.u(1.9, 3.2), final=(th_s, ph_s),
               direction=(-1, 0), h_descent=0.05, h_impact=b.u(0.1, 0.3), rot_at_impact=0.5,
               settle=b.u(0.3, 0.7), ring=b.u(0.1, 0.3), rebound=b.u(0, 0.3))
    b.posture = "sit"


def stand_up(b: Builder, quick: bool = False, stop_lean: bool = True) -> None:
    sp = b.s.speed * (1.5 if quick else 1.0)
    th_u, ph_u = b.stand_posture()
    b.move(b.u(25, 45) * DEG, b.ph * 0.5, b.u(0.5, 0.9) / sp)
    b.move(th_u, ph_u, b.u(0.8, 1.6) / sp, rise_m=b.u(0.35, 0.5))
    b.posture = "stand"


def lie_down(b: Builder, quick: bool = False, kind: str | None = None) -> None:
    kind = kind or b.rng.choice(["supine", "supine", "left", "right"])
    th, ph = b.lying_posture(kind)
    if quick:
        b.move(b.th + (th - b.th) * 0.3, b.ph + (ph - b.ph) * 0.3, b.u(0.3, 0.5))
        b.drop(t_drop=b.u(0.15, 0.3), depth=b.u(0.15, 0.4), peak=b.u(1.2, 1.8), final=(th, ph),
               rot_at_impact=0.8, settle=0.4, ring=0.1, h_impact=0.2)  # onto a mattress
        if b.rng.random() < 0.6:  # settling in
            b.hold(b.u(0.5, 2.0), "lie")
            b.move(b.th + b.rng.normal(0, 10) * DEG, b.ph + b.rng.normal(0, 15) * DEG, b.u(0.8, 1.8))
    else:
        b.move(th, ph, b.u(1.8, 4.0) / b.s.speed, rise_m=-b.u(0.1, 0.25))
    b.posture = "lie"


def sit_up(b: Builder) -> None:
    th, ph = b.sit_posture()
    b.move(th, ph, b.u(1.5, 3.5) / b.s.speed, rise_m=b.u(0.1, 0.25))
    b.posture = "sit"


def roll_over(b: Builder, kind: str) -> None:
    th, ph = b.lying_posture(kind)
    b.move(th, ph, b.u(1.0, 2.5) / b.s.speed)


def bend(b: Builder, knees: bool) -> None:
    th0, ph0 = b.th, b.ph
    if knees:
        b.move(b.u(20, 50) * DEG, b.ph + b.rng.normal(0, 8) * DEG, b.u(1.0, 2.0) / b.s.speed, rise_m=-b.u(0.3, 0.5))
    else:
        b.move(b.u(60, 100) * DEG, b.ph + b.rng.normal(0, 8) * DEG, b.u(1.2, 2.2) / b.s.speed, rise_m=-b.u(0.1, 0.2))
    b.hold(b.u(0.8, 2.5), "stand")
    up = 0.4 if knees else 0.15
    b.move(th0, ph0, b.u(1.0, 2.0) / b.s.speed, rise_m=b.u(up * 0.75, up * 1.25))


def jump(b: Builder, flight: float, t_land: float, crouch_m: float = 0.2) -> None:
    """Crouch, push off (impulse = flight time), flight at ~0 g, landing pulse, absorb and stand up."""
    th0 = b.th
    b.move(th0 + b.u(15, 35) * DEG, b.ph, b.u(0.35, 0.6), rise_m=-crouch_m)
    T_push = b.u(0.18, 0.3)
    n = b.N(T_push)
    acc = np.zeros((n, 3))
    acc[:, 2] = (np.pi * flight / (4 * T_push)) * np.sin(np.pi * (np.arange(n) + 0.5) / n)
    acc += b.lowpass_noise(n, 8, 0.03, 3)
    b.push(acc, np.linspace(b.th, th0, n), np.full(n, b.ph))
    n = b.N(flight)
    acc = np.zeros((n, 3))
    acc[:, 2] = -1.0
    acc += b.lowpass_noise(n, 6, b.u(0.02, 0.08), 3)  # arms, legs moving in the air
    b.push(acc, th0 + np.linspace(0, b.u(-5, 10) * DEG, n), np.full(n, b.ph))
    p = np.pi * flight / (4 * t_land)
    n = b.N(t_land) + b.N(0.35)
    acc = b.impact_pulse(n, 0, p, t_land, np.array([b.rng.normal(0, 0.15), b.rng.normal(0, 0.1)]), b.u(0.1, 0.3))
    acc += b.lowpass_noise(n, 8, 0.03, 3)
    b.push(acc, b.th + (b.u(10, 25) * DEG) * np.sin(np.linspace(0, np.pi / 2, n)), np.full(n, b.ph))
    b.move(th0, b.ph, b.u(0.5, 0.9), rise_m=0.0)


def jump_down(b: Builder) -> None:
    """Step off a step/chair: genuine free fall (sqrt(2h/g)), a 3-7 g landing, no orientation change."""
    h = b.u(0.2, 0.6)
    t_ff = math.sqrt(2 * h / G0)
    b.move(b.th + b.u(5, 15) * DEG, b.ph, b.u(0.3, 0.5), rise_m=b.u(0.0, 0.05))
    n = b.N(t_ff)
    acc = np.zeros((n, 3))
    acc[:, 2] = -1.0
    acc[:, 0] = b.u(0.0, 0.2)
    acc += b.lowpass_noise(n, 6, 0.04, 3)
    b.push(acc, np.full(n, b.th), np.full(n, b.ph))
    t_land = b.u(0.05, 0.14)
    p = min(np.pi * t_ff / (2 * t_land), 6.5)
    n = b.N(t_land) + b.N(0.4)
    acc = b.impact_pulse(n, 0, p, t_land, np.array([-b.u(0, 0.3), b.rng.normal(0, 0.1)]), b.u(0.1, 0.3))
    acc += b.lowpass_noise(n, 8, 0.03, 3)
    b.push(acc, b.th + b.u(10, 30) * DEG * np.sin(np.linspace(0, np.pi / 2, n)), np.full(n, b.ph))
    b.move(b.s.stand_lean, 0.0, b.u(0.6, 1.0), rise_m=b.u(0.1, 0.25))


def stumble(b: Builder) -> None:
    """Trip while walking and recover: short dip, forward pitch, a hard recovery step, walk on."""
    b.gait(b.u(2, 5), "walk", taper=(True, False))
    th0 = b.th
    b.drop(t_drop=b.u(0.1, 0.25), depth=b.u(0.3, 0.6), peak=b.u(2.0, 3.5), final=(th0 + b.u(20, 45) * DEG, b.ph),
           direction=(1, 0), h_descent=b.u(0.3, 0.8), h_impact=0.3, rot_at_impact=1.0, settle=0.2, ring=0.25)
    b.move(th0, 0.0, b.u(0.6, 1.2))
    b.gait(b.u(3, 6), "walk", speed=b.u(0.8, 1.1), taper=(False, True))


def car_ride(b: Builder, dur: float) -> None:
    """Seated in a vehicle: braking/turning (tilts apparent gravity), suspension and seat vibration, bumps."""
    n = b.N(dur)
    acc = np.zeros((n, 3))
    acc[:, 0] = b.lowpass_noise(n, b.u(0.05, 0.3), b.u(0.04, 0.12))[:, 0]
    acc[:, 1] = b.lowpass_noise(n, b.u(0.05, 0.3), b.u(0.04, 0.12))[:, 0]
    acc[:, 2] = b.bandnoise(n, 0.8, 2.5, b.u(0.02, 0.07))[:, 0]
    acc += b.bandnoise(n, 3.0, 12.0, b.u(0.01, 0.04), 3) * np.array([0.4, 0.4, 1.0])
    acc[:, 2] += b.bandnoise(n, 20, 40, b.u(0.003, 0.015))[:, 0]
    n_stops = b.rng.poisson(dur / 90.0)
    for _ in range(n_stops):  # braking to a stop
        m = b.N(b.u(2, 5))
        if m < n:
            i0 = int(b.rng.integers(0, n - m))
            acc[i0 : i0 + m, 0] -= b.u(0.15, 0.4) * np.sin(np.linspace(0, np.pi, m))
    n_bumps = b.rng.poisson(dur / 60.0 * b.u(0.5, 4.0))
    for _ in range(n_bumps):  # speed bumps, potholes
        m = b.N(b.u(1.0, 2.0))
        if m >= n:
            continue
        i0 = int(b.rng.integers(0, n - m))
        a = b.u(0.2, 0.8) if b.rng.random() < 0.85 else b.u(0.8, 1.5)
        acc[i0 : i0 + m, 2] += a * _damped(m, b.fs, b.u(1.2, 2.2), b.u(0.15, 0.35))
        k = b.N(0.08)
        acc[i0 : i0 + k, 2] += a * 0.5 * _damped(k, b.fs, b.u(8, 15), 0.03)
    th = b.th - 10 * DEG * acc[:, 0] / 0.3 * 0.3 + b.lowpass_noise(n, 0.3, 1.0 * DEG)[:, 0]
    ph = b.ph + 8 * DEG * acc[:, 1] + b.lowpass_noise(n, 0.3, 1.0 * DEG)[:, 0]
    b.push(acc, th, ph)


def get_into_car(b: Builder) -> None:
    b.move(b.u(30, 50) * DEG, b.rng.choice([-1, 1]) * b.u(10, 25) * DEG, b.u(1.0, 1.8), rise_m=-b.u(0.1, 0.2))
    sit_down(b, "quick" if b.rng.random() < 0.5 else "slow", low=True, car=True)


def get_out_of_car(b: Builder) -> None:
    b.move(b.u(30, 50) * DEG, b.rng.choice([-1, 1]) * b.u(10, 25) * DEG, b.u(1.0, 2.0))
    stand_up(b)


def flop_onto_bed(b: Builder) -> None:
    kind = b.rng.choice(["supine", "left", "right", "prone"])
    th, ph = b.lying_posture(kind)
    b.move(b.th + b.u(-10, 20) * DEG, b.ph, b.u(0.3, 0.6), rise_m=-b.u(0.05, 0.15))
    b.drop(t_drop=b.u(0.15, 0.35), depth=b.u(0.3, 0.65), peak=b.u(1.3, 2.2), final=(th, ph),
           direction=(-1 if th < 0 else 1, 0), h_impact=0.2, rot_at_impact=b.u(0.7, 0.95), settle=b.u(0.3, 0.8),
           ring=0.05, rebound=b.u(0.1, 0.3))  # a mattress: long, soft contact, a bounce
    b.posture = "lie"
    if b.rng.random() < 0.7:  # people who lie down on purpose settle in: shift, pull a pillow, turn
        b.hold(b.u(0.5, 3.0), "lie")
        b.move(b.th + b.rng.normal(0, 12) * DEG, b.ph + b.rng.normal(0, 20) * DEG, b.u(0.8, 1.8), rise_m=0.0)
        b.push(b.lowpass_noise(b.N(0.6), 3.0, b.u(0.03, 0.1), 3), np.full(b.N(0.6), b.th), np.full(b.N(0.6), b.ph))


# --------------------------------------------------------------------------------------------
# Falls
# --------------------------------------------------------------------------------------------

FALL_SPEC = {
    # code: (before, direction, fall kind)
    "F01": ("walk", "forward", "slip"),
    "F02": ("walk", "backward", "slip"),
    "F03": ("walk", "lateral", "slip"),
    "F04": ("walk", "forward", "trip"),
    "F05": ("jog", "forward", "trip"),
    "F06": ("walk", "any", "syncope"),
    "F07": ("walk", "any", "syncope_hands"),
    "F08": ("get_up", "forward", "balance"),
    "F09": ("get_up", "lateral", "balance"),
    "F10": ("sit_down", "forward", "balance"),
    "F11": ("sit_down", "backward", "balance"),
    "F12": ("sit_down", "lateral", "balance"),
    "F13": ("sitting", "forward", "syncope_seated"),
    "F14": ("sitting", "backward", "seated"),
    "F15": ("sitting", "lateral", "seated"),
}


def fall(b: Builder, code: str, cfg: dict) -> None:
    before, direction, kind = FALL_SPEC[code]
    r = b.rng
    if direction == "any":
        direction = str(r.choice(["forward", "backward", "lateral", "lateral"]))
    side = int(r.choice([-1, 1]))  # +1: to the right
    if direction == "forward":
        final = b.lying_posture("prone")
        dxy = (1.0, 0.0)
    elif direction == "backward":
        final = b.lying_posture("supine")
        dxy = (-1.0, 0.0)
    else:
        final = b.lying_posture("right" if side > 0 else "left")
        dxy = (0.0, -float(side))
    final_full = final
    # not everybody ends flat: propped on an elbow, against furniture, curled up
    if r.random() < 0.25:
        final = (final[0] * b.u(0.7, 0.9), final[1] * b.u(0.7, 0.9))
    final = (final[0] + r.normal(0, 6) * DEG, final[1] + r.normal(0, 6) * DEG)

    # before the fall
    pre = b.u(3.5, 8.0)
    if before == "walk":
        b.hold(b.u(0.5, 1.5), "stand")
        b.gait(pre, "walk", speed=b.u(0.85, 1.15), taper=(True, False))
    elif before == "jog":
        b.hold(b.u(0.5, 1.5), "stand")
        b.gait(pre, "jog", taper=(True, False))
    elif before == "get_up":
        b.th, b.ph = b.sit_posture()
        b.posture = "sit"
        b.hold(pre, "sit")
        b.move(b.u(25, 45) * DEG, b.ph, b.u(0.5, 0.9) / b.s.speed)
        b.move(b.u(5, 20) * DEG, b.ph, b.u(0.3, 0.6), rise_m=b.u(0.15, 0.35))
    elif before == "sit_down":
        b.hold(pre * 0.4, "stand")
        b.gait(pre * 0.6, "walk", speed=b.u(0.7, 0.9))
        b.move(b.u(15, 35) * DEG, b.ph, b.u(0.4, 0.8), rise_m=-b.u(0.1, 0.25))
    else:  # sitting
        b.th, b.ph = b.sit_posture()
        b.posture = "sit"
        b.hold(pre, "desk" if r.random() < 0.5 else "sit")

    if _tilt(b.th, b.ph, *final) < 45 * DEG:  # a fall ends far from where it started
        final = final_full

    # what the body lands on: a hard floor, carpet, or a mat (as in lab recordings such as SisFall)
    surface = str(r.choice(["floor", "carpet", "mat"], p=[0.5, 0.25, 0.25]))
    soften = {"floor": 1.0, "carpet": 0.8, "mat": 0.6}[surface]
    ring_f = {"floor": 1.0, "carpet": 0.7, "mat": 0.4}[surface]

    # taller people fall from higher (longer descent); more soft tissue over the hip pads the impact
    tall = math.sqrt(b.s.height / 1.7)
    bmi = b.s.mass / b.s.height**2
    soften *= float(np.clip(1.0 - 0.015 * (bmi - 24.0), 0.85, 1.1))

    # the fall itself
    if kind in ("slip", "trip", "balance"):
        height_f = (1.0 if before in ("walk", "jog") else 0.8) * tall
        if kind == "trip":  # feet stopped: trunk pitches forward fast
            t_drop = b.u(0.25, 0.5) * tall
        elif kind == "slip":  # feet slide out
            t_drop = b.u(0.25, 0.45) * tall
        else:
            t_drop = b.u(0.2, 0.45) * height_f
        depth = b.u(0.55, 0.95)
        peak = b.u(3.0, 9.0) if before in ("walk", "jog") else b.u(2.5, 7.0)
        if before == "jog":
            peak = b.u(4.0, 11.0)
        peak = max(2.3, peak * soften)
        onset = {"trip": -b.u(0.3, 1.2), "slip": b.u(0.2, 0.8)}.get(kind, 0.0)
        mid = b.u(0.3, 0.9) if (before in ("walk", "jog") and r.random() < 0.4) else 0.0
        pre_imp = b.u(0.8, 2.0) if (direction == "forward" and r.random() < 0.6) else 0.0  # hands, knees first
        if direction == "backward" and before == "sit_down":  # buttocks first, then the back
            b.drop(t_drop=t_drop, depth=depth, peak=peak, final=(b.th + (final[0] - b.th) * 0.3, final[1] * 0.3),
                   direction=dxy, h_descent=b.u(0.05, 0.2), h_impact=b.u(0.1, 0.3), rot_at_impact=0.9,
                   settle=0.15, ring=b.u(0.15, 0.35) * ring_f, is_fall=True)
            b.drop(t_drop=b.u(0.12, 0.25), depth=b.u(0.3, 0.6), peak=b.u(1.5, min(3.0, peak * 0.7)), final=final,
                   direction=dxy, rot_at_impact=0.9, settle=0.5, ring=0.1)
        else:
            b.drop(t_drop=t_drop, depth=depth, peak=peak, final=final, direction=dxy,
                   h_descent=b.u(0.1, 0.35), h_impact=b.u(0.15, 0.5), rot_at_impact=b.u(0.7, 0.95),
                   settle=b.u(0.3, 0.9), ring=b.u(0.15, 0.4) * ring_f, pre_impact=pre_imp * soften,
                   rebound=b.u(0, 0.25), onset_ap=onset, mid_step=mid, is_fall=True)
    elif kind in ("syncope", "syncope_hands"):
        # faint: gait fades, knees buckle (slow, shallow descent), crumple to the floor, topple over
        b.gait(b.u(0.5, 1.5), "walk", speed=0.7, taper=(False, True))
        soft = kind == "syncope_hands"
        b.move(b.th + b.u(5, 20) * DEG, b.ph + b.rng.normal(0, 5) * DEG, b.u(0.3, 0.8), rise_m=-b.u(0.1, 0.25))
        mid = (b.th + (final[0] - b.th) * 0.4, b.ph + (final[1] - b.ph) * 0.4)
        b.drop(t_drop=b.u(0.25, 0.5), depth=b.u(0.25, 0.45), peak=b.u(1.2, 1.6), final=mid, rot_at_impact=0.8,
               settle=0.2, ring=0.05, h_impact=0.1)
        b.drop(t_drop=b.u(0.2, 0.45), depth=b.u(0.25, 0.5), peak=b.u(1.5, 2.1) if soft else b.u(1.6, 2.5),
               final=final, direction=dxy, h_impact=b.u(0.1, 0.3), rot_at_impact=0.85, settle=b.u(0.3, 0.8),
               ring=0.1, is_fall=True)
    elif kind == "syncope_seated":
        b.move(b.th + b.u(15, 35) * DEG, b.ph + b.rng.normal(0, 5) * DEG, b.u(1.0, 3.0))  # slumping
        b.drop(t_drop=b.u(0.2, 0.4), depth=b.u(0.3, 0.5), peak=b.u(1.6, 2.5), final=final, direction=dxy,
               h_impact=b.u(0.1, 0.3), rot_at_impact=0.85, settle=b.u(0.3, 0.8), ring=0.1, is_fall=True)
    else:  # seated: chair tips / slides off
        b.move(b.th + (final[0] - b.th) * 0.15, b.ph + (final[1] - b.ph) * 0.15, b.u(0.3, 0.8))
        b.drop(t_drop=b.u(0.2, 0.4), depth=b.u(0.5, 0.85), peak=max(2.2, b.u(2.3, 5.5) * soften), final=final,
               direction=dxy, h_impact=b.u(0.1, 0.4), rot_at_impact=b.u(0.7, 0.95), settle=b.u(0.3, 0.8),
               ring=b.u(0.1, 0.3) * ring_f,
               is_fall=True)

    # after: lying nearly still; sometimes an attempt to get up after more than 10 s
    lo, hi = cfg["post_fall_s"]
    lie = b.u(lo, hi)
    b.posture = "lie"
    if lie > 10.0 and r.random() < cfg["get_up_prob"]:
        b.hold(b.u(10.0, lie), "lie_still")
        b.move(b.u(40, 70) * DEG, b.rng.normal(0, 10) * DEG, b.u(1.5, 3.0), rise_m=b.u(0.2, 0.35))  # on all fours
        if r.random() < 0.6:
            b.hold(b.u(0.5, 2.0), "sit")
            b.move(b.s.stand_lean, 0.0, b.u(1.5, 3.0), rise_m=b.u(0.4, 0.6))
            b.hold(b.u(1.0, 3.0), "stand")
        else:  # cannot, sinks back
            b.drop(t_drop=b.u(0.2, 0.4), depth=b.u(0.1, 0.25), peak=b.u(1.1, 1.5), final=final, rot_at_impact=0.6,
                   settle=1.0, ring=0.02)
            b.hold(b.u(2.0, 5.0), "lie_still")
    else:
        b.hold(lie, "lie_still")


# --------------------------------------------------------------------------------------------
# Activities of daily living (trials)
# --------------------------------------------------------------------------------------------


def _start_stand(b: Builder) -> None:
    b.hold(b.u(0.8, 2.0), "stand")


def _start_sit(b: Builder) -> None:
    b.th, b.ph = b.sit_posture()
    b.posture = "sit"
    b.hold(b.u(1.0, 3.0), "sit")


def _walk_trial(mode: str, speed: float):
    def fn(b: Builder, cfg: dict) -> None:
        _start_stand(b)
        b.gait(cfg["long_adl_s"] * b.u(0.8, 1.0), mode, speed=speed * b.u(0.93, 1.07))
        b.hold(b.u(0.5, 2.0), "stand")

    return fn


def _stairs(speed: float):
    def fn(b: Builder, cfg: dict) -> None:
        _start_stand(b)
        b.gait(b.u(8, 11), "up", speed=speed)
        b.hold(b.u(0.8, 2.0), "stand")  # landing, turn round
        b.gait(b.u(7, 10), "down", speed=speed)
        b.hold(b.u(0.5, 1.5), "stand")

    return fn


def _sit_trial(kind: str, low: bool, quick_up: bool):
    def fn(b: Builder, cfg: dict) -> None:
        _start_stand(b)
        sit_down(b, kind, low=low)
        b.hold(b.u(2.0, 5.0), "sit")
        stand_up(b, quick=quick_up)
        b.hold(b.u(1.0, 3.0), "stand")

    return fn


def d11(b: Builder, cfg: dict) -> None:  # try to get up, collapse back into the chair
    _start_sit(b)
    b.move(b.u(25, 45) * DEG, b.ph, b.u(0.5, 0.9))
    b.move(b.u(10, 25) * DEG, b.ph, b.u(0.3, 0.6), rise_m=b.u(0.1, 0.25))
    th, ph = b.sit_posture()
    b.drop(t_drop=b.u(0.15, 0.3), depth=b.u(0.4, 0.7), peak=b.u(1.8, 3.2), final=(th, ph), direction=(-1, 0),
           h_impact=0.2, rot_at_impact=0.5, settle=0.5, ring=0.2)
    b.hold(b.u(3.0, 6.0), "sit")


def _lie_trial(quick: bool):
    def fn(b: Builder, cfg: dict) -> None:
        _start_sit(b)
        lie_down(b, quick=quick)
        b.hold(b.u(2.0, 5.0), "lie")
        sit_up(b)
        b.hold(b.u(1.0, 2.0), "sit")

    return fn


def d14(b: Builder, cfg: dict) -> None:
    b.th, b.ph = b.lying_posture("supine")
    b.posture = "lie"
    b.hold(b.u(1.5, 3.0), "lie")
    roll_over(b, "left" if b.rng.random() < 0.5 else "right")
    b.hold(b.u(2.0, 4.0), "lie")
    roll_over(b, "supine")
    b.hold(b.u(1.5, 3.0), "lie")


def _bend_trial(knees: bool):
    def fn(b: Builder, cfg: dict) -> None:
        _start_stand(b)
        bend(b, knees)
        b.hold(b.u(1.5, 4.0), "stand")

    return fn


def d17(b: Builder, cfg: dict) -> None:
    _start_stand(b)
    b.gait(b.u(1.5, 3.0), "walk", speed=0.9)
    get_into_car(b)
    b.hold(b.u(8.0, 15.0), "car_idle")
    get_out_of_car(b)
    b.hold(b.u(1.0, 3.0), "stand")


def d18(b: Builder, cfg: dict) -> None:
    _start_stand(b)
    stumble(b)
    b.hold(b.u(0.5, 1.5), "stand")


def d19(b: Builder, cfg: dict) -> None:
    _start_stand(b)
    for _ in range(int(b.rng.integers(1, 4))):
        jump(b, flight=b.u(0.12, 0.3), t_land=b.u(0.07, 0.15), crouch_m=b.u(0.1, 0.2))
        b.hold(b.u(0.8, 2.0), "stand")


def d20(b: Builder, cfg: dict) -> None:
    b.th, b.ph = -b.u(12, 25) * DEG, b.rng.normal(0, 4) * DEG
    b.posture = "sit"
    car_ride(b, b.u(45, 90))


def d21(b: Builder, cfg: dict) -> None:
    _start_stand(b)
    for _ in range(int(b.rng.integers(2, 6))):
        jump(b, flight=b.u(0.28, 0.5), t_land=b.u(0.05, 0.11), crouch_m=b.u(0.15, 0.3))
        if b.rng.random() < 0.5:
            b.hold(b.u(0.3, 1.5), "stand")
    b.hold(b.u(1.0, 3.0), "stand")


def d22(b: Builder, cfg: dict) -> None:
    _start_stand(b)
    jump_down(b)
    b.hold(b.u(0.3, 1.0), "stand")
    b.gait(b.u(3.0, 6.0), "walk")
    b.hold(b.u(0.5, 1.5), "stand")


def d23(b: Builder, cfg: dict) -> None:
    _start_stand(b)
    b.gait(b.u(1.5, 3.0), "walk", speed=0.9)
    flop_onto_bed(b)
    b.hold(b.u(4.0, 10.0), "lie")
    if b.rng.random() < 0.6:
        sit_up(b)
        b.hold(b.u(1.0, 3.0), "sit")


ACTIVITY_FN = {
    "D01": _walk_trial("walk", 0.8),
    "D02": _walk_trial("walk", 1.2),
    "D03": _walk_trial("jog", 0.9),
    "D04": _walk_trial("jog", 1.2),
    "D05": _stairs(0.85),
    "D06": _stairs(1.15),
    "D07": _sit_trial("slow", False, False),
    "D08": _sit_trial("quick", False, True),
    "D09": _sit_trial("slow", True, False),
    "D10": _sit_trial("hard", True, True),
    "D11": d11,
    "D12": _lie_trial(False),
    "D13": _lie_trial(True),
    "D14": d14,
    "D15": _bend_trial(True),
    "D16": _bend_trial(False),
    "D17": d17,
    "D18": d18,
    "D19": d19,
    "D20": d20,
    "D21": d21,
    "D22": d22,
    "D23": d23,
}
for _c in FALL_CODES:
    ACTIVITY_FN[_c] = (lambda code: lambda b, cfg: fall(b, code, cfg))(_c)


# --------------------------------------------------------------------------------------------
# Continuous daily life (no falls): for false alarms per hour
# --------------------------------------------------------------------------------------------


def daily_life(b: Builder, dur: float) -> None:
    """Chain activities with realistic transitions until `dur` seconds are filled."""
    r = b.rng
    if r.random() < 0.5:
        b.th, b.ph = b.sit_posture()
        b.posture = "sit"
    limit = dur * b.fs
    while b.n < limit:
        p = b.posture
        if p == "stand":
            x = r.random()
            if x < 0.30:
                b.gait(b.u(4, 60) if r.random() < 0.8 else b.u(60, 300), "walk", speed=b.u(0.8, 1.2))
            elif x < 0.42:
                b.hold(b.u(3, 60), "stand")
            elif x < 0.66:
                sit_down(b, "hard" if r.random() < 0.12 else "quick" if r.random() < 0.35 else "slow",
                         low=r.random() < 0.3)
            elif x < 0.72:
                b.gait(b.u(5, 12), "up" if r.random() < 0.5 else "down", speed=b.u(0.85, 1.15))
            elif x < 0.78:
                bend(b, knees=r.random() < 0.5)
            elif x < 0.80:
                b.gait(b.u(15, 120), "jog", speed=b.u(0.9, 1.2))
            elif x < 0.82:
                if r.random() < 0.6:
                    jump(b, flight=b.u(0.12, 0.4), t_land=b.u(0.05, 0.14), crouch_m=b.u(0.1, 0.25))
                else:
                    jump_down(b)
            elif x < 0.84:
                stumble(b)
            elif x < 0.87:
                sit_down(b, "slow")
                lie_down(b, quick=r.random() < 0.3)
            elif x < 0.88:
                flop_onto_bed(b)
            elif x < 0.91:
                get_into_car(b)
                b.hold(b.u(5, 30), "car_idle")
                car_ride(b, b.u(60, 600))
                b.hold(b.u(3, 20), "car_idle")
                get_out_of_car(b)
            else:
                b.hold(b.u(2, 10), "stand")
                b.gait(b.u(2, 8), "walk", speed=0.8)
        elif p == "sit":
            x = r.random()
            if x < 0.55:
                b.hold(b.u(15, 300), "desk" if r.random() < 0.6 else "sit")
            elif x < 0.95:
                stand_up(b, quick=r.random() < 0.3)
            else:
                lie_down(b, quick=r.random() < 0.3)
        else:  # lying
            x = r.random()
            if x < 0.5:
                b.hold(b.u(20, 300), "lie")
            elif x < 0.7:
                roll_over(b, str(r.choice(["supine", "left", "right", "prone"])))
            else:
                sit_up(b)


# --------------------------------------------------------------------------------------------
# The sensor
# --------------------------------------------------------------------------------------------


def specific_force_device(acc: np.ndarray, accb: np.ndarray, th: np.ndarray, ph: np.ndarray, mount: np.ndarray) -> np.ndarray:
    """What an ideal accelerometer reads, in the device frame (g): rotate (a + up) into the body, then the device."""
    s = acc.copy()
    s[:, 2] += 1.0
    c, sn = np.cos(th), np.sin(th)
    ux = c * s[:, 0] - sn * s[:, 2]
    uy = s[:, 1]
    uz = sn * s[:, 0] + c * s[:, 2]
    cp, sp = np.cos(ph), np.sin(ph)
    fb = np.stack([ux, cp * uy + sp * uz, -sp * uy + cp * uz], axis=1) + accb
    return fb @ mount  # (M^T f)^T = f^T M


def _measure(b: Builder, subj: Subject, rng: np.random.Generator, cfg: dict, code: str, tag: str,
             exact_s: float | None = None) -> Recording:
    acc, accb, th, ph = b.arrays()
    fs, rate = b.fs, cfg["rate"]
    if exact_s is not None:
        n_need = min(len(th), int(math.ceil(exact_s / (1 + subj.drift) * fs)) + int(fs))
        acc, accb, th, ph = acc[:n_need], accb[:n_need], th[:n_need], ph[:n_need]
    # re-clipping the device for each trial: a few degrees of difference
    mount = subj.mount @ _rot(0, rng.normal(0, 3) * DEG) @ _rot(1, rng.normal(0, 3) * DEG) @ _rot(2, rng.normal(0, 3) * DEG)
    f = specific_force_device(acc, accb, th, ph, mount)
    f = f @ subj.scale.T + subj.bias
    # the sensor's own low-pass (bandwidth ~ ODR/2), causal like the hardware
    sos = sps.butter(4, min(0.45 * rate, 0.45 * fs) / (fs / 2), output="sos")
    zi = sps.sosfilt_zi(sos)[:, :, None] * f[0][None, None, :]  # switched on long before: no start-up transient
    f = sps.sosfilt(sos, f, axis=0, zi=zi)[0]
    # sample at the output rate with the device's clock error and jitter
    # the device's clock runs (1 + drift) fast: over the simulated time it takes that many more samples
    n_out = int(round(exact_s * rate)) if exact_s is not None else int(len(f) / fs * rate * (1 + subj.drift)) - 1
    k = np.arange(n_out)
    t_true = k / (rate * (1 + subj.drift)) + rng.normal(0, subj.jitter / rate, n_out)
    t_true = np.clip(t_true, 0, (len(f) - 1) / fs)
    src = np.arange(len(f)) / fs
    out = np.empty((n_out, 3))
    for j in range(3):
        out[:, j] = np.interp(t_true, src, f[:, j])
    out += rng.normal(0, subj.noise * rng.uniform(0.8, 1.2), out.shape)
    out = np.clip(np.round(out / subj.lsb) * subj.lsb, -cfg["range_g"], cfg["range_g"] - subj.lsb)
    sig = np.ascontiguousarray(out[:, _axis_order(cfg["channels"])], dtype=np.float32)
    events: list[tuple[float, str]] = []
    if code.startswith("F") and b.impacts:
        t_imp = b.impacts[0] / fs * (1 + subj.drift)  # as the device's clock sees it
        i = int(round(t_imp * rate))
        w = max(1, int(round(0.2 * rate)))
        lo, hi = max(0, i - w), min(n_out, i + w + 1)
        mag = np.linalg.norm(sig[lo:hi], axis=1)
        events = [(float((lo + int(np.argmax(mag))) / rate), "fall")]
    return Recording(
        signal=sig,
        rate=float(rate),
        channels=tuple(cfg["channels"]),
        subject=subj.id,
        label="fall" if code.startswith("F") else "adl",
        activity=code,
        events=events,
        source=f"synthetic-falls:seed={cfg['seed']}:{subj.id}:{code}:{tag}",
    )


def _axis_order(channels) -> list[int]:
    last = [c[-1:].lower() for c in channels]
    if sorted(last) == ["x", "y", "z"]:
        return ["xyz".index(c) for c in last]
    return [0, 1, 2]
