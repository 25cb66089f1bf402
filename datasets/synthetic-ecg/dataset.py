"""SYNTHETIC single-lead ECG: a dynamical model of the ECGSYN class driven by rhythm and noise processes.

No person was recorded. Each simulated subject has its own heart (wave morphology, conduction times, heart
rate and its variability, ectopic foci, AF behaviour) and its own wearable (electrode quality, gain, mains,
muscle and motion noise). Recordings come at any rate, in mV, channel "ecg".

The heart (McSharry, Clifford, Tarassenko & Smith 2003, "A dynamical model for generating synthetic
electrocardiogram signals", IEEE TBME 50:289): the ECG is the z coordinate of a trajectory whose phase
theta turns once per beat, z = sum_i a_i exp(-dtheta_i^2 / (2 b_i^2)) over the P, Q, R, S and T waves, plus
a baseline z0 driven by respiration. ECGSYN adapts the wave angles and widths to the heart rate; here that
adaptation is made beat by beat, in time: each beat maps the phase onto its own R-R interval so that PR and
QRS keep their durations and the T wave moves with QT = QT1 * sqrt(RR) (Bazett). The T wave is asymmetric
(two Gaussians, a slower rise than fall). Beat to beat, respiration modulates the QRS amplitude.

Rhythms (the R-R process drives the phase):
- sinus: ECGSYN's R-R spectrum, a Mayer wave (~0.1 Hz) and respiratory sinus arrhythmia (at the breathing
  rate) with the subject's LF/HF ratio, on a heart-rate course (rest, sinus bradycardia and tachycardia,
  exercise ramps);
- AF: irregularly irregular R-R (i.i.d. log-normal, coefficient of variation 0.12-0.30, a 0.26 s floor), no P
  waves, fibrillatory waves of 4-9 Hz with drifting frequency and amplitude; episodes start and stop (a short
  pause before sinus resumes);
- PVCs: premature (coupling 0.45-0.70 of the R-R), wide (QRS 120-180 ms) and tall, discordant T, no P, a
  compensatory pause (the sinus clock runs on); single, bigeminy, trigeminy, couplets, runs of 3-7;
- PACs: premature (0.55-0.85), an abnormal P, a narrow QRS, a non-compensatory pause (the sinus node resets).

Noise a wearable sees: sensor noise and quantisation, baseline wander (breathing and drift), mains hum at
50 or 60 Hz, EMG bursts, motion artefacts (low-frequency swings and QRS-like spikes at the walking cadence),
electrode pops (a step that decays), lead-off (a flat line or pure interference), amplitude changes with
posture, and saturation at the ADC range. Spans where the ECG cannot be read are labelled "noise".

Every recording carries `truth`: "beats" (R times in s, float64), "classes" (one AAMI letter per beat: N,
S, V), "rhythm" ([(start s, end s, "N" | "AF")]), "noise" ([(start s, end s)] unreadable spans), "disturbed"
(spans with any noise episode, readable or not), "hr_bpm" (the sinus node's rate course, one value a second); `events`: ("af", onset) and ("noise", onset) for each AF episode
and each unreadable span of at least NOISE_EVENT_S.

Entry points: generate(*, rate, channels, seed, progress, **options) -> list[Recording]; scene(...) for
demos. Imported by file path: only absolute imports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import signal as sps

from tinyml.data.parallel import run_forked
from tinyml.errors import TinymlError
from tinyml.recording import Recording

ADC_RANGE_MV = 5.0  # +-5 mV, like MIT-BIH's 11-bit over 10 mV and common wearable front ends
LSB_MV = 0.005  # 5 uV
NOISE_EVENT_S = 4.0
VENTRICLE_REFRACTORY_S = 0.52  # a sinus impulse this soon after a PVC finds the ventricles refractory  # an unreadable span at least this long is a "noise" event

# ECGSYN's default wave angles (deg) / relative sizes, used as the centre of the subjects' draws.
# name: (time offset at RR = 1 s in s, amplitude mV, width s)
SINUS_WAVES = {
    "P": (-0.17, 0.15, 0.022),
    "Q": (-0.028, -0.10, 0.009),
    "R": (0.0, 1.10, 0.011),
    "S": (0.030, -0.25, 0.010),
    "T": (0.27, 0.30, 0.045),
}


@dataclass
class Subject:
    name: str
    waves: dict  # sinus beat: name -> (offset s, amplitude mV, width s) at RR = 1 s
    pac_p: tuple  # ectopic atrial P: (offset s, amplitude mV, width s)
    pvc_foci: list  # each: dict of waves (offsets fixed, no P)
    pvc_coupling: list  # per focus, coupling interval as a fraction of the R-R
    hr_rest: float
    hrv: float  # relative std of the sinus R-R
    lf_hf: float
    resp_hz: float
    resp_qrs: float  # relative QRS amplitude modulation by breathing
    pvc_rate: float  # isolated PVCs per sinus beat
    pac_rate: float
    af_rr: float  # mean R-R in AF (s)
    af_cv: float
    f_amp: float  # fibrillatory wave amplitude (mV)
    f_hz: float
    gain: float  # electrode placement and skin: the whole ECG scales
    mains_hz: float
    mains_mv: float
    sensor_mv: float
    emg_mv: float  # EMG burst level
    motion: float  # how strongly this subject's movements disturb the electrodes (0.3-2)
    extras: dict = field(default_factory=dict)

    @property
    def qrs_mv(self) -> float:
        """QRS peak-to-peak amplitude at the electrodes (mV): what an artefact must be measured against."""
        return self.gain * (abs(self.waves["R"][1]) + abs(self.waves["S"][1]))


def make_subject(rng: np.random.Generator, idx: int, prefix: str = "syn-ecg") -> Subject:
    """One simulated person and device. Ranges from the ECG literature (adult 12-lead norms, Holter studies)."""
    u = rng.uniform
    # QRS peak to peak 0.4-3 mV (single-lead chest and limb leads), split between R and S by where the
    # electrical axis points relative to the lead: mostly an upright R, sometimes an rS or a QS-like complex.
    qrs_pp = float(np.clip(rng.lognormal(math.log(1.2), 0.4), 0.4, 3.0))
    up = u(0.55, 0.95) if rng.random() < 0.85 else u(0.15, 0.5)
    r_amp, s_amp = qrs_pp * up, -qrs_pp * (1 - up)
    waves = {
        "P": (-u(0.13, 0.21), min(0.25, qrs_pp * u(0.05, 0.2)) * (1 if rng.random() > 0.05 else -1), u(0.016, 0.03)),
        "Q": (-u(0.02, 0.035), -u(0.0, 0.15), u(0.006, 0.012)),
        "R": (0.0, r_amp, u(0.008, 0.014)),
        "S": (u(0.022, 0.04), s_amp, u(0.008, 0.014)),
        "T": (u(0.23, 0.30), qrs_pp * u(0.05, 0.3) * (1 if rng.random() > 0.1 else -0.6), u(0.035, 0.06)),
    }
    foci = []
    for _ in range(rng.integers(1, 3)):
        sign = 1 if rng.random() < 0.6 else -1
        w = u(0.022, 0.038)  # QRS 120-180 ms (+-2.5 sigma)
        amp = sign * u(1.2, 2.5) * max(0.6, abs(r_amp))
        foci.append({"R": (u(-0.01, 0.01), amp, w), "S": (u(0.03, 0.06), -sign * u(0.0, 0.4), w * u(0.8, 1.4)),
                     "T": (u(0.26, 0.34), -sign * u(0.3, 0.8), u(0.05, 0.08))})
    return Subject(
        name=f"{prefix}-{idx:03d}",
        waves=waves,
        pac_p=(-u(0.09, 0.15), min(0.2, qrs_pp * u(0.04, 0.18)) * (1 if rng.random() < 0.5 else -1), u(0.012, 0.025)),
        pvc_foci=foci,
        pvc_coupling=[u(0.45, 0.7) for _ in foci],
        hr_rest=u(52, 88),
        hrv=u(0.015, 0.07),
        lf_hf=math.exp(u(math.log(0.5), math.log(3.0))),
        resp_hz=u(0.15, 0.35),
        resp_qrs=u(0.02, 0.12),
        pvc_rate=10 ** u(-4, -1.6),
        pac_rate=10 ** u(-4, -1.8),
        af_rr=u(0.45, 0.9),
        af_cv=u(0.12, 0.30),
        f_amp=u(0.02, 0.12),
        f_hz=u(4.0, 9.0),
        gain=math.exp(u(math.log(0.7), math.log(1.4))),
        mains_hz=50.0 if rng.random() < 0.5 else 60.0,
        mains_mv=10 ** u(-3, -1),
        sensor_mv=u(0.003, 0.012),
        emg_mv=u(0.02, 0.25),
        motion=math.exp(u(math.log(0.3), math.log(2.0))),
    )


# ---------------------------------------------------------------------------------------------------
# Rhythm: the beat sequence
# ---------------------------------------------------------------------------------------------------


@dataclass
class Segment:
    """A stretch of one rhythm: sinus (heart rate from hr0 to hr1 bpm) or AF, with an ectopy pattern."""

    seconds: float
    rhythm: str = "sinus"  # "sinus" | "af"
    hr0: float = 70.0
    hr1: float | None = None
    ectopy: str = ""  # "" | "pvc" | "bigeminy" | "trigeminy" | "couplets" | "runs" | "pac" | "pac_runs"
    ectopy_rate: float = 0.0  # for "pvc", "pac", "couplets", "runs", "pac_runs": episodes per sinus beat


def hrv_process(rng, seconds, subj: Subject, fs=4.0):
    """Unit-variance R-R fluctuation on a 4 Hz grid: ECGSYN's bimodal spectrum (Mayer wave + RSA)."""
    n = int(seconds * fs) + 64
    nfft = 1 << int(math.ceil(math.log2(max(n, 256))))
    f = np.fft.rfftfreq(nfft, 1 / fs)
    c = 0.01
    mayer = math.exp(rng.uniform(math.log(0.08), math.log(0.12)))
    s = subj.lf_hf * np.exp(-0.5 * ((f - mayer) / c) ** 2) + np.exp(-0.5 * ((f - subj.resp_hz) / c) ** 2)
    s += 0.15 * np.exp(-f / 0.03)  # slow drift (VLF)
    spec = np.sqrt(s) * np.exp(2j * np.pi * rng.random(len(f)))
    x = np.fft.irfft(spec, nfft)[:n]
    return (x - x.mean()) / (x.std() + 1e-12)


def beat_sequence(rng, subj: Subject, segments: list[Segment]):
    """R times (s), AAMI classes, rhythm spans and the sinus heart-rate course for a list of segments."""
    total = sum(s.seconds for s in segments)
    hrv = hrv_process(rng, total + 5, subj)
    bounds = np.cumsum([0.0] + [s.seconds for s in segments])

    def seg_at(t):
        k = int(np.searchsorted(bounds, t, side="right") - 1)
        return min(max(k, 0), len(segments) - 1)

    def sinus_rr(t):
        k = seg_at(t)
        s = segments[k]
        x = (t - bounds[k]) / max(s.seconds, 1e-9)
        hr = s.hr0 + ((s.hr1 if s.hr1 is not None else s.hr0) - s.hr0) * min(max(x, 0.0), 1.0)
        hr = min(max(hr, 25.0), 220.0)
        rr = 60.0 / hr
        amp = subj.hrv * min(1.0, 80.0 / hr)  # less variability at high rates
        return rr * (1.0 + amp * hrv[min(int(t * 4.0), len(hrv) - 1)])

    times, classes = [], []
    rhythm = []
    t = rng.uniform(0.25, 0.9)
    pending: list[tuple[float, str]] = []  # ectopic beats scheduled before the next sinus beat
    beat_no = 0
    cur = None
    while t < total - 0.05:
        k = seg_at(t)
        s = segments[k]
        kind = "AF" if s.rhythm == "af" else "N"
        if cur is None or cur[2] != kind:
            if cur is not None:
                rhythm.append((cur[0], t, cur[2]))
                if kind == "N":  # AF stops: a pause before the sinus node takes over
                    t += rng.uniform(0.3, 1.2)
                    if t >= total - 0.05:
                        break
            cur = (t if cur is not None else 0.0, None, kind)
        if kind == "AF":
            rr = max(0.26, rng.lognormal(math.log(subj.af_rr) - 0.5 * subj.af_cv ** 2, subj.af_cv))
            times.append(t); classes.append("N")
            if rng.random() < subj.pvc_rate * 2:
                tv = t + max(0.28, 0.6 * rr)
                if tv < total - 0.05:
                    times.append(tv); classes.append("V")
                    rr = max(rr, tv - t + 0.5)
            t += rr
            continue
        rr = sinus_rr(t)
        times.append(t); classes.append("N")
        beat_no += 1
        nxt = t + rr
        ect = _ectopics(rng, subj, s, beat_no, t, rr)
        if ect:
            last = t
            for te, c in ect:
                if te - last < 0.24 or te >= total - 0.05:
                    break
                times.append(te); classes.append(c)
                last = te
            if ect[-1][1] == "S" and last == ect[-1][0]:
                nxt = last + sinus_rr(last) * rng.uniform(0.98, 1.08)  # the sinus node resets
            else:  # compensatory: sinus slots falling in the ventricles' refractory time after a PVC are
                while nxt < last + VENTRICLE_REFRACTORY_S:  # blocked (an interpolated PVC only at slow rates)
                    nxt += sinus_rr(nxt)
        t = nxt
    if cur is not None:
        rhythm.append((cur[0], total, cur[2]))
    hr_course = np.array([60.0 / sinus_rr(x) for x in np.arange(0, total, 1.0)])
    return np.asarray(times), "".join(classes), rhythm, hr_course


def _ectopics(rng, subj, s: Segment, beat_no, t, rr):
    """Ectopic beats after the sinus beat at t: [(time, class)]."""
    f = int(rng.integers(len(subj.pvc_foci)))
    cv = subj.pvc_coupling[f] * rng.uniform(0.95, 1.05)
    e = s.ectopy
    if e == "bigeminy" or (e == "trigeminy" and beat_no % 2 == 0):
        return [(t + cv * rr, "V")]
    if e == "couplets" and rng.random() < s.ectopy_rate:
        return [(t + cv * rr, "V"), (t + cv * rr + rng.uniform(0.36, 0.5), "V")]
    if e == "runs" and rng.random() < s.ectopy_rate:
        n = int(rng.integers(3, 8))
        iv = rng.uniform(0.3, 0.45)
        return [(t + cv * rr + i * iv, "V") for i in range(n)]
    if e == "pac_runs" and rng.random() < s.ectopy_rate:
        n = int(rng.integers(2, 6))
        iv = rr * rng.uniform(0.5, 0.7)
        return [(t + iv * (i + 1), "S") for i in range(n)]
    p_pvc = subj.pvc_rate + (s.ectopy_rate if e == "pvc" else 0.0)
    p_pac = subj.pac_rate + (s.ectopy_rate if e == "pac" else 0.0)
    x = rng.random()
    if x < p_pvc:
        return [(t + cv * rr, "V")]
    if x < p_pvc + p_pac:
        return [(t + rng.uniform(0.55, 0.85) * rr, "S")]
    return []


# ---------------------------------------------------------------------------------------------------
# The heart's waveform
# ---------------------------------------------------------------------------------------------------


def render_heart(rng, subj: Subject, times, classes, rhythm, n, rate):
    """The cardiac z(t): each beat's waves placed in time (the phase mapped onto its own R-R), plus AF's
    fibrillatory waves; amplitudes in mV before the electrode gain."""
    t_axis = np.arange(n) / rate
    x = np.zeros(n, np.float64)
    in_af = np.zeros(len(times), bool)
    for a, b, lab in rhythm:
        if lab == "AF":
            in_af |= (times >= a) & (times < b)
    resp_phase = rng.uniform(0, 2 * np.pi)
    prev = None
    for k, (tr, c) in enumerate(zip(times, classes)):
        rr = (tr - prev) if prev is not None else 60.0 / subj.hr_rest
        prev = tr
        rr_t = min(max(rr, 0.3), 2.0)
        resp = 1.0 + subj.resp_qrs * math.sin(2 * math.pi * subj.resp_hz * tr + resp_phase)
        jitter = rng.normal(1.0, 0.02)
        if c == "V":
            f = (k * 7919) % len(subj.pvc_foci) if len(subj.pvc_foci) > 1 else 0
            waves = [(off, amp * jitter, w) for off, amp, w in subj.pvc_foci[f].values()]
        else:
            waves = []
            for name, (off, amp, w) in subj.waves.items():
                if name == "P":
                    if in_af[k]:
                        continue
                    if c == "S":
                        off, amp, w = subj.pac_p
                    else:
                        off = off * (0.85 + 0.15 * min(rr_t, 1.0))  # PR shortens a little at high rates
                    waves.append((off, amp * jitter, w))
                elif name == "T":
                    q = math.sqrt(rr_t)
                    off_t, w_t = off * q, w * (0.7 + 0.3 * q)
                    # asymmetric T: a slower rise (wider Gaussian before the peak) than fall
                    waves.append((off_t - 0.35 * w_t, amp * 0.55 * jitter, 1.2 * w_t))
                    waves.append((off_t + 0.15 * w_t, amp * 0.6 * jitter, 0.75 * w_t))
                else:
                    waves.append((off, amp * resp * jitter, w))
        for off, amp, w in waves:
            c0 = tr + off
            i0 = max(0, int((c0 - 5 * w) * rate))
            i1 = min(n, int((c0 + 5 * w) * rate) + 2)
            if i1 > i0:
                tt = t_axis[i0:i1] - c0
                x[i0:i1] += amp * np.exp(-0.5 * (tt / w) ** 2)
    for a, b, lab in rhythm:  # fibrillatory waves during AF
        if lab != "AF":
            continue
        i0, i1 = int(a * rate), min(n, int(b * rate))
        if i1 <= i0:
            continue
        tt = t_axis[i0:i1]
        f_inst = subj.f_hz * (1 + 0.08 * _slow(rng, i1 - i0, rate, 0.2))
        ph = 2 * np.pi * np.cumsum(f_inst) / rate
        amp = subj.f_amp * (1 + 0.4 * _slow(rng, i1 - i0, rate, 0.3))
        fw = amp * (np.sin(ph) + 0.35 * np.sin(2 * ph + 1.3) + 0.15 * np.sin(3 * ph + 0.4))
        ramp = np.clip(np.minimum(tt - a, b - tt) / 0.5, 0, 1)
        x[i0:i1] += fw * ramp
    return x


def _slow(rng, n, rate, hz):
    """A smooth random process in [-1, 1]-ish, band-limited below `hz`."""
    m = max(4, int(n / rate * hz * 4) + 4)
    knots = rng.uniform(-1, 1, m)
    return np.interp(np.linspace(0, m - 1, n), np.arange(m), knots)


# ---------------------------------------------------------------------------------------------------
# Noise
# ---------------------------------------------------------------------------------------------------


@dataclass
class NoiseEvent:
    kind: str  # "motion" | "emg" | "pop" | "lead_off" | "posture"
    start: float
    seconds: float
    level: float = 1.0  # relative severity (motion, emg)
    walking: bool = True  # motion: spikes at a walking cadence


def _band_noise(rng, n, rate, lo, hi, order=2):
    hi = min(hi, 0.45 * rate)
    x = rng.standard_normal(n + 200)
    if lo <= 0:
        sos = sps.butter(order, hi, "lowpass", fs=rate, output="sos")
    else:
        sos = sps.butter(order, [lo, hi], "bandpass", fs=rate, output="sos")
    y = sps.sosfilt(sos, x)[200:]
    return y / (y.std() + 1e-12)


# Electrode drift: the half-cell potential of a gel electrode on skin wanders by tenths of a mV over tens of
# seconds (sweat, pressure, temperature). Its power lies below ~0.1 Hz and falls at least as f^-4 above it (the
# skin-electrode interface is a low-pass of second order: the double layer and the gel/skin RC), so it does not
# reach the 5-15 Hz QRS band (0.15 % of its RMS: under 0.5 uV at most, below one LSB); a first-order
# tail (f^-2) put a third of its RMS into 0.5-40 Hz and 9 % into 5-15 Hz, i.e. up to 26 uV of QRS-band noise.
DRIFT_HZ = 0.08
DRIFT_ORDER = 2
# Posture: lying, sitting and standing move the heart against the electrodes; single-lead QRS amplitude changes by
# tens of percent between postures (the generator's range: +-35 % about the baseline).
# Each posture's gain is drawn about the wearer's own baseline (not about the last posture's), so the gain is
# bounded and returns to the baseline's spread however many changes come: it does not random-walk.
POSTURE_GAIN = (0.65, 1.35)


def electrode_drift(rng, n, rate, mv):
    """A slow electrode drift of RMS `mv` (mV), band-limited below DRIFT_HZ at DRIFT_ORDER."""
    return mv * _band_noise(rng, n, rate, 0, DRIFT_HZ, DRIFT_ORDER)


def posture_gain(rng, events, n, rate):
    """The multiplier of the wearer's baseline gain over time: 1 until the first posture change, then a ramp over
    each change to that posture's own level, drawn in POSTURE_GAIN about the baseline."""
    t = np.arange(n) / rate
    g = np.ones(n)
    for ev in events:
        if ev.kind != "posture":
            continue
        target = rng.uniform(*POSTURE_GAIN)
        i0 = max(0, int(ev.start * rate))
        if i0 >= n:
            continue
        i1 = min(n, i0 + max(1, int(ev.seconds * rate)))
        g[i0:i1] = g[i0] + (target - g[i0]) * np.clip((t[i0:i1] - ev.start) / max(ev.seconds, 0.1), 0, 1)
        g[i1:] = target
    return g


def render_noise(rng, subj: Subject, events: list[NoiseEvent], n, rate, heart):
    """The ECG as the electrodes and the front end deliver it: heart * gain(t) + noise, saturated and
    quantised. Returns (signal mV float32, unreadable spans, disturbed spans [(start s, end s)]).

    Unreadable: lead-off, a pop's decay, motion whose QRS-like spikes (up to 0.8 * level mV) reach a third of
    the QRS amplitude, and EMG whose peaks (about 3 x its RMS) reach half of it. Disturbed: any noise
    episode, readable or not."""
    t = np.arange(n) / rate
    posture = posture_gain(rng, events, n, rate)
    gain = subj.gain * posture
    extra = np.zeros(n)
    unreadable, disturbed = [], []
    lead_off = np.zeros(n, bool)
    # baseline: breathing (z0 of the model) and a slow electrode drift
    extra += rng.uniform(0.03, 0.15) * np.sin(2 * np.pi * subj.resp_hz * t + rng.uniform(0, 6.3))
    extra += electrode_drift(rng, n, rate, rng.uniform(0.05, 0.3))
    # mains and sensor noise
    extra += subj.mains_mv * np.sin(2 * np.pi * subj.mains_hz * t + rng.uniform(0, 6.3))
    extra += subj.sensor_mv * rng.standard_normal(n)
    extra += 0.015 * subj.emg_mv * _band_noise(rng, n, rate, 20, 120)  # resting muscle tone
    for ev in events:
        i0 = max(0, int(ev.start * rate))
        i1 = min(n, int((ev.start + ev.seconds) * rate))
        if i1 - i0 < 2:
            continue
        m = i1 - i0
        qrs = subj.qrs_mv * float(posture[i0:i1].min())  # readability against the QRS of that moment's posture
        disturbed.append((ev.start, ev.start + ev.seconds))
        env = np.clip(np.minimum(np.arange(m), np.arange(m)[::-1]) / (0.3 * rate), 0, 1)
        if ev.kind == "emg":
            burst = env * (0.5 + 0.5 * np.abs(_slow(rng, m, rate, 2.0)))
            extra[i0:i1] += subj.emg_mv * ev.level * burst * _band_noise(rng, m, rate, 20, 120)
            if 3 * 0.75 * subj.emg_mv * ev.level >= 0.5 * qrs:
                unreadable.append((ev.start, ev.start + ev.seconds))
        elif ev.kind == "motion":
            lvl = ev.level * subj.motion
            swing = lvl * rng.uniform(0.2, 0.6) * _band_noise(rng, m, rate, 0.3, 4.0)
            extra[i0:i1] += env * swing
            extra[i0:i1] += env * subj.emg_mv * 0.5 * ev.level * _band_noise(rng, m, rate, 20, 120)
            # QRS-like spikes from electrode movement: at the walking cadence, or irregular
            cadence = rng.uniform(1.5, 2.1)
            tk = ev.start + rng.uniform(0, 0.5)
            while tk < ev.start + ev.seconds:
                w = rng.uniform(0.008, 0.025)
                a = lvl * rng.uniform(0.15, 0.8) * (1 if rng.random() < 0.5 else -1)
                c0 = int(tk * rate)
                j0, j1 = max(i0, c0 - int(4 * w * rate)), min(i1, c0 + int(4 * w * rate) + 1)
                if j1 > j0:
                    extra[j0:j1] += a * np.exp(-0.5 * ((t[j0:j1] - tk) / w) ** 2)
                tk += (1 / cadence) * rng.uniform(0.9, 1.1) if ev.walking else rng.exponential(0.45) + 0.1
            if 0.8 * lvl >= 0.3 * qrs:  # spikes a third of a QRS tall: beats can't be told from artefacts
                unreadable.append((ev.start, ev.start + ev.seconds))
        elif ev.kind == "pop":
            a = rng.uniform(1.0, 4.0) * (1 if rng.random() < 0.5 else -1)
            tau = rng.uniform(0.15, 0.8)
            extra[i0:] += a * np.exp(-(t[i0:] - ev.start) / tau) * (t[i0:] - ev.start < 8 * tau)
            unreadable.append((ev.start, ev.start + min(ev.seconds, 3 * tau + 0.3)))
        elif ev.kind == "lead_off":
            lead_off[i0:i1] = True
            unreadable.append((ev.start, ev.start + ev.seconds))
    x = heart * gain + extra
    if lead_off.any():  # an open electrode: the input floats to a rail or picks up interference
        k = np.flatnonzero(lead_off)
        rail = ADC_RANGE_MV if rng.random() < 0.5 else 0.0
        hum = rng.uniform(0.05, 1.5) * np.sin(2 * np.pi * subj.mains_hz * t[k])
        x[k] = rail + hum + 0.05 * rng.standard_normal(len(k))
    x = np.clip(x, -ADC_RANGE_MV, ADC_RANGE_MV)
    x = np.round(x / LSB_MV) * LSB_MV
    return x.astype(np.float32), _merge(unreadable), _merge(disturbed)


def _merge(spans):
    out = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


# ---------------------------------------------------------------------------------------------------
# Recordings
# ---------------------------------------------------------------------------------------------------


def record(rng, subj: Subject, segments, noise_events, rate, channels, activity, source, split=""):
    times, classes, rhythm, hr = beat_sequence(rng, subj, segments)
    total = sum(s.seconds for s in segments)
    n = int(total * rate)
    keep = times < n / rate
    times, classes = times[keep], "".join(c for c, k in zip(classes, keep) if k)
    heart = render_heart(rng, subj, times, classes, rhythm, n, rate)
    x, unreadable, disturbed = render_noise(rng, subj, noise_events, n, rate, heart)
    events = [(a, "af") for a, _, lab in rhythm if lab == "AF"]
    events += [(a, "noise") for a, b in unreadable if b - a >= NOISE_EVENT_S]
    events.sort()
    if len(channels) != 1:
        raise TinymlError(f"synthetic-ecg makes one ECG lead; the app asks for channels {list(channels)}")
    label = "af" if any(lab == "AF" for _, _, lab in rhythm) else "normal"
    return Recording(x[:, None], float(rate), tuple(channels), subject=subj.name, label=label, activity=activity,
                     events=events, source=source, split=split,
                     truth={"beats": times.astype(np.float64), "classes": classes, "rhythm": rhythm,
                            "noise": unreadable, "disturbed": disturbed, "hr_bpm": hr})


def mixed_plan(rng, subj: Subject, minutes: float, af: bool):
    """A clinical-style record: sinus at changing rates, maybe brady/tachy, ectopy patterns, maybe an AF
    episode, with the noise of a patient who moves now and then."""
    segs = []
    left = minutes * 60.0
    hr = subj.hr_rest * rng.uniform(0.9, 1.15)
    af_at = rng.uniform(0.15, 0.6) * left if af else None
    t = 0.0
    while left > 1.0:
        d = min(left, rng.uniform(40, 150))
        if af_at is not None and t >= af_at:
            d = min(left, rng.uniform(60, 300))
            segs.append(Segment(d, "af"))
            af_at = None
        else:
            x = rng.random()
            if x < 0.12:
                h1 = rng.uniform(36, 50)
                segs.append(Segment(d, hr0=h1, hr1=h1 * rng.uniform(0.95, 1.05)))  # sinus bradycardia
            elif x < 0.24:
                h1 = rng.uniform(105, 165)
                segs.append(Segment(d, hr0=hr, hr1=h1))  # exercise ramp into tachycardia
                hr = h1
            elif x < 0.32:
                segs.append(Segment(d, hr0=hr, hr1=subj.hr_rest))
                hr = subj.hr_rest
            else:
                e = rng.choice(["", "", "pvc", "bigeminy", "trigeminy", "couplets", "runs", "pac", "pac_runs"])
                rate = {"pvc": rng.uniform(0.03, 0.15), "pac": rng.uniform(0.03, 0.15),
                        "couplets": rng.uniform(0.02, 0.08), "runs": rng.uniform(0.01, 0.04),
                        "pac_runs": rng.uniform(0.02, 0.06)}.get(str(e), 0.0)
                segs.append(Segment(d, hr0=hr, hr1=hr * rng.uniform(0.95, 1.05), ectopy=str(e), ectopy_rate=rate))
        t += d
        left -= d
    return segs, noise_plan(rng, minutes * 60.0, active=rng.uniform(0.05, 0.25))


def noise_plan(rng, seconds, active=0.15, pops_per_h=3.0, lead_off_per_h=1.5):
    """Noise episodes over `seconds`: motion (walking or fidgeting; sometimes heavy), EMG bursts, posture
    changes, electrode pops and lead-off."""
    ev = []
    t = rng.exponential(60)
    while t < seconds:
        if rng.random() < active:
            d = rng.uniform(5, 60)
            heavy = rng.random() < 0.3
            ev.append(NoiseEvent("motion", t, d, level=rng.uniform(0.8, 1.6) if heavy else rng.uniform(0.1, 0.5),
                                 walking=rng.random() < 0.6))
            t += d
        if rng.random() < 0.3:
            ev.append(NoiseEvent("emg", t, rng.uniform(1, 10), level=rng.uniform(0.3, 1.5)))
        if rng.random() < 0.15:
            ev.append(NoiseEvent("posture", t, rng.uniform(0.5, 3)))
        t += rng.exponential(60)
    for kind, per_h, dur in (("pop", pops_per_h, (1.0, 3.0)), ("lead_off", lead_off_per_h, (2.0, 25.0))):
        for _ in range(rng.poisson(per_h * seconds / 3600)):
            ev.append(NoiseEvent(kind, rng.uniform(0, seconds), rng.uniform(*dur)))
    return sorted(ev, key=lambda e: e.start)


def daily_plan(rng, subj: Subject, minutes: float):
    """A long ambulatory stream in sinus rhythm: rest, walking (motion artefacts at the cadence, a faster
    heart), sleep (slower), posture changes, the subject's own ectopic beats, pops and brief lead-off. No AF:
    what false AF alarms per hour are counted on."""
    segs, noise = [], []
    t, total = 0.0, minutes * 60.0
    hr = subj.hr_rest
    while t < total - 1:
        d = min(total - t, rng.uniform(60, 600))
        act = rng.choice(["rest", "walk", "sleep", "rest", "walk"])
        if act == "walk":
            h1 = subj.hr_rest * rng.uniform(1.2, 1.6)
            segs.append(Segment(d, hr0=hr, hr1=h1))
            hr = h1
            noise.append(NoiseEvent("motion", t, d, level=rng.uniform(0.1, 1.2), walking=True))
        elif act == "sleep":
            h1 = subj.hr_rest * rng.uniform(0.8, 0.95)
            segs.append(Segment(d, hr0=hr, hr1=h1))
            hr = h1
        else:
            h1 = subj.hr_rest * rng.uniform(0.95, 1.1)
            e = "bigeminy" if rng.random() < 0.05 else ("pvc" if rng.random() < 0.2 else "")
            segs.append(Segment(d, hr0=hr, hr1=h1, ectopy=e, ectopy_rate=rng.uniform(0.01, 0.05)))
            hr = h1
        t += d
    noise += noise_plan(rng, total, active=0.1)
    return segs, sorted(noise, key=lambda e: e.start)


def generate(
    *,
    rate: float,
    channels,
    seed: int = 0,
    progress: bool = False,
    subjects: int = 40,
    records_per_subject: int = 3,
    record_minutes: float = 8.0,
    af_fraction: float = 0.5,
    stream_hours: float = 10.0,
    stream_minutes: float = 60.0,
    workers: int = 2,
) -> list[Recording]:
    """Per subject: `records_per_subject` mixed records (a share `af_fraction` with an AF episode) and its part
    of `stream_hours` of ambulatory sinus streams (activity "stream"), cut into pieces of `stream_minutes`."""
    if subjects < 1:
        raise TinymlError("synthetic-ecg: subjects must be >= 1")
    per_subject_stream = stream_hours * 60.0 / subjects
    jobs = [(seed, i, rate, tuple(channels), records_per_subject, record_minutes, af_fraction, per_subject_stream,
             stream_minutes) for i in range(subjects)]
    out = run_forked(_subject_job, jobs, workers=workers, name="synthetic-ecg", unit="subject", progress=progress)
    return [r for recs in out for r in recs]


def _subject_job(job):
    seed, i, rate, channels, n_rec, minutes, af_fraction, stream_min, piece = job
    subj = make_subject(np.random.default_rng([seed, i, 0]), i)
    rng = np.random.default_rng([seed, i, 1])
    recs = []
    for k in range(n_rec):
        af = rng.random() < af_fraction
        segs, noise = mixed_plan(rng, subj, minutes * rng.uniform(0.8, 1.2), af)
        recs.append(record(rng, subj, segs, noise, rate, channels, "record", f"synthetic-ecg:{seed}:{subj.name}:r{k}"))
    rng = np.random.default_rng([seed, i, 2])
    left, k = stream_min, 0
    while left > 0.5:
        m = min(piece, left)
        segs, noise = daily_plan(rng, subj, m)
        recs.append(record(rng, subj, segs, noise, rate, channels, "stream", f"synthetic-ecg:{seed}:{subj.name}:s{k}"))
        left -= m
        k += 1
    return recs


def scene(*, rate, channels, seed: int = 0, subject: int = 900, parts=None) -> Recording:
    """A scripted scene of an unseen subject: `parts` = [(seconds, what)], what one of "sinus", "af",
    "bigeminy", "motion", "brady", "tachy", "lead_off". Default: the demo of the heart-rate app."""
    parts = parts or [(60, "sinus"), (75, "af"), (45, "sinus"), (40, "bigeminy"), (30, "sinus"), (40, "motion"),
                      (30, "sinus"), (60, "brady")]
    rng = np.random.default_rng([seed, subject, 7])
    subj = make_subject(np.random.default_rng([seed, subject, 0]), subject, prefix="syn-ecg-demo")
    subj.pvc_rate = subj.pac_rate = 0.0
    subj.mains_mv = min(subj.mains_mv, 0.02)
    subj.motion = 1.0
    subj.gain = 1.0
    segs, noise = [], []
    t = 0.0
    hr = subj.hr_rest = 72.0
    for sec, what in parts:
        if what == "af":
            segs.append(Segment(sec, "af"))
        elif what == "bigeminy":
            segs.append(Segment(sec, hr0=hr, ectopy="bigeminy"))
        elif what == "brady":
            segs.append(Segment(sec, hr0=42.0, hr1=40.0))
        elif what == "tachy":
            segs.append(Segment(sec, hr0=135.0, hr1=140.0))
        else:
            segs.append(Segment(sec, hr0=hr))
            if what == "motion":
                noise.append(NoiseEvent("motion", t, sec, level=1.2, walking=False))
            elif what == "lead_off":
                noise.append(NoiseEvent("lead_off", t + 2, sec - 4))
        t += sec
    rec = record(rng, subj, segs, noise, rate, channels, "scene", f"synthetic-ecg:scene:{seed}:{subject}")
    rec.truth["parts"] = list(parts)
    return rec
