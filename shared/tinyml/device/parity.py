"""End-to-end parity: a recording through `tinyml predict`'s pipeline (numpy features, TFLM, the app's
post-processing) and through the firmware on a board must give identical int8 scores for every window,
identical float32 values (bit for bit; any NaN equals any NaN, as both print null), identical beats and
identical events (the end-of-input flush's included). Used by the contract tests for every app with
firmware, and by `tinyml flash` users who want to see it for themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..apps import App
from ..errors import TinymlError


@dataclass
class Parity:
    board: str
    windows: int
    python_events: list[tuple[int, int, int]]
    device_events: list[tuple[int, int, int]]
    python_beats: list[tuple[int, int]] = field(default_factory=list)
    device_beats: list[tuple[int, int]] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    learned: dict | None = None  # the device state both sides learned (apps that calibrate)
    summary: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.mismatches


def values_differ(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rows of two float32 arrays [n, k] that are not bit-identical (NaN == NaN whatever its payload)."""
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    same = (a.view(np.uint32) == b.view(np.uint32)) | (np.isnan(a) & np.isnan(b))
    return ~same.all(axis=1) if same.ndim == 2 else ~same


def device_parity(app: App, board: str = "qemu-m4", recording: Path | None = None, *, timeout_s: float = 600.0,
                  max_report: int = 5, calibration: dict | None = None) -> Parity:
    """calibration: a learned device state (tinyml.calibration) both sides start from; for an app that learns
    one, the state the device keeps in its non-volatile page after the run must equal Python's too."""
    from ..fixtures import demo_path
    from ..predict import Pipeline, prepare, read_input
    from .commands import summary_dict
    from .firmware import build_app
    from .runner import open_transport, stream_signal
    from .size import image_size

    from ..calibration import device_image, device_state, supports_calibration
    from .commands import with_recording_values

    path = Path(recording) if recording else demo_path(app)
    rec = read_input(app, path)
    sig = prepare(app, rec, notice=False)
    app = with_recording_values(app, rec)  # the device is built for the machine the file states
    m = app.manifest
    pipe = Pipeline(app, calibration=calibration)
    pp = pipe.postprocessor()
    res = pipe.run(sig, deployment=rec.deployment, postprocessor=pp)
    im = build_app(app, board)
    learns = supports_calibration(app)
    nv = device_image(app, calibration) if learns and calibration is not None else None
    run = stream_signal(open_transport(im.board, im.elf, nv=nv), sig, labels=m.labels, expect_app=m.id,
                        expect_hash=m.feature_hash(), timeout_s=timeout_s, values=m.values,
                        beat_labels=m.beat_labels)
    py_t = np.asarray(res.ends, np.int64)
    dev_t = run.times
    p = Parity(board, len(py_t), [tuple(int(v) for v in e) for e in res.events],
               [(e.t, e.label, e.score) for e in run.events], [(int(i), int(b)) for i, b in res.beats],
               [(b.t, b.label) for b in run.beats])
    if run.errors:
        p.mismatches.append("device errors: " + "; ".join(e.describe() for e in run.errors[:max_report]))
    if len(dev_t) != len(py_t):
        p.mismatches.append(f"python has {len(py_t)} windows, the device {len(dev_t)}")
    n = min(len(dev_t), len(py_t))
    bad_t = np.nonzero(dev_t[:n] != py_t[:n])[0]
    for k in bad_t[:max_report]:
        p.mismatches.append(f"window {k}: python ends at sample {py_t[k]}, device at {dev_t[k]}")
    dq, pq = run.scores_q[:n], np.asarray(res.scores_q, np.int8)[:n].reshape(n, -1)
    if dq.shape != pq.shape:
        p.mismatches.append(f"score shapes differ: python {pq.shape}, device {dq.shape}")
    else:
        rows = np.nonzero((dq != pq).any(axis=1))[0]
        for k in rows[:max_report]:
            p.mismatches.append(f"window {k} (t={py_t[k] / m.rate:.3f} s): python {pq[k].tolist()}, device {dq[k].tolist()}")
        if len(rows) > max_report:
            p.mismatches.append(f"... {len(rows)} of {n} windows differ")
    if m.values:
        _compare_values(p, m, res.values[:n], *run.values_at(dev_t[:n]), py_t, max_report)
    if p.python_beats != p.device_beats:
        p.mismatches.append(f"beats differ: {_first_difference(p.python_beats, p.device_beats)}")
    if p.python_events != p.device_events:
        p.mismatches.append(f"events differ: python {p.python_events[:max_report]}, device {p.device_events[:max_report]}")
    if learns:
        py_state, dev_state = pp.calibration(), device_state(app, run.nv)
        if py_state != dev_state:
            p.mismatches.append(f"learned state differs: python {_brief(py_state)}, device (non-volatile page) "
                                f"{_brief(dev_state)}")
        p.learned = py_state
    p.summary = summary_dict(im, run, image_size(im), len(sig))
    return p


def _brief(state: dict | None) -> str:
    return "nothing" if state is None else str({k: (v[:3] + ["..."] if isinstance(v, list) else v) for k, v in state.items()})


def _compare_values(p: Parity, m, py: np.ndarray, dev: np.ndarray, missing: list[int], py_t, max_report: int):
    for k in missing[:max_report]:
        p.mismatches.append(f"window {k} (t={py_t[k] / m.rate:.3f} s): the device sent no values")
    skip = set(missing)
    rows = [k for k in np.nonzero(values_differ(py, dev))[0] if k not in skip]
    for k in rows[:max_report]:
        p.mismatches.append(f"window {k} (t={py_t[k] / m.rate:.3f} s) values: python {py[k].tolist()}, "
                            f"device {dev[k].tolist()}")
    if len(rows) > max_report:
        p.mismatches.append(f"... values of {len(rows)} of {len(py)} windows differ")


def _first_difference(a: list, b: list) -> str:
    k = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return (f"python has {len(a)}, the device {len(b)}; first difference at #{k}: "
            f"python {a[k:k + 3]}, device {b[k:k + 3]}")


def assert_parity(app: App, board: str = "qemu-m4") -> Parity:
    p = device_parity(app, board)
    if not p.ok:
        raise TinymlError(f"{app.id} on {board}: python and device disagree:\n  " + "\n  ".join(p.mismatches))
    return p
