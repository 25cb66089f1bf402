"""MobiFall v2.0 loader against a fixture written in exactly the distributed layout."""

from __future__ import annotations

import numpy as np
import pytest

from tinyml.apps import load_app, load_module
from tinyml.data import dataset_module
from tinyml.errors import TinymlError
from tinyml.paths import datasets_dir


@pytest.fixture(scope="module")
def manifest():
    return load_app("fall-detect").manifest


@pytest.fixture()
def tree(tmp_path):
    fx = load_module(datasets_dir() / "mobifall" / "fixture.py", "tinyml_datasets.mobifall_fixture")
    return tmp_path, fx.write_fixture(tmp_path, seed=0)


def _load(root, m):
    return dataset_module("mobifall").load(root, rate=m.rate, channels=m.channels, manifest=m)


def test_fixture_is_in_the_real_layout(tree):
    root, written = tree
    f = root / "sub1" / "FALLS" / "FOL" / "FOL_acc_1_1.txt"
    lines = f.read_bytes().split(b"\r\n")
    assert lines[1] == b"#timestamp(ns),x,y,z(m/s^2)" and b"@DATA" in lines
    assert (root / "sub1" / "FALLS" / "FOL" / "FOL_gyro_1_1.txt").is_file()
    assert {p.name for p in (root / "sub2").iterdir()} == {"ADL", "FALLS"}


def test_every_accelerometer_trial_is_read_in_g_with_its_subject_label_and_fall_time(tree, manifest):
    root, written = tree
    recs = _load(root, manifest)
    assert len(recs) == len(written)  # the gyroscope files are left out
    by_file = {r.source: r for r in recs}
    for rel, w in written.items():
        r = by_file[str(root / rel)]
        code, _, subject, _ = rel.rsplit("/", 1)[1][:-4].split("_")
        assert r.subject == f"mobifall-{subject}" and r.activity == code and r.cohort == ""
        assert 80 < r.rate < 95  # the file's own steady rate: the core resamples it
        assert r.signal.shape[1] == 3
        # m/s^2 read as g: the first samples as written (upright, gravity on +y)
        assert np.allclose(r.signal[0], w["g"][0], atol=0.03)
        if w["impact"] is None:
            assert r.label == "adl" and r.events == []
        else:
            assert r.label == "fall" and r.events[0][1] == "fall"
            assert abs(r.events[0][0] - w["t_s"][w["impact"]]) < 0.05


def test_a_file_predict_would_not_score_whole_is_left_out_with_a_notice(tree, manifest, capsys):
    root, written = tree
    f = root / "sub3" / "FALLS" / "FOL" / "FOL_acc_3_1.txt"
    f.write_bytes(b"\r\n".join(f.read_bytes().split(b"\r\n")[:40]))  # under one window
    recs = _load(root, manifest)
    assert len(recs) == len(written) - 1 and str(f) not in {r.source for r in recs}
    err = capsys.readouterr().err
    assert "mobifall: 1 of 12 files left out" in err and "FOL_acc_3_1.txt" in err and len(err.splitlines()) == 1


def test_a_folder_without_trials_is_one_line(tmp_path, manifest):
    with pytest.raises(TinymlError, match="no MobiFall accelerometer trials found") as e:
        _load(tmp_path, manifest)
    assert "\n" not in str(e.value)
    with pytest.raises(TinymlError, match="not a folder"):
        _load(tmp_path / "nowhere", manifest)
