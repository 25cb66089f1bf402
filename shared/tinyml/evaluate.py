"""The field's metrics: window classification (confusion, balanced accuracy, macro-F1) and events
(sensitivity on event trials, specificity on event-free trials, false alarms per hour on long streams).

Recordings whose `activity` is "stream" are long continuous streams: they measure false alarms per hour.
"""

from __future__ import annotations

import hashlib
import json
import sys

import numpy as np

from .apps import App
from .errors import AcceptanceError, TinymlError
from .recording import Recording


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> np.ndarray:
    cm = np.zeros((n, n), np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def window_metrics(y_true: np.ndarray, y_pred: np.ndarray, labels: list[str]) -> dict:
    cm = confusion(y_true, y_pred, len(labels))
    recall = np.diag(cm) / np.maximum(cm.sum(1), 1)
    precision = np.diag(cm) / np.maximum(cm.sum(0), 1)
    f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0)
    present = cm.sum(1) > 0
    return {
        "accuracy": float(np.trace(cm) / max(cm.sum(), 1)),
        "balanced_accuracy": float(recall[present].mean()) if present.any() else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "confusion": cm.tolist(),
        "windows": int(cm.sum()),
    }


def event_metrics(
    recs: list[Recording], events: list[list[tuple[int, int, int]]], labels: list[str], rate: float,
    before_s: float, after_s: float,
) -> dict:
    """Score predicted events (sample, label, score) against each recording's ground-truth events."""
    hits = total = 0
    trials_clean = trials = 0
    stream_alarms, stream_hours = 0, 0.0
    for r, ev in zip(recs, events):
        pred = [(idx / rate, labels[lab]) for idx, lab, _ in ev]
        if r.activity == "stream":
            stream_hours += r.duration / 3600
            stream_alarms += sum(1 for t, lab in pred if not _near_truth(t, lab, r, before_s, after_s))
            continue
        if r.events:
            for t_gt, lab_gt in r.events:
                total += 1
                if any(lab == lab_gt and t_gt - before_s <= t <= t_gt + after_s for t, lab in pred):
                    hits += 1
        else:
            trials += 1
            trials_clean += not pred
    out = {
        "sensitivity": hits / total if total else float("nan"),
        "specificity": trials_clean / trials if trials else float("nan"),
        "event_trials": total,
        "event_hits": hits,
        "event_free_trials": trials,
    }
    if stream_hours > 0:
        out["false_alarms_per_hour"] = stream_alarms / stream_hours
        out["false_alarms"] = stream_alarms
        out["stream_hours"] = stream_hours
    return out


def event_intervals(m: dict, level: float = 0.95) -> dict[str, tuple[float, float]]:
    """Exact `level` confidence intervals of the event metrics, from the counts behind them: sensitivity
    (Clopper-Pearson over the event trials) and false alarms per hour (Poisson over the alarms in the
    stream hours). A few hundred commands and an hour or two of streams leave wide intervals: two models
    a few points or alarms apart may not differ at all."""
    from scipy.stats import beta, chi2

    a = (1 - level) / 2
    out = {}
    n = int(m.get("event_trials", 0))
    if n and np.isfinite(m.get("sensitivity", float("nan"))):
        k = _event_hits(m)
        out["sensitivity"] = (float(beta.ppf(a, k, n - k + 1)) if k else 0.0,
                              float(beta.ppf(1 - a, k + 1, n - k)) if k < n else 1.0)
    hours = float(m.get("stream_hours", 0.0))
    if hours > 0 and "false_alarms_per_hour" in m:
        k = _false_alarms(m)
        out["false_alarms_per_hour"] = (float(chi2.ppf(a, 2 * k)) / 2 / hours if k else 0.0,
                                        float(chi2.ppf(1 - a, 2 * k + 2)) / 2 / hours)
    return out


def _event_hits(m: dict) -> int:
    """The events detected (cards older than the count: from the sensitivity and the trials)."""
    return int(m.get("event_hits", round(m["sensitivity"] * m["event_trials"])))


def _false_alarms(m: dict) -> int:
    """The alarms counted in the streams (cards older than the count: from the rate and the hours)."""
    return int(m.get("false_alarms", round(m["false_alarms_per_hour"] * m["stream_hours"])))


def format_intervals(m: dict, level: float = 0.95) -> str:
    """One line for people: each event metric with its interval and the counts it rests on ("" when none)."""
    ci = event_intervals(m, level)
    parts = []
    if "sensitivity" in ci:
        lo, hi = ci["sensitivity"]
        parts.append(f"sensitivity {m['sensitivity']:.3f} [{lo:.3f}, {hi:.3f}] over {m['event_trials']} events")
    if "false_alarms_per_hour" in ci:
        lo, hi = ci["false_alarms_per_hour"]
        parts.append(f"false alarms {m['false_alarms_per_hour']:.2f} / h [{lo:.2f}, {hi:.2f}] "
                     f"({_false_alarms(m)} in {m['stream_hours']:.2f} h)")
    return f"{100 * level:g} % intervals: " + "; ".join(parts) if parts else ""


def _near_truth(t, lab, r, before_s, after_s) -> bool:
    return any(lab == g and tg - before_s <= t <= tg + after_s for tg, g in r.events)


def int8_drop(float_m: dict, int8_m: dict, keys=("sensitivity", "specificity", "balanced_accuracy")) -> float:
    """Largest loss, in percentage points, from float to int8 over the rate metrics."""
    drops = [100 * (float_m[k] - int8_m[k]) for k in keys if k in float_m and k in int8_m
             and np.isfinite(float_m[k]) and np.isfinite(int8_m[k])]
    return max(drops, default=0.0)


def check_acceptance(app: App, metrics: dict) -> list[str]:
    """Compare metrics with [acceptance]; return one line per floor missed (max_* keys are ceilings)."""
    failures = []
    for key, limit in app.manifest.acceptance.items():
        name = key[4:] if key.startswith("max_") else key
        if name not in metrics:
            failures.append(f"{key}: no such metric in the evaluation")
            continue
        v = metrics[name]
        ok = v <= limit if key.startswith("max_") else v >= limit
        if not ok:
            failures.append(f"{name} = {v:.4g} {'>' if key.startswith('max_') else '<'} {limit:g}")
    return failures


def eval_committed(app: App, smoke: bool = False, rewrite_card: bool = False) -> int:
    """Re-evaluate the committed int8 model on the held-out split; exit 1 when a floor is missed.
    rewrite_card: also rewrite its model card (int8 metrics, acceptance, plots, text) after a change to the
    card, [postprocess] or the evaluation. The float metrics, the int8 drop and the training curves stay
    those training measured: the float model is not committed."""
    from .train import evaluate_int8, load_splits, round_metrics

    if not app.tflite_path.is_file():
        raise TinymlError(f"{app.tflite_path}: no committed model; run: make app={app.id} train")
    if rewrite_card and smoke:
        raise TinymlError("--card rewrites the committed model card from the full held-out split; drop --smoke")
    model_bytes = app.tflite_path.read_bytes()
    card_path = app.model_dir / "card.json"
    card = json.loads(card_path.read_text()) if card_path.is_file() else None
    if rewrite_card and (card or {}).get("model_sha256") != hashlib.sha256(model_bytes).hexdigest():
        raise TinymlError(f"{card_path}: " + ("describes another model than " if card else "no card for ")
                          + f"{app.tflite_path.name}; run: make app={app.id} train")
    _, _, test = load_splits(app, smoke=smoke)
    metrics = evaluate_int8(app, model_bytes, test)
    metrics["model_bytes"] = len(model_bytes)
    if card is not None:
        metrics["int8_drop"] = card.get("metrics", {}).get("int8_drop", 0.0)
    print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in metrics.items() if k != "confusion"}))
    if line := format_intervals(metrics):
        print(line, file=sys.stderr)
    failures = check_acceptance(app, metrics)
    if rewrite_card:
        from .predict import Pipeline
        from .report import write_model_card

        card["metrics"]["int8"] = round_metrics(metrics)
        card["acceptance"] = {"met": not failures, "failures": failures}
        card_path.write_text(json.dumps(card, indent=2) + "\n")
        write_model_card(app, app.model_dir, card, None, Pipeline(app, model_bytes), test)
        print(f"rewrote {app.model_dir / 'README.md'} from this evaluation", file=sys.stderr)
    if failures:
        if smoke:
            print(f"smoke run: {len(failures)} floor(s) not checked on the small data", file=sys.stderr)
            return 0
        raise AcceptanceError(f"{app.id} misses its acceptance floors: " + "; ".join(failures))
    print(f"{app.id}: all {len(app.manifest.acceptance)} acceptance floors met", file=sys.stderr)
    return 0
