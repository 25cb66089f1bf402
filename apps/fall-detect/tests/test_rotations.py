"""rotations.py: the validation falls scored at other mountings. The rotations are proper, fixed by their seed
and really applied; the same falls unturned score as the card scores them."""

from __future__ import annotations

import numpy as np
import pytest

from tinyml.apps import load_app, load_module
from tinyml.data import dataset_module
from tinyml.predict import Pipeline

APP = load_app("fall-detect")
M = APP.manifest
ROT = load_module(APP.dir / "rotations.py", "fall_detect_rotations")


def test_fixed_rotations_are_proper_distinct_and_repeatable():
    rs = ROT.fixed_rotations()
    assert len(rs) == ROT.N_ROTATIONS
    for R in rs:
        np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-5)
        assert np.linalg.det(R) == pytest.approx(1.0, abs=1e-5)
        assert not np.allclose(R, np.eye(3), atol=0.05)
    assert all(not np.allclose(a, b) for i, a in enumerate(rs) for b in rs[i + 1 :])
    for a, b in zip(rs, ROT.fixed_rotations()):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(rs[0], ROT.fixed_rotations(seed=ROT.ROTATION_SEED + 1)[0])


def _falls():
    return dataset_module("synthetic-falls").generate(rate=M.rate, channels=M.channels, seed=5, subjects=1,
                                                      trials_per_activity=1, stream_hours=0,
                                                      activities=["F01", "F04", "D07"], workers=1)


def test_turned_rotates_every_sample_and_keeps_the_rest():
    rec = _falls()[0]
    R = ROT.fixed_rotations()[0]
    out = ROT.turned(rec, R)
    np.testing.assert_allclose(out.signal, rec.signal @ R.T, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(out.signal, axis=1), np.linalg.norm(rec.signal, axis=1), rtol=1e-4)
    g0, g1 = rec.signal[:25].mean(0), out.signal[:25].mean(0)  # gravity points elsewhere now
    assert np.dot(g0, g1) / (np.linalg.norm(g0) * np.linalg.norm(g1)) < 0.99
    assert out.signal.dtype == np.float32
    assert (out.events, out.subject, out.activity, out.rate) == (rec.events, rec.subject, rec.activity, rec.rate)
    assert out.signal is not rec.signal


def test_turned_takes_a_dataset_cache_recording(tmp_path):
    """Training's and the validation's recordings come from the dataset cache, their samples read from disk."""
    from tinyml.data.cache import read_cache, write_cache

    write_cache(tmp_path / "c", _falls())
    rec = read_cache(tmp_path / "c")[0]
    R = ROT.fixed_rotations()[1]
    out = ROT.turned(rec, R)
    np.testing.assert_allclose(out.signal, rec.signal @ R.T, atol=1e-5)
    assert out.cohort == rec.cohort and out.events == rec.events


def test_fall_trials_leave_out_daily_activities():
    recs = _falls()
    assert [r.activity for r in ROT.fall_trials(recs)] == ["F01", "F04"]


def test_measure_turns_each_fall_by_each_rotation():
    """Unturned (the identity), the rotated count equals the as-recorded one; each rotation scores every fall."""
    recs = _falls()
    pipe = Pipeline(APP)
    out = ROT.measure(APP, pipe, recs, [np.eye(3, dtype=np.float32)])
    assert out["rotated"]["sensitivity_pooled"]["falls"] == 2
    assert out["rotated"]["sensitivity_pooled"]["detected"] == out["as_recorded"]["falls_pooled"]["detected"]
    two = ROT.measure(APP, pipe, recs, ROT.fixed_rotations(2))
    assert two["rotated"]["sensitivity_pooled"]["falls"] == 4


def test_a_missing_model_is_one_line(capsys, tmp_path):
    assert ROT.main(["--model", str(tmp_path / "none.tflite")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "none.tflite" in err and err.count("\n") == 1
