"""The rhythm model on real ECG beside the generator: fit one candidate and decide on VALIDATION only, by the
criterion the README states ("Session of 2026-12-06 evening").

    python apps/heart-rate-anomaly/rhythm_real.py fit RUN_DIR       # the candidate (rhythm model only)
    python apps/heart-rate-anomaly/rhythm_real.py decide RUN_DIR    # committed vs candidate on validation

The sources are the manifest's (`$MITBIH`, `$CINC2017` set, or the generator alone with a notice). `fit` fits
`[model]` on the training split of every source as `tinyml train` does (the same examples hook, the core's fit
and int8 quantization, seed) and puts the committed beat model beside it unchanged, so RUN_DIR is a model folder
`Pipeline(folder=...)` reads. `decide` streams the validation split through both int8 pipelines and writes
RUN_DIR/decision.json; it never reads a test split.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

AF_LABELS = ("AF", "AFL")
BOOTSTRAP = 2000


SETS: list[str] = []  # --set SECTION.KEY=VALUE of this run (an epoch's timing: --set model.epochs=1)


def _app():
    from tinyml.apps import load_app

    return load_app("heart-rate-anomaly", overrides=SETS)


def fit(run_dir: Path) -> dict:
    """The candidate rhythm model, fitted and quantized into run_dir (model.int8.tflite, float/model.keras), the
    committed beat model copied beside it; what it was fitted on in run_dir/fit.json."""
    from tinyml.apps import model_file
    from tinyml.data import load_splits
    from tinyml.data.source import weighted
    from tinyml.features import FeatureExtractor
    from tinyml.fit import fit_model, seed_everything
    from tinyml.quant import calibration_set, quantize_model
    from tinyml.runs import FLOAT_DIR, remember_run

    app = _app()
    m = app.manifest
    t0 = time.time()
    train, val, _ = load_splits(m)
    fx = FeatureExtractor(m)
    seed = m.dataset["seed"]
    seed_everything(seed)
    rng = np.random.default_rng(seed)
    Xtr, ytr = app.pipeline.make_examples(weighted(m, train, rng), fx, m, rng, True)
    Xva, yva = app.pipeline.make_examples(val, fx, m, rng, False)
    print(f"examples: train {len(Xtr)} {np.bincount(ytr, minlength=len(m.labels)).tolist()}, val {len(Xva)} "
          f"({time.time() - t0:.0f} s)", file=sys.stderr, flush=True)
    model, history = fit_model(app.pipeline.build_model, m.model, Xtr, ytr, Xva, yva, n_outputs=len(m.labels),
                               output="classes", smoke=False, where=f"{m.id} [model]")
    tflite = quantize_model(model, calibration_set(Xtr, m.quantize["calibration_samples"], seed), seed)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / FLOAT_DIR).mkdir(exist_ok=True)
    model.save(run_dir / FLOAT_DIR / "model.keras")
    # as a training run saves it, so `tinyml train --reuse-float` quantizes this very model again
    (run_dir / FLOAT_DIR / "model.history.json").write_text(json.dumps({**history, "feature_hash": m.feature_hash()}))
    remember_run(app, run_dir, False)
    (run_dir / model_file("")).write_bytes(tflite)
    for name in m.models:  # the beat model stays the committed one
        shutil.copy2(app.model_dir / model_file(name), run_dir / model_file(name))
    info = {"seconds": round(time.time() - t0, 1), "epochs_run": len(history["loss"]), "history": history,
            "train_examples": len(Xtr), "val_examples": len(Xva), "splits": split_lists(train, val)}
    (run_dir / "fit.json").write_text(json.dumps(info, indent=1) + "\n")
    return info


def split_lists(train, val) -> dict:
    """The recordings each source gave to train and val, by name (the test split is not listed: not read)."""
    out: dict = {}
    for part, recs in (("train", train), ("val", val)):
        for r in recs:
            out.setdefault(r.cohort or "synthetic-ecg", {}).setdefault(part, []).append(Path(r.source).stem or r.subject)
    return {c: {p: sorted(set(v)) for p, v in parts.items()} for c, parts in out.items()}


# --- the decision on validation ------------------------------------------------------------------------------


def record_af(app, pipe, rec) -> dict:
    """One recording's AF windows (as the card counts them) and AF events: {"pos", "tp", "neg", "fp", "events",
    "hours", "has_af"}."""
    from tinyml.postprocess import score_threshold_q

    af_window, score_recording, window_label = (app.pipeline.af_window, app.pipeline.score_recording,
                                                app.pipeline.window_label)
    m = app.manifest
    rate, W, labels = m.rate, int(m.features["window"]), m.labels
    i_af, i_noise = labels.index("af"), labels.index("noise")
    o = pipe.model.output
    af_q = score_threshold_q(m.postprocess["af_threshold"], o.scale, o.zero_point)
    af_irr, irr_i = np.float32(m.postprocess["af_irregularity"]), m.values.index("irregularity")
    res = score_recording(app, pipe, rec)
    c = {"pos": 0, "tp": 0, "neg": 0, "fp": 0}
    for k, e in enumerate(res.ends):
        lab = window_label(rec.truth, (e - W) / rate, e / rate, labels)
        if lab is None or lab == i_noise:
            continue
        said = af_window(int(res.scores_q[k][i_af]), res.values[k][irr_i], af_q, af_irr)
        key = ("pos", "tp") if lab == i_af else ("neg", "fp")
        c[key[0]] += 1
        c[key[1]] += int(said)
    has_af = any(lab in AF_LABELS for _, _, lab in rec.truth.get("rhythm", []))
    return {**c, "events": sum(1 for _, lab, _ in res.events if lab == i_af), "hours": rec.duration / 3600,
            "has_af": has_af}


def real_af(app, pipe, recs) -> list[dict]:
    return [{"source": r.cohort, "name": Path(r.source).stem, **record_af(app, pipe, r)} for r in recs]


def af_summary(rows: list[dict]) -> dict:
    pos, tp = sum(r["pos"] for r in rows), sum(r["tp"] for r in rows)
    neg, fp = sum(r["neg"] for r in rows), sum(r["fp"] for r in rows)
    quiet = [r for r in rows if not r["has_af"]]
    hours = sum(r["hours"] for r in quiet)
    return {"af_windows": pos, "af_sensitivity": tp / pos if pos else float("nan"), "non_af_windows": neg,
            "af_specificity": 1 - fp / neg if neg else float("nan"), "non_af_hours": hours,
            "false_af_events": sum(r["events"] for r in quiet),
            "false_af_per_hour": sum(r["events"] for r in quiet) / hours if hours else float("nan")}


def paired_bootstrap(old: list[dict], new: list[dict], n: int = BOOTSTRAP, seed: int = 0) -> list[float]:
    """95 % percentile interval of new - old pooled AF window sensitivity, records resampled with replacement
    within each source (the same draw for both models: paired)."""
    rng = np.random.default_rng(seed)
    sources = sorted({r["source"] for r in old})
    idx = {s: np.asarray([i for i, r in enumerate(old) if r["source"] == s]) for s in sources}
    pos = np.asarray([r["pos"] for r in old], float)
    d_tp = np.asarray([b["tp"] - a["tp"] for a, b in zip(old, new)], float)
    diffs = []
    for _ in range(n):
        pick = np.concatenate([rng.choice(idx[s], len(idx[s])) for s in sources])
        p = pos[pick].sum()
        if p:
            diffs.append(d_tp[pick].sum() / p)
    return [float(np.percentile(diffs, 2.5)), float(np.percentile(diffs, 97.5))]


def synthetic_floors(app, pipe, recs) -> dict:
    """The [acceptance] floors measured on recordings, on the synthetic validation subjects."""
    from tinyml.acceptance import check_acceptance, flat_metrics
    from tinyml.scoring import evaluate_pipeline

    ev = evaluate_pipeline(app, pipe, recs)
    kept = {k: v for k, v in app.manifest.acceptance.items()
            if k not in ("max_int8_drop", "max_model_bytes", "max_arena_bytes")}
    failures = check_acceptance(kept, flat_metrics(ev.metrics, ev.models))
    shown = {k: ev.metrics.get(k) for k in ("qrs_sensitivity", "qrs_ppv", "qrs_sensitivity_noise", "qrs_ppv_noise",
                                             "hr_mae_bpm", "af_sensitivity", "af_specificity",
                                             "af_false_alarms_per_hour", "v_sensitivity", "v_ppv", "macro_f1")}
    return {"metrics": shown, "failures": failures}


def int8_drop(app, run_dir: Path, pipe, recs) -> dict:
    """The core's int8 drop (float minus int8 over the floor metrics) of the candidate on the validation split."""
    import keras
    from tinyml.acceptance import flat_metrics, int8_changes
    from tinyml.predict import Pipeline
    from tinyml.runs import FLOAT_DIR
    from tinyml.scoring import FloatScorer, evaluate_pipeline

    o = pipe.model.output
    model = keras.models.load_model(run_dir / FLOAT_DIR / "model.keras")
    float_pipe = Pipeline(app, folder=run_dir, scorer=FloatScorer(model, o.scale, o.zero_point))
    f_ev, q_ev = evaluate_pipeline(app, float_pipe, recs), evaluate_pipeline(app, pipe, recs)
    outputs = {n: s["output"] for n, s in app.manifest.models.items()}
    ch = int8_changes(app.manifest.acceptance, flat_metrics(f_ev.metrics, f_ev.models),
                      flat_metrics(q_ev.metrics, q_ev.models), outputs, q_ev.app_keys)
    return {"int8_drop": ch["int8_drop"], "over": ch["int8_drop_over"]}


def sizes(app, pipe) -> dict:
    model_bytes = sum(len(b) for b in pipe.int8_model_bytes().values() if b is not None)
    return {"model_bytes": model_bytes, "arena_bytes": app.pipeline._arena_bytes(pipe)}


def decide(run_dir: Path) -> dict:
    """Committed vs candidate on the validation split, the criterion's three parts; run_dir/decision.json."""
    from tinyml.data import load_splits
    from tinyml.predict import Pipeline

    app = _app()
    m = app.manifest
    _, val, _ = load_splits(m)
    real = [r for r in val if r.cohort in ("mitbih-arrhythmia", "physionet-2017")]
    synthetic = [r for r in val if r.cohort == "synthetic-ecg"]
    if not real:
        raise SystemExit("no real validation recordings: set MITBIH and CINC2017")
    pipes = {"committed": Pipeline(app), "candidate": Pipeline(app, folder=run_dir)}
    t0 = time.time()
    rows = {k: real_af(app, p, real) for k, p in pipes.items()}
    _said(f"real validation, both models: {time.time() - t0:.0f} s")
    out: dict = {"validation": {"real_recordings": len(real), "synthetic_recordings": len(synthetic)}}
    for k in pipes:
        out[k] = {"real_af": af_summary(rows[k]),
                  "per_source": {s: af_summary([r for r in rows[k] if r["source"] == s])
                                 for s in sorted({r["source"] for r in rows[k]})},
                  "synthetic": synthetic_floors(app, pipes[k], synthetic)}
        _said(f"{k}: {json.dumps(out[k], default=float)} ({time.time() - t0:.0f} s)")
    old, new = out["committed"]["real_af"], out["candidate"]["real_af"]
    ci = paired_bootstrap(rows["committed"], rows["candidate"])
    _said(f"AF window sensitivity {old['af_sensitivity']:.4f} -> {new['af_sensitivity']:.4f}, difference CI {ci}")
    cand = pipes["candidate"]
    out["candidate"].update(int8_drop(app, run_dir, cand, val))
    _said(f"int8 drop {out['candidate']['int8_drop']} ({time.time() - t0:.0f} s)")
    out["candidate"].update(sizes(app, cand))
    acc = m.acceptance
    a = ci[0] > 0 and new["false_af_per_hour"] <= old["false_af_per_hour"] + X_FALSE_AF_PER_HOUR
    b = not out["candidate"]["synthetic"]["failures"]
    c = (out["candidate"]["int8_drop"] <= acc["max_int8_drop"] and out["candidate"]["model_bytes"] <= acc["max_model_bytes"]
         and out["candidate"]["arena_bytes"] <= acc["max_arena_bytes"])
    out["decision"] = {"se_difference": new["af_sensitivity"] - old["af_sensitivity"], "se_difference_ci": ci,
                       "a": a, "b": b, "c": c, "adopt": bool(a and b and c)}
    (run_dir / "decision.json").write_text(json.dumps(out, indent=1, default=float) + "\n")
    return out


def _said(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


X_FALSE_AF_PER_HOUR = 0.5  # the criterion's X (README): the app's own false-AF ceiling on sinus streams


def main(argv: list[str]) -> int:
    while "--set" in argv:
        i = argv.index("--set")
        SETS.append(argv[i + 1])
        del argv[i : i + 2]
    if len(argv) != 2 or argv[0] not in ("fit", "decide"):
        print(__doc__.strip().splitlines()[3].strip(), file=sys.stderr)
        return 2
    run_dir = Path(argv[1])
    out = fit(run_dir) if argv[0] == "fit" else decide(run_dir)
    print(json.dumps({k: v for k, v in out.items() if k not in ("history", "splits")}, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
