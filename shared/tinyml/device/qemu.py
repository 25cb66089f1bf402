"""Run a Cortex-M ELF under QEMU (mps2-an386 by default), always bounded by a timeout.

Serial (CMSDK UART0) is QEMU's stdin/stdout; semihosting text goes to stderr and
SYS_EXIT_EXTENDED sets the exit code. With icount=True QEMU runs `-icount shift=0`: one
instruction is 1 ns of virtual time, which makes SysTick an instruction counter and runs
deterministic.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import TinymlError

QEMU = "qemu-system-arm"


@dataclass
class QemuResult:
    returncode: int
    stdout: bytes  # serial output (UART0)
    stderr: str  # semihosting output and QEMU's own messages
    timed_out: bool

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8", "replace")


def qemu_command(elf: Path | str, *, machine: str = "mps2-an386", icount: bool = True) -> list[str]:
    cmd = [QEMU, "-M", machine, "-nographic", "-monitor", "none", "-serial", "stdio",
           "-semihosting-config", "enable=on,target=native", "-kernel", str(elf)]
    if icount:
        cmd[1:1] = ["-icount", "shift=0"]
    return cmd


def _need_qemu() -> None:
    if not shutil.which(QEMU):
        raise TinymlError(f"{QEMU} not found; run: tinyml system-deps firmware")


def run_qemu(
    elf: Path | str,
    *,
    timeout_s: float,
    stdin: bytes | None = None,
    icount: bool = True,
    machine: str = "mps2-an386",
    cwd: Path | str | None = None,
) -> QemuResult:
    """Run to completion (the firmware exits through semihosting) or until timeout_s.

    On timeout QEMU is killed and the result has timed_out=True and returncode -9; nothing hangs.
    `cwd` is where semihosting SYS_OPEN resolves relative paths.
    """
    _need_qemu()
    if not Path(elf).is_file():
        raise TinymlError(f"{elf}: ELF not found")
    proc = subprocess.Popen(qemu_command(elf, machine=machine, icount=icount), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd)
    try:
        out, err = proc.communicate(input=stdin or b"", timeout=timeout_s)
        timed_out = False
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        timed_out = True
    return QemuResult(proc.returncode if not timed_out else -9, out, err.decode("utf-8", "replace"), timed_out)


def spawn_qemu(elf: Path | str, *, icount: bool = True, machine: str = "mps2-an386", stderr=None) -> subprocess.Popen:
    """Start QEMU with pipes for an interactive link session; the caller bounds it with a timeout."""
    _need_qemu()
    return subprocess.Popen(qemu_command(elf, machine=machine, icount=icount), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=stderr if stderr is not None else subprocess.DEVNULL)
