"""SisFall loader against a fixture written in exactly the distributed layout."""

from __future__ import annotations

import numpy as np
import pytest

from tinyml.apps import load_module
from tinyml.errors import TinymlError
from tinyml.paths import datasets_dir

CH = ["ax", "ay", "az"]


@pytest.fixture(scope="module")
def ds():
    return load_module(datasets_dir() / "sisfall" / "dataset.py", "tinyml_datasets.sisfall")


@pytest.fixture(scope="module")
def fx():
    return load_module(datasets_dir() / "sisfall" / "fixture.py", "tinyml_datasets.sisfall_fixture")


@pytest.fixture()
def tree(tmp_path, fx):
    written = fx.write_fixture(tmp_path, seed=0)
    return tmp_path, written


def test_fixture_is_in_the_real_layout(tree):
    root, written = tree
    assert {p.name for p in root.iterdir()} == {"SA01", "SA02", "SE01"}
    f = root / "SA01" / "F01_SA01_R01.txt"
    assert f.read_bytes().count(b";\r\n") == 5 * 200  # CRLF line ends, as distributed
    lines = f.read_text().splitlines()
    assert all(ln.endswith(";") for ln in lines)
    assert all(len(ln[:-1].split(",")) == 9 for ln in lines)
    assert lines[0].startswith(" ")  # space padded
    assert len(lines) == 5 * 200


def test_round_trip_values_labels_subjects(ds, tree):
    root, written = tree
    recs = ds.load(root, rate=200, channels=CH)
    assert len(recs) == len(written)  # Readme.txt ignored
    by_src = {r.source: r for r in recs}
    for rel, info in written.items():
        r = by_src[str(root / rel)]
        np.testing.assert_allclose(r.signal, info["raw"][:, 0:3] * 32 / 8192, rtol=0, atol=1e-6)
        assert r.signal.dtype == np.float32 and r.rate == 200 and r.channels == tuple(CH)
        subj, name = rel.split("/")
        code = name[:3]
        assert r.subject == subj and r.activity == code
        assert r.label == ("fall" if code.startswith("F") else "adl")
        if code.startswith("F"):
            assert len(r.events) == 1 and r.events[0][1] == "fall"
            assert r.events[0][0] == pytest.approx(info["impact"] / 200, abs=1e-9)
        else:
            assert r.events == []
    assert {r.subject for r in recs} == {"SA01", "SA02", "SE01"}


def test_upright_is_about_one_g(ds, tree):
    root, _ = tree
    (r,) = ds.load(root, rate=200, channels=CH, subjects=["SA01"], activities=["D07"])
    mag = np.linalg.norm(r.signal[:200], axis=1)
    assert abs(float(np.median(mag)) - 1.0) < 0.05
    assert np.median(r.signal[:200, 1]) < -0.9  # SisFall: y is vertical


def test_mma8451q_and_channel_order(ds, tree):
    root, written = tree
    (r,) = ds.load(root, rate=200, channels=["az", "ay", "ax"], sensor="mma8451q", activities=["D19"])
    raw = written["SA02/D19_SA02_R01.txt"]["raw"]
    np.testing.assert_allclose(r.signal, raw[:, [8, 7, 6]] * 16 / 16384, atol=1e-6)


def test_resamples_to_the_manifest_rate(ds, tree):
    root, written = tree
    (r,) = ds.load(root, rate=50, channels=CH, activities=["F05"])
    assert r.rate == 50 and r.signal.shape == (5 * 50, 3)
    assert r.events[0][0] == pytest.approx(written["SA02/F05_SA02_R01.txt"]["impact"] / 200)


def test_parent_folder_is_accepted(ds, tmp_path, fx):
    fx.write_fixture(tmp_path / "SisFall_dataset")
    assert len(ds.load(tmp_path, rate=200, channels=CH)) == len(fx.TRIALS)


def _one(tmp_path, text):
    d = tmp_path / "SA01"
    d.mkdir(parents=True, exist_ok=True)
    f = d / "D01_SA01_R01.txt"
    f.write_text(text)
    return f


GOOD = "   17, -256,  -30,   1,   2,   3,   68,-1024, -120;\n"


@pytest.mark.parametrize(
    "text, needle",
    [
        (GOOD + "   17, -256,  -30,   1,   2,   3,   68,-1024, -120\n", "line 2: malformed line"),
        (GOOD * 3 + "   17, -256,  -30,   1,   2,   3,   68;\n", "line 4: expected 9 comma-separated columns, found 7"),
        (GOOD + "   17, -2x6,  -30,   1,   2,   3,   68,-1024, -120;\n", "line 2: malformed line (non-integer"),
        ("", "empty file"),
        ("   \n\n", "empty file"),
    ],
)
def test_errors_name_file_and_line(ds, tmp_path, text, needle):
    f = _one(tmp_path, text)
    with pytest.raises(TinymlError) as e:
        ds.load(tmp_path, rate=200, channels=CH)
    msg = str(e.value)
    assert str(f) in msg and needle in msg and "\n" not in msg


def test_lines_without_semicolons(ds, tmp_path):
    """Two files of the real distribution (D01_SA01_R01, D02_SA01_R01) end no line with ';'."""
    plain = GOOD.replace(";", "")
    f = _one(tmp_path, plain.lstrip() * 3)  # the real files' first line is not padded either
    (r,) = ds.load(tmp_path, rate=200, channels=CH)
    np.testing.assert_allclose(r.signal, np.tile([17, -256, -30], (3, 1)) * 32 / 8192, atol=1e-6)
    f.write_text(plain * 2 + GOOD)  # a mix is refused, naming the first odd line
    with pytest.raises(TinymlError, match=r"line 3: malformed line \(';' where"):
        ds.load(tmp_path, rate=200, channels=CH)


def test_no_trials_found(ds, tmp_path):
    (tmp_path / "SA01").mkdir()
    (tmp_path / "SA01" / "notes.txt").write_text("x")
    with pytest.raises(TinymlError, match="no SisFall trials found"):
        ds.load(tmp_path, rate=200, channels=CH)
    with pytest.raises(TinymlError, match="not a folder"):
        ds.load(tmp_path / "missing", rate=200, channels=CH)


def test_bad_options(ds, tree):
    root, _ = tree
    with pytest.raises(TinymlError, match="unknown sensor"):
        ds.load(root, rate=200, channels=CH, sensor="itg3200")
    with pytest.raises(TinymlError, match="3 accelerometer channels"):
        ds.load(root, rate=200, channels=["ax", "ay"])


def test_skip_bad_files_on_request(ds, tree, capsys):
    root, written = tree
    bad = root / "SA02" / "D05_SA02_R01.txt"
    bad.write_text(GOOD + "   17, -256;\n")
    with pytest.raises(TinymlError, match="line 2"):
        ds.load(root, rate=200, channels=CH)
    recs = ds.load(root, rate=200, channels=CH, on_error="skip")
    assert len(recs) == len(written)
    assert str(bad) in capsys.readouterr().err
