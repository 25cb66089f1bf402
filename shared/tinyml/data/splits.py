"""Group-wise splits: a subject (person, voice, machine) lands in exactly one of train/val/test."""

from __future__ import annotations

import sys
from collections.abc import Collection
from typing import Any

import numpy as np

from ..errors import TinymlError
from ..manifest import Manifest
from ..recording import Recording
from .source import build_dataset, declared_sources, resolve_sources


def load_splits(m: Manifest, smoke: bool = False, progress: bool | None = None):
    """The manifest's dataset split into (train, val, test) by its [dataset] rule and seed."""
    ds = m.dataset
    names = {s.name for s in declared_sources(m, smoke)} | ({ds["name"]} if ds["name"] else set())
    for key in ("no_val_sources", "draw_last_sources", "reported_apart_sources"):
        unknown = sorted(set(ds[key]) - names)
        if unknown:
            raise TinymlError(f"{m.path}: [dataset] {key} names {unknown[0]!r}, which is no source of this "
                              f"dataset; sources: {', '.join(sorted(names))}")
    used = [s.name for s in resolve_sources(m, smoke, notice=False)]
    if len(used) == 1 and used[0] in ds["no_val_sources"]:
        raise TinymlError(f"{m.path}: [dataset] no_val_sources names {used[0]!r}, the only source in use: "
                          "nothing would be left for validation")
    # the manifest's checks above come first: building the dataset can take minutes
    recs = build_dataset(m, smoke=smoke, progress=not smoke if progress is None else progress)
    try:
        if ds["split_per_source"]:  # each source draws its own groups: drawing any of them last changes nothing
            return split_by_source(recs, test_fraction=ds["test_fraction"], val_fraction=ds["val_fraction"],
                                   seed=ds["seed"], no_val_sources=ds["no_val_sources"])
        return split_recordings(recs, test_fraction=ds["test_fraction"], val_fraction=ds["val_fraction"],
                                seed=ds["seed"], no_val_sources=ds["no_val_sources"],
                                draw_last_sources=ds["draw_last_sources"])
    except ValueError as e:
        raise TinymlError(f"{m.path}: [dataset] split: {e}") from None


def recorded_split(card: dict, source: str) -> dict[str, set[str]] | None:
    """The subjects a model's card records for one source, per part ({"train"|"val"|"test": subjects}; its cohorts
    joined: "sisfall/adult" is sisfall's), None when the card records none of that source: what a report on real
    data scores as held out, whatever another download of the data would draw."""
    cohorts = (card.get("dataset") or {}).get("cohorts") or {}
    parts = [p for c, p in cohorts.items() if c.split("/")[0] == source]
    if not parts:
        return None
    return {k: {s for p in parts for s in p.get(k, [])} for k in ("train", "val", "test")}


def held_out_as_trained(train, val, test, recorded: dict | None, complete: bool = False):
    """The held-out recordings of the split a model was trained with, as its card records it (`recorded`: the
    card's dataset `cohorts`, {cohort: {"train"|"val"|"test": [subjects]}}), so re-evaluating never scores a
    subject the model trained on, even when the data differ from training's (a real source's folder not set
    now, which changes the draw): the recordings of the recorded test subjects; a notice names the recorded
    test subjects that are not in the data now. Nothing recorded: `test` as drawn. complete: refuse instead
    of the notice (a card rewritten from part of its held-out data would silently replace the figures of the
    part left out, e.g. a real source's, with the others')."""
    if not recorded:
        return test
    held = {s for parts in recorded.values() for s in parts.get("test", [])}
    out = [r for r in train + val + test if r.subject in held]
    missing = sorted(held - {r.subject for r in out})
    if missing and complete:
        cohorts = sorted(c for c, parts in recorded.items() if set(parts.get("test", [])) & set(missing))
        raise TinymlError(f"{len(missing)} held-out subject(s) the card records are not in the data now (cohort "
                          f"{', '.join(cohorts)}: e.g. {missing[0]}): a card rewritten without them would lose their "
                          "figures; set [dataset] as when the model was trained (a real source's folder: "
                          "--set dataset.path=DIR)")
    if missing:
        print(f"notice: {len(missing)} held-out subject(s) of the model's training split are not in the data now "
              f"(e.g. {missing[0]}; a real source's path not set?): evaluated without them", file=sys.stderr)
    if not out:
        raise TinymlError("none of the held-out subjects the model's card records is in the data; "
                          "set [dataset] as when it was trained")
    return out


def check_kept_unseen(m: Manifest, kept: Collection[str], trained: dict | None, held_out: Collection[str],
                      remedy: str) -> None:
    """Refuse, in one line, a run whose validation or held-out subjects (`held_out`) include one a kept model
    trained on (`train --keep`, `promote --models`: the committed models that stay). `trained`: the committed
    card's dataset `cohorts` ({cohort: {"train": [subjects], ...}}); a source that trains only other models
    (`models`) taught the kept one nothing and is left out. Nothing recorded: nothing to check."""
    sources = {s.name: s for s in declared_sources(m)}
    held = set(held_out)
    for name in kept:
        seen = {subject for cohort, parts in (trained or {}).items()
                if cohort.split("/")[0] not in sources or sources[cohort.split("/")[0]].trains(name)
                for subject in parts.get("train", [])}
        leaked = sorted(seen & held)
        if leaked:
            key = f"models.{name}" if name else "model"
            raise TinymlError(f"the committed [{key}] model trained on {len(leaked)} subject(s) this run holds out "
                              f"for validation or test (e.g. {', '.join(leaked[:3])}): its figures would be on its "
                              f"own training data; {remedy}")


def split_recordings(
    recs: list[Recording], *, test_fraction: float, val_fraction: float, seed: int, key: str = "subject",
    no_val_sources: Collection[str] = (), draw_last_sources: Collection[str] = (),
) -> tuple[list[Recording], list[Recording], list[Recording]]:
    """Shuffle the distinct groups with `seed`, then cut by group count, never by recording. Recordings
    marked split="train" (generated augmentation material, e.g. random synthetic voices) always train and
    take no part in the draw, so adding them leaves the held-out groups as they were. Recordings marked
    split="test" form the test split by themselves (a dataset's official test set, e.g. MIT-BIH DS2): then
    only the validation groups are drawn, from the rest. Likewise split="val" (a dataset's official
    validation set, e.g. Speech Commands' speaker-hash rule): then only the test groups are drawn; a dataset
    that fixes both leaves every unmarked group to training.

    When recordings carry a `cohort` (several sources, or a dataset's own groups such as SisFall's elderly),
    the draw is made within each stratum (cohort, whether the group has event trials), so every cohort, and
    the few subjects of a cohort who performed the events, reach the held-out splits; a stratum of one
    group goes to test. Without cohorts there is one stratum and the split is the plain draw.

    `no_val_sources` names sources (a cohort's first part, as build_dataset tags several sources) that give
    no validation group: their groups are drawn for test as before (the same draw, so the same test groups)
    and every other group of theirs trains. For a real rig with few operating conditions beside a generator:
    each condition trains, and validation (model choice, early stopping, thresholds) is the generator's.

    `draw_last_sources` names sources whose strata are drawn after every other stratum (same generator, same
    rule), so adding such a source to a dataset leaves the other sources' train/val/test groups exactly as they
    were: a model trained before it was added is then compared on held-out groups it never trained on."""
    fixed_test = {_group(r, key) for r in recs if r.split == "test"}
    fixed_val = {_group(r, key) for r in recs if r.split == "val"}
    both = fixed_test & fixed_val
    if both:
        raise ValueError(f"{key} {sorted(both)[0]!r} is marked both val and test")
    groups = sorted({_group(r, key) for r in recs if r.split not in ("train", "test", "val")} - fixed_test - fixed_val)
    no_val = set(no_val_sources)
    no_val_groups = {_group(r, key) for r in recs if r.cohort.split("/")[0] in no_val}
    if no_val_groups & fixed_val:
        raise ValueError(f"{key} {sorted(no_val_groups & fixed_val)[0]!r} is marked val but its source is in "
                         "no_val_sources")
    rng = np.random.default_rng(seed)
    if fixed_test and fixed_val:
        test_g, val_g = fixed_test, fixed_val
    elif fixed_val:
        if len(groups) < 2:
            raise ValueError(f"need at least 2 distinct {key}s outside the fixed validation split, found {len(groups)}")
        test_g, val_g = set(), set(fixed_val)
        for stratum in _strata([r for r in recs if _group(r, key) in set(groups)], key, draw_last_sources):
            order = [stratum[i] for i in rng.permutation(len(stratum))]
            test_g.update(order[: max(1, round(test_fraction * len(stratum)))])
    elif fixed_test:
        if len(groups) < 2:
            raise ValueError(f"need at least 2 distinct {key}s outside the fixed test split, found {len(groups)}")
        order = [groups[i] for i in rng.permutation(len(groups))]
        test_g = fixed_test
        val_g = set(order[: max(1, round(val_fraction * (len(groups) + len(fixed_test))))][: len(groups) - 1])
        val_g -= no_val_groups
    else:
        if len(groups) < 3:
            raise ValueError(f"need at least 3 distinct {key}s to split, found {len(groups)}")
        test_g, val_g = set(), set()
        for stratum in _strata([r for r in recs if r.split != "train"], key, draw_last_sources):
            order = [stratum[i] for i in rng.permutation(len(stratum))]
            n_test = max(1, round(test_fraction * len(stratum)))
            n_val = 0 if set(stratum) <= no_val_groups else max(1, round(val_fraction * len(stratum)))
            test_g.update(order[:n_test])
            val_g.update(order[n_test : n_test + n_val])
    if no_val and not val_g:
        raise ValueError(f"no_val_sources {sorted(no_val)} leaves no validation {key}")
    for name, held in (("test", test_g), ("val", val_g)):
        leak = {_group(r, key) for r in recs if r.split == "train"} & held
        if leak:
            raise ValueError(f"{key} {sorted(leak)[0]!r} is marked both train and {name}")
    train = [r for r in recs if r.split == "train" or _group(r, key) not in test_g | val_g]
    val = [r for r in recs if _group(r, key) in val_g]
    test = [r for r in recs if _group(r, key) in test_g]
    assert_disjoint(train, val, test, key=key)
    return train, val, test


def split_by_source(recs: list[Recording], **rule: Any) -> tuple[list[Recording], list[Recording], list[Recording]]:
    """Each source (a cohort's first part, as build_dataset tags several sources) split on its own by
    split_recordings' rule and seed, then joined: a source that fixes its test groups (MIT-BIH's DS2) keeps them
    while every other source still draws its own test and validation groups (in the joint draw a fixed test
    split anywhere leaves every other group to train or validate), and a source's draw is the one it gets alone."""
    if rule.get("no_val_sources"):
        raise ValueError("no_val_sources is for the joint draw; with split_per_source each source draws its own "
                         "validation groups")
    by_source: dict[str, list[Recording]] = {}
    for r in recs:
        by_source.setdefault(r.cohort.split("/")[0], []).append(r)
    parts = []
    for name in sorted(by_source):
        try:
            parts.append(split_recordings(by_source[name], **rule))
        except ValueError as e:
            raise ValueError(f"source {name or '(untagged)'}: {e}") from None
    train, val, test = ([r for part in parts for r in part[i]] for i in range(3))
    assert_disjoint(train, val, test, key=rule.get("key", "subject"))
    return train, val, test


def _strata(recs: list[Recording], key: str, last: Collection[str] = ()) -> list[list[str]]:
    """Sorted groups per stratum, strata in a fixed order (those of the sources in `last` after the others);
    one stratum when no recording has a cohort."""
    groups = sorted({_group(r, key) for r in recs})
    if not any(r.cohort for r in recs):
        return [groups]
    cohort: dict[str, str] = {}
    has_events: dict[str, bool] = {}
    for r in recs:
        g = _group(r, key)
        if cohort.setdefault(g, r.cohort) != r.cohort:
            raise ValueError(f"{key} {g!r} belongs to two cohorts: {cohort[g]!r} and {r.cohort!r}")
        has_events[g] = has_events.get(g, False) or bool(r.events)
    strata: dict[tuple[str, bool], list[str]] = {}
    for g in groups:
        strata.setdefault((cohort[g], has_events[g]), []).append(g)
    last = set(last)
    return [strata[k] for k in sorted(strata, key=lambda k: (k[0].split("/")[0] in last, k))]


def _group(r: Recording, key: str) -> str:
    return r.subject if key == "subject" else r.source


def assert_disjoint(*splits: list[Recording], key: str = "subject") -> None:
    seen: dict[str, int] = {}
    for i, split in enumerate(splits):
        for r in split:
            g = _group(r, key)
            if seen.setdefault(g, i) != i:
                raise AssertionError(f"{key} {g!r} leaks between split {seen[g]} and split {i}")
