"""Randomized parity: one-op and few-op Keras models, converted to full int8, must give int8 outputs
identical to the TFLM interpreter (the golden reference) on every input."""

from __future__ import annotations

import numpy as np
import pytest

from specs import EXTRA, KINDS, extra_spec, make_inputs, random_spec
from tinyml.compile import HostModel, parse_tflite, zoo
from tinyml.compile.reference import TflmModel

FAST = range(0, 2 * len(KINDS))           # every kind twice
SLOW = range(2 * len(KINDS), 2 * len(KINDS) + 150)


def check_parity(spec: dict, n: int = 120) -> dict:
    b = zoo.tflite_for_spec(spec)
    ours = HostModel(b)
    ref = TflmModel(b)
    xs = make_inputs(spec, ours.input_shape, n, spec.get("seed", 0))
    ya = ours.invoke_many(xs)
    yb = ref.invoke_many(xs)
    assert ya.shape == yb.shape and ya.dtype == yb.dtype
    if ya.dtype == np.float32:  # DEQUANTIZE output: compare the float bits
        ya, yb = ya.view(np.int32), yb.view(np.int32)
    bad = np.argwhere(ya != yb)
    assert bad.size == 0, (f"{len(bad)} of {ya.size} int8 outputs differ from TFLM for "
                           f"{[o.name for o in parse_tflite(b).operators]}; first at {bad[0].tolist()}: "
                           f"ours {ya[tuple(bad[0])]} vs TFLM {yb[tuple(bad[0])]}")
    return {"ops": [o.name for o in parse_tflite(b).operators], "unique": len(np.unique(yb))}


@pytest.mark.parametrize("seed", FAST)
def test_random_model_bit_exact(seed):
    info = check_parity(random_spec(seed))
    assert info["ops"]


@pytest.mark.slow
@pytest.mark.parametrize("seed", SLOW)
def test_random_model_bit_exact_sweep(seed):
    check_parity(random_spec(seed))


def test_ds_cnn_bit_exact():
    info = check_parity(zoo.ds_cnn_spec(), n=60)
    assert info["ops"].count("DEPTHWISE_CONV_2D") == 4 and info["ops"].count("CONV_2D") == 5


def test_random_kinds_cover_the_ops():
    """The fast set exercises every op family the runtime claims (guards the generator against drift)."""
    ops = set()
    for seed in FAST:
        ops |= {o.name for o in parse_tflite(zoo.tflite_for_spec(random_spec(seed))).operators}
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D", "MEAN", "RESHAPE",
            "SOFTMAX", "LOGISTIC", "ADD", "MUL", "CONCATENATION", "PAD"} <= ops


EXPECTED_EXTRA_OP = {"relu_alone": "RELU", "relu6_alone": "RELU6", "padv2": "PADV2", "float_out": "DEQUANTIZE"}


@pytest.mark.parametrize("kind", EXTRA)
@pytest.mark.parametrize("seed", range(3))
def test_extra_ops_bit_exact(kind, seed):
    info = check_parity(extra_spec(kind, seed))
    assert EXPECTED_EXTRA_OP[kind] in info["ops"]


@pytest.mark.parametrize("scale_factor,zp", [(0.37, 5), (2.9, -20), (1.0, 0), (0.011, 100)])
def test_quantize_requantization_bit_exact(scale_factor, zp):
    """QUANTIZE int8 -> int8 appended with the flatbuffer object API, against TFLM."""
    from surgery import append_requantize

    base = zoo.tflite_for_spec(random_spec(2))
    m = parse_tflite(base)
    out_scale = m.tensors[m.outputs[0]].scale[0]
    b = append_requantize(base, out_scale * scale_factor, zp)
    assert [o.name for o in parse_tflite(b).operators] == ["FULLY_CONNECTED", "QUANTIZE"]
    ours, ref = HostModel(b), TflmModel(b)
    xs = make_inputs({}, ours.input_shape, 200, 7)
    assert (ours.invoke_many(xs) == ref.invoke_many(xs)).all()
