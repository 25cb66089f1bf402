"""Manifest loading: every app's manifest is valid; errors name the file, the key and what is allowed."""

import numpy as np
import pytest

from tinyml.apps import load_app
from tinyml.errors import TinymlError
from tinyml.manifest import load_manifest

from apptest import ROOT

GOOD = (ROOT / "apps" / "_template" / "app.toml").read_text()


def _write(tmp_path, text, folder="_template"):
    d = tmp_path / folder
    d.mkdir(exist_ok=True)
    p = d / "app.toml"
    p.write_text(text)
    return p


def test_every_app_manifest_is_valid(app_id):
    m = load_app(app_id).manifest
    assert m.id == app_id
    assert len(m.feature_hash()) == 16


def test_template_manifest_is_valid(tmp_path):
    assert load_manifest(_write(tmp_path, GOOD)).id == "template-app"


@pytest.mark.parametrize(
    "edit, expect",
    [
        (lambda s: s.replace('task = "classify"', 'task = "dance"'), r"\[app.task\].*allowed: classify"),
        (lambda s: s.replace("[signal]", "[signal]\nbogus = 1"), r"\[signal.bogus\] unknown key; allowed"),
        (lambda s: s.replace("rate = ", "rate = -"), r"\[signal.rate\] must be > 0"),
        (lambda s: s.replace("window = ", 'window = "x" #'), r"\[features.window\] must be int"),
        (lambda s: s + "\n[extra]\n", r"\[extra\] unknown section"),
        (lambda s: s.replace('split = "subject"', 'split = "random"'), r"\[dataset.split\].*allowed: subject"),
        (lambda s: s.replace("patience = ", 'class_weight = "inverse"\npatience = '), r"\[model.class_weight\].*allowed: balanced"),
        (lambda s: s.replace("patience = ", "logit_adjust_tau = -1\npatience = "), r"\[model.logit_adjust_tau\] must be >= 0"),
        (lambda s: s.replace("calibration_samples = ", 'calibration = "stratified"\ncalibration_samples = '),
         r"\[quantize.calibration\] 'stratified' not allowed; allowed: random, per_class"),
        (lambda s: s + "\n[[broken", r"not valid TOML"),
        # [signal] input keys (optional channels, units, plausible ranges, time gaps)
        (lambda s: s.replace('channels = ["vib"]', 'channels = ["vib"]\noptional_channels = ["vib"]'),
         r"\[signal.optional_channels\] must be a list of distinct channel names, none of them in channels"),
        (lambda s: s.replace("plausible_range = [-16.0, 16.0]", "plausible_range = [16.0, -16.0]"),
         r"\[signal.plausible_range\] must be \[lo, hi\] numbers with lo < hi"),
        (lambda s: s.replace("plausible_range = [-16.0, 16.0]", "plausible_range = { vob = [0, 1] }"),
         r"\[signal.plausible_range.vob\] is not a channel; channels: vib"),
        (lambda s: s.replace('units = "g"', 'units = { x = "g" }'),
         r"\[signal.units\] a table must give one unit \(a string\) for each channel: vib"),
        (lambda s: s.replace('units = "g"', 'units = "g"\ncounts_per_unit = 0'),
         r"\[signal.counts_per_unit\] must be a number > 0 \(raw counts per g\)"),
        (lambda s: s.replace("max_gap_s = 0.1", "max_gap_s = -1"), r"\[signal.max_gap_s\] must be > 0 seconds"),
        (lambda s: s.replace('units = "g"', 'units = "g"\ntypical_magnitude = [-1, 2]'),
         r"\[signal.typical_magnitude\] must be \[lo, hi\] numbers with lo < hi, lo >= 0"),
        (lambda s: s.replace("event_labels =", 'values = ["HR bpm"]\nevent_labels ='), r"\[app.values\] must be .*snake_case"),
        (lambda s: s.replace("event_labels =", 'values = ["hr_bpm", "hr_bpm"]\nevent_labels ='), r"\[app.values\] must be .*distinct"),
        (lambda s: s.replace("event_labels =", 'beat_labels = ["N", "N"]\nevent_labels ='), r"\[app.beat_labels\] must be .*distinct"),
        (lambda s: s.replace("event_labels =", 'beat_labels = "NSVQ"\nevent_labels ='), r"\[app.beat_labels\] must be list"),
        (lambda s: s.replace("event_labels =", 'extra_events = ["burst"]\nevent_labels ='), r"\[app.extra_events\] .*none of them a label"),
    ],
)
def test_errors_name_file_key_and_allowed(tmp_path, edit, expect):
    p = _write(tmp_path, edit(GOOD))
    with pytest.raises(TinymlError, match=expect) as e:
        load_manifest(p)
    assert str(p) in str(e.value)
    assert "\n" not in str(e.value)


def test_optional_channels_enter_the_feature_hash_only_when_declared(tmp_path):
    plain = load_manifest(_write(tmp_path, GOOD)).feature_hash()
    assert load_manifest(_write(tmp_path, GOOD)).feature_hash() == plain
    more = GOOD.replace('channels = ["vib"]', 'channels = ["vib"]\noptional_channels = ["temp"]')
    assert load_manifest(_write(tmp_path, more)).feature_hash() != plain


def test_id_must_match_folder(tmp_path):
    p = _write(tmp_path, GOOD, folder="other-name")
    with pytest.raises(TinymlError, match=r"must equal the folder name 'other-name'"):
        load_manifest(p, expected_id="other-name")


def test_missing_manifest(tmp_path):
    with pytest.raises(TinymlError, match="manifest not found"):
        load_manifest(tmp_path / "nope" / "app.toml")


FURTHER = """
[models.recon]
builder = "build_autoencoder"
examples = "recon_examples"
output = "regression"
params = { hidden = 4 }
"""


def test_further_models_are_read_and_checked(tmp_path):
    m = load_manifest(_write(tmp_path, GOOD + FURTHER + "\n[acceptance.recon]\nmax_mae = 0.1\n"))
    spec = m.models["recon"]
    assert spec["examples"] == "recon_examples" and spec["loss"] == "mse" and spec["epochs"] == 30
    assert spec["params"] == {"hidden": 4} and m.acceptance["recon"] == {"max_mae": 0.1}
    assert load_manifest(_write(tmp_path, GOOD)).models == {}
    m = load_manifest(_write(tmp_path, GOOD + FURTHER), overrides=["models.recon.builder=other"])
    assert m.models["recon"]["builder"] == "other"


@pytest.mark.parametrize(
    "edit, expect",
    [
        (lambda s: s.replace('examples = "recon_examples"\n', ""), r"\[models.recon.examples\] is required"),
        (lambda s: s.replace('output = "regression"', 'output = "ranking"'), r"\[models.recon.output\].*allowed: classes"),
        (lambda s: s.replace('output = "regression"', 'output = "classes"'), r"\[models.recon.labels\] a classifier needs"),
        (lambda s: s.replace('output = "regression"', 'output = "regression"\nlabels = ["a", "b"]'),
         r"\[models.recon.labels\] only a classifier"),
        (lambda s: s.replace('output = "regression"', 'output = "regression"\nloss = "crossentropy"'),
         r"\[models.recon.loss\].*allowed: mse, mae, huber"),
        (lambda s: s.replace("[models.recon]", "[models.model]"), r"\[models.model\] model name"),
        (lambda s: s.replace("[models.recon]", "[models.Recon]"), r"\[models.Recon\] model name"),
        (lambda s: s.replace("params = { hidden", "bogus = 1\nparams = { hidden"), r"\[models.recon.bogus\] unknown key"),
        (lambda s: s.replace("params = { hidden", "logit_adjust_tau = 1.0\nparams = { hidden"),
         r"\[models.recon.logit_adjust_tau\] must be >= 0, and 0 unless output = \"classes\""),
        (lambda s: s + "\n[acceptance.beat]\nmacro_f1 = 0.9\n", r"\[acceptance.beat\] a table here must be named"),
        (lambda s: s + "\n[acceptance.recon]\nmax_mae = \"low\"\n", r"\[acceptance.recon.max_mae\] must be a number"),
    ],
)
def test_further_model_errors_name_the_key(tmp_path, edit, expect):
    with pytest.raises(TinymlError, match=expect):
        load_manifest(_write(tmp_path, edit(GOOD + FURTHER)))


def test_values_and_beat_labels_are_read_in_order(tmp_path):
    text = GOOD.replace("event_labels =", 'values = ["hr_bpm", "sqi"]\nbeat_labels = ["N", "S", "V", "Q"]\nevent_labels =')
    m = load_manifest(_write(tmp_path, text))
    assert m.values == ["hr_bpm", "sqi"] and m.beat_labels == ["N", "S", "V", "Q"]
    assert m.event_names == m.labels
    m = load_manifest(_write(tmp_path, text.replace("event_labels =", 'extra_events = ["brady"]\nevent_labels =')))
    assert m.event_names == [*m.labels, "brady"]
    m = load_manifest(_write(tmp_path, GOOD))
    assert m.values == [] and m.beat_labels == []


def test_model_output_multilabel_is_read_and_checked(tmp_path):
    """[model] output: "classes" by default, "multilabel" (a sigmoid per label, logits as scores) allowed;
    the primary model scores labels, so "regression" is refused, and logit adjustment is a softmax's only.
    A further model is "classes" or "regression"."""
    assert load_manifest(_write(tmp_path, GOOD)).model["output"] == "classes"
    multi = GOOD.replace("[model]\n", '[model]\noutput = "multilabel"\n', 1)
    assert load_manifest(_write(tmp_path, multi)).model["output"] == "multilabel"
    with pytest.raises(TinymlError, match=r"\[model.output\] 'regression' not allowed; allowed: classes, multilabel"):
        load_manifest(_write(tmp_path, GOOD.replace("[model]\n", '[model]\noutput = "regression"\n', 1)))
    with pytest.raises(TinymlError, match=r"\[model.logit_adjust_tau\] .*0 unless output = \"classes\""):
        load_manifest(_write(tmp_path, multi.replace("[model]\n", "[model]\nlogit_adjust_tau = 1.0\n", 1)))
    further = GOOD + FURTHER.replace('output = "regression"', 'output = "multilabel"\nlabels = ["a", "b"]')
    with pytest.raises(TinymlError, match=r"\[models.recon.output\] 'multilabel' not allowed; allowed: classes, regression"):
        load_manifest(_write(tmp_path, further))  # the primary model's only, for now


def test_calibration_per_class_draws_equal_shares_of_each_label(tmp_path):
    """[quantize] calibration = "per_class": n // classes examples of each label (all of a rarer one), so a
    class of a few windows is in the set that fixes the int8 ranges; random (the default) may miss it."""
    from tinyml.quant import calibration_set

    y = np.r_[np.zeros(990, int), np.ones(10, int)]
    x = np.arange(len(y))
    assert load_manifest(_write(tmp_path, GOOD)).quantize["calibration"] == "random"
    per = calibration_set(x, 40, 0, y)
    assert len(per) == 30 and (y[per] == 1).sum() == 10 and (y[per] == 0).sum() == 20  # 20 of each; label 1 has 10
    assert len(np.unique(per)) == len(per) and np.all(np.diff(per) > 0)
    rnd = calibration_set(x, 40, 0)
    assert len(rnd) == 40 and (y[rnd] == 1).sum() < 10


def test_logit_adjust_labels_are_two_or_more_of_the_models_labels_with_a_tau(tmp_path):
    with_tau = GOOD.replace("[model]\n", "[model]\nlogit_adjust_tau = 1.0\n", 1)
    m = load_manifest(_write(tmp_path, with_tau.replace("[model]\n", '[model]\nlogit_adjust_labels = ["idle", "burst"]\n', 1)))
    assert m.model["logit_adjust_labels"] == ["idle", "burst"]
    assert load_manifest(_write(tmp_path, GOOD)).model["logit_adjust_labels"] == []  # every label
    for among, expect in ((r'["idle"]', "two or more distinct labels"), (r'["idle", "nope"]', "not labels: nope"),
                          (r'["idle", "idle"]', "two or more distinct labels")):
        with pytest.raises(TinymlError, match=r"\[model.logit_adjust_labels\] .*" + expect):
            load_manifest(_write(tmp_path, with_tau.replace("[model]\n", f"[model]\nlogit_adjust_labels = {among}\n", 1)))
    with pytest.raises(TinymlError, match=r"\[model.logit_adjust_labels\] needs logit_adjust_tau > 0"):
        load_manifest(_write(tmp_path, GOOD.replace("[model]\n", '[model]\nlogit_adjust_labels = ["idle", "burst"]\n', 1)))
