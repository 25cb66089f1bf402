"""Manifest loading: every app's manifest is valid; errors name the file, the key and what is allowed."""

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
        (lambda s: s + "\n[[broken", r"not valid TOML"),
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


def test_id_must_match_folder(tmp_path):
    p = _write(tmp_path, GOOD, folder="other-name")
    with pytest.raises(TinymlError, match=r"must equal the folder name 'other-name'"):
        load_manifest(p, expected_id="other-name")


def test_missing_manifest(tmp_path):
    with pytest.raises(TinymlError, match="manifest not found"):
        load_manifest(tmp_path / "nope" / "app.toml")


def test_values_and_beat_labels_are_read_in_order(tmp_path):
    text = GOOD.replace("event_labels =", 'values = ["hr_bpm", "sqi"]\nbeat_labels = ["N", "S", "V", "Q"]\nevent_labels =')
    m = load_manifest(_write(tmp_path, text))
    assert m.values == ["hr_bpm", "sqi"] and m.beat_labels == ["N", "S", "V", "Q"]
    assert m.event_names == m.labels
    m = load_manifest(_write(tmp_path, text.replace("event_labels =", 'extra_events = ["brady"]\nevent_labels =')))
    assert m.event_names == [*m.labels, "brady"]
    m = load_manifest(_write(tmp_path, GOOD))
    assert m.values == [] and m.beat_labels == []
