"""The Makefile: it picks a Python the pinned packages support (or says in one line what to install), rebuilds a
.venv made by another one, and passes every make variable a verb takes to the CLI as its flag."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from tinyml import hints
from tinyml.cli import build_parser

from apptest import ROOT

MAKEFILE = ROOT / "Makefile"
TOOLS = ("sh", "sed", "rm", "touch", "cut", "mkdir", "cp", "cat", "chmod", "env", "test", "[", "echo", "dirname")

FAKE_PYTHON = """#!/bin/sh
# a fake interpreter that says it is Python {version}; `-m venv DIR` makes DIR/bin/python (itself) and a pip that logs
if [ "$1" = "--version" ]; then echo "Python {version}.1"; exit 0; fi
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  mkdir -p "$3/bin" && cp "$0" "$3/bin/python"
  printf '#!/bin/sh\\necho "pip $*" >> "{log}"\\n' > "$3/bin/pip" && chmod +x "$3/bin/pip"
  echo "venv by {version}" >> "{log}"; exit 0
fi
exit 1
"""


def py_versions() -> list[str]:
    mo = re.search(r"^PY_VERSIONS\s*:=\s*(.+)$", MAKEFILE.read_text(), re.M)
    assert mo, "Makefile lacks PY_VERSIONS"
    return mo.group(1).split()


def test_python_versions_agree_with_requires_python():
    spec = SpecifierSet(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"])
    versions = py_versions()
    assert all(f"{v}.0" in spec for v in versions), (versions, spec)
    major, lo = map(int, versions[0].split("."))
    hi = int(versions[-1].split(".")[1])
    assert f"{major}.{lo - 1}.0" not in spec and f"{major}.{hi + 1}.0" not in spec, (versions, spec)
    assert [int(v.split(".")[1]) for v in versions] == list(range(lo, hi + 1))


class Sandbox:
    """A scratch folder with the Makefile, and a PATH holding only basic tools plus fake interpreters."""

    def __init__(self, tmp_path: Path):
        self.dir = tmp_path / "repo"
        self.dir.mkdir()
        shutil.copy(MAKEFILE, self.dir / "Makefile")
        shutil.copy(ROOT / "pyproject.toml", self.dir / "pyproject.toml")
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        for tool in (*TOOLS, "make"):
            exe = shutil.which(tool)
            if exe:
                (self.bin / tool).symlink_to(exe)
        self.log = tmp_path / "log"

    def python(self, name: str, version: str, where: Path | None = None) -> Path:
        p = (where or self.bin) / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(FAKE_PYTHON.format(version=version, log=self.log))
        p.chmod(0o755)
        return p

    def make(self, *args: str):
        env = {"PATH": str(self.bin), "HOME": str(self.dir)}
        return subprocess.run(["make", "--no-print-directory", *args], cwd=self.dir, env=env, capture_output=True,
                              text=True, timeout=60)

    def logged(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.is_file() else []


@pytest.fixture
def box(tmp_path):
    if not shutil.which("make"):
        pytest.skip("needs make")
    return Sandbox(tmp_path)


def test_a_too_new_python3_is_passed_over_for_a_supported_one(box):
    box.python("python3", "3.99")
    box.python(f"python{py_versions()[0]}", py_versions()[0])
    r = box.make("setup")
    assert r.returncode == 0, r.stderr
    assert f"creating .venv with python{py_versions()[0]}" in r.stdout
    assert box.logged()[0] == f"venv by {py_versions()[0]}"
    assert any(line.startswith("pip install") and "-e .[dev]" in line for line in box.logged())


def test_a_supported_python3_is_used(box):
    box.python("python3", py_versions()[-1])
    r = box.make("setup")
    assert r.returncode == 0 and box.logged()[0] == f"venv by {py_versions()[-1]}", r.stderr


def test_no_supported_python_is_one_line_saying_what_to_install(box):
    box.python("python3", "3.99")
    box.python("python3.10", "3.10")
    r = box.make("setup")
    assert r.returncode != 0 and not (box.dir / ".venv").exists()
    err = [x for x in r.stderr.splitlines() if not x.startswith("make:")]
    assert len(err) == 1, r.stderr
    assert err[0].startswith(f"error: needs Python {' '.join(py_versions())} (found: python3=3.99)")
    assert "install" in err[0] and "PYTHON=" in err[0]
    assert box.logged() == []


def test_an_explicit_python_is_checked_too(box):
    box.python(f"python{py_versions()[0]}", py_versions()[0])
    odd = box.python("python-odd", "3.10", where=box.dir.parent / "elsewhere")
    r = box.make("setup", f"PYTHON={odd}")
    assert r.returncode != 0 and "found: " + str(odd) + "=3.10" in r.stderr, r.stderr
    assert box.logged() == []


def test_a_venv_from_the_wrong_python_is_rebuilt(box):
    box.python(f"python{py_versions()[0]}", py_versions()[0])
    box.python("python3", "3.99")
    box.python("python", "3.10", where=box.dir / ".venv" / "bin")  # made by an unsupported interpreter
    (box.dir / ".venv" / ".installed").touch()  # and newer than pyproject.toml: make would trust it
    r = box.make("setup")
    assert r.returncode == 0, r.stderr
    assert ".venv was made by Python 3.10, not one of" in r.stdout and "rebuilding it" in r.stdout
    assert box.logged()[0] == f"venv by {py_versions()[0]}"
    # a good venv is left alone
    r = box.make("setup")
    assert r.returncode == 0 and "rebuilding" not in r.stdout and len(box.logged()) == 3, (r.stdout, box.logged())


# ---- verbs: each make variable reaches every verb that takes its flag ----

APP_VERBS = ("data", "train", "eval", "card", "compile", "profile", "size", "predict", "flash", "run", "bench", "eim",
             "calibrate")
VALUES = {"INPUT": "rec one.csv", "RATE": "50", "MODEL": "other.tflite", "EVENTS_ONLY": "1", "ALL_LINES": "1",
          "PORT": "/dev/ttyACM7", "board": "host", "SET": "postprocess.threshold=0.7 signal.rate=100",
          "SMOKE": "1", "YES": "1", "CHANNEL": "x=acc X;y=accY", "DEVICE": "1", "MQTT": "mqtts://gw@broker:8883/?ca=ca.pem",
          "CALIBRATION": "pump.calibration.json"}


def make_command(verb: str, **variables) -> list[str]:
    """The tinyml argv (after 'tinyml') that `make <verb>` runs, read off `make -n`."""
    args = [f"{k}={v}" for k, v in variables.items()]
    r = subprocess.run(["make", "-n", "--no-print-directory", "-o", ".venv/.installed", verb, *args], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = [shlex.split(x) for x in r.stdout.splitlines() if f"tinyml {verb}" in x]
    assert len(lines) == 1, r.stdout
    argv = lines[0]
    assert argv[0] == "TINYML_MAKE=1" and argv[1].endswith("tinyml"), argv
    return argv[2:]


def verb_flags(verb: str) -> dict[str, str]:
    """flag -> the attribute argparse stores it in, for one verb."""
    p = build_parser().verbs[verb]
    return {s: a.dest for a in p._actions for s in a.option_strings}


def test_every_make_variable_is_known_to_the_hints():
    assert set(VALUES) == set(hints.MAKE_VARS.values())
    text = MAKEFILE.read_text()
    for var in hints.MAKE_VARS.values():
        assert f"$({var})" in text or f"$(call yes,$({var}))" in text, var


@pytest.mark.parametrize("verb", APP_VERBS)
def test_make_passes_what_each_verb_takes(verb):
    if not shutil.which("make"):
        pytest.skip("needs make")
    flags = verb_flags(verb)
    takes = {flag: var for flag, var in hints.MAKE_VARS.items() if flag in flags}
    assert "--set" in takes, f"{verb} takes no --set"
    argv = make_command(verb, app="some-app", **{var: VALUES[var] for var in takes.values()})
    args = build_parser().parse_args(argv)
    assert args.app == "some-app"
    for flag, var in takes.items():
        got = getattr(args, flags[flag])
        if flag in hints.FLAGS_WITHOUT_VALUE:
            assert got is True, (flag, argv)
        elif flag == "--set":  # repeatable: one per word
            assert got == VALUES[var].split()
        elif flag == "--channel":  # repeatable: one per mapping, mappings separated by ';'
            assert got == VALUES[var].split(";")
        elif flag == "--board" and isinstance(got, list):  # size: one board or all
            assert got == [VALUES[var]]
        else:
            assert str(got) in (VALUES[var], str(float(VALUES[var])) if var == "RATE" else None), (flag, got)


@pytest.mark.parametrize("verb", APP_VERBS)
def test_every_option_of_a_verb_is_a_make_variable_or_cli_only(verb):
    unplaced = sorted(set(verb_flags(verb)) - set(hints.MAKE_VARS) - hints.CLI_ONLY)
    assert not unplaced, (f"tinyml {verb} {unplaced}: add each to tinyml.hints.MAKE_VARS and the Makefile's OPTS, "
                          "or to hints.CLI_ONLY")


def test_predict_takes_events_only_and_model_from_make():
    argv = make_command("predict", app="some-app", INPUT="r.csv", EVENTS_ONLY="1", MODEL="m.tflite")
    args = build_parser().parse_args(argv)
    assert args.events_only and args.model == "m.tflite" and args.input_option == "r.csv"


@pytest.mark.parametrize("value, mappings", [
    ("vwc=Water Content 10 CM", ["vwc=Water Content 10 CM"]),
    ("vwc=Water Content 10 CM; soil_temp_c=Temp 10 CM;", ["vwc=Water Content 10 CM", " soil_temp_c=Temp 10 CM"]),
    ("V5", ["V5"]),
    ("", None),
])
def test_channel_mappings_are_split_at_semicolons_and_keep_their_spaces(value, mappings):
    """CHANNEL="vwc=Water Content 10 CM" became --channel vwc=Water --channel Content ... (split at spaces)."""
    if not shutil.which("make"):
        pytest.skip("needs make")
    argv = make_command("predict", app="some-app", INPUT="r.csv", CHANNEL=value)
    assert build_parser().parse_args(argv).channel == mappings, argv


def test_a_column_name_with_spaces_is_read_through_make():
    from tinyml.readers import ReadSpec, parse_picks
    from tinyml.recording import read_recording

    if not shutil.which("make"):
        pytest.skip("needs make")
    hobo = ROOT / "tests" / "fixtures" / "loggers" / "HOBO_demo.csv"
    argv = make_command("predict", app="some-app", INPUT=str(hobo), CHANNEL="vwc=Water Content 10 CM")
    channels = ("vwc", "soil_temp_c")
    picks = parse_picks(build_parser().parse_args(argv).channel, channels)
    rec = read_recording(hobo, ReadSpec(channels=channels[:1], optional=channels[1:], picks=picks))
    assert rec.signal[0, 0] == pytest.approx(0.0137)  # the 10 CM column, not 30 CM (0.2257) or 1 M (0.2698)


def _run_tinyml(argv, env=None):
    exe = Path(sys.executable).with_name("tinyml")
    e = {**os.environ, "TINYML_MAKE": "1", **(env or {})}
    return subprocess.run([str(exe), *argv], capture_output=True, text=True, env=e, timeout=120)


@pytest.mark.parametrize("verb, variables, expect", [
    ("train", {"app": "{app}", "RATE": "50"}, "error: tinyml train: does not use RATE= (see make help)"),
    ("predict", {"app": "{app}", "INPUT": "rec.csv", "RATE": "fast"},
     "error: tinyml predict: argument RATE=: invalid float value: 'fast' (see make help)"),
    ("predict", {"app": "{app}", "INPUT": "rec.csv", "SET": "postprocess.nosuch=1"},
     "error: SET=postprocess.nosuch=1: [postprocess.nosuch] unknown key; allowed: "),
])
def test_make_usage_errors_are_one_line_in_make_words(verb, variables, expect):
    from apptest import APPS

    variables = {k: v.replace("{app}", APPS[0]) for k, v in variables.items()}
    argv = make_command(verb, **variables)
    r = _run_tinyml(argv)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1, r.stderr
    assert r.stderr.startswith(expect), r.stderr
    assert "--" not in r.stderr.split("(see")[0], r.stderr


def _make_refuses(*args: str) -> str:
    """make stops before anything runs: exit 2, nothing on stdout, one line on stderr (returned)."""
    if not shutil.which("make"):
        pytest.skip("needs make")
    r = subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stdout == "" and len(r.stderr.splitlines()) == 1, (r.stdout, r.stderr)
    return r.stderr


@pytest.mark.parametrize("args, expect", [
    (["flash"], "no app given: make app=<id> flash, with <id> one of: "),
    (["predict", "INPUT=rec.csv"], "no app given: make app=<id> predict, with <id> one of: "),
    (["app=", "run", "INPUT=rec.csv"], "no app given: make app=<id> run, with <id> one of: "),
    (["new"], "no app id given: make new app=<new-id>"),
])
def test_a_verb_without_app_is_one_line_before_anything_runs(args, expect):
    """Not the input file taken as the app, not an argparse usage block: make stops at once."""
    from apptest import APPS

    err = _make_refuses(*args)
    assert expect in err, err
    if "<id>" in expect:
        assert all(a in err for a in APPS)


def test_the_cli_says_no_app_too_when_given_an_empty_one():
    r = _run_tinyml(["predict", "", "--input", "rec.csv"])
    assert r.returncode == 2 and r.stderr.startswith("error: no app given (app=<id>); one of: "), r.stderr
    r = _run_tinyml(["new", ""])
    assert r.returncode == 2 and r.stderr.strip() == "error: no app id given: make app=<new-id> new", r.stderr


@pytest.mark.parametrize("args, expect", [
    (["app=soil-monitoring", "flash", "Board=avr-uno"], "unknown make variable Board=; did you mean board=?"),
    (["predict", "app=fall-detect", "input=rec.csv"], "unknown make variable input=; did you mean INPUT=?"),
    (["flash", "APP=fall-detect"], "unknown make variable APP=; did you mean app=?"),
    (["app=fall-detect", "predict", "INPT=rec.csv"], "unknown make variable INPT= (make takes: app, board, INPUT, "),
])
def test_a_misspelt_make_variable_is_one_line_before_anything_runs(args, expect):
    """make ignores a variable nothing reads: Board=avr-uno would flash the default board, silently."""
    err = _make_refuses(*args)
    assert expect in err, err


@pytest.mark.parametrize("extra", ["BOARD=avr-uno", "TINYML_DEBUG=1", "CC=gcc"])
def test_variables_the_cli_reads_from_its_environment_pass(extra):
    """Make exports command-line variables to its recipes: BOARD (the CLI's --board default), TINYML_* (the
    CLI's own switches, e.g. TINYML_DEBUG=1, which its internal-error line names) and CC are read there."""
    r = subprocess.run(["make", "-n", "--no-print-directory", "-o", ".venv/.installed", "apps", extra], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def test_every_variable_the_makefile_reads_from_the_user_is_accepted():
    text = MAKEFILE.read_text().replace("\\\n", " ")
    mo = re.search(r"^MAKE_VARIABLES\s*:=\s*(.+)$", text, re.M)
    assert mo, "Makefile lacks MAKE_VARIABLES"
    accepted = set(mo.group(1).split())
    assert set(hints.MAKE_VARS.values()) <= accepted
    assert {"app", "RUN", "DEVICES", "GATEWAYS", "SECONDS", "BROKER", "LISTEN", "PYTHON"} <= accepted
    # the environment is not the command line: an exported BOARD is no typo of the user's
    env = {**os.environ, "BOARD": "x", "FOO": "1"}
    r = subprocess.run(["make", "-n", "--no-print-directory", "-o", ".venv/.installed", "apps"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("argv, expect", [
    (["fleet", "--devices", "abc"], "error: tinyml fleet: argument DEVICES=: invalid int value: 'abc' (see make help)"),
    (["dashboard", "--broker", "http://x"], "error: BROKER='http://x': expected mqtt://host[:port]"),
    (["dashboard", "--demo", "--listen", "nope"], "error: LISTEN='nope': expected HOST:PORT"),
    (["fleet", "--seconds", "0"], "error: SECONDS=0: must be above 0"),
    (["fleet", "--gateways", "0"], "error: GATEWAYS=0: must be 1 or more"),
])
def test_the_service_verbs_errors_name_their_make_variables(argv, expect):
    r = _run_tinyml(argv)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1 and r.stderr.startswith(expect), r.stderr
    assert "--" not in r.stderr.split("(see")[0], r.stderr


@pytest.mark.parametrize("value, passed", [("1", True), ("on", True), ("Yes", True), ("TRUE", True), ("0", False),
                                           ("off", False), ("no", False), ("", False)])
def test_a_yes_no_variable_takes_the_usual_words(value, passed):
    argv = make_command("predict", app="some-app", INPUT="r.csv", EVENTS_ONLY=value)
    assert build_parser().parse_args(argv).events_only is passed, (value, argv)


def test_a_yes_no_variable_with_another_value_is_one_line():
    """EVENTS_ONLY=maybe (or a typo) printed every window line, silently."""
    err = _make_refuses("app=fall-detect", "predict", "INPUT=r.csv", "EVENTS_ONLY=maybe")
    assert "EVENTS_ONLY=maybe: give EVENTS_ONLY=1 (yes) or 0 (no)" in err, err
