"""The core resolves the fall datasets: a manifest [dataset] path -> sisfall loader, no path -> generator."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tinyml.apps import load_module
from tinyml.manifest import load_manifest
from tinyml.paths import apps_dir, datasets_dir

APP = apps_dir() / "fall-detect" / "app.toml"
pytestmark = pytest.mark.skipif(not APP.is_file(), reason="fall-detect app not present")


def _manifest(tmp_path, path: str, options: str | None = None):
    text = APP.read_text()
    text = re.sub(r'(?m)^path\s*=\s*"[^"]*"', f'path = "{path}"', text, count=1)
    if options is not None:
        text = re.sub(r"(?m)^smoke_options\s*=.*$", f"smoke_options = {options}", text, count=1)
    d = tmp_path / "fall-detect"
    d.mkdir()
    (d / "app.toml").write_text(text)
    return load_manifest(d / "app.toml")


def test_manifest_path_reads_sisfall(tmp_path):
    from tinyml.data.source import build_dataset

    fx = load_module(datasets_dir() / "sisfall" / "fixture.py", "tinyml_datasets.sisfall_fixture")
    written = fx.write_fixture(tmp_path / "SisFall_dataset")
    m = _manifest(tmp_path, str(tmp_path / "SisFall_dataset"))
    recs = build_dataset(m, smoke=True, progress=False)
    assert len(recs) == len(written)
    assert all(r.rate == m.rate and r.signal.shape[1] == len(m.channels) for r in recs)
    assert {r.label for r in recs} == {"fall", "adl"}


def test_no_path_runs_the_generator(tmp_path, monkeypatch):
    from tinyml.data.source import build_dataset

    monkeypatch.setenv("TINYML_CACHE", str(tmp_path / "cache"))
    m = _manifest(tmp_path, "", '{ subjects = 3, trials_per_activity = 1, stream_hours = 0.05, activities = ["F01", "D10"] }')
    recs = build_dataset(m, smoke=True, progress=False)
    again = build_dataset(m, smoke=True, progress=False)  # from the cache
    assert len(recs) == 3 * 3 and len(again) == len(recs)
    assert all(r.rate == m.rate for r in recs)
    np.testing.assert_array_equal(recs[0].signal, again[0].signal)
    assert list((tmp_path / "cache" / "datasets").glob("synthetic-falls-*/samples.npy"))
