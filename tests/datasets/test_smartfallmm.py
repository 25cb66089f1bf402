"""SmartFallMM loader against a fixture written in exactly the distributed layout."""

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
    fx = load_module(datasets_dir() / "smartfallmm" / "fixture.py", "tinyml_datasets.smartfallmm_fixture")
    return tmp_path, fx.write_fixture(tmp_path, seed=0)


def _load(root, m, **options):
    return dataset_module("smartfallmm").load(root, rate=m.rate, channels=m.channels, manifest=m, **options)


def test_fixture_is_in_the_real_layout(tree):
    root, _ = tree
    hip = (root / "young" / "accelerometer" / "meta_hip" / "S28A11T01.csv").read_text().splitlines()
    assert hip[0][0].isdigit() and len(hip[0].split(",")) == 6 and "T15:17:07" in hip[0].split(",")[1]
    old = (root / "old" / "accelerometer" / "meta_hip" / "S01A08T01.csv").read_text().splitlines()
    assert old[0].startswith("epoch (ms),")  # some MetaMotion files carry their heading
    phone = (root / "young" / "accelerometer" / "phone" / "S28A11T01.csv").read_text().splitlines()
    assert phone[0].startswith("2022-07-20 15:17:07") and len(phone[0].split(",")) == 4


def test_hip_and_pocket_trials_are_read_by_default_with_subject_group_label_and_fall_time(tree, manifest):
    root, written = tree
    ds = dataset_module("smartfallmm")
    recs = _load(root, manifest)
    assert {ds.position(r) for r in recs} == {"hip (MetaMotion sensor)", "front trouser pocket (phone)"}
    assert len(recs) == sum("meta_hip/" in k or "phone/" in k for k in written)
    for r in recs:
        rel = r.source.split(str(root) + "/", 1)[1]
        w = written[rel]
        group, _, sensor, name = rel.split("/")
        assert r.subject == f"smartfallmm-{group}-S{int(name[1:3]):02d}" and r.cohort == group
        assert r.activity == name[3:6] and abs(r.rate - 50) < 1.5
        assert np.allclose(r.signal[0], w["g"][0], atol=0.03)  # headerless picks and m/s^2 both read as g
        if w["impact"] is None:
            assert r.label == "adl" and not r.events
        else:
            assert r.label == "fall" and abs(r.events[0][0] - w["impact"] / 50) < 0.05


def test_the_wrist_sensors_only_on_request_and_an_unknown_sensor_is_one_line(tree, manifest):
    root, written = tree
    recs = _load(root, manifest, sensors=["meta_wrist", "watch"])
    assert len(recs) == sum("wrist/" in k or "watch/" in k for k in written)
    with pytest.raises(TinymlError, match="unknown sensor 'hip'; choose from meta_hip"):
        _load(root, manifest, sensors=["hip"])


def test_a_folder_without_trials_is_one_line(tmp_path, manifest):
    with pytest.raises(TinymlError, match="no SmartFallMM accelerometer trials found"):
        _load(tmp_path, manifest)


def test_a_file_a_whole_window_once_resampled_is_read_as_predict_reads_it(tree, manifest):
    """A phone file of 3.99 s at its own rate (199.5 samples at 50 Hz) resamples to one whole window: predict
    scores it, so the loader keeps it (the window is counted at the device rate, as predict counts it)."""
    from datetime import datetime, timedelta

    from tinyml.predict import predict_file

    root, _ = tree
    f = root / "old" / "accelerometer" / "phone" / "S02A09T02.csv"
    start = datetime(2023, 4, 29, 12, 18, 5)
    rate = 40.1
    f.write_text("".join(f"{(start + timedelta(seconds=i / rate)).strftime('%Y-%m-%d %H:%M:%S.%f')},"
                         f"{9.7 + 0.1 * np.sin(i / 5):.4f},1.5,0.3\n" for i in range(160)))  # 160 samples: 3.99 s
    assert predict_file(APP_FALL, f, channel=["ax=2", "ay=3", "az=4"])  # predict scores it
    recs = _load(root, manifest)
    assert str(f) in {r.source for r in recs}


APP_FALL = load_app("fall-detect")


def test_a_headless_file_is_read_by_predict_s_own_rule_for_its_columns(tree, manifest):
    """The loader takes a file's columns as predict does (the core reader's rule), not from the sensor's usual
    layout: a MetaMotion export without its elapsed column (epoch, date-time, x, y, z) is read, as predict reads
    it, where the usual column numbers (az=6) name no column."""
    from tinyml.predict import read_input_parts

    root, written = tree
    rel = "young/accelerometer/meta_hip/S28A11T01.csv"
    f = root / rel
    f.write_text("".join(",".join(c for j, c in enumerate(ln.split(",")) if j != 2) + "\n"
                         for ln in f.read_text().splitlines()))
    [(read, _)] = read_input_parts(APP_FALL, f)  # predict reads x, y, z with no --channel
    [rec] = [r for r in _load(root, manifest) if r.source == str(f)]
    assert np.array_equal(rec.signal, read.signal) and rec.rate == read.rate
    assert np.allclose(rec.signal[0], written[rel]["g"][0], atol=0.03)
