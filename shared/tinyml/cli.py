"""The one CLI: `tinyml <verb> [app] ...`. The Makefile is a thin wrapper over it.

Command groups live beside the code they drive and register themselves here; a problem the user can
fix (TinymlError) is printed as one line with exit code 2, never a traceback; so is a usage error.
Every verb that takes an app also takes `--set section.key=value` (repeatable), applied to its manifest.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from . import hints
from .errors import TinymlError

COMMAND_MODULES = ("tinyml.commands", "tinyml.compile.commands", "tinyml.device.commands", "tinyml.gateway.commands")


class OneLineParser(argparse.ArgumentParser):
    """argparse whose usage errors are one line (exit code 2) naming where help is, not a usage block."""

    def error(self, message: str):
        more = "make help" if hints.via_make() else f"{self.prog} --help"
        self.exit(2, f"error: {self.prog}: {hints.for_user(message)} (see {more})\n")


def takes_app(p: argparse.ArgumentParser) -> bool:
    return any(a.dest == "app" for a in p._actions)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="tinyml", description="TinyML reference solutions: data to firmware")
    sub = parser.add_subparsers(dest="verb", metavar="<verb>")  # subparsers are OneLineParsers too
    sub.required = True
    for name in COMMAND_MODULES:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name == name:  # a command group not present in this checkout
                continue
            raise
        mod.register(sub)
    for p in sub.choices.values():
        if takes_app(p):
            p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                           help="override one manifest value for this run (repeatable), e.g. signal.rate=100; "
                                "validated like app.toml")
    parser.verbs = sub.choices
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # reported by the verb's own parser, so the message names the verb
        parser.verbs[args.verb].error(
            f"unrecognized arguments: {' '.join(extra)}")
    try:
        rc = args.func(args)
    except TinymlError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as e:  # a bug, not bad input: one line unless asked for the traceback
        if os.environ.get("TINYML_DEBUG"):
            raise
        print(f"internal error: {e.__class__.__name__}: {e} (set TINYML_DEBUG=1 for a traceback)", file=sys.stderr)
        return 1
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
