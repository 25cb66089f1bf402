"""Train, quantize to full int8, evaluate float and int8 on held-out subjects, write the model folder.

Deterministic from the manifest's seed: data generation, splits, augmentation, weight init and op order.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from .apps import App
from .data import build_dataset, split_recordings
from .errors import TinymlError
from .evaluate import check_acceptance, event_metrics, int8_drop, window_metrics
from .features import FeatureExtractor, quantize_input
from .paths import build_dir
from .quant import calibration_set, quantize_model
from .recording import Recording


def load_splits(app: App, smoke: bool = False):
    m = app.manifest
    recs = build_dataset(m, smoke=smoke, progress=not smoke)
    ds = m.dataset
    return split_recordings(recs, test_fraction=ds["test_fraction"], val_fraction=ds["val_fraction"], seed=ds["seed"])


def _event_window(m):
    p = m.postprocess
    return float(p.get("detect_before_s", 1.0)), float(p.get("detect_after_s", 10.0))


def evaluate_scorer(app: App, pipe, recs: list[Recording], scorer=None) -> dict:
    """Event metrics over recordings, with the int8 model (scorer None) or a float scorer.
    Features of all recordings are scored in one batch, then post-processed recording by recording."""
    from .predict import postprocess, prepare

    m, fx = app.manifest, pipe.fx
    lead = fx.window - fx.hop  # a decision can fall in a trial's first hop
    items = []
    for r in recs:
        pad = 0 if r.activity == "stream" else lead
        sig = prepare(app, r, notice=False, lead_in=pad)
        frames = fx.frames(sig)
        items.append((pad, sig, frames, fx.batch(frames)))
    feats = np.concatenate([f for *_, f in items]) if items else np.zeros((0, *fx.input_shape()), np.float32)
    scores = scorer(feats) if scorer is not None else pipe.int8_scores(feats)[1]
    events, k = [], 0
    for pad, sig, frames, f in items:
        sq = scores[k : k + len(f)]
        k += len(f)
        ev = postprocess(pipe.postprocessor(), frames, fx.window, fx.hop, sq, sig)
        events.append([(idx - pad, lab, s) for idx, lab, s in ev])
    before, after = _event_window(m)
    return event_metrics(recs, events, m.event_names, m.rate, before, after)


def evaluate_int8(app: App, model_bytes: bytes, test: list[Recording]) -> dict:
    from .predict import Pipeline

    pipe = Pipeline(app, model_bytes)
    metrics = evaluate_scorer(app, pipe, test)
    X, y = app.pipeline.make_examples(test, pipe.fx, app.manifest, np.random.default_rng(0), False)
    _, sq = pipe.int8_scores(X)
    metrics.update(window_metrics(y, sq.argmax(1), app.manifest.labels))
    return metrics


def float_scorer(model, out_scale: float, out_zp: int):
    """Float model probabilities on the int8 output grid, so one post-processor serves both."""

    def score(feats: np.ndarray) -> np.ndarray:
        if len(feats) == 0:
            return np.zeros((0, model.output_shape[-1]), np.int8)
        # A direct call per chunk: model.predict() costs tens of ms per call, and evaluation scores
        # thousands of short recordings one by one.
        p = np.concatenate([np.asarray(model(feats[i : i + 512], training=False)) for i in range(0, len(feats), 512)])
        return quantize_input(p, out_scale, out_zp)

    return score


def class_weights(y: np.ndarray, n_cls: int, mode: str) -> dict[int, float]:
    """Loss weight per class ([model] class_weight): balanced n / (k * count), sqrt of that, or none (1)."""
    counts = np.maximum(np.bincount(y, minlength=n_cls), 1)
    w = len(y) / (n_cls * counts)
    w = {"balanced": w, "sqrt": np.sqrt(w), "none": np.ones(n_cls)}[mode]
    return {c: float(w[c]) for c in range(n_cls)}


def _seed_everything(seed: int) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def train_app(app: App, smoke: bool = False, out: str | None = None, reuse_float: bool = False) -> dict:
    m = app.manifest
    seed = m.dataset["seed"]
    t0 = time.time()
    _seed_everything(seed)
    import keras

    from .predict import Pipeline

    train, val, test = load_splits(app, smoke=smoke)
    fx = FeatureExtractor(m)
    rng = np.random.default_rng(seed)
    hook = app.pipeline.make_examples
    Xtr, ytr = hook(train, fx, m, rng, True)
    Xva, yva = hook(val, fx, m, rng, False)
    n_cls = len(m.labels)
    _log(f"train {len(Xtr)} windows ({np.bincount(ytr, minlength=n_cls).tolist()}), val {len(Xva)}, "
         f"subjects {len({r.subject for r in train})}/{len({r.subject for r in val})}/{len({r.subject for r in test})}")

    # the float model, for analysis and --reuse-float (not committed); smoke runs keep their own
    float_path = build_dir(m.id, "model.float.smoke.keras" if smoke else "model.float.keras")
    history_path = float_path.with_suffix(".history.json")
    if reuse_float:
        if not (float_path.is_file() and history_path.is_file()):
            raise TinymlError(f"{float_path}: no saved float model to reuse; run: make app={m.id} train")
        history = json.loads(history_path.read_text())
        # The same input shape is not enough: other features of that shape (a new mel range, say) would
        # give an int8 model that quietly answers wrong.
        trained_on = history.pop("feature_hash", None)
        if trained_on != m.feature_hash():
            raise TinymlError(f"{float_path}: fitted on other features ({trained_on or 'not recorded'}) than the "
                              f"manifest's ({m.feature_hash()}); retrain without --reuse-float")
        model = keras.models.load_model(float_path)
    else:
        model, history = _fit(app, Xtr, ytr, Xva, yva, smoke)
        float_path.parent.mkdir(parents=True, exist_ok=True)
        model.save(float_path)
        history_path.write_text(json.dumps({**history, "feature_hash": m.feature_hash()}))
    calib = calibration_set(Xtr, m.quantize["calibration_samples"], seed)
    tflite = quantize_model(model, calib, seed)
    pipe = Pipeline(app, tflite)
    o = pipe.model.output
    out_dir = Path(out) if out else app.model_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "model.int8.tflite").write_bytes(tflite)  # first, so a failed evaluation leaves it to inspect

    _log("evaluating float and int8 on held-out subjects")
    Xte, yte = hook(test, fx, m, np.random.default_rng(0), False)
    f_metrics = evaluate_scorer(app, pipe, test, float_scorer(model, o.scale, o.zero_point))
    f_metrics.update(window_metrics(yte, model.predict(Xte, batch_size=512, verbose=0).argmax(1), m.labels))
    q_metrics = evaluate_int8(app, tflite, test)
    drop = int8_drop(f_metrics, q_metrics)
    q_metrics["int8_drop"] = drop
    q_metrics["model_bytes"] = len(tflite)

    card = {
        "app": m.id,
        "feature_hash": m.feature_hash(),
        "feature_version": m.features["version"],
        "model_sha256": hashlib.sha256(tflite).hexdigest(),
        "model_bytes": len(tflite),
        "seed": seed,
        "smoke": smoke,
        "dataset": {
            "name": m.dataset["name"] if m.dataset["path"] else m.dataset["generator"],
            "synthetic": not m.dataset["path"],
            "recordings": {"train": len(train), "val": len(val), "test": len(test)},
            "subjects": {"train": len({r.subject for r in train}), "val": len({r.subject for r in val}),
                         "test": len({r.subject for r in test}),
                         "train_only": len({r.subject for r in train if r.split == "train"})},
            "test_hours": round(sum(r.duration for r in test) / 3600, 2),
        },
        "input": {"shape": list(pipe.model.input.shape), "scale": pipe.model.input.scale,
                  "zero_point": pipe.model.input.zero_point},
        "output": {"shape": list(pipe.model.output.shape), "scale": o.scale, "zero_point": o.zero_point},
        "metrics": {"float": round_metrics(f_metrics), "int8": round_metrics(q_metrics), "int8_drop": drop},
        "train_seconds": round(time.time() - t0, 1),
        "reused_float": reuse_float,  # quantized and evaluated from the saved float model, not fitted
        "epochs_run": len(history["loss"]),
    }
    try:
        from .reference import tflm_arena_bytes

        card["tflm_arena_bytes"] = tflm_arena_bytes(tflite)
    except TinymlError:
        pass
    failures = check_acceptance(app, q_metrics)
    card["acceptance"] = {"met": not failures, "failures": failures}
    if out is None:  # the committed model: its golden vectors and device cost travel with it
        from .fixtures import write_golden

        write_golden(app, pipe)
        card["device"] = device_cost(app)
    (out_dir / "card.json").write_text(json.dumps(card, indent=2) + "\n")
    from .report import write_model_card

    write_model_card(app, out_dir, card, history, pipe, test)
    _log(f"wrote {out_dir} in {card['train_seconds']} s; int8 {len(tflite)} B; drop {drop:.2f} pt; "
         + ("floors met" if not failures else "floors missed: " + "; ".join(failures)))
    if not smoke and drop > m.acceptance.get("max_int8_drop", float("inf")):
        raise TinymlError(f"int8 drop {drop:.2f} points exceeds [acceptance] max_int8_drop "
                          f"{m.acceptance['max_int8_drop']}; the int8 model was written for inspection")
    return card


def _fit(app: App, Xtr, ytr, Xva, yva, smoke: bool):
    """Build the manifest's model and fit it; (model, history dict). A loss that turns NaN stops the run
    with an error (bad inputs or a learning rate too high), never a model that outputs garbage."""
    import keras

    m, mc = app.manifest, app.manifest.model
    n_cls = len(m.labels)
    builder = getattr(app.pipeline, mc["builder"], None)
    if builder is None:
        raise TinymlError(f"{app.dir / 'pipeline.py'}: no function {mc['builder']!r} ([model.builder])")
    if not np.isfinite(Xtr).all():
        raise TinymlError(f"{m.id}: {int((~np.isfinite(Xtr)).any(axis=tuple(range(1, Xtr.ndim))).sum())} "
                          "training windows hold non-finite features; check the data and the feature chain")
    model = builder(Xtr.shape[1:], n_cls, **mc["params"])
    epochs = mc["smoke_epochs"] if smoke else mc["epochs"]
    lr = mc["learning_rate"]
    if mc["lr_schedule"] == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(lr, decay_steps=max(1, epochs * -(-len(Xtr) // mc["batch_size"])))
    model.compile(optimizer=keras.optimizers.Adam(lr),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    class_weight = class_weights(ytr, n_cls, mc["class_weight"])
    stop = keras.callbacks.EarlyStopping(patience=mc["patience"], restore_best_weights=True, monitor="val_loss")
    hist = model.fit(Xtr, ytr, validation_data=(Xva, yva), epochs=epochs, batch_size=mc["batch_size"],
                     class_weight=class_weight, callbacks=[stop, keras.callbacks.TerminateOnNaN()], verbose=2,
                     shuffle=True)
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    if not np.isfinite(history["loss"]).all():
        raise TinymlError(f"{m.id}: training diverged (loss NaN at epoch {len(history['loss'])}); "
                          "lower [model] learning_rate")
    return model, history


def device_cost(app: App, board: str = "qemu-m4") -> dict:
    """Flash, RAM and instructions per inference of the app's firmware replaying its demo on the emulated
    Cortex-M4, with the parity verdict; {"error": ...} when the firmware can't be built here."""
    if not any((app.dir / "firmware").glob("*.c")):
        return {"error": "the app has no firmware/app.c yet"}
    try:
        from .device.parity import device_parity

        par = device_parity(app, board)
    except (TinymlError, OSError) as e:
        _log(f"device cost not measured: {e}")
        return {"error": str(e).splitlines()[0]}
    keep = ("board", "flash", "ram", "arena", "stack_static", "stack_measured", "cost_unit", "per_inference",
            "per_second_of_data", "estimate_clock_hz", "estimate_ms_per_inference", "estimate_duty_cycle",
            "stages", "realtime_clock_hz", "realtime_per_second", "realtime_load")
    out = {k: par.summary[k] for k in keep if k in par.summary}
    out["parity"] = "identical scores and events" if par.ok else "; ".join(par.mismatches)
    if not par.ok:
        _log(f"WARNING: Python and {board} disagree: {out['parity']}")
    return out


def round_metrics(d: dict) -> dict:
    """Metrics as a card stores them: floats to 5 decimals."""
    return {k: (round(v, 5) if isinstance(v, float) else v) for k, v in d.items()}


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)
