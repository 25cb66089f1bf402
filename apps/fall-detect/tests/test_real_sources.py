"""fall-detect's real sources (SisFall, MobiFall, SmartFallMM) from their env vars, split by subject within each
cohort: every cohort has its own train/val/test people, and no held-out person's recording trains. The
folders are fixtures in each data set's real layout (simulated values, never real data)."""

from __future__ import annotations

import pytest

from tinyml.apps import load_app, load_module
from tinyml.data import load_splits
from tinyml.paths import datasets_dir

REAL = {"SISFALL": "sisfall", "MOBIFALL": "mobifall", "SMARTFALLMM": "smartfallmm"}


@pytest.fixture()
def real_folders(tmp_path, monkeypatch):
    for var, name in REAL.items():
        fx = load_module(datasets_dir() / name / "fixture.py", f"tinyml_datasets.{name}_fixture")
        fx.write_fixture(tmp_path / name, seed=1)
        monkeypatch.setenv(var, str(tmp_path / name))
    return tmp_path


def test_each_real_cohort_is_split_by_subject_and_no_held_out_subject_trains(real_folders):
    m = load_app("fall-detect").manifest
    train, val, test = load_splits(m, smoke=True, progress=False)
    people = lambda rs: {(r.cohort, r.subject) for r in rs}  # noqa: E731
    trained = {s for _, s in people(train)}
    assert not trained & {s for _, s in people(val) | people(test)}
    for cohort in ("mobifall", "smartfallmm/young"):  # the cohorts with falls reach every split
        for part in (train, val, test):
            assert any(c == cohort for c, _ in people(part)), (cohort, len(part))
    # one person's hip and pocket files are one group: all in the same split
    where = {}
    for i, part in enumerate((train, val, test)):
        for r in part:
            assert where.setdefault(r.subject, i) == i


def test_a_real_source_not_set_is_left_out_with_a_notice(real_folders, monkeypatch, capsys):
    monkeypatch.delenv("MOBIFALL")
    m = load_app("fall-detect").manifest
    train, val, test = load_splits(m, smoke=True, progress=False)
    assert not any(r.cohort.startswith("mobifall") for r in train + val + test)
    assert "notice: [dataset] source mobifall: path $MOBIFALL is not set; left out" in capsys.readouterr().err
