"""`tinyml size` figures and checks: sections, static stack peak from the call graph, no malloc,
and RAM fit on the smallest board."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fwtest import copy_fixture, fixture_app, need

from tinyml.apps import load_app
from tinyml.device.board import load_board
from tinyml.device.build import build_image
from tinyml.device.firmware import build_app
from tinyml.device.size import allocation_symbols, does_not_fit, image_size, size_all, smallest_ram_board
from tinyml.device.elf import Elf
from tinyml.device.stack import analyse
from tinyml.errors import TinymlError


def test_size_of_the_fixture_on_every_board():
    need("gcc", "arm-none-eabi-gcc")
    reports, problems = size_all(fixture_app())
    assert problems == []
    by = {r.board: r for r in reports}
    q = by["qemu-m4"]
    assert q.problems == [] and q.stack_exact
    assert q.flash == q.text + q.rodata + q.data and q.ram == q.data + q.bss + q.stack_peak
    assert 1000 < q.flash < 64 * 1024
    # main -> app -> report -> link send is on the deepest path; SysTick interrupt on top
    assert q.stack_path[:2] == ["Reset_Handler", "main"]
    assert q.stack_peak >= 200
    assert smallest_ram_board().name == "nano33ble"


def _app_with(tmp_path, extra_c: str):
    d = copy_fixture(tmp_path)
    (d / "firmware" / "extra.c").write_text(extra_c)
    return load_app("mean-alarm", root=d.parent)


def test_malloc_is_refused(tmp_path):
    need("arm-none-eabi-gcc")
    app = _app_with(tmp_path, '#include <stdlib.h>\nvoid *leak(void); void *leak(void) { return malloc(10); }\n'
                              'void tml_extra(void); void tml_extra(void) { (void)leak(); }\n')
    src = app.dir / "firmware" / "app.c"
    src.write_text(src.read_text().replace("void tml_app_init(void)\n{", "void tml_extra(void);\nvoid tml_app_init(void)\n{\n    tml_extra();"))
    r = image_size(build_app(app, "qemu-m4", out_dir=tmp_path / "b"))
    assert any("dynamic allocation" in p for p in r.problems), r.problems
    assert allocation_symbols(Elf(build_app(fixture_app(), "qemu-m4").elf)) == []


def test_stack_peak_follows_the_deepest_call_chain(tmp_path):
    need("arm-none-eabi-gcc")
    src = tmp_path / "deep.c"
    src.write_text(
        '#include "tml_port.h"\n'
        "__attribute__((noinline)) static int leaf(volatile char *p) { volatile char b[1000]; b[0] = *p; return b[0]; }\n"
        "__attribute__((noinline)) static int mid(void) { volatile char a[300]; a[0] = 1; return leaf(a); }\n"
        "static int rec(int n) { volatile char c[8]; c[0] = (char)n; return n ? rec(n - 1) + c[0] : 0; }\n"
        "int main(void) { tml_port_init(); return mid() + rec(3); }\n")
    im = build_image("qemu-m4", [src], out_dir=tmp_path / "b", opt="-O1", name="deep")
    rep = analyse(im.ci_files, entry="Reset_Handler")
    assert rep.peak >= 1300 and rep.path[-2:] == ["deep.c:mid", "deep.c:leaf"]
    assert rep.recursion == ["deep.c:rec"] and not rep.exact


def test_ram_that_does_not_fit_the_smallest_board(tmp_path):
    need("arm-none-eabi-gcc")
    app = _app_with(tmp_path, "#include <stdint.h>\nvolatile uint8_t tml_big[300 * 1024];\n"
                              "void tml_extra(void); void tml_extra(void) { tml_big[7] = 1; }\n")
    src = app.dir / "firmware" / "app.c"
    src.write_text(src.read_text().replace("void tml_app_init(void)\n{", "void tml_extra(void);\nvoid tml_app_init(void)\n{\n    tml_extra();"))
    reports, problems = size_all(app, ["qemu-m4"])
    assert any("smallest board nano33ble" in p for p in problems), problems
    # and the nano33ble link itself refuses it
    with pytest.raises(TinymlError, match="RAM overflow|overflow"):
        build_app(app, load_board("nano33ble"), out_dir=tmp_path / "n")


def test_avr_stack_peak_from_the_disassembly_and_opt_in(tmp_path):
    """avr-gcc 5 writes no call graph: the peak comes from the .su frames and the calls in the linked image,
    and agrees with the stack the firmware measures by painting. The 8-bit board is sized only for apps
    that name it in [firmware] boards."""
    need("avr-gcc", "simavr")
    from fwtest import demo_signal

    from tinyml.device.runner import open_transport, stream_signal
    from tinyml.device.size import default_boards

    app = fixture_app()
    assert "avr-uno" not in default_boards(app) and "qemu-m4" in default_boards(app)
    im = build_app(app, "avr-uno")
    r = image_size(im)
    assert r.stack_exact and r.stack_path[0] == "main" and r.problems == []
    assert r.ram == r.data + r.bss + r.stack_peak <= 2048
    run = stream_signal(open_transport(im.board, im.elf), demo_signal(app), labels=app.manifest.labels, timeout_s=60)
    assert 0 < run.done.stack_used <= r.stack_peak  # the static bound holds what the run really used
    d = copy_fixture(tmp_path)
    toml = d / "app.toml"
    toml.write_text(toml.read_text().replace('boards = ["qemu-m4", "host"]', 'boards = ["qemu-m4", "host", "avr-uno"]'))
    assert "avr-uno" in default_boards(load_app("mean-alarm", root=d.parent))


def test_only_a_reachable_dynamic_frame_makes_the_stack_bound_a_lower_one():
    """A function with a dynamic frame that the program never calls (in the objects, gone from the image)
    leaves the peak exact; one that main reaches does not."""
    from tinyml.device.stack import CallGraph, analyse

    g = CallGraph(frame={"main": 8, "work": 16, "unused": 32}, calls={"main": {"work"}}, dynamic={"unused"})
    r = analyse([], entry="main", isr_pattern=None, graph=g, isr_frame=0)
    assert r.peak == 24 and r.exact and r.dynamic == []
    g.calls["work"] = {"unused"}
    r = analyse([], entry="main", isr_pattern=None, graph=g, isr_frame=0)
    assert r.peak == 56 and not r.exact and r.dynamic == ["unused"]


@pytest.mark.parametrize("board, size, need_cc", [("qemu-m4", "6000000L", "arm-none-eabi-gcc"),
                                                  ("avr-uno", "4000", "avr-gcc")])
def test_an_image_too_big_for_its_board_is_one_line(tmp_path, board, size, need_cc):
    """`make app=fall-detect run board=avr-uno` dumped the whole link command and the linker's lines; the user's
    mistake is a board too small, said in one line with what the board has."""
    need(need_cc)
    src = tmp_path / "big.c"
    src.write_text('#include "tml_port.h"\n'
                   f"static volatile char big[{size}];\n"
                   "int main(void) { tml_port_init(); big[0] = 1; return big[0]; }\n")
    with pytest.raises(TinymlError) as e:
        build_image(board, [src], out_dir=tmp_path / "b", opt="-O1", name="big")
    msg = does_not_fit(str(e.value), board, "big")
    ram = load_board(board).ram_size
    assert msg == f"big does not fit {board}: section .bss overflows its RAM ({ram:,} B); choose a larger board", msg
    assert does_not_fit("undefined reference to `tml_app_init'", board, "big") is None  # other link errors stay


def test_run_on_a_board_the_app_does_not_fit_is_one_line():
    need("avr-gcc")
    app = load_app("fall-detect")  # 12 KB of RAM: not an 8-bit board's 2 KB
    r = subprocess.run([str(Path(sys.executable).with_name("tinyml")), "run", "fall-detect", "--board", "avr-uno",
                        "--input", str(app.dir / "fixtures" / "demo.csv")], capture_output=True, text=True, timeout=600)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1, r.stderr
    assert r.stderr.startswith("error: fall-detect does not fit avr-uno: section .bss overflows its RAM (2,048 B)")
