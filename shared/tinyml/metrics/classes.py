"""Window classification: confusion matrix, accuracy, balanced accuracy (mean recall), macro-F1, and their
cluster-bootstrap intervals over the groups the windows come from (recordings, subjects)."""

from __future__ import annotations

import warnings

import numpy as np

from .bootstrap import cluster_bootstrap_ci

WINDOW_INTERVALS = ("macro_f1", "accuracy", "balanced_accuracy")  # the window metrics given an interval
_SHOWN = {"macro_f1": "macro-F1", "balanced_accuracy": "balanced accuracy"}  # names as the card prints them


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> np.ndarray:
    cm = np.zeros((n, n), np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def window_metrics(y_true: np.ndarray, y_pred: np.ndarray, labels: list[str], groups=None, *, level: float = 0.95,
                   n_boot: int = 2000, seed: int = 0) -> dict:
    """Accuracy, balanced accuracy, macro-F1 (over the classes present in y_true), the confusion matrix.
    groups: one id per window (its recording, subject...): adds each figure's cluster-bootstrap interval
    (window_intervals); the figures themselves do not depend on it."""
    cm = confusion(y_true, y_pred, len(labels))
    recall = np.diag(cm) / np.maximum(cm.sum(1), 1)
    precision = np.diag(cm) / np.maximum(cm.sum(0), 1)
    f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0)
    present = cm.sum(1) > 0
    out = {
        "accuracy": float(np.trace(cm) / max(cm.sum(), 1)),
        "balanced_accuracy": float(recall[present].mean()) if present.any() else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "confusion": cm.tolist(),
        "windows": int(cm.sum()),
    }
    if groups is not None:
        out.update(window_intervals(y_true, y_pred, groups, len(labels), level=level, n_boot=n_boot, seed=seed))
    return out


def _group_counts(y_true, y_pred, groups, n: int) -> tuple[dict[str, np.ndarray], int]:
    """Each group's true positive, false positive and false negative counts per class ((n_groups, n) each),
    and the number of groups: every window metric is a function of their sums."""
    y_true, y_pred = np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)
    if len(y_true) != len(np.asarray(groups)):
        raise ValueError(f"{len(y_true)} windows but {len(np.asarray(groups))} group ids")
    _, g = np.unique(np.asarray(groups), return_inverse=True)
    g = g.reshape(-1)
    tp, fp, fn = (np.zeros((g.max() + 1 if len(g) else 0, n)) for _ in range(3))
    np.add.at(tp, (g, y_true), y_true == y_pred)
    np.add.at(fp, (g, y_pred), y_true != y_pred)
    np.add.at(fn, (g, y_true), y_true != y_pred)
    return {"tp": tp, "fp": fp, "fn": fn}, len(tp)


def _class_f1(s):
    """F1 per class of (resampled) sums, NaN for a class absent from the truth (it has no F1)."""
    support = s["tp"] + s["fn"]
    f1 = 2 * s["tp"] / np.maximum(2 * s["tp"] + s["fp"] + s["fn"], 1e-12)
    return np.where(support > 0, f1, np.nan)


def _macro_f1(s):  # over the classes present in each resample, as window_metrics does
    f1, present = _class_f1(s), s["tp"] + s["fn"] > 0
    return np.where(present, f1, 0).sum(axis=-1) / np.maximum(present.sum(axis=-1), 1)


def _accuracy(s):
    return s["tp"].sum(axis=-1) / np.maximum((s["tp"] + s["fn"]).sum(axis=-1), 1)


def _balanced_accuracy(s):
    support = s["tp"] + s["fn"]
    present = support > 0
    recall = s["tp"] / np.maximum(support, 1)
    return np.where(present, recall, 0).sum(axis=-1) / np.maximum(present.sum(axis=-1), 1)


def window_intervals(y_true, y_pred, groups, n: int, *, level: float = 0.95, n_boot: int = 2000,
                     seed: int = 0) -> dict:
    """Cluster-bootstrap percentile intervals of the window metrics, resampling whole groups (the windows of
    one recording are not independent; resampling windows would give intervals far too narrow):
    {"macro_f1_ci", "accuracy_ci", "balanced_accuracy_ci": [lo, hi], "f1_ci": per class [lo, hi] (None for a
    class absent from y_true), "window_groups": how many groups, "interval_level": level}; NaN (None) below
    two groups. One seed: the same windows give the same intervals."""
    parts, n_groups = _group_counts(y_true, y_pred, groups, n)
    nan = [float("nan")] * 2
    out: dict = {f"{k}_ci": nan for k in WINDOW_INTERVALS}
    out.update(f1_ci=[None] * n, window_groups=n_groups, interval_level=level)
    if n_groups < 2:  # resampling one group always draws the same windows: no interval, not a zero-width one
        return out
    stats = {"macro_f1": _macro_f1, "accuracy": _accuracy, "balanced_accuracy": _balanced_accuracy}
    for k, stat in stats.items():
        lo, hi = cluster_bootstrap_ci(parts, stat, level=level, n_boot=n_boot, seed=seed)
        out[f"{k}_ci"] = [float(lo), float(hi)]
    present = parts["tp"].sum(0) + parts["fn"].sum(0) > 0
    with warnings.catch_warnings():  # a class present overall can be absent from a resample: NaN, left out
        warnings.simplefilter("ignore", RuntimeWarning)
        ci = cluster_bootstrap_ci(parts, _class_f1, level=level, n_boot=n_boot, seed=seed)
    out["f1_ci"] = [[float(ci[0, j]), float(ci[1, j])] if present[j] else None for j in range(n)]
    return out


def macro_f1_ci(y_true: np.ndarray, y_pred: np.ndarray, groups, n: int, *, level: float = 0.95,
                n_boot: int = 2000, seed: int = 0) -> np.ndarray:
    """Cluster-bootstrap interval [lo, hi] of the macro-F1 over the classes present in y_true, resampling
    whole groups (the recordings the windows come from: their windows are not independent)."""
    parts, _ = _group_counts(y_true, y_pred, groups, n)
    return cluster_bootstrap_ci(parts, _macro_f1, level=level, n_boot=n_boot, seed=seed)


def weakest_f1_ci(y_true: np.ndarray, y_pred: np.ndarray, groups, n: int, classes=None, *, level: float = 0.95,
                  n_boot: int = 2000, seed: int = 0) -> np.ndarray:
    """Cluster-bootstrap interval [lo, hi] of the weakest F1 among `classes` (default: all n), each resample
    taking the minimum over the classes present in it (as f1_ci, a class absent from a resample has no F1
    there). The weakest class can differ between resamples, so this interval is not the weakest class's own
    f1_ci: its upper end can sit below it."""
    parts, _ = _group_counts(y_true, y_pred, groups, n)
    idx = list(range(n)) if classes is None else [int(c) for c in classes]

    def weakest(s):
        return np.nanmin(_class_f1(s)[..., idx], axis=-1)

    with warnings.catch_warnings():  # a resample holding none of the classes: NaN, left out
        warnings.simplefilter("ignore", RuntimeWarning)
        return cluster_bootstrap_ci(parts, weakest, level=level, n_boot=n_boot, seed=seed)


def format_window_intervals(m: dict) -> str:
    """One line for people: the window metrics with their intervals and what was resampled ("" when none)."""
    parts = [f"{_SHOWN.get(k, k)} {m[k]:.3f} [{m[k + '_ci'][0]:.3f}, {m[k + '_ci'][1]:.3f}]"
             for k in WINDOW_INTERVALS if _has_interval(m, k)]
    if not parts:
        return ""
    level = float(m.get("interval_level", 0.95))
    return (f"{100 * level:g} % intervals of the window metrics (cluster bootstrap over the "
            f"{m.get('window_groups', '?')} held-out {m.get('window_groups_by', 'groups')} their "
            f"{m.get('windows', '?')} windows come from): " + "; ".join(parts))


def _has_interval(m: dict, k: str) -> bool:
    ci = m.get(k + "_ci")
    return (isinstance(m.get(k), (int, float)) and isinstance(ci, list) and len(ci) == 2
            and all(isinstance(v, (int, float)) and np.isfinite(v) for v in ci))
