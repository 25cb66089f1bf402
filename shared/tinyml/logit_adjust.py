"""Logit adjustment (Menon et al. 2021, "Long-tail learning via logit adjustment"): a classifier trained on
skewed classes learns their prior; subtracting tau * log(prior) from its logits gives, for tau = 1, the
posterior under equal classes (balanced error), which a balanced deployment wants.

`[model] logit_adjust_tau` (0: off) folds it into the bias of the model's last Dense layer (the logits
before its softmax), after fitting and before quantization, so the int8 model keeps its ops, size and
firmware. The prior is the run's training examples' label counts (what the model was fitted on); the
saved float model stays unadjusted, so `train --reuse-float` can adjust it again with another tau.

`[model] logit_adjust_labels` (default: every label) equalises the prior among some classes only: b_c = -tau *
(log n_c - mean of log n over those classes) for them, 0 for the others. The odds of the group against the
other classes stay as learnt (a keyword spotter's commands made equally likely among themselves, while "some
command" against other speech keeps the deployment's prior); over every label it is the full adjustment
(the same posterior: a constant shift of all logits).
"""

from __future__ import annotations

import numpy as np

from .errors import TinymlError


def logit_offsets(counts, tau: float, among=None) -> np.ndarray:
    """-tau * log(prior) per class, prior = counts / total (a class never seen counts as one example); with
    `among` (class indices), -tau * (log n_c - mean log n over them) for those classes and 0 for the others."""
    c = np.maximum(np.asarray(counts, np.float64), 1.0)
    if among is None:
        return -float(tau) * np.log(c / c.sum())
    idx = np.asarray(sorted(set(among)), np.int64)
    if len(idx) < 2 or idx.min() < 0 or idx.max() >= len(c):
        raise TinymlError(f"logit_adjust_labels: {len(idx)} classes (indices {idx.tolist()}) of {len(c)}; "
                          "give at least two of the model's labels")
    out = np.zeros(len(c))
    out[idx] = -float(tau) * (np.log(c[idx]) - np.log(c[idx]).mean())
    return out


def _logit_layer(model):
    """The Dense layer whose output (softmax'ed or not) is the model's output."""
    import keras

    layer = model.layers[-1]
    if isinstance(layer, (keras.layers.Softmax, keras.layers.Activation)):
        layer = layer.input._keras_history[0]  # the layer that feeds the softmax
    if not isinstance(layer, keras.layers.Dense) or not layer.use_bias:
        raise TinymlError("logit_adjust_tau: the model must end in a Dense layer with a bias (softmax in it or "
                          f"after it); its last layer is {type(model.layers[-1]).__name__}")
    act = getattr(layer.activation, "__name__", "")
    if act not in ("softmax", "linear"):
        raise TinymlError(f"logit_adjust_tau: the last Dense layer's activation is {act!r}, not softmax or linear")
    return layer


def adjust_logits(model, counts, tau: float, among=None):
    """A copy of `model` whose last Dense bias carries `logit_offsets(counts, tau, among)`; `model` is left as
    it is."""
    import keras

    if tau <= 0:
        return model
    offsets = logit_offsets(counts, tau, among)
    out = keras.models.clone_model(model)
    out.set_weights(model.get_weights())
    layer = _logit_layer(out)
    if layer.units != len(offsets):
        raise TinymlError(f"logit_adjust_tau: {len(offsets)} class counts for a layer of {layer.units} outputs")
    kernel, bias = layer.get_weights()
    layer.set_weights([kernel, (bias + offsets).astype(bias.dtype)])
    return out
