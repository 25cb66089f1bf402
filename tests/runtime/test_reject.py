"""Models the runtime cannot run are refused at compile time with one line naming the op, its index and a
hint; never found first on the device."""

from __future__ import annotations

import os

import numpy as np
import pytest

from tinyml.compile import compile_tflite, zoo
from tinyml.errors import TinymlError


def _cached(name: str, build) -> bytes:
    p = zoo.cache_dir() / f"reject-{name}-v{zoo.CACHE_VERSION}.tflite"
    if not p.is_file():
        data = build()
        tmp = p.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(p)
    return p.read_bytes()


def _convert(model, mode: str) -> bytes:
    import tensorflow as tf

    calib = np.random.default_rng(0).normal(size=(16, *model.input_shape[1:])).astype("float32")
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    if mode == "float":
        return conv.convert()
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([x[None]] for x in calib)
    if mode == "int16":
        conv.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
        conv.inference_input_type = tf.int16
        conv.inference_output_type = tf.int16
    else:
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    return conv.convert()


def _dense(batch, act=None):
    import keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((8,), batch_size=batch)
    return keras.Model(inp, keras.layers.Dense(4, activation=act)(inp))


def _one_line(e: pytest.ExceptionInfo) -> str:
    msg = str(e.value)
    assert "\n" not in msg
    return msg


def test_unsupported_op_named_with_index_and_hint():
    b = _cached("tanh", lambda: _convert(_dense(1, "tanh"), "int8"))
    with pytest.raises(TinymlError) as e:
        compile_tflite(b)
    msg = _one_line(e)
    assert "op 1 (TANH)" in msg and "not supported" in msg and "supported ops:" in msg


def test_float_model_refused_with_int8_hint():
    b = _cached("float", lambda: _convert(_dense(1), "float"))
    with pytest.raises(TinymlError) as e:
        compile_tflite(b)
    msg = _one_line(e)
    assert "op 0 (FULLY_CONNECTED)" in msg and "float32" in msg and "int8" in msg


def test_dynamic_batch_refused_with_batch_size_hint():
    b = _cached("dynamic", lambda: _convert(_dense(None), "int8"))
    with pytest.raises(TinymlError) as e:
        compile_tflite(b)
    msg = _one_line(e)
    assert "dynamic shape" in msg and "batch_size=1" in msg and "op 0" in msg


def test_int16_activations_refused():
    b = _cached("int16", lambda: _convert(_dense(1), "int16"))
    with pytest.raises(TinymlError) as e:
        compile_tflite(b)
    msg = _one_line(e)
    assert "int16" in msg and "op 0" in msg


def test_cli_prints_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    from tinyml.cli import main

    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"\x10\x00\x00\x00TFL3" + b"\x00" * 5)
    rc = main(["compile", "--tflite", str(bad), "--out", str(tmp_path / "gen")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("error: malformed .tflite") and "\n" not in err


def test_softmax_scale_too_small_is_refused_by_both_runtimes():
    """A softmax whose input scale is too small for its fixed-point maths (an untrained deep net's scales
    shrink layer by layer) makes TFLM abort the whole process. Ours refuses it at compile time, and the
    TFLM reference is loaded in a child first, so both give one line instead of killing the caller."""
    from tinyml.apps import discover, load_app
    from tinyml.compile.reference import TflmModel as OpReference
    from tinyml.compile.tflite_format import parse_tflite
    from tinyml.reference import TflmModel, tflm_arena_bytes

    paths = [load_app(a).tflite_path for a in discover()]
    models = [(b, parse_tflite(b)) for b in (p.read_bytes() for p in paths if p.is_file())]
    with_softmax = [(b, m) for b, m in models if any(o.name == "SOFTMAX" for o in m.operators)]
    if not with_softmax:
        pytest.skip("no committed app model ends in a softmax")
    good, m = with_softmax[0]
    softmax = next(o for o in m.operators if o.name == "SOFTMAX")
    scale = np.float32(np.atleast_1d(m.tensors[softmax.inputs[0]].scale)[0]).tobytes()
    assert good.count(scale) == 1
    bad = good.replace(scale, np.float32(1e-9).tobytes())
    with pytest.raises(TinymlError) as e:
        compile_tflite(bad)
    assert "SOFTMAX: input scale 1e-09 is too small" in _one_line(e)
    for load in (TflmModel, OpReference, tflm_arena_bytes):
        with pytest.raises(TinymlError) as e:
            load(bad)
        assert _one_line(e).startswith("TFLM aborted loading the model")
    assert tflm_arena_bytes(good) > 0  # the unchanged model still loads
