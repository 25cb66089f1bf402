"""Every discovered board builds the same main.c + app with -Wall -Wextra -Werror; real boards get
images whose vector table, sections, BIN/HEX/UF2 and flash command are checked (flashing itself
needs hardware and cannot run here)."""

from __future__ import annotations

import struct

import pytest
from fwtest import SRC, fixture_app, need

from tinyml.device.board import list_boards, load_board, parse_board_mk
from tinyml.device.build import build_elf
from tinyml.device.commands import flash_command
from tinyml.device.elf import Elf
from tinyml.device.firmware import build_app
from tinyml.device.image import check_cortexm_image, read_uf2
from tinyml.errors import TinymlError
from tinyml.paths import build_dir

REAL = ["nucleo-l4r5zi", "nano33ble"]


def test_boards_are_discovered():
    assert {"host", "qemu-m4", *REAL} <= set(list_boards())
    with pytest.raises(TinymlError, match="unknown board"):
        load_board("no-such-board")


def test_word_bits_pick_the_model_kernels(tmp_path):
    """BOARD_WORD_BITS (default 32) decides the int8 kernels the compiler gives a board; a value that is not a
    core width is refused, naming the file."""
    from tinyml.compile.lower import kernels_for

    assert {b: kernels_for(load_board(b).word_bits) for b in list_boards()} == {
        b: ("generic" if b == "avr-uno" else "auto") for b in list_boards()}
    assert [kernels_for(n) for n in (8, 16, 32, 64)] == ["generic", "generic", "auto", "auto"]
    d = tmp_path / "odd"
    d.mkdir()
    (d / "board.mk").write_text("BOARD_ARCH = host\nBOARD_WORD_BITS = 12\n")
    from tinyml.device.board import Board

    with pytest.raises(TinymlError, match="BOARD_WORD_BITS = '12'"):
        Board("odd", d, parse_board_mk(d / "board.mk")).word_bits


@pytest.mark.parametrize("name", list_boards())
def test_every_board_builds_the_app_with_werror(name):
    b = load_board(name)
    need(b.cc)
    assert "-Werror" in __import__("tinyml.device.build", fromlist=["WARN"]).WARN
    im = build_app(fixture_app(), name)
    assert im.elf.is_file()
    for kind in b.outputs:
        assert im.image.outputs[kind].is_file()
    syms = Elf(im.elf).symbols()
    assert "main" in syms and "tml_app_on_sample" in syms


@pytest.mark.parametrize("name", REAL)
def test_real_board_image(name):
    need("arm-none-eabi-gcc")
    b = load_board(name)
    im = build_app(fixture_app(), name)
    facts = check_cortexm_image(im.elf, b)
    assert facts["problems"] == []
    assert facts["vector_addr"] == b.num("FLASH_ORIGIN")
    assert b.num("RAM_ORIGIN") < facts["initial_sp"] <= b.num("RAM_ORIGIN") + b.num("RAM_SIZE")
    assert facts["reset"] & 1
    # BIN: starts with the vector table; HEX: its first data lands at the flash origin
    binary = im.image.outputs["bin"].read_bytes()
    assert struct.unpack_from("<II", binary) == (facts["initial_sp"], facts["reset"])
    assert len(binary) >= facts["flash_used"] - 64
    assert _hex_first_address(im.image.outputs["hex"].read_text()) == b.num("FLASH_ORIGIN")
    if "uf2" in b.outputs:
        blocks = read_uf2(im.image.outputs["uf2"])
        assert {fam for _, _, fam in blocks} == {int(b.get("UF2_FAMILY"), 0)}
        assert blocks[0][0] == b.num("FLASH_ORIGIN")
        assert b"".join(p for _, p, _ in blocks)[: len(binary)] == binary


def _hex_first_address(text: str) -> int:
    base = 0
    for line in text.split():
        n, addr, typ = int(line[1:3], 16), int(line[3:7], 16), line[7:9]
        raw = bytes.fromhex(line[1:])
        assert sum(raw) & 0xFF == 0, f"bad checksum in {line}"
        if typ == "02":
            base = int(line[9:13], 16) << 4
        elif typ == "04":
            base = int(line[9:13], 16) << 16
        elif typ == "00" and n:
            return base + addr
    raise AssertionError("no data record")


def test_image_check_catches_a_wrong_image():
    need("arm-none-eabi-gcc")
    # a qemu-m4 image (vectors at 0, RAM 4 MB) is not a Nucleo image
    im = build_app(fixture_app(), "qemu-m4")
    problems = check_cortexm_image(im.elf, load_board("nucleo-l4r5zi"))["problems"]
    assert any("vector table" in p for p in problems) and any("outside" in p for p in problems)


def test_flash_commands():
    nucleo = load_board("nucleo-l4r5zi")
    cmd = flash_command(nucleo, {"elf": "/b/fw.elf", "bin": "/b/fw.bin", "hex": "/b/fw.hex"}, None)
    assert cmd == ["openocd", "-f", "interface/stlink.cfg", "-f", "target/stm32l4x.cfg", "-c",
                   "program /b/fw.elf verify reset exit"]
    nano = load_board("nano33ble")
    cmd = flash_command(nano, {"elf": "/b/fw.elf", "bin": "/b/fw.bin"}, "/dev/ttyACM3")
    assert cmd == ["bossac", "-d", "--port=/dev/ttyACM3", "-U", "-i", "-e", "-w", "/b/fw.bin", "-R"]
    assert flash_command(load_board("qemu-m4"), {"elf": "x"}, None) is None


def test_one_port_check_for_run_flash_and_the_gateway(monkeypatch):
    """A port for a board that runs here, and a serial board without its port, are refused by one check, spelled
    as each caller's user writes options; a run (it streams) needs the port, flashing does not. `tinyml run` said
    the missing port only after building the firmware (its cross compiler first)."""
    from tinyml.device.board import check_port

    qemu, nucleo, uno = load_board("qemu-m4"), load_board("nucleo-l4r5zi"), load_board("avr-uno")
    with pytest.raises(TinymlError, match=r"^--port /dev/ttyACM0: board qemu-m4 has no serial port \(it runs here\); "
                                          r"name the real board: --board .*nucleo-l4r5zi"):
        check_port(qemu, "/dev/ttyACM0", streams=False)
    with pytest.raises(TinymlError, match=r"^device d1: port=/dev/ttyACM0: board qemu-m4 .*: board=.*nucleo"):
        check_port(qemu, "/dev/ttyACM0", streams=True, spell=lambda k, v: f"{k}={v}", where="device d1: ")
    with pytest.raises(TinymlError, match=r"^board nucleo-l4r5zi streams over a serial port: add --port /dev/ttyACM0"):
        check_port(nucleo, None, streams=True)
    check_port(nucleo, None, streams=False)  # flash: the recipe finds the board
    check_port(nucleo, "/dev/ttyACM0", streams=True)
    check_port(uno, "/dev/ttyUSB0", streams=True)  # simulated here, flashed to a real Uno on its port
    check_port(uno, None, streams=True)  # simulated here
    check_port(qemu, None, streams=True)
    monkeypatch.setenv("TINYML_MAKE", "1")
    with pytest.raises(TinymlError, match=r"^board nucleo-l4r5zi streams over a serial port: add PORT=/dev/ttyACM0"):
        check_port(nucleo, None, streams=True)


def test_board_mk_parser(tmp_path):
    mk = tmp_path / "board.mk"
    mk.write_text("# c\nA = 1\nB = $(A) 2  # tail\nB += 3\nC := $(BOARD_DIR)/x\n")
    v = parse_board_mk(mk, {"BOARD_DIR": "/d"})
    assert (v["A"], v["B"], v["C"]) == ("1", "1 2 3", "/d/x")
    mk.write_text("A = $(NOPE)\n")
    with pytest.raises(TinymlError, match="NOPE"):
        parse_board_mk(mk)
    mk.write_text("ifeq ($(X),1)\n")
    with pytest.raises(TinymlError, match="board.mk:1"):
        parse_board_mk(mk)


def test_real_board_fault_handler_and_vectors_link(tmp_path):
    need("arm-none-eabi-gcc")
    # the fault test program links on every Cortex-M board (fault text goes to the UART there)
    for name in REAL:
        elf = build_elf(name, [SRC / "fault.c"], out_dir=build_dir("test-fw", f"fault-{name}"), name="fault")
        syms = Elf(elf).symbols()
        assert "HardFault_Handler" in syms and "tml_cm_fault" in syms


_SP_PROGRAM = r"""
#include <avr/io.h>
#include <stdint.h>
volatile uint16_t sp_in_f, sp_in_main;
__attribute__((noinline)) static void f(volatile uint8_t *p)
{
    volatile uint8_t buf[48];
    buf[0] = p[0];
    sp_in_f = SP;
    p[1] = buf[0];
}
int main(void)
{
    volatile uint8_t pad[240];
    pad[0] = 1;
    sp_in_main = SP;
    f(pad);
    if ((sp_in_main >> 8) != 0x08 || (sp_in_f >> 8) != 0x07 || (sp_in_main & 0xFF) > 0x40) {
        return 255;
    }
    return (uint8_t)sp_in_f;
}
"""


def test_simavr_stack_check_ignores_the_half_written_stack_pointer(tmp_path):
    """avr-gcc moves SP in two halves (out SPH; out SREG; out SPL): a frame that takes SP from 0x08xx to
    0x07yy passes through 0x07xx for two instructions. The simulator's stack check must not call that an
    overflow, and must still stop a stack that really goes below the floor (exit code 70)."""
    import subprocess

    from tinyml.device.simavr import EXIT_STACK, simulator

    need("avr-gcc", "gcc")
    src, elf = tmp_path / "sp.c", tmp_path / "sp.elf"
    src.write_text(_SP_PROGRAM)
    subprocess.run(["avr-gcc", "-mmcu=atmega328p", "-Os", "-o", str(elf), str(src)], check=True)
    sim = str(simulator(load_board("avr-uno")))

    def run(floor: int) -> subprocess.CompletedProcess:
        return subprocess.run([sim, "-m", "atmega328p", "-f", "16000000", "-s", hex(floor), str(elf)],
                              capture_output=True, text=True, timeout=60)

    low = run(0).returncode  # SP's low byte inside f (its high byte is 0x07, the caller's 0x08)
    assert 0 < low < 255, "the program did not put SP where this test needs it"
    sp = 0x0700 | low
    assert run(sp - 2).returncode == low  # the transient 0x07xx (xx: the caller's low byte) is below sp - 2
    r = run(sp + 2)
    assert r.returncode == EXIT_STACK and "stack overflow" in r.stderr
