"""Speech Commands loader against fixtures written in exactly the distributed layouts (the distribution and
the official test set): the speaker-hash split of every clip, several folders read together, streams."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tinyml.apps import load_module
from tinyml.data import dataset_module, split_recordings
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
        assert r.split == {"training": "train", "validation": "val", "testing": "test"}[ds.which_set(rel)]
    sil = [r for r in recs if r.label == "silence"]
    per_split = {s: sum(1 for r in clips if r.split == s) for s in ("train", "val")}
    assert len(sil) == sum(round(0.1 * n) for n in per_split.values())
    assert all(r.signal.shape == (16000, 1) and r.subject.startswith("noise:") for r in sil)
    assert {r.split for r in sil} == {"train", "val"}  # none in the test split: it is reported, never drawn from
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


@pytest.fixture(scope="module")
def test_set(tmp_path_factory, fx):
    root = tmp_path_factory.mktemp("sc-test-set")
    return root, fx.write_test_set(root, seed=0)


def test_test_set_layout_and_several_folders(ds, tree, test_set):
    """The official test set beside the distribution: its clips are the test clips (the utterance both hold
    is read once, from the test set), the distribution's other test-split clips are not clips, and every
    clip's split is its speaker's by the hash rule."""
    root, written = tree
    troot, twritten = test_set
    recs = ds.load([root, troot], rate=16000, channels=CH, silence_fraction=0)
    test = [r for r in recs if r.split == "test"]
    assert {Path(r.source).parent.parent for r in test} == {troot}
    assert len(test) == len(twritten)
    assert all(r.cohort == "test-set" for r in test)
    unknown = [r for r in test if "_unknown_" in r.source]
    assert unknown and all(r.label == "unknown" and r.activity in ("bed", "seven", "wow") for r in unknown)
    assert all(r.subject == Path(r.source).name.split("_")[1] for r in unknown)
    sil = [r for r in test if "_silence_" in r.source]
    assert len(sil) == 4 and all(r.label == "silence" for r in sil)
    shared = next(r for r in test if r.activity == "yes" and (root / "yes" / Path(r.source).name).is_file())
    np.testing.assert_array_equal(shared.signal[: len(twritten[f"yes/{Path(shared.source).name}"]), 0],
                                  twritten[f"yes/{Path(shared.source).name}"] / 32768)
    for r in recs:
        if r.label != "silence":
            name = Path(r.source).name
            speaker = name.split("_nohash_")[0].split("_")[-1]
            assert r.subject == speaker
            assert r.split == {"training": "train", "validation": "val", "testing": "test"}[
                ds.which_set(f"{speaker}_nohash_0.wav")]
    # the distribution alone: its own test-split clips are the test clips
    alone = ds.load(root, rate=16000, channels=CH, silence_fraction=0)
    assert {r.subject for r in alone if r.split == "test"} == {
        k.split("/")[1].split("_")[0] for k in written if not k.startswith("_") and ds.which_set(k) == "testing"}


def test_no_test_split_speaker_is_trained_on(ds, tree, test_set):
    """Whatever folders hold them, the training recordings' speakers are training-split speakers, and no
    speaker of the test split (the official test set's included) trains."""
    recs = ds.load([tree[0], test_set[0]], rate=16000, channels=CH)
    train = {r.subject for r in recs if r.split == "train" and r.label != "silence"}
    test = {r.subject for r in recs if r.split == "test"}
    assert train and test and not train & test
    assert all(ds.which_set(f"{s}_nohash_0.wav") == "training" for s in train)
    assert all(ds.which_set(f"{s}_nohash_0.wav") == "testing" for s in test if not s.startswith("noise:"))


def test_streams_from_one_split(ds, tree, test_set):
    """Streams of each split are made from that split's clips only: non-keyword speech (false accepts per
    hour) and commands among it, each command clip once, events at the end of each word."""
    spec = {"train": {"minutes": 0.5, "commands": 6}, "test": {"minutes": 0.3, "commands": 12}}
    recs = ds.load([tree[0], test_set[0]], rate=16000, channels=CH, silence_fraction=0, streams=spec)
    streams = [r for r in recs if r.activity in ("stream", "keywords")]
    assert {(r.split, r.activity) for r in streams} == {("train", "stream"), ("train", "keywords"),
                                                        ("test", "stream"), ("test", "keywords")}
    for split, want in spec.items():
        s = [r for r in streams if r.split == split]
        minutes = sum(r.duration for r in s if r.activity == "stream") / 60
        assert abs(minutes - want["minutes"]) < 0.01
        events = [e for r in s if r.activity == "keywords" for e in r.events]
        assert len(events) == want["commands"] and {lab for _, lab in events} <= set(ds.COMMANDS)
        for r in s:
            assert r.signal.dtype == np.float32 and np.abs(r.signal).max() < 1 and r.subject == f"streams:{split}"
            for t, _ in r.events:  # a word ends there: louder just before it than just after
                i = int(t * 16000)
                assert np.sqrt(np.mean(r.signal[i - 2000 : i] ** 2)) > np.sqrt(np.mean(r.signal[i + 400 : i + 2400] ** 2))
    again = ds.load([tree[0], test_set[0]], rate=16000, channels=CH, silence_fraction=0, streams=spec)
    assert all(np.array_equal(a.signal, b.signal) for a, b in zip(recs, again))  # deterministic


def test_streams_name_who_said_each_command_and_word(ds, tree, test_set):
    """The streams keep their provenance for the intervals (tinyml.metrics.events): each command's speaker
    (`event_groups`, in the events' order) and the speaker of every non-keyword word from its end on
    (`stream_groups`), all speakers of the stream's own split; recording it changes no sample."""
    spec = {"test": {"minutes": 0.3, "commands": 12}}
    recs = ds.load([tree[0], test_set[0]], rate=16000, channels=CH, silence_fraction=0, streams=spec)
    def test_speakers(names):  # the dataset's own hash rule on the speaker part
        return all(ds.which_set(f"yes/{g}_nohash_0.wav") == "testing" for g in names)

    kw = [r for r in recs if r.activity == "keywords"]
    st = [r for r in recs if r.activity == "stream"]
    assert kw and st
    for r in kw:
        assert len(r.truth["event_groups"]) == len(r.events) and test_speakers(r.truth["event_groups"])
    assert len({g for r in kw for g in r.truth["event_groups"]}) > 1
    for r in st:
        times = [t for t, _ in r.truth["stream_groups"]]
        assert times == sorted(times) and 0 < times[0] and times[-1] <= r.duration
        assert test_speakers({g for _, g in r.truth["stream_groups"]})
    # the same draws with and without recording who spoke: the same signal
    words = [r.signal[:, 0] for r in recs if r.split == "test" and r.label == "unknown" and r.activity not in
             ("stream", "keywords")]
    acoustics = dataset_module("synthetic-speech")
    heard = []
    a, _ = ds.assemble(16000 * 20, np.random.default_rng(1), ds._Cycle(words, np.random.default_rng(2), ["s"] * len(words)),
                       None, [], acoustics, heard)
    b, _ = ds.assemble(16000 * 20, np.random.default_rng(1), ds._Cycle(words, np.random.default_rng(2)), None, [], acoustics)
    assert np.array_equal(a, b) and heard and {g for _, g in heard} == {"s"}
