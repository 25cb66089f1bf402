"""The runtime on the 8-bit avr-uno (ATmega328P: 16-bit int, soft float, no divider, 2 KB of SRAM), under
simavr: the compiled models that fit give TFLM's int8 outputs bit for bit, with their weights in flash
(TML_FLASH), and the board's float32 arithmetic rounds as numpy's does, so app code agrees with Python."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from specs import KINDS, make_inputs, packed_spec, random_spec
from tinyml.compile import compile_tflite, parse_tflite, zoo
from tinyml.compile.cortexm import build_runner, run_runner
from tinyml.compile.reference import TflmModel
from tinyml.device.board import load_board
from tinyml.device.build import build_elf
from tinyml.device.elf import Elf
from tinyml.paths import build_dir, firmware_dir

pytestmark = pytest.mark.skipif(not (shutil.which("avr-gcc") and shutil.which("simavr")),
                                reason="needs avr-gcc and simavr (tinyml system-deps firmware)")

BOARD = "avr-uno"
STACK_MARGIN = 512  # bytes of SRAM left for the stack (the runner, the kernels, the UART interrupt)
SEEDS = range(2 * len(KINDS))  # every kind twice, as the host parity test


def _may_fit(data: bytes) -> bool:
    return compile_tflite(data).arena_size + STACK_MARGIN <= load_board(BOARD).ram_size


def test_random_models_bit_exact_with_tflm_on_avr():
    ran, ops = [], set()
    for seed in SEEDS:
        spec = random_spec(seed)
        data = zoo.tflite_for_spec(spec)
        if not _may_fit(data):
            continue
        m = parse_tflite(data)
        xs = make_inputs(spec, m.tensors[m.inputs[0]].shape[1:], 4, spec.get("seed", 0))
        ref = TflmModel(data).invoke_many(xs).reshape(len(xs), -1).view(np.int8)
        rb = build_runner(data, xs, dsp=False, opt="-O2", board=BOARD, tag="avr")
        sizes = Elf(rb.elf).sizes()
        if sizes["data"] + sizes["bss"] + STACK_MARGIN > load_board(BOARD).ram_size:
            continue  # does not fit 2 KB with the runner's own buffers
        res = run_runner(rb, timeout_s=60)
        assert res.unit == "cycles" and (res.instructions > 0).all()
        assert (res.outputs == ref).all(), f"seed {seed} ({[o.name for o in m.operators]}) differs from TFLM on AVR"
        ran.append(seed)
        ops |= {o.name for o in m.operators}
    assert len(ran) >= 20, ran  # most of the random models fit 2 KB; the big convolutions do not
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "MEAN", "SOFTMAX", "LOGISTIC", "ADD", "MUL",
            "CONCATENATION", "PAD", "MAX_POOL_2D"} <= ops, sorted(ops)


def test_the_8bit_board_gets_the_generic_kernels():
    """BOARD_WORD_BITS = 8 in avr-uno's board.mk: its runner and its app images are compiled without the packed
    kernels (their 32-bit arithmetic is library calls on an 8-bit core), the Cortex-M boards' with them."""
    assert load_board(BOARD).word_bits == 8 and load_board("qemu-m4").word_bits == 32
    data = zoo.tflite_for_spec(packed_spec("chain", 1))
    xs = np.zeros((1, compile_tflite(data).input_size), np.int8)
    avr = build_runner(data, xs, dsp=False, opt="-Os", board=BOARD, tag="avr-select").compiled
    m4 = build_runner(data, xs, dsp=False, opt="-Os", tag="m4-select").compiled
    assert not any("packed" in L.kernel for L in avr.layers), [L.kernel for L in avr.layers]
    assert any("packed" in L.kernel for L in m4.layers)
    assert "_packed_s8" not in avr.c_source and "_packed_s8" in m4.c_source


@pytest.mark.parametrize("kind,seed", [("chain", 1), ("dw_general", 0), ("conv1d", 0), ("dw3x3", 2)])
def test_packed_kernels_bit_exact_on_avr(kind, seed):
    """The packed kernels' portable C (16-bit int, weights and requantization records in flash), each output
    as far into its input as its in-place contract allows: the board itself gets the generic kernels, but the
    packed C must stay exact on any core without the DSP extension (a 16-bit int included)."""
    spec = packed_spec(kind, seed)
    data = zoo.tflite_for_spec(spec)
    assert any("packed" in L.kernel for L in compile_tflite(data).layers)
    m = parse_tflite(data)
    xs = make_inputs(spec, m.tensors[m.inputs[0]].shape[1:], 4, spec["seed"])
    ref = TflmModel(data).invoke_many(xs).reshape(len(xs), -1).view(np.int8)
    res = run_runner(build_runner(data, xs, dsp=False, opt="-O2", board=BOARD, tag="avr-packed", tight=True,
                                     kernels="auto"),
                     timeout_s=60)
    assert (res.outputs == ref).all()


def test_weights_stay_in_flash():
    """A model's constants add flash, not SRAM: .data does not grow with the weights."""
    small = zoo.tflite_for_spec(random_spec(2))
    big = zoo.tflite_for_spec({"seed": 0, "input": [60], "layers": [{"type": "dense", "units": 48},
                                                                    {"type": "dense", "units": 32}]})
    datas = []
    for data in (small, big):
        rb = build_runner(data, np.zeros((1, compile_tflite(data).input_size), np.int8), dsp=False, opt="-Os",
                          board=BOARD, tag="avr-flash")
        datas.append(Elf(rb.elf).sizes())
    assert compile_tflite(big).weight_bytes > 4000
    assert datas[1]["text"] - datas[0]["text"] > 4000  # the weights went to flash ...
    assert datas[1]["data"] - datas[0]["data"] < 64  # ... and not to SRAM


def test_float32_arithmetic_rounds_like_numpy():
    rng = np.random.default_rng(5)
    n = 200
    a = (rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 4, n)).astype(np.float32)
    b = (rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 4, n)).astype(np.float32)
    b[b == 0] = np.float32(1)
    gen = build_dir("test-fw", "avr-float-ops")
    gen.mkdir(parents=True, exist_ok=True)
    lit = lambda v: ",".join(f"{float(x)!r}f" for x in v)  # noqa: E731
    (gen / "vectors.h").write_text(f"#define N_VECTORS {n}\nstatic const TML_FLASH float VEC_A[{n}] = {{{lit(a)}}};\n"
                                   f"static const TML_FLASH float VEC_B[{n}] = {{{lit(b)}}};\n")
    src = Path(__file__).parents[1] / "firmware" / "src" / "float_ops.c"
    elf = build_elf(BOARD, [src], include_dirs=[gen, firmware_dir() / "runtime"], out_dir=gen / "out", name="float_ops")
    from tinyml.device.simavr import run_simavr

    r = run_simavr(load_board(BOARD), elf, timeout_s=60)
    assert r.returncode == 0, r.stderr
    rows = [line.split() for line in r.text.splitlines() if line and line != "done"]
    assert len(rows) == n
    f32 = np.float32
    u32 = lambda v: int(np.array([v], np.float32).view(np.uint32)[0])  # noqa: E731
    for x, y, row in zip(a, b, rows):
        got = [int(h, 16) for h in row]
        want = [u32(x + y), u32(x - y), u32(x * y), u32(x / y), u32(np.sqrt(abs(x))), u32(np.floor(x))]
        assert got[:6] == want, (x, y)
        if abs(x) < 2**31:
            assert got[6] == int(np.trunc(x)) & 0xFFFFFFFF
        if abs(float(y) * 1000) < 2**31:
            assert got[7] == u32(f32(int(np.trunc(y * f32(1000.0))))), (x, y)
