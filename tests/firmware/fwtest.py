"""Helpers shared by the firmware tests (imported as `fwtest`; tests/firmware is on sys.path)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SRC = HERE / "src"
FIXTURE_APPS = HERE / "fixtures"


def need(*exes: str) -> None:
    missing = [e for e in exes if not shutil.which(e)]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (make test installs them: tinyml system-deps test)")




def fixture_app(root: Path | None = None):
    from tinyml.apps import load_app

    return load_app("mean-alarm", root=root or FIXTURE_APPS)


def demo_signal(app):
    from tinyml.recording import read_recording

    return read_recording(app.dir / "demo.csv", app.manifest.channels).signal


def copy_fixture(tmp_path: Path) -> Path:
    """A private copy of the fixture app (to add or break sources in a test)."""
    import shutil

    dst = tmp_path / "apps" / "mean-alarm"
    shutil.copytree(FIXTURE_APPS / "mean-alarm", dst)
    return dst
