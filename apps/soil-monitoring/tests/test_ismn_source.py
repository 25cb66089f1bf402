"""soil-monitoring's ISMN source ([[dataset.sources]] ismn, models = ["forecast"]): real stations, split by
station, train the 24 h forecaster only. The fault model never sees an ISMN window (it must not learn ISMN's
automated flags), and no ISMN validation or test station trains or stops any model."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from tinyml import train as train_mod
from tinyml.apps import load_app
from tinyml.data import dataset_module
from tinyml.data.source import resolve_sources

APP = load_app("soil-monitoring")
STATIONS = [f"S{k}" for k in range(1, 6)]  # one network of 5: 3 train, 1 val, 1 test


def _write_stations(root, days: int = 12) -> None:
    """ISMN files in the real header layout: hourly readings drying down, a spike flag (D06) every few days."""
    t0 = dt.datetime(2020, 1, 1)
    for k, st in enumerate(STATIONS):
        folder = root / "NET" / st
        folder.mkdir(parents=True)
        lines = [f"NET NET {st} 47.50000 16.25000 210.00 0.0500 0.0500 Probe"]
        for h in range(days * 24):
            v = 0.30 + 0.01 * k - 0.0002 * h + 0.002 * np.sin(h / 3)
            flag = "D06" if h % 97 == 50 else "G"
            lines.append(f"{t0 + dt.timedelta(hours=h):%Y/%m/%d %H:%M} {v:.4f} {flag} M")
        (folder / f"NET_NET_{st}_sm_0.050000_0.050000_Probe_20200101_20200113.stm").write_text("\n".join(lines) + "\n")


class _Stop(Exception):
    pass


def test_ismn_trains_the_forecaster_only_and_its_held_out_stations_nothing(tmp_path, monkeypatch):
    _write_stations(tmp_path / "ismn")
    monkeypatch.setenv("ISMN", str(tmp_path / "ismn"))
    seen = {}

    def fake_train_one(app, s, train, val, *args, **kwargs):  # what `tinyml train` gives each model to fit
        seen[s.name] = (train, val)
        if len(seen) == 2:
            raise _Stop

    monkeypatch.setattr(train_mod, "_train_one", fake_train_one)
    with pytest.raises(_Stop):
        train_mod.train_app(APP, smoke=True, out=tmp_path / "run")
    split = dataset_module("ismn").station_split([f"ismn:NET:{s}" for s in STATIONS], (0.6, 0.2, 0.2), 2024)
    trains = {s for s, where in split.items() if where == "train"}
    assert len(trains) == 3 and sorted(split.values()).count("test") == 1
    ismn = lambda recs: [r for r in recs if r.subject.startswith("ismn:")]
    fault_train, fault_val = seen[""]
    assert fault_train and not ismn(fault_train) and not ismn(fault_val)
    X, y = APP.pipeline.make_examples(fault_train, train_mod.FeatureExtractor(APP.manifest), APP.manifest,
                                      np.random.default_rng(0), False)
    assert len(X) and not any(r.truth.get("real") for r in fault_train)  # no ISMN window among its examples
    forecast_train, forecast_val = seen["forecast"]
    assert {r.subject for r in ismn(forecast_train)} == trains  # the ISMN-train stations, no val or test one
    assert any((np.asarray(r.truth["fault"]) > 0).any() for r in ismn(forecast_train))  # flags it saw: not the fault model
    assert not ismn(forecast_val)  # early stopping on the generator's validation only


def test_without_ismn_the_generator_trains_alone_with_a_notice(monkeypatch, capsys):
    monkeypatch.delenv("ISMN", raising=False)
    assert [s.name for s in resolve_sources(APP.manifest)] == ["synthetic-soil"]
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["notice: [dataset] source ismn: path $ISMN is not set; left out, training on synthetic-soil"]


def test_ismn_report_scores_the_forecaster_on_the_test_stations_only(tmp_path):
    """The forecaster trains on the ISMN-train stations: its real figures come from the test stations alone
    (station_split as the manifest's source), while the fault model, which never sees ISMN, is scored on all."""
    from tinyml.predict import Pipeline

    _write_stations(tmp_path / "ismn")
    app = _app_recording(tmp_path, None)  # these stations are not the card's: the download's own draw
    out = APP.pipeline.ismn_report(app, Pipeline(app), tmp_path / "ismn")
    assert out["stations"] == len(STATIONS)
    assert out["forecast"]["stations"] == 1 and out["forecast"]["trained_on_ismn"]
    text = APP.pipeline._ismn_forecast_text(out["forecast"], APP.manifest.acceptance)
    assert "on the ISMN test stations" in text and "**1 ISMN test stations only**" in text


def test_the_card_says_which_model_learnt_from_ismn():
    said = APP.pipeline._ismn_trained_text
    sources = lambda *s: {"dataset": {"sources": [{"name": "synthetic-soil"}, *s]}}
    assert "fault classifier never sees ISMN" in said(sources({"name": "ismn", "models": ["forecast"]}))
    assert "were not trained on them" in said(sources())


def test_forecast_study_splits_the_stations_as_the_manifest_says(tmp_path, monkeypatch):
    """forecast_study's ISMN stations are split by the manifest's ismn source (its split_fractions and
    split_seed), not by a copy of them: another seed in app.toml gives the study that seed's draw."""
    import importlib.util
    import shutil
    from pathlib import Path

    import tinyml.apps
    import tinyml.data

    spec = importlib.util.spec_from_file_location("forecast_study", Path(__file__).resolve().parents[1] / "forecast_study.py")
    study = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(study)
    _write_stations(tmp_path / "ismn")
    options = APP.pipeline.ismn_split(APP.manifest)
    names = [f"ismn:NET:{s}" for s in STATIONS]
    draw = lambda seed: dataset_module("ismn").station_split(names, options["split_fractions"], seed)
    seed = next(k for k in range(1, 50) if draw(k) != draw(options["split_seed"]))
    app_dir = tmp_path / "apps" / APP.id  # the app with another split_seed in its app.toml
    app_dir.mkdir(parents=True)
    shutil.copy2(APP.dir / "pipeline.py", app_dir)
    toml = (APP.dir / "app.toml").read_text()
    assert f"split_seed = {options['split_seed']} }}" in toml
    (app_dir / "app.toml").write_text(toml.replace(f"split_seed = {options['split_seed']} }}", f"split_seed = {seed} }}"))
    app = load_app(APP.id, root=tmp_path / "apps")
    monkeypatch.setattr(tinyml.apps, "load_app", lambda *a, **k: app)
    monkeypatch.setattr(tinyml.data, "load_splits", lambda *a, **k: ([], [], []))  # the generator's: not this test's
    ismn = study.study_data(tmp_path / "ismn")[-1]
    assert {r.subject: r.split for r in ismn} == draw(seed)


def _app_recording(tmp_path, test_stations):
    """A copy of the app whose card records these ISMN test stations (the rest as train); None: no ISMN record."""
    import json
    import shutil

    app_dir = tmp_path / "apps" / APP.id
    shutil.copytree(APP.dir, app_dir, ignore=shutil.ignore_patterns("tests", "__pycache__"), dirs_exist_ok=True)
    card = json.loads((app_dir / "model" / "card.json").read_text())
    names = [f"ismn:NET:{s}" for s in STATIONS]
    card["dataset"]["cohorts"].pop("ismn")
    if test_stations is not None:
        card["dataset"]["cohorts"]["ismn"] = {"train": [s for s in names if s not in test_stations], "val": [],
                                              "test": list(test_stations)}
    (app_dir / "model" / "card.json").write_text(json.dumps(card))
    return load_app(APP.id, root=tmp_path / "apps")


def test_ismn_report_takes_the_test_stations_the_card_records(tmp_path, capsys):
    """The forecaster's real figures are on the test stations the committed card records, not on this
    download's draw (another download draws another split); without a record, the draw's."""
    from tinyml.predict import Pipeline

    _write_stations(tmp_path / "ismn")
    names = [f"ismn:NET:{s}" for s in STATIONS]
    split = APP.pipeline.ismn_split(APP.manifest)
    drawn = dataset_module("ismn").station_split(names, split["split_fractions"], split["split_seed"])
    test = [s for s in names if drawn[s] == "test"]
    app = _app_recording(tmp_path, [s for s in names if s not in test][:2])
    assert APP.pipeline.ismn_report(app, Pipeline(app), tmp_path / "ismn")["forecast"]["stations"] == 2
    app = _app_recording(tmp_path, [names[0], "ismn:NET:Gone"])  # a recorded station this download lacks
    assert APP.pipeline.ismn_report(app, Pipeline(app), tmp_path / "ismn")["forecast"]["stations"] == 1
    assert "notice: 1 of the card's 2 ISMN test stations are not in " in capsys.readouterr().err
    app = _app_recording(tmp_path, None)
    assert APP.pipeline.ismn_report(app, Pipeline(app), tmp_path / "ismn")["forecast"]["stations"] == len(test) == 1
    # a run's models are scored on the stations their own card records (card_dir), not the committed card's
    run = tmp_path / "run"
    run.mkdir()
    (run / "card.json").write_text(json.dumps({"dataset": {"cohorts": {"ismn": {"test": names[:3]}}}}))
    assert APP.pipeline.ismn_report(app, Pipeline(app), tmp_path / "ismn", card_dir=run)["forecast"]["stations"] == 3
