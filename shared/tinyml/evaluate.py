"""`tinyml eval`: re-evaluate the committed int8 models on the held-out split and check [acceptance];
`--card` also rewrites the committed model card from this evaluation.

The held-out recordings stream through the pipeline a batch at a time (tinyml.scoring), with a progress
bar: memory stays small however long the held-out set is.
"""

from __future__ import annotations

import hashlib
import json
import sys

from . import hints
from .acceptance import check_acceptance, flat_metrics
from .apps import App, model_file
from .card_stamp import postprocess_sha256
from .data import data_sha256, load_splits
from .data.source import limited_sources, shared_recordings
from .data.splits import held_out_as_trained
from .errors import AcceptanceError, TinymlError
from .metrics import format_intervals, format_window_intervals, round_metrics
from .predict import Pipeline
from .scoring import evaluate_pipeline


def committed_models(app: App) -> dict[str, bytes]:
    """The committed int8 models by name ("" the primary); a one-line error for a missing one."""
    out = {}
    for name in ["", *app.manifest.models]:
        p = app.model_dir / model_file(name)
        if not p.is_file():
            raise TinymlError(f"{p}: no committed model; run: {_train_then_promote(app)}")
        out[name] = p.read_bytes()
    return out


def eval_committed(app: App, smoke: bool = False, rewrite_card: bool = False) -> int:
    """Re-evaluate the committed int8 models on the held-out split; exit 1 when a floor is missed.
    rewrite_card: also rewrite its model card (int8 metrics, acceptance, plots, text) after a change to the
    card, [postprocess] or the evaluation. The float metrics, the int8 drop and the training curves stay
    those training measured: the float models are not committed."""
    if rewrite_card and smoke:
        raise TinymlError("--card rewrites the committed model card from the full held-out split; drop --smoke")
    models = committed_models(app)
    card_path = app.model_dir / "card.json"
    card = json.loads(card_path.read_text()) if card_path.is_file() else None
    if rewrite_card:
        _check_card_describes(app, card, models)
    train, val, test = load_splits(app.manifest, smoke=smoke)
    drawn = train + val + test  # the data as training would see them now: what the card's sha256 fingerprints
    # a source limited to some models (`models`): its held-out recordings are the app's to report, not the core's
    train, val, test = (shared_recordings(app.manifest, s) for s in (train, val, test))
    if not smoke and card is not None and not card.get("smoke"):  # never a subject the model trained on
        limited = limited_sources(app.manifest)
        recorded = {c: parts for c, parts in (card.get("dataset", {}).get("cohorts") or {}).items()
                    if c.split("/")[0] not in limited}
        test = held_out_as_trained(train, val, test, recorded, complete=rewrite_card)
    pipe = Pipeline(app, models[""], models={n: b for n, b in models.items() if n})
    ev = evaluate_pipeline(app, pipe, test, progress=not smoke)
    metrics = ev.metrics
    metrics["model_bytes"] = sum(len(b) for b in models.values())
    if card is not None:  # int8 against float: the float models are not committed, training measured it
        metrics["int8_drop"] = card["metrics"].get("int8_drop", 0.0)
        if "int8_error_increase_pct" in card["metrics"]["int8"]:
            metrics["int8_error_increase_pct"] = card["metrics"]["int8"]["int8_error_increase_pct"]
    print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in metrics.items() if k != "confusion"}))
    for name, mm in ev.models.items():
        print(json.dumps({"model": name, **{k: (round(v, 4) if isinstance(v, float) else v) for k, v in mm.items()
                                            if k != "confusion"}}))
    for line in (format_intervals(metrics), format_window_intervals(metrics)):
        if line:
            print(line, file=sys.stderr)
    for name, mm in ev.models.items():  # a further model's own figures, as the card keeps them
        mm["model_bytes"] = len(models[name])
        for k in ("int8_drop", "int8_error_increase_pct"):
            kept = (card or {}).get("models", {}).get(name, {}).get("metrics", {}).get("int8", {})
            if k in kept:
                mm[k] = kept[k]
    failures = check_acceptance(app.manifest.acceptance, flat_metrics(metrics, ev.models))
    if rewrite_card:
        from .report import write_model_card

        card["metrics"]["int8"] = round_metrics(metrics)
        card["app_metrics"] = ev.app_keys
        _record_evaluated_data(card, drawn, test)
        card["postprocess_sha256"] = postprocess_sha256(app.manifest)
        card.pop("postprocess_assumed", None)  # measured now, no longer taken on trust
        card["int8_remeasured"] = True  # the float column stays training's: the card says the two were measured apart
        for name, mm in ev.models.items():
            card["models"][name]["metrics"]["int8"] = round_metrics(mm)
        card["acceptance"] = {"met": not failures, "failures": failures, "limits": app.manifest.acceptance}
        card_path.write_text(json.dumps(card, indent=2) + "\n")
        write_model_card(app, app.model_dir, card, pipe, test)
        print(f"rewrote {app.model_dir / 'README.md'} from this evaluation", file=sys.stderr)
    if failures:
        if smoke:
            print(f"smoke run: {len(failures)} floor(s) not checked on the small data", file=sys.stderr)
            return 0
        raise AcceptanceError(f"{app.id} misses its acceptance floors: " + "; ".join(failures))
    print(f"{app.id}: all {len(app.manifest.acceptance)} acceptance floors met", file=sys.stderr)
    return 0


def _train_then_promote(app: App) -> str:
    return f"{hints.command('train', app.id)}, then {hints.command('promote', app.id)}"


def _record_evaluated_data(card: dict, drawn, test) -> None:
    """When the data differ from those the model was trained and tested on (e.g. a fixed generator redrew every
    split), the card says so: its int8 figures are on these held-out recordings, its float figures, int8 drop and
    training curves are training's, on the older data."""
    trained = card.get("dataset", {}).get("sha256")
    sha = data_sha256(drawn) if trained else None
    if sha is None or sha == trained:  # not recorded (an older card): nothing to compare; or the same data
        card.pop("evaluated_on", None)
        return
    card["evaluated_on"] = {"sha256": sha, "recordings": len(test), "subjects": len({r.subject for r in test}),
                            "hours": round(sum(r.duration for r in test) / 3600, 2)}


def _check_card_describes(app: App, card: dict | None, models: dict[str, bytes]) -> None:
    card_path = app.model_dir / "card.json"
    shas = {"": (card or {}).get("model_sha256")}
    shas.update({n: e.get("model_sha256") for n, e in (card or {}).get("models", {}).items()})
    for name, data in models.items():
        if shas.get(name) != hashlib.sha256(data).hexdigest():
            raise TinymlError(f"{card_path}: " + ("describes another model than " if card else "no card for ")
                              + f"{model_file(name)}; run: {_train_then_promote(app)}")
