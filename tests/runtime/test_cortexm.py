"""Cortex-M builds: the generated model with the portable and the DSP kernels runs on the emulated
Cortex-M4F (qemu-system-arm -M mps2-an386, semihosting exit) and gives TFLM's int8 outputs, so the two
builds are bit-exact with each other; the Cortex-M0+ build compiles with no DSP instruction."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from specs import make_inputs, random_spec
from tinyml.compile import parse_tflite, zoo
from tinyml.compile.cortexm import DSP_MNEMONICS, build_runner, m0plus_check, run_runner
from tinyml.compile.reference import TflmModel

pytestmark = pytest.mark.skipif(not (shutil.which("arm-none-eabi-gcc") and shutil.which("qemu-system-arm")),
                                reason="needs arm-none-eabi-gcc and qemu-system-arm (tinyml system-deps firmware)")

SEEDS = [1, 3, 4, 6, 8, 9, 10, 11, 12, 14, 16]


def _models():
    return [(f"random-{s}", random_spec(s)) for s in SEEDS] + [("ds-cnn", zoo.ds_cnn_spec())]


@pytest.mark.parametrize("name,spec", _models(), ids=[n for n, _ in _models()])
def test_m4_portable_and_dsp_bit_exact_with_tflm(name, spec):
    b = zoo.tflite_for_spec(spec)
    m = parse_tflite(b)
    xs = make_inputs(spec, m.tensors[m.inputs[0]].shape[1:], 8, spec.get("seed", 0))
    ref = TflmModel(b).invoke_many(xs).reshape(len(xs), -1).view(np.int8)
    results = {}
    for dsp in (False, True):
        res = run_runner(build_runner(b, xs, dsp=dsp, opt="-O2", tag="test"))
        assert res.unit == "instructions"
        assert (res.outputs == ref).all(), f"{'DSP' if dsp else 'portable'} build differs from TFLM"
        assert (res.instructions > 0).all()
        results[dsp] = res
    assert (results[True].outputs == results[False].outputs).all()
    if name == "ds-cnn":
        # The fast path is really taken: clearly fewer instructions than the portable kernels.
        assert results[True].instructions.mean() < 0.75 * results[False].instructions.mean()


def test_m0plus_build_has_no_dsp_instructions():
    for data in (zoo.ds_cnn_tflite(), zoo.tflite_for_spec(random_spec(14)), zoo.tflite_for_spec(random_spec(9))):
        r = m0plus_check(data)
        assert r["dsp_instructions"] == [] and r["kernel_text"] > 0


def test_m4_dsp_build_does_use_simd():
    """The check above can fail: the same scan finds SMLAD/SXTB16 in the M4 DSP objects."""
    b = zoo.ds_cnn_tflite()
    rb = build_runner(b, np.zeros((1, 490), dtype=np.int8), dsp=True, opt="-O2", tag="test")
    conv = [o for o in rb.objects if o.name.startswith("tml_nn_conv")]
    dis = subprocess.run(["arm-none-eabi-objdump", "-d", str(conv[0])], capture_output=True, text=True).stdout
    assert any(f"\t{m}\t" in dis for m in DSP_MNEMONICS)


def _packed_models(kinds, seeds):
    from specs import packed_spec

    return [(f"{k}-{s}", packed_spec(k, s)) for k in kinds for s in seeds]


def _run_both_builds_tight(spec):
    b = zoo.tflite_for_spec(spec)
    m = parse_tflite(b)
    xs = make_inputs(spec, m.tensors[m.inputs[0]].shape[1:], 6, spec.get("seed", 0))
    ref = TflmModel(b).invoke_many(xs).reshape(len(xs), -1).view(np.int8)
    for dsp in (False, True):
        res = run_runner(build_runner(b, xs, dsp=dsp, opt="-O2", tag="test-packed", tight=True))
        assert (res.outputs == ref).all(), f"{'DSP' if dsp else 'portable'} build differs from TFLM"


FAST_PACKED = _packed_models(["chain", "dw3x3", "dw_general", "conv_rows", "fc", "conv1d"], [0])


@pytest.mark.parametrize("name,spec", FAST_PACKED, ids=[n for n, _ in FAST_PACKED])
def test_m4_packed_kernels_in_place_bit_exact(name, spec):
    """Every packed path on the emulated M4, both builds, each output as far into its input as allowed."""
    _run_both_builds_tight(spec)


SLOW_PACKED = _packed_models(["pointwise", "conv_rows", "conv_im2col", "conv1d", "dw3x3", "dw_general", "fc", "chain"],
                             [1, 2, 3])


@pytest.mark.slow
@pytest.mark.parametrize("name,spec", SLOW_PACKED, ids=[n for n, _ in SLOW_PACKED])
def test_m4_packed_kernels_sweep(name, spec):
    _run_both_builds_tight(spec)


@pytest.mark.parametrize("kind", ["pointwise", "dw3x3"])
def test_m4_packed_kernels_narrow_clamp(kind):
    """A clamp narrower than int8 takes the kernels' C epilogue in the DSP build."""
    from specs import packed_spec
    from surgery import set_quantization

    spec = dict(packed_spec(kind, 2))
    spec["layers"] = [dict(spec["layers"][0], activation="relu")]
    b = zoo.tflite_for_spec(spec)
    m = parse_tflite(b)
    out = m.tensors[m.outputs[0]]
    b = set_quantization(b, out.index, out.scale[0], 20)
    xs = make_inputs(spec, m.tensors[m.inputs[0]].shape[1:], 6, 5)
    ref = TflmModel(b).invoke_many(xs).reshape(len(xs), -1).view(np.int8)
    res = run_runner(build_runner(b, xs, dsp=True, opt="-O2", tag="test-packed"))
    assert (res.outputs == ref).all()


def test_cycle_trace_counts_the_same_instructions_per_layer():
    """tinyml.compile.cycles attributes every traced instruction to the layer SysTick counted it in: per layer,
    the traced count equals the -icount figure (to SysTick's resolution and the hook's few instructions),
    and the cycle estimate is at least one cycle per instruction."""
    from tinyml.compile.cycles import classify, hot_loops, trace_layers

    spec = {"seed": 3, "input": [8, 6, 3], "layers": [
        {"type": "conv2d", "filters": 8, "kernel": [3, 3], "padding": "same", "activation": "relu"},
        {"type": "dwconv2d", "kernel": [3, 3], "padding": "same", "activation": "relu"},
        {"type": "conv2d", "filters": 6, "kernel": [1, 1]}, {"type": "flatten"}, {"type": "dense", "units": 4}]}
    b = zoo.tflite_for_spec(spec)
    m = parse_tflite(b)
    xs = make_inputs(spec, m.tensors[m.inputs[0]].shape[1:], 1, 0)
    rb = build_runner(b, xs, dsp=True, opt="-O2", tag="test-trace")
    res = run_runner(rb)
    costs = trace_layers(rb.elf, len(res.layers))
    assert len(costs) == len(res.layers)
    for (i, counted), c in zip(res.layers, costs):
        assert abs(c.instructions - counted) <= 60, (i, counted, c.instructions)
        assert c.cycles >= c.instructions
    assert sum(c.classes["mul"] for c in costs) > 0 and sum(c.classes["simd"] for c in costs) > 0
    hot = {h["function"]: h for h in hot_loops(costs)}
    conv = hot["tml_conv2d_packed_s8"]  # the assembly loop: 2 pixels x 2 filters x 8 values, 16 SMLAD
    assert conv["mac_instructions"] == 16 and conv["macs"] == 32 and conv["instructions"] <= 32
    assert conv["iterations"] > 0 and 0 < conv["share"] < 1
    assert classify("smlad", "r0, r1, r2, r0") == ("mul", 1) and classify("ldr.w", "r1, [r2], #4") == ("load", 2)
    assert classify("bne.n", "8000") == ("branch", 1) and classify("pop", "{r4, r5, pc}")[0] == "load_multi_pc"
