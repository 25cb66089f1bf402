"""tinyml.scoring: which group each held-out example belongs to (for the intervals); the float stand-ins' outputs."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from tinyml import scoring
from tinyml.recording import Recording


def _recs(n: int = 5) -> list[Recording]:
    rng = np.random.default_rng(3)
    return [Recording(rng.normal(size=(50 + 10 * i, 1)).astype(np.float32), 10.0, ("x",), subject=f"s{i % 2}")
            for i in range(n)]


def _hook(recordings, fx, manifest, rng, augment):
    """Like an app's: each recording on its own, random draws in recording order, a varying count each."""
    X, y = [], []
    for r in recordings:
        for s in range(0, len(r.signal) - 10, 7):
            X.append(r.signal[s : s + 10, 0] + rng.normal())
            y.append(int(rng.integers(3)))
    return np.asarray(X, np.float32).reshape(-1, 10), np.asarray(y, np.int64)


def _collect(gen):
    out = list(gen)
    return (np.concatenate([o[0] for o in out]), np.concatenate([o[1] for o in out]),
            np.concatenate([o[2] for o in out]))


def test_examples_of_a_hook_without_groups_are_grouped_by_recording_and_unchanged():
    app, recs = SimpleNamespace(manifest=None), _recs()
    X1, y1 = _hook(recs, None, None, np.random.default_rng(0), False)  # one call on all: the examples as before
    X, y, g = _collect(scoring.held_out_examples(app, _hook, recs, None))
    assert np.array_equal(X, X1) and np.array_equal(y, y1)
    counts = [len(_hook([r], None, None, np.random.default_rng(0), False)[1]) for r in recs]
    assert np.array_equal(g, np.repeat(np.arange(len(recs)), counts))  # the recording each example came from


def test_a_hooks_own_groups_are_kept_and_told_apart_across_calls(monkeypatch):
    app, recs = SimpleNamespace(manifest=None), _recs()

    def hook(recordings, fx, manifest, rng, augment):  # groups: its subjects, numbered within the call
        X, y = _hook(recordings, fx, manifest, rng, augment)
        per = [len(_hook([r], fx, manifest, np.random.default_rng(0), augment)[1]) for r in recordings]
        local = {s: i for i, s in enumerate(dict.fromkeys(r.subject for r in recordings))}
        return X, y, np.repeat([local[r.subject] for r in recordings], per)

    assert scoring.hook_gives_groups(app, hook, recs, None) and not scoring.hook_gives_groups(app, _hook, recs, None)
    _, _, g = _collect(scoring.held_out_examples(app, hook, recs, None))
    assert len(np.unique(g)) == 2  # one call: the hook's two subjects
    monkeypatch.setattr(scoring, "example_chunks", lambda rs: ([r] for r in rs))  # a call per recording
    _, _, g = _collect(scoring.held_out_examples(app, hook, recs, None))
    assert len(np.unique(g)) == len(recs)  # ids of different calls never merge


def test_a_hooks_named_groups_stay_one_group_across_calls(monkeypatch):
    """Names (a speaker) mean the same group in every call: a speaker's clips in several calls are one
    cluster of the bootstrap, not one per call (intervals too narrow)."""
    app, recs = SimpleNamespace(manifest=None), _recs()

    def hook(recordings, fx, manifest, rng, augment):
        X, y = _hook(recordings, fx, manifest, rng, augment)
        per = [len(_hook([r], fx, manifest, np.random.default_rng(0), augment)[1]) for r in recordings]
        return X, y, np.repeat([r.subject for r in recordings], per)

    monkeypatch.setattr(scoring, "example_chunks", lambda rs: ([r] for r in rs))  # a call per recording
    _, _, g = _collect(scoring.held_out_examples(app, hook, recs, None))
    per = [len(_hook([r], None, None, np.random.default_rng(0), False)[1]) for r in recs]
    subjects = np.repeat([r.subject for r in recs], per)
    assert len(np.unique(g)) == 2  # the two subjects, whatever the calls
    assert all(len(np.unique(g[subjects == s])) == 1 for s in ("s0", "s1"))


def _keras_models():
    """Small models of the kinds the apps' further models are: a 1-D conv net, a dense autoencoder, a 2-D conv
    net with batch normalization and a depthwise convolution."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(1)
    conv1d = keras.Sequential([keras.Input((20, 10)), layers.Conv1D(8, 3, activation="relu"),
                               layers.GlobalAveragePooling1D(), layers.Dense(1)])
    dense = keras.Sequential([keras.Input((24,)), layers.Dense(12, activation="relu"), layers.Dense(6),
                              layers.Dense(12, activation="relu"), layers.Dense(24)])
    conv2d = keras.Sequential([keras.Input((49, 10, 1)), layers.Conv2D(8, (10, 4), strides=2, padding="same"),
                               layers.BatchNormalization(), layers.ReLU(),
                               layers.DepthwiseConv2D(3, padding="same"), layers.ReLU(),
                               layers.GlobalAveragePooling2D(), layers.Dense(4, activation="softmax")])
    return [conv1d, dense, conv2d]


def test_a_float_models_one_input_path_gives_the_eager_calls_outputs_exactly():
    """FloatModel.predict_one runs the model traced (a graph); float scores must be those of the eager call,
    to the bit, or the card's float figures would depend on how the post-processor asks."""
    rng = np.random.default_rng(5)
    for model in _keras_models():
        shape = tuple(model.inputs[0].shape[1:])
        grid = SimpleNamespace(shape=(1, *shape), scale=0.05, zero_point=0)
        fm = scoring.FloatModel(model, SimpleNamespace(input=grid, output=grid))
        for _ in range(20):
            x = rng.normal(size=(1, *shape)).astype(np.float32)
            eager = np.asarray(model(x, training=False)).reshape(-1)
            assert np.array_equal(fm.predict_one(x), eager), model.layers[0].name
