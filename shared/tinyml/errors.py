"""One exception type for problems the user can fix; the CLI prints it as one line, exit code 2."""


class TinymlError(Exception):
    """A user-facing problem (bad input, bad manifest, missing file, unmet floor)."""

    exit_code = 2


class AcceptanceError(TinymlError):
    """The model misses one of the manifest's acceptance floors."""
