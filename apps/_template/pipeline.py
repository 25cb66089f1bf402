"""Template app: a tiny 1D CNN, windows labelled by the events they hold, the generic post-processor."""

from tinyml.data.windows import event_windows
from tinyml.postprocess import ThresholdEvents as PostProcessor  # noqa: F401  (the app's post-processor)


def build_model(input_shape, n_classes, *, filters=8):
    import keras
    from keras import layers

    inp = keras.Input(shape=input_shape, batch_size=1)
    x = layers.Conv1D(filters, 5, strides=2, padding="same", activation="relu")(inp)
    x = layers.Conv1D(filters, 5, strides=2, padding="same", activation="relu")(x)
    x = layers.GlobalAveragePooling1D()(x)
    out = layers.Dense(n_classes, activation="softmax")(x)
    return keras.Model(inp, out)


def make_examples(recordings, fx, manifest, rng, augment):
    X, y = event_windows(recordings, fx, manifest.labels, rng, zone=(0.2, 0.7))
    if augment:
        X = X * rng.uniform(0.8, 1.2, size=(len(X), 1, 1)).astype(X.dtype)
    return fx.batch(X), y


def make_demo(manifest, seed):
    """The demo recording: a minute of background with a few bursts, from held-out-style units."""
    import numpy as np

    from tinyml.data import dataset_module
    from tinyml.recording import Recording

    gen = dataset_module(manifest.dataset["generator"])
    recs = gen.generate(rate=manifest.rate, channels=manifest.channels, seed=seed + 1000, progress=False,
                        units=1, clips_per_unit=8, stream_minutes=0.25)
    clips = [r for r in recs if r.activity != "stream"]
    sig, events, t0 = [], [], 0.0
    for r in clips:
        sig.append(r.signal)
        events += [(t0 + t, lab) for t, lab in r.events]
        t0 += r.duration
    return Recording(np.concatenate(sig), manifest.rate, tuple(manifest.channels), events=events,
                     activity="eight 4 s clips, every other one with a burst")
