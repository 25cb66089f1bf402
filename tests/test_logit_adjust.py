"""Logit adjustment folded into the last Dense bias ([model] logit_adjust_tau, tinyml.logit_adjust)."""

from __future__ import annotations

import numpy as np
import pytest

from tinyml.errors import TinymlError
from tinyml.logit_adjust import adjust_logits, logit_offsets

COUNTS = [400, 100, 10, 1]


def _model(softmax_layer: bool = False, last: str = "dense"):
    import keras

    inp = keras.Input((3,), batch_size=1)
    h = keras.layers.Dense(5, activation="relu")(inp)
    if last == "dense":
        out = keras.layers.Dense(4, activation=None if softmax_layer else "softmax")(h)
        if softmax_layer:
            out = keras.layers.Softmax()(out)
    else:
        out = keras.layers.Activation("softmax")(keras.layers.Reshape((5,))(h))
    m = keras.Model(inp, out)
    rng = np.random.default_rng(1)
    m.set_weights([rng.normal(size=w.shape).astype("float32") for w in m.get_weights()])
    return m


def test_offsets_are_minus_tau_log_prior_and_an_unseen_class_counts_once():
    prior = np.array(COUNTS) / sum(COUNTS)
    assert np.allclose(logit_offsets(COUNTS, 0.5), -0.5 * np.log(prior))
    assert np.isfinite(logit_offsets([3, 0], 1.0)).all()


@pytest.mark.parametrize("softmax_layer", [False, True])
def test_tau_one_divides_the_posterior_by_the_prior(softmax_layer):
    m = _model(softmax_layer)
    before = [w.copy() for w in m.get_weights()]
    a = adjust_logits(m, COUNTS, 1.0)
    x = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")
    p, q = m.predict(x, verbose=0), a.predict(x, verbose=0)
    want = p / np.array(COUNTS, float)
    want /= want.sum(1, keepdims=True)
    assert np.allclose(q, want, atol=1e-5)
    assert all(np.array_equal(b, w) for b, w in zip(before, m.get_weights()))  # the fitted model is untouched


def test_tau_zero_is_the_model_itself():
    m = _model()
    assert adjust_logits(m, COUNTS, 0.0) is m


def test_a_model_not_ending_in_a_dense_layer_is_refused():
    with pytest.raises(TinymlError, match="must end in a Dense layer"):
        adjust_logits(_model(last="reshape"), [1, 2, 3, 4, 5], 1.0)


def test_wrong_number_of_counts_is_refused():
    with pytest.raises(TinymlError, match="3 class counts for a layer of 4 outputs"):
        adjust_logits(_model(), [1, 2, 3], 1.0)


def test_the_int8_model_keeps_its_size():
    from tinyml.quant import quantize_model

    m = _model()
    calib = np.random.default_rng(2).normal(size=(32, 3)).astype("float32")
    assert len(quantize_model(adjust_logits(m, COUNTS, 1.0), calib)) == len(quantize_model(m, calib))


def test_among_some_labels_equalises_their_prior_and_leaves_the_others_logits():
    among = [1, 2, 3]
    off = logit_offsets(COUNTS, 1.0, among)
    assert off[0] == 0.0
    assert np.allclose(off[among], -(np.log(COUNTS[1:]) - np.log(COUNTS[1:]).mean()))
    m = _model()
    a = adjust_logits(m, COUNTS, 1.0, among)
    x = np.random.default_rng(3).normal(size=(16, 3)).astype("float32")
    p, q = m.predict(x, verbose=0), a.predict(x, verbose=0)
    # among the group, the posterior divided by its prior (renormalised within the group) ...
    want = p[:, among] / np.array(COUNTS, float)[among]
    assert np.allclose(q[:, among] / q[:, among].sum(1, keepdims=True), want / want.sum(1, keepdims=True), atol=1e-5)
    # ... while the group's odds against the class left out are those of a geometric mean of its priors
    g = np.exp(np.log(np.array(COUNTS, float)[among]).mean())
    assert np.allclose(q[:, 0] / q[:, among].sum(1), p[:, 0] / (p[:, among] / np.array(COUNTS, float)[among] * g).sum(1),
                       rtol=1e-4)


def test_among_every_label_is_the_full_adjustment():
    m = _model()
    x = np.random.default_rng(4).normal(size=(8, 3)).astype("float32")
    full, every = adjust_logits(m, COUNTS, 0.7), adjust_logits(m, COUNTS, 0.7, range(4))
    assert np.allclose(full.predict(x, verbose=0), every.predict(x, verbose=0), atol=1e-6)


@pytest.mark.parametrize("among", [[1], [0, 4], [-1, 2]])
def test_among_needs_two_of_the_models_classes(among):
    with pytest.raises(TinymlError, match="logit_adjust_labels"):
        logit_offsets(COUNTS, 1.0, among)
