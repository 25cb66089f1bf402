"""The ECG loaders (MIT-BIH Arrhythmia, MIT-BIH AF, PhysioNet/CinC 2017) on fixtures written in exactly the
real layouts (wfdb.wrsamp / wrann, a MATLAB v4 .mat), the WFDB and .mat readers, and the inter-patient split."""

from __future__ import annotations

import numpy as np
import pytest

from tinyml.apps import load_module
from tinyml.data import dataset_module, split_recordings
from tinyml.errors import TinymlError
from tinyml.paths import datasets_dir
from tinyml.readers import mat as mat_reader
from tinyml.readers import wfdb as wfdb_reader

pytestmark = pytest.mark.xdist_group("ecg-datasets")


def _fixture(name):
    return load_module(datasets_dir() / name / "fixture.py", f"tinyml_datasets.{name.replace('-', '_')}_fixture")


@pytest.fixture(scope="module")
def mitdb(tmp_path_factory):
    root = tmp_path_factory.mktemp("mitdb")
    return root, _fixture("mitbih-arrhythmia").write_fixture(root)


@pytest.fixture(scope="module")
def afdb(tmp_path_factory):
    root = tmp_path_factory.mktemp("afdb")
    return root, _fixture("mitbih-af").write_fixture(root)


@pytest.fixture(scope="module")
def cinc(tmp_path_factory):
    root = tmp_path_factory.mktemp("cinc17")
    return root, _fixture("physionet-2017").write_fixture(root)


def test_mitdb_fixture_is_the_real_layout(mitdb):
    root, _ = mitdb
    head = (root / "100.hea").read_text().splitlines()
    assert head[0].split()[:3] == ["100", "2", "360"]
    assert head[1].split()[1:5] == ["212", "200", "11", "1024"]  # fmt gain adcres adczero, as distributed
    assert head[1].split()[-1] == "MLII" and (root / "100.dat").stat().st_size == 3 * 20 * 360  # 2 x 12 bits
    assert (root / "100.atr").read_bytes()[-2:] == b"\x00\x00"  # an .atr ends with a zero word


def test_mitdb_loader_maps_beats_to_aami_and_excludes_paced_and_the_shared_patient(mitdb):
    root, written = mitdb
    recs = {r.source.split("/")[-1]: r for r in dataset_module("mitbih-arrhythmia").load(root, channels=["ecg"])}
    assert set(recs) == {"100.hea", "101.hea", "106.hea", "114.hea", "202.hea"}  # no 102 (paced), no 201
    r = recs["100.hea"]
    assert r.rate == 360 and r.signal.shape == (7200, 1) and r.signal.dtype == np.float32
    np.testing.assert_allclose(r.truth["beats"], written["100"]["beats"], atol=1 / 360)
    sym = written["106"]["symbols"]
    assert recs["106.hea"].truth["classes"] == sym.replace("A", "S")  # V stays V, A -> S
    assert recs["101.hea"].truth["classes"] == written["101"]["symbols"].replace("L", "N").replace("A", "S")
    assert "~" not in recs["100.hea"].truth["symbols"]  # a noise annotation is not a beat
    assert recs["202.hea"].truth["rhythm"] == [(0.0, 10.0, "N"), (10.0, 20.0, "AF")]
    assert recs["202.hea"].events == [(10.0, "af")] and recs["202.hea"].label == "af"
    # 114's MLII is its second signal: chosen by name, not position
    np.testing.assert_allclose(recs["114.hea"].signal[:, 0], written["114"]["mlii"], atol=0.0051)
    assert recs["114.hea"].activity == "lead MLII"


def test_no_record_or_patient_crosses_the_inter_patient_split(mitdb):
    root, _ = mitdb
    ds = dataset_module("mitbih-arrhythmia")
    recs = ds.load(root, channels=["ecg"])
    train, val, test = split_recordings(recs, test_fraction=0.25, val_fraction=0.3, seed=1)
    name = lambda rs: {r.source.split("/")[-1][:3] for r in rs}  # noqa: E731
    assert name(test) == {"100", "202"}  # exactly the DS2 records present
    assert name(train) | name(val) <= set(ds.DS1) and name(train) and name(val)
    patients = [{ds.patient(n) for n in name(s)} for s in (train, val, test)]
    assert not (patients[0] & patients[1] or patients[0] & patients[2] or patients[1] & patients[2])
    # with 201 loaded as well its patient would sit in both DS1 and DS2: the loader leaves it out
    assert "201" in ds.DS1 and ds.patient("201") == ds.patient("202")
    assert set(ds.DS1).isdisjoint(ds.DS2) and not set(ds.PACED) & (set(ds.DS1) | set(ds.DS2))


def test_mitdb_record_split_and_errors(mitdb, tmp_path):
    root, _ = mitdb
    ds = dataset_module("mitbih-arrhythmia")
    recs = ds.load(root, channels=["ecg"], split="record")
    assert {r.split for r in recs} == {""} and len(recs) == 6  # 201 kept, 102 still excluded
    with pytest.raises(TinymlError, match="no MIT-BIH Arrhythmia records"):
        ds.load(tmp_path, channels=["ecg"])
    with pytest.raises(TinymlError, match="record 999 not found"):
        ds.load(root, channels=["ecg"], records=["999"])


def test_afdb_loader_reads_rhythms_and_skips_signal_less_records(afdb):
    root, written = afdb
    recs = dataset_module("mitbih-af").load(root, channels=["ecg"])
    assert [r.subject for r in recs] == ["afdb-04015", "afdb-08455"]
    for r in recs:
        w = written[r.subject[5:]]
        (a, b, lab), = [s for s in r.truth["rhythm"] if s[2] == "AF"]
        assert abs(a - w["af"][0]) < 0.005 and abs(b - w["af"][1]) < 0.005
        assert r.events == [(a, "af")] and r.truth["beats_source"] == "qrs"
        np.testing.assert_allclose(r.truth["beats"], w["beats"], atol=1e-9)
        assert r.rate == 250 and r.activity == "lead ECG1"


def test_cinc2017_loader_reads_mat_records_and_reference(cinc):
    root, written = cinc
    recs = dataset_module("physionet-2017").load(root, channels=["ecg"])
    assert [r.label for r in recs] == ["normal", "af", "other", "noise"]
    for r in recs:
        w = written[r.subject.split("-")[1]]
        assert r.rate == 300 and r.activity == w["class"]
        np.testing.assert_allclose(r.signal[:, 0], w["mv"], atol=1e-6)  # 1000 counts per mV, exactly
    assert recs[1].truth["rhythm"] == [(0.0, recs[1].duration, "AF")]


def test_cinc2017_errors(cinc, tmp_path):
    root, _ = cinc
    ds = dataset_module("physionet-2017")
    with pytest.raises(TinymlError, match="no REFERENCE.csv"):
        ds.load(tmp_path, channels=["ecg"])
    bad = tmp_path / "REFERENCE.csv"
    bad.write_text("A00001,X\n")
    with pytest.raises(TinymlError, match="line 1: expected"):
        ds.load(tmp_path, channels=["ecg"])


def test_readers_choose_the_lead_by_name_or_channel(mitdb, cinc):
    root, written = mitdb
    x, fs, lead = wfdb_reader.read_lead(root / "114.hea", ["ecg", "MLII"])
    assert lead == "MLII" and fs == 360
    x2, _, lead2 = wfdb_reader.read_lead(root / "114.hea", ["ecg", "MLII"], channel="v5")
    assert lead2 == "V5" and not np.allclose(x, x2)
    with pytest.raises(TinymlError, match="no lead named 'V9'; the record has V5, MLII"):
        wfdb_reader.read_lead(root / "114.hea", ["ecg"], channel="V9")
    with pytest.raises(TinymlError, match="no lead named ecg / II; the record has V5, V2 .*--channel"):
        wfdb_reader.read_lead(root / "102.hea", ["ecg", "II"])
    croot, _ = cinc
    y, fs, lead = mat_reader.read_lead(croot / "training2017" / "A00002.mat", ["ecg"])
    assert fs == 300 and lead == "ECG" and len(y) == 3600
    assert wfdb_reader.can_read(root / "100.hea") and mat_reader.can_read(croot / "x.MAT")
    assert not wfdb_reader.can_read(root / "100.dat")


def test_readers_refuse_bad_files_with_one_line(mitdb, tmp_path):
    root, _ = mitdb
    with pytest.raises(TinymlError, match="file not found"):
        wfdb_reader.read_lead(tmp_path / "nope.hea", ["ecg"])
    (tmp_path / "bad.hea").write_text("this is not a header\n")
    with pytest.raises(TinymlError, match="not a readable WFDB header"):
        wfdb_reader.read_lead(tmp_path / "bad.hea", ["ecg"])
    (tmp_path / "100.hea").write_text((root / "100.hea").read_text())
    with pytest.raises(TinymlError, match="signal file named in the header is missing"):
        wfdb_reader.read_lead(tmp_path / "100.hea", ["MLII"])
    (tmp_path / "100.dat").write_bytes((root / "100.dat").read_bytes()[:300])
    with pytest.raises(TinymlError, match="does not match its header"):
        wfdb_reader.read_lead(tmp_path / "100.hea", ["MLII"])
    (tmp_path / "A1.mat").write_bytes(b"\0" * 16 + b"\x04\0\0\0" + b"val\0" + b"\0" * 16)  # a v4 'val' record
    with pytest.raises(TinymlError, match="no header A1.hea beside it"):
        mat_reader.read_lead(tmp_path / "A1.mat", ["ecg"])
    (tmp_path / "junk.mat").write_bytes(b"\0" * 40)  # neither MATLAB 5 (CWRU) nor v4: no header is asked for
    with pytest.raises(TinymlError, match="not a readable .mat file"):
        mat_reader.read_lead(tmp_path / "junk.mat", ["ecg"])
    (tmp_path / "cwru.mat").write_bytes(b"MATLAB 5.0 MAT-file, Platform: GLNXA64" + b"\0" * 100)
    with pytest.raises(TinymlError, match="a MATLAB 5 file \\(such as CWRU's\\), not a PhysioNet record"):
        mat_reader.read_lead(tmp_path / "cwru.mat", ["ecg"])
    (tmp_path / "t.hea").write_text("t 1 300 10\nt.dat 16 1000/degC 16 0 0 0 0 ECG\n")
    with pytest.raises(TinymlError, match="is in 'degC', not a voltage"):
        wfdb_reader.read_lead(tmp_path / "t.hea", ["ecg"])
