"""The committed models on real recordings (never committed, never read by tests): CWRU and NASA IMS.

    .venv/bin/python apps/predictive-maintenance/real_data.py --cwru <CWRU Data folder> [--ims <IMS folder>]

writes model/real_data.json, which the model card reads. Leak-free by construction:
1. `committed`: the committed int8 classifier, trained on the generator only, on every CWRU record (the
   drive- or fan-end accelerometer of the defective bearing, the record's speed and that bearing's orders),
   per 0.25 s window: confusion, macro-F1 over the classes CWRU has, and the uncalibrated anomaly AUC
   (1 - P(normal), normal record vs fault records).
2. `cwru_trained`: the same classifier design trained on the generator's training machines plus the CWRU
   loads it is not tested on, tested on the held-out load (split by operating condition: a record's
   windows are never on both sides). Load 0 holds the only healthy record the public mirrors have, so its
   fold tests the healthy class on a rig the model has never seen healthy.
3. `ims`: the first snapshots of IMS test 1 (healthy bearings, 2000 rpm, a rig never seen): the share of
   windows the classifier calls normal, and anomaly alarms after each accelerometer's device calibrated on
   its first captures.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def _app():
    from tinyml.apps import load_app

    return load_app(HERE.name)


def _windows(app, pipe, r):
    """(features [n, ...], int8 scores [n, labels]) of a real recording at the device rate."""
    from tinyml.predict import prepare

    sig = prepare(app, r, notice=False)
    F = pipe.fx.batch(pipe.fx.frames(sig), r.deployment)
    return F, pipe.int8_scores(F)[1]


def committed_on_cwru(app, pipe, recs) -> dict:
    from tinyml.metrics import auc_metrics, window_metrics

    m = app.manifest
    ys, ps, pn, by_load = [], [], [], {}
    for r in recs:
        F, sq = _windows(app, pipe, r)
        y = np.full(len(sq), m.labels.index(r.label))
        ys.append(y)
        ps.append(sq.argmax(1))
        pn.append((sq[:, 0].astype(np.float32) + 128) / 256)
        by_load.setdefault(r.subject, []).append((y, sq.argmax(1)))
    y, p, pnorm = np.concatenate(ys), np.concatenate(ps), np.concatenate(pn)
    present = sorted(set(y.tolist()))
    wm = window_metrics(y, p, m.labels)
    out = {"windows": int(len(y)), "confusion": wm["confusion"],
           "macro_f1_present_classes": _macro_f1(wm["confusion"], present),
           "accuracy": wm["accuracy"], "classes": [m.labels[k] for k in present]}
    out["anomaly_auc_uncalibrated"] = auc_metrics(y != 0, 1 - pnorm)
    out["by_load"] = {load: float(np.mean(np.concatenate([a for a, _ in v]) == np.concatenate([b for _, b in v])))
                      for load, v in sorted(by_load.items())}
    return out


def _macro_f1(cm, present) -> float:
    cm = np.asarray(cm)
    f1 = []
    for k in present:
        tp, fp, fn = cm[k, k], cm[:, k].sum() - cm[k, k], cm[k, :].sum() - cm[k, k]
        f1.append(2 * tp / max(2 * tp + fp + fn, 1))
    return float(np.mean(f1))


def cwru_trained(app, recs, held_out: str, seed: int) -> dict:
    """Generator training machines + the other CWRU loads -> the held-out load (float and int8)."""
    import keras

    from tinyml.data import build_dataset, split_recordings
    from tinyml.features import FeatureExtractor
    from tinyml.metrics import window_metrics
    from tinyml.quant import calibration_set, quantize_model
    from tinyml.reference import TflmModel

    m = app.manifest
    P = app.pipeline
    fx = FeatureExtractor(m)
    sim = build_dataset(m, progress=False)
    ds = m.dataset
    sim_train, sim_val, _ = split_recordings(sim, test_fraction=ds["test_fraction"], val_fraction=ds["val_fraction"],
                                             seed=ds["seed"])
    train = sim_train + [r for r in recs if r.subject != held_out]
    test = [r for r in recs if r.subject == held_out]
    rng = np.random.default_rng(seed)
    Xtr, ytr = P.make_examples(train, fx, m, rng, True)
    Xva, yva = P.make_examples(sim_val, fx, m, rng, False)
    Xte, yte = P.make_examples(test, fx, m, rng, False)
    keras.utils.set_random_seed(seed)
    mc = m.model
    model = P.build_classifier(Xtr.shape[1:], len(m.labels), **mc["params"])
    steps = mc["epochs"] * -(-len(Xtr) // mc["batch_size"])
    model.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(mc["learning_rate"], steps)),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    counts = np.maximum(np.bincount(ytr, minlength=len(m.labels)), 1)
    weights = {k: float(len(ytr) / (len(m.labels) * c)) for k, c in enumerate(counts)}
    model.fit(Xtr, ytr, validation_data=(Xva, yva), epochs=mc["epochs"], batch_size=mc["batch_size"], verbose=0,
              class_weight=weights, callbacks=[keras.callbacks.EarlyStopping(patience=mc["patience"],
                                                                             restore_best_weights=True)])
    q = TflmModel(quantize_model(model, calibration_set(Xtr, m.quantize["calibration_samples"], seed), seed))
    from tinyml.features import quantize_input

    pf = model.predict(Xte, verbose=0).argmax(1)
    pq = q.invoke_batch(quantize_input(Xte, q.input.scale, q.input.zero_point)).argmax(1)
    present = sorted(set(yte.tolist()))
    wf, wq = window_metrics(yte, pf, m.labels), window_metrics(yte, pq, m.labels)
    return {"held_out": held_out, "train_cwru_loads": sorted({r.subject for r in recs} - {held_out}),
            "train_generator_machines": len({r.subject for r in sim_train}), "windows": int(len(yte)),
            "classes": [m.labels[k] for k in present],
            "macro_f1_present_classes": {"float": _macro_f1(wf["confusion"], present),
                                         "int8": _macro_f1(wq["confusion"], present)},
            "confusion_int8": wq["confusion"]}


def ims_healthy(app, pipe, folder) -> dict:
    from tinyml.apps import load_module
    from tinyml.paths import datasets_dir

    m = app.manifest
    ims = load_module(datasets_dir() / "ims" / "dataset.py", "tinyml_datasets.ims")
    recs = ims.load(Path(folder), rate=m.rate, channels=m.channels)
    normal, windows, alarms, after = 0, 0, 0, 0
    for r in recs:
        F, sq = _windows(app, pipe, r)
        normal += int((sq.argmax(1) == 0).sum())
        windows += len(sq)
        res, pp = app.pipeline._stream(app, pipe, r)
        if pp.calibration() is not None:
            k0 = app.pipeline._calibrated_from(res.values[:, 0], pp, res)
            after += len(res.values) - k0
            alarms += sum(1 for idx, lab, _ in res.events if lab == pp.anomaly_event and idx > res.ends[k0 - 1])
    return {"histories": len(recs), "windows": windows, "called_normal": normal / max(windows, 1),
            "captures_after_calibration": after, "anomaly_alarms": alarms}


def main(argv=None) -> int:
    from tinyml.apps import load_module
    from tinyml.paths import datasets_dir
    from tinyml.predict import Pipeline

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cwru", required=True, help="a folder of CWRU .mat records")
    ap.add_argument("--ims", help="a folder of IMS snapshots")
    ap.add_argument("--folds", default="cwru-load0", help="held-out loads for the CWRU-trained classifier")
    ap.add_argument("--folder", help="a training run's folder instead of the committed model/")
    ap.add_argument("--out", help="default: real_data.json in the model folder")
    a = ap.parse_args(argv)
    app = _app()
    folder = Path(a.folder) if a.folder else app.model_dir
    pipe = Pipeline(app, folder=folder)
    a.out = a.out or str(folder / "real_data.json")
    cwru = load_module(datasets_dir() / "cwru" / "dataset.py", "tinyml_datasets.cwru")
    recs = cwru.load(Path(a.cwru), rate=app.manifest.rate, channels=app.manifest.channels)
    report = {"cwru_folder": Path(a.cwru).name, "cwru_records": len(recs),
              "committed": committed_on_cwru(app, pipe, recs)}
    print(json.dumps(report["committed"], indent=1), file=sys.stderr)
    report["cwru_trained"] = [cwru_trained(app, recs, fold, app.manifest.dataset["seed"])
                              for fold in a.folds.split(",") if fold]
    if a.ims:
        report["ims"] = ims_healthy(app, pipe, a.ims)
    Path(a.out).write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
