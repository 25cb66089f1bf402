"""Splits never leak a subject between train, val and test."""

import numpy as np
import pytest

from tinyml.data import assert_disjoint, split_by_source, split_recordings
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


def _plain_draw(recs, seed):
    """The split before cohorts existed: one shuffle of all subjects."""
    groups = sorted({r.subject for r in recs})
    order = [groups[i] for i in np.random.default_rng(seed).permutation(len(groups))]
    n_test, n_val = max(1, round(0.25 * len(groups))), max(1, round(0.15 * len(groups)))
    return set(order[:n_test]), set(order[n_test : n_test + n_val])


@pytest.mark.parametrize("seed", range(5))
def test_without_cohorts_the_draw_is_unchanged(seed):
    recs = _recs(17, 2, seed)
    _, val, test = split_recordings(recs, test_fraction=0.25, val_fraction=0.15, seed=seed)
    assert ({r.subject for r in test}, {r.subject for r in val}) == _plain_draw(recs, seed)


@pytest.mark.parametrize("seed", range(5))
def test_cohorts_are_stratified(seed):
    """20 adults with events, 12 elderly without, 1 elderly with: each stratum gets its share of test and
    val subjects; the lone elderly subject with events is tested."""
    def rec(subject, cohort, events):
        return Recording(np.zeros((10, 1), np.float32), 50.0, ("x",), subject=subject, cohort=cohort,
                         events=[(0.1, "fall")] if events else [], label="fall" if events else "adl")
    recs = ([rec(f"A{i:02d}", "adult", True) for i in range(20)] + [rec(f"E{i:02d}", "elderly", False) for i in range(12)]
            + [rec("E99", "elderly", True)])
    train, val, test = split_recordings(recs, test_fraction=0.25, val_fraction=0.15, seed=seed)
    count = lambda split, c: len({r.subject for r in split if r.cohort == c})  # noqa: E731
    assert (count(test, "adult"), count(val, "adult"), count(train, "adult")) == (5, 3, 12)
    assert (count(test, "elderly"), count(val, "elderly"), count(train, "elderly")) == (4, 2, 7)
    assert "E99" in {r.subject for r in test}
    with pytest.raises(ValueError, match="two cohorts"):
        split_recordings(recs + [rec("A00", "elderly", True)], test_fraction=0.25, val_fraction=0.15, seed=seed)


def test_fixed_val_and_test_splits():
    """A dataset's own validation set (split="val", e.g. Speech Commands' speaker-hash rule) is the validation
    split: only the test groups are drawn from the rest; with both fixed, every unmarked group trains; a group
    marked both val and test, or train and val, is refused."""
    recs = _recs(12, 2)
    mark = lambda rs, split, subjects: [Recording(r.signal, r.rate, r.channels, subject=r.subject, label=r.label,
                                                  source=r.source, split=split if r.subject in subjects else r.split)
                                        for r in rs]
    with_val = mark(recs, "val", {"S00", "S01"})
    train, val, test = split_recordings(with_val, test_fraction=0.25, val_fraction=0.15, seed=3)
    assert {r.subject for r in val} == {"S00", "S01"}
    assert test and not {r.subject for r in test} & {"S00", "S01"}
    assert len(train) + len(val) + len(test) == len(recs)
    both = mark(with_val, "test", {"S02"})
    train, val, test = split_recordings(both, test_fraction=0.25, val_fraction=0.15, seed=3)
    assert {r.subject for r in test} == {"S02"} and {r.subject for r in val} == {"S00", "S01"}
    assert len(train) == len(recs) - 6
    with pytest.raises(ValueError, match="both val and test"):
        split_recordings(with_val + mark(recs[:2], "test", {"S00"}), test_fraction=0.25, val_fraction=0.15, seed=3)
    with pytest.raises(ValueError, match="both train and val"):
        split_recordings(with_val + mark(recs[:2], "train", {"S00"}), test_fraction=0.25, val_fraction=0.15, seed=3)


def test_held_out_as_trained_keeps_the_recorded_test_subjects(capsys):
    from tinyml.data.splits import held_out_as_trained
    from tinyml.errors import TinymlError

    recs = _recs(12, 2)
    # the split the model trained with, drawn when a real source was there too (its own stratum moved the draw)
    recorded = {"gen": {"train": [f"S{s:02d}" for s in range(6)], "val": ["S06", "S07"], "test": ["S08", "S09", "S10"]},
                "real": {"train": ["R0"], "val": [], "test": ["R1"]}}
    train, val, test = split_recordings(recs, test_fraction=0.25, val_fraction=0.15, seed=4)
    out = held_out_as_trained(train, val, test, recorded)
    assert sorted({r.subject for r in out}) == ["S08", "S09", "S10"] and len(out) == 6
    assert "R1" in capsys.readouterr().err  # the real source's held-out subject is not in the data now
    assert held_out_as_trained(train, val, test, None) is test
    with pytest.raises(TinymlError, match="none of the held-out subjects"):
        held_out_as_trained(train, val, test, {"real": {"test": ["R1"]}})
    # rewriting a card (eval --card): a held-out cohort missing now is refused, naming it and the way out
    with pytest.raises(TinymlError, match=r"cohort real: e.g. R1\).*--set dataset.path=DIR") as e:
        held_out_as_trained(train, val, test, recorded, complete=True)
    assert "\n" not in str(e.value)
    whole = {"gen": recorded["gen"]}
    assert held_out_as_trained(train, val, test, whole, complete=True) == out  # nothing missing: the same


def test_no_val_sources_trains_every_group_not_held_out_for_test():
    """A source in no_val_sources gives no validation group: its test groups are the ones the plain draw
    gives (same seed, same draw), every other group of it trains, and the other sources' splits are as
    before; a source that would leave no validation at all, or a fixed val group of it, is refused."""
    def tagged(n, cohort, prefix):
        return [Recording(np.zeros((10, 1), np.float32), 50.0, ("x",), subject=f"{prefix}{s}", label="a",
                          source=f"{prefix}{s}/r", cohort=cohort) for s in range(n)]

    recs = tagged(4, "rig", "L") + tagged(20, "gen", "M")
    for seed in range(10):
        plain = split_recordings(recs, test_fraction=0.25, val_fraction=0.15, seed=seed)
        train, val, test = split_recordings(recs, test_fraction=0.25, val_fraction=0.15, seed=seed,
                                            no_val_sources=["rig"])
        names = lambda rs, c: {r.subject for r in rs if r.cohort == c}
        assert names(test, "rig") == names(plain[2], "rig") and len(names(test, "rig")) == 1
        assert not names(val, "rig") and names(plain[1], "rig")  # the plain draw had one
        assert names(train, "rig") == {f"L{s}" for s in range(4)} - names(test, "rig")
        for i, part in enumerate((train, val, test)):
            assert names(part, "gen") == names(plain[i], "gen")
        assert_disjoint(train, val, test)
    with pytest.raises(ValueError, match="leaves no validation"):
        split_recordings(tagged(6, "rig", "L"), test_fraction=0.25, val_fraction=0.15, seed=1, no_val_sources=["rig"])
    fixed = [Recording(r.signal, r.rate, r.channels, subject=r.subject, label=r.label, source=r.source,
                       cohort=r.cohort, split="val" if r.subject == "L0" else "") for r in recs]
    with pytest.raises(ValueError, match="marked val"):
        split_recordings(fixed, test_fraction=0.25, val_fraction=0.15, seed=1, no_val_sources=["rig"])


def test_draw_last_sources_leave_the_other_sources_split_as_it_was():
    """A source whose name sorts first ("a-new") shifts every later stratum's draw; named in draw_last_sources
    its strata are drawn after the others, so the sources already there keep their train/val/test groups,
    and the new source is split by its own groups (no group of it in two splits)."""
    def tagged(n, cohort, prefix, events=False):
        return [Recording(np.zeros((10, 1), np.float32), 50.0, ("x",), subject=f"{prefix}{s}", label="a",
                          source=f"{prefix}{s}/r", cohort=cohort, events=[(0.1, "a")] if events else [])
                for s in range(n)]

    before = tagged(23, "real/adult", "A", events=True) + tagged(15, "real/old", "E") + tagged(32, "gen", "G")
    added = tagged(24, "a-new", "N", events=True) + tagged(9, "a-new/old", "O")
    names = lambda rs: sorted(r.subject for r in rs if not r.cohort.startswith("a-new"))  # noqa: E731
    shifted = 0
    for seed in range(10):
        base = split_recordings(before, test_fraction=0.25, val_fraction=0.15, seed=seed)
        plain = split_recordings(before + added, test_fraction=0.25, val_fraction=0.15, seed=seed)
        last = split_recordings(before + added, test_fraction=0.25, val_fraction=0.15, seed=seed,
                                draw_last_sources=["a-new"])
        shifted += [names(p) for p in plain] != [names(b) for b in base]
        assert [names(p) for p in last] == [names(b) for b in base]
        new = [{r.subject for r in part if r.cohort.startswith("a-new")} for part in last]
        assert all(new) and not (new[0] & new[1]) and not (new[0] & new[2]) and not (new[1] & new[2])
    assert shifted  # without it, adding the source would have moved the others' subjects


def _tagged(source, n_subjects, fixed_test=()):
    return [Recording(np.zeros((10, 1), np.float32), 50.0, ("x",), subject=f"{source}-{s:02d}", cohort=source,
                      source=f"{source}/{s:02d}", split="test" if s in fixed_test else "")
            for s in range(n_subjects)]


def test_split_by_source_keeps_a_fixed_test_split_and_draws_the_other_sources_held_out_groups():
    """A source with a fixed test split (MIT-BIH's DS2) keeps exactly it; the joint draw would leave every other
    source without a test group (all of them train or validate), split_by_source draws theirs as each alone."""
    real = _tagged("real", 20, fixed_test=range(10))
    gen = _tagged("gen", 40)
    rule = dict(test_fraction=0.25, val_fraction=0.15, seed=7)
    joint_test = split_recordings(real + gen, **rule)[2]
    assert {r.cohort for r in joint_test} == {"real"}  # the problem: no generated subject is held out
    train, val, test = split_by_source(real + gen, **rule)
    assert_disjoint(train, val, test)
    assert {r.subject for r in test if r.cohort == "real"} == {f"real-{s:02d}" for s in range(10)}
    assert not [r for r in train + val if r.split == "test"]
    gen_alone = split_recordings(gen, **rule)
    assert [[r.source for r in part] for part in gen_alone] == [
        [r.source for r in part if r.cohort == "gen"] for part in (train, val, test)]
    assert {r.cohort for r in val} == {"real", "gen"}


def test_split_by_source_refuses_no_val_sources():
    with pytest.raises(ValueError, match="no_val_sources is for the joint draw"):
        split_by_source(_tagged("a", 6) + _tagged("b", 6), test_fraction=0.25, val_fraction=0.15, seed=1,
                        no_val_sources=["a"])


def test_evaluation_leaves_out_recordings_shorter_than_one_window_with_a_notice(capsys):
    """A held-out 9.6 s CinC 2017 strip beside 10 s windows has no decision (predict refuses it): evaluation
    scores the others and says how many it left out, instead of stopping the whole evaluation."""
    from tinyml.apps import load_app
    from tinyml.scoring import scorable

    m = load_app("heart-rate-anomaly").manifest
    W = int(m.features["window"])
    short = Recording(np.zeros((W - 100, 1), np.float32), m.rate, ("ecg",), subject="s", source="A02345.mat")
    longer = Recording(np.zeros((W, 1), np.float32), m.rate, ("ecg",), subject="l", source="A00001.mat")
    at_300 = Recording(np.zeros((int(W * 300 / m.rate), 1), np.float32), 300.0, ("ecg",), subject="h", source="x")
    assert [r.subject for r in scorable(m, [short, longer, at_300])] == ["l", "h"]
    assert "1 held-out recording(s) shorter than one window (10 s) not scored, e.g. A02345.mat" in capsys.readouterr().err
