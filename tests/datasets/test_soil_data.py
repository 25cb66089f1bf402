"""synthetic-soil (water balance, sensors, faults, leak-free splits) and the ISMN loader (flags as labels)."""

from __future__ import annotations

import numpy as np
import pytest

from tinyml.data import dataset_module
from tinyml.data.splits import split_recordings

CH = ["vwc", "soil_temp_c", "ec_ds_m", "rain_mm", "et0_mm"]


@pytest.fixture(scope="module")
def gen():
    return dataset_module("synthetic-soil")


def test_water_balance_closes(gen):
    ph = gen.physics
    for name in ("sand", "loam", "clay"):
        st = ph.FieldState(ph.SOILS[name], ph.CROPS["maize"], 0.5, ph.SOILS[name].wp + 0.05)
        store0 = st.theta * 500.0
        rng = np.random.default_rng(1)
        total_in = total_out = 0.0
        for i in range(96 * 20):
            w = 12.0 if i % 400 == 0 else 0.0
            f = st.step(w, 0.05 * rng.random(), 1.0)
            total_in += w
            total_out += f["et_mm"] + f["drain_mm"] + f["runoff_mm"]
        assert st.theta * 500.0 - store0 == pytest.approx(total_in - total_out, abs=1e-6)
    fc = [ph.SOILS[s].fc for s in ("sand", "loamy_sand", "sandy_loam", "loam", "silt_loam", "clay_loam", "clay")]
    assert fc == sorted(fc)


def test_seasons_split_by_region_and_year(gen):
    recs = gen.generate(rate=1 / 900, channels=CH, seed=3, seasons_per_region=2, max_days=20)
    test = [r for r in recs if r.split == "test"]
    assert {r.subject for r in test} == {"cordoba", "north-england"}
    for r in recs:  # held-out regions use only the last 30 % of their years, the others only the earlier ones
        ys = gen.season_years(r.truth["site"])
        late = ys.index(r.truth["year"]) >= int(len(ys) * 0.7)
        assert late == (r.split == "test"), (r.truth["site"], r.truth["year"])
    train, val, held = split_recordings(recs, test_fraction=0.25, val_fraction=0.15, seed=1)
    assert {r.subject for r in held} == {"cordoba", "north-england"} and not {r.subject for r in train} & {r.subject for r in held}
    r = recs[0]
    assert r.signal.shape[1] == 5 and r.rate == pytest.approx(1 / 900) and np.isfinite(r.signal).all()
    assert len(r.truth["fault"]) == len(r.signal) and r.truth["soil"] in gen.SOILS


def test_validation_seasons_come_from_the_never_trained_later_years(gen):
    """val_seasons_per_region: seasons of every region not held out, from its last 30 % of years (which no
    training season uses), split="val" under their own subject; the training and test seasons are unchanged,
    so the split keeps the test regions and trains every other region."""
    base = gen.generate(rate=1 / 900, channels=CH, seed=3, seasons_per_region=1, max_days=10)
    recs = gen.generate(rate=1 / 900, channels=CH, seed=3, seasons_per_region=1, max_days=10, val_seasons_per_region=2)
    assert [r.source for r in recs[: len(base)]] == [r.source for r in base]
    assert all(np.array_equal(a.signal, b.signal, equal_nan=True) for a, b in zip(base, recs))
    extra = recs[len(base):]
    assert extra and all(r.split == "val" and r.subject.endswith(":later") for r in extra)
    assert {r.subject.split(":")[0] for r in extra} == {r.subject for r in base if r.split != "test"}
    for r in extra:
        ys = gen.season_years(r.truth["site"])
        assert ys.index(r.truth["year"]) >= int(len(ys) * 0.7), (r.truth["site"], r.truth["year"])
    train, val, test = split_recordings(recs, test_fraction=0.25, val_fraction=0.2, seed=1)
    assert val == extra and {r.subject for r in test} == {"cordoba", "north-england"}
    assert {r.subject for r in train} == {r.subject for r in base if r.split != "test"}


def test_extra_training_seasons_leave_every_other_season_as_it_was(gen):
    """extra_train_seasons_per_region: more seasons of every region not held out, from its earlier years only,
    split="train" (they always train, outside the draw); the other seasons and the split's val and test are
    unchanged, so a model fitted with them is compared on the same held-out windows."""
    kw = dict(rate=1 / 900, channels=CH, seed=3, seasons_per_region=1, max_days=10, val_seasons_per_region=1)
    base = gen.generate(**kw)
    recs = gen.generate(**kw, extra_train_seasons_per_region=2)
    assert [r.source for r in recs[: len(base)]] == [r.source for r in base]
    assert all(np.array_equal(a.signal, b.signal, equal_nan=True) for a, b in zip(base, recs))
    extra = recs[len(base):]
    regions = {r.subject for r in base if r.split == ""}
    assert len(extra) == 2 * len(regions) and all(r.split == "train" for r in extra)
    assert {r.subject for r in extra} == regions
    for r in extra:
        ys = gen.season_years(r.truth["site"])
        assert ys.index(r.truth["year"]) < int(len(ys) * 0.7), (r.truth["site"], r.truth["year"])
    tr0, va0, te0 = split_recordings(base, test_fraction=0.25, val_fraction=0.2, seed=1)
    tr1, va1, te1 = split_recordings(recs, test_fraction=0.25, val_fraction=0.2, seed=1)
    assert [r.source for r in va1] == [r.source for r in va0] and [r.source for r in te1] == [r.source for r in te0]
    assert sorted(r.source for r in tr1) == sorted(r.source for r in tr0 + extra)


def test_extra_training_seasons_without_validation_seasons_are_refused(gen):
    """Without validation seasons the split draws validation regions from those training seasons are in; extra
    seasons, always training, would put a region in both (the split failed: 'tunis' marked both train and val)."""
    from tinyml.errors import TinymlError

    with pytest.raises(TinymlError, match=r"^extra_train_seasons_per_region needs val_seasons_per_region > 0: "):
        gen.generate(rate=1 / 900, channels=CH, seed=3, seasons_per_region=1, max_days=5,
                     extra_train_seasons_per_region=1)


def test_sensor_follows_the_field_and_faults_are_labelled(gen):
    truth = gen.field_season("tunis", 1990, "loam", seed=4, controller=gen.threshold_control(0.5))
    rng = np.random.default_rng(0)
    read = gen.sensor.read_sensors(truth, truth["soil"], rng)
    assert np.corrcoef(read["vwc"], truth["theta"])[0, 1] > 0.95
    assert read["rain_mm"].sum() == pytest.approx(truth["water"].sum(), abs=0.2)  # whole tips
    assert np.all(np.abs(read["rain_mm"] / 0.2 - np.round(read["rain_mm"] / 0.2)) < 1e-6)
    day = truth["temp"][:96 * 10].reshape(10, 96)
    air = truth["air"][:96 * 10].reshape(10, 96)
    assert (np.ptp(day, axis=1) < np.ptp(air, axis=1)).all()  # damped at depth
    assert truth["irrigation"].sum() > 0
    for cls in gen.FAULTS[1:]:
        vwc, label, age = gen.sensor.inject(read, truth["soil"], np.random.default_rng(1), classes=[cls],
                                            episodes_per_30d=6)
        c = gen.FAULTS.index(cls)
        # the 6 h after an episode: the step back to the truth, named by its shape or not scored (-1)
        back = {"drop": {"jump"}, "jump": {"drop"}, "rise_no_rain": {"drop"}}.get(cls, set())
        assert (label == c).any() and set(np.unique(label)) <= {0, c, -1} | {gen.FAULTS.index(b) for b in back}, cls
        assert (age[label == c] >= 0).all()
        if cls in ("stuck", "plateau", "out_of_range"):
            assert (label == -1).any(), cls
        if cls not in ("drop", "jump", "rise_no_rain"):  # those keep their offset after the named hours
            assert (vwc[label == 0] == read["vwc"][label == 0]).all(), cls
    vwc, label, _ = gen.sensor.inject(read, truth["soil"], rng, classes=["stuck"], episodes_per_30d=6)
    seg = np.nonzero(label == gen.FAULTS.index("stuck"))[0]
    assert np.ptp(vwc[seg[:48]]) == 0.0  # stuck means exactly constant


def test_the_step_back_from_an_offset_is_labelled_by_its_shape(gen):
    n = 96 * 20
    read = {"vwc": np.full(n, 0.25), "rain_mm": np.zeros(n), "res": np.full(n, 0.001)}
    soil = gen.SOILS["loam"]
    drop, jump = gen.FAULTS.index("drop"), gen.FAULTS.index("jump")
    for cls, back in (("drop", jump), ("jump", drop)):
        vwc, label, age = gen.sensor.inject(read, soil, np.random.default_rng(3), schedule=[(cls, 400)])
        c = gen.FAULTS.index(cls)
        end = 400 + int(np.nonzero(np.abs(vwc[400:] - 0.25) < 1e-9)[0][0])  # where the reading is true again
        assert (label[400:424] == c).all() and (label[424:end] == 0).all()
        assert (label[end : end + 24] == back).all() and (age[end : end + 24] == np.arange(24)).all()
        assert (label[end + 24 :] == 0).all()
    wet = dict(read, rain_mm=np.where(np.arange(n) % 8 == 0, 0.2, 0.0))  # rain could explain the step up
    vwc, label, _ = gen.sensor.inject(wet, soil, np.random.default_rng(3), schedule=[("drop", 400)])
    assert set(np.unique(label)) == {0, drop, -1}


def test_a_stuck_sensor_is_named_only_once_a_working_one_would_have_moved(gen):
    """A probe that reads a dry spell as one constant (coarse resolution, hourly logger) is not stuck: the
    samples of a stuck episode are not scored until the true reading leaves the frozen value."""
    n = 96 * 10
    flat = np.where(np.arange(n) < 440, 0.20, 0.21)  # a 0.01 probe: constant until sample 440
    read = {"vwc": flat, "rain_mm": np.zeros(n), "res": np.full(n, 0.01)}
    stuck = gen.FAULTS.index("stuck")
    hidden = 0
    for seed in range(8):
        vwc, label, age = gen.sensor.inject(read, gen.SOILS["loam"], np.random.default_rng(seed),
                                            schedule=[("stuck", 400)])
        if vwc[400] != 0.20:  # frozen at a low value: it differs from the truth at once
            assert label[400] == stuck
            continue
        # an episode lasts 12 h (48 samples) at least
        assert (label[400:440] == -1).all() and (label[440:448] == stuck).all()
        assert (age[440:448] == np.arange(40, 48)).all()  # the episode's age still counts from its onset
        hidden += 1
    assert hidden  # some seed froze the last reading


def test_station_logging_coarse_and_hourly(gen):
    n = 96 * 4
    read = {"vwc": 0.2 + 0.01 * np.sin(np.arange(n) / 30.0), "soil_temp_c": np.linspace(10, 20, n),
            "ec_ds_m": np.full(n, 0.5), "rain_mm": np.zeros(n), "res": np.full(n, 0.0001)}
    out = gen.sensor.station_logging(read, np.random.default_rng(0), coarse=1.0, hourly=1.0)
    assert np.allclose(out["vwc"][::4] / 0.01, np.round(out["vwc"][::4] / 0.01)) and out["res"][0] == 0.01
    mid = out["vwc"][1:-4:4]  # between two hourly values: linear, as predict's resampler makes it
    assert np.allclose(mid, 0.75 * out["vwc"][0:-4:4] + 0.25 * out["vwc"][4::4])
    assert out["rain_mm"] is read["rain_mm"]  # totals untouched
    same = gen.sensor.station_logging(read, np.random.default_rng(0), coarse=0.0, hourly=0.0)
    assert same["vwc"] is read["vwc"]


def test_ismn_loader_labels_from_flags():
    ismn = dataset_module("ismn")
    from pathlib import Path

    recs = ismn.load(Path(__file__).parents[2] / "datasets" / "ismn" / "fixture", rate=1 / 900, channels=CH, min_days=2)
    by = {r.subject: r for r in recs}
    a, b = by["ismn:DEMO:Field-A"], by["ismn:DEMO:Field-B"]
    assert set(a.missing) == {"ec_ds_m", "et0_mm"} and "soil_temp_c" in b.missing
    faults = ["ok", "spike", "drop", "jump", "stuck", "plateau", "rise_no_rain", "out_of_range", "noisy"]
    assert (a.truth["fault"][20 * 4 : 21 * 4] == faults.index("spike")).all()
    # the three quarter hours before the flagged hourly reading are interpolated toward it: not good samples
    assert a.truth["fault"][19 * 4] == 0 and (a.truth["fault"][19 * 4 + 1 : 20 * 4] == faults.index("spike")).all()
    assert (a.truth["fault"][60 * 4 + 1 : 61 * 4] == faults.index("out_of_range")).all()  # unscored to a fault
    assert (a.truth["fault"][61 * 4] == faults.index("out_of_range")) and a.truth["fault"][60 * 4] == -1
    assert (b.truth["fault"][50 * 4 : 66 * 4] == faults.index("stuck")).all()
    rain = a.signal[:, CH.index("rain_mm")]
    assert rain.sum() == pytest.approx(8.5, abs=1e-3)  # hourly rain spread over quarter hours, total kept
    assert ismn.fault_label("D06,D08", faults) == 1 and ismn.fault_label("D02", faults) == -1


def test_ismn_loader_keeps_a_missing_gauge_reading_missing(tmp_path):
    """An hour the rain gauge did not report is missing rain, never a dry hour: the quarter hours it spreads over
    are NaN (the node and the dry-down baseline then treat them as unknown), the other hours keep their totals."""
    import shutil
    from pathlib import Path

    ismn = dataset_module("ismn")
    root = tmp_path / "ismn"
    shutil.copytree(Path(__file__).parents[2] / "datasets" / "ismn" / "fixture", root)
    gauge = next(root.rglob("*_p_*.stm"))
    lines = gauge.read_text().splitlines(keepends=True)
    gone = next(i for i, ln in enumerate(lines) if ln.startswith("2020/01/02 05:00"))
    gauge.write_text("".join(lines[:gone] + lines[gone + 1 :]))
    recs = ismn.load(root, rate=1 / 900, channels=CH, min_days=2)
    rain = next(r for r in recs if r.subject == "ismn:DEMO:Field-A").signal[:, CH.index("rain_mm")]
    hour = 29  # 2020/01/02 05:00, hours from the stretch's first reading
    assert np.isnan(rain[hour * 4 - 3 : hour * 4 + 1]).any()
    assert np.isfinite(rain[: (hour - 1) * 4]).all() and np.isfinite(rain[(hour + 1) * 4 :]).all()


def test_ismn_loader_takes_rain_at_the_gauges_times_where_the_probe_has_no_row(tmp_path):
    """The probe skipped the hour of 6.4 mm (its file has no row; the stretch interpolates the moisture): the
    gauge's reading still counts, and the fixture's 8.5 mm are all there."""
    import shutil
    from pathlib import Path

    ismn = dataset_module("ismn")
    root = tmp_path / "ismn"
    shutil.copytree(Path(__file__).parents[2] / "datasets" / "ismn" / "fixture", root)
    probe = next(root.rglob("*Field-A_sm_*.stm"))
    lines = probe.read_text().splitlines(keepends=True)
    probe.write_text("".join(ln for ln in lines if not ln.startswith("2020/01/02 15:00")))
    recs = ismn.load(root, rate=1 / 900, channels=CH, min_days=2)
    rain = next(r for r in recs if r.subject == "ismn:DEMO:Field-A").signal[:, CH.index("rain_mm")]
    assert np.nansum(rain) == pytest.approx(8.5, abs=1e-3) and np.isfinite(rain).all()
