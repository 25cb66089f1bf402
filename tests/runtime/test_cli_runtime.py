"""`tinyml compile` / `profile` / `bench` end to end, and the generated-code contract other parts of the
firmware rely on (model.h macros and functions)."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest

from specs import packed_spec, random_spec
from tinyml.cli import main
from tinyml.compile import compile_tflite, runtime_dir, runtime_sources, zoo
from tinyml.compile.reference import TflmModel

CONTRACT_MAIN = r"""
#include <stdio.h>
#include <string.h>
#include "model.h"
int main(void) {
    static const int8_t x[TML_MODEL_INPUT_SIZE] = {0};
    float s = TML_MODEL_INPUT_SCALE, so = TML_MODEL_OUTPUT_SCALE;
    int z = TML_MODEL_INPUT_ZERO_POINT + TML_MODEL_OUTPUT_ZERO_POINT;
    static char arena_known_at_compile_time[TML_MODEL_ARENA_SIZE];
    memcpy(tml_model_input(), x, TML_MODEL_INPUT_SIZE);
    if (tml_model_invoke() != 0) return 1;
    const int8_t *y = tml_model_output();
    for (int i = 0; i < TML_MODEL_OUTPUT_SIZE; i++) printf("%d ", y[i]);
    printf("| %g %g %d %d\n", (double)s, (double)so, z, (int)sizeof arena_known_at_compile_time);
    return 0;
}
"""


def test_compile_writes_the_contract_and_it_builds(tmp_path, capsys):
    data = zoo.ds_cnn_tflite()
    src = tmp_path / "m.tflite"
    src.write_bytes(data)
    gen = tmp_path / "gen"
    assert main(["compile", "--tflite", str(src), "--out", str(gen)]) == 0
    assert "arena" in capsys.readouterr().out
    h = (gen / "model.h").read_text()
    for macro in ("INPUT_SIZE", "OUTPUT_SIZE", "ARENA_SIZE", "INPUT_ZERO_POINT", "OUTPUT_ZERO_POINT"):
        assert re.search(rf"#define TML_MODEL_{macro} -?\d+\n", h), macro
    for macro in ("INPUT_SCALE", "OUTPUT_SCALE"):
        assert re.search(rf"#define TML_MODEL_{macro} [0-9.e+-]+f\n", h), macro
    for proto in ("int8_t *tml_model_input(void);", "const int8_t *tml_model_output(void);",
                  "int tml_model_invoke(void);"):
        assert proto in h
    c = (gen / "model.c").read_text()
    assert "malloc" not in c and "tml_model_arena" in c
    # A C99 program against the contract, warnings as errors; its output equals TFLM's for a zero input.
    (tmp_path / "main.c").write_text(CONTRACT_MAIN)
    exe = tmp_path / "main"
    cmd = ["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-Wvla", "-O1", f"-I{gen}", f"-I{runtime_dir()}",
           str(tmp_path / "main.c"), str(gen / "model.c"), *map(str, runtime_sources()), "-o", str(exe), "-lm"]
    subprocess.run(cmd, check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    ours = [int(v) for v in out.split("|")[0].split()]
    ref = TflmModel(data).invoke(np.zeros((49, 10, 1), dtype=np.int8)).ravel().tolist()
    assert ours == ref
    assert out.split("|")[1].split()[-1] == str(compile_tflite(data).arena_size)


def test_profile_table(tmp_path, capsys):
    src = tmp_path / "m.tflite"
    src.write_bytes(zoo.tflite_for_spec(random_spec(14)))
    assert main(["profile", "--tflite", str(src), "--no-m4"]) == 0
    out = capsys.readouterr().out
    for op in ("CONV_2D", "MAX_POOL_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "SOFTMAX"):
        assert op in out
    assert re.search(r"arena \(ours\)\s+[\d,]+ B\s+TFLM arena [\d,]+ B", out)
    assert "MACs total" in out and "M4 instructions (est)" in out
    peak = re.search(r"peak live memory\s+([\d,]+) B\s+\(layer (\d+)", out)
    assert peak and out.count("<- peak") >= 1


@pytest.mark.parametrize("data", [zoo.ds_cnn_tflite(), zoo.tflite_for_spec(random_spec(14))], ids=["ds-cnn", "random-14"])
def test_live_memory_per_layer(data):
    """profile's live bytes per layer, against a byte map of the arena marked tensor by tensor."""
    from tinyml.compile.profile import live_bytes

    cm = compile_tflite(data)
    sizes = cm.lowered.arena_tensors
    live = live_bytes(cm)
    for k, L in enumerate(cm.layers):
        used = np.zeros(cm.arena_size, bool)
        for t, n in sizes.items():
            first, last = cm.plan.lifetimes[t]
            if first <= k <= last:
                used[cm.plan.offsets[t]:cm.plan.offsets[t] + n] = True
        assert live[k] == int(used.sum()), L.op
        assert live[k] >= sum(sizes[t] for t in L.outputs if t in sizes)
    assert max(live) <= cm.arena_size


@pytest.mark.skipif(not (shutil.which("arm-none-eabi-gcc") and shutil.which("qemu-system-arm")),
                    reason="needs arm-none-eabi-gcc and qemu-system-arm")
def test_bench_one_model(tmp_path, capsys):
    src = tmp_path / "m.tflite"
    src.write_bytes(zoo.tflite_for_spec(random_spec(6)))
    assert main(["bench", "--tflite", str(src), "--no-docs", "--vectors", "3"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"bit-exact vs TFLM \(host; M4 DSP, portable, generic; M7; M3\)\s+yes; yes, yes, yes; yes; yes, yes\n", out)
    m = re.search(r"M4 instructions / inference, DSP\s+([\d,]+) \(([\d.]+) per MAC\)", out)
    assert m and int(m.group(1).replace(",", "")) > 0
    # the cycle estimate weighs the same instructions, most 1 cycle, none less
    c = re.search(r"M4 estimated cycles / inference, DSP\s+([\d,]+)", out)
    assert c and int(c.group(1).replace(",", "")) >= int(m.group(1).replace(",", "")) - 200
    # per layer class too: the traced layers are the ones the runner counted
    ins = dict(re.findall(r"([a-z ]+) ([\d.]+)", re.search(r"instructions per MAC by class \(M4 DSP\): (.*)", out).group(1)))
    cyc = dict(re.findall(r"([a-z ]+) ([\d.]+)", re.search(r"estimated M4 cycles per MAC by class \(DSP\): (.*)", out).group(1)))
    assert ins.keys() == cyc.keys() and ins
    for k in ins:
        assert float(cyc[k]) >= float(ins[k]) - 0.02, (k, ins[k], cyc[k])
    for core in ("M7 instructions / inference, DSP", "M3 instructions / inference, portable C99",
                 "M3 instructions, portable C99, generic kernels only"):
        assert re.search(re.escape(core) + r"\s+[\d,]+ \([\d.]+ per MAC\)", out), core
    assert re.search(r"kernel code flash \(M4, -Os\)\s+[\d,]+ B", out)
    assert re.search(r"M3 flash \(-O2\): kernel code \+ weights/constants\s+[\d,]+ \+ [\d,]+ B \(generic kernels only: "
                     r"[\d,]+ \+ [\d,]+ B\)", out)


@pytest.mark.skipif(not (shutil.which("arm-none-eabi-gcc") and shutil.which("qemu-system-arm") and shutil.which("avr-gcc")
                         and shutil.which("simavr")), reason="needs the Arm and AVR toolchains, qemu-system-arm, simavr")
def test_bench_on_an_8bit_board(tmp_path, capsys):
    """--board avr-uno: cycles per inference under simavr with the board's kernels (the generic ones) and with
    the packed kernels' C, flash of both, exactness, and the portable verdicts computed from those figures."""
    from tinyml.compile.bench import portable_verdicts

    src = tmp_path / "m.tflite"
    src.write_bytes(zoo.tflite_for_spec(packed_spec("conv1d", 0)))
    assert main(["bench", "--tflite", str(src), "--no-docs", "--vectors", "2", "--board", "avr-uno"]) == 0
    out = capsys.readouterr().out
    m = re.search(r"avr-uno cycles / inference, the board's kernels\s+([\d,]+) \([\d.]+ per MAC; packed kernels' "
                  r"portable C: ([\d,]+), [\d.]+ per MAC\)", out)
    assert m, out
    own, packed = (int(g.replace(",", "")) for g in m.groups())
    assert 0 < own < packed  # the 8-bit core's choice is the cheaper one
    assert re.search(r"avr-uno flash \(-O2\): kernel code \+ weights/constants\s+[\d,]+ \+ [\d,]+ B for conv2d_s8", out)
    assert re.search(r"avr-uno bit-exact vs TFLM \(board's kernels, packed\)\s+yes, yes", out)
    assert main(["bench", "--tflite", str(src), "--no-docs", "--board", "qemu-m4"]) == 2  # not an 8/16-bit board
    r = {"m3_portable_instr": 10, "m3_portable_generic_instr": 9,
         "small_boards": {"b": {"board": {"cost": 5, "unit": "cycles"}, "packed": {"cost": 6, "unit": "cycles"}}}}
    assert [ok for _, ok in portable_verdicts(r)] == [False, True]


def test_compile_for_a_board_uses_its_kernels(tmp_path, capsys):
    """--board avr-uno (BOARD_WORD_BITS = 8): the generic kernels; --board qemu-m4 and no board: the packed ones."""
    src = tmp_path / "m.tflite"
    src.write_bytes(zoo.tflite_for_spec(packed_spec("chain", 1)))
    for board, packed in (("avr-uno", False), ("qemu-m4", True), (None, True)):
        out = tmp_path / f"gen-{board}"
        assert main(["compile", "--tflite", str(src), "--out", str(out), *(["--board", board] if board else [])]) == 0
        assert ("_packed_s8(" in (out / "model.c").read_text()) == packed, board
    assert main(["compile", "--tflite", str(src), "--board", "no-such-board"]) == 2
    assert "unknown board 'no-such-board'" in capsys.readouterr().err


def test_bench_says_slower_when_our_host_time_is_longer():
    """It printed "6.0 us vs 4.0 us (0.7x faster)" for a model where TFLM's interpreter was quicker."""
    from tinyml.compile.bench import host_speed

    assert host_speed(6.0, 4.0) == "1.5x slower"
    assert host_speed(459.6, 737.0) == "1.6x faster"
    assert host_speed(4.0, 4.0) == "1.0x faster"
