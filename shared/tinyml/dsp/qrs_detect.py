"""Streaming QRS detector of the Pan-Tompkins family (C twin `tml_qrs_detect`, bit-exact beat indices).

Input: a band-passed ECG y (float32, mV) at `rate`, one sample at a time (here: a whole signal, which a
causal detector treats exactly as a stream). Output: one (R-peak index, decision index) per beat, in order.

Stages, per sample n (float32 where it filters, integer where it decides):
1. float32: z = detection band-pass (Butterworth `band`, tinyml.dsp.biquad, state carried) of y;
   v = clamp(floor(z * gain + 0.5), -32768, 32767)                      (float32 multiply and add, then int)
2. int32: d = 2v[n] + v[n-1] - v[n-3] - 2v[n-4] (five-point derivative; history starts at 0);
   a = min(|d|, 46340); s = min(a*a, cap) with cap = (2^31 - 1) // mwi_n; m[n] = sum of the last mwi_n s
   (moving-window integration; exact in int32).
3. integer peak tracking on m: DESCENT follows the minimum; the first rise starts an ASCENT that follows
   the maximum (first index of it). A candidate peak (index p, height v = m[p]) is confirmed at the first
   sample where 2 m[n] < v, or when p is force_n = ring_n - search_n - 1 samples old (a plateau).
   At confirmation, within S = [max(p - search_n, n - ring_n + 1, last r + 1, 0), p]: the steepest sample ms =
   first argmax of a over S (the QRS: a T wave or a baseline hump can be taller than a small QRS, never as
   steep), then the R peak r = first argmax of |y| over [max(ms - locate_n, S's start), ms] (the peak whose
   slope that was; the detection filter delays the slope by a few samples); and its slope = max a over
   [max(p - mwi_n + 1, n - ring_n + 1), p]. Both inside the last ring_n samples, the rings the device keeps.
4. integer decisions (Pan & Tompkins 1985, Hamilton & Tompkins 1986): the first learn_n samples only learn
   (SPKI = max m >> 1, NPKI = (sum m // learn_n) >> 1; SPKS = max a >> 1, NPKS = (sum a // learn_n) >> 1).
   Then each candidate is
   - ignored within refractory_n of the last QRS peak;
   - noise (a T wave) within twave_n of it when 2*slope < that QRS's slope;
   - QRS when v > TH1 and slope > THS: SPKI = (v + 7 SPKI) >> 3, SPKS = (slope + 7 SPKS) >> 3; otherwise
     noise: NPKI = (v + 7 NPKI) >> 3, NPKS = (slope + 7 NPKS) >> 3, and the highest noise peak with v > TH2
     and 2*slope > THS since the last QRS is kept for search-back.
   TH1 = NPKI + ((SPKI - NPKI) >> 2), TH2 = TH1 >> 1, THS = NPKS + ((SPKS - NPKS) >> 1), recomputed after
   every change. The second, slope threshold is Pan-Tompkins' rule that a QRS must stand out in the filtered
   signal as well as in the integral: low-voltage QRS complexes in broadband noise give integral bumps as
   large as the beats' but not their steep slopes (on the generator's training subjects it halves the false
   detections for a 0.03 % loss of sensitivity).
   Search-back, checked after every sample: when n - max(last QRS peak, last search-back) > 166 * RRavg // 100
   (RRavg = integer mean of the last 8 QRS peak intervals, rr_init_n before any), the kept noise peak becomes a
   QRS (SPKI = (v + 3 SPKI) >> 2, SPKS = (slope + 3 SPKS) >> 2); with none kept, SPKI and SPKS decay by a
   quarter (not below NPKI, NPKS) so that a
   detector blinded by an artefact recovers.

Every decision is integer, so Python and C agree on every beat; the only float32 steps (the band-pass, the
gain, |y| comparisons) are single IEEE operations in the same order (-ffp-contract=off).

As a stream block (`apply`), one ECG channel becomes two channels, both float32:
  rr_s  the latest R-R interval in seconds, (float)(r_k - r_{k-1}) / rate, held until the next beat (0 before
        the second beat);
  lag   at the sample n where a beat is decided, n - r (>= 1: a peak is confirmed only after it), else 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..errors import TinymlError
from .biquad import biquad, design_biquad

INT32_MAX = 2**31 - 1


def _samples(seconds: float, rate: float) -> int:
    """floor(seconds * rate + 0.5) in float32 (tinyml.postprocess.samples_of; the same on the device)."""
    f32 = np.float32
    return int(np.floor(f32(seconds) * f32(rate) + f32(0.5)))


@dataclass(frozen=True)
class QrsConfig:
    """Integer constants of the detector at one rate (generated into the firmware's tables)."""

    rate: float
    sos: np.ndarray  # detection band-pass, float32 [k, 6]
    gain: float  # counts per mV into the integer stage
    mwi_n: int
    refractory_n: int
    twave_n: int
    learn_n: int
    search_n: int
    ring_n: int
    rr_init_n: int
    locate_n: int

    @property
    def cap(self) -> int:
        return INT32_MAX // self.mwi_n

    @property
    def force_n(self) -> int:
        return self.ring_n - self.search_n - 1

    def tables(self) -> dict:
        """What the C twin's tml_qrs_detect_config holds, by name."""
        return {"sos": self.sos, "n_sections": self.sos.shape[0], "gain": np.float32(self.gain),
                "mwi_n": self.mwi_n, "refractory_n": self.refractory_n, "twave_n": self.twave_n,
                "learn_n": self.learn_n, "search_n": self.search_n, "ring_n": self.ring_n,
                "rr_init_n": self.rr_init_n, "locate_n": self.locate_n}


@lru_cache(maxsize=32)
def qrs_config(rate: float, band=(5.0, 15.0), order: int = 2, gain: float = 200.0, mwi_s: float = 0.15,
               refractory_s: float = 0.2, twave_s: float = 0.36, learn_s: float = 2.0, search_s: float = 0.25,
               ring_s: float = 1.0, locate_s: float = 0.075) -> QrsConfig:
    """The detector's constants at `rate` (cached: pass `band` as a tuple)."""
    sos = design_biquad("bandpass", list(band), rate, order)
    sos.flags.writeable = False
    c = QrsConfig(float(rate), sos, float(np.float32(gain)), _samples(mwi_s, rate), _samples(refractory_s, rate),
                  _samples(twave_s, rate), _samples(learn_s, rate), _samples(search_s, rate),
                  _samples(ring_s, rate), _samples(1.0, rate), _samples(locate_s, rate))
    if c.mwi_n < 1 or c.search_n < 1 or c.learn_n < 1 or c.refractory_n < 1:
        raise TinymlError(f"qrs_detect: windows too short for {rate:g} Hz")
    if c.ring_n <= c.search_n + c.mwi_n + 1:
        raise TinymlError(f"qrs_detect: ring_s ({ring_s}) must exceed search_s + mwi_s")
    if not gain > 0:
        raise TinymlError(f"qrs_detect: gain must be > 0, got {gain}")
    return c


def integrator(y: np.ndarray, cfg: QrsConfig) -> tuple[np.ndarray, np.ndarray]:
    """Stages 1-2 over a whole signal: (m, a) int32, the moving-window integral and the clamped |derivative|."""
    z, _ = biquad(np.asarray(y, np.float32), cfg.sos)
    f32 = np.float32
    v = np.floor(z * f32(cfg.gain) + f32(0.5))
    v = np.clip(v, -32768, 32767).astype(np.int64)
    p = np.concatenate([np.zeros(4, np.int64), v])
    d = 2 * p[4:] + p[3:-1] - p[1:-3] - 2 * p[:-4]
    a = np.minimum(np.abs(d), 46340)
    s = np.minimum(a * a, cfg.cap)
    cs = np.cumsum(s)
    m = cs.copy()
    m[cfg.mwi_n :] -= cs[: -cfg.mwi_n]
    return m.astype(np.int32), a.astype(np.int32)


def qrs_detect(y: np.ndarray, rate: float, **params) -> tuple[np.ndarray, np.ndarray]:
    """Beats of a band-passed ECG y [n] (mV): (R-peak indices, decision indices), int64, in order."""
    if "band" in params:
        params["band"] = tuple(float(b) for b in params["band"])
    return detect_with(y, qrs_config(float(rate), **params))


def detect_with(y: np.ndarray, cfg: QrsConfig) -> tuple[np.ndarray, np.ndarray]:
    y = np.ascontiguousarray(y, np.float32).reshape(-1)
    if y.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    m, a = integrator(y, cfg)
    return _decide()(m, a, y, cfg.mwi_n, cfg.refractory_n, cfg.twave_n, cfg.learn_n, cfg.search_n, cfg.ring_n,
                     cfg.rr_init_n, cfg.locate_n)


def beat_channels(r: np.ndarray, det: np.ndarray, n: int, rate: float) -> np.ndarray:
    """The stream block's output [n, 2]: rr_s held from each decision on, and the lag marker."""
    out = np.zeros((n, 2), np.float32)
    if len(r) >= 2:
        rr = (r[1:] - r[:-1]).astype(np.float32) / np.float32(rate)
        starts = det[1:]
        hold = np.zeros(n, np.float32)
        hold[starts] = rr  # decisions are strictly increasing: one value per decision sample
        idx = np.zeros(n, np.int64)
        idx[starts] = np.arange(1, len(starts) + 1)
        idx = np.maximum.accumulate(idx)
        vals = np.concatenate([[np.float32(0)], rr])
        out[:, 0] = vals[idx]
    out[det, 1] = (det - r).astype(np.float32)
    return out


def beats_from_lag(lag: np.ndarray, first_index: int) -> np.ndarray:
    """R-peak indices of the beats marked in a lag channel whose first sample is `first_index`."""
    j = np.flatnonzero(lag > 0)
    return first_index + j - lag[j].astype(np.int64)


_DECIDE = None


def _decide():
    """The integer decision loop, compiled once by numba (the same loop, line for line, as tml_qrs_detect.c)."""
    global _DECIDE, _push_rr
    if _DECIDE is None:
        import numba

        _push_rr = numba.njit(cache=True, nogil=True)(_push_rr_py)
        _DECIDE = numba.njit(cache=True, nogil=True)(_decide_py)
    return _DECIDE


def _push_rr_py(rr, rr_i, rr_k, rr_sum, iv):
    """One more QRS peak interval into the ring of the last 8 (C: push_rr): (next slot, count, sum)."""
    rr_sum += iv - rr[rr_i]
    rr[rr_i] = iv
    rr_i = (rr_i + 1) & 7
    if rr_k < 8:
        rr_k += 1
    return rr_i, rr_k, rr_sum


_push_rr = _push_rr_py


def _decide_py(m, a, y, mwi_n, refr_n, twave_n, learn_n, search_n, ring_n, rr_init, locate_n):
    n_tot = m.shape[0]
    cap_beats = n_tot // max(refr_n, 1) + 2
    r_out = np.empty(cap_beats, np.int64)
    d_out = np.empty(cap_beats, np.int64)
    nb = 0
    force_n = ring_n - search_n - 1
    ascending = False
    lo = 0
    pk = 0
    pk_i = 0
    lmax = 0
    lsum = 0
    learned = False
    spki = 0
    npki = 0
    th1 = 0
    th2 = 0
    have = False
    last_p = 0
    last_r = -1
    last_slope = 0
    last_sb = 0
    sb_v = 0
    sb_p = 0
    sb_r = 0
    sb_s = 0
    rr = np.zeros(8, np.int64)
    rr_k = 0
    rr_i = 0
    rr_sum = 0
    spks = 0
    npks = 0
    ths1 = 0
    lamax = 0
    lasum = 0
    for n in range(n_tot):
        mv = np.int64(m[n])
        if not learned:
            if mv > lmax:
                lmax = mv
            lsum += mv
            if a[n] > lamax:
                lamax = np.int64(a[n])
            lasum += np.int64(a[n])
        # --- candidate peaks
        confirmed = False
        if ascending:
            if mv > pk:
                pk = mv
                pk_i = n
            if 2 * mv < pk or n - pk_i >= force_n:
                confirmed = True
                ascending = False
                lo = mv
        else:
            if mv > lo:
                ascending = True
                pk = mv
                pk_i = n
            elif mv < lo:
                lo = mv
        if confirmed and learned:
            p = pk_i
            v = pk
            ring0 = n - ring_n + 1
            s0 = p - search_n
            if ring0 > s0:
                s0 = ring0
            if last_r + 1 > s0:
                s0 = last_r + 1
            if s0 < 0:
                s0 = 0
            ms = s0  # the steepest sample of the QRS (the derivative peaks there; T waves are slow)
            best_a = np.int64(-1)
            for i in range(s0, p + 1):
                if a[i] > best_a:
                    best_a = np.int64(a[i])
                    ms = i
            lo_r = ms - locate_n
            if s0 > lo_r:
                lo_r = s0
            r = ms
            best = np.float32(-1.0)
            for i in range(lo_r, ms + 1):
                ay = abs(y[i])
                if ay > best:
                    best = ay
                    r = i
            b0 = p - mwi_n + 1
            if ring0 > b0:
                b0 = ring0
            if b0 < 0:
                b0 = 0
            slope = 0
            for i in range(b0, p + 1):
                if a[i] > slope:
                    slope = np.int64(a[i])
            if have and p - last_p < refr_n:
                pass  # refractory: ignored
            elif have and p - last_p < twave_n and 2 * slope < last_slope:
                npki = (v + 7 * npki) >> 3  # a T wave
            elif v > th1 and slope > ths1:
                spki = (v + 7 * spki) >> 3
                spks = (slope + 7 * spks) >> 3
                if have:
                    rr_i, rr_k, rr_sum = _push_rr(rr, rr_i, rr_k, rr_sum, p - last_p)
                have = True
                last_p = p
                last_r = r
                last_slope = slope
                sb_v = 0
                r_out[nb] = r
                d_out[nb] = n
                nb += 1
            else:
                npki = (v + 7 * npki) >> 3
                npks = (slope + 7 * npks) >> 3
                if v > th2 and 2 * slope > ths1 and v > sb_v:
                    sb_v = v
                    sb_p = p
                    sb_r = r
                    sb_s = slope
            th1 = npki + ((spki - npki) >> 2)
            th2 = th1 >> 1
            ths1 = npks + ((spks - npks) >> 1)
        # --- search-back
        if learned:
            avg = rr_sum // rr_k if rr_k > 0 else rr_init
            ref = last_sb
            if have and last_p > ref:
                ref = last_p
            if n - ref > (166 * avg) // 100:
                if sb_v > 0:
                    spki = (sb_v + 3 * spki) >> 2
                    spks = (sb_s + 3 * spks) >> 2
                    if have:
                        rr_i, rr_k, rr_sum = _push_rr(rr, rr_i, rr_k, rr_sum, sb_p - last_p)
                    have = True
                    last_p = sb_p
                    last_r = sb_r
                    last_slope = sb_s
                    sb_v = 0
                    r_out[nb] = sb_r
                    d_out[nb] = n
                    nb += 1
                else:
                    spki = spki - (spki >> 2)
                    if spki < npki:
                        spki = npki
                    spks = spks - (spks >> 2)
                    if spks < npks:
                        spks = npks
                th1 = npki + ((spki - npki) >> 2)
                th2 = th1 >> 1
                ths1 = npks + ((spks - npks) >> 1)
                last_sb = n
        elif n == learn_n - 1:
            spki = lmax >> 1
            npki = (lsum // learn_n) >> 1
            th1 = npki + ((spki - npki) >> 2)
            th2 = th1 >> 1
            spks = lamax >> 1
            npks = (lasum // learn_n) >> 1
            ths1 = npks + ((spks - npks) >> 1)
            learned = True
            last_sb = n
    return r_out[:nb], d_out[:nb]
