"""forecast_study: the paired, seed-averaged station difference its criterion (a) rests on, and its seeds."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from tinyml.errors import TinymlError

_spec = importlib.util.spec_from_file_location("forecast_study", Path(__file__).resolve().parents[1] / "forecast_study.py")
S = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(S)


def test_difference_is_per_station_averaged_over_seeds():
    # 3 seeds x 2 stations for arm a, 2 seeds x 2 stations for arm b: averaging over stations, or pairing by
    # seed, gives other numbers (or fails on the seed counts)
    a = np.array([[1.0, 10.0], [3.0, 20.0], [5.0, 30.0]])
    b = np.array([[2.0, 4.0], [4.0, 8.0]])
    assert S.seed_averaged_difference(a, b).tolist() == [3.0 - 3.0, 20.0 - 6.0]


def test_difference_refuses_stations_that_do_not_pair():
    with pytest.raises(TinymlError, match="same stations"):
        S.seed_averaged_difference(np.ones((2, 3)), np.ones((2, 4)))


def test_paired_interval_is_hours_weighted_and_below_zero_when_every_station_gains():
    a = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])
    b = a + np.array([[2.0, 4.0, 6.0], [2.0, 4.0, 6.0]])
    out = S.paired_difference(a, b, np.array([1, 2, 3]))
    assert out["diff"] == pytest.approx(-12.0 / 6)
    assert out["diff_ci"][1] < 0


def test_study_seeds_are_new():
    seeds = [S.study_seed(2024, k) for k in (1, 2, 3)]
    import zlib
    assert len(set(seeds)) == 3 and int(zlib.crc32(b"2024:forecast")) not in seeds


def _windows(value: float, n: int):
    return np.full((n, 4, 2), value, np.float32), np.full(n, value, np.float32)


def test_generator_early_stopping_holds_no_ismn_window():
    gen, ismn = _windows(0.0, 5), _windows(1.0, 3)
    X, y = S.early_stopping_set("generator", gen, ismn)
    assert len(X) == len(y) == 5 and not (X == 1.0).any() and not (y == 1.0).any()


def test_both_early_stopping_holds_both_validations():
    X, y = S.early_stopping_set("both", _windows(0.0, 5), _windows(1.0, 3))
    assert len(X) == len(y) == 8 and int((y == 1.0).sum()) == 3


def test_unknown_early_stopping_is_refused():
    with pytest.raises(TinymlError, match="--early-stop 'ismn'"):
        S.early_stopping_set("ismn", _windows(0.0, 1), _windows(1.0, 1))


def _entry(k, hours=(100,), sums=(0.4,), gen=0.003):
    return {"seed": k, "model_seed": S.study_seed(2024, k), "generator_val_mae": gen, "generator_val_floors_met": True,
            "ismn_val_station_hours": list(hours), "ismn_val_station_sums": list(sums),
            "ismn_val_mae": sum(sums) / sum(hours)}


def _study_json(tmp_path, seeds, stations=("ismn:A:x",), hours=(100,)):
    g = [_entry(k, hours) for k in seeds]
    path = tmp_path / "study.json"
    path.write_text(json.dumps({"arms": {"G": g, "G+I": []}, "ismn_val_stations": list(stations)}))
    return path


def test_reused_g_arm_takes_the_same_seeds(tmp_path):
    g = S.reused_g_arm(_study_json(tmp_path, [2, 1, 3]), 3, 2024, ["ismn:A:x"], [100])
    assert [s["seed"] for s in g] == [1, 2, 3]


def test_reused_g_arm_refuses_missing_seeds_or_other_stations(tmp_path):
    with pytest.raises(TinymlError, match="no G fit of seed 3"):
        S.reused_g_arm(_study_json(tmp_path, [1, 2]), 3, 2024, ["ismn:A:x"], [100])
    with pytest.raises(TinymlError, match="other ISMN validation stations"):
        S.reused_g_arm(_study_json(tmp_path, [1, 2, 3]), 3, 2024, ["ismn:B:y"], [100])
    with pytest.raises(TinymlError, match="no G fit of seed 1"):
        S.reused_g_arm(_study_json(tmp_path, [1, 2, 3]), 3, 2025, ["ismn:A:x"], [100])


def test_reused_g_arm_refuses_other_ismn_windows(tmp_path):
    # the same stations scored before a flag change: fewer hours at one station
    with pytest.raises(TinymlError, match="other ISMN validation windows \\(100 hours, this run 99\\)"):
        S.reused_g_arm(_study_json(tmp_path, [1, 2, 3]), 3, 2024, ["ismn:A:x"], [99])


def test_reused_g_arm_refuses_entries_without_its_figures(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"arms": {"G": [1, 2]}, "ismn_val_stations": ["ismn:A:x"]}))
    with pytest.raises(TinymlError, match="its G entries lack"):
        S.reused_g_arm(path, 3, 2024, ["ismn:A:x"], [100])


def test_verdict_needs_three_seeds_and_paired_windows():
    res = {"seeds_wanted": 1, "candidate": "G+I", "arms": {"G": [_entry(1)], "G+I": [_entry(1, sums=(0.2,))]}}
    assert S.verdict(res)["decided"] is False  # one seed decides nothing, whatever --seeds asked
    res["arms"]["G+I"] = [_entry(1, hours=(99,), sums=(0.2,))]
    with pytest.raises(TinymlError, match="not paired"):
        S.verdict(res)


def _scored(gen_mae: float, sums, hours=(10, 10, 10), floors: bool = True) -> dict:
    sums = list(sums)
    return {"generator_val_mae": gen_mae, "generator_val_floors_met": floors, "ismn_val_station_sums": sums,
            "ismn_val_station_hours": list(hours), "ismn_val_mae": sum(sums) / sum(hours)}


def test_adoption_rule_needs_the_real_gain_and_at_most_ten_percent_on_the_generator():
    committed = _scored(0.0030, [0.040, 0.050, 0.045])
    gains = [0.020, 0.025, 0.022]
    assert S.adoption(committed, _scored(0.0033, gains))["adopt_1_2"]  # +10 %: at the limit
    assert not S.adoption(committed, _scored(0.00331, gains))["2"]  # above 10 %
    assert not S.adoption(committed, _scored(0.0030, gains, floors=False))["2"]  # a floor missed
    mixed = S.adoption(committed, _scored(0.0030, [0.020, 0.060, 0.044]))  # one station worse: interval not below 0
    assert not mixed["1"] and not mixed["adopt_1_2"]


def test_adoption_refuses_models_scored_on_other_windows():
    with pytest.raises(TinymlError, match="other ISMN validation windows"):
        S.adoption(_scored(0.003, [1, 1, 1]), _scored(0.003, [1, 1, 1], hours=(10, 10, 11)))


def test_generated_leaves_the_ismn_stations_out():
    from types import SimpleNamespace as R

    recs = [R(truth={"real": True}), R(truth={}), R(truth={"wp": 0.1})]
    assert S.generated(recs) == recs[1:]


def test_compare_refuses_an_ismn_validation_other_than_the_cards(tmp_path):
    card = {"dataset": {"cohorts": {"ismn": {"train": ["ismn:A:1"], "val": ["ismn:A:2"], "test": ["ismn:A:3"]}}}}
    S.check_recorded_val(["ismn:A:2"], card, tmp_path)  # the card's own: fine
    S.check_recorded_val(["ismn:A:1"], {}, tmp_path)  # a card that records no ISMN split: nothing to check
    with pytest.raises(TinymlError, match="are not the 1 the committed model's card records"):
        S.check_recorded_val(["ismn:A:1"], card, tmp_path)  # a trained station drawn for validation
