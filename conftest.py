"""Every test run (tests/ and apps/*/tests): real datasets stay out. The environment variables that apps'
real sources read ($SISFALL, $SPEECH_COMMANDS...) are unset for the session, so no test reads a developer's
copy of real data; tests use small fixtures written in the real layouts."""

import os
import re
from pathlib import Path

import pytest


@pytest.fixture(autouse=True, scope="session")
def _no_real_data():
    """Unset every $VAR an app's manifest names (its [[dataset.sources]] paths)."""
    names = set()
    for toml in (Path(__file__).parent / "apps").glob("*/app.toml"):
        for line in toml.read_text().splitlines():  # `path = "..."` values only: comments may name $PATH
            if re.match(r"\s*path\s*=", line):
                names |= set(re.findall(r"\$\{?([A-Z_][A-Z0-9_]*)", line.split("#")[0]))
    saved = {n: os.environ.pop(n) for n in names if n in os.environ}
    yield
    os.environ.update(saved)
