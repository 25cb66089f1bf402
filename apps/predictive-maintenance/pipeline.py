"""predictive-maintenance: what must be code. The machine's derived values, the two model builders and
their training examples, the post-processor that calibrates itself on its machine (its C twin is
firmware/app.c, step for step), the app's own metrics (anomaly AUC, false alarms, run-to-failure), the
demo and the model card's extra plots.

One decision per capture: a window of [features] window samples (0.25 s at 25.6 kHz) gives the feature
vector of the manifest's chain (levels, impulsiveness, envelope peaks at the bearing's defect orders, the
spectrum's shape, shaft harmonics). Two int8 models read it:
- the fault classifier (the primary model: the window line's scores over [app] labels), trained across
  many machines, so it reads shapes, not levels (its training copies vary the level +-20 dB);
- the anomaly autoencoder ([models.anomaly]), trained on healthy captures only, reading the features as
  z-scores against the machine's own baseline: how unusual this capture is for THIS machine.

Calibration (PostProcessor, C twin firmware/app.c): a new device learns its machine from its first
`calibration_captures` captures that the classifier calls normal (once `calibration_patience` captures have
passed without completing it, from every further capture: the installer's word that the machine was healthy
when installed; a device that never calibrates never raises the alarm): per feature the mean and spread
(Welford, float32), and the alarm threshold, `threshold_factor` times the mean anomaly score over those
same captures (at least `min_threshold`). A baseline is trusted once it has settled: the next block of
`calibration_captures` learning captures, scored against it without raising the alarm, may reach 1 at most
`settle_max_above` times; otherwise the machine was still changing (a new bearing running in, a machine
still warming up) and that block becomes the baseline to verify, for at most `settle_blocks` blocks in all
(the last is kept; 1: trusted at once). The anomaly score of a capture: the autoencoder's error on its
z-scores (the features `rise_only_features` count upward only: a defect adds energy at its orders, a dip
below the baseline is no fault) plus `classifier_weight` x (1 - P(normal)) (the classifier's belief that
this is a fault, learned across machines, joins the distance from this machine's baseline). Until then
`values.anomaly` is the classifier's 1 - P(normal) over 1 - `calibration_min_normal` (so 1.0 is its alarm
level too); from then on it is the anomaly score over the threshold (while settling, against the baseline being
verified). The learned (settled) state is what `tinyml calibrate` writes, what
`predict --calibration` starts from, and what the device keeps in its non-volatile page.

Events (all integer or float32 comparisons, identical on the device): "anomaly" when values.anomaly >= 1
for `anomaly_hold` captures in a row scored against the calibration (the alarm is against the machine's own baseline),
then not again before it has dropped below 1 and `refractory` captures have passed; a fault class when,
while anomalous (before the first baseline: while the classifier is confident it is no longer normal), it is the
classifier's top non-normal class with P >= `fault_threshold` for `fault_hold` captures in a row, then not
again for `refractory` captures.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

from tinyml.bearing import ORDER_KEYS, defect_orders
from tinyml.errors import TinymlError
from tinyml.postprocess import score_threshold_q

F32 = np.float32
ANOMALY_EVENT = "anomaly"
# learned state kept by the device (firmware/app.c: struct calibration, little-endian)
NV_MAGIC = 0x314D4450  # "PDM1"
NV_VERSION = 2  # 2: the threshold is on the anomaly score with the classifier's term (a version-1 page is re-learned)


# --- [machine]: derived values (the C twin computes them in tml_app_init) -------------------------------


def resolve_deployment(values: dict) -> dict:
    """[machine] as the features use it: a speed in rpm (when not 0) replaces shaft_hz; a bearing geometry
    (balls > 0) replaces the defect orders. Inputs are float32 first, as in app_config.h, then computed in
    float64 like the firmware's double arithmetic."""
    m = dict(values.get("machine", {}))
    if not m:
        return values
    rpm = float(F32(m.get("shaft_rpm", 0.0)))
    if rpm > 0:
        m["shaft_hz"] = rpm / 60.0
    balls = float(F32(m.get("balls", 0)))
    if balls > 0:
        try:
            m.update(defect_orders(balls, float(F32(m.get("ball_mm", 0.0))), float(F32(m.get("pitch_mm", 0.0))),
                                   float(F32(m.get("contact_deg", 0.0)))))
        except ValueError as e:
            raise TinymlError(f"[machine] bearing geometry: {e}") from None
    if not m.get("shaft_hz", 0) > 0:
        raise TinymlError("[machine] needs the shaft speed: shaft_hz (or shaft_rpm) above 0, e.g. "
                          "--set machine.shaft_hz=29.95")
    bad = [k for k in ORDER_KEYS if not m.get(k, 0) > 0]
    if bad:
        raise TinymlError(f"[machine] needs the bearing's defect orders ({', '.join(bad)} missing) or its geometry "
                          "(balls, ball_mm, pitch_mm, contact_deg)")
    return {**values, "machine": m}


# --- models --------------------------------------------------------------------------------------------


def build_classifier(input_shape, n_classes, *, hidden=(32, 16), dropout=0.1, **_):
    """A small MLP over the feature vector (a few thousand weights)."""
    import keras
    from keras import layers

    inp = keras.Input(shape=input_shape, batch_size=1)
    x = layers.Flatten()(inp)
    for h in hidden:
        x = layers.Dense(h, activation="relu")(x)
        x = layers.Dropout(dropout)(x)
    out = layers.Dense(n_classes, activation="softmax")(x)
    return keras.Model(inp, out)


def build_autoencoder(input_shape, n_out, *, hidden=(16, 8, 16), **_):
    """A fully connected autoencoder over the calibrated feature vector (MLPerf Tiny's anomaly design at a
    fraction of the size): it reconstructs healthy z-scores; a fault is what it cannot reconstruct."""
    import keras
    from keras import layers

    inp = keras.Input(shape=input_shape, batch_size=1)
    x = layers.Flatten()(inp)
    for h in hidden:
        x = layers.Dense(h, activation="relu")(x)
    out = layers.Dense(int(np.prod(input_shape)))(x)
    out = layers.Reshape(tuple(input_shape))(out)
    return keras.Model(inp, out)


# --- features of recordings ----------------------------------------------------------------------------


def _level_index(fx) -> list[int]:
    """Features that are absolute levels (ln of g): the chain's first branch, stats rms and peak, and the
    impulsive band's rms; they move with the sensor's gain and the machine's size."""
    return list(fx.manifest.postprocess.get("level_features", []))


def recording_features(r, fx, rng=None, augment=False) -> np.ndarray:
    """Features of every whole window of a recording, float32 [n, *input_shape]. Augmented copies (training)
    see the machine through a slightly wrong configuration (speed 2 %, orders 1 %: a nameplate speed, a
    catalogue bearing) and another gain (+-20 dB) and noise floor. The recording must be at the device rate
    (a 12 kHz record read as 25.6 kHz would put every line at 2.13 times its frequency, silently)."""
    if r.rate is not None and abs(float(r.rate) - fx.rate) > 1e-6:
        raise TinymlError(f"{r.source or r.subject}: recording at {float(r.rate):g} Hz, the features need the device "
                          f"rate {fx.rate:g} Hz (resample it first, as build_dataset and predict do)")
    frames = fx.frames(np.asarray(r.signal, np.float32))
    dep = r.deployment
    if augment and rng is not None:
        mach = dict(dep.get("machine", {}))
        if "shaft_hz" in mach:
            mach["shaft_hz"] = float(mach["shaft_hz"]) * (1 + rng.uniform(-0.02, 0.02))
        for k in ORDER_KEYS:
            if k in mach:
                mach[k] = float(mach[k]) * (1 + rng.uniform(-0.01, 0.01))
        dep = {**dep, "machine": mach}
        g = np.float32(10 ** rng.uniform(-1, 1))
        noise = np.float32(10 ** rng.uniform(-4, -2.7))
        frames = frames * g + rng.normal(0, 1, frames.shape).astype(np.float32) * noise
    return fx.batch(np.ascontiguousarray(frames, np.float32), dep)


def _window_labels(r, n: int, fx) -> np.ndarray:
    """The label index of each window of a recording, -1 where unknown (a history after its onset: a defect
    too small to name yet)."""
    labels = fx.manifest.labels
    if r.label not in labels:
        return np.full(n, -1)
    y = np.full(n, labels.index(r.label))
    if r.activity == "history":
        onset = min((t for t, _ in r.events), default=None)
        if onset is None and r.label != "normal":
            return np.full(n, -1)
        y[:] = labels.index("normal")
        if onset is not None:
            first = int(onset * fx.rate) // fx.hop
            y[first:] = -1
    return y


def make_examples(recordings, fx, manifest, rng, augment):
    """Classifier windows and labels: every capture of a condition, baselines and the healthy part of
    histories thinned to a few per machine; augment: two more copies of each with another configuration
    error, gain and noise floor."""
    X, Y = [], []
    keep_healthy = int(manifest.postprocess.get("healthy_per_recording", 24))
    for r in recordings:
        n = fx.n_windows(len(r.signal))
        if n == 0:
            continue
        y = _window_labels(r, n, fx)
        idx = np.flatnonzero(y >= 0)
        if r.activity in ("baseline", "history") and len(idx) > keep_healthy:
            idx = np.sort(rng.choice(idx, keep_healthy, replace=False))
        if not len(idx):
            continue
        sub = _subset(r, idx, fx)
        for copy in range(3 if augment else 1):
            X.append(recording_features(sub, fx, rng, augment=copy > 0))
            Y.append(y[idx])
    if not X:
        return np.zeros((0, *fx.input_shape()), np.float32), np.zeros(0, np.int64)
    return np.concatenate(X).astype(np.float32), np.concatenate(Y).astype(np.int64)


def _subset(r, idx, fx):
    """A recording made of some of its windows, back to back (hop == window: whole captures)."""
    from tinyml.recording import Recording

    W = fx.window
    sig = np.concatenate([r.signal[i * fx.hop : i * fx.hop + W] for i in idx])
    return Recording(signal=sig, rate=r.rate, channels=r.channels, subject=r.subject, label=r.label,
                     activity=r.activity, source=r.source, deployment=r.deployment)


def anomaly_examples(recordings, fx, manifest, rng, augment):
    """Autoencoder examples: healthy captures as z-scores against their machine's calibration. A baseline or
    a history (healthy part) calibrates on its first captures exactly as the device does (Calibration), and
    every later healthy capture is an example (input = target). Augment: calibrations started at other
    captures (another installation day)."""
    X = []
    p = Params(manifest)
    for r in recordings:
        if r.activity not in ("baseline", "history"):
            continue
        n = fx.n_windows(len(r.signal))
        y = _window_labels(r, n, fx)
        healthy = np.flatnonzero(y == manifest.labels.index("normal"))
        if len(healthy) <= p.n_cal + 4:
            continue
        F = recording_features(_subset(r, healthy, fx), fx).reshape(len(healthy), -1)
        starts = [0] + ([int(s) for s in rng.integers(1, len(F) - p.n_cal - 4, 2)] if augment else [])
        for s in starts:
            cal = Calibration(p, F.shape[1])
            for f in F[s : s + p.n_cal]:
                cal.learn(f)
            cal.finish_spread()
            rest = np.concatenate([F[:s], F[s + p.n_cal :]])
            X.append(cal.z(rest))
    if not X:
        z = np.zeros((0, *fx.input_shape()), np.float32)
        return z, z
    Z = np.concatenate(X).astype(np.float32).reshape(-1, *fx.input_shape())
    return Z, Z


# --- calibration and post-processing (the C twin is firmware/app.c) --------------------------------------


class Params:
    """[postprocess] numbers as float32 / int, computed once (the firmware's TML_CFG_POSTPROCESS_*)."""

    def __init__(self, m, out_scale: float = 1 / 256, out_zero_point: int = -128):
        p = m.postprocess
        self.n_cal = int(p["calibration_captures"])
        self.min_normal_q = score_threshold_q(p["calibration_min_normal"], out_scale, out_zero_point)
        self.patience = int(p["calibration_patience"])
        self.settle_blocks, self.settle_max_above = _settling(m, self.n_cal)
        self.uncal_den = F32(1) - F32(p["calibration_min_normal"])
        self.spread_floor = F32(p["spread_floor"])
        self.z_clip = F32(p["z_clip"])
        self.threshold_factor = F32(p["threshold_factor"])
        self.rise_only = tuple(int(v) for v in p.get("rise_only_features", [0, 0]))  # [first, end)
        self.classifier_weight = F32(p.get("classifier_weight", 0.0))
        self.min_threshold = F32(p["min_threshold"])
        self.fault_q = score_threshold_q(p["fault_threshold"], out_scale, out_zero_point)
        self.anomaly_hold = int(p["anomaly_hold"])
        self.fault_hold = int(p["fault_hold"])
        self.refractory = int(p["refractory"])
        self.out_scale, self.out_zp = F32(out_scale), F32(out_zero_point)


def _settling(m, n_cal: int) -> tuple[int, int]:
    """[postprocess] settle_blocks (>= 1) and settle_max_above (0 to calibration_captures - 1), or one line."""
    out = []
    for key, lo, hi in (("settle_blocks", 1, None), ("settle_max_above", 0, n_cal - 1)):
        v = m.postprocess.get(key)
        if isinstance(v, bool) or not isinstance(v, int) or v < lo or (hi is not None and v > hi):
            raise TinymlError(f"{m.path}: [postprocess] {key} must be a whole number "
                              + (f"from {lo} to {hi}" if hi is not None else f"of at least {lo}") + f", got {v!r}")
        out.append(v)
    return out[0], out[1]


class Calibration:
    """A machine's healthy baseline: per-feature mean and spread (Welford in float32, sample by sample as the
    device), the captures it learned from (kept until the threshold is set), and the alarm threshold."""

    def __init__(self, p: Params, n_features: int):
        self.p = p
        self.n = 0
        self.mean = np.zeros(n_features, F32)
        self.m2 = np.zeros(n_features, F32)
        self.spread = np.ones(n_features, F32)
        self.kept: list[np.ndarray] = []
        self.kept_p_normal: list[np.float32] = []
        self.threshold = F32(0)
        self.done = False

    def learn(self, f: np.ndarray, p_normal=F32(1)) -> None:
        """One healthy capture: its features and the classifier's P(normal) (for its anomaly score)."""
        f = np.asarray(f, F32).reshape(-1)
        self.n += 1
        d = f - self.mean
        self.mean = (self.mean + d / F32(self.n)).astype(F32)
        self.m2 = (self.m2 + d * (f - self.mean)).astype(F32)
        self.kept.append(f)
        self.kept_p_normal.append(F32(p_normal))

    def finish_spread(self) -> None:
        """spread = sqrt(m2 / n + floor^2): the floor keeps a feature that barely moved during calibration
        from making every later wobble look huge."""
        var = self.m2 / F32(self.n)
        self.spread = np.sqrt(var + self.p.spread_floor * self.p.spread_floor).astype(F32)

    def z(self, F: np.ndarray) -> np.ndarray:
        """z-scores against the baseline, clipped; the rise-only features below 0 count as 0."""
        z = (np.asarray(F, F32) - self.mean) / self.spread
        z = np.clip(z, -self.p.z_clip, self.p.z_clip).astype(F32)
        lo, hi = self.p.rise_only
        z[..., lo:hi] = np.maximum(z[..., lo:hi], F32(0))
        return z

    def finish(self, errors: np.ndarray) -> None:
        """The threshold from the anomaly scores of the learned captures."""
        acc = F32(0)
        for e in np.asarray(errors, F32):
            acc = F32(acc + e)
        mean_err = F32(acc / F32(len(errors)))
        t = F32(self.p.threshold_factor * mean_err)
        self.threshold = t if t > self.p.min_threshold else self.p.min_threshold
        self.kept, self.kept_p_normal = [], []
        self.done = True

    # the learned state: a file (tinyml calibrate) and the device's non-volatile page
    def state(self) -> dict:
        return {"captures": self.n, "mean": [float(v) for v in self.mean], "spread": [float(v) for v in self.spread],
                "threshold": float(self.threshold)}

    @classmethod
    def from_state(cls, p: Params, state: dict, n_features: int) -> "Calibration":
        c = cls(p, n_features)
        try:
            mean, spread = np.asarray(state["mean"], F32), np.asarray(state["spread"], F32)
            c.n, c.threshold = int(state["captures"]), F32(state["threshold"])
        except (KeyError, TypeError, ValueError):
            raise TinymlError("calibration: needs captures, mean, spread and threshold") from None
        if mean.shape != (n_features,) or spread.shape != (n_features,):
            raise TinymlError(f"calibration: mean and spread must have {n_features} values (the feature vector), "
                              f"got {mean.shape[0]} and {spread.shape[0]}")
        if not (np.isfinite(mean).all() and np.all(spread > 0) and c.threshold > 0):
            raise TinymlError("calibration: mean must be finite, spread and threshold above 0")
        c.mean, c.spread, c.done = mean, spread, True
        return c


def anomaly_score(p: Params, error: np.ndarray, p_normal: np.ndarray) -> np.ndarray:
    """error + classifier_weight x (1 - P(normal)), float32 step by step as the device."""
    fault = (F32(1) - np.asarray(p_normal, F32)).astype(F32)
    return (np.asarray(error, F32) + (p.classifier_weight * fault).astype(F32)).astype(F32)


def ae_error(ae, z: np.ndarray) -> np.ndarray:
    """The autoencoder's reconstruction error of z-scores [n, F] as the device computes it: z quantized on
    the model's input grid, run int8, output dequantized; error = sequential float32 sum of (z - y)^2 over
    the features, divided by F."""
    from tinyml.features import dequantize, quantize_input

    z = np.asarray(z, F32).reshape(len(z), -1)
    i, o = ae.input, ae.output
    yq = ae.invoke_batch(quantize_input(z.reshape(len(z), *i.shape[1:]), i.scale, i.zero_point))
    y = dequantize(np.asarray(yq, np.int8).reshape(len(z), -1), o.scale, o.zero_point)
    d = z - y
    return (np.add.accumulate(d * d, axis=1)[:, -1] / F32(z.shape[1])).astype(F32)


class PostProcessor:
    """Calibration, values.anomaly and events; see the module docstring. step() gets the window's features
    (float32, the chain's output) besides its int8 scores."""

    def __init__(self, manifest, out_scale, out_zero_point, models=None, calibration=None):
        self.m = manifest
        self.p = Params(manifest, out_scale, out_zero_point)
        self.ae = (models or {}).get("anomaly")
        labels = manifest.labels
        self.normal = labels.index("normal")
        self.faults = [i for i, lab in enumerate(labels) if lab != "normal"]
        names = event_names(manifest)
        self.anomaly_event = names.index(ANOMALY_EVENT)
        self.n_features = None
        self.initial = calibration
        self.reset()

    def reset(self):
        self.cal = None  # the baseline: learning (not done), being verified (done, not settled), or settled
        self.next = None  # while settling: the block learned meanwhile, the baseline to verify if this one fails
        self.blocks = 0  # blocks learned into a baseline so far
        self.above_in_block = 0  # captures of the verifying block scored at or above 1 against the baseline
        self.settled_at = None  # captures seen when the baseline settled: the first one scored against it
        self.count = 0  # captures seen
        self.value = F32(np.nan)
        self.above = 0  # captures in a row with anomaly >= 1
        self.armed = True  # anomaly dropped below 1 since the last anomaly event
        self.quiet_anomaly = 0  # captures left before another anomaly event
        self.runs = {k: 0 for k in self.faults}
        self.quiet = {k: 0 for k in self.faults}

    def _start(self, n_features: int):
        self.n_features = n_features
        if self.initial is not None:
            self.cal = Calibration.from_state(self.p, self.initial, n_features)
            self.settled_at = 0
        else:
            self.cal = Calibration(self.p, n_features)

    def _p_normal(self, scores_q) -> np.float32:
        return F32((F32(int(scores_q[self.normal])) - self.p.out_zp) * self.p.out_scale)

    def _learns(self, scores_q, count: int) -> bool:
        """Capture number `count` (from 1) joins the baseline: the classifier does not call it a confident
        fault, or the patience has run out (the installer's word)."""
        return int(scores_q[self.normal]) >= self.p.min_normal_q or count > self.p.patience

    def _uncalibrated(self, scores_q) -> np.float32:
        return F32((F32(1) - self._p_normal(scores_q)) / self.p.uncal_den)

    def step(self, frame, new, first_new, scores_q, features=None):
        if features is None:
            raise TinymlError("predictive-maintenance: the post-processor needs the window's features")
        f = np.asarray(features, F32).reshape(-1)
        if self.cal is None:
            self._start(len(f))
        cal = self.cal
        self.count += 1
        scored = self.settled_at is not None  # the alarm counts against the machine's settled baseline only
        if cal.done:
            if self.ae is None:
                raise TinymlError("predictive-maintenance: no anomaly model ([models.anomaly]) to score against "
                                  "the calibration")
            score = anomaly_score(self.p, ae_error(self.ae, cal.z(f[None])), [self._p_normal(scores_q)])[0]
            self.value = F32(score / cal.threshold)
        else:
            self.value = self._uncalibrated(scores_q)
        if not scored and self._learns(scores_q, self.count):
            self._learn(f, self._p_normal(scores_q))
        return self._events(scores_q, scored)

    def _learn(self, f: np.ndarray, p_normal) -> None:
        """One learning capture: into the first baseline, or, while that one is verified, into the next block."""
        block = self.cal if not self.cal.done else self.next
        if self.cal.done:
            self.above_in_block += not bool(self.value < F32(1))  # a NaN score counts against the baseline
        block.learn(f, p_normal)
        if block.n < self.p.n_cal or self.ae is None:  # no anomaly model: nothing to score against, never done
            return
        self.blocks += 1
        if block is self.next and self.above_in_block <= self.p.settle_max_above:
            self.settled_at = self.count  # the next block agreed with the baseline: it stays
            return
        self._finish(block)  # the first block, or one replacing a baseline the machine has moved away from
        self.cal = block
        self.next, self.above_in_block = Calibration(self.p, len(f)), 0
        if self.blocks >= self.p.settle_blocks:
            self.settled_at = self.count

    def _finish(self, cal: Calibration) -> None:
        cal.finish_spread()
        errors = ae_error(self.ae, cal.z(np.stack(cal.kept)))
        cal.finish(anomaly_score(self.p, errors, cal.kept_p_normal))

    def _events(self, scores_q, scored: bool):
        """scored: the value is against the settled baseline (the anomaly alarm counts only such captures; a
        fault event needs the value at 1 whatever it is against: the classifier's own before any baseline, the
        baseline being verified while it settles)."""
        events = []
        p = self.p
        anomalous = bool(self.value >= F32(1))
        for k in self.faults:
            self.quiet[k] = max(0, self.quiet[k] - 1)
        self.quiet_anomaly = max(0, self.quiet_anomaly - 1)
        if anomalous:
            # the anomaly alarm is against this machine's own baseline: only captures scored against it count
            # (none while it is still learning, nor the capture that completes it)
            self.above = self.above + 1 if scored else 0
            if self.above >= p.anomaly_hold and self.armed and self.quiet_anomaly == 0:
                events.append((self.anomaly_event, 127))
                self.armed = False
                self.quiet_anomaly = p.refractory
        else:
            self.above = 0
            self.armed = True
        top = max(self.faults, key=lambda k: (int(scores_q[k]), -k))  # the first of equal scores
        for k in self.faults:
            if anomalous and k == top and int(scores_q[k]) >= p.fault_q:
                self.runs[k] += 1
            else:
                self.runs[k] = 0
            if self.runs[k] >= p.fault_hold and self.quiet[k] == 0:
                events.append((k, int(scores_q[k])))
                self.quiet[k] = p.refractory
                self.runs[k] = 0
        return events

    def window_values(self):
        return [self.value]

    def calibration(self) -> dict | None:
        """The learned state (None until it has settled), for `tinyml calibrate`."""
        return self.cal.state() if self.settled_at is not None else None

    def provisional_calibration(self) -> dict | None:
        """The baseline being verified (None before the first block, or when the block verifying it has already
        disagreed): what `tinyml calibrate` keeps, with a notice, from a recording that ends before the baseline
        settled (the installer's word)."""
        if self.cal is None or not self.cal.done or self.above_in_block > self.p.settle_max_above:
            return None
        return self.cal.state()


def event_names(m) -> list[str]:
    return list(getattr(m, "event_names", None) or m.app.get("events") or [*m.labels, ANOMALY_EVENT])


# --- the device's non-volatile page: the same state, as firmware/app.c stores it --------------------------


def _n_features(m) -> int:
    from tinyml.features import FeatureExtractor

    return int(np.prod(FeatureExtractor(m).input_shape()))


def nv_image(manifest, state: dict) -> bytes:
    """The calibration as the device keeps it: magic, version, features, captures, threshold, mean[F],
    spread[F] (little-endian uint32 / float32), then a CRC-32 of all that."""
    n_features = _n_features(manifest)
    c = Calibration.from_state(Params(manifest), state, n_features)
    body = struct.pack("<IIII", NV_MAGIC, NV_VERSION, n_features, c.n) + struct.pack("<f", c.threshold)
    body += c.mean.astype("<f4").tobytes() + c.spread.astype("<f4").tobytes()
    return body + struct.pack("<I", _crc32(body))


def nv_state(manifest, image: bytes | None) -> dict | None:
    """The calibration in a device's non-volatile page, or None (erased, another layout, a bad CRC)."""
    n_features = _n_features(manifest)
    size = 20 + 8 * n_features + 4
    if not image or len(image) < size:
        return None
    body, (crc,) = image[: size - 4], struct.unpack("<I", image[size - 4 : size])
    magic, version, nf, n = struct.unpack("<IIII", body[:16])
    if magic != NV_MAGIC or version != NV_VERSION or nf != n_features or crc != _crc32(body):
        return None
    (thr,) = struct.unpack("<f", body[16:20])
    v = np.frombuffer(body[20:], "<f4")
    return {"captures": n, "mean": [float(x) for x in v[:nf]], "spread": [float(x) for x in v[nf:]],
            "threshold": float(thr)}


def _crc32(data: bytes) -> int:
    """CRC-32 (IEEE, reflected, as zlib.crc32): the firmware's bitwise loop computes the same."""
    import zlib

    return zlib.crc32(data) & 0xFFFFFFFF


# --- the app's metrics (tinyml evaluation hook) -----------------------------------------------------------

_LAST: dict = {}  # the last evaluation's per-capture results, for the model card's plots


def _post(pipe, state=None):
    o = pipe.model.output
    models = getattr(pipe, "models", None) or None
    return PostProcessor(pipe.m, o.scale, o.zero_point, models=models, calibration=state)


def _stream(app, pipe, r, scorer=None, state=None):
    """One recording through the pipeline on a device that starts blank (or from `state`): the result and
    the post-processor (its learned state)."""
    from tinyml.predict import prepare

    pp = _post(pipe, state)
    res = pipe.run(prepare(app, r, notice=False), scorer=scorer, deployment=r.deployment, postprocessor=pp)
    return res, pp


def evaluate(app, pipe, recs, scorer=None) -> dict:
    """The issue's measures on held-out machines (recordings grouped by subject):
    - anomaly_auc: per capture, healthy vs any fault, every machine's captures scored against the calibration
      its device learned from its baseline (the first calibration_captures normal captures after
      installation); anomaly_auc_uncalibrated: the same from the classifier's 1 - P(normal) alone, over every
      held-out recording (real data sets without baselines included);
    - false_alarms_per_1000: anomaly events per 1,000 healthy captures after calibration, on the baselines;
    - run-to-failure on histories (a blank device installed on a healthy machine): rtf_median_lead, the
      median over histories of the share of the history left when the first anomaly alarm at or after the
      defect's onset came (0 when none came; an alarm before a known onset is a false alarm, not a lead:
      rtf_alarms_before_onset counts them), rtf_early_alarms, the histories alarmed in their healthy first half,
      rtf_detected."""
    m = app.manifest
    normal, fault_labels = "normal", [x for x in m.labels if x != "normal"]
    by_subject: dict[str, list] = {}
    for r in recs:
        by_subject.setdefault(r.subject, []).append(r)
    healthy_v, fault_v, fault_lab = [], [], []
    healthy_machine, fault_machine = [], []  # the machine of every capture: the AUC interval resamples machines
    alarms = healthy_after = 0
    leads, early, before_onset, detected, curves = [], 0, 0, 0, []
    uncal_y, uncal_v = [], []
    o = pipe.model.output
    for subject, rs in sorted(by_subject.items()):
        state = None
        for r in (r for r in rs if r.activity == "baseline"):
            res, pp = _stream(app, pipe, r, scorer)
            cal = pp.calibration()
            if cal is None:  # this baseline never calibrated: an earlier one's calibration stays
                continue
            state = cal
            learned = _calibrated_from(res.values[:, 0], pp)
            after = res.values[learned:, 0]
            healthy_v.append(after)
            healthy_machine += [subject] * len(after)
            healthy_after += len(after)
            alarms += sum(1 for idx, lab, _ in res.events if lab == pp.anomaly_event and idx > res.ends[learned - 1])
        for r in rs:
            if r.activity == "history":
                res, pp = _stream(app, pipe, r, scorer)
                t_end = len(r.signal) / r.rate
                alarm_times = [idx / m.rate for idx, lab, _ in res.events if lab == pp.anomaly_event]
                outcome = rtf_outcome(alarm_times, t_end, defect_onset_s(r))
                leads.append(outcome["lead"])
                early += outcome["early"]
                before_onset += outcome["before_onset"]
                first = outcome["first"]
                detected += first is not None
                curves.append((r.subject, res.ends / m.rate, res.values[:, 0], first, r.events, t_end))
                continue
            if r.activity == "baseline":
                continue
            res, pp = _stream(app, pipe, r, scorer, state)
            p_normal = (res.scores_q[:, m.labels.index(normal)].astype(np.float32) - F32(o.zero_point)) * F32(o.scale)
            uncal_y.append(np.full(len(p_normal), r.label != normal))
            uncal_v.append(1 - p_normal)
            if state is None:
                continue
            v = res.values[:, 0]
            if r.label == normal:
                healthy_v.append(v)
                healthy_machine += [subject] * len(v)
            elif r.label in fault_labels:
                fault_v.append(v)
                fault_machine += [subject] * len(v)
                fault_lab += [r.label] * len(v)
    nan = float("nan")
    out: dict = {"anomaly_auc": nan, "false_alarms_per_1000": nan, "rtf_median_lead": nan, "rtf_early_alarms": nan}
    out.update(_sizes(pipe))
    if healthy_v and fault_v:
        from tinyml.metrics import auc_metrics

        h, f = np.concatenate(healthy_v), np.concatenate(fault_v)
        a = auc_metrics(np.r_[np.zeros(len(h)), np.ones(len(f))], np.r_[h, f],
                        groups=np.asarray(healthy_machine + fault_machine, dtype=str))
        out["anomaly_auc"], out["anomaly_auc_ci"] = a["auc"], a["auc_ci"]
        out["anomaly_auc_ci_method"] = a["auc_ci_method"]  # the card names the interval the metric drew
        out["anomaly_machines"] = len(set(healthy_machine + fault_machine))
        out["anomaly_healthy_captures"] = int(len(h))
        out["anomaly_fault_captures"] = int(len(f))
        out["anomaly_detected_share"] = float(np.mean(f >= 1))
        _LAST["anomaly"] = (h, f, np.asarray(fault_lab))
    if uncal_y:
        from tinyml.metrics import roc_auc

        y, v = np.concatenate(uncal_y), np.concatenate(uncal_v)
        if 0 < y.sum() < len(y):
            out["anomaly_auc_uncalibrated"] = float(roc_auc(y.astype(int), v))
    if healthy_after:
        out["false_alarms_per_1000"] = 1000.0 * alarms / healthy_after
        out["false_alarms"] = int(alarms)
        out["healthy_captures_after_calibration"] = int(healthy_after)
    if leads:
        out["rtf_median_lead"] = float(np.median(leads))
        out["rtf_early_alarms"] = int(early)
        out["rtf_alarms_before_onset"] = int(before_onset)
        out["rtf_detected"] = int(detected)
        out["rtf_histories"] = len(leads)
        _LAST["rtf"] = curves
    return out


def defect_onset_s(r) -> float | None:
    """When a run-to-failure history's defect starts (s): the first capture whose true severity is above 0, where
    the recording knows it (the generator's histories); None for a real history, whose event is the failure."""
    sev = np.asarray(r.truth.get("severity", []), np.float64)
    if not len(sev) or not (sev > 0).any():
        return None
    return float(np.argmax(sev > 0)) * (len(r.signal) / len(sev)) / r.rate


def rtf_outcome(alarms: list[float], t_end: float, onset: float | None) -> dict:
    """One run-to-failure history's outcome from its anomaly alarms' times (s, in order): the first alarm at or
    after the defect's onset (an alarm before it found no defect: a false alarm, counted in before_onset, never
    a lead), the lead (share of the history still to come at that alarm; 0 when none came), and early (any alarm
    in the history's first half). onset None (a real history: only the failure is known): every alarm counts."""
    before = sum(1 for t in alarms if onset is not None and t < onset)
    first = next((t for t in alarms if onset is None or t >= onset), None)
    return {"first": first, "lead": 0.0 if first is None else max(0.0, (t_end - first) / t_end),
            "early": bool(alarms) and alarms[0] < t_end / 2, "before_onset": before}


def _sizes(pipe) -> dict:
    """Our runtime's arena for both int8 models (planned together, as the firmware holds them)."""
    models = pipe.int8_model_bytes()
    if any(b is None for b in models.values()):
        return {}  # float stand-ins: sizes are the int8 evaluation's
    from tinyml.compile.models import shared_arena_bytes

    return {"arena_bytes": int(shared_arena_bytes(models))}


def _calibrated_from(values, pp) -> int:
    """The first window scored against the settled calibration (the one after the capture that settled it)."""
    return len(values) if pp.settled_at is None else min(pp.settled_at, len(values))


# --- the demo (fixtures/demo.wav) --------------------------------------------------------------------------


def make_demo(manifest, seed):
    """An unseen simulated machine configured as [machine] says, installed healthy: the device calibrates on
    its first captures and verifies that baseline on the next block, weeks of healthy captures follow (one
    every 10 minutes, 0.25 s each, back to back), then an outer-race defect appears and grows. Truth: the
    anomaly alarm and then the outer-race event, each expected between the defect's onset and the end."""
    from tinyml.data import dataset_module

    gen = dataset_module(manifest.dataset["generator"])
    mach = resolve_deployment({s: dict(t) for s, t in manifest.deployment.items()})["machine"]
    p = manifest.postprocess  # a healthy machine settles in two blocks: its baseline, and the block verifying it
    settle = int(p["calibration_captures"]) * min(2, int(p["settle_blocks"]))
    rec, _ = gen.scene(rate=manifest.rate, channels=manifest.channels, seed=seed, calibration=settle + 8,
                       healthy=8, degrading=24, kind="outer_race", config=mach)
    t_on = rec.events[0][0]
    rec.events = [(t_on, ANOMALY_EVENT), (t_on, "outer_race")]
    return rec


# --- model card: ROC, envelope spectrum, run to failure, energy, setting up a machine ---------------------

# Energy per capture (the vendor's way): a capture is the sensor on for its 0.25 s plus its settling, the
# MCU awake for the features and both models, then both asleep until the next capture (every 10 minutes).
# Datasheet figures (typical): STM32L4R5 run current ~110 uA/MHz at 120 MHz and ~2.5 uA in Stop 2
# with RTC; a MEMS vibration accelerometer (ST IIS3DWB) 1.1 mA at 26.7 kHz ODR, 5 uA in power-down, 10 ms
# to settle; a 3.0 V supply and a 2 x AA lithium pack (3000 mAh) derated to 80 %.
POWER = {"mcu_ua_per_mhz": 110.0, "mcu_mhz": 120.0, "sleep_ua": 2.5, "sensor_ma": 1.1, "sensor_idle_ua": 5.0,
         "sensor_settle_s": 0.010, "volts": 3.0, "battery_mah": 3000.0, "battery_derate": 0.8,
         "period_s": 600.0}


def energy_budget(instructions_per_capture: float, capture_s: float, power: dict = POWER) -> dict:
    """Charge and energy per capture and the battery life at one capture every period_s (instructions
    counted by QEMU taken as cycles: an estimate, said so)."""
    p = power
    mcu_s = instructions_per_capture / (p["mcu_mhz"] * 1e6)
    mcu_ma = p["mcu_ua_per_mhz"] * p["mcu_mhz"] / 1000.0
    sensor_s = capture_s + p["sensor_settle_s"]
    awake_s = sensor_s + mcu_s
    q_mc = p["sensor_ma"] * sensor_s + mcu_ma * (mcu_s + sensor_s)  # the MCU collects the samples too (DMA, awake)
    sleep_s = max(0.0, p["period_s"] - awake_s)
    q_sleep_mc = (p["sleep_ua"] + p["sensor_idle_ua"]) / 1000.0 * sleep_s
    avg_ua = (q_mc + q_sleep_mc) / p["period_s"] * 1000.0
    hours = p["battery_mah"] * p["battery_derate"] / (avg_ua / 1000.0)
    return {"mcu_ms_per_capture": round(1000 * mcu_s, 2), "charge_per_capture_uc": round(1000 * q_mc, 1),
            "energy_per_capture_mj": round(q_mc * p["volts"], 3), "average_current_ua": round(avg_ua, 2),
            "battery_years": round(hours / 24 / 365, 1), **{f"assume_{k}": v for k, v in p.items()}}


def energy_section(m, dev: dict) -> list[str]:
    """The card's energy lines from the device figures (qemu-m4's instruction counts), with each part's share."""
    per = dev.get("per_inference")
    stages = dev.get("stages", {})
    if not per:
        return []
    total = per + sum(st["mean"] for st in stages.values())
    capture_s = m.features["window"] / m.rate
    e = energy_budget(total, capture_s)
    p = POWER
    mcu_ma = p["mcu_ua_per_mhz"] * p["mcu_mhz"] / 1000.0
    sensor_s = capture_s + p["sensor_settle_s"]
    parts = {"the MCU awake collecting the samples": mcu_ma * sensor_s,
             "sleep (MCU in Stop 2, sensor powered down)": (p["sleep_ua"] + p["sensor_idle_ua"]) / 1000.0
             * (p["period_s"] - sensor_s - e["mcu_ms_per_capture"] / 1000.0),
             "the sensor measuring": p["sensor_ma"] * sensor_s,
             "the compute (features and both models)": mcu_ma * e["mcu_ms_per_capture"] / 1000.0}
    whole = sum(parts.values())
    shares = ", ".join(f"{k} {100 * v / whole:.0f} %" for k, v in sorted(parts.items(), key=lambda kv: -kv[1]))
    return ["", "## Energy and battery life (estimate)", "",
            f"Per capture on qemu-m4: {total} instructions (features {stages.get('features', {}).get('mean', '?')}, "
            f"classifier {per}, autoencoder {stages.get('model_anomaly', {}).get('mean', '?')}), taken as "
            f"cycles of an STM32L4R5 at {p['mcu_mhz']:g} MHz: {e['mcu_ms_per_capture']} ms awake for "
            f"compute. With the sensor on for the 0.25 s capture and {1000 * p['sensor_settle_s']:g} ms of "
            f"settling ({p['sensor_ma']} mA, IIS3DWB datasheet), the MCU at {p['mcu_ua_per_mhz']:g} uA/MHz "
            f"and {p['sleep_ua']} uA in Stop 2: **{e['charge_per_capture_uc']} uC = "
            f"{e['energy_per_capture_mj']} mJ per capture** at {p['volts']:g} V; one capture every "
            f"{p['period_s'] / 60:g} minutes averages {e['average_current_ua']} uA, **about "
            f"{e['battery_years']} years** on {p['battery_mah']:g} mAh (80 % usable; beyond about 10 years a "
            f"lithium cell's shelf life, not this budget, ends it). Charge over one {p['period_s'] / 60:g}-minute period: {shares}."]


def model_card_extras(app, out_dir, card, pipe, test) -> str:
    """Plots (ROC, an envelope spectrum with the defect orders, a run to failure) and the sections the
    card needs beyond the core's: the app's metrics with intervals, energy, how to set up a machine."""
    m = app.manifest
    q = card["metrics"]["int8"]
    lines = ["## Anomaly detection, calibration and run to failure", ""]
    if "anomaly" in _LAST:
        _plot_roc(*_LAST["anomaly"], out_dir / "roc.png")
        ci = q.get("anomaly_auc_ci") or [float("nan")] * 2
        lines += ["![ROC](roc.png)", "",
                  f"- Anomaly AUC, healthy vs any fault, per capture, every held-out machine scored against the "
                  f"calibration its device learned: **{q['anomaly_auc']:.4f}** (95 % interval "
                  f"{ci[0]:.4f}-{ci[1]:.4f}, {_auc_interval_method(q)}; {q['anomaly_healthy_captures']} healthy, "
                  f"{q['anomaly_fault_captures']} "
                  f"fault captures); share of fault captures above the threshold: {q['anomaly_detected_share']:.3f}."]
    if "false_alarms" in q:  # measured (NaN-only keys are left out of the text)
        from tinyml.metrics import poisson_rate_ci

        k, n = q["false_alarms"], q["healthy_captures_after_calibration"]
        hi = poisson_rate_ci(k, n)[1] * 1000
        lines.append(f"- False anomaly alarms after calibration: **{q['false_alarms_per_1000']:.2f} per 1,000 healthy "
                     f"captures** ({k} in {n}; 95 % upper bound {hi:.2f}).")
    if "anomaly_auc_uncalibrated" in q:
        lines.append(f"- Before calibration (the classifier's 1 - P(normal), every held-out recording): AUC "
                     f"{q['anomaly_auc_uncalibrated']:.4f}.")
    if "rtf" in _LAST:
        _plot_rtf(_LAST["rtf"], out_dir / "run_to_failure.png")
        lines += ["", "![run to failure](run_to_failure.png)", "",
                  f"- Run to failure ({q['rtf_histories']} held-out histories, a blank device installed on a healthy "
                  f"machine, a bearing defect from 50-75 % of the history growing to failure): median alarm "
                  f"**{100 * q['rtf_median_lead']:.0f} % of the history before failure**; {q['rtf_detected']} "
                  f"alarmed; {q['rtf_early_alarms']} alarmed in their healthy first half; "
                  f"{q.get('rtf_alarms_before_onset', 0)} alarms before a defect's onset (false alarms: a lead counts "
                  f"from the first alarm at or after the onset)."]
    if test:
        try:
            _plot_envelope(app, pipe, test, out_dir / "envelope.png")
            lines += ["", "![envelope spectrum](envelope.png)", "",
                      "An outer-race capture of a held-out machine: the envelope spectrum of its most impulsive band, "
                      "with the machine's shaft harmonics and defect orders marked (the features read the peaks "
                      "within +-5 % of each: speed slip and rolling-element slip)."]
        except (StopIteration, ValueError):
            pass
    lines += energy_section(m, card.get("device", {}))
    return "\n".join(lines) + "\n"


def _setup_section(m) -> list[str]:
    """How to set up a machine: the manifest's values only (rendered with the card)."""
    return ["## Setting up a new machine", "",
            "1. Speed: `--set machine.shaft_hz=29.5` (or `machine.shaft_rpm=1770`), the running speed, not the "
            "synchronous one (an induction motor slips 1-4 % below it with load; the envelope features allow 5 %, the shaft harmonics 3 %).",
            "2. Bearing: its defect orders from the maker's tables (`machine.bpfo`, `bpfi`, `bsf` = ball spin, "
            "`ftf`), or its geometry (`machine.balls`, `ball_mm`, `pitch_mm`, `contact_deg`; balls > 0 replaces "
            "the orders).",
            "3. Mount the sensor radially on the bearing housing (a stud or a flat magnet), then let it learn: "
            f"the first {m.postprocess['calibration_captures']} captures the classifier calls normal calibrate "
            f"it (after {m.postprocess['calibration_patience']} captures without a baseline, every further "
            f"capture: install it on a healthy machine), and the next {m.postprocess['calibration_captures']} verify "
            f"that baseline: more than {m.postprocess['settle_max_above']} of them at or above 1 against it (the "
            f"machine is still changing) and they become the baseline to verify, for at most "
            f"{m.postprocess['settle_blocks']} blocks; no alarm until it has settled. Until the first baseline, "
            f"values.anomaly is the classifier's 1 - P(normal) over "
            f"{1 - m.postprocess['calibration_min_normal']:g}. On the host, "
            f"`tinyml calibrate {m.id} healthy.wav` writes what the device would learn and "
            f"`predict --calibration healthy.calibration.json` starts from it.",
            "4. Recalibrate after maintenance (a new bearing, a realignment): erase the device's calibration page, "
            "once the machine runs steadily again. A new bearing runs in for hours: its level and spectrum settle "
            "(on FEMTO's new bearings, below, a baseline learned in their first 16 to 34 minutes and trusted at once "
            "alarmed in the first half of 13 of 17 runs; the settling step above is the device's answer). "
            "`tinyml calibrate` says when a recording's later captures alarm against the baseline it learned."]


def model_card_appendix(app, folder: Path, out_dir: Path | None = None) -> str:
    """The card's sections rendered with it (tinyml card), not measured with it: the real recordings, which
    real_data.py measures apart on a machine that has them (the FEMTO plot into out_dir)."""
    lines = _setup_section(app.manifest) + _real_data_section(Path(folder), out_dir)
    return "\n".join(lines) + "\n"


model_card_appendix.reads = ("real_data.json",)  # the card's stamp hashes it: the FEMTO plot comes from it


def _real_data_section(folder: Path, out_dir: Path | None = None) -> list[str]:
    """folder/real_data.json (written by real_data.py on a machine that has the data): CWRU, IMS and FEMTO (its
    run-to-failure plot into out_dir)."""
    path = folder / "real_data.json"
    if not path.is_file():
        return ["", "## Real recordings", "", "Not measured for this model (run `real_data.py`, see its docstring)."]
    d = json.loads(path.read_text())
    c = d["committed"]
    sets = "CWRU, NASA IMS, FEMTO" if "femto" in d else "CWRU, NASA IMS"
    lines = ["", f"## Real recordings ({sets})", ""] + _committed_on_cwru_lines(d, c)
    folds = d.get("cwru_trained", [])
    if folds:
        lines += ["", "**CWRU, leave one load out** (an unseen operating condition: the classifier's design trained on the "
                  f"generator's {folds[0]['train_generator_machines']} training machines plus the other CWRU loads, tested "
                  "on the held-out load; no record on both sides, nothing tuned on the held-out load; these models are "
                  "not committed). Macro-F1 over the classes the held-out load has, 95 % bootstrap interval over its "
                  "records:", "",
                  "| held-out load | records | windows | classes | macro-F1 float | macro-F1 int8 (95 %) | AUC 1 - P(normal) (95 %) |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        for f in folds:
            mf, ci = f["macro_f1_present_classes"], f.get("macro_f1_int8_ci", [float("nan")] * 2)
            a = f.get("anomaly_auc_uncalibrated")
            auc_txt = f"{a['auc']:.3f} ({a['auc_ci'][0]:.3f}-{a['auc_ci'][1]:.3f})" if a else "no healthy record"
            lines.append(f"| {f['held_out'].split('-')[-1]} | {f.get('records', '')} | {f['windows']} | "
                         f"{', '.join(f['classes'])} | {mf['float']:.3f} | {mf['int8']:.3f} ({ci[0]:.3f}-{ci[1]:.3f}) | "
                         f"{auc_txt} |")
        pooled = d.get("cwru_by_load_pooled")
        if pooled:
            ci = pooled["macro_f1_int8_ci"]
            lines += ["", f"- All four folds' held-out windows together ({pooled['windows']}): macro-F1 int8 "
                      f"**{pooled['macro_f1_int8']:.3f}** (95 % {ci[0]:.3f}-{ci[1]:.3f}), accuracy "
                      f"{pooled['accuracy_int8']:.3f}."]
    if "ims" in d:
        i = d["ims"]
        lines.append(f"- NASA IMS test 1, first snapshots (healthy, 2000 rpm, Rexnord ZA-2115: a rig never seen): "
                     f"{100 * i['called_normal']:.1f} % of {i['windows']} windows called normal; after each "
                     f"accelerometer's device calibrated on its first captures, {i['anomaly_alarms']} anomaly alarms in "
                     f"{i['captures_after_calibration']} captures.")
    if "femto" in d:
        lines += _femto_lines(d["femto"], out_dir, d.get("femto_sensitivity"))
    return lines


def _femto_lines(f: dict, out_dir: Path | None, sens: dict | None = None) -> list[str]:
    """The committed device on FEMTO / PRONOSTIA's real runs to failure (real_data.femto_run_to_failure), and a
    sensitivity check with other manifest values where one was measured."""
    runs = f["runs"]
    lo, hi = f["median_lead_ci"]
    from tinyml.readers.femto import SNAPSHOT_EVERY_S

    k = f["snapshots_per_capture"]
    joined = (f"{k} consecutive 0.1 s snapshots joined into each {f['capture_s']:g} s capture, one every "
              f"{SNAPSHOT_EVERY_S * k:g} s"
              if k > 1 else f"{f['capture_s']:g} s captures cut from each 0.1 s snapshot")
    lines = ["", "**Run to failure on real bearings: FEMTO / PRONOSTIA** (IEEE PHM 2012; Nectoux et al. 2012; "
             f"{len(runs)} bearings run until their vibration passed 20 g, never seen in training or validation; "
             f"the committed device installed blank at each run's start; {joined}; horizontal axis; each "
             f"condition's speed and the bearing's kinematic orders): median lead **{100 * f['median_lead']:.1f} % of the "
             "run's life** (95 % "
             f"order-statistic interval {100 * lo:.1f}-{100 * hi:.1f} %; floor 20 %), {f['detected']} of "
             f"{len(runs)} runs alarmed before their failure, **{f['early_alarms']} alarmed in their first half** "
             "(FEMTO does not say when a bearing's degradation began; an alarm in the first half breaks the floor's "
             "condition, and its lead is no evidence of an early detection)."]
    for name, b in (f.get("by_set") or {}).items():
        lo_s, hi_s = b["median_lead_ci"]
        lines.append(f"- `{name}` ({b['n_runs']} runs): median lead {100 * b['median_lead']:.1f} % (95 % "
                     f"{100 * lo_s:.1f}-{100 * hi_s:.1f} %), {b['detected']} alarmed, {b['early_alarms']} in their "
                     "first half" + (" (the settling step's values were chosen on this set: see the README)"
                                     if name == "Learning_set" else "") + ".")
    lines += ["", "| run | set | condition | life (h) | baseline settled at (h) | first alarm (h) | lead | "
              "alarm in first half |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in runs:
        cal = "never" if r["calibrated_at_h"] is None else f"{r['calibrated_at_h']:.2f}"
        first = "none" if r["first_alarm_h"] is None else f"{r['first_alarm_h']:.2f}"
        lines.append(f"| {r['run']} | {r.get('set', '')} | {r['condition']} | {r['life_h']:.2f} | {cal} | {first} | "
                     f"{r['lead']:.3f} | {'yes' if r['early'] else 'no'} |")
    if out_dir is not None:
        _plot_femto(runs, Path(out_dir) / "femto_runs.png")
        lines += ["", "![FEMTO runs](femto_runs.png)"]
    if sens:
        s_runs = sens["runs"]
        lo, hi = sens["median_lead_ci"]
        lines += ["", f"Sensitivity check (not the committed device; `{' '.join(sens['overrides'])}`, chosen on "
                  f"`Learning_set` and measured once on `{sens.get('folder', '')}`, {len(s_runs)} runs; the app's README "
                  f"says how): median lead **{100 * sens['median_lead']:.1f} %** (95 % {100 * lo:.1f}-{100 * hi:.1f} %), "
                  f"{sens['detected']} of {len(s_runs)} alarmed, {sens['early_alarms']} in their first half, "
                  f"{sum(r['calibrated_at_h'] is None for r in s_runs)} never calibrated; per run: "
                  + ", ".join(f"{r['run']} {r['lead']:.3f}" for r in s_runs) + "."]
    return lines


def _plot_femto(runs: list[dict], path: Path):
    plt = _plt()
    cols = 3
    rows = -(-len(runs) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(10, 1.7 * rows), squeeze=False, sharex=True)
    for ax, r in zip(axes.flat, runs):
        frac = np.asarray(r["curve_h"]) / r["life_h"]
        ax.semilogy(frac, np.clip(r["curve"], 1e-2, None), lw=0.7)
        ax.axhline(1.0, color="r", lw=0.7)
        if r["first_alarm_h"] is not None:
            ax.axvline(r["first_alarm_h"] / r["life_h"], color="r", ls="--", lw=0.7)
        ax.set_title(f"{r['run']}: {r['life_h']:.1f} h, lead {r['lead']:.2f}", fontsize=7)
        ax.tick_params(labelsize=6)
    for ax in list(axes.flat)[len(runs):]:
        ax.axis("off")
    fig.supxlabel("share of the run's life (failure at 1.0)", fontsize=7)
    fig.suptitle("FEMTO: anomaly value over each run's life (largest per bin; threshold 1.0, first alarm dashed)",
                 fontsize=8)
    fig.tight_layout(); fig.savefig(path, dpi=80); plt.close(fig)


def _ci(f: dict) -> str:
    lo, hi = f.get("macro_f1_int8_ci", [float("nan")] * 2)
    return f"{f['macro_f1_present_classes']:.3f} ({lo:.3f}-{hi:.3f})"


def _committed_on_cwru_lines(d: dict, c: dict) -> list[str]:
    """The committed classifier on CWRU (real_data.committed_on_cwru): which loads it trained on, each load's
    macro-F1 with its role, and the loads it never trained on together (the honest figure)."""
    seen = c.get("trained_on_cwru", {})
    if seen.get("train"):
        def loads(role):
            return ", ".join(k.split("-")[-1] for k in seen.get(role, [])) or "none"

        stop = (f"CWRU {loads('val')} and the generator's validation machines" if seen.get("val")
                else "the generator's validation machines only")
        head = (f"**The committed classifier trained on the generator and CWRU {loads('train')}** (early stopping on "
                f"{stop}; held out for test: {loads('test')}; split by motor load, an operating condition never "
                "seen in training).")
    else:
        head = "**The committed models never saw real data** (trained on the generator only)."
    lines = [head + f" On the CWRU records of `{d['cwru_folder']}` ({d['cwru_records']} records, {c['windows']} windows "
             f"of 0.25 s; classes {', '.join(c['classes'])}; the public mirrors hold one healthy record, in load 0), int8 "
             "window macro-F1 over the classes present, 95 % bootstrap interval over records:", "",
             "| CWRU load | role for the committed model | records | windows | macro-F1 int8 (95 %) | accuracy |",
             "| --- | --- | --- | --- | --- | --- |"]
    for k, f in c["by_load"].items():
        lines.append(f"| {k.split('-')[-1]} | {f['role']} | {f['records']} | {f['windows']} | {_ci(f)} | {f['accuracy']:.3f} |")
    if "unseen" in c and seen.get("train"):
        u = c["unseen"]
        lines.append(f"| {' + '.join(x.split('-')[-1] for x in u['loads'])} | never trained on | {u['records']} | "
                     f"{u['windows']} | **{_ci(u)}** | {u['accuracy']:.3f} |")
    lines.append(f"| all | | {c['records']} | {c['windows']} | {_ci(c)} | {c['accuracy']:.3f} |")
    auc = c.get("anomaly_auc_uncalibrated")
    if auc:
        where = "; the healthy record's load was a training load" if c["by_load"].get("cwru-load0", {}).get("role") == "train" else ""
        lines += ["", f"- Before any calibration (1 - P(normal), the healthy record against the faults, every load{where}): "
                  f"AUC {auc['auc']:.3f} (95 % {auc['auc_ci'][0]:.3f}-{auc['auc_ci'][1]:.3f})."]
    return lines


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _auc_interval_method(q: dict) -> str:
    """How the card's AUC interval was drawn: the method auc_metrics reports (DeLong when too few machines hold
    healthy or fault captures to resample them). A card.json from before the method was stored has only the
    machine count; its interval was the cluster bootstrap when it has one, DeLong when not."""
    method = q.get("anomaly_auc_ci_method") or ("cluster bootstrap" if q.get("anomaly_machines") else "DeLong")
    if not method.startswith("cluster bootstrap"):
        return method.replace(" groups", " machines")  # auc_metrics' groups are this card's machines
    return (f"cluster bootstrap over the {int(q['anomaly_machines'])} held-out machines: one machine's captures are "
            "not independent")


def _plot_roc(h, f, labels, path):
    from tinyml.metrics import roc_curve

    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    y = np.r_[np.zeros(len(h)), np.ones(len(f))]
    fpr, tpr, _ = roc_curve(y, np.r_[h, f])
    ax.plot(fpr, tpr, label="any fault", lw=2)
    for lab in sorted(set(labels)):
        sel = labels == lab
        fp, tp, _ = roc_curve(np.r_[np.zeros(len(h)), np.ones(sel.sum())], np.r_[h, f[sel]])
        ax.plot(fp, tp, lw=0.8, label=lab)
    ax.plot([0, 1], [0, 1], "k:", lw=0.5)
    ax.set_xlabel("false positive rate (healthy captures)"); ax.set_ylabel("true positive rate")
    ax.set_title("anomaly score after calibration (int8)"); ax.legend(fontsize=7)
    fig.tight_layout(); fig.savefig(path, dpi=90); plt.close(fig)


def _plot_rtf(curves, path):
    plt = _plt()
    k = min(4, len(curves))
    fig, axes = plt.subplots(k, 1, figsize=(9, 2.0 * k), squeeze=False)
    for ax, (subject, t, v, first, events, t_end) in zip(axes[:, 0], curves[:k]):
        frac = t / t_end
        ax.semilogy(frac, np.clip(v, 1e-3, None), ".-", ms=2, lw=0.6)
        ax.axhline(1.0, color="r", lw=0.8, label="threshold")
        if events:
            ax.axvline(events[0][0] / t_end, color="k", ls=":", lw=0.8, label="defect starts")
        if first is not None:
            ax.axvline(first / t_end, color="r", ls="--", lw=0.8, label="alarm")
        ax.set_ylabel("anomaly"); ax.set_title(f"{subject}: {events[0][1] if events else ''}", fontsize=8)
    axes[-1, 0].set_xlabel("share of the history (failure at 1.0)")
    axes[0, 0].legend(fontsize=7, loc="upper left")
    fig.tight_layout(); fig.savefig(path, dpi=90); plt.close(fig)


def _plot_envelope(app, pipe, test, path):
    from tinyml.dsp.biquad import biquad
    from tinyml.dsp.kurtosis_band import band_filters, kurtosis_band
    from tinyml.dsp.spectrum import power_spectrum
    from tinyml.features import deployment_values

    r = next(r for r in test if r.label == "outer_race" and r.activity == "captures")
    m = app.manifest
    x = np.asarray(r.signal[: m.features["window"], 0], np.float32)
    kb = m.features["chain"][0]["branches"][1][0]
    y = kurtosis_band(x, band_filters(kb["bands"], m.rate, kb["order"]), kb["skip"])[0]
    from tinyml.dsp.biquad import design_biquad

    env = biquad(np.abs(y), design_biquad("lowpass", 800.0, m.rate, 2))[0]
    env = env[: len(env) // 8 * 8].reshape(-1, 8).mean(1)
    P = power_spectrum(env - env.mean(), "hann", 1024)
    f = np.arange(len(P)) * (m.rate / 8 / 1024)
    mach = deployment_values(m, r.deployment)["machine"]
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 3.2))
    ax.semilogy(f, P, lw=0.7)
    colors = {"1x": "k", "bpfo": "r", "bpfi": "g", "bsf": "m"}
    for name, o in (("1x", 1.0), ("bpfo", mach["bpfo"]), ("bpfi", mach["bpfi"]), ("bsf", mach["bsf"])):
        for h in (1, 2, 3):
            ax.axvline(h * o * mach["shaft_hz"], color=colors[name], lw=0.6, ls="--", label=name if h == 1 else None)
    ax.set_xlim(0, 12 * mach["shaft_hz"]); ax.set_xlabel("Hz"); ax.set_ylabel("envelope power")
    ax.set_title(f"envelope spectrum, {r.subject} outer race ({mach['shaft_hz'] * 60:.0f} rpm)"); ax.legend(fontsize=7)
    fig.tight_layout(); fig.savefig(path, dpi=90); plt.close(fig)
