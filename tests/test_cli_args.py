"""CLI argument handling: usage errors are one line (not argparse's usage block), and every verb that takes
an app takes --set and applies it to the manifest before any work."""

from __future__ import annotations

import pytest

from tinyml import cli

from apptest import APPS


def _main(capsys, *argv):
    try:
        rc = cli.main(list(argv))
    except SystemExit as e:  # argparse exits
        rc = e.code
    err = capsys.readouterr().err
    return rc, err


def _one_line(capsys, expect, *argv):
    rc, err = _main(capsys, *argv)
    assert rc == 2, (rc, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert expect in lines[0], lines[0]
    return lines[0]


def test_no_verb(capsys):
    _one_line(capsys, "tinyml: the following arguments are required: <verb> (see tinyml --help)")


def test_verb_without_its_app(capsys):
    _one_line(capsys, "tinyml flash: the following arguments are required: app (see tinyml flash --help)", "flash")


def test_empty_app_is_no_app_not_the_next_argument(capsys):
    _one_line(capsys, "no app given (tinyml <verb> <id>); one of: ", "predict", "", "rec.csv")


def test_unknown_option_names_the_verb(capsys):
    _one_line(capsys, "tinyml predict: unrecognized arguments: --bogus 3 (see tinyml predict --help)",
              "predict", APPS[0], "rec.csv", "--bogus", "3")


def test_bad_option_value(capsys):
    _one_line(capsys, "tinyml predict: argument --rate: invalid float value: 'fast'",
              "predict", APPS[0], "rec.csv", "--rate", "fast")


def test_two_inputs_refused(capsys):
    _one_line(capsys, "two input recordings given", "predict", APPS[0], "a.csv", "--input", "b.csv")


VERBS_WITH_APP = sorted(v for v, p in cli.build_parser().verbs.items() if cli.takes_app(p))


def test_the_verbs_that_take_an_app():
    assert {"predict", "run", "flash", "train", "eval", "data", "compile", "profile", "size", "bench"} <= set(VERBS_WITH_APP)
    assert "new" not in VERBS_WITH_APP  # it makes an app: no manifest to override yet


@pytest.mark.parametrize("verb", VERBS_WITH_APP)
def test_every_app_verb_applies_set(capsys, verb):
    """A bad --set fails before the verb does anything, with the manifest loader's message (a verb that writes
    committed artefacts, golden or promote, refuses a good --set after that, in one line)."""
    line = _one_line(capsys, "", verb, APPS[0], "--set", "nosuch.key=1")
    assert line.startswith("error: --set nosuch.key=1: [nosuch] unknown section; allowed: app, signal"), line
    line = _one_line(capsys, "", verb, APPS[0], "--set", "postprocess.nosuch=1")
    assert "[postprocess.nosuch] unknown key; allowed: " in line, line
