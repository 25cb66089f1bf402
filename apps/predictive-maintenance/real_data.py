"""The committed models on real recordings (never committed, never read by tests): CWRU, NASA IMS, FEMTO.

    .venv/bin/python apps/predictive-maintenance/real_data.py --cwru <CWRU Data folder> [--ims <IMS folder>]
        [--femto <FEMTO folder>]
    .venv/bin/python apps/predictive-maintenance/real_data.py --femto <FEMTO folder> [--set KEY=VALUE ...]

writes model/real_data.json, which the model card reads (rendered with it: `tinyml card`). Without --cwru the
sections given replace theirs in the earlier report. `--set` (with --femto alone) measures a variant of the
manifest: its FEMTO figure goes to `femto_sensitivity`, never over the committed device's. Leak-free by
construction:
1. `committed`: the committed int8 classifier on every CWRU record (the drive- or fan-end accelerometer of
   the defective bearing, the record's speed and that bearing's orders), per 0.25 s window and per load,
   each load marked with its role in the model's training (train / val / test from its card's split when it
   was trained with `[dataset] path` set; unseen when it saw the generator only): macro-F1 over the classes
   CWRU has with a bootstrap interval over records, `unseen`: the loads it never trained on together, and
   the uncalibrated anomaly AUC (1 - P(normal), normal record vs fault records).
2. `cwru_trained` (leave one load out): for each motor load (0-3 HP, 1797-1730 rpm), the same classifier
   design trained on the generator's training machines plus the other CWRU loads, tested on the held-out
   load (split by operating condition: a record's windows are never on both sides), macro-F1 with a
   bootstrap interval over records; `cwru_by_load_pooled`: every fold's held-out windows together. Load 0
   holds the only healthy record the public mirrors have, so its fold tests the healthy class on a rig
   the model has never seen healthy (and gives the uncalibrated anomaly AUC).
3. `ims`: the first snapshots of IMS test 1 (healthy bearings, 2000 rpm, a rig never seen): the share of
   windows the classifier calls normal, and anomaly alarms after each accelerometer's device calibrated on
   its first captures.
4. `femto`: FEMTO / PRONOSTIA's bearings run to failure (never trained or tuned on): the committed device's
   run-to-failure lead per run (femto_run_to_failure).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def _app(overrides=()):
    from tinyml.apps import load_app

    return load_app(HERE.name, overrides=overrides)


def _windows(app, pipe, r):
    """(features [n, ...], int8 scores [n, labels]) of a real recording at the device rate."""
    from tinyml.predict import prepare

    sig = prepare(app, r, notice=False)
    F = pipe.fx.batch(pipe.fx.frames(sig), r.deployment)
    return F, pipe.int8_scores(F)[1]


def cwru_roles(folder: Path) -> dict[str, str]:
    """What the committed model did with each CWRU load: "train", "val" or "test" from its card's split (a
    model trained with [dataset] path set), none when it never saw CWRU (trained on the generator alone)."""
    card = folder / "card.json"
    split = json.loads(card.read_text()).get("dataset", {}).get("cohorts", {}) if card.is_file() else {}
    roles = {}
    for cohort, parts in split.items():
        if cohort.split("/")[0] == "cwru":
            roles.update({load: role for role, loads in parts.items() for load in loads})
    return roles


def _scored(y, p, g, labels) -> dict:
    """Macro-F1 over the classes present (int8), its bootstrap interval over records, accuracy."""
    from tinyml.metrics import macro_f1_ci, window_metrics

    present = sorted(set(y.tolist()))
    w = window_metrics(y, p, labels)
    return {"windows": int(len(y)), "records": int(len(set(g.tolist()))), "classes": [labels[k] for k in present],
            "macro_f1_present_classes": _macro_f1(w["confusion"], present),
            "macro_f1_int8_ci": [float(v) for v in macro_f1_ci(y, p, g, len(labels))],
            "accuracy": w["accuracy"], "confusion": w["confusion"]}


def committed_on_cwru(app, pipe, recs, roles: dict[str, str]) -> dict:
    """The committed classifier on every CWRU record, per load with the load's role in its training (train /
    val / test, or unseen), and on the loads it never trained on together (`unseen`: the honest figure)."""
    from tinyml.metrics import auc_metrics

    m = app.manifest
    ys, ps, pn, gs = [], [], [], []
    for i, r in enumerate(recs):
        F, sq = _windows(app, pipe, r)
        ys.append(np.full(len(sq), m.labels.index(r.label)))
        ps.append(sq.argmax(1))
        pn.append((sq[:, 0].astype(np.float32) + 128) / 256)
        gs.append(np.full(len(sq), i))
    load = np.concatenate([np.full(len(y), r.subject, dtype=object) for y, r in zip(ys, recs)])
    y, p, pnorm, g = np.concatenate(ys), np.concatenate(ps), np.concatenate(pn), np.concatenate(gs)
    out = _scored(y, p, g, m.labels)
    out["trained_on_cwru"] = {role: sorted(k for k, v in roles.items() if v == role) for role in ("train", "val", "test")}
    if 0 < (y == 0).sum() < len(y):
        out["anomaly_auc_uncalibrated"] = auc_metrics(y != 0, 1 - pnorm, groups=g)  # records, not windows
    out["by_load"] = {}
    for k in sorted(set(load.tolist())):
        sel = load == k
        out["by_load"][k] = {"role": roles.get(k, "unseen"), **_scored(y[sel], p[sel], g[sel], m.labels)}
    unseen = np.array([roles.get(k, "unseen") != "train" for k in load])
    if unseen.any():
        out["unseen"] = {"loads": sorted(set(load[unseen].tolist())), **_scored(y[unseen], p[unseen], g[unseen], m.labels)}
    return out


def _macro_f1(cm, present) -> float:
    cm = np.asarray(cm)
    f1 = []
    for k in present:
        tp, fp, fn = cm[k, k], cm[:, k].sum() - cm[k, k], cm[k, :].sum() - cm[k, k]
        f1.append(2 * tp / max(2 * tp + fp + fn, 1))
    return float(np.mean(f1))


def _fit_classifier(app, Xtr, ytr, Xva, yva, seed: int):
    """The committed classifier's design and recipe ([model]) on these examples: (float model, int8 model)."""
    import keras

    from tinyml.quant import calibration_set, quantize_model
    from tinyml.reference import TflmModel

    m = app.manifest
    mc = m.model
    keras.utils.set_random_seed(seed)
    model = app.pipeline.build_classifier(Xtr.shape[1:], len(m.labels), **mc["params"])
    steps = mc["epochs"] * -(-len(Xtr) // mc["batch_size"])
    model.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(mc["learning_rate"], steps)),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    counts = np.maximum(np.bincount(ytr, minlength=len(m.labels)), 1)
    weights = {k: float(len(ytr) / (len(m.labels) * c)) for k, c in enumerate(counts)}
    model.fit(Xtr, ytr, validation_data=(Xva, yva), epochs=mc["epochs"], batch_size=mc["batch_size"], verbose=0,
              class_weight=weights, callbacks=[keras.callbacks.EarlyStopping(patience=mc["patience"],
                                                                             restore_best_weights=True)])
    return model, TflmModel(quantize_model(model, calibration_set(Xtr, m.quantize["calibration_samples"], seed), seed))


def _record_examples(app, fx, recs, rng, augment):
    """make_examples per record: (X, y, the record index of each window)."""
    P, m = app.pipeline, app.manifest
    X, Y, G = [], [], []
    for i, r in enumerate(recs):
        x, y = P.make_examples([r], fx, m, rng, augment)
        X.append(x), Y.append(y), G.append(np.full(len(y), i))
    return np.concatenate(X), np.concatenate(Y), np.concatenate(G)


def cwru_by_load(app, recs, folds, seed: int) -> list[dict]:
    """Leave one load out: for each held-out CWRU load (an operating condition: motor load and speed), the
    classifier's design trained on the generator's training machines plus the other CWRU loads, tested on
    the held-out load's records (float and int8; no record on both sides, nothing tuned on it). Macro-F1
    over the classes the held-out load has, with a bootstrap interval over its records; where it has a
    healthy record, the uncalibrated anomaly AUC (1 - P(normal)) with a DeLong interval."""
    from tinyml.data import build_dataset, split_recordings
    from tinyml.features import FeatureExtractor, quantize_input
    from tinyml.metrics import auc_metrics, macro_f1_ci, window_metrics

    m = app.manifest
    P = app.pipeline
    fx = FeatureExtractor(m)
    ds = m.dataset
    sim_train, sim_val, _ = split_recordings(build_dataset(m, progress=False), test_fraction=ds["test_fraction"],
                                             val_fraction=ds["val_fraction"], seed=ds["seed"])
    rng = np.random.default_rng(seed)
    Xs, ys = P.make_examples(sim_train, fx, m, rng, True)  # the generator's share, computed once for every fold
    Xva, yva = P.make_examples(sim_val, fx, m, rng, False)
    out = []
    for held_out in folds:
        train = [r for r in recs if r.subject != held_out]
        test = [r for r in recs if r.subject == held_out]
        if not test or not train:
            continue
        Xc, yc, _ = _record_examples(app, fx, train, rng, True)
        Xte, yte, gte = _record_examples(app, fx, test, rng, False)
        model, q = _fit_classifier(app, np.concatenate([Xs, Xc]), np.concatenate([ys, yc]), Xva, yva, seed)
        pf = model.predict(Xte, verbose=0).argmax(1)
        sq = q.invoke_batch(quantize_input(Xte, q.input.scale, q.input.zero_point))
        pq = sq.argmax(1)
        present = sorted(set(yte.tolist()))
        wf, wq = window_metrics(yte, pf, m.labels), window_metrics(yte, pq, m.labels)
        fold = {"held_out": held_out, "train_cwru_loads": sorted({r.subject for r in train}),
                "train_generator_machines": len({r.subject for r in sim_train}), "records": len(test),
                "windows": int(len(yte)), "classes": [m.labels[k] for k in present],
                "macro_f1_present_classes": {"float": _macro_f1(wf["confusion"], present),
                                             "int8": _macro_f1(wq["confusion"], present)},
                "macro_f1_int8_ci": [float(v) for v in macro_f1_ci(yte, pq, gte, len(m.labels))],
                "accuracy_int8": wq["accuracy"], "confusion_int8": wq["confusion"],
                "_pooled": (yte, pq, gte + 1000 * len(out))}
        if 0 in present and len(present) > 1:
            o = q.output
            p_normal = (sq[:, 0].astype(np.float32) - np.float32(o.zero_point)) * np.float32(o.scale)
            a = auc_metrics(yte != 0, 1 - p_normal)
            fold["anomaly_auc_uncalibrated"] = {"auc": a["auc"], "auc_ci": [float(v) for v in a["auc_ci"]]}
        print(f"cwru fold {held_out}: macro-F1 int8 {fold['macro_f1_present_classes']['int8']:.3f}", file=sys.stderr)
        out.append(fold)
    return out


def pooled(folds, labels) -> dict:
    """Every fold's held-out windows together (each window predicted by the model that never saw its load)."""
    from tinyml.metrics import macro_f1_ci, window_metrics

    y = np.concatenate([f["_pooled"][0] for f in folds])
    p = np.concatenate([f["_pooled"][1] for f in folds])
    g = np.concatenate([f["_pooled"][2] for f in folds])
    present = sorted(set(y.tolist()))
    w = window_metrics(y, p, labels)
    return {"windows": int(len(y)), "macro_f1_int8": _macro_f1(w["confusion"], present),
            "macro_f1_int8_ci": [float(v) for v in macro_f1_ci(y, p, g, len(labels))],
            "accuracy_int8": w["accuracy"], "confusion_int8": w["confusion"]}


def ims_healthy(app, pipe, folder) -> dict:
    from tinyml.apps import load_module
    from tinyml.paths import datasets_dir

    m = app.manifest
    ims = load_module(datasets_dir() / "ims" / "dataset.py", "tinyml_datasets.ims")
    recs = ims.load(Path(folder), rate=m.rate, channels=m.channels)
    normal, windows, alarms, after, calibrated = 0, 0, 0, 0, 0
    for r in recs:
        F, sq = _windows(app, pipe, r)
        normal += int((sq.argmax(1) == 0).sum())
        windows += len(sq)
        res, pp = app.pipeline._stream(app, pipe, r)
        if pp.calibration() is not None:
            calibrated += 1
            k0 = app.pipeline._calibrated_from(res.values[:, 0], pp)
            after += len(res.values) - k0
            alarms += sum(1 for idx, lab, _ in res.events if lab == pp.anomaly_event and idx > res.ends[k0 - 1])
    return {"histories": len(recs), "calibrated": calibrated, "windows": windows, "called_normal": normal / max(windows, 1),
            "captures_after_calibration": after, "anomaly_alarms": alarms}


def femto_run_to_failure(app, pipe, folder) -> dict:
    """The committed device on every whole FEMTO / PRONOSTIA run (real bearings run to failure, none ever seen
    in training): installed blank at the run's start, it calibrates on its first captures and scores every
    capture after; the lead is the share of the run's life (by the files' clock, to the 20 g failure) left
    when its first anomaly alarm came (0 when none came), early an alarm in the run's first half. The run's
    0.1 s snapshots are joined three at a time into the app's 0.25 s captures (one every 30 s; the loader's
    docstring). Each run's curve (the anomaly value per capture, the largest of each bin of at most 200) is
    kept for the card's plot."""
    from tinyml.apps import load_module
    from tinyml.paths import datasets_dir
    from tinyml.readers.femto import SNAPSHOT_EVERY_S

    m = app.manifest
    femto = load_module(datasets_dir() / "femto" / "dataset.py", "tinyml_datasets.femto")
    recs = femto.load(Path(folder), rate=m.rate, channels=m.channels, capture_s=m.features["window"] / m.rate)
    runs = []
    for r in (r for r in recs if "failure_s" in r.truth):
        res, pp = app.pipeline._stream(app, pipe, r)
        starts = np.asarray(r.truth["capture_s"])
        done = starts + SNAPSHOT_EVERY_S * (r.truth["snapshots_per_capture"] - 1)  # its last snapshot: the decision
        cap = np.minimum(np.searchsorted(res.ends, [idx for idx, lab, _ in res.events if lab == pp.anomaly_event]),
                         len(done) - 1)
        life = r.truth["failure_s"]
        outcome = app.pipeline.rtf_outcome([float(done[k]) for k in cap], life, None)
        v = res.values[:, 0]
        learned = pp.settled_at  # captures seen when the baseline settled (None: it never did)
        bins = np.array_split(np.arange(len(v)), min(200, len(v)))
        runs.append({"run": r.subject.removeprefix("femto-"), "condition": r.cohort.split("/")[-1],
                     "set": Path(r.source).parent.name, "life_h": life / 3600, "captures": int(len(v)),
                     "calibrated_at_h": None if learned is None
                     else float(done[learned - 1] / 3600), "first_alarm_h": None if outcome["first"] is None
                     else outcome["first"] / 3600, "lead": outcome["lead"], "early": outcome["early"],
                     "alarms": int(len(cap)), "curve_h": [round(float(done[b[-1]] / 3600), 4) for b in bins],
                     "curve": [round(float(v[b].max()), 3) for b in bins]})
    sets = sorted({x["set"] for x in runs})
    return {"runs": runs, **_lead_summary(runs), "capture_s": m.features["window"] / m.rate,
            "snapshots_per_capture": recs[0].truth["snapshots_per_capture"],
            "by_set": {s: _lead_summary([x for x in runs if x["set"] == s]) for s in sets} if len(sets) > 1 else {}}


def _lead_summary(runs: list[dict]) -> dict:
    """Median lead with its order-statistic 95 % interval, runs detected and alarmed in their first half."""
    from tinyml.metrics import median_ci

    leads = [x["lead"] for x in runs]
    lo, hi = median_ci(leads)
    return {"median_lead": float(np.median(leads)) if leads else float("nan"), "median_lead_ci": [lo, hi],
            "detected": sum(x["first_alarm_h"] is not None for x in runs),
            "early_alarms": sum(x["early"] for x in runs),
            "n_runs": len(runs)}


def dumps(report: dict) -> str:
    """JSON with one key per line and each list of numbers on one line (the runs' curves stay readable)."""
    text = json.dumps(report, indent=1)
    flat = re.compile(r"\[\s+((?:-?[0-9.eE+-]+|null),?(?:\s+(?:-?[0-9.eE+-]+|null),?)*)\s+\]")
    return flat.sub(lambda mo: "[" + ", ".join(v.strip().rstrip(",") for v in mo.group(1).split()) + "]", text) + "\n"


def cwru_sections(app, pipe, folder: Path, a) -> dict:
    """The committed classifier on every CWRU record, and the leave-one-load-out folds (or an earlier run's)."""
    from tinyml.apps import load_module
    from tinyml.paths import datasets_dir

    cwru = load_module(datasets_dir() / "cwru" / "dataset.py", "tinyml_datasets.cwru")
    recs = cwru.load(Path(a.cwru), rate=app.manifest.rate, channels=app.manifest.channels)
    for r in recs:  # the records keep their 12/48 kHz: to the device rate, as build_dataset does for training
        r.signal, r.rate = app.manifest.resample(r.signal, r.rate), app.manifest.rate
    report = {"cwru_folder": Path(a.cwru).name, "cwru_records": len(recs),
              "committed": committed_on_cwru(app, pipe, recs, cwru_roles(folder))}
    print(json.dumps(report["committed"], indent=1), file=sys.stderr)
    if a.folds_from:  # the leave-one-load-out models do not depend on the committed one: reuse a measured run
        earlier = json.loads(Path(a.folds_from).read_text())
        report.update({k: earlier[k] for k in ("cwru_by_load_pooled", "cwru_trained") if k in earlier})
    else:
        folds = cwru_by_load(app, recs, [f for f in a.folds.split(",") if f], app.manifest.dataset["seed"])
        if folds:
            report["cwru_by_load_pooled"] = pooled(folds, app.manifest.labels)
        report["cwru_trained"] = [{k: v for k, v in f.items() if not k.startswith("_")} for f in folds]
    return report


def main(argv=None) -> int:
    from tinyml.errors import TinymlError
    from tinyml.predict import Pipeline

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cwru", help="a folder of CWRU .mat records (without it, the other sections given update "
                    "an earlier report)")
    ap.add_argument("--ims", help="a folder of IMS snapshots")
    ap.add_argument("--femto", help="a folder of FEMTO / PRONOSTIA bearing runs (Learning_set, Full_Test_Set)")
    ap.add_argument("--folds", default="cwru-load0,cwru-load1,cwru-load2,cwru-load3",
                    help="held-out loads of the leave-one-load-out classifiers (empty: none)")
    ap.add_argument("--folds-from", help="an earlier real_data.json whose leave-one-load-out folds to keep (they "
                    "train their own classifiers on the same data and code, whatever model is committed)")
    ap.add_argument("--folder", help="a training run's folder instead of the committed model/")
    ap.add_argument("--out", help="default: real_data.json in the model folder")
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                    help="a manifest value for this measurement only (a sensitivity check; the report records it)")
    a = ap.parse_args(argv)
    if not (a.cwru or a.ims or a.femto):
        ap.error("give at least one of --cwru, --ims, --femto")
    if a.set and (a.cwru or a.ims or not a.femto):
        ap.error("--set measures a variant for FEMTO only (--femto alone): the CWRU and IMS sections are the "
                 "committed models'")
    try:  # a missing folder, a file no reader takes: one line
        app = _app(a.set)
        folder = Path(a.folder) if a.folder else app.model_dir
        pipe = Pipeline(app, folder=folder)
        a.out = a.out or str(folder / "real_data.json")
        if a.cwru:
            report = cwru_sections(app, pipe, folder, a)
        elif Path(a.out).is_file():  # a section alone: the earlier report's other sections stay (same models)
            report = json.loads(Path(a.out).read_text())
        else:
            ap.error(f"{a.out} does not exist: measure CWRU first (--cwru)")
        if a.ims:
            report["ims"] = ims_healthy(app, pipe, a.ims)
        if a.femto:
            key = "femto_sensitivity" if a.set else "femto"  # the committed device's figure is never a variant's
            report[key] = {**femto_run_to_failure(app, pipe, a.femto), "overrides": a.set,
                           "folder": Path(a.femto).name}
            print(json.dumps({k: v for k, v in report[key].items() if k != "runs"}), file=sys.stderr)
    except TinymlError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    Path(a.out).write_text(dumps(report))
    print(f"wrote {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
