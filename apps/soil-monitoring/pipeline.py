"""soil-monitoring: what must be code. The models (sensor-fault classifier, 24 h forecast), the window labels
and training examples, the post-processor (fault events, irrigation decision), the ISMN-style rule baseline,
the fitted dry-down baseline, the closed-loop irrigation season and the demo.

Every hour (hop = 4 samples of 15 minutes) the features are the last 24 hours as block summaries (the
`block_summary` chain block: level, range, step and glitch of vwc, rain and ET0 sums, soil temperature and
EC means per hour; missing optional channels as -1). The fault classifier names the newest hour's state
(ok or one of the ISMN quality-control classes, plus a noisy sensor); the forecast model, on the same int8
input, gives the change of the hourly vwc mean 24 hours ahead. The post-processor is integer on the scores
and float32 in a fixed order on the forecast, exactly as firmware/app.c, so Python and the device agree.
"""

from __future__ import annotations

import numpy as np

from tinyml.postprocess import samples_of, score_threshold_q

FAULTS = ["ok", "spike", "drop", "jump", "stuck", "plateau", "rise_no_rain", "out_of_range", "noisy"]
HOP = 4  # samples per hour
# samples a fault episode must have lasted before a window is labelled with it (earlier: not scored):
# a stuck value or a plateau needs hours of constancy to be told from a quiet soil, a spike is instant
EVIDENCE = {"drop": 1, "jump": 1, "stuck": 24, "plateau": 24, "rise_no_rain": 8, "out_of_range": 0, "noisy": 8}
FORECAST_SCALE = 10.0  # the forecast model's target: (vwc in 24 h - vwc now) * 10
HORIZON = 96  # samples: 24 h

# --- models ----------------------------------------------------------------------------------------------


def _trunk(inp, filters, dense, dropout):
    from keras import layers

    x = inp
    for f in filters:  # strided convolutions over the hours: 24 -> 12 -> 6
        x = layers.Conv1D(f, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(dropout)(x)
    return layers.Dense(dense, activation="relu")(x)


def build_model(input_shape, n_classes, *, filters=(12, 16), dense=24, dropout=0.1, **_):
    """Sensor-fault classifier: two strided 1D convolutions over 24 hourly summaries, a dense layer,
    softmax over ok + 8 fault classes. Small on purpose: it runs on a 2 KB, 8-bit microcontroller."""
    import keras
    from keras import layers

    inp = keras.Input(shape=input_shape, batch_size=1)
    out = layers.Dense(n_classes, activation="softmax")(_trunk(inp, filters, dense, dropout))
    return keras.Model(inp, out)


def build_forecast(input_shape, n_out=1, *, filters=(12, 16), dense=16, dropout=0.05, **_):
    """24 h forecast: the same trunk, one linear output (the change of vwc, x10)."""
    import keras
    from keras import layers

    inp = keras.Input(shape=input_shape, batch_size=1)
    out = layers.Dense(n_out)(_trunk(inp, filters, dense, dropout))
    return keras.Model(inp, out)


# --- labels and examples -----------------------------------------------------------------------------------


def _ages(fault: np.ndarray, age: np.ndarray | None) -> np.ndarray:
    """Episode ages; for real data (ISMN flags, no ages) counted along runs of one label."""
    if age is not None and np.any(age):
        return age
    out = np.zeros(len(fault), np.int32)
    for i in range(1, len(fault)):
        out[i] = out[i - 1] + 1 if fault[i] == fault[i - 1] else 0
    return out


def window_labels(rec, ends: np.ndarray) -> np.ndarray:
    """Class of each window ending before sample `ends` (exclusive), -1 where not scored: a fault that has
    not yet shown enough of itself (EVIDENCE), a spike in the newest sample (a glitch is judged with the
    sample after it), or a sample ISMN left unflagged (missing, frozen soil)."""
    fault = np.asarray(rec.truth.get("fault", np.zeros(len(rec.signal), np.int8)))
    age = _ages(fault, rec.truth.get("fault_age"))
    spike = FAULTS.index("spike")
    out = np.zeros(len(ends), np.int64)
    for k, e in enumerate(ends):
        cur, a = int(fault[e - 1]), int(age[e - 1])
        recent = fault[e - 5 : e - 1]
        if cur == -1:
            out[k] = -1
        elif cur not in (0, spike):
            out[k] = cur if a >= EVIDENCE[FAULTS[cur]] else -1
        elif (recent == spike).any():
            out[k] = spike
        elif cur == spike:
            out[k] = -1
    return out


def _augment_frames(frames: np.ndarray, rng) -> np.ndarray:
    """What real nodes differ in: calibration (gain, offset), noise, and optional sensors that are missing."""
    x = frames.copy()
    n = len(x)
    x[:, :, 0] = x[:, :, 0] * rng.uniform(0.95, 1.05, (n, 1)) + rng.normal(0, 0.01, (n, 1))
    for c, p in ((1, 0.3), (2, 0.4), (3, 0.25), (4, 0.4)):  # temperature, EC, rain, ET0 absent
        gone = rng.random(n) < p
        x[gone, :, c] = np.nan
    return x.astype(np.float32)


def _recording_windows(r, fx):
    W = fx.window
    n = len(r.signal)
    if n < W:
        return None, None
    ends = np.arange(W, n + 1, fx.hop)
    return ends, np.lib.stride_tricks.sliding_window_view(r.signal, W, axis=0)[ends - W].transpose(0, 2, 1)


def make_examples(recordings, fx, manifest, rng, augment):
    """Fault-classifier windows (X features, y class). Training keeps every fault window and a share of
    the ok ones; evaluation keeps every scored window (false flags count over all of them)."""
    keep_ok = float(manifest.model["params"].get("ok_fraction", 0.25)) if augment else 1.0
    Xs, ys = [], []
    for r in recordings:
        ends, frames = _recording_windows(r, fx)
        if ends is None:
            continue
        y = window_labels(r, ends)
        sel = (y > 0) | ((y == 0) & (rng.random(len(y)) < keep_ok))
        if not sel.any():
            continue
        f = frames[sel]
        if augment:
            f = _augment_frames(f, rng)
        Xs.append(fx.batch(f))
        ys.append(y[sel])
    if not Xs:
        return np.zeros((0, *fx.input_shape()), np.float32), np.zeros(0, np.int64)
    return np.concatenate(Xs).astype(np.float32), np.concatenate(ys)


def forecast_targets(r, ends: np.ndarray) -> np.ndarray:
    """(hourly vwc mean 24 h after the window) - (its newest hourly mean), x FORECAST_SCALE; NaN where the
    future is out of the recording or any fault touches the window or its next 24 h."""
    v = r.signal[:, 0].astype(np.float64)
    fault = np.asarray(r.truth.get("fault", np.zeros(len(v), np.int8)))
    bad = np.concatenate([[0], np.cumsum(fault != 0)])
    out = np.full(len(ends), np.nan)
    for k, e in enumerate(ends):
        if e + HORIZON > len(v) or bad[min(len(v), e + HORIZON)] - bad[max(0, e - 98)] > 0:
            continue
        now = np.float32(np.mean(v[e - HOP : e]))
        later = np.float32(np.mean(v[e + HORIZON - HOP : e + HORIZON]))
        out[k] = (later - now) * FORECAST_SCALE
    return out


def forecast_examples(recordings, fx, manifest, rng, augment):
    """Forecast windows (X, y, groups): fault-free stretches only; groups = the recording (intervals)."""
    Xs, ys, gs = [], [], []
    stride = 3 if augment else 2  # every 3rd / 2nd hour: neighbouring hours say nearly the same
    for gi, r in enumerate(recordings):
        ends, frames = _recording_windows(r, fx)
        if ends is None:
            continue
        y = forecast_targets(r, ends)
        sel = np.isfinite(y)
        sel[np.arange(len(sel)) % stride != 0] = False
        if not sel.any():
            continue
        f = frames[sel]
        if augment:
            f = _augment_frames(f, rng)
            f[:, :, 0] = frames[sel][:, :, 0]  # no calibration change: the target is in the sensor's scale
        Xs.append(fx.batch(f))
        ys.append(y[sel].astype(np.float32))
        gs.append(np.full(int(sel.sum()), gi))
    if not Xs:
        return np.zeros((0, *fx.input_shape()), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)
    return np.concatenate(Xs), np.concatenate(ys), np.concatenate(gs)


# --- post-processing (C twin: firmware/app.c) ----------------------------------------------------------------


def field_params(manifest) -> dict:
    """The [field] deployment section with its soil water limits resolved: fc, wp and sat as given, or (0)
    from the [postprocess] soil_* tables at the soil's position in [field.allowed] soil (as app.c does)."""
    fld = dict(manifest.section("field"))
    p = manifest.postprocess
    k = list(manifest.deployment_allowed["field"]["soil"]).index(fld["soil"])
    for key in ("fc", "wp", "sat"):
        if not fld[key] > 0:
            fld[key] = p[f"soil_{key}"][k]
    return fld


class PostProcessor:
    """Fault events and the irrigation decision, once per hour.

    Faults: a class whose int8 score reaches `fault_threshold` raises its event on the rising edge, then
    that class stays quiet for `fault_quiet_s` (a stuck sensor is reported once, not every hour).
    Forecast (when the forecast model is given): vwc_24h = vwc_now + dequantized output / 10, where vwc_now is
    the newest hour's mean of vwc in float32 (sequential sum x 0.25). depletion = (fc - vwc) / (fc - wp).
    Irrigate when the forecast depletion reaches the field's allowed depletion `mad`, no fault is being
    reported (a failing sensor must not open the valve), and `irrigate_quiet_s` has passed since the last one.
    Integer score compares and float32 arithmetic in a fixed order, as firmware/app.c does it.
    """

    def __init__(self, manifest, out_scale, out_zero_point, models=None):
        p, f32 = manifest.postprocess, np.float32
        self.labels = list(manifest.labels)
        self.extra = list(manifest.app.get("extra_events", []))
        self.threshold_q = score_threshold_q(p["fault_threshold"], out_scale, out_zero_point)
        self.fault_quiet_n = samples_of(p["fault_quiet_s"], manifest.rate)
        self.spike_quiet_n = samples_of(p["spike_quiet_s"], manifest.rate)
        self.irr_quiet_n = samples_of(p["irrigate_quiet_s"], manifest.rate)
        fld = field_params(manifest)
        self.fc, self.wp, self.mad = f32(fld["fc"]), f32(fld["wp"]), f32(fld["mad"])
        self.forecast = (models or {}).get("forecast")
        self.fx = None
        self.reset()

    def reset(self):
        self.above = np.zeros(len(self.labels), bool)
        self.quiet_until = np.full(len(self.labels), -1, np.int64)
        self.irr_quiet_until = -1
        self.values = [np.nan, np.nan, np.nan]
        self.fault_on = False

    def _vwc_now(self, new):
        acc = np.float32(new[0, 0])
        for j in range(1, len(new)):
            acc = np.float32(acc + new[j, 0])
        return np.float32(acc * np.float32(0.25))

    def step(self, frame, new, first_new, scores_q):
        end = first_new + len(new)
        events = []
        q = np.asarray(scores_q, np.int64)
        fault_on = False
        for c in range(1, len(self.labels)):
            on = q[c] >= self.threshold_q
            fault_on |= bool(on)
            if on and not self.above[c] and end >= self.quiet_until[c]:
                events.append((c, int(q[c])))
                quiet = self.spike_quiet_n if self.labels[c] == "spike" else self.fault_quiet_n
                self.quiet_until[c] = end + quiet
            self.above[c] = on
        self.fault_on = fault_on
        vwc = self._vwc_now(new[-HOP:])
        f32 = np.float32
        span = f32(self.fc - self.wp)
        depletion = f32((self.fc - vwc) / span)
        vwc24 = depletion24 = f32(np.nan)
        if self.forecast is not None:
            dq = self.forecast(frame)
            vwc24 = f32(vwc + f32(dq / f32(FORECAST_SCALE)))
            depletion24 = f32((self.fc - vwc24) / span)
            if (not fault_on and depletion24 >= self.mad and end >= self.irr_quiet_until and "irrigate" in self.extra):
                events.append((len(self.labels) + self.extra.index("irrigate"), 127))
                self.irr_quiet_until = end + self.irr_quiet_n
        self.values = [vwc24, depletion, depletion24]
        return events

    def window_values(self):
        return [float(v) for v in self.values]


# --- demo ---------------------------------------------------------------------------------------------------


def make_demo(manifest, seed):
    """A held-out site and year (Tunis, its last season; clay loam): rain, dry-downs, irrigation when the
    field's own threshold is passed, and a sensor that starts spiking on day 24 and sticks on day 30. The
    truth events are the faults' onsets (when enough of each has shown: EVIDENCE)."""
    from tinyml.data import dataset_module

    gen = dataset_module(manifest.dataset["generator"])
    fld = field_params(manifest)
    rec, _ = gen.demo_season(manifest.channels, site="tunis", soil="clay_loam", seed=seed % 1000, days=36,
                             controller=gen.threshold_control(float(fld["mad"])), spikes_from_day=22.0,
                             stuck_from_day=29.0)
    fault, age = rec.truth["fault"], rec.truth["fault_age"]
    events = []
    for i in np.nonzero(age == 0)[0]:
        c = int(fault[i])
        if c == 0:
            continue
        name = FAULTS[c]
        at = i + (1 if name == "spike" else EVIDENCE[name])  # the sample whose window first names it
        end = ((at // HOP) + 1) * HOP  # windows end on whole hours
        events.append((end / rec.rate, name))
    rec.events = events
    rec.activity = (f"36 days of a simulated clay-loam field at Tunis (real weather, held-out site and year), "
                    f"threshold irrigation, a sensor that spikes from day 22 and sticks on day 29")
    return rec
