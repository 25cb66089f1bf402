"""Say an option the way the user types it: `--rate 50` on the CLI, `RATE=50` under make.

The Makefile runs the CLI with TINYML_MAKE=1 and turns each variable of MAKE_VARS into its flag, for every
verb (a verb refuses a flag it does not take). Every message that tells the user an option goes through
option() (or command()), so a make user reads what to type into make.
"""

from __future__ import annotations

import os
import re

# CLI flag -> make variable (a flag without a value is a yes/no variable: VAR=1).
MAKE_VARS = {
    "--input": "INPUT",
    "--rate": "RATE",
    "--model": "MODEL",
    "--events-only": "EVENTS_ONLY",
    "--all-lines": "ALL_LINES",
    "--port": "PORT",
    "--board": "board",
    "--set": "SET",
    "--channel": "CHANNEL",
    "--smoke": "SMOKE",
    "--yes": "YES",
    "--mqtt": "MQTT",
    "--calibration": "CALIBRATION",
    "--device": "DEVICE",
}
# The service verbs' make variables (make fleet / make dashboard; no app): named in their errors as the app verbs' are.
SERVICE_MAKE_VARS = {"--devices": "DEVICES", "--gateways": "GATEWAYS", "--seconds": "SECONDS", "--broker": "BROKER",
                     "--listen": "LISTEN"}
FLAGS_WITHOUT_VALUE = {"--events-only", "--all-lines", "--smoke", "--yes", "--device"}
# Options of app verbs that make does not pass (the CLI has them for scripts and the few who need them). A new
# option goes here or into MAKE_VARS and the Makefile's OPTS; tests/test_makefile.py holds every verb to that.
CLI_ONLY = {"-h", "--help", "--out", "--reuse-float", "--keep", "--card", "--check", "--tflite", "--prefix", "--no-m4",
            "--no-docs", "--vectors", "--dry-run", "--summary-json", "--timeout", "--json"}


def via_make() -> bool:
    return os.environ.get("TINYML_MAKE") == "1"


def option(flag: str, value: str | None = None) -> str:
    """option("--rate", "HZ") -> '--rate HZ' (CLI) or 'RATE=HZ' (make)."""
    var = MAKE_VARS.get(flag) or SERVICE_MAKE_VARS.get(flag)
    if via_make() and var:
        return f"{var}=1" if flag in FLAGS_WITHOUT_VALUE else f"{var}={value or ''}"
    return flag if value is None else f"{flag} {value}"


def command(verb: str, app: str | None = None, *options: str) -> str:
    """The whole command line: 'make app=x predict INPUT=f' or 'tinyml predict x --input f'."""
    if via_make():
        return " ".join(["make", *([f"app={app}"] if app else []), verb, *options])
    return " ".join(["tinyml", verb, *([app] if app else []), *options])


def app_arg() -> str:
    return "app=<id>" if via_make() else "tinyml <verb> <id>"


_FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")
_UNRECOGNIZED = "unrecognized arguments: "


def for_user(message: str) -> str:
    """An argparse message under make: the flags it names become make variables ('RATE=')."""
    if not via_make():
        return message
    if message.startswith(_UNRECOGNIZED):
        flags = [w for w in message[len(_UNRECOGNIZED):].split() if w.startswith("--")]
        if flags:
            return "does not use " + ", ".join(option(f) for f in flags)
    return _FLAG.sub(lambda mo: option(mo.group(1)), message)
