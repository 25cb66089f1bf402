"""Household sounds that are neither speech nor steady noise: the nuisances a microphone in a home hears.

Steady noise (fans, hum, coloured noise) is the easy case for a listening device; what raises its false
accepts are short, structured sounds with a pitch or a rhythm: dishes and cutlery, a running tap, knocks
and footsteps, a rhythmic machine (exercise bike, washing machine), a person's non-word sounds (coughs,
laughs, hums, a cat imitated) and music. Each kind is built from its physics, not from recordings:

- clatter: impacts on plates and cutlery ring a few lightly damped high modes (1.2-7 kHz, 10-150 ms);
- water: a tap is hiss plus many bubbles, each a short damped tone whose pitch rises as it nears the
  surface (Minnaert resonance, 1-5 kHz);
- knock: knuckles, doors and footsteps are low damped thumps (60-250 Hz) with a click, in groups or steps;
- machine: a periodic whoosh (noise modulated once per turn), a motor's harmonics that wobble, a squeak;
- vocal: a glottal pulse train through moving formants (meows, hums, laughs as repeated syllables) or a
  noisy burst through formants (a cough): voice-like, but no word;
- music: notes of harmonic tones with an attack and a decay, sometimes chords, and hi-hat bursts.

`sound(kind, n, rate, rng)` gives n samples at unit RMS (float32); sounds leave gaps, as they do in a home.
"""

from __future__ import annotations

import numpy as np
from scipy import signal as sps

from ..errors import TinymlError

REDRAWS = 20


def sound(kind: str, n: int, rate: float, rng: np.random.Generator) -> np.ndarray:
    """n samples of a household sound of `kind` (SOUND_KINDS) at `rate` Hz, unit RMS."""
    if kind not in _MAKERS:
        raise TinymlError(f"unknown household sound {kind!r}; allowed: {', '.join(SOUND_KINDS)}")
    if n <= 0:
        raise TinymlError(f"household sound: {n} samples asked for (needs at least 1)")
    for _ in range(REDRAWS):  # a short window can fall wholly in a gap between sounds: draw it again
        y = np.asarray(_MAKERS[kind](n, float(rate), rng), np.float64)
        if not np.isfinite(y).all():
            raise TinymlError(f"household sound {kind!r}: the synthesis gave a non-finite sample")
        rms = np.sqrt(np.mean(y * y))
        if rms > 0:
            return (y / rms).astype(np.float32)
    raise TinymlError(f"household sound {kind!r}: {REDRAWS} draws of {n} samples held no sound")


def _onsets(n: int, rate: float, rng, per_s: float, lead: float) -> np.ndarray:
    """Poisson onsets (sample indices) over n samples, from `lead` s before the window (the longest sound of
    the kind: one that started earlier still rings in), at least one."""
    span = n / rate + lead
    k = max(1, int(rng.poisson(per_s * span)))
    return ((rng.uniform(0.0, span, k) - lead) * rate).astype(int)


def _add(y: np.ndarray, at: int, x: np.ndarray) -> None:
    """y[at:at+len(x)] += x, clipped to y's extent (x may start before 0 or run past the end)."""
    a, b = max(at, 0), min(at + len(x), len(y))
    if a < b:
        y[a:b] += x[a - at : b - at]


def _ring(rate: float, freqs, decays, amps, dur: float) -> np.ndarray:
    """Damped sinusoids (modes) summed: sum a_k exp(-t / tau_k) sin(2 pi f_k t)."""
    t = np.arange(int(dur * rate)) / rate
    out = np.zeros(len(t))
    for f, tau, a in zip(freqs, decays, amps):
        out += a * np.exp(-t / tau) * np.sin(2 * np.pi * f * t)
    return out


def _clatter(n, rate, rng):
    y = np.zeros(n)
    top = 0.45 * rate
    for at in _onsets(n, rate, rng, rng.uniform(1.0, 8.0), 0.5):
        k = int(rng.integers(3, 9))
        freqs = np.minimum(np.exp(rng.uniform(np.log(1200.0), np.log(7000.0), k)), top)
        decays = rng.uniform(0.01, 0.15, k)
        amps = 10 ** (rng.uniform(-20, 0, k) / 20)
        hit = _ring(rate, freqs, decays, amps, 0.5) * 10 ** (rng.uniform(-25, 0) / 20)
        click = rng.normal(0, 1, max(1, int(0.001 * rate))) * 0.5 * np.abs(hit).max()
        hit[: len(click)] += click
        _add(y, at, hit)
    return y


def _water(n, rate, rng):
    b, a = sps.butter(2, [300.0 / (rate / 2), min(6000.0 / (rate / 2), 0.95)], "band")
    hiss = sps.lfilter(b, a, rng.normal(0, 1, n))
    t = np.arange(n) / rate
    hiss *= 1 + 0.4 * np.sin(2 * np.pi * rng.uniform(2, 9) * t + rng.uniform(0, 6.3))
    y = hiss * rng.uniform(0.05, 0.3)
    top = 0.45 * rate
    for at in _onsets(n, rate, rng, rng.uniform(100.0, 600.0), 0.05):
        f0 = min(np.exp(rng.uniform(np.log(1000.0), np.log(5000.0))), top / 1.6)
        tau = rng.uniform(0.002, 0.01)
        tt = np.arange(int(5 * tau * rate)) / rate
        rise = rng.uniform(0.1, 0.6)  # the pitch rises as the bubble nears the surface
        phase = 2 * np.pi * f0 * (tt + rise * tt * tt / (2 * 5 * tau))
        _add(y, at, np.exp(-tt / tau) * np.sin(phase) * 10 ** (rng.uniform(-20, 0) / 20))
    return y


def _knock(n, rate, rng):
    y = np.zeros(n)
    if rng.random() < 0.5:  # footsteps: a steady walk
        step = 1.0 / rng.uniform(1.5, 2.2)
        starts = np.arange(-rng.uniform(0, step), n / rate, step)
    else:  # knocks and doors: groups of 2-4 hits
        starts = []
        for g in _onsets(n, rate, rng, rng.uniform(0.5, 1.5), 1.3) / rate:
            gap = rng.uniform(0.12, 0.3)
            starts += [g + i * gap for i in range(int(rng.integers(2, 5)))]
    for s in starts:
        f = rng.uniform(60.0, 250.0)
        hit = _ring(rate, [f, f * rng.uniform(1.8, 3.2), rng.uniform(800, 2500)],
                    [rng.uniform(0.02, 0.08), rng.uniform(0.01, 0.04), rng.uniform(0.002, 0.008)],
                    [1.0, rng.uniform(0.2, 0.6), rng.uniform(0.1, 0.5)], 0.4)
        _add(y, int(s * rate), hit * 10 ** (rng.uniform(-10, 0) / 20))
    return y


def _machine(n, rate, rng):
    t = np.arange(n) / rate
    turn = rng.uniform(0.7, 3.0)  # turns per second
    lo, hi = rng.uniform(200, 800), rng.uniform(1500, 6000)
    b, a = sps.butter(2, [lo / (rate / 2), min(hi / (rate / 2), 0.95)], "band")
    cycle = 0.5 * (1 + np.sin(2 * np.pi * turn * t + rng.uniform(0, 6.3)))
    y = sps.lfilter(b, a, rng.normal(0, 1, n)) * cycle ** rng.uniform(1, 4)
    f_motor = rng.uniform(40, 200) * (1 + 0.02 * np.sin(2 * np.pi * rng.uniform(0.1, 1) * t))
    ph = 2 * np.pi * np.cumsum(f_motor) / rate
    y = y + rng.uniform(0.1, 0.5) * sum(np.sin(k * ph) / k for k in range(1, 6))
    if rng.random() < 0.5:  # a squeak once per turn
        f_sq = rng.uniform(1000, min(3500, 0.4 * rate))
        sq = np.sin(2 * np.pi * np.cumsum(f_sq * (1 + 0.1 * cycle)) / rate) * (cycle > rng.uniform(0.85, 0.97))
        y = y + rng.uniform(0.2, 1.0) * sq
    return y


# Vowel formants (F1, F2, F3 in Hz; adult): the targets a vocal sound glides between.
_VOWELS = ((270, 2290, 3010), (390, 1990, 2550), (530, 1840, 2480), (660, 1720, 2410), (730, 1090, 2440),
           (570, 840, 2410), (440, 1020, 2240), (300, 870, 2240), (640, 1190, 2390))


def _formants(x, rate, tracks, gains=(1.0, 0.5, 1 / 3)):
    """x through three resonators whose centre frequencies follow `tracks` (3 arrays), in 10 ms blocks,
    summed with `gains`."""
    out = np.zeros(len(x))
    block = max(1, int(0.01 * rate))
    zi = [np.zeros(2) for _ in tracks]
    for s in range(0, len(x), block):
        seg = x[s : s + block]
        acc = np.zeros(len(seg))
        for j, tr in enumerate(tracks):
            f = min(float(tr[min(s, len(tr) - 1)]), 0.45 * rate)
            bw = 60.0 + 0.05 * f
            r = np.exp(-np.pi * bw / rate)
            a = [1.0, -2 * r * np.cos(2 * np.pi * f / rate), r * r]
            yj, zi[j] = sps.lfilter([1 - r], a, seg, zi=zi[j])
            acc += yj * gains[j]
        out[s : s + len(seg)] = acc
    return out


def _vocal(n, rate, rng):
    y = np.zeros(n)
    scale = rng.uniform(1.0, 1.35)  # formants of a child or a woman sit higher
    for at in _onsets(n, rate, rng, rng.uniform(0.6, 2.0), 1.1):
        style = rng.integers(4)
        dur = rng.uniform(0.15, 0.3) if style == 3 else rng.uniform(0.3, 1.1)
        m = int(dur * rate)
        t = np.arange(m) / rate
        v0, v1 = (_VOWELS[int(i)] for i in rng.integers(len(_VOWELS), size=2))
        glide = np.clip(t / dur * rng.uniform(0.8, 1.5), 0, 1)
        tracks = [scale * (a + (b - a) * glide) for a, b in zip(v0, v1)]
        gains = (1.0, 0.5, 1 / 3)
        if style == 3:  # a cough: a burst of breath noise through the vocal tract
            src = rng.normal(0, 1, m) * np.exp(-t / rng.uniform(0.04, 0.1))
        else:
            f0 = rng.uniform(120, 650) * (1 + rng.uniform(-0.4, 0.4) * glide)  # meow, hum or laugh pitch glide
            if style == 2:  # a laugh: "ha" syllables 4-6 per second
                f0 = f0 * (1 + 0.1 * np.sin(2 * np.pi * 5 * t))
            pulses = np.diff(np.floor(np.cumsum(f0) / rate), prepend=0.0)
            src = pulses + 0.03 * rng.normal(0, 1, m)
            if style == 1:  # a closed-mouth hum: low first formant, the rest weak
                tracks, gains = [np.full(m, 250.0 * scale), np.full(m, 2000.0 * scale), tracks[2]], (1.0, 0.1, 0.05)
            env = np.minimum(1, np.minimum(t, dur - t) / 0.04)
            if style == 2:
                env = env * (0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(4, 6) * t) > 0.3)
            src = src * env
        _add(y, at, _formants(src, rate, tracks, gains) * 10 ** (rng.uniform(-10, 0) / 20))
    return y


def _music(n, rate, rng):
    y = np.zeros(n)
    root = rng.uniform(110, 440)
    steps = np.array([0, 2, 4, 5, 7, 9, 11, 12, 14, 16])
    bright = rng.uniform(0.7, 2.0)  # how fast the partials fall off
    nyq = 0.45 * rate
    for at in _onsets(n, rate, rng, rng.uniform(2.0, 8.0), 0.6):
        dur = rng.uniform(0.1, 0.6)
        t = np.arange(int(dur * rate)) / rate
        env = np.minimum(1, t / 0.01) * np.exp(-t / rng.uniform(0.1, 0.5))
        chord = rng.choice(steps, size=int(rng.integers(1, 4)), replace=False)
        note = np.zeros(len(t))
        for st in chord:
            f = root * 2 ** (st / 12)
            note += sum(np.sin(2 * np.pi * f * k * t) / k ** bright for k in range(1, 9) if f * k < nyq)
        _add(y, at, note * env * 10 ** (rng.uniform(-8, 0) / 20))
    if rng.random() < 0.5:  # a hi-hat on the beat
        b, a = sps.butter(2, min(6000.0 / (rate / 2), 0.9), "high")
        for at in np.arange(0, n, int(rate / rng.uniform(2, 4))):
            m = int(0.05 * rate)
            _add(y, int(at), sps.lfilter(b, a, rng.normal(0, 1, m)) * np.exp(-np.arange(m) / (0.01 * rate)) * 0.3)
    return y


_MAKERS = {"clatter": _clatter, "water": _water, "knock": _knock, "machine": _machine, "vocal": _vocal,
           "music": _music}
SOUND_KINDS = tuple(_MAKERS)
