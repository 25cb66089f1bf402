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


def _fake_apt(monkeypatch, calls, missing_after=()):
    """apt-get as root, recorded instead of run; which() finds apt-get and whatever is not in missing_after."""
    import subprocess

    monkeypatch.setattr(system_deps.os, "geteuid", lambda: 0)
    monkeypatch.setattr(system_deps.shutil, "which",
                        lambda exe: None if exe in missing_after else f"/usr/bin/{exe}")

    def run(cmd, **kw):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(system_deps.subprocess, "run", run)


def test_install_says_what_and_why_before_running_apt(monkeypatch, capsys):
    calls: list = []
    monkeypatch.setattr(system_deps, "missing_packages", lambda purpose: ["espeak-ng", "sox"])
    _fake_apt(monkeypatch, calls)
    system_deps.ensure("audio")
    err = capsys.readouterr().err
    assert err.startswith("installing Debian packages for the speech synthesisers")
    assert "espeak-ng sox" in err and "README.md, System packages" in err
    assert calls[-1][:3] == ["apt-get", "install", "-y"] and calls[-1][-2:] == ["espeak-ng", "sox"]


def test_a_flashing_tool_is_not_installed_without_a_yes(monkeypatch, capsys):
    calls: list = []
    _fake_apt(monkeypatch, calls, missing_after={"openocd"})
    monkeypatch.setattr(system_deps.sys.stdin, "isatty", lambda: False, raising=False)
    with pytest.raises(TinymlError) as e:
        system_deps.ensure_tool("openocd", "openocd", "flashing nucleo")
    assert "openocd not found (flashing nucleo needs it); install it: apt-get install -y openocd" in str(e.value)
    assert "--yes" in str(e.value) and calls == []
    monkeypatch.setenv("TINYML_MAKE", "1")
    with pytest.raises(TinymlError, match="give YES=1 to let tinyml install it"):
        system_deps.ensure_tool("openocd", "openocd", "flashing nucleo")
    assert calls == []


@pytest.mark.parametrize("answer, installs", [("y\n", True), ("\n", False), ("no\n", False)])
def test_a_flashing_tool_asks_at_a_terminal(monkeypatch, capsys, answer, installs):
    import io

    calls: list = []
    _fake_apt(monkeypatch, calls, missing_after={"bossac"})

    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(system_deps.sys, "stdin", Tty(answer))
    monkeypatch.setattr(system_deps.sys, "stderr", Tty())
    if installs:
        with pytest.raises(TinymlError, match="still not found after installing bossa-cli"):  # the fake apt installs nothing
            system_deps.ensure_tool("bossac", "bossa-cli", "flashing nano")
        assert calls[-1][:3] == ["apt-get", "install", "-y"] and "bossa-cli" in calls[-1]
    else:
        with pytest.raises(TinymlError, match="bossac not found"):
            system_deps.ensure_tool("bossac", "bossa-cli", "flashing nano")
        assert calls == []
    assert "install it now with apt-get install -y bossa-cli? [y/N]" in system_deps.sys.stderr.getvalue()


def test_yes_installs_without_asking(monkeypatch):
    calls: list = []
    _fake_apt(monkeypatch, calls, missing_after={"openocd"})
    with pytest.raises(TinymlError, match="still not found"):
        system_deps.ensure_tool("openocd", "openocd", "flashing nucleo", yes=True)
    assert calls[-1][-1] == "openocd"


def test_readme_lists_every_package_each_verb_installs():
    """README.md, System packages: every package of every purpose, and every board's flashing tool."""
    from tinyml.device.board import load_board
    from tinyml.paths import firmware_dir, repo_root

    readme = (repo_root() / "README.md").read_text()
    section = readme.split("## System packages", 1)[1].split("\n## ", 1)[0]
    packages = {pkg for needs in system_deps.NEEDS.values() for pkg in needs.values()}
    packages |= {pkg for extra in system_deps.EXTRA_PACKAGES.values() for pkg in extra}
    for mk in (firmware_dir() / "boards").glob("*/board.mk"):
        pkg = load_board(mk.parent.name).get("FLASH_PKG")
        if pkg:
            packages.add(pkg)
    missing = sorted(p for p in packages if f"`{p}`" not in section)
    assert not missing, f"README.md, System packages, does not list {missing}"


def test_the_cli_imports_this_module_only_for_the_verbs_that_install(capsys):
    """Every command built the parser, and the parser imported tinyml.system_deps for one help line (about 5 ms of
    each start): it is imported when a verb installs, and system-deps --help still lists every purpose."""
    import subprocess
    import sys

    from tinyml.cli import main

    code = "import sys, tinyml.cli as c; c.build_parser(); print('tinyml.system_deps' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "False", r.stdout + r.stderr
    with pytest.raises(SystemExit):
        main(["system-deps", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"one of {', '.join(system_deps.NEEDS)} (README" in text, text


def test_the_parser_passes_python_3_14s_help_check_without_importing_this_module():
    """Python 3.14's argparse expands each argument's help inside add_argument and refuses a %(name)s it cannot
    fill there: system-deps' help filled %(purposes)s from an attribute set after add_argument, which would fail
    every command. The parser is built here under that check (as 3.14 makes it, on any Python), and this module
    is still not imported."""
    import subprocess
    import sys

    code = """if True:
        import argparse, sys
        add = argparse._ActionsContainer.add_argument
        def checked(self, *a, **k):  # Python 3.14's _check_help
            action = add(self, *a, **k)
            if action.help and hasattr(self, "_get_formatter"):
                self._get_formatter()._expand_help(action)
            return action
        argparse._ActionsContainer.add_argument = checked
        import tinyml.cli as c
        c.build_parser()
        print('tinyml.system_deps' in sys.modules)
    """
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "False", r.stdout + r.stderr
