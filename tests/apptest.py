"""Helpers for the generic tests: the discovered apps and a runner for the CLI as a user runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tinyml.apps import discover
from tinyml.paths import repo_root

ROOT = repo_root()
APPS = discover()


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 600):
    """Run `tinyml` as a user would; returns CompletedProcess with text stdout/stderr."""
    exe = Path(sys.executable).with_name("tinyml")
    e = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    return subprocess.run([str(exe), *args], capture_output=True, text=True, cwd=cwd or ROOT, env=e, timeout=timeout)


def template_repo(tmp_path: Path, folder: str) -> Path:
    """A scratch repository: apps/_template copied to apps/<folder>, the real datasets/ and firmware/ linked."""
    root = tmp_path / "repo"
    (root / "apps").mkdir(parents=True)
    shutil.copytree(ROOT / "apps" / "_template", root / "apps" / folder)
    for name in ("datasets", "firmware"):
        (root / name).symlink_to(ROOT / name)
    (root / "pyproject.toml").write_text("")
    return root
