"""CWRU, Paderborn and IMS loaders against fixtures written in exactly the distributed layouts, and the
splits they allow (a record never on both sides)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tinyml.apps import load_module
from tinyml.data import assert_disjoint, split_recordings
from tinyml.errors import TinymlError
from tinyml.paths import datasets_dir
from tinyml.readers import cwru_mat, ims

CH = ["accel"]


def _mod(name, part):
    return load_module(datasets_dir() / name / f"{part}.py", f"tinyml_datasets.{name}_{part}_t")


@pytest.fixture(scope="module")
def cwru_tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("cwru")
    return root, _mod("cwru", "fixture").write_fixture(root, seed=0)


def test_cwru_fixture_is_the_real_layout(cwru_tree):
    from scipy.io import whosmat

    root, written = cwru_tree
    names = {n: (shape, cls) for n, shape, cls in whosmat(root / "Data/12k_DE/IR007_1.mat")}
    assert names["X106_DE_time"][0] == (6000, 1) and names["X106RPM"] == ((1, 1), "uint16")
    assert "X106_BA_time" in names
    assert {n for n, _, _ in whosmat(root / "Data/12k_DE/B028_2.mat")} == {"X050_DE_time", "X050_FE_time", "X050_BA_time"}
    assert (root / "Data/12k_DE/IR007_1.mat").read_bytes().startswith(b"MATLAB 5.0 MAT-file")


def test_cwru_parse_picks_channels_by_suffix_and_rate_by_path(cwru_tree):
    root, written = cwru_tree
    r = cwru_mat.parse(root / "Data/12k_DE/B028_2.mat")  # X050, not 3007: chosen by suffix
    assert set(r.channels) == {"DE", "FE", "BA"} and r.number == 50 and r.rpm is None and r.rate == 12000
    np.testing.assert_array_equal(r.channels["DE"], written["Data/12k_DE/B028_2.mat"]["DE"])
    assert cwru_mat.parse(root / "Data/Normal/Normal_0.mat").rate == 48000  # the baseline is 48 kHz
    assert cwru_mat.parse(root / "numbered/234.mat").rate == 12000  # by record number
    assert cwru_mat.parse(root / "data/0HP/normal_0_97.mat").rpm == 1796


def test_cwru_loader_labels_subjects_and_machine(cwru_tree):
    root, written = cwru_tree
    ds = _mod("cwru", "dataset")
    recs = ds.load(root, rate=25600, channels=CH)
    by = {r.source: r for r in recs}
    assert len(recs) == len(written)  # readme.txt ignored
    for rel, info in written.items():
        r = by[str(root / rel)]
        assert r.label == info["label"] and r.rate == info["rate"] and r.channels == ("accel",)
        assert r.subject == f"cwru-load{info['load']}"
        np.testing.assert_array_equal(r.signal[:, 0], info[info["end"]].astype(np.float32))  # the defect's own end
        m = r.deployment["machine"]
        rpm = info["rpm"] or ds.NOMINAL_RPM[info["load"]]
        assert m["shaft_hz"] == pytest.approx(rpm / 60)
        assert m["bpfo"] == pytest.approx(3.5848 if info["end"] == "DE" else 3.0530)
    fe = by[str(root / "Data/12k_FE/OR014@3_1.mat")]
    assert "FE" in fe.activity and fe.deployment["machine"]["bpfi"] == pytest.approx(4.9469)
    recs_b = ds.load(root, rate=25600, channels=CH, split_by="bearing")
    subj = {r.subject for r in recs_b}
    assert "cwru-DE-IR007" in subj and "cwru-FE-OR014@3" in subj and "cwru-DE-normal" in subj


def test_cwru_split_by_load_never_shares_a_record_or_a_load(cwru_tree):
    root, _ = cwru_tree
    recs = _mod("cwru", "dataset").load(root, rate=25600, channels=CH)
    train, val, test = split_recordings(recs, test_fraction=0.25, val_fraction=0.25, seed=3)
    assert_disjoint(train, val, test)
    loads = [{r.activity.split()[2] for r in s} for s in (train, val, test)]
    assert not (loads[0] & loads[2]) and not (loads[1] & loads[2]) and not (loads[0] & loads[1])
    srcs = [{r.source for r in s} for s in (train, val, test)]
    assert not (srcs[0] & srcs[2])
    with pytest.raises(AssertionError, match="leaks"):  # the check itself can fail
        assert_disjoint(train, train[:1])


def test_cwru_bad_files(tmp_path, cwru_tree):
    root, _ = cwru_tree
    bad = tmp_path / "12k_DE" / "IR007_0.mat"
    bad.parent.mkdir()
    bad.write_bytes((root / "Data/12k_DE/IR007_1.mat").read_bytes()[:300])  # truncated, like some mirrors
    with pytest.raises(TinymlError, match="IR007_0.mat: unreadable"):
        cwru_mat.parse(bad)
    (tmp_path / "12k_DE" / "OR007@6_0.mat").write_text("hello")
    with pytest.raises(TinymlError, match="not a MATLAB"):
        cwru_mat.parse(tmp_path / "12k_DE" / "OR007@6_0.mat")
    ds = _mod("cwru", "dataset")
    with pytest.raises(TinymlError, match="no readable CWRU"):
        ds.load(tmp_path, rate=25600, channels=CH)
    with pytest.raises(TinymlError, match="unreadable"):
        ds.load(tmp_path, rate=25600, channels=CH, on_error="raise")


@pytest.fixture(scope="module")
def ims_tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("ims")
    return root, _mod("ims", "fixture").write_fixture(root, seed=1)


def test_ims_parse_and_claim(ims_tree):
    root, written = ims_tree
    f = root / "1st_test" / "2003.10.22.12.06.24"
    x = ims.parse(f)
    np.testing.assert_allclose(x, written["1st_test/2003.10.22.12.06.24"], atol=1e-12)
    assert x.shape == (20480, 8)
    assert ims.claim(f, f.read_bytes()[:4096]) == 90
    assert ims.claim(root / "1st_test" / "readme.pdf", b"%PDF") == 0


def test_ims_loader_histories(ims_tree):
    root, written = ims_tree
    recs = _mod("ims", "dataset").load(root, rate=25600, channels=CH)
    t1 = [r for r in recs if "test1" in r.subject]
    other = [r for r in recs if "test1" not in r.subject]
    assert len(t1) == 8 and len(other) == 4
    assert {r.subject for r in t1} == {f"ims-test1-bearing{b}" for b in range(1, 5)}
    for r in recs:
        assert r.activity == "history" and r.rate == 25600 and r.signal.shape[0] % 6400 == 0
        assert r.deployment["machine"]["shaft_hz"] == pytest.approx(2000 / 60)
    # three snapshots of 1.024 s each, cut to whole 0.25 s captures: 4 captures each
    assert t1[0].signal.shape[0] == 3 * 4 * 6400
    # the first days of test 1 are healthy for every bearing, and no failure is claimed
    assert all(r.label == "normal" and not r.events for r in recs)


def test_ims_bad_snapshot(tmp_path):
    f = tmp_path / "2004.02.12.10.32.39"
    f.write_text("0.1\t0.2\t0.3\t0.4\n0.1\t0.2\tx\t0.4\n")
    with pytest.raises(TinymlError, match="line 2: expected 4 numbers"):
        ims.parse(f)
    f.write_text("0.1\t0.2\n")
    with pytest.raises(TinymlError, match="4 or 8"):
        ims.parse(f)


def test_paderborn_loader(tmp_path):
    written = _mod("paderborn", "fixture").write_fixture(tmp_path, seed=2)
    ds = _mod("paderborn", "dataset")
    recs = ds.load(tmp_path, rate=25600, channels=CH)
    assert {r.subject for r in recs} == {"paderborn-K001", "paderborn-KA01", "paderborn-KI04"}  # KB left out
    for r in recs:
        rel = next(k for k in written if r.source.endswith(k))
        assert r.label == written[rel]["label"] and r.rate == 64000
        np.testing.assert_array_equal(r.signal[:, 0], written[rel]["vibration"].astype(np.float32))
    ki = next(r for r in recs if "KI04" in r.subject)
    assert ki.deployment["machine"]["shaft_hz"] == pytest.approx(15.0)  # N09: 900 rpm
    assert ki.deployment["machine"]["bpfo"] == pytest.approx(3.05, abs=0.01)
    assert len(ds.load(tmp_path, rate=25600, channels=CH, combined=True)) == 4


def test_readers_for_predict(cwru_tree, ims_tree):
    """predict/run read a CWRU record (drive end by default; a fan-end fault record's own fan end, as the data set's
    loader does; --channel picks) and an IMS snapshot (ch1 by default)."""
    from tinyml.readers import ReadSpec, reader_for
    from tinyml.recording import read_recording

    root, written = cwru_tree
    f = root / "Data/12k_FE/OR014@3_1.mat"
    assert reader_for(f) is cwru_mat
    spec = ReadSpec(channels=("accel",), aliases={"accel": ("DE",)}, units={"accel": "g"})
    fe = read_recording(f, spec)  # a fan-end fault record (12k_FE): its own bearing's sensor, with a notice
    assert fe.rate == 12000 and fe.channels == ("accel",)
    np.testing.assert_array_equal(fe.signal[:, 0], written["Data/12k_FE/OR014@3_1.mat"]["FE"].astype(np.float32))
    assert fe.deployment["machine"]["shaft_hz"] == pytest.approx(1772 / 60)
    assert fe.deployment["machine"]["bpfo"] == pytest.approx(3.0530)  # the fan end's 6203
    r = read_recording(f, ReadSpec(channels=("accel",), picks={"accel": "DE"}, units={"accel": "g"}))
    np.testing.assert_array_equal(r.signal[:, 0], written["Data/12k_FE/OR014@3_1.mat"]["DE"].astype(np.float32))
    assert r.deployment["machine"]["bpfo"] == pytest.approx(3.5848)  # the drive end's 6205
    de_fault = next(k for k in written if k.startswith("Data/12k_DE/"))
    d = read_recording(root / de_fault, spec)  # a drive-end record: the drive end
    np.testing.assert_array_equal(d.signal[:, 0], written[de_fault]["DE"].astype(np.float32))
    assert cwru_mat.fan_end_from_path(Path("12k Fan End Bearing Fault Data/OR007@6_0.mat"))
    assert cwru_mat.fan_end_from_path(Path("data/12k_Fan_End_B007_0_282.mat"))
    assert not cwru_mat.fan_end_from_path(Path("Data/12k_DE/FEB007_0.mat"))
    assert not cwru_mat.fan_end_from_path(Path("data/0HP/12k_Drive_End_B007_0_118.mat"))
    assert not cwru_mat.fan_end_from_path(Path("/home/fe/cwru/IR007_0.mat"))  # a user's folder, not the data's
    assert cwru_mat.fan_end_from_path(Path("12k Fan End Bearing Fault Data/Inner Race/0.007/IR007_0.mat"))
    assert cwru_mat.describe(Path("x/278.mat"))[:2] == ("FE", "IR")  # the Data Center's number says fan end
    assert cwru_mat.describe(Path("12k_FE/Normal_0.mat"))[:2] == ("DE", "N")  # a healthy record has no faulty end
    with pytest.raises(TinymlError, match="no channel 'XX'"):
        read_recording(f, ReadSpec(channels=("accel",), picks={"accel": "XX"}))
    loose = root.parent / "loose.mat"
    loose.write_bytes((root / "Data/12k_DE/B028_2.mat").read_bytes())  # X050: rate unknown without a path
    with pytest.raises(TinymlError, match="give --rate 12000"):
        read_recording(loose, spec)
    assert read_recording(loose, ReadSpec(channels=("accel",), rate=12000.0)).rate == 12000

    iroot, iw = ims_tree
    snap = iroot / "1st_test" / "2003.10.22.12.09.13"
    r = read_recording(snap, spec)
    assert r.rate == 20000 and r.deployment["machine"]["shaft_hz"] == pytest.approx(2000 / 60)
    np.testing.assert_allclose(r.signal[:, 0], iw["1st_test/2003.10.22.12.09.13"][:, 0], atol=1e-6)
    r5 = read_recording(snap, ReadSpec(channels=("accel",), picks={"accel": "ch5"}))
    np.testing.assert_allclose(r5.signal[:, 0], iw["1st_test/2003.10.22.12.09.13"][:, 4], atol=1e-6)


def test_a_compressed_cwru_record_is_loaded_once(cwru_tree, tmp_path, monkeypatch):
    """A compressed file hides its variable names from the claim, so the generic .mat reader loads it and hands
    it to cwru_mat: with the variables it loaded (a whole decompression each time), not by loading it again."""
    import scipy.io
    from scipy.io import loadmat, savemat

    from tinyml.readers import ReadSpec, matlab, reader_for
    from tinyml.recording import read_recording

    root, written = cwru_tree
    src = root / "Data/12k_DE/IR007_1.mat"
    f = tmp_path / "12k_DE" / "IR007_1.mat"
    f.parent.mkdir()
    savemat(f, {k: v for k, v in loadmat(src).items() if not k.startswith("__")}, do_compression=True)
    assert reader_for(f) is matlab  # the names are compressed: cwru_mat cannot claim it from the head
    calls = []
    monkeypatch.setattr(scipy.io, "loadmat", lambda *a, **k: calls.append(a) or loadmat(*a, **k))
    r = read_recording(f, ReadSpec(channels=("accel",), aliases={"accel": ("DE",)}, units={"accel": "g"}))
    assert len(calls) == 1
    np.testing.assert_array_equal(r.signal[:, 0], written["Data/12k_DE/IR007_1.mat"]["DE"].astype(np.float32))
    assert r.rate == 12000 and r.deployment["machine"]["shaft_hz"] == pytest.approx(
        read_recording(src, ReadSpec(channels=("accel",), units={"accel": "g"})).deployment["machine"]["shaft_hz"])
