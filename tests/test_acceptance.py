"""[acceptance] against an evaluation: floors and ceilings by name, a further model's own table, the total
model size, and the int8 changes (points for rates, percent for errors) over every model and app metric."""

from __future__ import annotations

import pytest

from tinyml.acceptance import acceptance_items, check_acceptance, flat_metrics, int8_changes

ACCEPT = {"sensitivity": 0.9, "max_false_alarms_per_hour": 1.0, "max_model_bytes": 1000, "qrs_ppv": 0.99,
          "max_hr_mae_bpm": 2.0, "beat": {"macro_f1": 0.9, "max_model_bytes": 300}}


def test_items_flatten_a_model_table():
    items = {k: (name, limit, ceiling) for k, name, limit, ceiling in acceptance_items(ACCEPT)}
    assert items["beat.max_model_bytes"] == ("beat.model_bytes", 300.0, True)
    assert items["beat.macro_f1"] == ("beat.macro_f1", 0.9, False)
    assert items["max_model_bytes"] == ("model_bytes", 1000.0, True)


def test_check_names_every_miss():
    flat = flat_metrics({"sensitivity": 0.95, "false_alarms_per_hour": 0.5, "model_bytes": 900, "qrs_ppv": 0.995,
                         "hr_mae_bpm": 1.5}, {"beat": {"macro_f1": 0.92, "model_bytes": 250}})
    assert check_acceptance(ACCEPT, flat) == []
    flat["beat.model_bytes"] = 301
    flat["sensitivity"] = float("nan")  # NaN meets no floor
    del flat["qrs_ppv"]
    fails = check_acceptance(ACCEPT, flat)
    assert any(f.startswith("beat.model_bytes = 301 > 300") for f in fails)
    assert any(f.startswith("sensitivity = nan") for f in fails)
    assert "qrs_ppv: no such metric in the evaluation" in fails and len(fails) == 3


def test_int8_changes_cover_models_and_app_metrics():
    f = flat_metrics({"sensitivity": 0.95, "specificity": 0.99, "balanced_accuracy": 0.97, "qrs_ppv": 0.999,
                      "hr_mae_bpm": 1.0, "false_alarms_per_hour": 0.2, "accuracy": 0.9},
                     {"beat": {"balanced_accuracy": 0.9}, "fc": {"mae": 0.10}})
    q = flat_metrics({"sensitivity": 0.95, "specificity": 0.985, "balanced_accuracy": 0.97, "qrs_ppv": 0.97,
                      "hr_mae_bpm": 1.3, "false_alarms_per_hour": 0.9, "accuracy": 0.8},
                     {"beat": {"balanced_accuracy": 0.88}, "fc": {"mae": 0.105}})
    ch = int8_changes({**ACCEPT, "accuracy": 0.5}, f, q, {"beat": "classes", "fc": "regression"},
                      app_keys=["qrs_ppv", "hr_mae_bpm"])
    assert ch["int8_drop"] == pytest.approx(10.0)  # accuracy has a floor: it counts (0.9 -> 0.8)
    assert set(ch["int8_drop_over"]) == {"sensitivity", "specificity", "balanced_accuracy", "beat.balanced_accuracy",
                                         "qrs_ppv", "accuracy"}
    assert ch["int8_error_increase_pct"] == pytest.approx(30.0)  # hr_mae_bpm 1.0 -> 1.3
    assert set(ch["int8_error_increase_over"]) == {"fc.mae", "hr_mae_bpm"}  # not the primary's FA/h
    ch = int8_changes({}, f, q, {"beat": "classes"})
    assert ch["int8_drop"] == pytest.approx(2.0)  # beat's balanced accuracy 0.90 -> 0.88


def test_int8_drop_of_exactly_the_ceiling_passes():
    """A drop of exactly one point (0.60 -> 0.59, 4 of 400 commands) is 1.0000000000000009 in binary floating
    point; it must meet a ceiling of 1.0, and a real excess must still fail."""
    from tinyml.acceptance import int8_drop

    assert int8_drop({"sensitivity": 0.60}, {"sensitivity": 0.59}, ["sensitivity"]) == 1.0
    assert check_acceptance({"max_int8_drop": 1.0}, {"int8_drop": int8_drop({"s": 0.60}, {"s": 0.59}, ["s"])}) == []
    assert check_acceptance({"max_int8_drop": 1.0}, {"int8_drop": int8_drop({"s": 0.6}, {"s": 0.5899}, ["s"])})
