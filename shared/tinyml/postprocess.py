"""Generic post-processing: int8 scores -> events, in integer arithmetic so the C twin matches exactly.

`ThresholdEvents` (C twin `tml_threshold_events`): for each event label, the sum of its last `smooth`
int8 scores is compared with smooth * threshold_q; an event fires on the rising edge and then the
detector stays quiet for `suppress_s` (like TFLM's command recognizer: average, threshold, suppression).
Apps with richer logic write their own PostProcessor in pipeline.py with the same step() signature.
"""

from __future__ import annotations

from collections import deque

import numpy as np


def score_threshold_q(p: float, out_scale: float, out_zero_point: int) -> int:
    """The first int8 score whose probability is >= p, computed in float32 as the firmware does."""
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
        self.quiet_until = -1

    def step(self, frame, new, first_new, scores_q):
        end = first_new + len(new)  # one past the newest sample
        events = []
        for k in self.labels:
            h = self.history[k]
            h.append(int(scores_q[k]))
            on = len(h) == self.smooth and sum(h) >= self.smooth * self.threshold_q
            if on and not self.above[k] and end >= self.quiet_until:
                events.append((k, int(scores_q[k])))
                self.quiet_until = end + self.suppress_n
            self.above[k] = on
        return events
