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


def calibration_set(x: np.ndarray, n: int, seed: int, labels: np.ndarray | None = None) -> np.ndarray:
    """n examples of x that set the int8 ranges: at random, or with `labels` ([quantize] calibration =
    "per_class") n // classes of each label present (all of a label that has fewer)."""
    rng = np.random.default_rng(seed)
    if labels is None:
        idx = rng.choice(len(x), size=min(n, len(x)), replace=False)
    else:
        labels = np.asarray(labels)
        classes = np.unique(labels)
        share = max(1, n // len(classes))
        idx = np.concatenate([rng.choice(ic, size=min(share, len(ic)), replace=False)
                              for ic in (np.flatnonzero(labels == c) for c in classes)])
    return x[np.sort(idx)]
