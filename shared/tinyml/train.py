"""Train an app: its dataset, every model of the manifest ([model] and each [models.<name>]) fitted and
quantized to full int8, float and int8 evaluated on held-out subjects, all written to a new run folder
(build/<id>/runs/<run>/, tinyml.runs): the committed model changes only by `tinyml promote`.

Reproducible bit for bit on one machine from the manifest's seed (see tinyml.fit): the same data (the
card records its SHA-256), the same weights, the same .tflite bytes.
"""

from __future__ import annotations

import hashlib
import json
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import hints
from .acceptance import check_acceptance, flat_metrics, int8_changes, int8_drop, int8_error_increase
from .apps import App, model_file
from .card_stamp import postprocess_sha256
from .data import data_sha256, load_splits
from .data.splits import check_kept_unseen
from .data.source import resolve_sources, shared_recordings, source_name, training_recordings, weighted
from .errors import TinymlError
from .features import FeatureExtractor
from .fit import fit_model, log, seed_everything
from .logit_adjust import adjust_logits
from .manifest import LABEL_OUTPUTS
from .metrics import round_metrics
from .predict import Pipeline
from .quant import calibration_set, quantize_model
from .recording import Recording
from .runs import FLOAT_DIR, find_float_models, new_run_dir, read_card, remember_run
from .scoring import FloatModel, FloatScorer, evaluate_pipeline


@dataclass
class ModelSpec:
    name: str  # "" for the primary model ([model])
    spec: dict  # the validated manifest table
    output: str  # "classes" or "regression", the primary model "classes" or "multilabel" (manifest)
    labels: list[str]
    examples: str  # the pipeline.py hook that gives (X, y[, groups])

    @property
    def key(self) -> str:
        return f"models.{self.name}" if self.name else "model"


@dataclass
class Trained:
    spec: ModelSpec
    float_model: object
    history: dict
    tflite: bytes
    logit_adjust: dict | None = None  # {"tau", "train_counts"} when [model] logit_adjust_tau > 0


def model_specs(app: App) -> list[ModelSpec]:
    m = app.manifest
    out = [ModelSpec("", m.model, m.model["output"], m.labels, "make_examples")]
    out += [ModelSpec(n, s, s["output"], list(s["labels"]), s["examples"]) for n, s in m.models.items()]
    return out


def _float_source(run_dir: Path) -> dict:
    """Where a reused float model was fitted: its run and that run's data (the quantization and evaluation
    data of this card may differ, e.g. a generator's unseeded renders)."""
    card = run_dir / "card.json"
    sha = json.loads(card.read_text())["dataset"].get("sha256") if card.is_file() else None
    return {"run": run_dir.name, "data_sha256": sha}


def train_app(app: App, smoke: bool = False, out: str | Path | None = None, reuse_float: bool = False,
              keep: tuple[str, ...] = ()) -> dict:
    """Train into `out` (default: a new run folder); returns the card. keep: further models ([models.<name>])
    that stay the committed ones (their int8 files as they are: neither fitted nor quantized again)."""
    m = app.manifest
    seed = m.dataset["seed"]
    t0 = time.time()
    kept = _committed_to_keep(app, keep)
    float_from = find_float_models(app, smoke) if reuse_float else None
    train, val_all, test_all = load_splits(m, smoke=smoke)
    if kept:  # the kept models were trained on the committed card's split: none of its subjects may be held out now
        check_kept_unseen(m, kept, read_card(app.model_dir).get("dataset", {}).get("cohorts"),
                          {r.subject for r in val_all + test_all}, "train without --keep")
    run_dir = Path(out) if out else new_run_dir(app, smoke)  # only now: a refused run leaves no empty folder
    run_dir.mkdir(parents=True, exist_ok=True)
    # a source limited to some models (`models`) trains only those; its validation and held-out recordings are
    # the app's to judge apart: they stop no model and the core evaluates none of them
    val, test = shared_recordings(m, val_all), shared_recordings(m, test_all)
    fx = FeatureExtractor(m)
    log(f"run folder {run_dir}; subjects {len({r.subject for r in train})}/{len({r.subject for r in val})}/"
        f"{len({r.subject for r in test})} (train/val/test)")
    trained = [kept[s.name] if s.name in kept else
               _train_one(app, s, training_recordings(m, train, s.name), val, fx, seed, smoke, run_dir, float_from)
               for s in model_specs(app)]
    for t in trained:  # first, so a failed evaluation leaves them to inspect
        (run_dir / model_file(t.spec.name)).write_bytes(t.tflite)
    remember_run(app, run_dir, smoke)

    log("evaluating float and int8 on held-out subjects")
    primary = trained[0]
    pipe = Pipeline(app, folder=run_dir)
    o = pipe.model.output
    # a kept model has no float version here: its int8 model stands in (its float figures are its int8 ones)
    float_pipe = Pipeline(app, primary.tflite, models={t.spec.name: pipe.models[t.spec.name] if t.float_model is None
                                                       else FloatModel(t.float_model, pipe.models[t.spec.name])
                                                       for t in trained[1:]},
                          scorer=FloatScorer(primary.float_model, o.scale, o.zero_point))
    f_ev = evaluate_pipeline(app, float_pipe, test)
    q_ev = evaluate_pipeline(app, pipe, test, progress=not smoke)
    outputs = {t.spec.name: t.spec.output for t in trained[1:]}
    for t in trained[1:]:  # a further model's own size and int8 change, for its [acceptance.<name>] table
        q_ev.models[t.spec.name].update(_own_changes(t, f_ev.models[t.spec.name], q_ev.models[t.spec.name]))
    changes = int8_changes(m.acceptance, flat_metrics(f_ev.metrics, f_ev.models), flat_metrics(q_ev.metrics, q_ev.models),
                           outputs, q_ev.app_keys)
    q_metrics = {**q_ev.metrics, "int8_drop": changes["int8_drop"],
                 "int8_error_increase_pct": changes["int8_error_increase_pct"],
                 "model_bytes": sum(len(t.tflite) for t in trained)}

    card = {
        "app": m.id,
        "feature_hash": m.feature_hash(),
        "feature_version": m.features["version"],
        "model_sha256": hashlib.sha256(primary.tflite).hexdigest(),
        "model_bytes": len(primary.tflite),
        "seed": seed,
        "smoke": smoke,
        "dataset": _dataset_entry(m, train, val_all, test_all),
        "overrides": list(m.overrides),  # --set texts: such a run is not the manifest's, promote refuses it
        "input": _quant(pipe.model.input),
        "output": _quant(o),
        "metrics": {"float": round_metrics(f_ev.metrics), "int8": round_metrics(q_metrics),
                    "int8_drop": changes["int8_drop"], "int8_drop_over": changes["int8_drop_over"],
                    "int8_error_increase_over": changes["int8_error_increase_over"]},
        "app_metrics": q_ev.app_keys,
        "postprocess_sha256": postprocess_sha256(m),  # the alerts, hence the event metrics, depend on it
        "histories": {t.spec.name: _history(t.history) for t in trained},  # the training curves, re-plotted by `tinyml card`
        "train_seconds": 0.0,
        "reused_float": reuse_float,  # quantized and evaluated from a saved float model, not fitted
        **({"float_from": _float_source(float_from)} if float_from else {}),
        **({"kept_committed": sorted(kept)} if kept else {}),
        "epochs_run": len(primary.history["loss"]),
    }
    adjusted = {t.spec.key: t.logit_adjust for t in trained if t.logit_adjust}
    if adjusted:  # the prior folded into the logits (tinyml.logit_adjust); absent when no model uses it
        card["logit_adjust"] = adjusted
    if len(trained) > 1:
        card["models"] = {t.spec.name: _model_entry(t, pipe.models[t.spec.name], f_ev.models[t.spec.name],
                                                    q_ev.models[t.spec.name]) for t in trained[1:]}
    try:
        from .reference import tflm_arena_bytes

        card["tflm_arena_bytes"] = tflm_arena_bytes(primary.tflite)
    except TinymlError:
        pass
    failures = check_acceptance(m.acceptance, flat_metrics(q_metrics, q_ev.models))
    card["acceptance"] = {"met": not failures, "failures": failures, "limits": m.acceptance}
    card["train_seconds"] = round(time.time() - t0, 1)
    (run_dir / "card.json").write_text(json.dumps(card, indent=2) + "\n")
    from .report import write_model_card

    write_model_card(app, run_dir, card, pipe, test)
    drop = changes["int8_drop"]
    log(f"wrote {run_dir} in {card['train_seconds']} s; int8 {q_metrics['model_bytes']} B; drop {drop:.2f} pt; "
        + ("floors met" if not failures else "floors missed: " + "; ".join(failures))
        + ("" if out else f"; commit it with: {hints.command('promote', m.id)}"))
    if not smoke and drop > m.acceptance.get("max_int8_drop", float("inf")):
        raise TinymlError(f"int8 drop {drop:.2f} points exceeds [acceptance] max_int8_drop "
                          f"{m.acceptance['max_int8_drop']}; the int8 models were written to {run_dir} for inspection")
    return card


def _committed_to_keep(app: App, keep) -> dict[str, Trained]:
    """The committed int8 models that `keep` names, as trained models without a float version (their training
    curves from the committed card); a one-line error for a name that is no further model or has no file."""
    m = app.manifest
    specs = {s.name: s for s in model_specs(app) if s.name}
    card = read_card(app.model_dir)
    out = {}
    for name in keep:
        if name not in specs:
            raise TinymlError(f"--keep {name}: not a further model of {m.id} ([models.<name>]: "
                              f"{', '.join(sorted(specs)) or 'none'})")
        path = app.model_dir / model_file(name)
        if not path.is_file():
            raise TinymlError(f"--keep {name}: {path} is not there (no committed model to keep)")
        history = card.get("histories", {}).get(name) or {"loss": []}
        # the prior folded into its logits when it was trained: the run's card must say so (check_run asks)
        adjust = card.get("logit_adjust", {}).get(specs[name].key)
        out[name] = Trained(specs[name], None, history, path.read_bytes(), adjust)
        log(f"[{specs[name].key}] kept: the committed {path.name} as it is (not fitted, not quantized again)")
    return out


def _train_one(app: App, s: ModelSpec, train, val, fx, seed: int, smoke: bool, run_dir: Path,
               float_from: Path | None) -> Trained:
    """Examples, the float model (fitted, or reused from an earlier run), full int8."""
    import keras

    m = app.manifest
    hook = getattr(app.pipeline, s.examples, None)
    if not callable(hook):
        raise TinymlError(f"{app.dir / 'pipeline.py'}: no function {s.examples!r} "
                          f"([{s.key}]{'.examples' if s.name else ''})")
    builder = getattr(app.pipeline, s.spec["builder"], None)
    if builder is None:
        raise TinymlError(f"{app.dir / 'pipeline.py'}: no function {s.spec['builder']!r} ([{s.key}.builder])")
    # every model from its own seed, so adding a model never changes another's examples or weights
    model_seed = seed if not s.name else int(zlib.crc32(f"{seed}:{s.name}".encode()))
    seed_everything(model_seed)
    rng = np.random.default_rng(model_seed)
    Xtr, ytr = hook(weighted(m, train, rng), fx, m, rng, True)[:2]
    Xva, yva = hook(val, fx, m, rng, False)[:2]
    n_out = len(s.labels) if s.output in LABEL_OUTPUTS else int(np.prod(np.shape(ytr)[1:], dtype=np.int64))
    if s.output in LABEL_OUTPUTS:
        ytr, yva = np.asarray(ytr, np.int64), np.asarray(yva, np.int64)
        if len(ytr) and (ytr.min() < 0 or ytr.max() >= n_out):
            raise TinymlError(f"{s.examples}(): labels must be 0..{n_out - 1} ({s.key} labels), got {ytr.min()}..{ytr.max()}")
        counts = np.bincount(ytr, minlength=n_out).tolist()
    else:
        counts = f"targets {list(np.shape(ytr)[1:]) or [1]}"
    log(f"[{s.key}] train {len(Xtr)} examples ({counts}), val {len(Xva)}")
    if len(Xtr) == 0:
        raise TinymlError(f"{s.examples}() gave no training examples")
    stem = s.name or "model"
    float_path = run_dir / FLOAT_DIR / f"{stem}.keras"
    history_path = float_path.with_suffix(".history.json")
    src = float_from / FLOAT_DIR / f"{stem}.keras" if float_from is not None else None
    if src is not None and src.is_file():  # --reuse-float; a model the run lacks (new in the manifest) is fitted
        history = json.loads(src.with_suffix(".history.json").read_text())
        # The same input shape is not enough: other features of that shape (a new mel range, say) would
        # give an int8 model that quietly answers wrong.
        trained_on = history.pop("feature_hash", None)
        if trained_on != m.feature_hash():
            raise TinymlError(f"{src}: fitted on other features ({trained_on or 'not recorded'}) than the "
                              f"manifest's ({m.feature_hash()}); retrain without --reuse-float")
        model = keras.models.load_model(src)
    else:
        model, history = fit_model(builder, s.spec, Xtr, ytr, Xva, yva, n_outputs=n_out, output=s.output,
                                   smoke=smoke, where=f"{m.id} [{s.key}]")
    float_path.parent.mkdir(parents=True, exist_ok=True)
    model.save(float_path)  # as fitted: --reuse-float may adjust it again with another tau
    history_path.write_text(json.dumps({**history, "feature_hash": m.feature_hash()}))
    adjust = None
    tau = float(s.spec.get("logit_adjust_tau", 0.0))
    if tau > 0 and s.output == "classes":
        among = list(s.spec.get("logit_adjust_labels") or [])
        model = adjust_logits(model, counts, tau, [s.labels.index(x) for x in among] if among else None)
        adjust = {"tau": tau, "train_counts": counts, **({"labels": among} if among else {})}
        log(f"[{s.key}] logit adjustment: tau {tau} x log(training prior) off the logits (last Dense bias)"
            + (f", among {', '.join(among)}" if among else ""))
    per_class = m.quantize["calibration"] == "per_class" and s.output in LABEL_OUTPUTS
    calib = calibration_set(Xtr, m.quantize["calibration_samples"], seed, ytr if per_class else None)
    return Trained(s, model, history, quantize_model(model, calib, seed), adjust)


def _dataset_entry(m, train, val, test) -> dict:
    """What the run trained and was tested on: the sources, a fingerprint, the split's sizes (per cohort when
    the recordings carry cohorts: each source, a dataset's own groups)."""
    used = resolve_sources(m, notice=False)
    real = {s.name for s in used if s.real}
    scored = shared_recordings(m, test)  # the held-out recordings the card's figures are on
    entry = {
        "name": " + ".join(s.name for s in used),
        "synthetic": not any(s.real for s in used),
        "sources": [_source_entry(s, [r for r in train + val + test if source_name(r, used) == s.name]) for s in used],
        "sha256": data_sha256(train + val + test),
        "recordings": {"train": len(train), "val": len(val), "test": len(scored)},
        "subjects": {"train": len({r.subject for r in train}), "val": len({r.subject for r in val}),
                     "test": len({r.subject for r in test}),
                     # generated material that only trains (a real dataset's own fixed training split is not)
                     "train_only": len({r.subject for r in train if r.split == "train" and source_name(r, used) not in real})},
        "test_hours": round(sum(r.duration for r in scored) / 3600, 2),
    }
    cohorts = sorted({r.cohort for r in train + val + test if r.cohort})
    if cohorts:
        entry["cohorts"] = {c: {name: sorted({r.subject for r in split if r.cohort == c})
                                for name, split in (("train", train), ("val", val), ("test", test))}
                            for c in cohorts}
    return entry


def _source_entry(s, recs: list[Recording]) -> dict:
    """A source as the card shows it: the manifest's entry and what its dataset module says of itself and of
    the recordings the run took from it (KIND, LICENCE, summary(recordings): a small table)."""
    from .data import dataset_module

    mod = dataset_module(s.name)
    entry = s.describe()
    for key, attr in (("kind", "KIND"), ("licence", "LICENCE")):
        if getattr(mod, attr, None):
            entry[key] = getattr(mod, attr)
    summary = getattr(mod, "summary", None)
    if summary is not None and recs:
        entry["summary"] = summary(recs)
    return entry
def _history(history: dict) -> dict:
    """Training curves as the card keeps them: each metric per epoch, 6 significant digits."""
    return {k: [float(f"{float(v):.6g}") for v in vs] for k, vs in history.items() if isinstance(vs, list)}


def _quant(q) -> dict:
    return {"shape": list(q.shape), "scale": q.scale, "zero_point": q.zero_point}


def _own_changes(t: Trained, f_metrics: dict, q_metrics: dict) -> dict:
    """A further model's bytes and int8 change: balanced accuracy points (classifier), MAE percent (regression)."""
    if t.spec.output == "classes":
        return {"model_bytes": len(t.tflite), "int8_drop": int8_drop(f_metrics, q_metrics, ["balanced_accuracy"])}
    return {"model_bytes": len(t.tflite), "int8_error_increase_pct": int8_error_increase(f_metrics, q_metrics, ["mae"])}


def _model_entry(t: Trained, int8, f_metrics: dict, q_metrics: dict) -> dict:
    """A further model in the card: its file, sizes, quantization and its own held-out metrics."""
    entry = {
        "file": model_file(t.spec.name),
        "model_sha256": hashlib.sha256(t.tflite).hexdigest(),
        "model_bytes": len(t.tflite),
        "output_kind": t.spec.output,
        "labels": t.spec.labels,
        "examples": t.spec.examples,
        "input": _quant(int8.input),
        "output": _quant(int8.output),
        "epochs_run": len(t.history["loss"]),
    }
    entry["metrics"] = {"float": round_metrics(f_metrics), "int8": round_metrics(q_metrics)}
    try:
        from .reference import tflm_arena_bytes

        entry["tflm_arena_bytes"] = tflm_arena_bytes(t.tflite)
    except TinymlError:
        pass
    return entry
