"""fall-detect: what must be code. The model builder, the training-window hook and the post-processor.

Post-processing mirrors apps/fall-detect/firmware/app.c step for step (float32 |a|, integer score
compare), so Python and the device raise the same alerts from the same samples.
"""

from __future__ import annotations

import numpy as np

from tinyml.data import augment
from tinyml.dsp.magnitude import magnitude
from tinyml.postprocess import samples_of, score_threshold_q

# --- model -------------------------------------------------------------------------------------------


def build_model(input_shape, n_classes, *, filters=(8, 16, 16), kernel=5, dense=16, dropout=0.15, **_):
    """A small 1D CNN: strided convolutions over 4 s of [ax, ay, az, |a|], then a dense head."""
    import keras
    from keras import layers

    inp = keras.Input(shape=input_shape, batch_size=1)
    x = inp
    for f in filters:
        x = layers.Conv1D(f, kernel, strides=2, padding="same", activation="relu")(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(dropout)(x)
    x = layers.Dense(dense, activation="relu")(x)
    out = layers.Dense(n_classes, activation="softmax")(x)
    return keras.Model(inp, out)


# --- training windows ----------------------------------------------------------------------------------

# Where in a positive window the impact lies: 1.6-3 s of aftermath visible, so the model confirms a fall by
# the time the post-processor's stillness check (settle_s + still_s after the impact) is complete.
IMPACT_ZONE = (0.25, 0.6)
SLOW_SENSOR_HZ = (20, 50)  # training windows also come as sensors at these rates deliver them (20 Hz tags)


def make_examples(recordings, fx, manifest, rng, augment):
    """Windows and labels (0 adl, 1 fall) from trials and streams.

    Positives put the impact inside IMPACT_ZONE; pre-fall activity is negative; ADLs give regular
    windows plus windows centred on their hardest peaks (jumps, sitting hard), the near-fall negatives.
    """
    W, rate = fx.window, fx.rate
    frames, labels = [], []
    for r in recordings:
        sig, n = r.signal, len(r.signal)
        if n < W:
            continue
        mag = magnitude(sig)
        if r.label == "fall" and r.events:
            i_imp = int(round(r.events[0][0] * rate))
            for _ in range(4 if augment else 2):
                s = i_imp - int(rng.uniform(*IMPACT_ZONE) * W)
                if 0 <= s <= n - W:
                    frames.append(sig[s : s + W]); labels.append(1)
            for s in range(0, max(0, i_imp - W - int(0.3 * rate)), W // 2):
                frames.append(sig[s : s + W]); labels.append(0)
            continue
        stride = W * (4 if r.activity == "stream" else 1) // 2
        starts = list(range(0, n - W + 1, stride))
        if r.activity == "stream" and augment:
            starts = list(rng.choice(starts, size=max(1, len(starts) // 2), replace=False))
        # the hardest negatives (impacts that are not falls) get several windows each, placed like positives
        reps = int(manifest.model["params"].get("hard_negative_weight", 1))
        for p in _peaks(mag, rate, 1.4, 4 if r.activity != "stream" else 40, rng):
            for _ in range(reps):
                s = p - int(rng.uniform(IMPACT_ZONE[0] - 0.05, IMPACT_ZONE[1] + 0.1) * W)
                if 0 <= s <= n - W:
                    starts.append(s)
        for s in starts:
            frames.append(sig[s : s + W]); labels.append(0)
    if not frames:  # a short trial whose impact leaves no window in place (real trials of 5-10 s), scored alone
        return fx.batch(np.zeros((0, W, len(manifest.channels)), np.float32)), np.zeros(0, np.int64)
    X = np.stack(frames).astype(np.float32)
    if augment:
        X = _augment(X, rng, rate)
    return fx.batch(X), np.asarray(labels, np.int64)


def _peaks(mag, rate, min_g, k, rng):
    """Indices of up to k separated peaks of |a| above min_g (the ADLs most like a fall impact)."""
    cand = np.flatnonzero(mag >= min_g)
    if len(cand) == 0:
        return []
    order = cand[np.argsort(-mag[cand])]
    picked: list[int] = []
    gap = int(2 * rate)
    for i in order:
        if all(abs(i - j) > gap for j in picked):
            picked.append(int(i))
            if len(picked) >= k:
                break
    return picked


def _augment(X, rng, rate):
    """Real-world nuisances: half the windows from a 20-50 Hz sensor (a smeared or missed impact peak), any
    mounting (30% fully random), gain error, bias, noise, clipping at ±16 g."""
    X = augment.lower_rate(X, rng, rate, SLOW_SENSOR_HZ, fraction=0.5)
    X = augment.rotate(X, rng, full_fraction=0.3, max_angle=0.45)
    X = augment.gain(X, rng, 0.05)
    X = augment.bias(X, rng, 0.03)
    X = augment.noise(X, rng, (0.005, 0.03))
    return augment.clip(X, 16.0).astype(np.float32)


# --- post-processing (the C twin is firmware/app.c) -------------------------------------------------------


class PostProcessor:
    """Model confirmation at an impact, then a stillness and posture check after it, then a refractory time.

    A window is a candidate when the model's int8 fall score reaches the threshold and |a| in it reached
    `impact_g`; the impact is the window's first sample of largest |a|. The check takes blocks of `still_s` of
    samples, the first beginning `settle_s` after the impact (samples already in the window count at once, so
    the alert comes about settle_s + still_s after the impact, not a whole window later). In a still block |a|
    varies by at most `still_sd_g` (standard deviation: walking on is not still; turning over while lying barely
    changes |a|). The first still block decides: an alert when the mean gravity direction over it has turned
    at least acos(`posture_change_cos`) from the candidate window's first `pre_s` (a fall ends lying; sitting
    down hard or jumping does not), else no alert. A block that is not still is followed by the next one
    (someone who slid or rolled on after the first contact) as long as it ends by `still_by_s` after the impact.
    Arithmetic is float32 in a fixed order with an integer score compare, exactly as in firmware/app.c.
    """

    def __init__(self, manifest, out_scale, out_zero_point):
        # Every constant is derived from the manifest (and the model's output quantization) with the same
        # float32 expressions the firmware evaluates on TML_CFG_POSTPROCESS_* and TML_MODEL_OUTPUT_*.
        p, rate, f32 = manifest.postprocess, manifest.rate, np.float32
        self.window = int(manifest.features["window"])
        self.fall = manifest.labels.index("fall")
        self.threshold_q = score_threshold_q(p["fall_threshold"], out_scale, out_zero_point)
        self.impact_sq = f32(p["impact_g"]) * f32(p["impact_g"])
        self.settle_n = samples_of(p["settle_s"], rate)
        self.still_n = samples_of(p["still_s"], rate)
        self.still_by_n = samples_of(p["still_by_s"], rate)
        self.still_var = f32(p["still_sd_g"]) * f32(p["still_sd_g"])
        self.pre_n = samples_of(p["pre_s"], rate)
        self.cos_tilt = f32(p["posture_change_cos"])
        self.refractory_n = samples_of(p["refractory_s"], rate)
        self.reset()

    def reset(self):
        self.next = -1  # absolute index of the next sample the check takes; -1: no candidate
        self.deadline = 0  # a block must end by this absolute index (impact + still_by_s)
        self.n = 0  # samples in the current block (of still_n)
        self.s1 = np.float32(0)  # sum of |a| over the block
        self.s2 = np.float32(0)  # sum of |a|^2
        self.pre = np.zeros(3, np.float32)  # gravity before the candidate (sum of pre_n samples)
        self.post = np.zeros(3, np.float32)  # gravity during the block (running sum)
        self.score_q = 0
        self.quiet_until = -1  # sample index before which no alert is raised

    def step(self, frame, new, first_new, scores_q):
        """frame [W, 3] float32 (its last k samples are new, the first of them at index first_new), scores int8.
        Returns [(label index, int8 score)] for the alerts this window raises."""
        end = first_new + len(new)  # index one past the window's last sample
        events = self._follow(frame, end) if self.next >= 0 else []
        if self.next < 0 and end > self.quiet_until and int(scores_q[self.fall]) >= self.threshold_q:
            sq = frame[:, 0] * frame[:, 0] + frame[:, 1] * frame[:, 1] + frame[:, 2] * frame[:, 2]
            i = int(np.argmax(sq))  # the first sample of the largest |a|
            if sq[i] >= self.impact_sq:
                impact = end - self.window + i
                self.next = impact + self.settle_n
                self.deadline = impact + self.still_by_n
                self._new_block()
                self.pre = _sum_rows(frame[: self.pre_n])
                self.score_q = int(scores_q[self.fall])
                events += self._follow(frame, end)
        return events

    def _new_block(self):
        self.n = 0
        self.s1 = self.s2 = np.float32(0)
        self.post = np.zeros(3, np.float32)

    def _follow(self, frame, end):
        """Take the window's samples from index self.next on, block by block; the alerts decided."""
        mag = magnitude(frame)
        for j in range(max(0, self.next - (end - self.window)), self.window):
            self.s1 = self.s1 + mag[j]
            self.s2 = self.s2 + mag[j] * mag[j]
            self.post = self.post + frame[j]
            self.n += 1
            self.next += 1
            if self.n < self.still_n:
                continue
            nf = np.float32(self.n)
            mean = self.s1 / nf
            if self.s2 / nf - mean * mean <= self.still_var:  # still: this block decides
                self.next = -1
                if _turned(self.pre, self.post, self.cos_tilt):
                    self.quiet_until = end + self.refractory_n
                    return [(self.fall, self.score_q)]
                return []
            if self.next + self.still_n > self.deadline:  # moving, and no time for another block
                self.next = -1
                return []
            self._new_block()
        return []


def _sum_rows(x):
    """Sequential float32 sum over samples, per axis (the firmware's loop order)."""
    acc = np.zeros(3, np.float32)
    for row in x:
        acc = acc + row
    return acc


def _turned(a, b, cos_tilt):
    """True when the angle between vectors a and b is at least acos(cos_tilt), in float32."""
    dot = (a[0] * b[0] + a[1] * b[1]) + a[2] * b[2]
    na = (a[0] * a[0] + a[1] * a[1]) + a[2] * a[2]
    nb = (b[0] * b[0] + b[1] * b[1]) + b[2] * b[2]
    return bool(dot <= cos_tilt * np.sqrt(na * nb))


# --- demo recording (fixtures/demo.csv) ----------------------------------------------------------------


def make_demo(manifest, seed):
    """Walking, sitting, standing up, walking into a forward fall, lying still: one continuous scene of an
    unseen simulated subject, with its impact time as ground truth."""
    from tinyml.data import dataset_module

    gen = dataset_module(manifest.dataset["generator"])
    return gen.scene(rate=manifest.rate, channels=manifest.channels, seed=seed, subject=900, fall_code="F04")


# --- model card: real-data figures per activity, the alert latency ------------------------------------------


def model_card_extras(app, out_dir, card, pipe, test):
    """The card's fall-detect sections (called by tinyml.report): the held-out headline trials per activity
    code (which daily activities come close to alerting, which falls are missed), and the alert latency with
    its reason and design target."""
    from tinyml.data import dataset_module

    m = app.manifest
    q = card["metrics"]["int8"]
    acts = q.get("by_activity") or {}
    if not acts:
        return ""
    real = [r for r in test if r.activity != "stream" and r.cohort.startswith("sisfall")]
    names = {**dataset_module("synthetic-falls").ACTIVITIES, **dataset_module("sisfall").ACTIVITIES}
    thr = float(m.postprocess["fall_threshold"])
    where = ", ".join((q.get("measured_on") or {}).get("trials", [])) or card["dataset"]["name"]
    rows, close, missed = [], [], []
    for code, a in acts.items():
        if "events" in a:
            outcome = f"{a['detected']} / {a['events']} detected"
            if a["detected"] < a["events"]:
                missed.append(f"{code} ({a['events'] - a['detected']} of {a['events']})")
        else:
            outcome = f"{a['alerted']} / {a['event_free']} alerted"
            if a["alerted"] or a["peak_max"] >= thr:
                close.append(f"{code} ({a['alerted']} alert{'s' * (a['alerted'] != 1)}, P(fall) up to {a['peak_max']:.2f})")
        rows.append(f"| {code} | {names.get(code, '')} | {a['trials']} | {outcome} | {a['peak_median']:.2f} / {a['peak_max']:.2f} |")
    p = m.postprocess
    quick = float(p["settle_s"]) + float(p["still_s"])
    hop_s = int(m.features["hop"]) / m.rate
    lat = (f"median {q['latency_median_s']:.1f} s, 95th percentile {q['latency_p95_s']:.1f} s, longest "
           f"{q['latency_max_s']:.1f} s" if "latency_median_s" in q else "not measured (no fall detected)")
    return f"""
## Data

- **SisFall** (A. Sucerquia, J. D. López, J. F. Vargas-Bonilla, "SisFall: A Fall and Movement Dataset",
  *Sensors* 17(1):198, 2017, doi:10.3390/s17010198): 38 people with the device at the waist, 23 adults aged
  19-30 and 15 elderly aged 60-75 (of whom only SE06, a judo expert, performed the falls); 19 daily
  activities and 15 kinds of fall; the ADXL345 (±16 g) at 200 Hz, resampled to {m.rate:g} Hz. Its fall trials
  carry no impact time: the loader takes the peak of |a|. Terms: free for research from its authors, cite the
  paper; its distribution grants no right to redistribute, so no trial is in this repository and the demo is
  synthetic. Read from your copy (`export SISFALL=...`); without it training falls back to the generator.
- **MobiFall v2.0** (`datasets/mobifall/`; Vavoulas et al., 2014): 24 people with a phone in a trouser pocket
  (±2 g, about 81-99 Hz), 4 kinds of fall, 9 daily activities; and **SmartFallMM** (`datasets/smartfallmm/`;
  Texas State University): a sensor on the hip and a phone in the front trouser pocket, young people's 5 kinds
  of fall, young and older people's daily activities. Other people and other body positions than SisFall's
  belt; each file read as `predict` reads it; split by subject within each cohort, drawn after SisFall's and
  the generator's (their subjects as before). Their held-out people are reported per cohort and in the
  real-data section below, not in the headline, which stays on SisFall (`reported_apart_sources`). Terms: free
  for research (MobiFall, cite the paper) and no licence stated (SmartFallMM): nothing of either is in this
  repository. Read from your copies (`export MOBIFALL=... SMARTFALLMM=...`); a folder not set is left out.
- **synthetic-falls** (`datasets/synthetic-falls/`): simulated people performing the same codes plus four
  extra hard negatives (riding in a vehicle, vigorous jumping, jumping down, flopping onto a bed) and
  continuous daily-life streams: the held-out false alarms per hour come from these 20 h, which SisFall's
  short trials cannot give.
- Training windows: a fall's impact 25-60 % into the window; half the windows as a 20-50 Hz sensor delivers
  them through `predict` (with or without an anti-alias filter), any mounting, gain, bias and noise.
{_rates_text(app, pipe, real)}
## Per activity ({where}, held-out subjects, int8)

P(fall) is the model's highest fall probability in the trial (median / largest over its trials); an alert
needs P(fall) >= {thr:g} at an impact and then the stillness and posture check.

| code | activity | trials | outcome | P(fall) median / max |
| --- | --- | --- | --- | --- |
{chr(10).join(rows)}

- Daily activities that alerted or came close (the model fired, the check held it): {', '.join(close) or 'none'}.
- Falls missed: {', '.join(missed) or 'none'}.

## Alert latency

From the impact to the alert: {lat}. **Why:** the alert waits for the wearer to lie still in a new posture:
the check starts `settle_s` = {p['settle_s']:g} s after the impact (the body comes to rest) and needs `still_s` =
{p['still_s']:g} s of stillness, so {quick:g} s at least, plus up to one hop ({hop_s:g} s) until the next decision;
someone who slides or rolls on first is followed until `still_by_s` = {p['still_by_s']:g} s. **Design target:** the
alert within {quick + hop_s:g} s of the impact for a fall that ends lying still, within {float(p['still_by_s']) + hop_s:g} s
otherwise. Shorter would drop the lying-still check that keeps sitting down hard, lying down quickly and
flopping onto a bed from alerting; longer loses real falls: the previous design (a 4 s inactivity check after
a window that needed 2-3 s of aftermath) alerted about 6 s after the impact (6.1 s in the demo), and
SisFall's 15 s fall trials end as early as 2.2 s after the impact (one in ten within 5 s): with that design,
158 of the 260 SisFall falls the synthetic-only model missed had ended before its check did.
"""


# --- model card: the committed pipeline on another real dataset (real_data.py writes real_data.json) ----------

REAL_JSON = "real_data.json"
REAL_HEADING = "## Real recordings of other people (cross-dataset)"


def _ci(d: dict, fmt: str = ".3f") -> str:
    """A share or a rate with its counts and 95 % intervals: '0.312 (90/288; exact 0.259-0.369, 24 subjects
    0.226-0.406)'."""
    if not d.get("n", d.get("hours")):
        return "–"
    head = (f"{d['value']:{fmt}} ({d['k']}/{d['n']}" if "n" in d else
            f"{d['value']:{fmt}} ({d['k']} in {d['hours']:.2f} h")
    parts = [f"exact {d['exact'][0]:{fmt}}-{d['exact'][1]:{fmt}}"] if "exact" in d else []
    if "cluster" in d:
        parts.append(f"{d['groups']} subjects {d['cluster'][0]:{fmt}}-{d['cluster'][1]:{fmt}}")
    return head + ("; " + ", ".join(parts) if parts else "") + ")"


def model_card_appendix(app, folder, out_dir=None) -> str:
    """The card's section rendered with it (tinyml card), not measured with it: the committed model on other
    people's real recordings, which real_data.py measures apart on a machine that has them."""
    return real_data_section(app, folder).lstrip("\n")


model_card_appendix.reads = (REAL_JSON,)  # the card's stamp hashes it: a new measurement makes the card stale


def real_data_section(app, folder) -> str:
    """The card's section from the folder's real_data.json (written by real_data.py), or how to measure it."""
    from pathlib import Path

    path = Path(folder) / REAL_JSON
    lines = ["", REAL_HEADING, ""]
    if not path.is_file():
        return "\n".join(lines + ["Not measured for this model: run `python apps/fall-detect/real_data.py` on the "
                                  "MobiFall v2.0 or SmartFallMM recordings you hold (see its docstring).", ""])
    import hashlib
    import json

    real = json.loads(path.read_text())
    model = app.model_dir / "model.int8.tflite"
    if model.is_file() and real.get("model_sha256") != hashlib.sha256(model.read_bytes()).hexdigest():
        lines += ["**Measured on another model than the committed one**: re-run `real_data.py`.", ""]
    lines += [t for t in [_held_out_text(folder)] if t]
    for name, d in real["datasets"].items():
        lines.append(f"- **{name}** ({d['citation']}; terms: {d['terms']}): {d['devices']}.")
    p = real["postprocess"]
    lines += ["", _scope_text(real.get("scope", {})) + " The committed int8 model and `[postprocess]` as they are; "
              "each file read as `tinyml predict` reads it. "
              "Sensitivity: fall trials with a fall alert; specificity: daily-activity trials without one; false "
              "alarms per hour of daily activity. As `predict` streams each file (any alert in the trial), and with "
              f"the card's definitions (an alert from {p['detect_before_s']:g} s before to {p['detect_after_s']:g} s "
              "after the peak of \\|a\\|, each trial after a lead-in). 95 % intervals: exact (Clopper-Pearson; "
              "Poisson for the rate), then a cluster bootstrap over subjects (2,000 resamples of whole people: one "
              "person's trials are not independent).", ""]
    head = [x for x in real["sets"] if x["headline"]]
    apart = [x for x in real["sets"] if not x["headline"]]
    for title, sets in (("Waist, trunk and pocket (where this app is worn: the headline)", head),
                        ("Elsewhere (wrist: not where this app is worn, listed apart)", apart)):
        if not sets:
            continue
        lines += [f"**{title}**", "", "| data set | position | people (with falls) | sensitivity, as `predict` | "
                  "specificity, as `predict` | false alarms / h | sensitivity, the card's definitions |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        for x in sets:
            u, c = x["predict"], x.get("card_definitions") or {}
            lines.append(f"| {x['dataset']} | {x['position']} | {x['subjects']} ({x['subjects_with_falls']}) | "
                         f"{_ci(u['sensitivity'])} | {_ci(u['specificity'])} | {_ci(u['false_alarms_per_hour'], '.2f')} "
                         f"| {_ci(c['sensitivity']) if c else '–'} |")
        lines.append("")
    for x in head:
        lines += _per_activity_lines(x, real["datasets"][x["dataset"]]["activities"])
        lines += ["", _missed_text(x, real), ""]
    unscored = [x for x in real["sets"] if x["unscored"]]
    if unscored:
        lines.append("Files `predict` refuses are counted, not scored (most are the data sets' own: trials shorter "
                     "than one window, clocks that jump back where trials were joined, corrupt cells):")
        lines.append("")
        for x in unscored:
            why = sorted(x["unscored"].values(), key=lambda e: -e["files"])
            lines.append(f"- {x['dataset']}, {x['position']}: {x['trials'] - x['scored']} of {x['trials']} files "
                         f"({sum(e['falls'] for e in why)} falls), e.g. " + "; ".join(
                             f"{e['files']} like `{e['example']}`" for e in why[:2]) + ".")
    return "\n".join(lines).rstrip("\n") + "\n"


def _scope_text(scope: dict) -> str:
    """Whose recordings the figures come from: a data set the model trained on gives only its held-out people."""
    trained = {n: d for n, d in scope.items() if d.get("scored") == "test subjects"}
    never = [n for n in scope if n not in trained] if scope else []
    if not trained:
        return ("Never trained or tuned on: other devices, rates, body positions and people than training's." +
                (f" ({', '.join(never)})" if never else ""))
    held = "; ".join(f"{n}: its {d['test_subjects']} test subjects (the model trained on {d['trained_subjects']} "
                     "others)" for n, d in trained.items())
    return ("**Held-out people only**: this model trained on other people of these data sets (split by subject, "
            f"each cohort apart, as the card's cohorts list), so only its test subjects are scored ({held})" +
            (f"; {', '.join(never)} never trained on" if never else "") + ". Never tuned on.")


def _per_activity_lines(x: dict, names: dict) -> list[str]:
    """One data set and position's trials per activity code (the card's definitions; the trials turned to the
    training mounting beside them)."""
    from tinyml.metrics import clopper_pearson

    c = x.get("card_definitions") or {}
    by_code = x["turned_to_training_mounting"].get("by_code", {})
    lines = [f"Per activity, {x['dataset']}, {x['position']} (the card's definitions; P(fall) is the model's highest "
             "in the trial, median / largest; last column: as `predict`, the trial turned to the training mounting):",
             "", "| code | activity | trials | outcome (95 % exact) | P(fall) median / max | turned to the training mounting |",
             "| --- | --- | --- | --- | --- | --- |"]
    for code, name in names.items():
        a = (c.get("by_activity") or {}).get(code)
        if a is None:
            continue
        if "events" in a:
            lo, hi = clopper_pearson(a["detected"], a["events"])
            outcome = f"{a['detected']} / {a['events']} detected ({lo:.2f}-{hi:.2f})"
            t = by_code.get(code)
            turn = f"{t['detected']} / {t['trials']} detected" if t else ""
        else:
            outcome, turn = f"{a['alerted']} / {a['event_free']} alerted", ""
        lines.append(f"| {code} | {name} | {a['trials']} | {outcome} | {a['peak_median']:.2f} / {a['peak_max']:.2f} "
                     f"| {turn} |")
    return lines


def _held_out_text(folder) -> str:
    """The card's own held-out headline (its training data's subjects), to set the figures below against."""
    import json
    from pathlib import Path

    card = Path(folder) / "card.json"
    q = json.loads(card.read_text())["metrics"]["int8"] if card.is_file() else {}
    if "sensitivity" not in q:
        return ""
    return (f"Against the held-out subjects of the training data above (int8: sensitivity {q['sensitivity']:.3f}, "
            f"specificity {q['specificity']:.3f}), other data sets:")


def _missed_text(x: dict, real: dict) -> str:
    """Why one set's falls were missed: the model or the check, and what turning the trials to the training
    mounting did."""
    mf, p, turned, u = x["missed_falls"], real["postprocess"], x["turned_to_training_mounting"], x["predict"]
    text = (f"**Why falls are missed ({x['dataset']}, {x['position']}).** Of the {mf['model'] + mf['check']} falls "
            f"`predict` missed, the model never reached `fall_threshold` = {p['fall_threshold']:g} in {mf['model']}; "
            f"the impact, stillness and posture check held back {mf['check']}.")
    g, tg = x["start_gravity_g"], real["training_gravity_g"]
    if g:
        text += (f" The trials start with gravity reading ({', '.join(f'{v:.2f}' for v in g)}) g on (x, y, z) "
                 f"(median); the training mounting reads ({', '.join(f'{v:g}' for v in tg)}). Turned so that the "
                 "gravity of their first 0.5 s reads as the training mounting's (a diagnosis, not part of the "
                 f"pipeline), as `predict`: sensitivity {_ci(turned['sensitivity'])}, specificity "
                 f"{_ci(turned['specificity'])}.")
    if x.get("by_peak_g"):
        bins = lambda b: ", ".join(f"{r['detected']}/{r['trials']} at {r['from_g']:g}" +  # noqa: E731
                                   (f"-{r['to_g']:g} g" if r["to_g"] else " g or more") for r in b if r["trials"])
        text += (f" Falls detected by their largest \\|a\\| at {real['device_rate_hz']:g} Hz, as they "
                 f"are: {bins(x['by_peak_g'])}; turned: {bins(turned.get('by_peak_g', []))}.")
    if "exact" in turned["sensitivity"] and "exact" in u["sensitivity"] and (
            turned["sensitivity"]["exact"][0] > u["sensitivity"]["exact"][1]):
        text += (" **The model is not orientation-free**: the same falls, mounted as in training, are detected "
                 "significantly more often (its training windows turn fully at random only part of the time).")
    return text


SLOW_SENSORS = ((20.0, True), (20.0, False), (25.0, True))  # (Hz, anti-alias filter before sampling)


def _rates_text(app, pipe, real):
    """The held-out real trials as slower sensors would deliver them (down from the device rate, then back
    up by `predict`): the impact peak is smeared (filtered) or hit and missed (plain sampling)."""
    if not real:
        return ""
    from tinyml.dsp.resample import resample
    from tinyml.recording import Recording
    from tinyml.scoring import evaluate_events

    rate = app.manifest.rate
    rows = []
    for hz, filtered in SLOW_SENSORS:
        slow = []
        for r in real:
            x = r.signal
            if filtered:
                y = resample(x, rate, hz)
            else:  # sample and hold at the slow sensor's instants, no filter
                y = x[np.floor(np.arange(0, len(x) - 1, rate / hz)).astype(int)]
            slow.append(Recording(np.ascontiguousarray(y, np.float32), hz, r.channels, subject=r.subject,
                                  label=r.label, activity=r.activity, events=r.events, source=r.source,
                                  cohort=r.cohort))
        e = evaluate_events(app, pipe, slow)
        rows.append(f"| {hz:g} Hz, {'anti-alias filter' if filtered else 'no filter (samples picked)'} | "
                    f"{e['sensitivity']:.3f} ({e['event_hits']}/{e['event_trials']}) | "
                    f"{e['specificity']:.3f} ({e['event_free_clean']}/{e['event_free_trials']}) |")
    return ("\nThe same held-out SisFall trials as a slower sensor would record them (taken down from "
            f"{rate:g} Hz, brought back by `predict`; int8):\n\n| sensor | sensitivity | specificity |\n"
            "| --- | --- | --- |\n" + "\n".join(rows) + "\n")
