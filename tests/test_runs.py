"""Promotion checks: a run trained with --set is not the manifest's model, except for where the data live."""

from __future__ import annotations

import json

import pytest

from tinyml.apps import discover, load_app
from tinyml.errors import TinymlError
from tinyml.runs import check_run, design_overrides


def test_data_locations_are_not_design_overrides():
    assert design_overrides(["dataset.path=/data/x", "model.epochs=3"]) == ["model.epochs=3"]
    assert design_overrides(["dataset.path=/data/x"]) == [] and design_overrides(None) == []


@pytest.mark.parametrize("overrides, needle", [
    (["model.epochs=3", "dataset.path=/data/x"], "trained with --set model.epochs=3;"),
    (["dataset.path=/data/x"], "other features"),  # past the --set check: the next check speaks
])
def test_check_run_refuses_only_design_overrides(tmp_path, overrides, needle):
    app = load_app(discover()[0])
    (tmp_path / "card.json").write_text(json.dumps({"overrides": overrides, "feature_hash": "not-this-one"}))
    with pytest.raises(TinymlError, match=needle):
        check_run(app, tmp_path)


def test_check_run_refuses_a_logit_adjustment_the_manifest_does_not_declare(tmp_path):
    app = load_app(discover()[0])
    assert not app.manifest.model["logit_adjust_tau"]
    (tmp_path / "card.json").write_text(json.dumps({"overrides": [], "feature_hash": app.manifest.feature_hash(),
                                                    "logit_adjust": {"model": {"tau": 1.0, "train_counts": [3, 1]}}}))
    with pytest.raises(TinymlError, match=r"\[model\] logit adjustment tau 1, the manifest's logit_adjust_tau is 0"):
        check_run(app, tmp_path)


def test_check_run_refuses_a_logit_adjustment_among_other_labels(tmp_path):
    app = load_app(discover()[0])
    among = list(app.manifest.labels[:2])
    app.manifest.model.update(logit_adjust_tau=1.0, logit_adjust_labels=among)  # this test's copy of the manifest
    card = {"overrides": [], "feature_hash": app.manifest.feature_hash(),
            "logit_adjust": {"model": {"tau": 1.0, "train_counts": [3, 1]}}}  # adjusted over every label
    (tmp_path / "card.json").write_text(json.dumps(card))
    with pytest.raises(TinymlError, match=r"\[model\] logit adjustment among every label, the manifest's "
                                          r"logit_adjust_labels is \["):
        check_run(app, tmp_path)
    card["logit_adjust"]["model"]["labels"] = among
    (tmp_path / "card.json").write_text(json.dumps(card))
    with pytest.raises((TinymlError, KeyError)) as e:  # a later check's: this card lacks the rest of a run's
        check_run(app, tmp_path)
    assert "logit adjustment" not in str(e.value)


def test_a_reused_float_card_names_where_its_float_model_was_fitted(tmp_path):
    """`train --reuse-float` quantizes another run's float model, maybe on other data: the card says which run
    and which data (the text names both; without the record it says no more than 'the saved float model')."""
    import json

    from tinyml.report import _float_source_text
    from tinyml.train import _float_source

    src = tmp_path / "20260101-000000"
    src.mkdir()
    (src / "card.json").write_text(json.dumps({"dataset": {"sha256": "ab" * 32}}))
    record = _float_source(src)
    assert record == {"run": "20260101-000000", "data_sha256": "ab" * 32}
    text = _float_source_text({"reused_float": True, "float_from": record})
    assert "run `20260101-000000`" in text and "abababababababab" in text
    assert _float_source_text({"reused_float": True}) == "the saved float model"
    assert _float_source(tmp_path / "gone")["data_sha256"] is None


def test_train_keep_takes_the_committed_further_model_as_it_is_or_refuses_in_one_line(tmp_path):
    """`train --keep beat`: the committed beat.int8.tflite is the run's, byte for byte, with no float model (not
    fitted, not quantized again) and the committed card's curves; a name that is no further model, or one without
    a committed file, is refused before any data is read."""
    import pytest

    from tinyml.apps import load_app
    from tinyml.errors import TinymlError
    from tinyml.train import _committed_to_keep, train_app

    app = load_app("heart-rate-anomaly")
    kept = _committed_to_keep(app, ("beat",))
    assert kept["beat"].tflite == (app.model_dir / "beat.int8.tflite").read_bytes()
    assert kept["beat"].float_model is None and kept["beat"].history["loss"]
    with pytest.raises(TinymlError, match=r"--keep rhythm: not a further model of heart-rate-anomaly \(\[models.<name>\]: beat\)"):
        train_app(app, keep=("rhythm",))
    import shutil

    bare = tmp_path / app.id  # the app without its model folder: nothing committed to keep
    bare.mkdir()
    for f in ("app.toml", "pipeline.py"):
        shutil.copy2(app.dir / f, bare / f)
    with pytest.raises(TinymlError, match="--keep beat: .* is not there"):
        _committed_to_keep(type(app)(app.id, bare), ("beat",))


def test_promote_models_without_a_committed_card_is_one_line(tmp_path):
    """`promote RUN --models X` in an app with no committed card yet: a one-line refusal, not a crash."""
    from types import SimpleNamespace

    from tinyml.errors import TinymlError
    from tinyml.runs import promote_models

    app = SimpleNamespace(id="fresh", manifest=SimpleNamespace(models={"recon": {}}), model_dir=tmp_path / "model")
    with pytest.raises(TinymlError, match=r"--models: no committed model card in .*: promote the whole run first"):
        promote_models(app, tmp_path / "run", {}, ["recon"])
