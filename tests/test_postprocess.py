"""ThresholdEvents (Python) and tml_threshold_events (C): the same events on random score streams, the
end-of-input flush included, and the semantics a command recognizer needs, checked on both: a different
label fires at once, only repeats of the last label are suppressed, a lone window (a 1 s clip) and a
command in the last windows fire at the end of the input."""

from __future__ import annotations

import ctypes
from types import SimpleNamespace

import numpy as np
import pytest

from tinyml.cbuild import build_shared_lib
from tinyml.paths import firmware_dir
from tinyml.postprocess import ThresholdEvents, run_postprocessor, samples_of, score_threshold_q

RT = firmware_dir() / "runtime"


class _TE(ctypes.Structure):
    _fields_ = [
        ("labels", ctypes.c_uint8 * 16), ("n_labels", ctypes.c_int32), ("smooth", ctypes.c_int32),
        ("threshold_q", ctypes.c_int32), ("suppress_n", ctypes.c_int32), ("history", (ctypes.c_int8 * 16) * 16),
        ("filled", ctypes.c_int32), ("head", ctypes.c_int32), ("above", ctypes.c_uint8 * 16),
        ("last_label", ctypes.c_int32), ("quiet_until", ctypes.c_int64),
    ]


@pytest.fixture(scope="module")
def lib():
    so = build_shared_lib("tml_postprocess", [RT / "postprocess" / "tml_threshold_events.c"], [RT])
    lib = ctypes.CDLL(str(so))
    lib.tml_samples_of.restype = ctypes.c_int32
    lib.tml_samples_of.argtypes = [ctypes.c_float, ctypes.c_float]
    lib.tml_score_threshold_q.restype = ctypes.c_int32
    lib.tml_score_threshold_q.argtypes = [ctypes.c_float, ctypes.c_float, ctypes.c_int32]
    return lib


def _manifest(labels, events, smooth, threshold, suppress_s, rate):
    return SimpleNamespace(labels=labels, app={"event_labels": events}, rate=rate,
                           postprocess={"smooth": smooth, "threshold": threshold, "suppress_s": suppress_s})


class CThresholdEvents:
    """tml_threshold_events behind ThresholdEvents' step/flush interface."""

    def __init__(self, lib, m, out_scale, out_zero_point):
        self.lib, self.te = lib, _TE()
        labels = [m.labels.index(e) for e in m.app["event_labels"]]
        thr = lib.tml_score_threshold_q(float(m.postprocess["threshold"]), out_scale, out_zero_point)
        sup = lib.tml_samples_of(float(m.postprocess["suppress_s"]), float(m.rate))
        idx = (ctypes.c_uint8 * 16)(*labels)
        assert lib.tml_threshold_events_init(ctypes.byref(self.te), idx, len(labels), int(m.postprocess["smooth"]),
                                             thr, sup) == 0
        self.out_l, self.out_s = (ctypes.c_uint8 * 16)(), (ctypes.c_int8 * 16)()

    def step(self, frame, new, first_new, scores_q):
        s = np.ascontiguousarray(scores_q, np.int8)
        n = self.lib.tml_threshold_events_step(ctypes.byref(self.te), int(first_new + len(new)),
                                               s.ctypes.data_as(ctypes.POINTER(ctypes.c_int8)), self.out_l, self.out_s)
        return [(self.out_l[i], self.out_s[i]) for i in range(n)]

    def flush(self, end, tail=None):
        n = self.lib.tml_threshold_events_flush(ctypes.byref(self.te), int(end), self.out_l, self.out_s)
        return [(self.out_l[i], self.out_s[i]) for i in range(n)]


def _run(pp, scores, hop, window=None, n_samples=None):
    """Events over a stream of int8 score rows (one window every `hop` samples)."""
    window = window or hop
    frames = np.zeros((len(scores), window, 1), np.float32)
    signal = None if n_samples is None else np.zeros((n_samples, 1), np.float32)
    return run_postprocessor(pp, frames, window, hop, np.asarray(scores, np.int8), signal).events


@pytest.mark.parametrize("seed", range(12))
def test_c_twin_matches_python(lib, seed):
    rng = np.random.default_rng(seed)
    labels = [f"l{i}" for i in range(int(rng.integers(2, 8)))]
    events = sorted(rng.choice(labels, size=int(rng.integers(1, len(labels))), replace=False).tolist(), key=labels.index)
    smooth, thr, sup, rate = int(rng.integers(1, 6)), float(rng.uniform(0.3, 0.9)), float(rng.uniform(0, 2)), 50.0
    m = _manifest(labels, events, smooth, thr, sup, rate)
    py = ThresholdEvents(m, 1 / 256, -128)
    assert lib.tml_score_threshold_q(thr, 1 / 256, -128) == py.threshold_q
    assert lib.tml_samples_of(sup, rate) == py.suppress_n == samples_of(sup, rate)
    # bursts of high scores over noise, so events actually fire; many streams of every length, so the
    # flush meets empty, partly filled and full histories
    hop, n_py, n_c, flushed = 16, [], [], 0
    for length in [400, *rng.integers(1, 8, 30)]:
        rows = []
        burst_label, burst_left = 0, 0
        for _ in range(length):
            scores = rng.integers(-128, -60, size=len(labels)).astype(np.int8)
            if burst_left == 0 and rng.random() < 0.25:
                burst_label, burst_left = int(rng.integers(len(labels))), int(rng.integers(1, 9))
            if burst_left:
                scores[burst_label] = rng.integers(0, 127)
                burst_left -= 1
            rows.append(scores)
        if rng.random() < 0.5:  # a burst in the last windows: the flush has something to decide
            lab = labels.index(str(rng.choice(events)))
            for r in rows[-int(rng.integers(1, smooth + 1)):]:
                r[lab] = rng.integers(105, 127)
        end = (length - 1) * hop + 64 + int(rng.integers(0, hop))  # the last window, then a partial hop
        got_py = _run(ThresholdEvents(m, 1 / 256, -128), rows, hop, 64, end)
        n_py += got_py
        n_c += _run(CThresholdEvents(lib, m, 1 / 256, -128), rows, hop, 64, end)
        flushed += sum(1 for e in got_py if e[0] == end)
    assert n_py, "the streams raised no events: the comparison would be vacuous"
    assert n_py == n_c
    if smooth > 1:
        assert flushed, "no stream ended with a flushed event: the flush comparison would be vacuous"


def test_rounding_helpers(lib):
    assert score_threshold_q(0.5, 1 / 256, -128) == lib.tml_score_threshold_q(0.5, 1 / 256, -128) == 0
    for s in (0.01, 0.5, 1.0, 2.5, 20.0):
        assert samples_of(s, 16000) == lib.tml_samples_of(s, 16000)


# ---- the semantics, on both twins ----

LABELS = ["silence", "unknown", "yes", "stop", "go"]
HOP = 3200  # 0.2 s at 16 kHz
M = _manifest(LABELS, ["yes", "stop", "go"], smooth=3, threshold=0.85, suppress_s=1.5, rate=16000.0)
YES, STOP, GO = 2, 3, 4


def _rows(spec: str):
    """One window per character: '.' unknown, 'y' yes, 's' stop, 'g' go (P = 0.99 for the label)."""
    rows = []
    for ch in spec:
        r = np.full(len(LABELS), -128, np.int8)
        r[{"." : 1, "y": YES, "s": STOP, "g": GO}[ch]] = 125
        rows.append(r)
    return rows


@pytest.fixture(params=["python", "c"])
def make(request, lib):
    if request.param == "python":
        return lambda: ThresholdEvents(M, 1 / 256, -128)
    return lambda: CThresholdEvents(lib, M, 1 / 256, -128)


def _labels_at(events):
    return [(idx // HOP, lab) for idx, lab, _ in events]


def test_another_command_right_after_one_fires(make):
    """'stop' 0.6 s after 'yes' (inside the 1.5 s suppression): a new command, raised at once."""
    ev = _run(make(), _rows("...yyy...sss......"), HOP)
    assert _labels_at(ev) == [(6, YES), (12, STOP)]


def test_a_repeat_of_the_same_command_is_suppressed_until_the_quiet_time_ends(make):
    ev = _run(make(), _rows("...yyy.yyy.....yyy...."), HOP)
    # the second 'yes' ends 0.8 s after the first event: suppressed; the third, 2 s after: a new one
    assert _labels_at(ev) == [(6, YES), (18, YES)]
    # ... unless another command came between: then the repeat is a new command
    ev = _run(make(), _rows("...yyy.sss.yyy......"), HOP)
    assert _labels_at(ev) == [(6, YES), (10, STOP), (14, YES)]


def test_a_lone_window_fires_at_the_end_of_the_input(make):
    """A 1 s clip (Speech Commands) is one window: the smoothing over 3 windows can't fire in step(); the
    flush does, stamped with the end of the input."""
    assert _run(make(), _rows("s"), HOP, 16000, 16000) == [(16000, STOP, 125)]
    assert _run(make(), _rows("."), HOP, 16000, 16000) == []


def test_a_command_in_the_last_windows_fires_at_the_end_of_the_input(make):
    for spec in ("......g", "......gg", ".....g.g"):
        n = len(spec) * HOP + 100
        assert _run(make(), _rows(spec), HOP, HOP, n) == [(n, GO, 125)], spec
    # already raised in step(): nothing more at the end
    assert _labels_at(_run(make(), _rows("...ggg"), HOP, HOP, 6 * HOP)) == [(6, GO)]
    # one high window among low ones is not a command: the tail average stays below
    assert _run(make(), _rows("....g."), HOP, HOP, 6 * HOP) == []


def test_flush_raises_each_label_once(make):
    rows = _rows("....")
    rows[-1][[YES, GO]] = 125  # two labels high at once (scores that are not a softmax)
    assert _run(make(), rows, HOP, HOP, 4 * HOP) == [(4 * HOP, YES, 125), (4 * HOP, GO, 125)]
