"""Boards are folders `firmware/boards/<b>/board.mk`, found by glob like apps.

board.mk is a tiny subset of make that both make and this parser read: `VAR = value`,
`VAR += value`, `# comments`, and `$(BOARD_DIR)` / `$(PORT_DIR)` / `$(VAR)` references.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import TinymlError
from ..paths import firmware_dir

_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*(\+?=|:=)\s*(.*)$")
_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def boards_dir() -> Path:
    return firmware_dir() / "boards"


def port_dir() -> Path:
    return firmware_dir() / "port"


def list_boards() -> list[str]:
    return sorted(p.parent.name for p in boards_dir().glob("*/board.mk") if not p.parent.name.startswith("_"))


def parse_board_mk(path: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env: dict[str, str] = dict(extra or {})
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = _LINE.match(line)
        if not m:
            raise TinymlError(f"{path}:{n}: expected 'VAR = value' or 'VAR += value', got {raw.strip()!r}")
        key, op, val = m.groups()

        def sub(mm: re.Match) -> str:
            if mm.group(1) not in env:
                raise TinymlError(f"{path}:{n}: $({mm.group(1)}) is not defined above")
            return env[mm.group(1)]

        val = _REF.sub(sub, val.strip())
        env[key] = f"{env[key]} {val}".strip() if op == "+=" and key in env else val
    return env


@dataclass(frozen=True)
class Board:
    name: str
    dir: Path
    vars: dict[str, str] = field(repr=False)

    def get(self, key: str, default: str = "") -> str:
        return self.vars.get(f"BOARD_{key}", default)

    def words(self, key: str) -> list[str]:
        return self.get(key).split()

    def num(self, key: str) -> int:
        v = self.get(key)
        if not v:
            raise TinymlError(f"{self.dir / 'board.mk'}: BOARD_{key} is required")
        return int(v, 0)

    @property
    def cc(self) -> str:
        return self.get("CC", "gcc")

    @property
    def arch(self) -> str:
        return self.get("ARCH", "host")

    @property
    def runner(self) -> str:
        """How `tinyml run` talks to it: qemu, simavr, host (a native process) or serial (PORT=)."""
        return self.get("RUNNER", "serial")

    def on_port(self, port: str | None) -> bool:
        """Whether a run talks to a real board over `port`: a serial-only board, or one that is simulated here
        but also flashes to real hardware (BOARD_FLASH_CMD: the avr-uno) when a port is given."""
        return self.runner == "serial" or bool(port and self.get("FLASH_CMD"))

    @property
    def outputs(self) -> list[str]:
        return self.words("OUTPUTS") or ["elf"]

    @property
    def sources(self) -> list[Path]:
        return [Path(s) for s in self.words("SOURCES")]

    @property
    def include_dirs(self) -> list[Path]:
        return [Path(s) for s in self.words("INCLUDES")]

    @property
    def ldscript(self) -> Path | None:
        s = self.get("LDSCRIPT")
        return Path(s) if s else None

    @property
    def word_bits(self) -> int:
        """The core's native integer width (BOARD_WORD_BITS: 8 for an AVR; 32, the default, for a Cortex-M and
        any wider host): the model compiler picks its int8 kernels from it (tinyml.compile.lower.kernels_for)."""
        v = self.get("WORD_BITS", "32")
        if not v.isdigit() or int(v) not in (8, 16, 32, 64):
            raise TinymlError(f"{self.dir / 'board.mk'}: BOARD_WORD_BITS = {v!r}; allowed: 8, 16, 32, 64")
        return int(v)

    @property
    def ram_size(self) -> int | None:
        return int(self.get("RAM_SIZE"), 0) if self.get("RAM_SIZE") else None

    @property
    def flash_size(self) -> int | None:
        return int(self.get("FLASH_SIZE"), 0) if self.get("FLASH_SIZE") else None


def check_port(board: Board, port: str | None, *, streams: bool, spell=None, where: str = "") -> None:
    """The board against the serial port given (`tinyml run`, `flash`, a gateway's device): a port for a board that
    has none (qemu-m4, host: board= forgotten, and the run would replay here, not on the device on that port), and,
    where the run streams, a serial-only board without its port. `spell(key, value)`: how the caller's user writes
    an option (default `--port X`, or `PORT=X` under make); `where`: what the line is about."""
    from ..errors import option

    spell = spell or option
    if port and not board.on_port(port):
        real = [n for n in list_boards() if load_board(n).on_port(port)]
        raise TinymlError(f"{where}{spell('port', port)}: board {board.name} has no serial port (it runs here); name "
                          f"the real board: {spell('board', '|'.join(real))}")
    if streams and not port and board.runner == "serial":
        raise TinymlError(f"{where}board {board.name} streams over a serial port: add {spell('port', '/dev/ttyACM0')} "
                          "(or the board's port)")


def load_board(name: str) -> Board:
    d = boards_dir() / name
    mk = d / "board.mk"
    if not mk.is_file():
        raise TinymlError(f"unknown board {name!r}; available: {', '.join(list_boards()) or '(none)'}")
    env = parse_board_mk(mk, {"BOARD_DIR": str(d), "PORT_DIR": str(port_dir()), "FIRMWARE_DIR": str(firmware_dir())})
    return Board(name, d, env)
