"""`tinyml eval` re-evaluates the committed model and fails (exit 2, one line) when a floor is missed."""

from __future__ import annotations

from pathlib import Path

import pytest

from apptest import run_cli, template_repo


def _template_repo(tmp_path, floors: dict):
    root = template_repo(tmp_path, "demo-app")
    toml = root / "apps" / "demo-app" / "app.toml"
    text = toml.read_text().replace('id = "template-app"', 'id = "demo-app"')
    for key, value in floors.items():
        text = text.replace(f"\n{key} = ", f"\n{key} = {value}  # was ")
    toml.write_text(text)
    return {"TINYML_ROOT": str(root), "TINYML_CACHE": str(tmp_path / "cache")}


def test_eval_passes_on_met_floors(tmp_path):
    res = run_cli("eval", "demo-app", env=_template_repo(tmp_path, {}))
    assert res.returncode == 0, res.stderr
    assert "acceptance floors met" in res.stderr


def test_eval_fails_on_missed_floor(tmp_path):
    res = run_cli("eval", "demo-app", env=_template_repo(tmp_path, {"sensitivity": 1.01, "max_model_bytes": 100}))
    assert res.returncode == 2, res.stderr
    line = res.stderr.strip().splitlines()[-1]
    assert line.startswith("error: demo-app misses its acceptance floors")
    assert "sensitivity" in line and "model_bytes" in line


def test_class_weights_modes():
    import numpy as np
    import pytest

    from tinyml.fit import class_weights

    y = np.array([0] * 90 + [1] * 10)
    b = class_weights(y, 2, "balanced")
    assert b[0] * 90 == pytest.approx(b[1] * 10)  # each class weighs the same in total
    s = class_weights(y, 2, "sqrt")
    assert s[1] == pytest.approx(np.sqrt(b[1])) and s[0] == pytest.approx(np.sqrt(b[0]))
    assert class_weights(y, 2, "none") == {0: 1.0, 1: 1.0}


def _tiny(activation):
    def build(shape, n, **_):
        import keras

        inp = keras.Input(shape=shape, batch_size=1)
        return keras.Model(inp, keras.layers.Dense(n, activation=activation)(keras.layers.Flatten()(inp)))
    return build


def test_multilabel_fit_learns_logits_and_refuses_a_squashed_output():
    """[model] output = "multilabel": one-hot targets from class indices, weights per window as class_weight
    gives them, binary cross-entropy on the LOGITS (a linear last layer; a softmax or sigmoid one is refused)."""
    import numpy as np
    import pytest

    from tinyml.errors import TinymlError
    from tinyml.fit import class_weights, fit_model, multilabel_targets, multilabel_weights, seed_everything

    y = np.array([0, 2, 1, 2])
    assert multilabel_targets(y, 3).tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 0], [0, 0, 1]]
    w = class_weights(y, 3, "balanced")
    assert multilabel_weights(y, 3, "balanced").tolist() == pytest.approx([w[0], w[2], w[1], w[2]])
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4, 1)).astype(np.float32)
    y = np.argmax(X[:, :3, 0], axis=1)  # the largest of the first three inputs names the class
    spec = {"params": {}, "epochs": 40, "smoke_epochs": 1, "learning_rate": 0.05, "lr_schedule": "constant",
            "batch_size": 32, "patience": 40, "class_weight": "none"}
    seed_everything(0)
    model, history = fit_model(_tiny(None), spec, X, y, X[:50], y[:50], n_outputs=3, output="multilabel",
                               smoke=False, where="t")
    logits = np.asarray(model(X[:50]))
    assert (logits.argmax(1) == y[:50]).mean() > 0.9 and logits.min() < -2  # raw logits, not squashed to [0, 1]
    assert history["loss"][-1] < history["loss"][0]
    for act in ("softmax", "sigmoid"):
        with pytest.raises(TinymlError, match=f"needs a builder that ends in a linear layer .* not {act}"):
            fit_model(_tiny(act), spec, X, y, X[:50], y[:50], n_outputs=3, output="multilabel", smoke=True, where="t")


@pytest.mark.parametrize("layer", ["Softmax", "ReLU"])
def test_multilabel_fit_refuses_a_squashing_layer_after_the_logits(layer):
    """A builder ending Dense(n) then a Softmax (or ReLU) layer, which has no `activation` of its own, does
    not end in logits either: refused like Dense(n, activation="softmax")."""
    import numpy as np

    from tinyml.errors import TinymlError
    from tinyml.fit import fit_model

    def build(shape, n, **_):
        import keras

        inp = keras.Input(shape=shape, batch_size=1)
        x = keras.layers.Dense(n)(keras.layers.Flatten()(inp))
        return keras.Model(inp, getattr(keras.layers, layer)()(x))

    X, y = np.zeros((8, 4, 1), np.float32), np.array([0, 1, 2, 0, 1, 2, 0, 1])
    spec = {"params": {}, "epochs": 1, "smoke_epochs": 1, "learning_rate": 0.01, "lr_schedule": "constant",
            "batch_size": 4, "patience": 1, "class_weight": "none"}
    with pytest.raises(TinymlError, match=f"needs a builder that ends in a linear layer .* not {layer.lower()}"):
        fit_model(build, spec, X, y, X, y, n_outputs=3, output="multilabel", smoke=True, where="t")


def test_train_reuse_float_requantizes_without_fitting(tmp_path):
    """`train --reuse-float` skips fitting: with no saved float model it is a one-line error; after a
    training it re-derives the int8 model and the card from the saved float model, metrics unchanged."""
    import json

    env = _template_repo(tmp_path, {})
    res = run_cli("train", "demo-app", "--smoke", "--reuse-float", "--out", str(tmp_path / "b"), env=env)
    assert res.returncode == 2 and res.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "no saved float model" in res.stderr
    res = run_cli("train", "demo-app", "--smoke", "--out", str(tmp_path / "a"), env=env)
    assert res.returncode == 0, res.stderr
    res = run_cli("train", "demo-app", "--smoke", "--reuse-float", "--out", str(tmp_path / "b"), env=env)
    assert res.returncode == 0, res.stderr
    a, b = (json.loads((tmp_path / d / "card.json").read_text()) for d in "ab")
    for m in (a, b):  # the flatbuffer's tensor names may differ by a suffix; the arithmetic may not
        m["metrics"]["int8"].pop("model_bytes")
    assert a["metrics"] == b["metrics"] and a["epochs_run"] == b["epochs_run"]
    assert "Epoch" not in res.stderr  # no fitting
    # features changed since the fit (same input shape): refused in one line, never a silent wrong model
    toml = Path(env["TINYML_ROOT"]) / "apps" / "demo-app" / "app.toml"
    toml.write_text(toml.read_text().replace("[features]\nversion = 1", "[features]\nversion = 2"))
    res = run_cli("train", "demo-app", "--smoke", "--reuse-float", "--out", str(tmp_path / "c"), env=env)
    assert res.returncode == 2 and res.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "other features" in res.stderr and "Traceback" not in res.stderr


def test_event_intervals_are_exact_and_cover_the_truth():
    """Clopper-Pearson and Poisson intervals: textbook values at the edges (no events, every event), and
    over simulated evaluations the 95 % intervals hold the true rate about 95 % of the time (never less)."""
    import numpy as np
    import pytest

    from tinyml.metrics import event_intervals, format_intervals

    ci = event_intervals({"sensitivity": 0.0, "event_trials": 10, "false_alarms_per_hour": 0.0,
                          "false_alarms": 0, "stream_hours": 2.0})
    assert ci["sensitivity"] == (0.0, pytest.approx(1 - 0.025 ** (1 / 10)))
    assert ci["false_alarms_per_hour"] == (0.0, pytest.approx(-np.log(0.025) / 2.0))
    assert event_intervals({"sensitivity": 1.0, "event_trials": 10})["sensitivity"] == (pytest.approx(0.025 ** 0.1), 1.0)
    # 3 alarms in 1.4667 h: chi-square quantiles 1.2373 (6 dof) and 17.5345 (8 dof), halved
    lo, hi = event_intervals({"false_alarms_per_hour": 3 / 1.4667, "stream_hours": 1.4667})["false_alarms_per_hour"]
    assert lo == pytest.approx(1.2373 / 2 / 1.4667, rel=1e-3) and hi == pytest.approx(17.5345 / 2 / 1.4667, rel=1e-3)

    rng = np.random.default_rng(0)
    p, n, rate, hours = 0.8, 300, 2.0, 1.5
    held = [0, 0]
    for _ in range(400):
        k, alarms = rng.binomial(n, p), rng.poisson(rate * hours)
        ci = event_intervals({"sensitivity": k / n, "event_trials": n, "false_alarms_per_hour": alarms / hours,
                              "false_alarms": int(alarms), "stream_hours": hours})
        held[0] += ci["sensitivity"][0] <= p <= ci["sensitivity"][1]
        held[1] += ci["false_alarms_per_hour"][0] <= rate <= ci["false_alarms_per_hour"][1]
    assert all(0.93 <= h / 400 <= 1.0 for h in held), held
    assert format_intervals({"accuracy": 0.9}) == ""
    assert "(3 in 1.47 h)" in format_intervals({"false_alarms_per_hour": 3 / 1.4667, "stream_hours": 1.4667})


def test_eval_card_rewrites_the_card_from_the_committed_model(tmp_path):
    """`eval --card` re-measures the committed int8 model and rewrites card.json and README.md: the same
    int8 metrics (the data and model are the same), float metrics and training curves kept, the new card
    text (intervals) in. A card of another model is refused in one line."""
    import json

    env = _template_repo(tmp_path, {})
    model = Path(env["TINYML_ROOT"]) / "apps" / "demo-app" / "model"
    before = json.loads((model / "card.json").read_text())
    (model / "README.md").write_text("stale\n")
    training_png = (model / "training.png").read_bytes()
    res = run_cli("eval", "demo-app", "--card", env=env)
    assert res.returncode == 0, res.stderr
    after = json.loads((model / "card.json").read_text())
    assert after["metrics"]["float"] == before["metrics"]["float"]
    q = after["metrics"]["int8"]
    for k in ("sensitivity", "accuracy", "balanced_accuracy", "macro_f1", "confusion", "false_alarms_per_hour"):
        assert q.get(k) == before["metrics"]["int8"].get(k), k
    for k in ("macro_f1", "accuracy", "balanced_accuracy"):  # window metrics: intervals over the recordings
        lo, hi = q[k + "_ci"]
        assert lo <= q[k] <= hi and hi - lo > 0, (k, lo, q[k], hi)
    assert 2 <= q["window_groups"] <= before["dataset"]["recordings"]["test"] and q["window_groups_by"] == "recordings"
    text = (model / "README.md").read_text()
    assert text.startswith("# Model card") and "intervals" in text
    lo, hi = q["macro_f1_ci"]
    assert f"macro-F1 {q['macro_f1']:.3f} [{lo:.3f}, {hi:.3f}]" in text  # shown where the window figures are
    assert f"cluster bootstrap over the {q['window_groups']} held-out recordings" in text
    assert (model / "training.png").read_bytes() == training_png
    assert "evaluated_on" not in after and "data changed since training" not in text  # the data it trained with
    assert "float" in before["metrics"] and not before.get("int8_remeasured")  # as training wrote it
    assert after["int8_remeasured"] and "| metric | float (at training) | int8 |" in text  # measured apart: said so
    assert "int8 re-measured after training" in text
    # data redrawn since training (e.g. a fixed generator): the card says which held-out data its int8 figures are on
    trained = dict(after, dataset=dict(after["dataset"], sha256="f" * 64))
    (model / "card.json").write_text(json.dumps(trained))
    res = run_cli("eval", "demo-app", "--card", env=env)
    assert res.returncode == 0, res.stderr
    after = json.loads((model / "card.json").read_text())
    e = after["evaluated_on"]
    assert len(e["sha256"]) == 64 and e["recordings"] == before["dataset"]["recordings"]["test"]
    assert "The data changed since training" in (model / "README.md").read_text()
    assert "| metric | float (on training's data) | int8 |" in (model / "README.md").read_text()
    (model / "card.json").write_text(json.dumps(dict(after, dataset=dict(after["dataset"], sha256=e["sha256"]))))
    res = run_cli("eval", "demo-app", "--card", env=env)  # the data it was trained with again: no such note
    after = json.loads((model / "card.json").read_text())
    assert res.returncode == 0 and "evaluated_on" not in after
    assert "The data changed since training" not in (model / "README.md").read_text()
    res = run_cli("eval", "demo-app", "--card", "--smoke", env=env)  # never a smoke evaluation in the card
    assert res.returncode == 2 and "drop --smoke" in res.stderr.strip().splitlines()[-1]
    after["model_sha256"] = "0" * 64
    (model / "card.json").write_text(json.dumps(after))
    res = run_cli("eval", "demo-app", "--card", env=env)
    assert res.returncode == 2 and res.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "describes another model" in res.stderr and "Traceback" not in res.stderr
