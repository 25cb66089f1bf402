"""Splits never leak a subject between train, val and test."""

import numpy as np
import pytest

from tinyml.data import assert_disjoint, split_recordings
from tinyml.recording import Recording


def _recs(n_subjects, per_subject, seed=0):
    rng = np.random.default_rng(seed)
    return [
        Recording(np.zeros((10, 1), np.float32), 50.0, ("x",), subject=f"S{s:02d}", label=str(rng.integers(2)),
                  source=f"S{s:02d}/r{k}")
        for s in range(n_subjects) for k in range(per_subject)
    ]


@pytest.mark.parametrize("seed", range(20))
def test_subject_split_never_leaks(seed):
    rng = np.random.default_rng(seed)
    recs = _recs(int(rng.integers(3, 40)), int(rng.integers(1, 8)), seed)
    train, val, test = split_recordings(recs, test_fraction=0.25, val_fraction=0.15, seed=seed)
    subj = [{r.subject for r in s} for s in (train, val, test)]
    assert not (subj[0] & subj[1]) and not (subj[0] & subj[2]) and not (subj[1] & subj[2])
    assert len(train) + len(val) + len(test) == len(recs)
    assert val and test and train


def test_split_is_deterministic():
    recs = _recs(12, 3)
    a = split_recordings(recs, test_fraction=0.25, val_fraction=0.15, seed=7)
    b = split_recordings(recs, test_fraction=0.25, val_fraction=0.15, seed=7)
    assert [[r.source for r in s] for s in a] == [[r.source for r in s] for s in b]


def test_leak_detector_fires():
    recs = _recs(4, 2)
    with pytest.raises(AssertionError, match="leaks"):
        assert_disjoint(recs[:3], recs[2:])


def test_app_splits_do_not_leak(app_id):
    from tinyml.apps import load_app
    from tinyml.data import load_splits

    train, val, test = load_splits(load_app(app_id).manifest, smoke=True)
    assert_disjoint(train, val, test)


def test_train_only_material_trains_and_leaves_the_held_out_groups_alone():
    """Recordings marked split="train" (e.g. random synthetic voices) always train; the held-out subjects
    are the ones the same seed picks without them."""
    recs = _recs(12, 3)
    extra = [Recording(np.zeros((10, 1), np.float32), 50.0, ("x",), subject=f"R{s:02d}", source=f"R{s:02d}",
                       split="train") for s in range(30)]
    base = split_recordings(recs, test_fraction=0.25, val_fraction=0.15, seed=7)
    with_extra = split_recordings(recs + extra, test_fraction=0.25, val_fraction=0.15, seed=7)
    assert [r.source for r in with_extra[1]] == [r.source for r in base[1]]
    assert [r.source for r in with_extra[2]] == [r.source for r in base[2]]
    assert {r.source for r in extra} <= {r.source for r in with_extra[0]}
