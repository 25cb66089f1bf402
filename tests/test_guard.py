"""The core stays generic: nothing in shared/ or firmware/ names an app."""

from pathlib import Path

from apptest import APPS, ROOT


def _sources(folder: Path):
    for p in folder.rglob("*"):
        if p.is_file() and p.suffix in {".py", ".c", ".h", ".mk", ".ld", ".s", ".S", ".toml", ".md"}:
            yield p


def test_core_names_no_app():
    assert APPS, "no apps discovered"
    offenders = []
    for folder in (ROOT / "shared", ROOT / "firmware"):
        for p in _sources(folder):
            text = p.read_text(errors="ignore")
            for app_id in APPS:
                for spelling in {app_id, app_id.replace("-", "_")}:
                    if spelling in text:
                        offenders.append(f"{p.relative_to(ROOT)} names {spelling!r}")
    assert not offenders, "\n".join(offenders)


def test_guard_can_fail(tmp_path):
    """The guard's own check flags a file that names an app."""
    (tmp_path / "x.py").write_text(f"APP = '{APPS[0]}'\n")
    assert any(APPS[0] in p.read_text() for p in _sources(tmp_path))
