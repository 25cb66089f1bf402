"""forecast_study: the paired, seed-averaged station difference its criterion (a) rests on, and its seeds."""

from __future__ import annotations

import importlib.util
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
