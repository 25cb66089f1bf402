"""keyword-spotting: what must be code. The DS-CNN builder, the training-window hook, the post-processor,
the demo scene and the model card's extra plots (confusion, spectrogram with detections, FA/h vs FRR).

Post-processing is tinyml.postprocess.ThresholdEvents (C twin tml_threshold_events): per command the sum
of its last `smooth` int8 scores against smooth * threshold_q, rising edge, no repeat of the same command
within `suppress_s` (another command fires at once), like TFLM's command recognizer, and a flush at the end
of the input; integer arithmetic, so the device raises the same commands.
"""

from __future__ import annotations

import numpy as np

from collections import deque

from tinyml.postprocess import ThresholdEvents

# Score sequences the post-processor saw, newest last (bounded): the model card reuses the int8 scores of
# the evaluation that just ran instead of streaming an hour of audio through TFLM once more.
_RUNS: deque = deque(maxlen=100_000)


class PostProcessor(ThresholdEvents):
    """ThresholdEvents unchanged (C twin tml_threshold_events); it also remembers the scores it saw."""

    def reset(self):
        super().reset()
        self.seen = []
        _RUNS.append(self.seen)

    def step(self, frame, new, first_new, scores_q):
        self.seen.append(np.asarray(scores_q, np.int8).copy())
        return super().step(frame, new, first_new, scores_q)

# --- model -------------------------------------------------------------------------------------------


def build_model(input_shape, n_classes, *, filters=48, blocks=4, dropout=0.1):
    """DS-CNN (MLPerf Tiny KWS reference shape at 64 filters): a 10x4 strided conv over [frames, MFCC], then
    depthwise-separable blocks, average pooling over the whole map and a dense softmax. Ops: RESHAPE,
    CONV_2D, DEPTHWISE_CONV_2D, AVERAGE_POOL_2D, FULLY_CONNECTED, SOFTMAX (batch norm folds away)."""
    import keras
    from keras import layers

    t, f = input_shape
    inp = keras.Input(shape=input_shape, batch_size=1)
    x = layers.Reshape((t, f, 1))(inp)
    x = layers.Conv2D(filters, (10, 4), strides=(2, 2), padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    for _ in range(blocks):
        x = layers.DepthwiseConv2D(3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.Conv2D(filters, 1, use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
    x = layers.AveragePooling2D(pool_size=(x.shape[1], x.shape[2]))(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(dropout)(x)
    out = layers.Dense(n_classes, activation="softmax")(x)
    return keras.Model(inp, out)


# --- training windows ----------------------------------------------------------------------------------

NEGATIVE_STEP_S = 0.2  # one "unknown"/"silence" window every 0.2 s of the training streams (all of them)
POSITIVE_STEP_S = 0.1  # one window every 0.1 s while a command sits whole inside it
WORD_MAX_S = 0.55  # a command counts as inside a window when it ends in [start + WORD_MAX_S, end - 0.05]
TRACT_WARP = (0.8, 1.25)  # vocal-tract/pitch warp of the extra copies (a child's or a deep voice)
# The share of the commands' augmented copies with other speech just before or after the command. (One
# copy per clip: three copies per command clip raised the commands' prior and tripled false accepts.)
CONTEXT_P = 0.5
CONTEXT_GAP_S = (0.1, 0.5)  # pause between the command and the neighbouring speech
COPY_GAIN_DB = 12.0  # level of the extra stream copies, +-
FEATURE_CHUNK = 2048  # 1 s windows turned into features at once (128 MB of samples at most)
CONTEXT_WORDS = 6  # words of a voice kept as neighbouring speech for its commands
TEST_SET_SILENCE = "noise:test-set"  # speech-commands' subject of the official test set's silence clips
# Household sounds that are neither speech nor steady noise (tinyml.data.household: dishes, a tap, knocks,
# a rhythmic machine, coughs and hums, music): the real folders have no background recording, and the
# generator's noise is steady or babble. HOUSEHOLD_SHARE: windows of them alone ("silence") per training
# window; HOUSEHOLD_MIX_P: the share of the clips' augmented copies with one under the word, at
# HOUSEHOLD_SNR_DB. Drawn from their own generator, so every other training window stays as it was.
HOUSEHOLD_SHARE = 0.05
HOUSEHOLD_MIX_P = 0.2
HOUSEHOLD_SNR_DB = (0.0, 20.0)
HOUSEHOLD_SEED = 0x486F  # their generator: seeded by the manifest's seed and this


def make_examples(recordings, fx, manifest, rng, augment):
    """1 s windows, their 12-class labels and groups (each window's speaker: `clip_group`).

    Evaluation (augment False): the 1 s clips only (top-1 on clips); streams are scored as streams.
    Training (augment True), the windows a listening device meets:
    - every clip, and a copy warped in time and frequency (TRACT_WARP: resampling moves pitch and formants
      together, so a few voices stand for many speakers) with a gain and extra noise from a silence clip;
      a command's copy has, CONTEXT_P of the time, another word of the voice just before or after it:
      the windows that hold a command in a stream often hold part of a neighbouring word;
    - the training streams, densely: a window every NEGATIVE_STEP_S away from commands ("unknown", or
      "silence" when no 20 ms frame stands out of the noise) and every POSITIVE_STEP_S while a command sits
      whole inside; windows cutting a command at their edge are ambiguous and skipped. Each stream also
      gives a warped copy at another level (+-COPY_GAIN_DB), sampled half as densely.
    Non-keyword speech then dominates the training windows as it dominates the day of a microphone, which
    is why the manifest trains with class_weight = "none": the posteriors keep that prior, and false
    accepts stay rare at the post-processing threshold.
    The groups are names, so the evaluation's cluster bootstrap draws whole speakers (one speaker's clips
    are not independent: intervals by clip are too narrow).
    """
    labels = manifest.labels
    W = fx.window
    feats, ys, gs = [], [], []
    clips, clip_y, clip_g = [], [], []  # raw 1 s windows waiting for their features (a chunk at a time)

    def features_of_clips():
        if clips:
            feats.append(fx.batch(np.stack(clips).astype(np.float32)[:, :, None]))
            ys.extend(clip_y); gs.extend(clip_g)
            clips.clear(); clip_y.clear(); clip_g.clear()

    noise_pool = [r.signal[:W, 0] for r in recordings if r.label == "silence" and len(r.signal) >= W]
    context_pool = _context_pool(recordings) if augment else {}
    hrng = np.random.default_rng([int(manifest.dataset.get("seed", 0)), HOUSEHOLD_SEED])
    for r in recordings:
        x = r.signal[:, 0]
        if r.activity in ("stream", "keywords"):
            if augment and len(x) >= W:
                features_of_clips()  # keep examples and labels in step
                for f, g, sparse in ((1.0, 1.0, 1), (_warp_factor(rng), _gain(rng), 2)):
                    y = x if f == 1.0 else np.clip(_warp(x, f) * g, -1, 1).astype(np.float32)
                    F, L = _stream_windows(y, [(t / f, lab) for t, lab in r.events], fx, manifest, rng, sparse)
                    feats.append(F); ys.extend(L); gs.extend([clip_group(r)] * len(L))
            continue
        if r.label not in labels:
            continue
        w = x[:W] if len(x) >= W else np.concatenate([x, np.zeros(W - len(x), np.float32)])
        clips.append(w); clip_y.append(labels.index(r.label)); clip_g.append(clip_group(r))
        if augment:
            y = _fit(_warp(w, _warp_factor(rng)), W)
            if r.label in manifest.app["event_labels"] and rng.random() < CONTEXT_P:
                y = _with_context(y, context_pool.get(r.subject), rng)
            y = _augment(y, rng, noise_pool)
            if hrng.random() < HOUSEHOLD_MIX_P:
                y = _with_household(y, hrng, manifest.rate)
            clips.append(y)
            clip_y.append(labels.index(r.label)); clip_g.append(clip_group(r))
        if len(clips) >= FEATURE_CHUNK:
            features_of_clips()
    features_of_clips()
    if augment and "silence" in labels:
        for _ in range(int(HOUSEHOLD_SHARE * len(ys))):
            w, kind = household_window(manifest, hrng, W)
            clips.append(w); clip_y.append(labels.index("silence")); clip_g.append(f"household:{kind}")
            if len(clips) >= FEATURE_CHUNK:
                features_of_clips()
        features_of_clips()
    feats = [f for f in feats if len(f)]
    if not feats:
        return np.zeros((0, *fx.input_shape()), np.float32), np.zeros(0, np.int64), np.zeros(0, str)
    return np.concatenate(feats).astype(np.float32), np.asarray(ys, np.int64), np.asarray(gs, str)


def clip_group(r) -> str:
    """The group a recording's windows belong to for the intervals: its speaker (Speech Commands: the
    `<speaker>_nohash_<n>` hash; a text-to-speech talker), or the noise recording a silence clip was cut
    from. The official test set's silence clips (subject "noise:test-set") name no recording they were cut
    from, so each is its own group."""
    return r.source if r.subject == TEST_SET_SILENCE else r.subject


def _stream_windows(x, ends, fx, manifest, rng, sparse=1):
    """Labelled windows of a stream at frame-hop offsets. The MFCC frames of the whole stream are computed
    once and windows are slices of them: a window starting on a frame hop has exactly those frames (the
    window hop is a whole number of frame hops; see app.toml)."""
    labels, rate, W = manifest.labels, manifest.rate, fx.window
    fh = int(manifest.features["chain"][0]["hop"])
    F = fx.features(x[:, None])  # [n_frames, n_mfcc]
    nf = fx.input_shape()[0]
    n = min(len(F) - nf + 1, (len(x) - W) // fh + 1)
    neg_step = max(1, int(round(NEGATIVE_STEP_S * rate / fh))) * sparse
    pos_step = max(1, int(round(POSITIVE_STEP_S * rate / fh))) * sparse
    off = int(rng.integers(neg_step))
    e = [(int(round(t * rate)), lab) for t, lab in ends]
    inside_lo, inside_hi, near = int(WORD_MAX_S * rate), W - int(0.05 * rate), int(0.3 * rate)
    idx, out = [], []
    for k in range(off % pos_step, n, pos_step):
        s = k * fh
        inside = [lab for t, lab in e if s + inside_lo <= t <= s + inside_hi]
        if len(inside) == 1:
            idx.append(k); out.append(labels.index(inside[0]))
        elif (k - off) % neg_step == 0 and not any(s - near <= t <= s + W + inside_lo for t, _ in e):
            idx.append(k); out.append(labels.index("unknown" if _has_speech(x[s : s + W]) else "silence"))
    if not idx:
        return np.zeros((0, *fx.input_shape()), np.float32), []
    return np.stack([F[k : k + nf] for k in idx]), out


def _warp_factor(rng):
    lo, hi = TRACT_WARP
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _warp(x, f):
    """Tape-style resampling by f (> 1: higher and faster): pitch and formants move together."""
    n = max(2, int(round(len(x) / f)))
    return np.interp(np.arange(n) * f, np.arange(len(x)), x).astype(np.float32)


def _fit(x, n):
    """Centre-crop or mirror-pad to n samples (the clip's edges are its noise floor, rarely the word)."""
    if len(x) >= n:
        s = (len(x) - n) // 2
        return x[s : s + n]
    a = (n - len(x)) // 2
    return np.pad(x, (a, n - len(x) - a), mode="reflect")


def _frame_energy(w, frame):
    """Mean square of each whole frame of `frame` samples (float64, never 0: ratios stay finite)."""
    n = len(w) // frame
    return np.mean(w[: n * frame].reshape(n, frame).astype(np.float64) ** 2, axis=1) + 1e-12


def _speech_span(w, frame=160):
    """First and last sample of the 10 ms frames that stand out of the clip's noise floor (the word)."""
    e = _frame_energy(w, frame)
    on = np.flatnonzero(e > max(6.0 * np.percentile(e, 20), 1e-3 * e.max()))
    return (int(on[0]) * frame, int(on[-1] + 1) * frame) if on.size else (0, len(w))


def _context_pool(recordings):
    """Per voice, the words of its "unknown" clips cut out of their noise: neighbouring speech for commands."""
    pool = {}
    for r in recordings:
        if r.activity not in ("stream", "keywords") and r.label == "unknown" and len(pool.get(r.subject, ())) < CONTEXT_WORDS:
            x = r.signal[:, 0]
            a, b = _speech_span(x)
            pool.setdefault(r.subject, []).append(x[a:b].copy())
    return pool


def _with_context(w, words, rng):
    """A command clip with another word of the same voice just before or after it, cut by the window's edge
    where it overruns: in a room commands follow other speech ("... please, stop"), and the windows that
    hold the whole command then hold part of a neighbour too. The label stays the command."""
    if not words:
        return w
    a, b = _speech_span(w)
    gap = int(rng.uniform(*CONTEXT_GAP_S) * 16000)
    sides = [s for s, room in (("before", a - gap), ("after", len(w) - b - gap)) if room > 1600]
    if not sides:
        return w
    word = words[int(rng.integers(len(words)))]
    word = word * np.float32(_rms(w[a:b]) / (_rms(word) + 1e-9) * rng.uniform(0.5, 1.5))
    y = w.copy()
    if sides[int(rng.integers(len(sides)))] == "before":
        end = a - gap
        part = word[-end:]
        y[end - len(part) : end] += part
    else:
        start = b + gap
        part = word[: len(w) - start]
        y[start : start + len(part)] += part
    return np.clip(y, -1, 1).astype(np.float32)


def _rms(x):
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)) + 1e-20))


def household_window(manifest, rng, n):
    """One window of a household sound (tinyml.data.household) over a faint steady noise, through a
    microphone and a phone's capture path (the generator's Mic): what a device hears in a room where nobody
    speaks. Returns the window and the sound's kind."""
    from tinyml.data import dataset_module
    from tinyml.data.household import SOUND_KINDS, sound

    ds = dataset_module(manifest.dataset["generator"])
    kind = SOUND_KINDS[int(rng.integers(len(SOUND_KINDS)))]
    steady = [k for k in ds.NOISE_KINDS if k != "babble"]  # babble is speech
    bed = steady[int(rng.integers(len(steady)))]
    level = 10 ** (rng.uniform(-45, -12) / 20)  # before the capture path's gain control, which mostly sets it
    y = level * (sound(kind, n, manifest.rate, rng) + ds.noise(bed, n, rng) * 10 ** (-rng.uniform(10, 30) / 20))
    return ds.Mic(rng, device=True)(y), kind


def _with_household(w, rng, rate):
    """A window with a household sound mixed under it at HOUSEHOLD_SNR_DB (against the window's RMS)."""
    from tinyml.data.household import SOUND_KINDS, sound

    kind = SOUND_KINDS[int(rng.integers(len(SOUND_KINDS)))]
    s = sound(kind, len(w), rate, rng) * np.float32(_rms(w) / 10 ** (rng.uniform(*HOUSEHOLD_SNR_DB) / 20))
    return np.clip(w + s, -1, 1).astype(np.float32)


def _gain(rng):
    return np.float32(10 ** (rng.uniform(-COPY_GAIN_DB, COPY_GAIN_DB) / 20))


def _has_speech(w, rate=16000):
    """Some 20 ms frame clearly above the window's noise floor (a crude voice-activity check)."""
    e = _frame_energy(w, 320)
    return bool(e.max() > 8.0 * np.median(e))


def _augment(w, rng, noise_pool):
    """Gain (-6..+6 dB) and, half the time, extra background from a silence clip (the generator already
    shifts words in time and varies rooms, noise and microphones)."""
    y = w * np.float32(10 ** (rng.uniform(-6, 6) / 20))
    if noise_pool and rng.random() < 0.5:
        nz = noise_pool[int(rng.integers(len(noise_pool)))]
        y = y + nz * np.float32(rng.uniform(0.1, 1.0))
    return np.clip(y, -1, 1).astype(np.float32)


# --- demo ----------------------------------------------------------------------------------------------

DEMO_VOICE = ("espeak", "victor")  # one of the corpus voices
DEMO_SECONDS = 16.0
DEMO_OFFSET = 3  # scene variant (picked among 4: the committed model must hear it exactly)


def make_demo(manifest, seed):
    """A 16 s kitchen scene: a voice says a few words and sentences, and a command every ~4 s, over
    changing background noise, through a room and a cheap microphone (a new rendering, not a corpus clip)."""
    from tinyml.data import dataset_module
    from tinyml.recording import Recording

    ds = dataset_module(manifest.dataset["generator"])
    rng = np.random.default_rng(seed + 77 + DEMO_OFFSET)
    v = ds.Voice(*DEMO_VOICE, rng)
    cmds = {w: [ds.trim(v.say(w)) for _ in range(2)] for w in ds.COMMANDS}
    words = [ds.trim(v.say(w)) for w in ("kitchen", "coffee", "morning", "table", "music", "please", "window")]
    sent = [ds.trim(v.say(s)) for s in ds.SENTENCES[:2]]
    x, events = ds.stream(int(DEMO_SECONDS * ds.RATE), rng, words, sent, words, cmds, 4.0, (14.0, 20.0))
    return Recording(x[:, None], float(ds.RATE), tuple(manifest.channels), events=events,
                     activity=f"{DEMO_SECONDS:g} s spoken scene ({v.subject}), "
                              f"{len(events)} commands among other speech and noise")


# --- model card: spectrogram with detections, FA/h vs FRR over the threshold -----------------------------

CURVE_THRESHOLDS = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99)


def model_card_extras(app, out_dir, card, pipe, test):
    """Extra card section (called by tinyml.report when present): stream plots and the threshold curve."""
    from tinyml.metrics import event_metrics
    from tinyml.predict import prepare

    from tinyml.scoring import is_real

    m = app.manifest
    streams = [r for r in test if r.activity == "stream" or (r.events and r.duration > 5)]
    if not streams:
        return ""
    real = is_real(m)
    real_streams = [r for r in streams if real(r)]
    # the curve and the figures come from real people's streams when there are any (the headline); the
    # generated voices' streams are reported beside them, per voice
    curve_on = real_streams or streams
    # The int8 evaluation just streamed `test` in order, then the example plot ran once: reuse those scores
    # when they line up with the recordings (checked by length and on one recomputed recording).
    fx = pipe.fx
    prev = list(_RUNS)[-(len(test) + 1) : -1]
    cached = {}
    if len(prev) == len(test) and all(len(s) == fx.n_windows(len(r.signal)) for s, r in zip(prev, test)):
        cached = {id(r): np.stack(s) if s else np.zeros((0, len(m.labels)), np.int8) for s, r in zip(prev, test)}
    runs = []
    for i, r in enumerate(streams):
        sig = prepare(app, r, notice=False)
        if id(r) in cached and i > 0:
            res = _Scores(cached[id(r)], fx.window_starts(len(sig)), fx, m.rate)
        else:
            res = pipe.run(sig)
            if id(r) in cached and not np.array_equal(res.scores_q, cached[id(r)]):
                cached = {}  # the remembered runs are not this evaluation's: recompute everything
        runs.append((r, sig, res))
    o = pipe.model.output
    before, after = float(m.postprocess["detect_before_s"]), float(m.postprocess["detect_after_s"])
    rows = []
    curve_runs = [x for x in runs if any(x[0] is r for r in curve_on)]
    for th in CURVE_THRESHOLDS:
        evs = _detections(with_postprocess(m, threshold=th), fx, curve_runs, o)
        em = event_metrics([r for r, _, _ in curve_runs], evs, m.labels, m.rate, before, after)
        rows.append((th, em.get("false_alarms_per_hour", float("nan")), 1 - em["sensitivity"]))
    _plot_curve(rows, float(m.postprocess["threshold"]), out_dir / "fa_frr.png")
    chosen = _detections(m, fx, runs, o)
    kw = [k for k, x in enumerate(runs) if x[0].events and any(x[0] is r for r in curve_on)]
    if kw:
        k = max(kw, key=lambda k: len(runs[k][0].events))
        _plot_stream(app, pipe, runs[k], chosen[k], out_dir / "stream.png")
    table = "\n".join(f"| {th:g} | {fa:.2f} | {100 * frr:.1f} % |" for th, fa, frr in rows)
    voices = _by_voice(m, runs, chosen)
    hours = sum(r.duration for r, _, _ in curve_runs if r.activity == "stream") / 3600
    n_kw = sum(len(r.events) for r, _, _ in curve_runs)
    whose = ("real people: streams made of Speech Commands clips of the test split's speakers, in household "
             "noise" if real_streams else "held-out voices")
    synthetic = card["dataset"].get("synthetic", True)
    return f"""
## Streams ({whose})

{hours:.2f} h of continuous non-keyword speech and noise, and {n_kw} commands embedded in streams;
post-processing: average of the last {m.postprocess['smooth']} window scores, threshold
{m.postprocess['threshold']}, {m.postprocess['suppress_s']} s suppression of a repeated command, a flush at
the end of the input (integer maths on int8 scores).

| threshold | false accepts / h | false rejects |
| --- | --- | --- |
{table}

![FA/h vs FRR](fa_frr.png)

Per held-out voice at the threshold {m.postprocess['threshold']} (the misses are not spread evenly;
`streams:test` is the real people's streams, the others are the evaluation-only text-to-speech talkers):

| voice | commands | missed | false accepts | stream minutes |
| --- | --- | --- | --- | --- |
{voices}

![a held-out keyword stream: log-mel spectrogram, command scores, detections](stream.png)

**Status against the floors** in `app.toml` (top-1 >= {m.acceptance.get('accuracy', float('nan')):g}, <=
{m.acceptance.get('max_false_alarms_per_hour', float('nan')):g} false accept / h, <= {100 * (1 - m.acceptance.get('sensitivity', float('nan'))):.0f} % false rejects): {_status(card, m)}
MLPerf Tiny's target for top-1 on the official test set is 0.90.
{SYNTHETIC_NOTE if synthetic else ""}"""


SYNTHETIC_NOTE = """
**The data is synthetic** (TTS voices through a simulated room, noise and microphone): expect lower
accuracy and more false accepts on real speech. Train on Speech Commands when you have it.
"""


def _detections(pp, fx, runs, out_q):
    """Each run's command events from its int8 scores (post-processing only: no model call)."""
    from tinyml.predict import postprocess

    return [postprocess(PostProcessor(pp, out_q.scale, out_q.zero_point), fx.frames(sig), fx.window, fx.hop,
                        res.scores_q, sig) for _, sig, res in runs]


def _by_voice(m, runs, events):
    """Markdown rows: each held-out voice's commands, misses and false accepts (`events`: the detections
    of each run at the manifest's threshold), most misses first."""
    from tinyml.metrics import event_metrics

    per = {}
    for (r, _, _), ev in zip(runs, events):
        per.setdefault(r.subject, []).append((r, ev))
    rows = []
    for subject, rs in per.items():
        em = event_metrics([r for r, _ in rs], [ev for _, ev in rs], m.labels, m.rate,
                           float(m.postprocess["detect_before_s"]), float(m.postprocess["detect_after_s"]))
        n = em["event_trials"]
        missed = n - em["event_hits"]
        rows.append((missed, subject, n, em.get("false_alarms", 0), 60 * em.get("stream_hours", 0.0)))
    rows.sort(key=lambda x: (-x[0], -x[3], x[1]))
    return "\n".join(f"| {s} | {n} | {k} | {fa} | {mins:.1f} |" for k, s, n, fa, mins in rows)


class _Scores:
    def __init__(self, scores_q, starts, fx, rate):
        self.scores_q = scores_q
        self.times = (starts + fx.window) / rate
        self.events = []


def _status(card, m):
    q = card["metrics"]["int8"]
    a = m.acceptance
    ok = (q.get("accuracy", 0) >= a.get("accuracy", 0) and q.get("sensitivity", 0) >= a.get("sensitivity", 0)
          and q.get("false_alarms_per_hour", 1e9) <= a.get("max_false_alarms_per_hour", float("inf")))
    return ("met." if ok else
            f"NOT met: top-1 {q.get('accuracy', float('nan')):.3f}, {q.get('false_alarms_per_hour', float('nan')):.1f} "
            f"false accepts / h, {100 * (1 - q.get('sensitivity', float('nan'))):.1f} % false rejects.")


def with_postprocess(m, **settings):
    """The manifest with some `[postprocess]` settings changed (a threshold curve, an operating-point sweep)."""
    import dataclasses

    return dataclasses.replace(m, postprocess={**m.postprocess, **settings})


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _plot_curve(rows, chosen, path):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 4))
    fa = [r[1] for r in rows]
    frr = [100 * r[2] for r in rows]
    ax.plot(fa, frr, "o-")
    for th, a, b in zip([r[0] for r in rows], fa, frr):
        ax.annotate(f"{th:g}", (a, b), fontsize=7, xytext=(3, 3), textcoords="offset points",
                    color="r" if th == chosen else "k")
    ax.set_xlabel("false accepts per hour"); ax.set_ylabel("false rejects (%)")
    ax.set_title("held-out streams, over the post-processing threshold"); ax.grid(alpha=0.3)
    fig.tight_layout(); fig.savefig(path, dpi=90); plt.close(fig)


def _plot_stream(app, pipe, run, events, path, seconds=30.0):
    from tinyml.dsp.log import log
    from tinyml.dsp.mel import mel, mel_filterbank
    from tinyml.dsp.spectrum import spectrogram
    from tinyml.features import dequantize

    plt = _plt()
    m = app.manifest
    r, sig, res = run
    n = min(len(sig), int(seconds * m.rate))
    st = m.features["chain"][0]  # the MFCC step's own frames and mel bands, before the DCT
    S = spectrogram(sig[:n, 0], st["length"], st["hop"], st["window"], st["n_fft"])
    L = log(mel(S, mel_filterbank(m.rate, st["n_fft"], st["n_mels"], st["fmin"], st["fmax"])), st["log_floor"])
    fig, ax = plt.subplots(2, 1, figsize=(10, 5), sharex=True)
    ax[0].imshow(L.T, origin="lower", aspect="auto", extent=(0, n / m.rate, 0, st["n_mels"]), cmap="magma")
    ax[0].set_ylabel(f"mel band ({st['fmin']:g}-{st['fmax']:g} Hz)")
    o = pipe.model.output
    p = dequantize(res.scores_q, o.scale, o.zero_point)
    keep = res.times <= n / m.rate
    for lab in m.app["event_labels"]:
        j = m.labels.index(lab)
        ax[1].plot(res.times[keep], p[keep, j], lw=0.9, label=lab)
    for tg, lab in r.events:
        if tg <= n / m.rate:
            ax[0].axvline(tg, color="w", ls=":", lw=1)
            ax[0].text(tg, st["n_mels"] - 2, lab, color="w", fontsize=8, ha="right", va="top")
    for idx, lab, _ in events:
        if idx / m.rate <= n / m.rate:
            ax[1].axvline(idx / m.rate, color="r", ls="--", lw=1)
            ax[1].text(idx / m.rate, 1.02, m.labels[lab], color="r", fontsize=8)
    ax[1].axhline(float(m.postprocess["threshold"]), color="gray", lw=0.6)
    ax[1].set_ylim(-0.05, 1.1); ax[1].set_xlabel("time (s)"); ax[1].set_ylabel("P(command)")
    ax[1].legend(loc="upper right", fontsize=6, ncol=5)
    ax[0].set_title(f"held-out keyword stream ({r.subject}): truth (word ends) dotted, detections dashed red")
    fig.tight_layout(); fig.savefig(path, dpi=90); plt.close(fig)
