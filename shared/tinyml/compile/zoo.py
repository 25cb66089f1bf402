"""Models for testing and benchmarking the runtime: build Keras models from small JSON-able specs, convert
them to full-int8 .tflite (cached under build/cache/runtime keyed by the spec), and the MLPerf Tiny KWS
DS-CNN architecture with random weights. TensorFlow is imported lazily (it takes seconds).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from ..paths import build_dir

CACHE_VERSION = 3


def cache_dir() -> Path:
    d = build_dir("cache", "runtime")
    d.mkdir(parents=True, exist_ok=True)
    return d


def spec_key(spec: dict) -> str:
    blob = json.dumps({"v": CACHE_VERSION, **spec}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def _keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras  # noqa: F401
    return keras


def convert(model, calib: np.ndarray, output_type: str = "int8") -> bytes:
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([x[None].astype("float32")] for x in calib)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.float32 if output_type == "float32" else tf.int8
    return conv.convert()


def _randomize(model, rng: np.random.Generator, scale: float = 1.0) -> None:
    ws = []
    for w in model.get_weights():
        fan = max(int(np.prod(w.shape[:-1])), 1) if w.ndim > 1 else 1
        if w.ndim == 1:
            ws.append(rng.normal(0, 0.3, w.shape).astype("float32"))
        else:
            ws.append((rng.normal(0, scale / np.sqrt(fan), w.shape)).astype("float32"))
    model.set_weights(ws)


def build_keras(spec: dict):
    """spec = {"input": [..], "layers": [{"type": ..., ...}], "seed": int}. Layers are applied in order;
    {"type": "branch_add"|"branch_mul"|"branch_concat", "layers": [...]} applies a side branch to the
    current tensor and merges it back."""
    keras = _keras()
    L = keras.layers
    keras.utils.set_random_seed(int(spec.get("seed", 0)))
    inp = keras.Input(tuple(spec["input"]), batch_size=1)

    def act(name):
        return None if name in (None, "none") else name

    def apply(x, ls):
        for l in ls:
            t = l["type"]
            if t == "conv2d":
                x = L.Conv2D(l["filters"], tuple(l["kernel"]), strides=tuple(l.get("strides", (1, 1))),
                             padding=l.get("padding", "valid"), dilation_rate=tuple(l.get("dilation", (1, 1))),
                             activation=act(l.get("activation")), use_bias=l.get("bias", True))(x)
            elif t == "conv1d":
                x = L.Conv1D(l["filters"], l["kernel"], strides=l.get("strides", 1), padding=l.get("padding", "valid"),
                             dilation_rate=l.get("dilation", 1), activation=act(l.get("activation")))(x)
            elif t == "dwconv2d":
                x = L.DepthwiseConv2D(tuple(l["kernel"]), strides=tuple(l.get("strides", (1, 1))),
                                      padding=l.get("padding", "valid"), depth_multiplier=l.get("multiplier", 1),
                                      dilation_rate=tuple(l.get("dilation", (1, 1))),
                                      activation=act(l.get("activation")), use_bias=l.get("bias", True))(x)
            elif t == "dense":
                x = L.Dense(l["units"], activation=act(l.get("activation")), use_bias=l.get("bias", True))(x)
            elif t == "avgpool2d":
                x = L.AveragePooling2D(tuple(l["pool"]), strides=tuple(l.get("strides", l["pool"])),
                                       padding=l.get("padding", "valid"))(x)
            elif t == "maxpool2d":
                x = L.MaxPooling2D(tuple(l["pool"]), strides=tuple(l.get("strides", l["pool"])),
                                   padding=l.get("padding", "valid"))(x)
            elif t == "gap2d":
                x = L.GlobalAveragePooling2D(keepdims=l.get("keepdims", False))(x)
            elif t == "gap1d":
                x = L.GlobalAveragePooling1D()(x)
            elif t == "flatten":
                x = L.Flatten()(x)
            elif t == "reshape":
                x = L.Reshape(tuple(l["shape"]))(x)
            elif t == "softmax":
                x = L.Softmax()(x)
            elif t == "sigmoid":
                x = L.Activation("sigmoid")(x)
            elif t == "relu":
                x = L.ReLU(max_value=l.get("max_value"))(x)
            elif t == "padv2":  # tf.pad with a non-zero constant: PADV2
                import tensorflow as tf

                pads = [[0, 0]] + [list(p) for p in l["padding"]] + [[0, 0]] * (len(x.shape) - 1 - len(l["padding"]))
                oshape = tuple(d + a + b for d, (a, b) in zip(x.shape[1:], pads[1:]))
                x = L.Lambda(lambda v, pp=pads, c=float(l["value"]): tf.pad(v, pp, constant_values=c),
                             output_shape=oshape)(x)
            elif t == "pad2d":
                x = L.ZeroPadding2D(tuple(tuple(p) for p in l["padding"]))(x)
            elif t == "scale":  # multiply by a constant (MUL with a constant operand)
                x = L.Lambda(lambda v, c=float(l["value"]): v * c)(x)
            elif t in ("branch_add", "branch_mul", "branch_concat"):
                y = apply(x, l["layers"])
                if t == "branch_add":
                    x = L.Add()([x, y])
                elif t == "branch_mul":
                    x = L.Multiply()([x, y])
                else:
                    x = L.Concatenate(axis=l.get("axis", -1))([x, y])
            else:
                raise ValueError(f"unknown layer type {t}")
        return x

    out = apply(inp, spec["layers"])
    model = keras.Model(inp, out)
    rng = np.random.default_rng(int(spec.get("seed", 0)) + 1)
    _randomize(model, rng, float(spec.get("weight_scale", 1.0)))
    return model


def calibration(spec: dict, n: int = 32) -> np.ndarray:
    rng = np.random.default_rng(int(spec.get("seed", 0)) + 2)
    x = rng.normal(float(spec.get("input_mean", 0.0)), float(spec.get("input_std", 1.0)),
                   (n, *spec["input"])).astype("float32")
    return x


def tflite_for_spec(spec: dict) -> bytes:
    """Convert the spec's model to int8 .tflite, cached by the spec's hash."""
    path = cache_dir() / f"{spec_key(spec)}.tflite"
    if path.is_file():
        return path.read_bytes()
    model = build_keras(spec)
    data = convert(model, calibration(spec), spec.get("output_type", "int8"))
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    (path.with_suffix(".json")).write_text(json.dumps(spec, indent=1))
    return data


def ds_cnn_spec(seed: int = 0) -> dict:
    """MLPerf Tiny KWS DS-CNN: 49x10x1 MFCC input, conv 10x4/2 (64), 4 x (dw 3x3 + pw 1x1, 64), GAP, dense 12.
    Batch norm folds into the convolutions, so each block is conv+bias+ReLU; ~2.66 M MACs."""
    layers = [{"type": "conv2d", "filters": 64, "kernel": [10, 4], "strides": [2, 2], "padding": "same",
               "activation": "relu"}]
    for _ in range(4):
        layers += [{"type": "dwconv2d", "kernel": [3, 3], "padding": "same", "activation": "relu"},
                   {"type": "conv2d", "filters": 64, "kernel": [1, 1], "activation": "relu"}]
    layers += [{"type": "avgpool2d", "pool": [25, 5]}, {"type": "flatten"}, {"type": "dense", "units": 12},
               {"type": "softmax"}]
    return {"name": "ds-cnn-kws", "input": [49, 10, 1], "layers": layers, "seed": seed}


def ds_cnn_tflite(seed: int = 0) -> bytes:
    return tflite_for_spec(ds_cnn_spec(seed))
