"""Window classification: confusion matrix, accuracy, balanced accuracy (mean recall), macro-F1."""

from __future__ import annotations

import numpy as np

from .bootstrap import cluster_bootstrap_ci


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


def macro_f1_ci(y_true: np.ndarray, y_pred: np.ndarray, groups, n: int, *, level: float = 0.95,
                n_boot: int = 2000, seed: int = 0) -> np.ndarray:
    """Cluster-bootstrap interval [lo, hi] of the macro-F1 over the classes present in y_true, resampling
    whole groups (the recordings the windows come from: their windows are not independent)."""
    y_true, y_pred = np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)
    _, g = np.unique(np.asarray(groups), return_inverse=True)
    tp, fp, fn = (np.zeros((g.max() + 1, n)) for _ in range(3))
    np.add.at(tp, (g, y_true), y_true == y_pred)
    np.add.at(fp, (g, y_pred), y_true != y_pred)
    np.add.at(fn, (g, y_true), y_true != y_pred)

    def stat(s):  # over the classes present in each resample, as window_metrics does
        f1 = 2 * s["tp"] / np.maximum(2 * s["tp"] + s["fp"] + s["fn"], 1e-12)
        present = s["tp"] + s["fn"] > 0
        return (f1 * present).sum(axis=1) / np.maximum(present.sum(axis=1), 1)

    return cluster_bootstrap_ci({"tp": tp, "fp": fp, "fn": fn}, stat, level=level, n_boot=n_boot, seed=seed)
