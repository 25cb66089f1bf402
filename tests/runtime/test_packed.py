"""The packed kernels (tml_nn_gemm.c, tml_nn_dwconv.c) and their proof (tinyml.compile.packing): the fast
requantization equals TFLite's on every accumulator the proof admits; models of every packed path give
TFLM's outputs on the host, with the arena planned normally and with every output as far into its input
as the kernel's contract allows (tight), also under ASan/UBSan; the generic kernels stay exact too."""

from __future__ import annotations

import numpy as np
import pytest

from specs import PACKED, make_inputs, packed_spec
from tinyml.compile import HostModel, compile_tflite, parse_tflite, run_sanitized, zoo
from tinyml.compile import packing
from tinyml.compile.reference import TflmModel

# Two seeds per path in the default run; two more in the slow sweep (make test-all).
SEEDS = [0, 1, pytest.param(2, marks=pytest.mark.slow), pytest.param(3, marks=pytest.mark.slow)]


def tflite_requant(acc, mult, shift, zp):
    """TFLite's MultiplyByQuantizedMultiplier + zero point, in Python integers (right shifts only)."""
    e = -shift
    h = (acc * mult + (1 << 30)) >> 31  # saturating rounding doubling high multiply (mult >= 0)
    mask = (1 << e) - 1
    rem = h & mask
    threshold = (mask >> 1) + np.where(h < 0, 1, 0)
    return (h >> e) + np.where(rem > threshold, 1, 0) + zp


def fast_requant(acc, mult, shift, zp):
    """tml_nn.h's formula on int32 values: SMMULR(2 acc, mult), then (h - (acc < 0) + rnd) >> shift."""
    e = -shift
    acc2 = 2 * acc
    h = (acc2 * mult + (1 << 31)) >> 32
    rnd = (1 << (e - 1)) + zp * (1 << e)
    v = h - np.where(acc2 < 0, 1, 0) + rnd
    assert (np.abs(v) < (1 << 31)).all() and (np.abs(acc2) < (1 << 31)).all()
    return v >> e


@pytest.mark.parametrize("shift", range(-31, 0))
def test_fast_requant_equals_tflite(shift):
    """Every accumulator in [-2^17, 2^17] (each rounding case many times over) and the edges of the proof's
    range, for multipliers at both ends of [2^30, 2^31) and in between, and extreme zero points."""
    rng = np.random.default_rng(-shift)
    acc = np.concatenate([np.arange(-(1 << 17), (1 << 17) + 1, dtype=np.int64),
                          (1 << 30) - 1 - np.arange(2000, dtype=np.int64), -(1 << 30) + 1 + np.arange(2000, dtype=np.int64),
                          rng.integers(-(1 << 30) + 1, 1 << 30, 20000, dtype=np.int64)])
    for mult in (1 << 30, (1 << 30) + 1, int(rng.integers(1 << 30, 1 << 31)), (1 << 31) - 1):
        for zp in (-128, -1, 0, 127):
            bound = (1 << 30) - 1
            rnd = (1 << (-shift - 1)) + zp * (1 << -shift)
            if (bound * mult >> 31) + 3 + abs(rnd) > (1 << 31) - 1:
                continue  # the proof refuses such a channel
            assert (fast_requant(acc, mult, shift, zp) == tflite_requant(acc, mult, shift, zp)).all()


def test_proof_refuses_what_it_cannot_show():
    kb, ws = np.array([10]), np.array([100])
    assert packing.rq_records(kb, ws, [1 << 30], [-7], 0) is not None
    assert packing.rq_records(kb, ws, [1 << 30], [0], 0) is None  # no right shift (multiplier >= 1/2)
    assert packing.rq_records(kb, ws, [1 << 30], [1], 0) is None  # a left shift
    assert packing.rq_records(np.array([1 << 30]), ws, [1 << 30], [-7], 0) is None  # |acc| may reach 2^30
    assert packing.rq_records(kb, np.array([(1 << 23)]), [1 << 30], [-7], 0) is None  # 128 * sum|w| >= 2^30
    assert packing.rq_records(kb, ws, [(1 << 31) - 1], [-31], 127) is None  # rnd + h overflow int32


def _check(data: bytes, spec: dict, n: int = 40, **kw) -> None:
    m = parse_tflite(data)
    xs = make_inputs(spec, m.tensors[m.inputs[0]].shape[1:], n, spec["seed"])
    ref = TflmModel(data).invoke_many(xs)
    ours = HostModel(data, **kw).invoke_many(xs)
    bad = np.argwhere(ours != ref)
    assert bad.size == 0, f"{len(bad)} outputs differ ({kw}); first at {bad[0].tolist()}"


def _packed_kernels(data: bytes) -> set[str]:
    return {L.kernel for L in compile_tflite(data).layers if "packed" in L.kernel}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("kind", PACKED)
def test_packed_paths_bit_exact(kind, seed):
    spec = packed_spec(kind, seed)
    data = zoo.tflite_for_spec(spec)
    assert _packed_kernels(data), "the packed kernels were not selected"
    _check(data, spec)
    _check(data, spec, tight=True)


@pytest.mark.parametrize("kind", PACKED)
def test_generic_kernels_bit_exact(kind):
    spec = packed_spec(kind, 0)
    data = zoo.tflite_for_spec(spec)
    assert not {L.kernel for L in compile_tflite(data, kernels="generic").layers if "packed" in L.kernel}
    _check(data, spec, kernels="generic")


@pytest.mark.parametrize("kind", ["pointwise", "conv_rows", "dw3x3", "dw_general", "fc", "chain"])
def test_packed_tight_plan_sanitized(kind):
    """Outputs as far into their inputs as allowed, with ASan/UBSan: no read of a clobbered byte, no read
    outside a buffer."""
    spec = packed_spec(kind, 1)
    data = zoo.tflite_for_spec(spec)
    m = parse_tflite(data)
    xs = make_inputs(spec, m.tensors[m.inputs[0]].shape[1:], 16, 3)
    ref = TflmModel(data).invoke_many(xs).reshape(len(xs), -1).view(np.int8)
    assert (run_sanitized(data, xs, tight=True) == ref).all()


def test_ds_cnn_runs_in_place():
    """The DS-CNN's depthwise and pointwise layers write over their inputs: the arena holds one 8000-byte
    activation plus a depthwise ring, under half of TFLM's."""
    cm = compile_tflite(zoo.ds_cnn_tflite())
    kinds = [L.kernel for L in cm.layers]
    assert kinds.count("tml_dwconv2d_packed_s8") == 4 and kinds.count("tml_conv2d_packed_s8") == 5
    for L in cm.layers[1:9]:
        assert cm.plan.offsets[L.outputs[0]] == cm.plan.offsets[L.inputs[0]], L.op
    assert cm.arena_size <= 11 * 1024


@pytest.mark.parametrize("kind", ["pointwise", "conv_rows", "dw3x3", "fc"])
@pytest.mark.parametrize("how", ["narrow", "unprovable"])
def test_requantization_edge_cases(kind, how):
    """A clamp narrower than int8 (the kernels' slower clamp), and an output scale whose requantization
    the proof refuses (the layer falls back to the generic kernel in the same model)."""
    from surgery import set_quantization

    spec = dict(packed_spec(kind, 2))
    spec["layers"] = [dict(spec["layers"][0], activation="relu")]
    data = zoo.tflite_for_spec(spec)
    m = parse_tflite(data)
    out = m.tensors[m.outputs[0]]
    if how == "narrow":
        data = set_quantization(data, out.index, out.scale[0], 20)
        assert compile_tflite(data).layers[-1].kernel.endswith("packed_s8")
    else:
        data = set_quantization(data, out.index, out.scale[0] * 1e-4, out.zero_point[0])
        assert not compile_tflite(data).layers[-1].kernel.endswith("packed_s8")
    _check(data, spec)
    _check(data, spec, tight=True)
