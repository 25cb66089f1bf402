"""Full-int8 post-training quantization with a representative set (int8 input and output)."""

from __future__ import annotations

import os

import numpy as np

from .errors import TinymlError


def quantize_model(model, calibration: np.ndarray, seed: int = 0) -> bytes:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    if len(calibration) == 0:
        raise TinymlError("no calibration samples for int8 quantization")
    tf.random.set_seed(seed)
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([x[None].astype("float32")] for x in calibration)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    return conv.convert()


def calibration_set(x: np.ndarray, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(x), size=min(n, len(x)), replace=False)
    return x[np.sort(idx)]
