"""The repository's documents stand alone and stay true to the code they describe."""

from __future__ import annotations

import dataclasses
import re

from tinyml.recording import Recording

from apptest import ROOT

DOCS = sorted((ROOT / "docs").glob("*.md"))


def test_docs_point_at_nothing_outside_the_repository():
    """No design notes or issue texts a reader of the repository cannot open."""
    for path in [ROOT / "README.md", *DOCS, *sorted((ROOT / "datasets").glob("*/README.md"))]:
        text = path.read_text()
        for pattern in (r"ANCHORS\.md", r"ARCHITECTURE\.md", r"the issue'?s? (targets|text)", r"/work/"):
            assert not re.search(pattern, text), f"{path}: mentions {pattern!r}, which is outside the repository"


def test_every_relative_link_in_the_docs_resolves():
    for path in [ROOT / "README.md", *DOCS]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", path.read_text()):
            assert (path.parent / target).exists(), f"{path}: link to {target} leads nowhere"


def test_the_guide_lists_every_recording_field():
    text = (ROOT / "docs" / "adding-an-app.md").read_text()
    section = text.split("### The Recording each returns", 1)[1].split("\n#", 1)[0]
    documented = re.findall(r"^\| `(\w+)` \|", section, re.M)
    assert documented == [f.name for f in dataclasses.fields(Recording)]


def test_the_guides_commands_are_make_targets():
    makefile = (ROOT / "Makefile").read_text()
    phony = {v for line in re.findall(r"^\.PHONY:(.*)$", makefile, re.M) for v in line.split()}
    text = (ROOT / "docs" / "adding-an-app.md").read_text()
    verbs = set(re.findall(r"^make (?:app=\S+ )?([a-z]+)", text, re.M))
    assert verbs and verbs <= phony, f"not make targets: {sorted(verbs - phony)}"


def test_the_readme_counts_the_apps_there_are():
    """A count of apps in the README goes stale as apps come and go: it must match discovery, or not be there."""
    from tinyml.apps import discover

    words = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]
    text = (ROOT / "README.md").read_text().lower()
    for n in re.findall(r"\b(\w+) (?:on-device ml )?(?:applications|apps)\b", text):
        if n in words:
            assert words.index(n) == len(discover()), f"README.md says {n} apps; there are {len(discover())}"
