"""Speech Commands v2 loader against a fixture written in exactly the distributed layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tinyml.apps import load_module
from tinyml.data import split_recordings
from tinyml.errors import TinymlError
from tinyml.paths import datasets_dir

CH = ["audio"]


@pytest.fixture(scope="module")
def ds():
    return load_module(datasets_dir() / "speech-commands" / "dataset.py", "tinyml_datasets.speech_commands")


@pytest.fixture(scope="module")
def fx():
    return load_module(datasets_dir() / "speech-commands" / "fixture.py", "tinyml_datasets.speech_commands_fixture")


@pytest.fixture(scope="module")
def tree(tmp_path_factory, fx):
    root = tmp_path_factory.mktemp("sc")
    return root, fx.write_fixture(root, seed=0)


def test_fixture_is_in_the_real_layout(tree, ds):
    root, written = tree
    names = {p.name for p in root.iterdir()}
    assert {"yes", "no", "marvin", "_background_noise_", "validation_list.txt", "testing_list.txt"} <= names
    for rel in written:
        if not rel.startswith("_"):
            assert ds.NAME.match(Path(rel).name)
    listed = (root / "testing_list.txt").read_text().split() + (root / "validation_list.txt").read_text().split()
    assert listed and all((root / rel).is_file() for rel in listed)


def test_official_hash_rule(ds, tree):
    root, _ = tree
    lists = ds.read_lists(root)
    for name, paths in lists.items():
        for rel in paths:
            assert ds.which_set(rel) == name
    # the rule hashes the speaker part only: every clip of a speaker lands in one set
    assert ds.which_set("yes/0a7c2a8d_nohash_0.wav") == ds.which_set("go/0a7c2a8d_nohash_3.wav")


def test_labels_padding_subjects(ds, tree):
    root, written = tree
    recs = ds.load(root, rate=16000, channels=CH, silence_fraction=0.1)
    clips = [r for r in recs if r.label != "silence"]
    assert len(clips) == sum(1 for k in written if not k.startswith("_"))
    for r in clips:
        rel = "/".join(Path(r.source).parts[-2:])
        raw = written[rel].astype(np.float32) / 32768
        assert r.signal.shape == (16000, 1) and r.signal.dtype == np.float32 and r.rate == 16000
        np.testing.assert_array_equal(r.signal[: len(raw), 0], raw)
        assert not r.signal[len(raw):].any()  # zero-padded to 1 s
        word = rel.split("/")[0]
        assert r.activity == word
        assert r.label == (word if word in ds.COMMANDS else "unknown")
        assert r.subject == Path(rel).name.split("_nohash_")[0]
        assert ds.official_split(r, ds.read_lists(root)) == ds.which_set(rel)
    sil = [r for r in recs if r.label == "silence"]
    assert len(sil) == round(0.1 * len(clips))
    assert all(r.signal.shape == (16000, 1) and r.subject.startswith("noise:") for r in sil)
    assert {r.label for r in recs} == {"yes", "no", "stop", "go", "unknown", "silence"}


def test_speaker_disjoint_split(ds, tree):
    root, _ = tree
    recs = ds.load(root, rate=16000, channels=CH)
    tr, va, te = split_recordings(recs, test_fraction=0.25, val_fraction=0.2, seed=3)
    spk = [{r.subject for r in s} for s in (tr, va, te)]
    assert not (spk[0] & spk[1]) and not (spk[0] & spk[2]) and not (spk[1] & spk[2])


def test_options_and_errors(ds, tree, tmp_path):
    root, _ = tree
    recs = ds.load(root, rate=16000, channels=CH, words=["yes", "bed"], silence_fraction=0)
    assert {r.activity for r in recs} == {"yes", "bed"}
    half = ds.load(root, rate=16000, channels=CH, unknown_fraction=0.5, silence_fraction=0)
    unk_spk = {r.subject for r in half if r.label == "unknown"}
    assert 0 < len(unk_spk) < 12
    with pytest.raises(TinymlError, match="not a folder"):
        ds.load(tmp_path / "missing", rate=16000, channels=CH)
    with pytest.raises(TinymlError, match="no word folders"):
        ds.load(tmp_path, rate=16000, channels=CH)
    with pytest.raises(TinymlError, match="mono"):
        ds.load(root, rate=16000, channels=["l", "r"])


def test_through_the_core(ds, tree, tmp_path):
    """A manifest pointing [dataset] path at the tree resolves to this loader (with resampling)."""
    from tinyml.data import build_dataset
    from tinyml.manifest import load_manifest

    root, _ = tree
    (tmp_path / "app.toml").write_text(f'''
[app]
id = "x"
title = "x"
task = "classify"
labels = ["silence", "unknown", "yes", "no"]
[signal]
sensor = "microphone"
rate = 8000
channels = ["audio"]
units = "full scale"
[features]
version = 1
window = 8000
hop = 4000
[dataset]
name = "speech-commands"
path = "{root}"
''')
    m = load_manifest(tmp_path / "app.toml")
    recs = build_dataset(m, progress=False)
    assert recs and all(r.rate == 8000 and r.signal.shape == (8000, 1) for r in recs)
