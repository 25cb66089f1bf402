"""heart-rate-anomaly: window labels, episodes, the post-processor on simulated scenes, the readers through
`predict` (WFDB record, PhysioNet .mat, --channel), patient limits with --set, and the evaluation hook."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from tinyml.apps import load_app, load_module
from tinyml.data import dataset_module
from tinyml.errors import TinymlError
from tinyml.features import FeatureExtractor
from tinyml.paths import datasets_dir

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests"))
from apptest import run_cli  # noqa: E402

APP = load_app("heart-rate-anomaly")
M = APP.manifest
P = APP.pipeline
pytestmark = pytest.mark.xdist_group("heart-rate-anomaly")


def test_window_labels_follow_the_truth():
    lab = M.labels
    t = {"beats": np.arange(0.5, 30, 0.8), "classes": "N" * 37, "rhythm": [(0, 12, "N"), (12, 30, "AF")],
         "noise": [(20.0, 24.0)]}
    assert P.window_label(t, 0, 10, lab) == lab.index("normal")
    assert P.window_label(t, 10, 20, lab) == lab.index("af")  # 8 s of 10 in AF
    assert P.window_label(t, 16, 26, lab) == lab.index("noise")  # 4 s unreadable of 10
    t["classes"] = "N" * 5 + "V" + "N" * 31
    assert P.window_label(t, 0, 10, lab) == lab.index("ectopy")
    assert P.window_label(t, 4.3, 14.3, lab) == lab.index("normal")  # the V at 4.5 s is at the window's edge
    assert P.window_label({"rhythm": [(0, 30, "OTHER")]}, 0, 10, lab) is None


def test_episodes_need_their_minimum_and_hold_and_refractory():
    ep = P.Episode(n_on=3, n_off=2, refractory_n=100)
    fired = [ep.update(x, e) for e, x in zip(range(10, 200, 10), [1, 1, 1, 1, 0, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1])]
    # starts at the third positive; one negative is held; two end it; the next start waits out 100 samples
    assert [i for i, f in enumerate(fired) if f] == [2, 17]


def _run_pp(rec, scores=lambda t: [100, -128, -128, -128], models=None):
    fx = FeatureExtractor(M)
    pp = P.PostProcessor(M, 1 / 256, -128, models=models)
    W, hop = fx.window, fx.hop
    beats, values, events = [], [], []
    for k, fr in enumerate(fx.frames(rec.signal)):
        new = fr if k == 0 else fr[W - hop :]
        first = 0 if k == 0 else k * hop + W - hop
        end = first + len(new)
        events += [(end, e) for e in pp.step(fr, new, first, np.asarray(scores(end / M.rate), np.int8))]
        beats += pp.take_beats()
        values.append(pp.window_values())
    return beats, np.asarray(values), events


def test_post_processor_finds_and_classifies_the_beats_of_a_scene():
    gen = dataset_module("synthetic-ecg")
    rec = gen.scene(rate=M.rate, channels=M.channels, seed=1, subject=31, parts=[(40, "sinus"), (60, "bigeminy")])
    beats, values, events = _run_pp(rec)
    det = np.array([b for b, _ in beats]) / M.rate
    tb, tc = rec.truth["beats"], rec.truth["classes"]
    late = tb > 5
    hit = [np.min(np.abs(det - t)) <= 0.15 for t in tb[late]]
    assert np.mean(hit) > 0.99
    labels = {round(b / M.rate, 2): M.beat_labels[c] for b, c in beats}
    v_truth = [t for t, c in zip(tb, tc) if c == "V" and t > 50]
    v_found = [any(abs(t - d) <= 0.15 and c == "V" for d, c in labels.items()) for t in v_truth]
    assert len(v_truth) > 20 and np.mean(v_found) > 0.9
    hr = values[:, M.values.index("hr_bpm")]
    true_hr = 60 / np.median(np.diff(tb[(tb > 10) & (tb < 40)]))
    assert abs(np.nanmedian(hr[5:14]) - true_hr) < 3
    assert values.shape[1] == len(M.values) and np.all((values[:, -1] >= 0) & (values[:, -1] <= 1))
    assert [M.event_names[e[1][0]] for e in events] == ["ectopy"]
    assert 40 <= events[0][0] / M.rate <= 40 + float(M.postprocess["detect_after_s"])


def test_beat_model_examples_and_verdicts():
    """beat_examples labels the detector's beats V by the reference (EC57 matching) in the manifest's input shape;
    the committed beat model, given to the PostProcessor, calls the V beats of an unseen bigeminy scene V and the
    normal ones not, and a PostProcessor without it keeps the rules (other beats' classes unchanged there)."""
    from tinyml.reference import TflmModel

    gen = dataset_module("synthetic-ecg")
    rec = gen.scene(rate=M.rate, channels=M.channels, seed=3, subject=33, parts=[(30, "sinus"), (60, "bigeminy")])
    X, y = P.beat_examples([rec], FeatureExtractor(M), M, np.random.default_rng(0), False)
    assert X.shape[1:] == P._beat_shape(M) and y.sum() > 20 and set(np.unique(y)) == {0, 1}
    assert np.all(np.abs(X[:, :, :2]) <= P.BEAT_CLIP) and np.all((X[:, :, 2:4] >= 0) & (X[:, :, 2:4] <= 3))
    model = {"beat": TflmModel(APP.model_path("beat").read_bytes())}
    beats, _, _ = _run_pp(rec, models=model)
    det = np.array([b for b, _ in beats]) / M.rate
    tb, tc = rec.truth["beats"], np.asarray(list(rec.truth["classes"]))
    said = np.array([M.beat_labels[c] for _, c in beats])
    mt = P._match(tb, det, P.MATCH_S)
    late = (tb > 10) & (mt >= 0)
    v = late & (tc == "V")
    assert v.sum() > 20 and np.mean(said[mt[v]] == "V") > 0.95
    assert np.mean(said[mt[late & (tc == "N")]] != "V") > 0.98


def test_noise_and_brady_from_the_measurements_alone():
    gen = dataset_module("synthetic-ecg")
    rec = gen.scene(rate=M.rate, channels=M.channels, seed=2, subject=32,
                    parts=[(30, "sinus"), (30, "lead_off"), (30, "sinus"), (60, "brady")])
    _, values, events = _run_pp(rec)
    names = [(round(e / M.rate), M.event_names[x[0]]) for e, x in events]
    assert [n for _, n in names] == ["noise", "brady"], names
    after = float(M.postprocess["detect_after_s"])
    assert 30 <= names[0][0] <= 30 + after and 90 <= names[1][0] <= 90 + after


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    root = tmp_path_factory.mktemp("heart-files")
    mit = load_module(datasets_dir() / "mitbih-arrhythmia" / "fixture.py", "hra_test_mitdb_fixture")
    cinc = load_module(datasets_dir() / "physionet-2017" / "fixture.py", "hra_test_cinc_fixture")
    return root, mit.write_fixture(root / "mitdb", seconds=24.0), cinc.write_fixture(root / "cinc")


def _lines(res):
    assert res.returncode == 0, res.stderr
    return [json.loads(x) for x in res.stdout.splitlines()]


def test_predict_reads_a_wfdb_record_and_a_physionet_mat(records):
    from tinyml.errors import TinymlError
    from tinyml.predict import predict_file

    root, mit, _ = records
    res = run_cli("predict", APP.id, str(root / "mitdb" / "100.hea"))
    lines = _lines(res)
    assert "resampled 360 Hz -> 250 Hz" in res.stderr
    beats = [x["t"] for x in lines if "beat" in x]
    truth = mit["100"]["beats"]
    found = [min(abs(b - t) for b in beats) <= 0.15 for t in truth if 3 < t < 23]
    assert np.mean(found) > 0.95
    windows = [x for x in lines if "scores" in x]
    assert len(windows) == 1 + (24 * 250 - 2500) // 500 and set(windows[0]["values"]) == set(M.values)
    # 114's MLII is its second lead; --channel takes another by name
    a = list(predict_file(APP, root / "mitdb" / "114.hea"))
    b = list(predict_file(APP, root / "mitdb" / "114.hea", channel=["V5"]))
    assert a != b
    with pytest.raises(TinymlError, match="V9"):
        list(predict_file(APP, root / "mitdb" / "114.hea", channel=["V9"]))
    mat = list(predict_file(APP, root / "cinc" / "training2017" / "A00001.mat"))
    assert len([x for x in mat if "scores" in x]) == 2 and any("beat" in x for x in mat)
    bad = run_cli("predict", APP.id, str(root / "mitdb" / "114.hea"), "--channel", "V9")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "V9" in bad.stderr


def test_a_record_with_only_chest_leads_is_read_from_the_one_that_points_like_lead_ii(records, capsys):
    """MIT-BIH 102 and 104 carry V5 and V2, no MLII: V5's QRS points up as lead II's does, V2's mostly down (on
    the real 102 the pipeline found 55 % of the beats on V2, 99.95 % on V5)."""
    from tinyml.predict import read_input

    root, _, _ = records
    read_input(APP, root / "mitdb" / "102.hea")
    assert "ecg: read from lead 'V5', a stand-in" in capsys.readouterr().err


def test_patient_limits_change_with_set():
    from tinyml.fixtures import demo_path
    from tinyml.predict import predict_file

    def events(*sets):
        app = load_app(APP.id, overrides=list(sets))
        return [x["event"] for x in predict_file(app, demo_path(APP), events_only=True)]

    assert "brady" in events()
    assert "brady" not in events("patient.brady_bpm=35")
    bad = run_cli("predict", APP.id, str(demo_path(APP)), "--set", "patient.brady_bpm=5")
    assert bad.returncode == 2 and "brady_bpm" in bad.stderr


def test_evaluation_scores_detections_and_can_fail():
    from tinyml.predict import Pipeline

    gen = dataset_module("synthetic-ecg")
    recs = gen.generate(rate=M.rate, channels=M.channels, seed=77, subjects=1, records_per_subject=1,
                        record_minutes=2.0, stream_hours=0.05, stream_minutes=3.0, workers=1)
    pipe = Pipeline(APP)
    good = P.evaluate(APP, pipe, recs)
    assert good["qrs_sensitivity"] > 0.98 and good["hr_mae_bpm"] < 3
    lo, hi = good["qrs_sensitivity_ci"]
    assert lo <= good["qrs_sensitivity"] <= hi
    for r in recs:  # the reference moved by 0.3 s: nothing matches within 150 ms any more
        r.truth = {**r.truth, "beats": r.truth["beats"] + 0.3}
    bad = P.evaluate(APP, pipe, recs)
    assert bad["qrs_sensitivity"] < 0.05 and bad["qrs_ppv"] < 0.05


def test_firmware_on_the_host_prints_what_predict_prints(tmp_path):
    """A recording that ends mid-hop (beats in its tail): the firmware built for the host board gives the very
    same lines as predict, beats, values and events included (qemu-m4 parity is the contract test's)."""
    import shutil

    from tinyml.fixtures import write_csv

    if not shutil.which("gcc"):
        pytest.skip("gcc not installed")
    gen = dataset_module("synthetic-ecg")
    rec = gen.scene(rate=M.rate, channels=M.channels, seed=5, subject=35,
                    parts=[(20, "sinus"), (15, "bigeminy"), (12.3, "af")])
    path = tmp_path / "scene.csv"
    write_csv(path, rec)
    a = _lines(run_cli("predict", APP.id, str(path)))
    b = _lines(run_cli("run", APP.id, "--board", "host", "--input", str(path)))
    assert a == b and sum("beat" in x for x in a) > 40


def _real_data():
    return load_module(APP.dir / "real_data.py", "hra_test_real_data")


def test_real_data_reports_wfdb_records_and_cinc_recordings(records, tmp_path):
    root, _, _ = records
    out = tmp_path / "out"
    out.mkdir()
    assert _real_data().main([str(root / "mitdb"), "--cinc2017", str(root / "cinc"), "--out", str(out),
                              "--every-record"]) == 0
    text = (out / "real_data.md").read_text()
    for section in ("QRS detection (MIT-BIH", "Beat classes, DS2", "Atrial fibrillation", "Events against the reference",
                    "AF in short recordings"):
        assert section in text
    assert "| 102 | paced | V5 |" in text and "| 114 | DS1 | MLII |" in text  # the lead predict reads
    assert (out / "real_data.png").is_file() and not (out / "extras.md").exists()  # no card here to rewrite


def test_real_data_reports_only_records_no_model_trained_or_was_chosen_on(records, tmp_path, monkeypatch):
    """The card's real-data section: MIT-BIH DS2 only (no DS1, no paced record) and CinC 2017's test split only,
    the very recordings load_splits holds out (the sources' fixtures)."""
    from tinyml.data import load_splits

    root, _, _ = records
    out = tmp_path / "out"
    out.mkdir()
    rd = _real_data()
    monkeypatch.setattr(rd, "_card", lambda out: {})  # a model without a recorded split: the manifest's draw
    assert rd.main([str(root / "mitdb"), "--cinc2017", str(root / "cinc"), "--out", str(out)]) == 0
    text = (out / "real_data.md").read_text()
    rows = {line.split(" | ")[0].strip("| ") for line in text.splitlines() if re_record_row(line)}
    assert rows == {"100", "202"}, rows  # DS2; not 101, 106, 114 (DS1), 102 (paced), 201 (202's patient, DS1)
    monkeypatch.setenv("MITBIH", str(root / "mitdb"))
    monkeypatch.setenv("CINC2017", str(root / "cinc"))
    train, val, test = load_splits(load_app("heart-rate-anomaly").manifest, smoke=True)
    cinc_test = sorted(Path(r.source).stem for r in test if r.cohort == "physionet-2017")
    assert cinc_test and f"the test split: {len(cinc_test)} of its 4" in text
    assert sorted(rd.cinc_test_names(APP, root / "cinc" / "training2017" / "REFERENCE.csv")) == cinc_test
    counted = sum(int(line.split(" | ")[1]) for line in text.splitlines() if re.match(r"\| [NAO~] \(", line))
    assert counted == len(cinc_test)


def test_cinc_test_split_is_the_one_the_card_recorded_and_never_redrawn_from_other_labels(records):
    """The draw depends on every label, so the CinC test recordings are those the model's card recorded; without a
    record they are redrawn only from the labels file training reads in that folder (REFERENCE-v3.csv beside
    REFERENCE.csv would move trained recordings into the test split)."""
    root, _, _ = records
    rd = _real_data()
    labels = root / "cinc" / "training2017" / "REFERENCE.csv"
    card = {"dataset": {"cohorts": {"physionet-2017": {"train": ["cinc17-A00001"], "test": ["cinc17-A00003"]}}}}
    assert rd.cinc_test_names(APP, labels, card) == {"A00003"}
    other = labels.with_name("REFERENCE-v3.csv")
    other.write_text(labels.read_text())
    with pytest.raises(TinymlError, match="not the labels file training reads"):
        rd.cinc_test_names(APP, other)
    assert rd.cinc_test_names(APP, other, card) == {"A00003"}


def re_record_row(line: str) -> bool:
    """A per-record row of the QRS table: | 100 | DS2 | MLII | ..."""
    return bool(re.match(r"\| \d{3} \| (DS1|DS2|paced) \| ", line))


def test_real_data_judges_events_by_the_reference():
    rd = _real_data()
    beats = np.arange(0.0, 200.0, 1.2)  # 50 bpm
    classes = "".join("V" if 100 <= t < 150 and k % 4 == 0 else "N" for k, t in enumerate(beats))
    truth = {"beats": beats, "classes": classes, "rhythm": [(0.0, 60.0, "N"), (60.0, 90.0, "AFIB"), (90.0, 200.0, "N")]}
    truth["rhythm"] = [(a, b, {"AFIB": "AF"}.get(lab, lab)) for a, b, lab in truth["rhythm"]]
    assert rd._event_is_true(APP, truth, 75.0, "af") and rd._event_is_true(APP, truth, 120.0, "af")  # within detect_after_s
    assert not rd._event_is_true(APP, truth, 20.0, "af")
    assert rd._event_is_true(APP, truth, 150.0, "ectopy") and not rd._event_is_true(APP, truth, 60.0, "ectopy")
    assert rd._event_is_true(APP, truth, 50.0, "brady") and not rd._event_is_true(APP, truth, 50.0, "tachy")
    assert rd._event_is_true(APP, truth, 50.0, "noise") is None  # mitdb marks no unreadable spans
    paused = dict(truth, beats=np.array([1.0, 2.0, 180.0]), classes="NNN")  # a long pause: no reference rate
    assert rd._event_is_true(APP, paused, 170.0, "brady") is None  # not checkable, not counted false
    runs = [{"record": r} for r in ("100", "101", "102", "04015")]  # DS2, DS1, paced, another database's
    assert [r["record"] for r in rd._aami(runs)] == ["100", "101"]


def test_real_sources_split_without_leaks(records, monkeypatch):
    """[[dataset.sources]] with MIT-BIH and CinC 2017 (the loaders' fixtures) beside the generator: every DS2
    record is test and only test, 201 (202's patient) nowhere, CinC draws its own test recordings (by subject,
    the manifest's rule: none in train or val), Other rhythm is left out, and the generator's held-out subjects
    are the ones it draws alone (the committed model's)."""
    from tinyml.data import load_splits, split_recordings

    root, _, cinc = records
    monkeypatch.setenv("MITBIH", str(root / "mitdb"))
    monkeypatch.setenv("CINC2017", str(root / "cinc"))
    train, val, test = load_splits(load_app("heart-rate-anomaly").manifest, smoke=True)
    name = {"mitbih-arrhythmia": lambda r: Path(r.source).stem, "physionet-2017": lambda r: Path(r.source).stem}

    def listed(part, source):
        return {name[source](r) for r in part if r.cohort == source}

    ds2 = {"100", "202"}  # the fixture's DS2 records
    assert listed(test, "mitbih-arrhythmia") == ds2
    assert not (listed(train, "mitbih-arrhythmia") | listed(val, "mitbih-arrhythmia")) & (ds2 | {"201"})
    assert listed(train, "mitbih-arrhythmia") | listed(val, "mitbih-arrhythmia") == {"101", "106", "114"}
    cinc_test = listed(test, "physionet-2017")
    assert cinc_test and not cinc_test & (listed(train, "physionet-2017") | listed(val, "physionet-2017"))
    every = listed(train + val + test, "physionet-2017")
    assert every == {n for n, row in cinc.items() if row["class"] != "O"}
    gen = [r for r in train + val + test if r.cohort == "synthetic-ecg"]
    alone = split_recordings([_untagged(r) for r in gen], test_fraction=M.dataset["test_fraction"],
                             val_fraction=M.dataset["val_fraction"], seed=M.dataset["seed"])
    assert [sorted(r.subject for r in part) for part in alone] == [
        sorted(r.subject for r in part if r.cohort == "synthetic-ecg") for part in (train, val, test)]


def _untagged(r):
    import copy

    out = copy.copy(r)
    out.cohort = ""
    return out


def _study():
    return load_module(APP.dir / "rhythm_real.py", "hra_test_rhythm_real")


def _row(source, pos, tp, events=0, hours=0.5, has_af=True):
    return {"source": source, "pos": pos, "tp": tp, "neg": 10, "fp": 0, "events": events, "hours": hours,
            "has_af": has_af}


def test_rhythm_study_bootstrap_is_paired_and_false_af_counts_only_records_without_af():
    """The criterion's arithmetic: the paired interval of the AF sensitivity difference is 0 for the same model
    and above 0 when every record gains; false AF per hour counts AF events on records without AF only."""
    st = _study()
    old = [_row("mitbih", 100, 20), _row("cinc", 10, 2), _row("cinc", 12, 3), _row("cinc", 0, 0, 1, has_af=False)]
    assert st.paired_bootstrap(old, old, n=200) == [0.0, 0.0]
    new = [dict(r, tp=min(r["pos"], r["tp"] + 5)) for r in old]
    lo, hi = st.paired_bootstrap(old, new, n=200)
    assert 0 < lo <= hi
    s = st.af_summary(old + [_row("cinc", 5, 5, events=3)])  # 3 events on a record with AF: not false
    assert s["false_af_events"] == 1 and s["false_af_per_hour"] == 2.0 and s["af_windows"] == 127


def test_af_windows_are_counted_by_one_rule_for_a_run_and_its_replay():
    """record_af (a run), replay_af (a stored run) and the card's evaluate count AF windows with one helper (the
    pipeline's af_window_counts): windows without a class or of noise are left out; AF windows give pos (tp when
    said AF), the others neg (fp when said AF)."""
    st = _study()
    i_af, i_noise = M.labels.index("af"), M.labels.index("noise")
    other = next(i for i in range(len(M.labels)) if i not in (i_af, i_noise))
    windows = [(i_af, True), (i_af, False), (other, True), (other, False), (other, False), (None, True),
               (i_noise, True)]
    assert P.af_window_counts(windows, i_af, i_noise) == {"pos": 2, "tp": 1, "neg": 3, "fp": 1}
    from tinyml.predict import Pipeline

    rec, pipe = P.make_demo(M, 31), Pipeline(APP)
    run, replay = st.record_af(APP, pipe, rec), st.replay_af(APP, st.window_table(APP, pipe, rec))
    counts = ("pos", "tp", "neg", "fp")
    assert run["pos"] and [run[k] for k in counts] == [replay[k] for k in counts]


def test_af_replay_from_one_run_gives_the_pipeline_at_another_setting():
    """The AF operating point's grid replays the AF decision and episodes from one run's stored windows: at a
    setting other than the one the windows were scored under, the replay must give what the whole pipeline
    gives when run at that setting (the same AF events, the same AF windows)."""
    from tinyml.predict import Pipeline

    st = _study()
    rec = P.make_demo(M, 31)
    low = load_app("heart-rate-anomaly", overrides=["postprocess.af_threshold=0.3", "postprocess.af_release=0.1"])
    committed, at_low = st.window_table(APP, Pipeline(APP), rec), st.window_table(low, Pipeline(low), rec)
    assert at_low["af_events"], "the demo's AF part raises no AF event at 0.3 / 0.1"
    replayed = st.replay_af(low, committed)
    assert replayed["af_events"] == at_low["af_events"]
    assert replayed == st.replay_af(low, at_low)
    assert st.replay_af(APP, committed)["af_events"] == committed["af_events"]


def _decision(synthetic_se=0.975, failures=(), real_se=0.78, false_per_h=0.40, drop=0.5, model_bytes=30872):
    real = {"committed": (0.7865, 0.3115), "candidate": (real_se, false_per_h)}
    synth = {"committed": 0.9578, "candidate": synthetic_se}
    out = {k: {"real_af": {"af_sensitivity": real[k][0], "false_af_per_hour": real[k][1]},
               "synthetic": {"metrics": {"af_sensitivity": synth[k]}, "failures": []}} for k in real}
    out["candidate"]["synthetic"]["failures"] = list(failures)
    out["candidate"].update(int8_drop=drop, model_bytes=model_bytes, arena_bytes=6588)
    return out


def test_winback_rule_adopts_only_when_every_part_holds():
    """The win-back criterion (README, 2026-12-07): synthetic validation AF Se >= 0.97, the other synthetic floors,
    real AF Se at most 0.02 below the committed model's, at most 0.11 more false AF per hour, int8 drop and sizes."""
    st = _study()
    acc = M.acceptance
    assert st.winback_rule(_decision(), acc)["adopt"]
    assert st.winback_rule(_decision(real_se=0.7665 + 1e-9, false_per_h=0.3115 + 0.11), acc)["adopt"]
    misses = {"synthetic_af_se": _decision(synthetic_se=0.9699), "synthetic_floors": _decision(failures=["v_ppv"]),
              "real_af_se": _decision(real_se=0.7664), "real_false_af": _decision(false_per_h=0.43),
              "int8_and_sizes": _decision(drop=1.01)}
    for part, decision in misses.items():
        rule = st.winback_rule(decision, acc)
        assert not rule[part] and not rule["adopt"], part
        assert all(v for k, v in rule.items() if k not in (part, "adopt")), part
    assert not st.winback_rule(_decision(model_bytes=40000), acc)["adopt"]


def test_winback_decides_again_when_the_saved_decision_is_of_other_models(tmp_path, monkeypatch):
    """A decision.json of a refitted candidate (or of a committed model promoted since) is never judged again:
    winback reuses it only for the same committed and candidate models."""
    import json

    st = _study()
    (tmp_path / "model.int8.tflite").write_bytes(b"candidate, second fit")
    def decision(**kw):  # the figures winback copies into winback.json besides the rule's
        d = _decision(**kw)
        for k in ("committed", "candidate"):
            d[k]["per_source"] = {}
        return d

    stale = {**decision(synthetic_se=0.9), "models": {"committed": st.models_hash(APP.model_dir), "candidate": "first"}}
    (tmp_path / "decision.json").write_text(json.dumps(stale))
    fresh = decision()
    monkeypatch.setattr(st, "decide", lambda run_dir: fresh)
    assert st.winback(tmp_path)["rule"]["adopt"]  # decided again: the stale figures would refuse
    fresh["models"] = {"committed": st.models_hash(APP.model_dir), "candidate": st.models_hash(tmp_path)}
    (tmp_path / "decision.json").write_text(json.dumps(stale | {"models": fresh["models"]}))
    monkeypatch.setattr(st, "decide", lambda run_dir: pytest.fail("decided again for the same models"))
    assert not st.winback(tmp_path)["rule"]["adopt"]  # the saved figures, the same models: reused
