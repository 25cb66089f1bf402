"""Debian packages a verb needs: an executable on PATH, or a data file (a Festival voice), proves each."""

from __future__ import annotations

import pytest

from tinyml import system_deps
from tinyml.errors import TinymlError


def test_missing_packages_by_executable_and_by_path(monkeypatch, tmp_path):
    monkeypatch.setitem(system_deps.NEEDS, "probe", {
        "sh": "dash", str(tmp_path): "present-data", str(tmp_path / "voice"): "voice-data",
        "tinyml-no-such-tool": "tool-pkg"})
    assert system_deps.missing_packages("probe") == ["tool-pkg", "voice-data"]
    (tmp_path / "voice").mkdir()
    assert system_deps.missing_packages("probe") == ["tool-pkg"]


def test_unknown_purpose():
    with pytest.raises(TinymlError, match="unknown purpose"):
        system_deps.missing_packages("nonsense")
