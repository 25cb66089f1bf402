"""Messages for the user: one exception type for problems the user can fix (the CLI prints it as one
line, exit code 2), one-line notices on stderr, and how a command-line option is spelled in hints."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path


class TinymlError(Exception):
    """A user-facing problem (bad input, bad manifest, missing file, unmet floor)."""

    exit_code = 2


class AcceptanceError(TinymlError):
    """The model misses one of the manifest's acceptance floors."""


_held: list[str] | None = None


def notice(source, msg: str) -> None:
    """One line on stderr about something done to the user's input (converted, resampled, padded)."""
    name = Path(str(source)).name if source else ""
    line = f"notice: {name + ': ' if name else ''}{msg}"
    if _held is not None:
        _held.append(line)
    else:
        print(line, file=sys.stderr)


@contextmanager
def notices_held():
    """Notices raised inside are printed when it ends well, and dropped when it raises: input that is
    refused gets its one error line and nothing else."""
    global _held
    outer, _held = _held, []
    try:
        yield
        lines = _held
    finally:
        _held = outer
    for line in lines:
        notice(None, line[len("notice: "):])


def option(name: str, value: str = "") -> str:
    """How a hint spells the command-line option `name` with `value` (`--rate 50`, or `RATE=50` under make):
    tinyml.hints decides the spelling for every front end."""
    from .hints import option as spelled

    return spelled(f"--{name.replace('_', '-')}", value or None)