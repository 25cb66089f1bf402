"""Regression: mean absolute error, root mean square error and bias, with bootstrap intervals.

Errors of nearby examples are correlated (windows of one recording, recordings of one subject), so the
interval resamples whole groups when `groups` is given (a cluster bootstrap): resampling single windows
would give intervals far too narrow. The interval is the bootstrap's percentile interval, an
approximation (no exact interval exists for a MAE); with few groups it is wide, as it should be.
"""

from __future__ import annotations

import numpy as np

from .bootstrap import cluster_bootstrap_ci


def regression_metrics(y_true, y_pred, groups=None, *, level: float = 0.95, n_boot: int = 2000,
                       seed: int = 0) -> dict:
    """{"mae", "rmse", "bias", "n", "groups", "mae_ci": [lo, hi], "rmse_ci": [lo, hi]} over every value
    (a multi-output target counts each output; bias = mean of prediction - truth). `groups`: one id per
    example (a subject, a recording), or None to resample examples."""
    t, p = np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64)
    if t.shape != p.shape:
        raise ValueError(f"truth {t.shape} and prediction {p.shape} differ in shape")
    if t.size == 0:
        nan = float("nan")
        return {"mae": nan, "rmse": nan, "bias": nan, "n": 0, "groups": 0, "mae_ci": [nan, nan], "rmse_ci": [nan, nan]}
    t, p = t.reshape(len(t), -1), p.reshape(len(p), -1)
    err = p - t
    g = np.arange(len(t)) if groups is None else np.unique(np.asarray(groups), return_inverse=True)[1].reshape(-1)
    n_g = int(g.max()) + 1
    # per group: sum |e|, sum e^2, count, so that a bootstrap sample is a weighted sum over groups
    abs_g = np.bincount(g, np.abs(err).sum(1), n_g)
    sq_g = np.bincount(g, (err ** 2).sum(1), n_g)
    cnt_g = np.bincount(g, np.full(len(g), err.shape[1], np.float64), n_g)
    parts = {"abs": abs_g, "sq": sq_g, "cnt": cnt_g}
    mae_ci = cluster_bootstrap_ci(parts, lambda s: s["abs"] / np.maximum(s["cnt"], 1), level=level,
                                  n_boot=n_boot, seed=seed)
    rmse_ci = cluster_bootstrap_ci(parts, lambda s: np.sqrt(s["sq"] / np.maximum(s["cnt"], 1)), level=level,
                                   n_boot=n_boot, seed=seed)
    return {
        "mae": float(np.abs(err).mean()),
        "rmse": float(np.sqrt((err ** 2).mean())),
        "bias": float(err.mean()),
        "n": int(len(t)),
        "groups": n_g,
        "mae_ci": [float(v) for v in mae_ci],
        "rmse_ci": [float(v) for v in rmse_ci],
    }


def median_ci(values, *, level: float = 0.95) -> tuple[float, float]:
    """Distribution-free interval for a median from its sample's order statistics: [x_(k), x_(n+1-k)] with the
    largest k whose binomial(n, 1/2) tail P(B < k) stays within (1 - level) / 2 (exact coverage >= level; NaN
    when n is too small for any k, n < 6 at 95 %). One value per independent unit (a machine, a run)."""
    from scipy.stats import binom

    x = np.sort(np.asarray(values, np.float64).reshape(-1))
    n = len(x)
    a = (1 - level) / 2
    k = 0
    while k + 1 <= n and binom.cdf(k, n, 0.5) <= a:  # P(B <= k) = P(B < k + 1)
        k += 1
    if k == 0:
        return float("nan"), float("nan")
    return float(x[k - 1]), float(x[n - k])
