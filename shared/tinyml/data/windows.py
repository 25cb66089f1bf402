"""Training windows labelled by the ground-truth events they contain (a generic dataset hook)."""

from __future__ import annotations

import numpy as np


def event_windows(recordings, fx, labels, rng, *, zone=(0.25, 0.75), background=0, positives_per_event=3,
                  negative_stride=None):
    """Frames and labels: a window is positive for an event whose time lies inside `zone` (fractions of
    the window); windows that hold an event outside the zone are ambiguous and skipped; the rest are
    `background` (a label index)."""
    W = fx.window
    stride = negative_stride or fx.hop
    frames, ys = [], []
    for r in recordings:
        n = len(r.signal)
        if n < W:
            continue
        ev_idx = [(int(round(t * r.rate)), labels.index(lab)) for t, lab in r.events if lab in labels]
        for i, lab in ev_idx:
            for _ in range(positives_per_event):
                s = i - int(rng.uniform(*zone) * W)
                if 0 <= s <= n - W:
                    frames.append(r.signal[s : s + W]); ys.append(lab)
        for s in range(0, n - W + 1, stride):
            if any(s <= i < s + W for i, _ in ev_idx):
                continue
            frames.append(r.signal[s : s + W]); ys.append(background)
    if not frames:
        return np.zeros((0, W, len(fx.manifest.channels)), np.float32), np.zeros(0, np.int64)
    return np.stack(frames).astype(np.float32), np.asarray(ys, np.int64)
