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


