"""What each figure of a model card means: one short definition per kind of metric, filled in with the
app's own numbers (its detection window, its held-out counts), and the app's own words where its manifest
gives them (`[card] glossary = { specificity = "..." }`: they come first, the generic kind after them).

A metric is matched by its name: the core's names exactly (sensitivity, macro_f1, ...), an app metric by
the kind its name ends in or starts with (qrs_sensitivity is a sensitivity, hr_mae_bpm an MAE, n_v_ref a
count). A metric the card shows that matches no kind and has no words in the manifest is reported by
`undefined()`, and the card contract test fails on it, naming the [card] glossary key to write.
"""

from __future__ import annotations

import re

# Generic definitions by kind. `{before}`/`{after}`: the detection window ([postprocess] detect_*_s);
# `{event_trials}` etc.: counts from the card's int8 metrics ("" when the card lacks them).
EXACT = {
    "sensitivity": "the share of held-out true events{event_trials} followed by an alert of the same label from "
                   "{before:g} s before to {after:g} s after the event's time (`[postprocess] detect_before_s` / "
                   "`detect_after_s`); also called recall or detection rate",
    "specificity": "the share of held-out event-free trials{event_free_trials}, recordings with no true event "
                   "(long streams aside), on which no alert fires at all",
    "false_alarms_per_hour": "alerts on the held-out long streams{stream_hours} that match no true event, per hour "
                             "of stream",
    "latency": "the time from a true event to the alert that detected it (median, 95th percentile, longest over "
               "the detected events); an alert is stamped when the pipeline decides, as the device would alert",
    "accuracy": "the share of held-out windows{windows}, the app's `make_examples` examples, whose highest-scoring "
                "class is the true one (top-1)",
    "balanced_accuracy": "the mean over classes of each class's recall: every class weighs the same, however rare",
    "macro_f1": "the mean over classes of F1, the harmonic mean of a class's recall and precision",
    "recall": "per class: the share of the class's held-out windows that the model called that class",
    "precision": "per class: the share of the windows the model called a class that truly are that class",
    "f1": "per class: the harmonic mean of recall and precision, 2PR / (P + R)",
    "mae": "mean absolute error between the prediction and the truth, in the target's unit",
    "rmse": "root mean squared error between the prediction and the truth (weighs large errors more than MAE)",
    "bias": "the mean of prediction minus truth: positive when the model overestimates",
    "auc": "area under the ROC curve: the probability that an anomalous example scores higher than a normal "
           "one (0.5 is chance, 1 perfect)",
    "int8_drop": "float minus int8, in percentage points, the largest over the rates listed beside it: what "
                 "quantization to int8 cost",
    "int8_error_increase_pct": "the largest relative increase of an error (MAE) from float to int8, in percent",
    "model_bytes": "the size of the int8 `.tflite` flatbuffer(s) as committed",
    "intervals": "95 % intervals: exact Clopper-Pearson for a share (sensitivity, specificity), exact Poisson for "
                 "a rate (false alarms per hour); a cluster bootstrap (2,000 resamples of whole held-out recordings, or "
                 "of the groups the examples hook names; percentile interval) for the window metrics (accuracy, "
                 "balanced accuracy, macro-F1, per-class F1), since the windows of one recording are not "
                 "independent; an app metric's `<name>_ci` comes from the app's evaluation "
                 "(e.g. a bootstrap or DeLong interval). A finite held-out set leaves them wide: two models whose "
                 "intervals overlap may not differ at all",
    "cluster_intervals": "where the dataset names who produced the events and the stream time (e.g. the "
                         "speaker of each command, and of each word heard in a stream), the event metrics' 95 % "
                         "intervals are a cluster bootstrap over those groups instead (2,000 resamples of whole "
                         "groups with their events, or with their false alarms and their stream hours; percentile "
                         "interval, seeded), marked on the line: one speaker's commands, or one speaker's words "
                         "that raise false alarms, are not independent, so exact intervals counting events as "
                         "independent are too narrow; a false alarm belongs to the group the stream's time is "
                         "named after where it is raised",
    "device": "measured by replaying the demo through the firmware on the emulated Cortex-M4F (qemu-m4): flash = "
              "code and constants of the linked image, RAM = data, bss and the measured stack peak; instructions "
              "are counted by QEMU (median per inference); milliseconds and load assume 1 instruction per cycle "
              "at the clock named, an estimate",
}

# App metrics by the kind their name shows: (pattern on the name, generic definition).
KINDS: list[tuple[re.Pattern, str]] = [
    (re.compile(r"^n_|_count$|^count_"), "a count: how many held-out items the rates beside it rest on"),
    (re.compile(r"false_alarms_per_hour|_fa_per_hour$"), "false alarms per hour: alerts that match no true event, "
                                                         "per hour of held-out stream"),
    (re.compile(r"episode_sensitivity$"), "a sensitivity over episodes: the share of true episodes the pipeline raised"),
    (re.compile(r"sensitivity|recall|_se$"), "a sensitivity (recall): the share of the true items that were found"),
    (re.compile(r"specificity|_sp$"), "a specificity: the share of the true negatives called negative"),
    (re.compile(r"ppv|precision"), "a positive predictivity (precision): the share of detections that match a true "
                                   "item"),
    (re.compile(r"(^|_)f1($|_)"), "an F1: the harmonic mean of recall and precision"),
    (re.compile(r"(^|_)auc($|_)"), "an area under the ROC curve: the probability that a positive example "
                                   "outscores a negative one"),
    (re.compile(r"(^|_)mae($|_)"), "a mean absolute error, in the unit its name ends with"),
    (re.compile(r"(^|_)rmse($|_)"), "a root mean squared error, in the unit its name ends with"),
    (re.compile(r"(^|_)bias($|_)"), "a mean of prediction minus truth (positive: overestimates)"),
    (re.compile(r"accuracy"), "an accuracy: the share of items classified right"),
    (re.compile(r"_bytes$"), "a size in bytes"),
    (re.compile(r"_hours$"), "hours of held-out recordings behind the rate beside it"),
    (re.compile(r"latency"), "a delay from the true event to the alert, in the unit its name ends with"),
    (re.compile(r"_ratio$|_share$|_fraction$"), "a share between 0 and 1"),
]

CORE = ("sensitivity", "specificity", "false_alarms_per_hour", "accuracy", "balanced_accuracy", "macro_f1")
# what the card shows of a further model ([models.<name>]), by its output kind
MODEL_METRICS = {"classes": ("accuracy", "balanced_accuracy", "macro_f1"), "regression": ("mae", "rmse", "bias")}


def _counts(q: dict, before: float, after: float) -> dict:
    def n(key, what):
        v = q.get(key)
        return f" ({v:,} here)" if isinstance(v, int) and v else f" ({what})" if what and v else ""

    hours = q.get("stream_hours")
    return {"before": before, "after": after, "event_trials": n("event_trials", ""),
            "event_free_trials": n("event_free_trials", ""), "windows": n("windows", ""),
            "stream_hours": f" ({hours:.2f} h here)" if isinstance(hours, (int, float)) and hours else ""}


def generic(name: str) -> str | None:
    """The generic definition of a metric by its name (None: no kind fits)."""
    if name in EXACT:
        return EXACT[name]
    for pattern, text in KINDS:
        if pattern.search(name):
            return text
    return None


def define(m, name: str, q: dict | None = None) -> str | None:
    """One metric's definition for this app's card: the manifest's words, then the generic kind."""
    from .scoring import event_window

    before, after = event_window(m)
    own = m.card["glossary"].get(name)
    base = generic(name)
    if base is not None:
        base = base.format(**_counts(q or {}, before, after)) if name in EXACT else base
    if own and base:
        return f"{own.rstrip('.')} ({base})"
    return own or base


def shown(card: dict) -> list[str]:
    """Every metric name the card's text shows (the metric tables, the per-class table, further models, the
    int8 change, the latency, the intervals, the device line), in order, once each."""
    q = card["metrics"]["int8"]
    names = [k for k in CORE if k in q]
    names += [k for k in card.get("app_metrics", []) if isinstance(q.get(k), (int, float)) and not isinstance(q.get(k), bool)]
    if q.get("confusion"):
        names += ["recall", "precision", "f1"]
    if "latency_median_s" in q or q.get("event_trials"):
        names.append("latency")
    names.append("int8_drop")
    if q.get("int8_error_increase_pct"):
        names.append("int8_error_increase_pct")
    for entry in card.get("models", {}).values():
        names += [k for k in MODEL_METRICS[entry["output_kind"]] if k in entry["metrics"]["int8"]]
        if entry["metrics"]["int8"].get("confusion"):
            names += ["recall", "precision", "f1"]
    names += ["model_bytes", "intervals"]
    if q.get("cluster_intervals"):
        names.append("cluster_intervals")
    if card.get("device") and "error" not in card["device"]:
        names.append("device")
    return list(dict.fromkeys(names))


def undefined(m, card: dict) -> list[str]:
    """Metrics the card shows that nothing defines (a contract test fails on these)."""
    return [n for n in shown(card) if define(m, n) is None]


def glossary_text(m, card: dict) -> str:
    """The card's "What the figures mean" section: one line per metric it shows."""
    q = card["metrics"]["int8"]
    lines = []
    for name in shown(card):
        text = define(m, name, q)
        if text is None:
            text = (f"(not defined: add `{name} = \"...\"` to `[card] glossary` in apps/{m.id}/app.toml)")
        lines.append(f"- **{name.replace('_', ' ')}**: {text}.")
    return "## What the figures mean\n\n" + "\n".join(lines) + "\n"
