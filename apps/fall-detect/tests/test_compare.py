"""compare.py: the adoption criterion's validation figures (paired difference, bounds, the split check)."""

from __future__ import annotations

import numpy as np
import pytest

from tinyml.apps import load_app, load_module
from tinyml.errors import TinymlError
from tinyml.recording import Recording

APP = load_app("fall-detect")
CMP = load_module(APP.dir / "compare.py", "fall_detect_compare")


def test_paired_difference_counts_each_trial_once_and_its_interval_is_over_subjects():
    subjects = ["a"] * 4 + ["b"] * 4 + ["c"] * 2
    before = [False] * 10
    after = [True, True, False, False, True, False, False, False, True, True]
    d = CMP.paired_difference(subjects, before, after)
    assert d["value"] == pytest.approx(5 / 10) and d["subjects"] == 3 and d["trials"] == 10
    assert d["ci"][0] > 0 and d["ci"][0] <= 0.5 <= d["ci"][1]
    same = CMP.paired_difference(subjects, after, after)
    assert same["value"] == 0


def test_the_validation_subjects_must_be_the_committed_models(monkeypatch):
    card = {"dataset": {"cohorts": {"sisfall/adult": {"train": ["SA01"], "val": ["SA02"], "test": ["SA03"]},
                                    "synthetic-falls": {"val": ["P01"]}}}}
    rec = lambda s, c: Recording(np.zeros((1, 3), np.float32), 50.0, ("ax", "ay", "az"), subject=s, cohort=c)  # noqa: E731
    CMP.check_same_validation([rec("SA02", "sisfall/adult"), rec("P01", "synthetic-falls"),
                               rec("mobifall-3", "mobifall")], card)
    with pytest.raises(TinymlError, match="validation subjects differ from the committed model's"):
        CMP.check_same_validation([rec("SA01", "sisfall/adult"), rec("P01", "synthetic-falls")], card)


def test_decide_applies_the_floors_and_the_committed_models_exact_bounds():
    comm = {"falls": [223, 225], "adl": [351, 355], "false_alarms": [1, 12.5], "real_falls": [30, 100]}
    good = {"falls": [220, 225], "adl": [352, 355], "false_alarms": [1, 12.5], "real_falls": [60, 100]}
    d = CMP.decide(APP, comm, good, good, {"ci": [0.1, 0.4]})
    assert d["a"] and all(d["b"].values()) and d["c_int8_drop_ok"]
    low = {**good, "falls": [216, 225]}  # 0.96: over the 0.95 floor, under the committed exact lower bound 0.968
    d = CMP.decide(APP, comm, low, low, {"ci": [-0.01, 0.4]})
    assert not d["a"] and not d["b"]["sensitivity"] and d["b"]["specificity"]
    assert d["b_bounds"]["sensitivity"] == pytest.approx(0.9683, abs=1e-3)
    dropped = {**good, "real_falls": [62, 100]}  # the float model 2 points above the int8 one
    assert not CMP.decide(APP, comm, good, dropped, {"ci": [0.1, 0.4]})["c_int8_drop_ok"]


def _winback_figures(falls=222, windows=(440, 450), mean_p=0.95, real=52, adl=353, false_alarms=2):
    return {"falls": [falls, 225], "adl": [adl, 355], "false_alarms": [false_alarms, 12.5], "real_falls": [real, 110],
            "sisfall_fall_windows": {"confirmed": list(windows), "mean_p": mean_p}}


def test_winback_needs_more_sisfall_fall_windows_and_keeps_the_real_falls_and_false_alarms_in_bounds():
    comm = _winback_figures()
    good = _winback_figures(windows=(445, 450), real=48, adl=351, false_alarms=4)  # every bound just met
    d = CMP.decide_winback(APP, comm, good, good)
    assert all(d["a"].values()) and d["b"] and all(d["c"].values()) and d["adopt_on_validation"]
    assert not CMP.decide_winback(APP, comm, comm, comm)["a"]["sisfall_windows"]  # equal is not a rise
    assert not CMP.decide_winback(APP, comm, {**good, "falls": [221, 225]}, good)["a"]["sisfall_events"]
    assert not CMP.decide_winback(APP, comm, _winback_figures(windows=(445, 450), real=47), good)["b"]
    worse = _winback_figures(windows=(445, 450), adl=350, false_alarms=5)
    assert not any(CMP.decide_winback(APP, comm, worse, worse)["c"].values())
    dropped = _winback_figures(windows=(450, 450))  # the float model confirms 5 windows more: 1.1 points
    assert not CMP.decide_winback(APP, comm, good, dropped)["d_int8_drop_ok"]


def test_winback_at_the_windows_ceiling_asks_a_higher_mean_probability():
    comm = _winback_figures(windows=(450, 450), mean_p=0.97)
    assert CMP.decide_winback(APP, comm, _winback_figures(windows=(450, 450), mean_p=0.98), comm)["a"]["sisfall_windows"]
    assert not CMP.decide_winback(APP, comm, comm, comm)["a"]["sisfall_windows"]


def test_fall_windows_confirmed_counts_the_fall_windows_at_the_threshold():
    from tinyml.predict import Pipeline

    rate, n = 50.0, 750
    sig = np.tile(np.float32([0, 0, 1]), (n, 1))
    sig[300] = [0, 0, 3.0]  # the impact at 6 s
    fall = Recording(sig, rate, ("ax", "ay", "az"), subject="SA02", label="fall", events=[(6.0, "fall")],
                     cohort="sisfall/adult")
    committed = Pipeline(APP)
    o = committed.model.output

    def scoring(p):
        q = int(np.ceil(np.float32(p) / np.float32(o.scale))) + int(o.zero_point)  # the first score at or above p
        return Pipeline(APP, committed.model.bytes, scorer=lambda f: np.tile(np.int8([127 - q, q]), (len(f), 1)))

    windows = CMP.fall_windows(APP, committed.fx, [fall])
    high = CMP.fall_windows_confirmed(APP, scoring(0.9), windows)
    low = CMP.fall_windows_confirmed(APP, scoring(0.85), windows)
    assert high["confirmed"] == [2, 2] and low["confirmed"] == [0, 2]  # 2 fall windows per trial, unaugmented
    assert high["mean_p"] == pytest.approx(0.9, abs=o.scale) and low["mean_p"] == pytest.approx(0.85, abs=o.scale)


def test_the_fall_windows_are_built_once_for_every_model_compared(monkeypatch):
    """compared_figures draws the SisFall fall trials' windows once and scores them with each model: the same
    figures as each model drawing its own."""
    import tinyml.scoring
    from tinyml.predict import Pipeline

    rate, n = 50.0, 750
    sig = np.tile(np.float32([0, 0, 1]), (n, 1))
    sig[300] = [0, 0, 3.0]
    fall = Recording(sig, rate, ("ax", "ay", "az"), subject="SA02", label="fall", events=[(6.0, "fall")],
                     cohort="sisfall/adult")
    pipes = {"a": Pipeline(APP), "b": Pipeline(APP)}
    own = {k: CMP.fall_windows_confirmed(APP, p, CMP.fall_windows(APP, p.fx, [fall])) for k, p in pipes.items()}
    drawn = []
    held_out = tinyml.scoring.held_out_examples
    monkeypatch.setattr(tinyml.scoring, "held_out_examples", lambda *a, **k: drawn.append(1) or held_out(*a, **k))
    figs = CMP.compared_figures(APP, pipes, [fall], [])
    assert len(drawn) == 1
    assert {k: f["sisfall_fall_windows"] for k, f in figs.items()} == own
