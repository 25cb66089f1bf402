"""The core resolves fall-detect's sources: SisFall from $SISFALL plus the generator; without SisFall (a fresh
clone) the generator alone, with a notice."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tinyml.apps import load_module
from tinyml.manifest import load_manifest
from tinyml.paths import apps_dir, datasets_dir

APP = apps_dir() / "fall-detect" / "app.toml"
pytestmark = pytest.mark.skipif(not APP.is_file(), reason="fall-detect app not present")
TINY = '{ subjects = 3, trials_per_activity = 1, stream_hours = 0.05, activities = ["F01", "D10"] }'


def _manifest(tmp_path):
    """fall-detect's manifest with tiny generator options for smoke runs (every smoke_options line)."""
    text = re.sub(r"(?m)^smoke_options\s*=\s*\{ subjects = 6.*$", f"smoke_options = {TINY}", APP.read_text())
    d = tmp_path / "fall-detect"
    d.mkdir()
    (d / "app.toml").write_text(text)
    return load_manifest(d / "app.toml")


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYML_CACHE", str(tmp_path / "cache"))


def test_sisfall_and_the_generator(tmp_path, monkeypatch):
    from tinyml.data.source import build_dataset

    fx = load_module(datasets_dir() / "sisfall" / "fixture.py", "tinyml_datasets.sisfall_fixture")
    written = fx.write_fixture(tmp_path / "SisFall_dataset")
    monkeypatch.setenv("SISFALL", str(tmp_path / "SisFall_dataset"))
    m = _manifest(tmp_path)
    recs = build_dataset(m, smoke=True, progress=False)
    real = [r for r in recs if r.cohort.startswith("sisfall/")]
    assert len(real) == len(written)
    assert {r.cohort for r in recs} == {"sisfall/adult", "sisfall/elderly", "synthetic-falls"}
    assert all(r.rate == m.rate and r.signal.shape[1] == len(m.channels) for r in recs)
    assert {r.label for r in real} == {"fall", "adl"}


def test_without_sisfall_the_generator_trains(tmp_path, monkeypatch, capsys):
    from tinyml.data.source import build_dataset

    monkeypatch.delenv("SISFALL", raising=False)
    m = _manifest(tmp_path)
    recs = build_dataset(m, smoke=True, progress=False)
    assert "source sisfall: path $SISFALL is not set" in capsys.readouterr().err
    again = build_dataset(m, smoke=True, progress=False)  # from the cache
    assert len(recs) == 3 * 3 and len(again) == len(recs)
    assert all(r.rate == m.rate for r in recs)
    np.testing.assert_array_equal(recs[0].signal, again[0].signal)
    assert list((tmp_path / "cache" / "datasets").glob("synthetic-falls-*/samples.npy"))
