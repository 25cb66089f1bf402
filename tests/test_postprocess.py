"""ThresholdEvents (Python) and tml_threshold_events (C) raise identical events on random score streams."""

from __future__ import annotations

import ctypes
from types import SimpleNamespace

import numpy as np
import pytest

from tinyml.cbuild import build_shared_lib
from tinyml.paths import firmware_dir
from tinyml.postprocess import ThresholdEvents, samples_of, score_threshold_q

RT = firmware_dir() / "runtime"


class _TE(ctypes.Structure):
    _fields_ = [
        ("labels", ctypes.c_uint8 * 16), ("n_labels", ctypes.c_int32), ("smooth", ctypes.c_int32),
        ("threshold_q", ctypes.c_int32), ("suppress_n", ctypes.c_int32), ("history", (ctypes.c_int8 * 16) * 16),
        ("filled", ctypes.c_int32), ("head", ctypes.c_int32), ("above", ctypes.c_uint8 * 16),
        ("quiet_until", ctypes.c_int64),
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


@pytest.mark.parametrize("seed", range(12))
def test_c_twin_matches_python(lib, seed):
    rng = np.random.default_rng(seed)
    labels = [f"l{i}" for i in range(int(rng.integers(2, 8)))]
    events = sorted(rng.choice(labels, size=int(rng.integers(1, len(labels))), replace=False).tolist(), key=labels.index)
    smooth, thr, sup, rate = int(rng.integers(1, 6)), float(rng.uniform(0.3, 0.9)), float(rng.uniform(0, 2)), 50.0
    m = _manifest(labels, events, smooth, thr, sup, rate)
    py = ThresholdEvents(m, 1 / 256, -128)
    te = _TE()
    idx = (ctypes.c_uint8 * 16)(*[labels.index(e) for e in events])
    thr_q = lib.tml_score_threshold_q(thr, 1 / 256, -128)
    assert thr_q == py.threshold_q
    assert lib.tml_samples_of(sup, rate) == py.suppress_n == samples_of(sup, rate)
    assert lib.tml_threshold_events_init(ctypes.byref(te), idx, len(events), smooth, thr_q, py.suppress_n) == 0
    out_l, out_s = (ctypes.c_uint8 * 16)(), (ctypes.c_int8 * 16)()
    hop, n_py, n_c = 16, [], []
    # bursts of high scores over noise, so events actually fire
    burst_label, burst_left = 0, 0
    for k in range(400):
        scores = rng.integers(-128, -60, size=len(labels)).astype(np.int8)
        if burst_left == 0 and rng.random() < 0.15:
            burst_label, burst_left = int(rng.integers(len(labels))), int(rng.integers(1, 9))
        if burst_left:
            scores[burst_label] = rng.integers(0, 127)
            burst_left -= 1
        end = 64 + k * hop
        n_py += [(end, lab, s) for lab, s in py.step(None, np.zeros((hop, 1)), end - hop, scores)]
        n = lib.tml_threshold_events_step(ctypes.byref(te), end, scores.ctypes.data_as(ctypes.POINTER(ctypes.c_int8)),
                                          out_l, out_s)
        n_c += [(end, out_l[i], out_s[i]) for i in range(n)]
    assert n_py, "the stream raised no events: the comparison would be vacuous"
    assert n_py == n_c


def test_rounding_helpers(lib):
    assert score_threshold_q(0.5, 1 / 256, -128) == lib.tml_score_threshold_q(0.5, 1 / 256, -128) == 0
    for s in (0.01, 0.5, 1.0, 2.5, 20.0):
        assert samples_of(s, 16000) == lib.tml_samples_of(s, 16000)
