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
