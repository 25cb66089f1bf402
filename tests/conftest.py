"""Shared fixtures: the discovered apps, and a runner for the CLI in-process or as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tinyml.apps import discover, load_app
from tinyml.paths import repo_root

ROOT = repo_root()
APPS = discover()


def pytest_generate_tests(metafunc):
    if "app_id" in metafunc.fixturenames:
        metafunc.parametrize("app_id", APPS)


@pytest.fixture
def app(app_id):
    return load_app(app_id)


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 600):
    """Run `tinyml` as a user would; returns CompletedProcess with text stdout/stderr."""
    exe = Path(sys.executable).with_name("tinyml")
    e = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    return subprocess.run([str(exe), *args], capture_output=True, text=True, cwd=cwd or ROOT, env=e, timeout=timeout)
