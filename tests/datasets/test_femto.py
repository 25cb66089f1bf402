"""The FEMTO / PRONOSTIA reader and loader against a fixture written in exactly the distributed layout (commas,
Bearing1_4's semicolons), and what the loader makes of a run: joined captures, the files' own clock (midnight,
a clock out of sequence), the cut Test_set copies, bad snapshots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tinyml.apps import load_module
from tinyml.errors import TinymlError
from tinyml.paths import datasets_dir
from tinyml.readers import femto, reader_for

CH = ["accel"]


def _mod(part):
    return load_module(datasets_dir() / "femto" / f"{part}.py", f"tinyml_datasets.femto_{part}_t")


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("femto")
    return root, _mod("fixture").write_fixture(root, seed=3)


def test_parse_both_separators(tree):
    root, written = tree
    for name in ("Learning_set/Bearing1_1/acc_00002.csv", "Full_Test_Set/Bearing2_4/acc_00001.csv"):
        clock, data = femto.parse(root / name)
        np.testing.assert_allclose(data, written[name]["data"], atol=1e-12)
        assert clock == pytest.approx(written[name]["clock"], abs=1e-5)
    assert ";" in (root / "Full_Test_Set/Bearing2_4/acc_00001.csv").read_text().splitlines()[0]


def test_reader_claims_snapshots_and_reads_an_axis(tree):
    """predict/run read one snapshot: the horizontal axis by default, --channel accel=vertical the other, the
    bearing folder's speed as the run's [machine]."""
    from tinyml.readers import ReadSpec
    from tinyml.recording import read_recording

    root, written = tree
    name = "Full_Test_Set/Bearing2_4/acc_00002.csv"
    f = root / name
    assert reader_for(f) is femto
    assert femto.claim(root / "Learning_set/Bearing1_1/temp_00001.csv", b"9,39,39,0.0,30.5\n") == 0
    r = read_recording(f, ReadSpec(channels=("accel",), units={"accel": "g"}))
    np.testing.assert_allclose(r.signal[:, 0], written[name]["data"][:, 0], atol=1e-6)
    assert r.rate == 25600 and r.deployment["machine"]["shaft_hz"] == pytest.approx(1650 / 60)
    v = read_recording(f, ReadSpec(channels=("accel",), picks={"accel": "vertical"}, units={"accel": "g"}))
    np.testing.assert_allclose(v.signal[:, 0], written[name]["data"][:, 1], atol=1e-6)
    with pytest.raises(TinymlError, match="no axis 'axial'"):
        read_recording(f, ReadSpec(channels=("accel",), picks={"accel": "axial"}, units={"accel": "g"}))


def test_loader_joins_snapshots_into_captures(tree, capsys):
    root, written = tree
    recs = _mod("dataset").load(root, rate=25600, channels=CH)
    assert "Test_set/Bearing2_4: left out" in capsys.readouterr().err
    assert [r.subject for r in recs] == ["femto-bearing1_1", "femto-bearing2_4"]
    b11, b24 = recs
    # 7 snapshots of 0.1 s, three to a 0.25 s capture: 2 captures (the 7th snapshot completes none)
    assert b11.signal.shape == (2 * 6400, 1) and b11.truth["snapshots_per_capture"] == 3
    h = [written[f"Learning_set/Bearing1_1/acc_{i:05d}.csv"]["data"][:, 0] for i in range(1, 7)]
    np.testing.assert_allclose(b11.signal[:6400, 0], np.concatenate(h[:3])[:6400], atol=1e-6)
    np.testing.assert_allclose(b11.signal[6400:, 0], np.concatenate(h[3:6])[:6400], atol=1e-6)
    # the run passes midnight after its third snapshot; times come from the files' clock
    assert b11.truth["capture_s"] == pytest.approx([0.0, 30.0], abs=1e-4)
    assert b11.truth["failure_s"] == pytest.approx(60.0, abs=1e-4)
    assert b11.cohort == "femto/condition1" and b11.label == "" and b11.activity == "history"
    assert b11.deployment["machine"]["shaft_hz"] == pytest.approx(30.0)
    assert b11.deployment["machine"]["bpfo"] == pytest.approx(13 / 2 * (1 - 3.5 / 25.6), rel=1e-6)
    assert b24.signal.shape == (6400, 1) and b24.truth["failure_s"] == pytest.approx(30.0, abs=1e-4)


def test_short_captures_cut_each_snapshot_and_a_cut_run_has_no_failure(tree):
    root, _ = tree
    ds = _mod("dataset")
    b11 = ds.load(root / "Learning_set", rate=25600, channels=CH, capture_s=0.05)[0]
    assert b11.signal.shape == (7 * 2 * 1280, 1) and b11.truth["snapshots_per_capture"] == 1
    assert b11.truth["capture_s"][:3] == pytest.approx([0.0, 0.05, 10.0], abs=1e-4)
    cut = ds.load(root / "Learning_set", rate=25600, channels=CH, max_snapshots=6)[0]
    assert "failure_s" not in cut.truth  # six of seven snapshots: the failure is not in the files
    only_cut = ds.load(root / "Test_set", rate=25600, channels=CH, capture_s=0.05)[0]
    assert "failure_s" not in only_cut.truth  # the challenge's cut copy alone: no failure either


def test_clock_out_of_sequence_is_placed_between_neighbours(capsys):
    t = _mod("dataset")._unwrapped([100.0 + 10 * k for k in range(6)] + [9000.0] + [170.0, 180.0, 190.0],
                                   Path("Bearing1_1"))
    assert t == pytest.approx([10.0 * k for k in range(10)])
    assert "1 snapshot clock(s) out of sequence" in capsys.readouterr().err
    # a clock more than 12 h off and back: no day is added to the rest of the run
    clock = [100.0 + 10 * k for k in range(100)]
    clock[50] += 13.5 * 3600
    assert _mod("dataset")._unwrapped(clock, Path("Bearing1_1")) == pytest.approx([10.0 * k for k in range(100)])


def test_bad_snapshots(tmp_path, tree):
    root, _ = tree
    run = tmp_path / "Learning_set" / "Bearing3_1"
    run.mkdir(parents=True)
    good = (root / "Learning_set/Bearing1_1/acc_00001.csv").read_text()
    for i in range(1, 4):
        (run / f"acc_{i:05d}.csv").write_text(good)
    lines = good.splitlines()
    (run / "acc_00004.csv").write_text("\n".join(lines[:5] + ["9,39,39,65664,0.552"] + lines[6:]) + "\n")
    (run / "acc_00005.csv").write_text("\n".join(lines[:2] + ["9,39,39,65664,nan,0.1"] + lines[3:]) + "\n")
    (run / "acc_00006.csv").write_text("\n".join(lines[:100]) + "\n")
    with pytest.raises(TinymlError, match="acc_00004.csv: line 6: expected 6 numbers"):
        femto.parse(run / "acc_00004.csv")
    with pytest.raises(TinymlError, match="acc_00005.csv: line 3: non-finite value"):
        femto.parse(run / "acc_00005.csv")
    word = tmp_path / "acc_00099.csv"  # a token that is no number: the same one line, naming it
    word.write_text("\n".join(lines[:7] + ["9,39,39,65664,abc,0.1"] + lines[8:]) + "\n")
    with pytest.raises(TinymlError, match="acc_00099.csv: line 8: expected 6 numbers"):
        femto.parse(word)
    ds = _mod("dataset")
    with pytest.raises(TinymlError, match="acc_00004.csv: line 6"):
        ds.load(tmp_path, rate=25600, channels=CH, on_error="raise")
    r = ds.load(tmp_path, rate=25600, channels=CH)[0]  # skipped with a notice: the three good ones make one capture
    assert r.signal.shape == (6400, 1) and r.deployment["machine"]["shaft_hz"] == pytest.approx(25.0)
    (tmp_path / "empty").mkdir()
    with pytest.raises(TinymlError, match="no FEMTO snapshots"):
        ds.load(tmp_path / "empty", rate=25600, channels=CH)
    with pytest.raises(TinymlError, match="not a folder"):
        ds.load(tmp_path / "missing", rate=25600, channels=CH)
