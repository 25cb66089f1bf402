"""datasets/labelled-files: a folder of labelled CSV / Edge Impulse JSON files, read as predict reads them,
against fixtures written in the formats users export (Edge Impulse's data-acquisition JSON and file naming)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from tinyml.apps import load_app, load_module
from tinyml.errors import TinymlError
from tinyml.manifest import load_manifest
from tinyml.paths import datasets_dir

G = 9.80665


@pytest.fixture(scope="module")
def ds():
    return load_module(datasets_dir() / "labelled-files" / "dataset.py", "tinyml_datasets.labelled_files")


@pytest.fixture(scope="module")
def falls():
    return load_app("fall-detect").manifest


def trial(rate, seconds, impact_s=None, seed=0):
    """Three axes in g: gravity on z, a little noise, an impact spike at impact_s."""
    rng = np.random.default_rng(seed)
    n = int(rate * seconds)
    x = rng.normal(0, 0.02, (n, 3)) + [0.0, 0.0, 1.0]
    if impact_s is not None:
        k = int(impact_s * rate)
        x[k] += [2.5, -1.5, 3.0]
    return x


def write_csv(path, x, rate, names=("ax", "ay", "az")):
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["time," + ",".join(names)] + [f"{k / rate:.4f}," + ",".join(f"{v:.6f}" for v in row)
                                          for k, row in enumerate(x)]
    path.write_text("\n".join(lines) + "\n")


def write_ei_json(path, x, rate, units="m/s2"):
    """As Edge Impulse's data acquisition exports a sample (signature fields included)."""
    doc = {"protected": {"ver": "v1", "alg": "none", "iat": 1700000000}, "signature": "0" * 64,
           "payload": {"device_name": "ac:87:a3:0a:2d:1b", "device_type": "DISCO-L475VG-IOT01A",
                       "interval_ms": 1000.0 / rate,
                       "sensors": [{"name": n, "units": units} for n in ("accX", "accY", "accZ")],
                       "values": (x * G).round(5).tolist()}}
    path.write_text(json.dumps(doc))


def test_labels_from_folders_and_edge_impulse_file_names(ds, falls, tmp_path):
    write_csv(tmp_path / "fall" / "p01-trip.csv", trial(50, 6, impact_s=2.5), 50)
    write_csv(tmp_path / "adl" / "p01-walk.csv", trial(50, 8, seed=1), 50)
    write_ei_json(tmp_path / "fall.p02.4f1c.json", trial(100, 5, impact_s=3.2, seed=2), 100)
    write_ei_json(tmp_path / "adl.p02.77aa.json", trial(100, 5, seed=3), 100)
    (tmp_path / "README.md").write_text("# my recordings\n\nTaken with the tag on the belt.\n")
    recs = ds.load(tmp_path, rate=50, channels=falls.channels, manifest=falls, subject_pattern=r"(?P<subject>p\d+)")
    by = {r.source.split("/")[-1]: r for r in recs}
    assert set(by) == {"p01-trip.csv", "p01-walk.csv", "fall.p02.4f1c.json", "adl.p02.77aa.json"}
    assert {n: (r.label, r.subject) for n, r in by.items()} == {
        "p01-trip.csv": ("fall", "p01"), "p01-walk.csv": ("adl", "p01"),
        "fall.p02.4f1c.json": ("fall", "p02"), "adl.p02.77aa.json": ("adl", "p02")}
    ei = by["fall.p02.4f1c.json"]
    assert ei.rate == pytest.approx(100) and ei.channels == tuple(falls.channels)
    assert np.median(ei.signal[:, 2]) == pytest.approx(1.0, abs=0.05)  # m/s² converted to the manifest's g
    assert ei.events == [(pytest.approx(3.2, abs=0.011), "fall")]  # the impact: the largest deviation
    assert by["p01-trip.csv"].events == [(pytest.approx(2.5, abs=0.021), "fall")]
    assert by["p01-walk.csv"].events == [] and by["adl.p02.77aa.json"].events == []


def test_labels_csv_gives_subjects_and_event_times(ds, falls, tmp_path):
    write_csv(tmp_path / "rec" / "a.csv", trial(50, 20, impact_s=4.0), 50)
    write_csv(tmp_path / "rec" / "b.csv", trial(50, 6, seed=1), 50)
    write_csv(tmp_path / "rec" / "unlisted.csv", trial(50, 6, seed=2), 50)
    (tmp_path / "labels.csv").write_text("file,label,subject,event_s\nrec/a.csv,fall,anna,4.0\n"
                                         "rec/a.csv,fall,anna,15.5\nrec/b.csv,adl,ben,\n")
    recs = ds.load(tmp_path, rate=50, channels=falls.channels, manifest=falls)
    assert [(r.subject, r.label, r.events) for r in recs] == [("anna", "fall", [(4.0, "fall"), (15.5, "fall")]),
                                                              ("ben", "adl", [])]


def test_each_file_its_own_subject_says_so(ds, falls, tmp_path, capsys):
    write_csv(tmp_path / "fall" / "one.csv", trial(50, 5, impact_s=2.0), 50)
    recs = ds.load(tmp_path, rate=50, channels=falls.channels, manifest=falls, event_time="middle")
    assert recs[0].subject == "fall/one.csv" and recs[0].events == [(2.5, "fall")]
    assert "each is its own subject" in capsys.readouterr().err


@pytest.mark.parametrize("layout, message", [
    ({"misc/x.csv": None}, r"x.csv: no label: put it in a folder named after one of adl, fall"),
    ({"labels.csv": "file,label\nx.csv,jump\n", "x.csv": None}, r"labels.csv:2: label 'jump' is not one of"),
    ({"labels.csv": "file,label\ngone.csv,fall\n"}, r"labels.csv:2: no such file 'gone.csv'"),
    ({"labels.csv": "name,kind\nx.csv,fall\n", "x.csv": None}, r"labels.csv: needs a header with columns file, label"),
    ({"labels.csv": "file,label,event_s\nx.csv,fall,99\n", "x.csv": None}, r"x.csv: event at 99 s is outside"),
    ({"labels.csv": "file,label,event_s\nx.csv,fall,soon\n", "x.csv": None}, r"labels.csv:2: event_s 'soon'"),
    ({}, r"no labelled recordings"),
])
def test_bad_folders_end_in_one_line(ds, falls, tmp_path, layout, message):
    for rel, text in layout.items():
        if text is None:
            write_csv(tmp_path / rel, trial(50, 5), 50)
        else:
            (tmp_path / rel).write_text(text)
    with pytest.raises(TinymlError, match=message) as e:
        ds.load(tmp_path, rate=50, channels=falls.channels, manifest=falls)
    assert "\n" not in str(e.value)


def test_a_bad_file_is_refused_as_predict_refuses_it(ds, falls, tmp_path):
    write_csv(tmp_path / "fall" / "nan.csv", trial(50, 5), 50)
    p = tmp_path / "fall" / "nan.csv"
    lines = p.read_text().splitlines()
    lines[3] = "0.0400,nan,0.0,1.0"  # a hole in a required axis
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(TinymlError, match=r"nan.csv"):
        ds.load(tmp_path, rate=50, channels=falls.channels, manifest=falls)


def test_an_app_trains_on_it_through_the_core(tmp_path):
    """[dataset] name = "labelled-files" with a path: build_dataset passes the manifest, resamples to the
    app's rate, and the split keeps subjects apart."""
    from tinyml.data.source import build_dataset

    folder = tmp_path / "mine"
    for s in range(3):
        write_csv(folder / "fall" / f"s{s}-a.csv", trial(100, 6, impact_s=3.0, seed=s), 100)
        write_ei_json(folder / f"adl.s{s}.b.json", trial(100, 6, seed=10 + s), 100)
    app = tmp_path / "app"
    shutil.copytree(load_app("fall-detect").dir, app, ignore=shutil.ignore_patterns("model", "fixtures", "__pycache__"))
    toml = app / "app.toml"
    text = toml.read_text()
    start = text.index("[dataset]")
    end = text.index("\n[", start + 1)
    while text[end + 1:].startswith("[[dataset"):  # [[dataset.sources]] tables belong to it
        end = text.index("\n[", end + 2)
    toml.write_text(text[:start] + f'[dataset]\nname = "labelled-files"\npath = "{folder}"\nsplit = "subject"\n'
                    f'seed = 1\noptions = {{ load = {{ subject_pattern = "(?P<subject>s\\\\d)" }} }}\n' + text[end:])
    m = load_manifest(toml)
    recs = build_dataset(m, progress=False)
    assert len(recs) == 6 and all(r.rate == m.rate for r in recs)
    assert sorted({r.subject for r in recs}) == ["s0", "s1", "s2"]
    assert sorted(r.label for r in recs) == ["adl"] * 3 + ["fall"] * 3
