"""The JSON lines that `tinyml predict` and `tinyml run` print: one format, made in one place, so the
Python pipeline's output and the device's can be diffed (README, "predict: input and output").

  window: {"t": end of the window (s), "scores": {label: p}, "values": {name: v}}   values: apps with [app] values
  beat:   {"t": time of the beat (s), "beat": beat label}                          apps with [app] beat_labels
  event:  {"t": when it was decided (s), "event": name, "score": p}   name: a label or an [app] extra_events

Times are sample indices / rate, rounded to the millisecond, from the start of the file (a recording cut
at gaps longer than [signal] max_gap_s is scored in parts: a part's lines add its start, offset_s). Lines
are in time order; at equal times a beat comes first, then the window, then the events that window raised. A value is the shortest decimal
that reads back as the same float32 (the device's values travel as float32); NaN (no measurement) is null.
A score p is a probability: a softmax output as it is, a multilabel model's logit (its int8 score, [model]
output = "multilabel") through the sigmoid, in float32 on both sides.
"""

from __future__ import annotations

import numpy as np

BEAT, WINDOW, EVENT = 0, 1, 2  # order of lines at the same sample index


def value_json(v) -> float | None:
    f = np.float32(v)
    return float(str(f)) if np.isfinite(f) else None


def scores_are_logits(manifest) -> bool:
    """A multilabel model ([model] output = "multilabel"): its int8 scores are logits, printed as sigmoid(logit)."""
    return (getattr(manifest, "model", None) or {}).get("output") == "multilabel"


class LineMaker:
    def __init__(self, manifest, out_scale: float, out_zero_point: int, rate: float | None = None,
                 offset_s: float = 0.0):
        self.labels = manifest.labels
        self.event_names = manifest.event_names
        self.value_names = manifest.values
        self.beat_labels = manifest.beat_labels
        self.rate = float(rate if rate is not None else manifest.rate)
        self.scale = np.float32(out_scale)
        self.zero_point = np.float32(out_zero_point)
        self.logits = scores_are_logits(manifest)
        self.offset_s = float(offset_s)  # where sample 0 lies in the file (a part cut at a long gap)

    def seconds(self, idx: int) -> float:
        return round(self.offset_s + int(idx) / self.rate, 3)

    def prob(self, q) -> np.ndarray:
        x = (np.asarray(q).astype(np.float32) - self.zero_point) * self.scale
        if self.logits:
            with np.errstate(over="ignore"):  # a logit below -88: exp overflows to inf, p is 0 as it should be
                return np.float32(1) / (np.float32(1) + np.exp(-x, dtype=np.float32))
        return x

    def scores(self, scores_q) -> dict:
        """{label: probability} as a window line prints it."""
        return {lab: round(float(p), 4) for lab, p in zip(self.labels, self.prob(scores_q))}

    def window(self, idx: int, scores_q, values=None) -> dict:
        line = {"t": self.seconds(idx), "scores": self.scores(scores_q)}
        if self.value_names:
            v = np.full(len(self.value_names), np.nan, np.float32) if values is None else values
            line["values"] = {name: value_json(x) for name, x in zip(self.value_names, v)}
        return line

    def event(self, idx: int, label: int, score_q: int) -> dict:
        name = self.event_names[label] if 0 <= label < len(self.event_names) else f"#{label}"
        return {"t": self.seconds(idx), "event": name, "score": round(float(self.prob(np.int8(score_q))), 4)}

    def beat(self, idx: int, label: int) -> dict:
        name = self.beat_labels[label] if 0 <= label < len(self.beat_labels) else f"#{label}"
        return {"t": self.seconds(idx), "beat": name}


def in_time_order(items) -> list[dict]:
    """(sample index, BEAT | WINDOW | EVENT, line) -> the lines in time order (stable within a kind)."""
    return [line for _, _, line in sorted(items, key=lambda x: (x[0], x[1]))]
