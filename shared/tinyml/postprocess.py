"""Post-processing: int8 scores (and the raw window) -> events, window values and beats.

An app's `PostProcessor` (pipeline.py) is built as PostProcessor(manifest, out_scale, out_zero_point) and
driven window by window by `run_postprocessor`:
  step(frame, new, first_new, scores_q) -> [(label index, int8 score)]   events decided by this window
and may implement the optional hooks (any app, no registration):
  window_values() -> sequence of float   called after each step(): the window's measurements, in the
                                         order of [app] values (NaN where there is none); float32 on
                                         both sides, so Python and the device agree bit for bit
  take_beats() -> [(sample index, beat label index)]   beats (or cycles) found since the last call,
                                         labels indexing [app] beat_labels
  flush(end, tail) -> [(label index, int8 score)]   once, at the end of the input (`end` = samples in
                                         it; `tail` = the samples after the last window, fewer than a
                                         hop, which the device has seen too): what the missing future
                                         windows would have decided (beats in `tail` via take_beats)
The C twins are tml_report_values / tml_report_beat / tml_app_flush (firmware/runtime/tml_app.h).

`ThresholdEvents` (C twin `tml_threshold_events`) is the generic detector: for each event label, the sum of
its last `smooth` int8 scores is compared with smooth * threshold_q; an event fires on the rising edge. A
repeat of the label of the last event is suppressed for `suppress_s`; another label fires at once (like
TFLM's command recognizer: a new command right after another is a new command, the same word still
ringing in the next windows is not). At the end of the input the average runs on over the windows that
exist (the newest smooth-1, smooth-2, ... 1 of them), so a single window (a 1 s clip) or a word in the
last windows can still fire; each label at most once there. Integer arithmetic, so the C twin matches.
"""

from __future__ import annotations

import inspect
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from .errors import TinymlError


def score_threshold_q(p: float, out_scale: float, out_zero_point: int) -> int:
    """The first int8 score whose dequantized value is >= p (a probability, or a multilabel model's logit
    threshold), computed in float32 as the firmware does."""
    f32 = np.float32
    return int(np.ceil(f32(p) / f32(out_scale))) + int(out_zero_point)


def samples_of(seconds: float, rate: float) -> int:
    """Seconds to a sample count in float32, floor(seconds * rate + 0.5), as the firmware computes it."""
    f32 = np.float32
    return int(np.floor(f32(seconds) * f32(rate) + f32(0.5)))


class ThresholdEvents:
    def __init__(self, manifest, out_scale, out_zero_point):
        p = manifest.postprocess
        self.labels = [manifest.labels.index(x) for x in manifest.app["event_labels"]]
        self.smooth = int(p.get("smooth", 1))
        self.threshold_q = score_threshold_q(float(p.get("threshold", 0.5)), out_scale, out_zero_point)
        self.suppress_n = samples_of(float(p.get("suppress_s", 1.0)), manifest.rate)
        self.reset()

    def reset(self):
        self.history = {k: deque(maxlen=self.smooth) for k in self.labels}
        self.above = {k: False for k in self.labels}
        self.last_label = -1  # label of the last event: only its repeats are suppressed ...
        self.quiet_until = -1  # ... before this sample index

    def _edge(self, k: int, on: bool, end: int) -> bool:
        fire = on and not self.above[k] and (k != self.last_label or end >= self.quiet_until)
        if fire:
            self.last_label = k
            self.quiet_until = end + self.suppress_n
        self.above[k] = on
        return fire

    def step(self, frame, new, first_new, scores_q):
        end = first_new + len(new)  # one past the newest sample
        events = []
        for k in self.labels:
            h = self.history[k]
            h.append(int(scores_q[k]))
            on = len(h) == self.smooth and sum(h) >= self.smooth * self.threshold_q
            if self._edge(k, on, end):
                events.append((k, int(scores_q[k])))
        return events

    def flush(self, end, tail=None):
        """End of the input: the average over the newest smooth-j windows (those that exist), j = 1 ..
        smooth-1, with the same rising edge and suppression, stamped `end`; each label fires at most once."""
        events = []
        for k in self.labels:
            h = list(self.history[k])
            for j in range(1, self.smooth):
                tail = h[-(self.smooth - j):]
                if not tail:
                    break
                if self._edge(k, sum(tail) >= len(tail) * self.threshold_q, end):
                    events.append((k, h[-1]))
                    break
        return events


# ---- driving an app's post-processor over a stream ----


@dataclass
class PostOutput:
    events: list[tuple[int, int, int]] = field(default_factory=list)  # (sample index, label, int8 score)
    values: np.ndarray | None = None  # [n_windows, n_values] float32 ([app] values order)
    beats: list[tuple[int, int]] = field(default_factory=list)  # (sample index, beat label index)


def run_postprocessor(pp, frames: np.ndarray, window: int, hop: int, scores_q: np.ndarray,
                      signal: np.ndarray | None = None, n_values: int = 0, n_beat_labels: int = 0,
                      features: np.ndarray | None = None) -> PostOutput:
    """Run the app's post-processor window by window over `frames` (windows of `signal`), then its flush at
    the end of the input (the end of `signal`; without it, of the last window). An event is stamped with the
    end of the window whose step raised it (the sample index one past its newest sample; the end of the
    input for the flush): when the device decides. A step() that takes a `features` keyword gets each
    window's model input (float32, the chain's output) too: a post-processor that runs further models on
    it (an anomaly model against a calibration) need not compute the features again."""
    out = PostOutput(values=np.zeros((len(frames), n_values), np.float32))
    with_features = features is not None and "features" in inspect.signature(pp.step).parameters
    take_values = getattr(pp, "window_values", None)
    take_beats = getattr(pp, "take_beats", None)
    name = type(pp).__name__
    if n_values and take_values is None:
        raise TinymlError(f"the manifest declares [app] values but {name} has no window_values()")
    if n_beat_labels == 0 and take_beats is not None:
        take_beats = None  # beats are reported only by apps that declare [app] beat_labels

    def beats():
        for idx, lab in take_beats() if take_beats is not None else ():
            if not 0 <= int(lab) < n_beat_labels:
                raise TinymlError(f"{name}.take_beats(): beat label {lab} is not an index into [app] beat_labels")
            out.beats.append((int(idx), int(lab)))

    for k, frame in enumerate(frames):
        start = k * hop
        new = frame if k == 0 else frame[window - hop :]
        first = start if k == 0 else start + window - hop
        end = start + window
        extra = {"features": features[k]} if with_features else {}
        out.events.extend((end, int(lab), int(sq)) for lab, sq in pp.step(frame, new, first, scores_q[k], **extra))
        if n_values:
            v = np.asarray(take_values(), np.float32).reshape(-1)
            if len(v) != n_values:
                raise TinymlError(f"{name}.window_values() gave {len(v)} values; [app] values names {n_values}")
            out.values[k] = v
        beats()
    last = (len(frames) - 1) * hop + window if len(frames) else 0
    if signal is not None:
        tail = np.asarray(signal[last:], np.float32)
    else:
        tail = np.zeros((0, frames.shape[2] if frames.ndim == 3 else 1), np.float32)
    end = last + len(tail)
    flush = getattr(pp, "flush", None)
    if flush is not None and end > 0:
        out.events.extend((end, int(lab), int(sq)) for lab, sq in flush(end, tail))
        beats()
    return out
