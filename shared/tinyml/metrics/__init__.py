"""The field's metrics, as plain functions of labels, predictions and scores (no app, no model):

- classes: window classification (confusion matrix, accuracy, balanced accuracy, macro-F1) with
  cluster-bootstrap intervals over the recordings the windows come from;
- events: event sensitivity, specificity on event-free trials, false alarms per hour on long streams,
  with exact intervals (Clopper-Pearson, Poisson);
- regression: MAE, RMSE and bias with bootstrap intervals over recordings or subjects, and the order-statistic
  interval of a median;
- bootstrap: the cluster bootstrap those intervals use, for any statistic of per-group sums;
- anomaly: ROC AUC with a DeLong interval.
"""

from .anomaly import auc_metrics, roc_auc, roc_curve
from .bootstrap import cluster_bootstrap_ci
from .classes import (WINDOW_INTERVALS, confusion, format_window_intervals, macro_f1_ci, weakest_f1_ci,
                      window_intervals, window_metrics)
from .events import (bootstrap_groups, clopper_pearson, event_breakdown, event_intervals, event_metrics, format_intervals,
                     headline_pool, match_events, poisson_rate_ci)
from .regression import median_ci, regression_metrics


def round_metrics(d: dict) -> dict:
    """Metrics as a card stores them: floats (also inside lists) to 5 decimals."""

    def r(v):
        if isinstance(v, float):
            return round(v, 5)
        if isinstance(v, list):
            return [r(x) for x in v]
        return v

    return {k: r(v) for k, v in d.items()}


__all__ = ["WINDOW_INTERVALS", "auc_metrics", "bootstrap_groups", "clopper_pearson", "cluster_bootstrap_ci", "confusion",
           "event_breakdown", "event_intervals", "event_metrics", "format_intervals", "format_window_intervals",
           "headline_pool", "macro_f1_ci", "match_events", "median_ci", "poisson_rate_ci", "regression_metrics", "roc_auc", "roc_curve",
           "round_metrics", "weakest_f1_ci", "window_intervals", "window_metrics"]
