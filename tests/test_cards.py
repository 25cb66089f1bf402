"""Model cards: every committed card is fresh (rendered from its card.json, app.toml and today's generator;
measured on the committed models under app.toml's [postprocess]; device figures from today's models and
firmware), defines every figure it shows, and `tinyml card` re-renders one without data or training."""

from __future__ import annotations

import json
import sys

import pytest

from tinyml.apps import load_app
from tinyml.card_stamp import card_problems, read_stamp
from tinyml.glossary import define, undefined

from apptest import APPS, ROOT, run_cli, template_repo

CARD_APPS = [*APPS, *sorted(p.parent.name for p in (ROOT / "apps").glob("_*/app.toml"))]


@pytest.mark.parametrize("folder", CARD_APPS)
def test_committed_card_is_fresh(folder):
    app = load_app(folder)
    problems = card_problems(app)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("folder", CARD_APPS)
def test_card_defines_every_figure_it_shows(folder):
    app = load_app(folder)
    card = json.loads((app.model_dir / "card.json").read_text())
    missing = undefined(app.manifest, card)
    assert not missing, (f"{app.dir / 'app.toml'}: add what each means to [card] glossary: "
                         + ", ".join(f'{k} = "..."' for k in missing))
    text = (app.model_dir / "README.md").read_text()
    assert "## What the figures mean" in text and "(not defined:" not in text


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A scratch repository holding the template as the app `demo-app`, its card re-rendered for that id."""
    root = template_repo(tmp_path, "demo-app")
    toml = root / "apps" / "demo-app" / "app.toml"
    toml.write_text(toml.read_text().replace('id = "template-app"', 'id = "demo-app"'))
    env = {"TINYML_ROOT": str(root), "TINYML_CACHE": str(tmp_path / "cache")}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    res = run_cli("card", "demo-app", env=env)
    assert res.returncode == 0, res.stderr
    return root / "apps" / "demo-app", env


def test_card_renders_without_data_and_the_same_twice(repo, monkeypatch):
    folder, env = repo
    app = load_app("demo-app")
    assert card_problems(app) == []
    text = (folder / "model" / "README.md").read_text()
    assert "make app=demo-app card" in text and "template-app" not in text
    # no dataset, no training: the generators and loaders are out of reach, and the card still renders
    import tinyml.data.source as source
    from tinyml.report import render_card

    def no_data(*a, **k):
        raise AssertionError("rendering a card read the dataset")

    monkeypatch.setattr(source, "build_dataset", no_data)
    monkeypatch.setattr(source, "dataset_module", no_data)
    (folder.parent.parent / "datasets").unlink()  # the scratch repo's link to the datasets
    render_card(app, app.model_dir)
    assert (folder / "model" / "README.md").read_text() == text


def _cli_in_process(capsys, *args: str) -> tuple[int, str]:
    """`tinyml <args>`'s exit code and stderr, run by the CLI's own main() in this process: the same code as a
    user's command without a process start per step (the fixture and the first check run it as a user does)."""
    from tinyml.cli import main

    capsys.readouterr()
    rc = main(list(args))
    return rc, capsys.readouterr().err


def test_each_kind_of_staleness_is_caught_and_named(repo, capsys):
    folder, env = repo
    model = folder / "model"

    def check():
        return _cli_in_process(capsys, "card", "demo-app", "--check")

    res = run_cli("card", "demo-app", "--check", env=env)  # once as a user runs it
    assert (res.returncode, res.stderr) == (0, "")

    rc, err = check()
    assert rc == 0 and err == "", err
    # the rendered text edited by hand
    readme = model / "README.md"
    readme.write_text(readme.read_text().replace("## Held-out metrics", "## Metrics"))
    rc, err = check()
    assert rc == 1 and "edited by hand" in err and "[card] glossary" in err
    readme.write_text(readme.read_text().replace("<!-- card stamp", "<!-- stamp"))
    rc, err = check()
    assert rc == 1 and "not rendered by the card generator" in err and "tinyml card demo-app" in err
    assert _cli_in_process(capsys, "card", "demo-app")[0] == 0 and check() == (0, "")
    # card.json changed after rendering
    card = json.loads((model / "card.json").read_text())
    card["metrics"]["int8"]["sensitivity"] = 0.5
    (model / "card.json").write_text(json.dumps(card, indent=2) + "\n")
    rc, err = check()
    assert rc == 1 and "rendered from another card.json" in err
    # re-rendered: the acceptance verdict is judged again from the recorded metrics against app.toml's floors
    rc, err = _cli_in_process(capsys, "card", "demo-app")
    assert rc == 0, err
    assert "## Acceptance (NOT met: sensitivity = 0.5 < 0.8)" in readme.read_text()
    card["metrics"]["int8"]["sensitivity"] = 1.0
    (model / "card.json").write_text(json.dumps(card, indent=2) + "\n")
    assert _cli_in_process(capsys, "card", "demo-app")[0] == 0 and check() == (0, "")
    # a comment in app.toml: the text may have changed (title, floors, glossary): re-render, no re-measure
    toml = folder / "app.toml"
    toml.write_text(toml.read_text() + "\n# a note\n")
    rc, err = check()
    assert rc == 1 and "rendered from another app.toml" in err and "--card" not in err
    assert _cli_in_process(capsys, "card", "demo-app")[0] == 0 and check() == (0, "")
    # another [postprocess]: the metrics must be measured again
    toml.write_text(toml.read_text().replace("threshold = 0.6", "threshold = 0.7"))
    assert _cli_in_process(capsys, "card", "demo-app")[0] == 1
    rc, err = check()
    assert rc == 1 and "measured under another [postprocess]" in err and "tinyml eval demo-app --card" in err
    toml.write_text(toml.read_text().replace("threshold = 0.7", "threshold = 0.6"))
    assert _cli_in_process(capsys, "card", "demo-app")[0] == 0
    # the firmware changed: the device figures must be measured again
    app_c = folder / "firmware" / "app.c"
    app_c.write_text(app_c.read_text() + "\n/* a change */\n")
    rc, err = check()
    assert rc == 1 and "device figures measured on other firmware" in err and "--device" in err
    app_c.write_text(app_c.read_text().replace("\n/* a change */\n", ""))
    assert check() == (0, "")
    # another model: the card describes another one (retrain and promote)
    tfl = model / "model.int8.tflite"
    data = bytearray(tfl.read_bytes())
    data[-1] ^= 1
    tfl.write_bytes(bytes(data))
    rc, err = check()
    assert rc == 1 and "describes another model.int8.tflite" in err and "device figures measured on other models" in err


def test_the_generator_source_is_in_the_stamp(repo, monkeypatch):
    folder, env = repo
    import tinyml.card_stamp as stamp

    app = load_app("demo-app")
    before = read_stamp((folder / "model" / "README.md").read_text())
    assert before["generator"] == stamp.generator_sha256()
    monkeypatch.setattr(stamp, "generator_sha256", lambda: "0" * 16)
    assert any("rendered from another generator" in p for p in card_problems(app))


def test_an_apps_appendix_is_rendered_with_the_card_and_its_source_in_the_stamp(repo, request):
    """model_card_appendix: sections made at rendering from other committed files (a real-data measurement
    taken apart from the evaluation). Its text is in the README and in the stamp: when the file it reads
    changes, the card is stale until `tinyml card` re-renders it."""
    folder, env = repo
    pipeline = folder / "pipeline.py"
    pipeline.write_text(pipeline.read_text() + '''

def model_card_appendix(app, folder, out_dir=None):
    from pathlib import Path

    note = Path(folder) / "measured_apart.txt"
    return "## Measured apart\\n\\n" + (note.read_text() if note.is_file() else "nothing yet") + "\\n"


model_card_appendix.reads = ("measured_apart.txt", "plot_data.json")
''')
    # another test here may have imported the pipeline without the hook; after this test, that one comes back
    name = "tinyml_apps.demo_app.pipeline"
    before = sys.modules.pop(name, None)
    request.addfinalizer(lambda: sys.modules.pop(name, None) if before is None else sys.modules.update({name: before}))
    (folder / "model" / "measured_apart.txt").write_text("first figure 0.5")
    assert run_cli("card", "demo-app", env=env).returncode == 0
    app = load_app("demo-app")
    text = (folder / "model" / "README.md").read_text()
    assert "## Measured apart\n\nfirst figure 0.5\n" in text and "appendix" in read_stamp(text)
    assert card_problems(app) == []
    (folder / "model" / "measured_apart.txt").write_text("second figure 0.7")
    stale = card_problems(load_app("demo-app"))
    assert any("rendered from another appendix" in p for p in stale), stale
    assert run_cli("card", "demo-app", env=env).returncode == 0
    assert "second figure 0.7" in (folder / "model" / "README.md").read_text()
    assert card_problems(load_app("demo-app")) == []
    # a file the hook reads but whose numbers its text does not show (a plot's): stale all the same
    (folder / "model" / "plot_data.json").write_text("[1, 2, 3]")
    stale = card_problems(load_app("demo-app"))
    assert any("rendered from another appendix" in p for p in stale), stale


def test_glossary_uses_the_apps_words_and_flags_a_metric_nobody_defined(repo):
    from tinyml.manifest import load_manifest

    folder, _ = repo
    toml = folder / "app.toml"
    m = load_manifest(toml)
    assert "0.6 s before to 1 s after" in define(m, "sensitivity")  # the app's own detection window
    for name in ("qrs_sensitivity", "hr_mae_bpm", "v_ppv", "n_af_episodes", "af_false_alarms_per_hour", "anomaly_auc"):
        assert define(m, name), name
    card = json.loads((folder / "model" / "card.json").read_text())
    card["app_metrics"] = ["wobble_index"]
    card["metrics"]["int8"]["wobble_index"] = 0.3
    assert undefined(m, card) == ["wobble_index"]
    toml.write_text(toml.read_text() + '\n[card]\nglossary = { wobble_index = "how much the housing wobbles", '
                    'specificity = "quiet clips that raise nothing" }\n')
    m = load_manifest(toml)
    assert undefined(m, card) == []
    assert define(m, "specificity").startswith("quiet clips that raise nothing (the share of held-out event-free")
    toml.write_text(toml.read_text().replace('"how much the housing wobbles"', "3"))
    with pytest.raises(Exception, match=r"card.glossary.wobble_index"):
        load_manifest(toml)


def test_a_card_from_before_the_postprocess_hash_says_it_assumed_todays(repo):
    folder, env = repo
    card_path = folder / "model" / "card.json"
    card = json.loads(card_path.read_text())
    del card["postprocess_sha256"]
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    assert run_cli("card", "demo-app", env=env).returncode == 0
    card = json.loads(card_path.read_text())
    assert card["postprocess_assumed"] is True and card_problems(load_app("demo-app")) == []
    assert "before cards recorded the `[postprocess]`" in (folder / "model" / "README.md").read_text()


def test_window_intervals_are_rendered_where_the_window_figures_are():
    """The per-class F1, the per-cohort figures and the headline line carry their cluster-bootstrap
    intervals; a card measured before them renders as it did."""
    from tinyml.report import _intervals_line, _per_class_text, _windows_by_cohort_text

    q = {"accuracy": 0.9, "balanced_accuracy": 0.85, "macro_f1": 0.8, "windows": 100, "window_groups": 12,
         "window_groups_by": "recordings", "accuracy_ci": [0.85, 0.94], "balanced_accuracy_ci": [0.78, 0.9],
         "macro_f1_ci": [0.7, 0.88], "confusion": [[60, 10], [0, 30]], "f1_ci": [[0.8, 0.95], [0.7, 0.9]],
         "interval_level": 0.95}
    line = _intervals_line(q)
    assert "macro-F1 0.800 [0.700, 0.880]; accuracy 0.900 [0.850, 0.940]" in line
    assert "over the 12 held-out recordings their 100 windows" in line and "other metrics" not in line
    table = _per_class_text(["a", "b"], {"int8": q}, "held-out windows")
    assert "| a | 70 | 0.857 | 1.000 | 0.923 [0.800, 0.950] |" in table
    by = {"c1": {k: v for k, v in q.items() if k != "confusion"}}
    assert "| c1 | 100 | 12 | 0.9000 [0.8500, 0.9400] | 0.8500 [0.7800, 0.9000] | 0.8000 [0.7000, 0.8800] |" in (
        _windows_by_cohort_text({"windows_by_cohort": by}))
    old = {"windows_by_cohort": {"c1": {"windows": 100, "accuracy": 0.9, "balanced_accuracy": 0.85}}}
    assert "| c1 | 100 | 0.9000 | 0.8500 |" in _windows_by_cohort_text(old)
    assert "[" not in _per_class_text(["a", "b"], {"int8": {"confusion": q["confusion"]}}, "held-out windows")


def test_the_training_plot_shows_the_metric_the_fit_logged_under_its_name():
    """A multilabel model logs binary_accuracy and minimises binary cross-entropy: its plot shows those (it
    showed an empty "mae" panel); a classifier's and a regression's plots name their loss and metric."""
    from tinyml.report import history_panels

    ml = {"loss": [0.5, 0.4], "val_loss": [0.6, 0.5], "binary_accuracy": [0.8, 0.9], "val_binary_accuracy": [0.7, 0.8]}
    (loss, keys), (metric, mkeys) = history_panels(ml, "multilabel")
    assert loss == "loss: binary cross-entropy per label (logits)" and keys == ["loss", "val_loss"]
    assert mkeys == ["binary_accuracy", "val_binary_accuracy"] and "per-label accuracy" in metric
    cls = {"loss": [1.0], "val_loss": [1.1], "accuracy": [0.5], "val_accuracy": [0.4]}
    assert history_panels(cls, "classes") == [("loss: cross-entropy", ["loss", "val_loss"]),
                                              ("accuracy", ["accuracy", "val_accuracy"])]
    reg = {"loss": [1.0], "mae": [0.5]}  # no validation split
    assert history_panels(reg, "regression", "huber") == [("loss: huber", ["loss"]), ("mean absolute error", ["mae"])]
    assert history_panels({"loss": [1.0]}) == [("loss", ["loss"])]


def test_a_source_kind_that_begins_with_real_recordings_is_not_said_twice():
    from tinyml.report import _data_text
    m = load_app("fall-detect").manifest
    source = {"name": "speech-commands", "real": True, "kind": "real recordings: clips of volunteers' voices"}
    text = _data_text(m, {"sources": [source]})
    assert "(real recordings: clips of volunteers' voices;" in text
    assert "real recordings: real recordings" not in text


def test_a_headline_measured_on_other_cohorts_than_at_training_is_said():
    from tinyml.report import _evaluated_on_text
    card = {"int8_remeasured": True, "metrics": {
        "float": {"measured_on": {"trials": ["mobifall", "sisfall/adult"], "streams": ["synthetic-falls"]}},
        "int8": {"measured_on": {"trials": ["sisfall/adult"], "streams": ["synthetic-falls"]}}}}
    text = _evaluated_on_text(card)
    assert "cohorts changed since training" in text and "`mobifall`" in text
    card["metrics"]["float"] = card["metrics"]["int8"]
    assert "cohorts changed" not in _evaluated_on_text(card)


def test_the_reproduce_line_keeps_the_models_the_run_kept():
    from tinyml.report import _train_command
    assert _train_command("soil", {}) == "make app=soil train"
    assert _train_command("soil", {"kept_committed": ["forecast"]}) == "tinyml train soil --keep forecast"
