"""Non-volatile storage in the port layer (tml_port_nv_*): on qemu-m4 a file through semihosting, on the
host board the file TML_NV_FILE names; both keep a page across runs (a reset), reads of an erased page
give 0xFF, and writes past the page are refused."""

from __future__ import annotations

import os
import subprocess

from fwtest import SRC

from tinyml.device.build import build_elf
from tinyml.device.qemu import run_qemu
from tinyml.paths import build_dir


def _elf(board):
    return build_elf(board, [SRC / "nv_counter.c"], out_dir=build_dir("test-fw", f"nv-{board}"), name="nv_counter")


def test_qemu_nv_page_survives_a_reset(arm, tmp_path):
    elf = _elf("qemu-m4")
    outs = [run_qemu(elf, timeout_s=20, cwd=tmp_path) for _ in range(3)]
    assert all(r.returncode == 0 and not r.timed_out for r in outs), [r.stderr for r in outs]
    assert [r.text.splitlines()[0] for r in outs] == [f"nv size 2048 count {k}" for k in range(3)]
    assert outs[0].text.splitlines()[1] == "out of range -1"
    page = (tmp_path / "tml-nv.bin").read_bytes()
    assert len(page) == 2048 and page[16:20] == (3).to_bytes(4, "little")
    assert set(page[:16]) == {0xFF} and set(page[20:]) == {0xFF}  # erased flash elsewhere


def test_host_nv_page_is_the_named_file(native, tmp_path):
    elf = _elf("host")
    env = {**os.environ, "TML_NV_FILE": str(tmp_path / "page.bin")}
    runs = [subprocess.run([str(elf)], capture_output=True, text=True, env=env, timeout=20) for _ in range(2)]
    assert [r.stdout.splitlines()[0] for r in runs] == ["nv size 2048 count 0", "nv size 2048 count 1"]
    bare = subprocess.run([str(elf)], capture_output=True, text=True, timeout=20, env={"PATH": os.environ["PATH"]})
    assert bare.stdout.splitlines()[0] == "nv none -1"  # no file named: no storage, reads refused
