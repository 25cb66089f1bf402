"""Where things live. The repo root is found once; everything else derives from it."""

from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path:
    env = os.environ.get("TINYML_ROOT")
    if env:
        return Path(env).resolve()
    # Editable install: shared/tinyml/paths.py -> repo root is two folders above the package.
    here = Path(__file__).resolve().parents[2]
    if (here / "apps").is_dir():
        return here
    cwd = Path.cwd().resolve()
    for p in (cwd, *cwd.parents):
        if (p / "apps").is_dir() and (p / "pyproject.toml").is_file():
            return p
    return here


def apps_dir() -> Path:
    return repo_root() / "apps"


def datasets_dir() -> Path:
    return repo_root() / "datasets"


def firmware_dir() -> Path:
    return repo_root() / "firmware"


def build_dir(*parts: str) -> Path:
    """Generated output only (git-ignored): build/<app>/<board>/..."""
    return repo_root().joinpath("build", *parts)


def cache_dir(*parts: str) -> Path:
    """Cached generated datasets, outside git. Override with TINYML_CACHE."""
    base = Path(os.environ.get("TINYML_CACHE", repo_root() / "build" / "cache"))
    return base.joinpath(*parts)
