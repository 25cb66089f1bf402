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
