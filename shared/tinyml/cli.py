"""The one CLI: `tinyml <verb> [app] ...`. The Makefile is a thin wrapper over it.

Command groups live beside the code they drive and register themselves here; a problem the user can
fix (TinymlError) is printed as one line with exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from .errors import TinymlError

COMMAND_MODULES = ("tinyml.commands", "tinyml.compile.commands", "tinyml.device.commands")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tinyml", description="TinyML reference solutions: data to firmware")
    sub = parser.add_subparsers(dest="verb", metavar="<verb>")
    sub.required = True
    for name in COMMAND_MODULES:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name == name:  # a command group not present in this checkout
                continue
            raise
        mod.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
