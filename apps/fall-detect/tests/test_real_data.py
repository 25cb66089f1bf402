"""real_data.py: the committed pipeline on other real datasets (MobiFall v2.0's and SmartFallMM's layouts), scored
as the card scores its held-out trials and as `predict` streams a file, per sensor position, rendered into the
card. The fixtures are written here in those layouts from simulated trials (synthetic values, never real data)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tinyml.apps import load_app, load_module
from tinyml.data import dataset_module
from tinyml.errors import TinymlError
from tinyml.predict import Pipeline, predict_file
from tinyml.units import G

APP = load_app("fall-detect")
M = APP.manifest
RD = load_module(APP.dir / "real_data.py", "fall_detect_real_data")

AS_MOBIFALL = {"F01": "FOL", "F04": "FKL", "D07": "SCH", "D01": "WAL"}  # simulated code -> a MobiFall code


def _simulated(rate: float, seed: int, subjects: int, activities: list[str]) -> list:
    """One trial of each activity per simulated person, at the data set's rate, in g."""
    return dataset_module("synthetic-falls").generate(rate=rate, channels=M.channels, seed=seed, subjects=subjects,
                                                      trials_per_activity=1, stream_hours=0, activities=activities,
                                                      workers=1)


def _mobifall_file(path, signal_g: np.ndarray, rate: float, code: str, subject: int) -> None:
    """One accelerometer trial as MobiFall v2 writes it: '#' comment heading, `@DATA`, then
    `timestamp(ns), x, y, z` in m/s^2 (only z names its unit)."""
    t_ns = 1322101821000 + np.arange(len(signal_g)) * (1e9 / rate)
    rows = "".join(f"{int(t)}, {x:.6f}, {y:.6f}, {z:.6f}\n" for t, (x, y, z) in zip(t_ns, signal_g * G))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#Acceleration force along the x y z axes (including gravity).\n#timestamp(ns),x,y,z(m/s^2)\n"
                    f"#Activity: {code}\n#Subject ID: {subject}\n\n\n@DATA\n" + rows)


@pytest.fixture(scope="module")
def mobifall(tmp_path_factory):
    """Two simulated people, a fall and a daily activity each (and a gyroscope file, which is not read)."""
    root = tmp_path_factory.mktemp("MobiFall_Dataset_v2.0")
    rate = 87.0
    recs = _simulated(rate, seed=3, subjects=2, activities=["F01", "D07"])
    for n, r in enumerate(recs):
        subject = 1 + n // 2
        code = AS_MOBIFALL[r.activity]
        kind = "FALLS" if r.label == "fall" else "ADL"
        _mobifall_file(root / f"sub{subject}" / kind / code / f"{code}_acc_{subject}_1.txt", r.signal, rate, code, subject)
    gyro = root / "sub1" / "FALLS" / "FOL" / "FOL_gyro_1_1.txt"
    gyro.write_text("#timestamp(ns),x,y,z(rad/s)\n@DATA\n1, 0.1, 0.2, 0.3\n")
    return root


def _metamotion_file(path, signal_g: np.ndarray, rate: float) -> None:
    """A SmartFallMM MetaMotion trial: no heading; epoch (ms), ISO date-time, seconds elapsed, x, y, z in g."""
    from datetime import datetime, timedelta, timezone

    t0 = datetime(2022, 8, 5, 10, 5, 50, 596000, tzinfo=timezone.utc)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(
        f"{1659711950596 + round(1000 * i / rate)},{(t0 + timedelta(seconds=i / rate)).isoformat()[:23]},"
        f"{i / rate:.2f},{x:.3f},{y:.3f},{z:.3f}\n" for i, (x, y, z) in enumerate(signal_g)))


@pytest.fixture(scope="module")
def smartfallmm(tmp_path_factory):
    """One simulated young person at the hip (a fall, a daily activity) and a wrist file too short to score."""
    root = tmp_path_factory.mktemp("SmartFallMM-Dataset")
    rate = 25.0
    recs = _simulated(rate, seed=4, subjects=1, activities=["F02", "D07"])
    hip = root / "young" / "accelerometer" / "meta_hip"
    for r in recs:
        _metamotion_file(hip / f"S29A{'10' if r.label == 'fall' else '09'}T01.csv", r.signal, rate)
    _metamotion_file(root / "young" / "accelerometer" / "meta_wrist" / "S29A10T01.csv", recs[0].signal[:50], rate)
    headed = root / "old" / "accelerometer" / "meta_hip" / "S02A01T01.csv"  # MetaMotion's own heading: read by name
    _metamotion_file(headed, recs[1].signal, rate)
    headed.write_text("epoch (ms),time (-11:00),elapsed (s),x-axis (g),y-axis (g),z-axis (g)\n" + headed.read_text())
    (root / "young" / "skeleton").mkdir(parents=True)
    (root / "young" / "skeleton" / "S29A10T01.csv").write_text("0,0,0\n")  # not an accelerometer: left out
    return root


def test_trials_are_found_by_file_name_and_other_sensors_left_out(mobifall, smartfallmm, tmp_path):
    trials = RD.mobifall_trials(mobifall)
    assert sorted((t.subject, t.code, t.label) for t in trials) == [
        ("mobifall-1", "FOL", "fall"), ("mobifall-1", "SCH", "adl"), ("mobifall-2", "FOL", "fall"),
        ("mobifall-2", "SCH", "adl")]
    assert {t.position for t in trials} == {"trouser pocket (phone)"}
    trials = RD.smartfallmm_trials(smartfallmm)
    assert sorted((t.subject, t.code, t.label, t.position) for t in trials) == [
        ("smartfallmm-old-S02", "A01", "adl", "hip (MetaMotion sensor)"),
        ("smartfallmm-young-S29", "A09", "adl", "hip (MetaMotion sensor)"),
        ("smartfallmm-young-S29", "A10", "fall", "hip (MetaMotion sensor)"),
        ("smartfallmm-young-S29", "A10", "fall", "wrist (MetaMotion sensor)")]
    with pytest.raises(TinymlError, match=r"no MobiFall accelerometer trials found \(expected sub<N>/\{FALLS,ADL\}/<CODE>/"):
        RD.mobifall_trials(tmp_path)
    with pytest.raises(TinymlError, match=r"no SmartFallMM accelerometer trials found"):
        RD.smartfallmm_trials(tmp_path)


def test_each_position_is_scored_apart_the_headline_first(mobifall, smartfallmm):
    real = RD.evaluate(APP, Pipeline(APP), RD.smartfallmm_trials(smartfallmm) + RD.mobifall_trials(mobifall))
    got = [(x["dataset"], x["position"], x["headline"], x["scored"], x["trials"]) for x in real["sets"]]
    assert got == [("MobiFall v2.0", "trouser pocket (phone)", True, 4, 4),
                   ("SmartFallMM", "hip (MetaMotion sensor)", True, 3, 3),  # headerless ones by column number
                   ("SmartFallMM", "wrist (MetaMotion sensor)", False, 0, 1)]
    (why,) = real["sets"][2]["unscored"].values()
    assert why["files"] == 1 and why["falls"] == 1 and "shorter than one window" in why["example"]
    assert list(real["datasets"]) == ["MobiFall v2.0", "SmartFallMM"]


def test_figures_count_what_predict_raises_on_each_file(mobifall):
    pipe = Pipeline(APP)
    trials = RD.mobifall_trials(mobifall)
    (real,) = RD.evaluate(APP, pipe, trials)["sets"]
    # predict itself, file by file: a fall trial detected when any fall event comes, a daily activity clean
    # when none does
    alerted = {t.path.name: any(e.get("event") == "fall" for e in predict_file(APP, t.path, events_only=True))
               for t in trials}
    falls = [t for t in trials if t.label == "fall"]
    adls = [t for t in trials if t.label == "adl"]
    u = real["predict"]
    assert (u["sensitivity"]["k"], u["sensitivity"]["n"]) == (sum(alerted[t.path.name] for t in falls), len(falls))
    assert (u["specificity"]["k"], u["specificity"]["n"]) == (sum(not alerted[t.path.name] for t in adls), len(adls))
    assert u["false_alarms_per_hour"]["hours"] == pytest.approx(real["adl_hours"], abs=1e-4)
    c = real["card_definitions"]
    assert (c["sensitivity"]["n"], c["specificity"]["n"]) == (len(falls), len(adls))
    assert set(c["by_activity"]) == {"FOL", "SCH"}
    assert real["subjects"] == 2 and real["scored"] == 4 and not real["unscored"]
    lo, hi = u["sensitivity"]["exact"]
    assert lo <= u["sensitivity"]["value"] <= hi
    missed = real["missed_falls"]
    assert missed["model"] + missed["check"] == len(falls) - u["sensitivity"]["k"]
    bins = real["by_peak_g"]  # every fall in one bin of its largest |a|, the first ending at impact_g
    assert sum(b["trials"] for b in bins) == len(falls) and sum(b["detected"] for b in bins) == u["sensitivity"]["k"]
    assert bins[0]["to_g"] == M.postprocess["impact_g"] and bins[0]["detected"] == 0


def test_a_trial_turned_to_the_training_mounting_reads_its_gravity():
    rate = 50.0
    rng = np.random.default_rng(0)
    for g in ([0.0, 1.0, 0.0], [0.0, -1.0, 0.0], [0.6, 0.0, 0.8], [-0.3, 0.5, -0.81]):
        sig = (np.tile(np.float32(g), (200, 1)) + rng.normal(0, 0.01, (200, 3))).astype(np.float32)
        out = RD.turned_to_training_mounting(sig, rate)
        assert np.allclose(np.median(out[:25], 0) / np.linalg.norm(np.median(out[:25], 0)), RD.TRAINING_GRAVITY,
                           atol=0.03)
        assert np.allclose(np.linalg.norm(out, axis=1), np.linalg.norm(sig, axis=1), atol=1e-5)  # a rotation


def test_the_card_section_is_rendered_from_the_json(mobifall, tmp_path):
    """The card's appendix hook renders the section from the folder's real_data.json at `tinyml card` time
    (the stamp hashes the JSON: a new measurement makes the card stale until re-rendered)."""
    from tinyml.card_stamp import appendix_text

    P = APP.pipeline
    assert "Not measured for this model" in appendix_text(APP, tmp_path)
    assert P.REAL_JSON in P.model_card_appendix.reads
    real = RD.evaluate(APP, Pipeline(APP), RD.mobifall_trials(mobifall))
    (tmp_path / P.REAL_JSON).write_text(json.dumps(real))
    once = appendix_text(APP, tmp_path)
    assert once.count(P.REAL_HEADING) == 1 and "Not measured" not in once
    s = real["sets"][0]["predict"]["sensitivity"]
    assert f"| MobiFall v2.0 | trouser pocket (phone) | 2 (2) | {s['value']:.3f} ({s['k']}/{s['n']}" in once
    assert "| FOL | forward-lying" in once and "| SCH | sitting on a chair" in once


def test_of_a_data_set_the_model_trained_on_only_its_test_subjects_are_scored(mobifall, smartfallmm, tmp_path):
    """A card whose cohorts list MobiFall (the model trained on some of its people) keeps only MobiFall's test
    subjects; SmartFallMM, not among its sources, keeps every subject; the JSON and the card section say so."""
    trials = RD.mobifall_trials(mobifall) + RD.smartfallmm_trials(smartfallmm)
    card = {"dataset": {"cohorts": {"mobifall": {"train": ["mobifall-1"], "val": [], "test": ["mobifall-2"]},
                                    "sisfall/adult": {"train": ["SA01"], "test": ["SA02"]}}}}
    kept, scope = RD.held_out_only(trials, card)
    assert {t.subject for t in kept if t.dataset == "MobiFall v2.0"} == {"mobifall-2"}
    assert [t for t in kept if t.dataset == "SmartFallMM"] == [t for t in trials if t.dataset == "SmartFallMM"]
    assert scope == {"MobiFall v2.0": {"scored": "test subjects", "test_subjects": 1, "trained_subjects": 1},
                     "SmartFallMM": {"scored": "every subject"}}
    assert RD.held_out_only(trials, {})[0] == trials  # the committed card, trained on neither: every subject
    real = {**RD.evaluate(APP, Pipeline(APP), [t for t in kept if t.dataset == "MobiFall v2.0"]), "scope": scope}
    (tmp_path / APP.pipeline.REAL_JSON).write_text(json.dumps(real))
    text = APP.pipeline.real_data_section(APP, tmp_path)
    assert "**Held-out people only**" in text and "MobiFall v2.0: its 1 test subjects (the model trained on 1" in text
    assert "SmartFallMM never trained on" in text and "| MobiFall v2.0 | trouser pocket (phone) | 1 (1) |" in text


def test_main_scores_only_the_test_subjects_the_given_card_records(mobifall, tmp_path):
    card = tmp_path / "card.json"
    card.write_text(json.dumps({"dataset": {"cohorts": {"mobifall": {"train": ["mobifall-2"], "test": ["mobifall-1"]}}}}))
    out = tmp_path / "out"
    out.mkdir()
    assert RD.main(["--mobifall", str(mobifall), "--out", str(out), "--card", str(card)]) == 0
    real = json.loads((out / APP.pipeline.REAL_JSON).read_text())
    assert real["scope"]["MobiFall v2.0"]["scored"] == "test subjects" and real["sets"][0]["subjects"] == 1
    assert RD.main(["--mobifall", str(mobifall), "--out", str(out), "--card", str(tmp_path / "none.json")]) == 2


def test_a_read_trial_is_labelled_as_the_loaders_label_it(mobifall):
    """read_trial: the trial's person (also its cohort: per-person counts), code and label; a fall's event at
    its peak of |a|, as the MobiFall loader's as_trial sets it; a daily activity has none."""
    for trial in RD.mobifall_trials(mobifall):
        rec, _ = RD.read_trial(APP, trial)
        assert (rec.subject, rec.cohort, rec.activity, rec.label) == (trial.subject, trial.subject, trial.code,
                                                                     trial.label)
        peak = np.argmax(np.linalg.norm(np.asarray(rec.signal, np.float64), axis=1)) / rec.rate
        assert rec.events == ([(pytest.approx(peak), "fall")] if trial.label == "fall" else [])
