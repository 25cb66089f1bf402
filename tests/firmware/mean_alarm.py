"""Python twin of tests/firmware/fixtures/mean-alarm/firmware/app.c, in the same float32 arithmetic,
so the firmware's int8 scores and events can be checked exactly."""

from __future__ import annotations

import numpy as np

f32 = np.float32


def mean_alarm(signal: np.ndarray, manifest) -> tuple[list[int], list[list[int]], list[tuple[int, int, int]]]:
    """Returns (window end sample counts, int8 scores per window, events as (t, label, score))."""
    W = int(manifest.features["window"])
    H = int(manifest.features["hop"])
    thr = f32(manifest.postprocess["threshold"])
    refractory = int(f32(manifest.postprocess["refractory_s"]) * f32(manifest.rate))
    x = np.asarray(signal, np.float32)[:, 0]
    times, scores, events = [], [], []
    last = None
    for end in range(W, len(x) + 1, H):
        s = f32(0.0)
        for v in x[end - W : end]:
            s = f32(s + f32(abs(v)))
        m = f32(s / f32(W))
        p = f32(m / f32(f32(2.0) * thr))
        p = min(p, f32(1.0))
        q = int(f32(f32(p * f32(256.0)) + f32(0.5))) - 128
        q = min(q, 127)
        times.append(end)
        scores.append([-1 - q, q])
        if m > thr and (last is None or end - last >= refractory):
            events.append((end, 1, q))
            last = end
    return times, scores, events


def predict_lines(signal: np.ndarray, manifest, events_only: bool = False) -> list[dict]:
    """What `tinyml predict` would print for this app: scores per window, events after their window."""
    rate = manifest.rate
    labels = manifest.labels
    times, scores, events = mean_alarm(signal, manifest)
    out = []
    ev = list(events)
    for t, sq in zip(times, scores):
        if not events_only:
            p = (np.asarray(sq, np.float32) - f32(-128)) * f32(1 / 256)
            out.append({"t": round(t / rate, 3), "scores": {lab: round(float(v), 4) for lab, v in zip(labels, p)}})
        while ev and ev[0][0] <= t:
            e = ev.pop(0)
            p = (f32(e[2]) - f32(-128)) * f32(1 / 256)
            out.append({"t": round(e[0] / rate, 3), "event": labels[e[1]], "score": round(float(p), 4)})
    return out
