"""Several data sources per manifest: real folders and generators together, a missing real folder left out
with a one-line notice (the generator stands in when nothing is left), weights, stratified splits."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tinyml.apps import load_module
from tinyml.data import split_recordings
from tinyml.data.source import build_dataset, declared_sources, weighted
from tinyml.errors import TinymlError
from tinyml.manifest import load_manifest
from tinyml.paths import datasets_dir

HEAD = '''
[app]
id = "x"
title = "x"
task = "classify"
labels = ["adl", "fall"]
event_labels = ["fall"]
[signal]
sensor = "accelerometer"
rate = 50
channels = ["ax", "ay", "az"]
units = "g"
[features]
version = 1
window = 100
hop = 50
'''
TINY = '{ subjects = 3, trials_per_activity = 1, stream_hours = 0.0, activities = ["F01", "D10"], workers = 1 }'


def _manifest(tmp_path, dataset: str):
    (tmp_path / "app.toml").write_text(HEAD + dataset)
    return load_manifest(tmp_path / "app.toml")


def _two_sources(path: str, weight: float = 1.0) -> str:
    return f'''[dataset]
generator = "synthetic-falls"
seed = 3
options = {TINY}
[[dataset.sources]]
name = "sisfall"
path = "{path}"
weight = {weight}
[[dataset.sources]]
name = "synthetic-falls"
options = {TINY}
'''


@pytest.fixture()
def sisfall(tmp_path):
    fx = load_module(datasets_dir() / "sisfall" / "fixture.py", "tinyml_datasets.sisfall_fixture")
    fx.write_fixture(tmp_path / "SisFall")
    return tmp_path / "SisFall"


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYML_CACHE", str(tmp_path / "cache"))


def test_real_folder_and_generator_together(tmp_path, sisfall, capsys):
    m = _manifest(tmp_path, _two_sources(str(sisfall)))
    recs = build_dataset(m, progress=False)
    cohorts = {r.cohort for r in recs}
    assert cohorts == {"sisfall/adult", "sisfall/elderly", "synthetic-falls"}
    assert all(r.rate == 50 for r in recs)
    assert "notice" not in capsys.readouterr().err
    train, val, test = split_recordings(recs, test_fraction=0.25, val_fraction=0.15, seed=3)
    # every cohort reaches the held-out split, the single elderly subject included (a stratum of one: test)
    assert {r.cohort for r in test} == cohorts
    assert {r.subject for r in test if r.cohort == "sisfall/elderly"} == {"SE01"}


def test_missing_real_folder_is_left_out_with_one_notice(tmp_path, capsys):
    m = _manifest(tmp_path, _two_sources(str(tmp_path / "nowhere")))
    recs = build_dataset(m, progress=False)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "source sisfall" in err[0] and "is not a folder" in err[0] and "synthetic-falls" in err[0]
    assert {r.cohort for r in recs} == {"synthetic-falls"} and len(recs) == 3 * 2


def test_unset_variable_is_named(tmp_path, sisfall, capsys, monkeypatch):
    monkeypatch.delenv("TINYML_TEST_SISFALL", raising=False)
    m = _manifest(tmp_path, _two_sources("$TINYML_TEST_SISFALL"))
    build_dataset(m, progress=False)
    assert "$TINYML_TEST_SISFALL is not set" in capsys.readouterr().err
    monkeypatch.setenv("TINYML_TEST_SISFALL", str(sisfall))
    assert any(r.cohort.startswith("sisfall") for r in build_dataset(m, progress=False))


def test_generator_stands_in_when_no_source_is_left(tmp_path, capsys):
    m = _manifest(tmp_path, f'''[dataset]
generator = "synthetic-falls"
options = {TINY}
[[dataset.sources]]
name = "sisfall"
path = "{tmp_path / 'nowhere'}"
''')
    recs = build_dataset(m, progress=False)
    assert len(recs) == 6 and {r.subject for r in recs} == {"syn-S01", "syn-S02", "syn-S03"}
    assert "training on synthetic-falls" in capsys.readouterr().err


def test_single_form_is_unchanged(tmp_path, sisfall, capsys):
    m = _manifest(tmp_path, f'[dataset]\nname = "sisfall"\npath = "{sisfall}"\ngenerator = "synthetic-falls"\n')
    recs = build_dataset(m, progress=False)
    assert {r.cohort for r in recs} == {"adult", "elderly"}  # the loader's own cohorts, no source prefix
    m = _manifest(tmp_path, f'[dataset]\nname = "sisfall"\ngenerator = "synthetic-falls"\noptions = {TINY}\n')
    recs = build_dataset(m, progress=False)
    assert {r.cohort for r in recs} == {""} and "notice" not in capsys.readouterr().err


def test_with_generator_keeps_the_generator_beside_a_set_path(tmp_path, sisfall, capsys):
    from tinyml.scoring import is_real

    body = f'[dataset]\nname = "sisfall"\ngenerator = "synthetic-falls"\nwith_generator = true\noptions = {TINY}\n'
    m = _manifest(tmp_path, body + f'path = "{sisfall}"\n')
    recs = build_dataset(m, progress=False)
    # both sources, each recording tagged with its source, so the split draws held-out groups from each
    assert {r.cohort for r in recs} == {"sisfall/adult", "sisfall/elderly", "synthetic-falls"}
    train, val, test = split_recordings(recs, test_fraction=0.25, val_fraction=0.15, seed=3)
    assert {r.cohort.split("/")[0] for r in test} == {"sisfall", "synthetic-falls"}
    real = is_real(m)
    assert {r.cohort for r in recs if real(r)} == {"sisfall/adult", "sisfall/elderly"}
    # the real folder missing: the generator alone, with one notice
    m = _manifest(tmp_path, body + f'path = "{tmp_path / "nowhere"}"\n')
    capsys.readouterr()
    recs = build_dataset(m, progress=False)
    assert {r.cohort for r in recs} == {"synthetic-falls"} and len(recs) == 6
    assert "source sisfall" in capsys.readouterr().err
    # path empty: the generator stands in as before (untagged)
    m = _manifest(tmp_path, body)
    assert {r.cohort for r in build_dataset(m, progress=False)} == {""}


def test_weights_repeat_training_recordings(tmp_path, sisfall):
    m = _manifest(tmp_path, _two_sources(str(sisfall), weight=2.5))
    recs = build_dataset(m, progress=False)
    real = [r for r in recs if r.cohort.startswith("sisfall")]
    out = weighted(m, recs, np.random.default_rng(0))
    n_real = sum(1 for r in out if r.cohort.startswith("sisfall"))
    assert 2 * len(real) <= n_real <= 3 * len(real) and n_real != 2 * len(real)
    assert sum(1 for r in out if r.cohort == "synthetic-falls") == len(recs) - len(real)
    assert [s.weight for s in declared_sources(m)] == [2.5, 1.0]


@pytest.mark.parametrize("body, needle", [
    ('[[dataset.sources]]\nname = "sisfall"\nfolder = "x"\n', "[dataset.sources[0].folder] unknown key"),
    ('[[dataset.sources]]\nname = "sisfall"\nweight = -1\n', "[dataset.sources[0].weight] must be >= 0"),
    ('[[dataset.sources]]\nname = "sisfall"\nweight = "a"\n', "[dataset.sources[0].weight] must be int or float"),
    ('[[dataset.sources]]\npath = "x"\n', "[dataset.sources[0].name] is required"),
    ('[[dataset.sources]]\nname = "a"\n[[dataset.sources]]\nname = "a"\n', "source 'a' is listed twice"),
    ('seed = 1\n', "[dataset.name] is required"),
])
def test_bad_sources_name_the_key(tmp_path, body, needle):
    with pytest.raises(TinymlError) as e:
        _manifest(tmp_path, "[dataset]\n" + body)
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_a_source_may_name_several_folders(tmp_path, capsys):
    """`path` lists folders separated by os.pathsep (as $PATH): a dataset loads each (or all at once when it
    says MANY_FOLDERS) and the recordings are joined; a missing one is left out with a notice."""
    import os

    fx = load_module(datasets_dir() / "sisfall" / "fixture.py", "tinyml_datasets.sisfall_fixture")
    fx.write_fixture(tmp_path / "a")
    fx.write_fixture(tmp_path / "b")
    one = build_dataset(_manifest(tmp_path, _two_sources(str(tmp_path / "a"))), progress=False)
    path = os.pathsep.join([str(tmp_path / "a"), str(tmp_path / "gone"), str(tmp_path / "b")])
    m = _manifest(tmp_path, _two_sources(path))
    assert [p.name for p in declared_sources(m)[0].folders(m)] == ["a", "b"]
    both = build_dataset(m, progress=False)
    real = lambda rs: [r for r in rs if r.cohort.startswith("sisfall")]
    assert len(real(both)) == 2 * len(real(one))
    err = capsys.readouterr().err
    assert "folder " + str(tmp_path / "gone") + " is not there" in err


def test_no_val_sources_is_checked_against_the_sources(tmp_path, sisfall):
    from tinyml.data import load_splits

    real = lambda rs: {r.subject for r in rs if r.cohort.startswith("sisfall")}
    plain = load_splits(_manifest(tmp_path, _two_sources(str(sisfall))), progress=False)
    m = _manifest(tmp_path, _two_sources(str(sisfall)).replace("seed = 3\n", 'seed = 3\nno_val_sources = ["sisfall"]\n'))
    train, val, test = load_splits(m, progress=False)
    assert real(plain[1]) and val and not real(val)  # the plain draw's validation subject trains instead
    assert real(test) == real(plain[2]) and real(train) == real(plain[0]) | real(plain[1])
    m = _manifest(tmp_path, _two_sources(str(sisfall)).replace("seed = 3\n", 'seed = 3\nno_val_sources = ["sisfal"]\n'))
    with pytest.raises(TinymlError, match="no_val_sources names 'sisfal', which is no source"):
        load_splits(m, progress=False)
    one = f'[dataset]\nname = "sisfall"\npath = "{sisfall}"\nno_val_sources = ["sisfall"]\n'
    with pytest.raises(TinymlError, match="the only source in use"):
        load_splits(_manifest(tmp_path, one), progress=False)
    with pytest.raises(TinymlError, match="no_val_sources"):
        _manifest(tmp_path, '[dataset]\nname = "sisfall"\nno_val_sources = [3]\n')


def test_draw_last_sources_is_checked_against_the_sources(tmp_path, sisfall):
    from tinyml.data import load_splits

    m = _manifest(tmp_path, _two_sources(str(sisfall)).replace("seed = 3\n", 'seed = 3\ndraw_last_sources = ["sisfal"]\n'))
    with pytest.raises(TinymlError, match="draw_last_sources names 'sisfal', which is no source"):
        load_splits(m, progress=False)
    with pytest.raises(TinymlError, match="draw_last_sources"):
        _manifest(tmp_path, '[dataset]\nname = "sisfall"\ndraw_last_sources = [3]\n')


def test_reported_apart_sources_stay_out_of_the_headline(tmp_path, sisfall):
    """A real source in reported_apart_sources is split and reported per cohort like any other, but the headline
    metrics ([acceptance]'s) come from the other real sources: adding a harder data set (another body position)
    does not change what the floors measure."""
    from tinyml.scoring import is_real

    three = _two_sources(str(sisfall)) + f'[[dataset.sources]]\nname = "mobifall"\npath = "{sisfall}"\n'
    m = _manifest(tmp_path, three)
    rec = lambda c: type("R", (), {"cohort": c})()  # noqa: E731
    assert is_real(m)(rec("mobifall")) and is_real(m)(rec("sisfall/adult"))
    m = _manifest(tmp_path, three.replace("seed = 3\n", 'seed = 3\nreported_apart_sources = ["mobifall"]\n'))
    assert not is_real(m)(rec("mobifall")) and is_real(m)(rec("sisfall/adult"))
    assert not is_real(m)(rec("synthetic-falls"))
    bad = _manifest(tmp_path, three.replace("seed = 3\n", 'seed = 3\nreported_apart_sources = ["mobifal"]\n'))
    from tinyml.data import load_splits

    with pytest.raises(TinymlError, match="reported_apart_sources names 'mobifal', which is no source"):
        load_splits(bad, progress=False)


AUX = '\n[models.aux]\nexamples = "aux_examples"\noutput = "regression"\n'


def _limited(path: str, models: str = '["aux"]') -> str:
    """Two sources, the real one limited to `models` (a TOML list), and a further model [models.aux]."""
    return _two_sources(path).replace('weight = 1.0\n', f'weight = 1.0\nmodels = {models}\n') + AUX


def test_a_source_limited_to_models_trains_only_those(tmp_path, sisfall):
    from tinyml.data.source import shared_recordings, training_recordings

    m = _manifest(tmp_path, _limited(str(sisfall)))
    recs = build_dataset(m, progress=False)
    real = lambda rs: [r for r in rs if r.cohort.startswith("sisfall")]
    assert real(recs)
    assert not real(training_recordings(m, recs, "")) and not real(training_recordings(m, recs, "model"))
    assert training_recordings(m, recs, "aux") == recs
    # its validation and held-out recordings stop no model and the core scores none: the app reports them apart
    assert shared_recordings(m, recs) == [r for r in recs if not r.cohort.startswith("sisfall")]
    assert [s.describe().get("models") for s in declared_sources(m)] == [["aux"], None]
    # without the key every source trains every model (as before)
    plain = _manifest(tmp_path, _two_sources(str(sisfall)) + AUX)
    assert training_recordings(plain, recs, "") == recs and shared_recordings(plain, recs) == recs


def test_train_gives_each_model_only_its_sources(tmp_path, sisfall, monkeypatch):
    """train_app: the primary model's training examples come from the unlimited sources only, the named
    model's from both; no model stops on the limited source's validation recordings."""
    from types import SimpleNamespace

    from tinyml import train as train_mod

    class Stop(Exception):
        pass

    seen = {}

    def fake_train_one(app, s, train, val, *args, **kwargs):
        seen[s.name] = (train, val)
        if len(seen) == 2:
            raise Stop

    m = _manifest(tmp_path, _limited(str(sisfall)))
    recs = build_dataset(m, progress=False)
    monkeypatch.setattr(train_mod, "load_splits", lambda *a, **k: (recs, recs, recs))  # every split holds both
    monkeypatch.setattr(train_mod, "_train_one", fake_train_one)
    with pytest.raises(Stop):
        train_mod.train_app(SimpleNamespace(manifest=m, model_dir=tmp_path / "model"), out=tmp_path / "run")
    real = lambda rs: [r for r in rs if r.cohort.startswith("sisfall")]
    assert not real(seen[""][0]) and real(seen["aux"][0]) == real(recs)
    assert not real(seen[""][1]) and not real(seen["aux"][1]) and seen["aux"][1]


@pytest.mark.parametrize("models, needle", [
    ('["forecast"]', "[dataset.sources[0].models] 'forecast' is no model of this app; models: model, aux"),
    ('[]', "[dataset.sources[0].models] must name at least one model"),
    ('["aux", "aux"]', "[dataset.sources[0].models] names 'aux' twice"),
    ('"aux"', "[dataset.sources[0].models] must be list"),
    ('[1]', "[dataset.sources[0].models] 1 is no model of this app"),
])
def test_bad_source_models_are_refused_in_one_line(tmp_path, models, needle):
    with pytest.raises(TinymlError) as e:
        _manifest(tmp_path, _limited("x", models))
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_a_model_no_source_trains_is_refused(tmp_path):
    body = _limited("x", '["model"]').replace('options = {TINY}\n'.replace("{TINY}", TINY) + AUX,
                                             f'options = {TINY}\nmodels = ["model"]\n' + AUX)
    with pytest.raises(TinymlError) as e:
        _manifest(tmp_path, body)
    assert "[dataset.sources] no source trains [models.aux]" in str(e.value) and "\n" not in str(e.value)


def test_eval_scores_no_held_out_recording_of_a_limited_source(tmp_path, sisfall, monkeypatch, capsys):
    """tinyml eval: the committed models are evaluated on the unlimited sources' held-out recordings, with the
    limited source's folder there or not (its test subjects in the card are then not asked for)."""
    from types import SimpleNamespace

    from tinyml import evaluate as eval_mod

    class Stop(Exception):
        pass

    scored = []

    def fake_evaluate(app, pipe, recs, progress=False):
        scored.append(recs)
        raise Stop

    m = _manifest(tmp_path, _limited(str(sisfall)))
    recs = build_dataset(m, progress=False)
    cohorts = {c: {"train": [], "val": [], "test": sorted({r.subject for r in recs if r.cohort == c})}
               for c in {r.cohort for r in recs}}
    (tmp_path / "card.json").write_text(json.dumps({"smoke": False, "dataset": {"cohorts": cohorts}}))
    monkeypatch.setattr(eval_mod, "committed_models", lambda app: {"": b"", "aux": b""})
    monkeypatch.setattr(eval_mod, "Pipeline", lambda *a, **k: None)
    monkeypatch.setattr(eval_mod, "evaluate_pipeline", fake_evaluate)
    app = SimpleNamespace(manifest=m, model_dir=tmp_path, id="x")
    generated = [r for r in recs if not r.cohort.startswith("sisfall")]
    for data in (recs, generated):  # the limited source's folder there, then not
        monkeypatch.setattr(eval_mod, "load_splits", lambda *a, **k: ([], [], list(data)))
        with pytest.raises(Stop):
            eval_mod.eval_committed(app)
        assert scored[-1] == generated
    assert "not in the data now" not in capsys.readouterr().err


def test_the_card_says_which_models_a_limited_source_trains(tmp_path):
    from tinyml.report import _data_text

    m = _manifest(tmp_path, _limited("x"))
    ds = {"sources": [{"name": "sisfall", "real": True, "weight": 1.0, "models": ["aux"], "kind": "real recordings"},
                      {"name": "synthetic-falls", "real": False, "weight": 1.0, "kind": "generated"}]}
    text = _data_text(m, ds)
    assert "`sisfall` (real recordings; `datasets/sisfall/`; trains `[models.aux]` only, and none of its " in text
    assert "`synthetic-falls` (generated; `datasets/synthetic-falls/`)" in text


def test_the_card_counts_held_out_recordings_the_figures_are_on(tmp_path, sisfall):
    """The card's held-out recordings and hours are those its figures are on (not a limited source's), and
    a real source's own fixed training split is not "generated for training only"."""
    from tinyml.train import _dataset_entry

    m = _manifest(tmp_path, _limited(str(sisfall)))
    recs = build_dataset(m, progress=False)
    for r in recs:
        r.split = "train" if r.cohort.startswith("sisfall") else r.split
    generated = [r for r in recs if not r.cohort.startswith("sisfall")]
    entry = _dataset_entry(m, recs, [], recs)
    assert entry["recordings"]["test"] == len(generated)
    assert entry["test_hours"] == round(sum(r.duration for r in generated) / 3600, 2)
    assert entry["subjects"]["train_only"] == 0 and entry["subjects"]["test"] == len({r.subject for r in recs})


def test_a_kept_model_refuses_a_run_that_holds_out_its_training_subjects(tmp_path):
    """`train --keep` / `promote --models`: a moved split (a subject the kept model trained on now held out) is
    refused in one line naming the model and the subjects; the same split passes, and so do subjects of a source
    that trains only other models (sisfall trains [models.aux] alone: the primary model never saw them)."""
    from tinyml.data.splits import check_kept_unseen

    m = _manifest(tmp_path, _limited("x"))
    trained = {"synthetic-falls": {"train": ["g1", "g2"], "val": ["g3"], "test": ["g4"]},
               "sisfall/elderly": {"train": ["s1"], "val": ["s2"], "test": ["s3"]}}
    check_kept_unseen(m, ["", "aux"], trained, {"g3", "g4", "s2", "s3"}, "train without --keep")  # as trained
    check_kept_unseen(m, [""], trained, {"g3", "s1"}, "train without --keep")  # s1 never trained the primary
    with pytest.raises(TinymlError) as e:
        check_kept_unseen(m, ["", "aux"], trained, {"g2", "g1", "g4"}, "train without --keep")
    assert str(e.value) == ("the committed [model] model trained on 2 subject(s) this run holds out for validation "
                            "or test (e.g. g1, g2): its figures would be on its own training data; train without --keep")
    with pytest.raises(TinymlError, match=r"\[models.aux\] model trained on 1 subject\(s\) .* \(e.g. s1\)"):
        check_kept_unseen(m, ["aux"], trained, {"s1"}, "train without --keep")
    check_kept_unseen(m, ["aux"], None, {"s1"}, "train without --keep")  # nothing recorded: nothing to check


def test_train_keep_refuses_a_moved_split_before_training(tmp_path, sisfall, monkeypatch):
    """train_app(keep=aux): a committed aux model trained on a subject the new draw holds out is refused before
    any model is fitted."""
    from types import SimpleNamespace

    from tinyml import train as train_mod

    m = _manifest(tmp_path, _limited(str(sisfall)))
    recs = build_dataset(m, progress=False)
    moved = recs[0].subject
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "aux.int8.tflite").write_bytes(b"committed")
    cohort = recs[0].cohort
    (model_dir / "card.json").write_text(json.dumps({"dataset": {"cohorts": {cohort: {"train": [moved]}}}}))
    monkeypatch.setattr(train_mod, "load_splits", lambda *a, **k: ([], [r for r in recs if r.subject == moved], []))
    monkeypatch.setattr(train_mod, "_train_one", lambda *a, **k: pytest.fail("fitted despite the moved split"))
    with pytest.raises(TinymlError, match=rf"\[models.aux\] model trained on 1 subject\(s\) .*\(e.g. {moved}\).*"
                                          "train without --keep"):
        train_mod.train_app(SimpleNamespace(manifest=m, model_dir=model_dir), keep=("aux",), out=tmp_path / "run")
    assert not (tmp_path / "run").exists()  # refused before the run folder was made
