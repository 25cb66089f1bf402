"""qemu-m4 smoke: build a hello ELF, run it under QEMU, check serial, semihosting, exit code and the
instruction counter; a deliberate hard fault prints its registers and exits non-zero."""

from __future__ import annotations

import re

import pytest

from tinyml.device.build import build_elf
from tinyml.device.qemu import run_qemu
from tinyml.paths import build_dir

from fwtest import SRC


def _hello(**defines):
    tag = "-".join(f"{k}{v}" for k, v in sorted(defines.items())) or "plain"
    return build_elf("qemu-m4", [SRC / "hello.c"], defines=defines, out_dir=build_dir("test-fw", f"hello-{tag}"),
                     name="hello")


def test_hello_runs_and_exits_with_code(arm):
    elf = _hello()
    r = run_qemu(elf, timeout_s=20)
    assert not r.timed_out
    assert r.returncode == 0, r.stderr
    lines = r.text.splitlines()
    assert lines[0] == "hello from qemu-m4"
    # 1.5 -> x*1.25+0.5 ten times, in float32 with the FPU on
    x = 1.5
    import numpy as np

    x = np.float32(1.5)
    for _ in range(10):
        x = np.float32(np.float32(x * np.float32(1.25)) + np.float32(0.5))
    assert lines[1] == f"float {int(np.float32(x * np.float32(1000.0)))}"
    assert "debug channel ok" in r.stderr  # semihosting goes to stderr, not the serial port
    assert "debug channel ok" not in r.text

    elf7 = _hello(HELLO_EXIT=7)
    assert run_qemu(elf7, timeout_s=20).returncode == 7


def test_instruction_counter_is_linear_and_deterministic(arm):
    elf = _hello()
    runs = [run_qemu(elf, timeout_s=20).text for _ in range(2)]
    assert runs[0] == runs[1], "icount runs must be deterministic"
    m = re.search(r"cost instructions (\d+) (\d+)", runs[0])
    assert m, runs[0]
    a, b = int(m.group(1)), int(m.group(2))
    assert a > 100_000  # a 100k-iteration loop is several instructions per iteration
    assert abs(b - 2 * a) <= 80, (a, b)  # twice the loop, twice the count, within two 40-instruction ticks
    assert a % 40 == 0 and b % 40 == 0  # SysTick at 25 MHz under -icount shift=0: 40 instructions per tick


def test_instruction_counter_survives_systick_wrap(arm):
    # 100M iterations is ~700M instructions, beyond one 24-bit SysTick period (2^24 * 40 = 671M).
    elf = _hello(HELLO_LONG=100_000_000)
    r = run_qemu(elf, timeout_s=60)
    assert r.returncode == 0, r.stderr
    m = re.search(r"cost instructions (\d+) (\d+)", r.text)
    per_iter = round((int(m.group(2)) - int(m.group(1))) / 100_000)  # whole instructions per iteration
    long = int(re.search(r"long (\d+)", r.text).group(1))
    assert long > 2**24 * 40
    # a lost or doubled wrap would be off by 2^24 * 40 = 671M; allow call overhead and tick rounding
    assert abs(long - per_iter * 100_000_000) <= 200, (long, per_iter)


def test_stack_painting_reports_use(arm):
    r = run_qemu(_hello(), timeout_s=20)
    used = int(re.search(r"stack (\d+)", r.text).group(1))
    assert 64 < used < 16384


def test_hardfault_prints_registers_and_exits_nonzero(arm):
    elf = build_elf("qemu-m4", [SRC / "fault.c"], out_dir=build_dir("test-fw", "fault"), name="fault")
    r = run_qemu(elf, timeout_s=20)
    assert not r.timed_out
    assert r.returncode == 70, (r.returncode, r.stderr)
    assert r.text.startswith("about to fault")
    assert "not reached" not in r.text
    assert "HARDFAULT" in r.stderr
    regs = dict(re.findall(r"(\w+)=0x([0-9a-f]{8})", r.stderr))
    for k in ("r0", "r1", "r2", "r3", "r12", "lr", "pc", "xpsr", "cfsr", "hfsr"):
        assert k in regs, r.stderr
    assert int(regs["cfsr"], 16) & (1 << 17), "INVSTATE usage fault expected"
    assert int(regs["hfsr"], 16) & (1 << 30), "escalated (FORCED) hard fault expected"


def test_qemu_run_is_bounded_by_timeout(arm, tmp_path):
    # hello waits for nothing; a firmware that never exits must be killed at the timeout
    src = tmp_path / "spin.c"
    src.write_text('#include "tml_port.h"\nint main(void){ tml_port_init(); for(;;){} }\n')
    elf = build_elf("qemu-m4", [src], out_dir=tmp_path / "b", name="spin")
    r = run_qemu(elf, timeout_s=1.5)
    assert r.timed_out and r.returncode != 0


def test_build_rejects_warnings(arm, tmp_path):
    from tinyml.errors import TinymlError

    src = tmp_path / "warn.c"
    src.write_text("int main(void){ int unused; return 0; }\n")
    with pytest.raises(TinymlError, match="unused"):
        build_elf("qemu-m4", [src], out_dir=tmp_path / "b", name="warn")
