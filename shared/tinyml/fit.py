"""Fit one float Keras model from a model spec ([model] or [models.<name>]): build, compile with the right
loss, fit with early stopping; deterministic from the seed.

Reproducible bit for bit on one machine: Keras' seeds (Python, NumPy, TF) are set before each model is
built, TF runs its ops deterministically (enable_op_determinism) with a fixed thread count (THREADS:
intra-op threads split work into the same blocks every run, and one inter-op thread fixes the order in
which independent ops, e.g. gradient sums, run), and Keras' layer-name counters restart per model, so
the .tflite's tensor names do not depend on what the process built before. What is not fixed: another
CPU (other SIMD paths in the kernels), another TF version, or another thread count (TINYML_THREADS) may
round differently.
"""

from __future__ import annotations

import os
import sys

import numpy as np

from .errors import TinymlError

THREADS = int(os.environ.get("TINYML_THREADS") or os.cpu_count() or 1)  # fixed per machine
_configured = False


def seed_everything(seed: int) -> None:
    """Seeds, deterministic ops, a fixed thread count (once per process) and fresh Keras name counters."""
    global _configured
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import tensorflow as tf

    if not _configured:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(THREADS)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:  # TF already ran an op in this process: its pools are fixed
            pass
        tf.config.experimental.enable_op_determinism()
        _configured = True
    keras.backend.clear_session()  # layer names (conv1d, conv1d_1, ...) count from zero again
    keras.utils.set_random_seed(seed)


def class_weights(y: np.ndarray, n_cls: int, mode: str) -> dict[int, float]:
    """Loss weight per class ([model] class_weight): balanced n / (k * count), sqrt of that, or none (1)."""
    counts = np.maximum(np.bincount(y, minlength=n_cls), 1)
    w = len(y) / (n_cls * counts)
    w = {"balanced": w, "sqrt": np.sqrt(w), "none": np.ones(n_cls)}[mode]
    return {c: float(w[c]) for c in range(n_cls)}


LOSSES = {"crossentropy": "sparse_categorical_crossentropy", "mse": "mse", "mae": "mae", "huber": "huber"}


def multilabel_targets(y: np.ndarray, n_cls: int) -> np.ndarray:
    """A multilabel model's targets from class indices [n]: one-hot rows (label c yes, every other no)."""
    return np.eye(n_cls, dtype=np.float32)[np.asarray(y, np.int64)]


def multilabel_weights(y: np.ndarray, n_cls: int, mode: str) -> np.ndarray:
    """Per-example loss weights of a multilabel model: [model] class_weight of each window's label, as
    Keras' class_weight gives a classifier (it cannot map 0/1 rows itself)."""
    w = class_weights(np.asarray(y, np.int64), n_cls, mode)
    return np.array([w[int(c)] for c in np.asarray(y, np.int64)], np.float32)


def _check_logits(model, where: str) -> None:
    """A multilabel model's output must be logits (its int8 scores): a last layer with a squashing
    activation would fold the tails back onto a fixed grid."""
    import keras

    last = model.layers[-1]
    act = getattr(last, "activation", None)
    name = getattr(act, "__name__", "linear") if act is not None else "linear"
    # activation layers have no `activation` attribute: Dense(n) then Softmax() squashes all the same
    if isinstance(last, (keras.layers.Softmax, keras.layers.ReLU, keras.layers.ELU, keras.layers.LeakyReLU,
                         keras.layers.PReLU)):
        name = type(last).__name__.lower()
    if name != "linear":
        raise TinymlError(f"{where}: output = \"multilabel\" needs a builder that ends in a linear layer (the "
                          f"logits), not {name}")


def fit_model(builder, spec: dict, Xtr, ytr, Xva, yva, *, n_outputs: int, output: str, smoke: bool,
              where: str):
    """(float model, history dict). `spec`: a validated [model] / [models.<name>] table; `output`:
    "classes" (integer labels, cross-entropy, class weights), "multilabel" (integer labels as one-hot
    rows, binary cross-entropy on the logits, class weights per window) or "regression" (float targets, spec's loss).
    A loss that turns NaN stops the run with an error (bad inputs or a learning rate too high)."""
    import keras

    if not np.isfinite(Xtr).all():
        bad = int((~np.isfinite(Xtr)).any(axis=tuple(range(1, Xtr.ndim))).sum())
        raise TinymlError(f"{where}: {bad} training examples hold non-finite inputs; check the data and the features")
    if output == "regression" and not np.isfinite(np.asarray(ytr, np.float64)).all():
        raise TinymlError(f"{where}: non-finite regression targets")
    model = builder(Xtr.shape[1:], n_outputs, **spec["params"])
    epochs = spec["smoke_epochs"] if smoke else spec["epochs"]
    lr = spec["learning_rate"]
    if spec["lr_schedule"] == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(lr, decay_steps=max(1, epochs * -(-len(Xtr) // spec["batch_size"])))
    sample_weight = None
    if output == "classes":
        loss, metrics = LOSSES["crossentropy"], ["accuracy"]
        weights = class_weights(np.asarray(ytr), n_outputs, spec["class_weight"])
    elif output == "multilabel":
        _check_logits(model, where)
        loss = keras.losses.BinaryCrossentropy(from_logits=True)
        metrics, weights = [keras.metrics.BinaryAccuracy(threshold=0.0)], None
        sample_weight = multilabel_weights(ytr, n_outputs, spec["class_weight"])
        ytr, yva = multilabel_targets(ytr, n_outputs), multilabel_targets(yva, n_outputs)
    else:
        loss, metrics, weights = LOSSES[spec.get("loss") or "mse"], ["mae"], None
        ytr, yva = (np.asarray(v, np.float32).reshape(len(v), -1) for v in (ytr, yva))
    model.compile(optimizer=keras.optimizers.Adam(lr), loss=loss, metrics=metrics)
    stop = keras.callbacks.EarlyStopping(patience=spec["patience"], restore_best_weights=True, monitor="val_loss")
    hist = model.fit(Xtr, ytr, validation_data=(Xva, yva) if len(Xva) else None, epochs=epochs,
                     batch_size=spec["batch_size"], class_weight=weights, sample_weight=sample_weight,
                     callbacks=[stop, keras.callbacks.TerminateOnNaN()], verbose=2, shuffle=True)
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    if not np.isfinite(history["loss"]).all():
        raise TinymlError(f"{where}: training diverged (loss NaN at epoch {len(history['loss'])}); "
                          "lower its learning_rate")
    return model, history


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)
