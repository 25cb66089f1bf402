"""Run an AVR firmware ELF under simavr, its USART0 on a pipe: the `simavr` runner of AVR boards.

The simulator front end is our own small host program (firmware/port/avr/simavr_link.c, named by the
board's BOARD_SIM_SOURCES) built once against Debian's libsimavr and cached under build/host/. It wires
the UART to stdin/stdout byte for byte, so the device link runs over it exactly as over QEMU's serial
port; debug text goes to stderr, the firmware's exit code becomes the process's, and a stack that runs
into static data ends the run with code 70.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import TinymlError
from ..paths import build_dir
from .board import Board
from .elf import Elf

SIMAVR_INCLUDE = Path("/usr/include/simavr")
EXIT_STACK = 70


def _need_simavr() -> None:
    if not (SIMAVR_INCLUDE / "sim_avr.h").is_file():
        raise TinymlError("simavr headers not found (/usr/include/simavr); run: tinyml system-deps firmware "
                          "(Debian packages simavr, libsimavr-dev, libelf-dev)")
    if not shutil.which("gcc"):
        raise TinymlError("gcc not found; run: tinyml system-deps firmware")


def simulator(board: Board) -> Path:
    """The board's simulator front end, built from BOARD_SIM_SOURCES (rebuilt when they change)."""
    sources = [Path(s) for s in board.words("SIM_SOURCES")]
    if not sources:
        raise TinymlError(f"{board.dir / 'board.mk'}: BOARD_SIM_SOURCES is required for BOARD_RUNNER = simavr")
    _need_simavr()
    h = hashlib.sha256()
    for s in sources:
        if not s.is_file():
            raise TinymlError(f"{board.dir / 'board.mk'}: simulator source {s} not found")
        h.update(s.read_bytes())
    exe = build_dir("host", f"simavr_link-{h.hexdigest()[:12]}")
    if not exe.is_file():
        exe.parent.mkdir(parents=True, exist_ok=True)
        tmp = exe.with_name(f"{exe.name}.{os.getpid()}.tmp")
        cmd = ["gcc", "-std=gnu99", "-O2", "-Wall", "-Wextra", "-Werror", f"-I{SIMAVR_INCLUDE}", *map(str, sources),
               "-o", str(tmp), "-lsimavr", "-lelf"]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise TinymlError(f"building the simavr front end failed:\n{' '.join(cmd)}\n{res.stderr.strip()}")
        tmp.replace(exe)
    return exe


def stack_floor(elf: Path) -> int:
    """The data-space address where static data ends (avr-libc's __heap_start): the stack must stay above."""
    sym = Elf(elf).symbols().get("__heap_start")
    return (sym[0] & 0xFFFF) if sym else 0


def simavr_command(board: Board, elf: Path) -> list[str]:
    return [str(simulator(board)), "-m", board.get("SIM_MCU", "atmega328p"), "-f", str(board.num("CLOCK_HZ")),
            "-s", hex(stack_floor(elf)), str(Path(elf).resolve())]


@dataclass
class SimResult:
    returncode: int
    stdout: bytes  # UART0
    stderr: str    # debug text and simavr's notices
    timed_out: bool

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8", "replace")


def run_simavr(board: Board, elf: Path, *, timeout_s: float, stdin: bytes = b"") -> SimResult:
    """Run to completion (the firmware exits) or until timeout_s; nothing hangs."""
    proc = subprocess.Popen(simavr_command(board, elf), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(input=stdin, timeout=timeout_s)
        timed_out = False
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        timed_out = True
    return SimResult(proc.returncode if not timed_out else -9, out, err.decode("utf-8", "replace"), timed_out)
