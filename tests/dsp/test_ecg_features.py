"""R-R features, beat features and the signal-quality index against their C twins (bit-exact) and against
what they claim to measure."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyml.dsp.beat_features import qrs_width, template_align, template_corr, template_match, template_update
from tinyml.dsp.rr_features import FEATURES, rr_features
from tinyml.dsp.sqi import sqi


@pytest.fixture(scope="module")
def tw():
    from tinyml.dsp.ctwin import CTwins

    return CTwins()


def _same(a, b):
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    assert a.shape == b.shape and np.array_equal(a.view(np.int32), b.view(np.int32)), (a, b)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.floats(0.25, 2.5, width=32), min_size=0, max_size=40))
def test_rr_features_twin(rr):
    from tinyml.dsp.ctwin import CTwins

    _same(rr_features(rr), CTwins().rr_features(rr))


def test_rr_features_values():
    rng = np.random.default_rng(0)
    sinus = 0.8 + 0.02 * np.sin(np.arange(30) * 0.7)
    f = dict(zip(FEATURES, rr_features(sinus)))
    assert f["hr_bpm"] == pytest.approx(75, rel=0.01) and f["sdnn_ms"] == pytest.approx(1000 * np.std(sinus), rel=1e-4)
    assert f["rmssd_ms"] == pytest.approx(1000 * np.sqrt(np.mean(np.diff(sinus) ** 2)), rel=1e-4)
    af = rng.lognormal(np.log(0.7), 0.2, 30)
    bigeminy = np.tile([0.5, 1.1], 15) * rng.normal(1, 0.01, 30)
    trigeminy = np.tile([0.8, 0.5, 1.1], 10) * rng.normal(1, 0.01, 30)
    isolated = sinus.copy()
    isolated[[5, 17]] *= 0.6
    isolated[[6, 18]] *= 1.4
    irr = {k: rr_features(v)[4] for k, v in (("sinus", sinus), ("af", af), ("bigeminy", bigeminy),
                                              ("trigeminy", trigeminy), ("isolated", isolated))}
    assert irr["af"] > 0.08 and max(irr["sinus"], irr["bigeminy"], irr["trigeminy"], irr["isolated"]) < 0.05, irr
    assert np.isnan(rr_features([])).all() and np.isnan(rr_features([0.8])[1:]).all()
    assert np.isnan(rr_features([0.8, 0.8, 0.8])[4]) and not np.isnan(rr_features([0.8, 0.8, 0.8])[3])


def _beat(width_s, rate=250.0, amp=1.0):
    t = np.arange(-0.3, 0.4, 1 / rate)
    x = amp * np.exp(-0.5 * (t / (width_s / 5)) ** 2) - 0.2 * np.exp(-0.5 * ((t - 0.25) / 0.05) ** 2)
    return x.astype(np.float32), int(round(0.3 * rate))


def test_beat_features_twins_and_meaning(tw):
    rng = np.random.default_rng(1)
    for w in (0.06, 0.09, 0.14):
        x, c = _beat(w)
        x = x + rng.normal(0, 0.01, len(x)).astype(np.float32)
        _same(qrs_width(x, c, 25), tw.qrs_width(x, c, 25))
        t = _beat(0.08)[0]
        _same(template_corr(x, t), tw.template_corr(x, t))
        _same(template_update(t, x), tw.template_update(t, x))
    narrow, wide = qrs_width(*_beat(0.08), 25), qrs_width(*_beat(0.15), 25)
    assert wide > 1.6 * narrow
    assert template_corr(_beat(0.08)[0], 2 * _beat(0.08)[0] + 0.3) == pytest.approx(1.0, abs=1e-5)
    assert template_corr(_beat(0.15)[0], _beat(0.08)[0]) < 0.95
    assert template_corr(np.zeros(10), np.ones(10)) == 0


def test_template_align_twin_finds_the_shift(tw):
    rng = np.random.default_rng(4)
    t = _beat(0.08)[0][10:-10]
    for lag in range(0, 7):  # the beat lies `lag` samples into a span 6 samples longer than the template
        x = np.concatenate([np.zeros(lag, np.float32), t, np.zeros(6 - lag, np.float32)])
        x = (x + rng.normal(0, 0.01, len(x))).astype(np.float32)
        c, at = template_align(x, t, 3)
        assert at == lag and c > 0.99
        assert tw.template_align(x, t, 3) == (c, at)
        assert template_match(x, t, 3) == c


def test_sqi_twin_and_meaning(tw):
    rng = np.random.default_rng(2)
    clean = np.concatenate([_beat(0.08)[0]] * 2)
    cases = {"clean": clean[:250], "flat": np.zeros(250, np.float32) + 0.002 * rng.standard_normal(250).astype(np.float32),
             "emg": (clean[:250] + 0.3 * rng.standard_normal(250)).astype(np.float32),
             "huge": (clean[:250] * 6).astype(np.float32)}
    for name, x in cases.items():
        _same(sqi(x, 1.0), tw.sqi(x, 1.0))
    q = {k: float(sqi(x, 1.0)[0]) for k, x in cases.items()}
    assert q["clean"] == 1.0 and q["flat"] == 0.0 and q["emg"] < 0.3 and q["huge"] == 0.0
    assert float(sqi(cases["clean"][180:], 1.0)[0]) == 1.0  # a second without a QRS (a slow rhythm) is fine
    assert sqi(cases["clean"], 1.2)[1] == np.float32(cases["clean"].max() - cases["clean"].min())
