"""Cluster bootstrap: percentile intervals of a statistic of sums when whole groups are resampled.

Nearby examples are correlated (windows of one recording, recordings of one site), so an interval must
resample groups, not examples. Every statistic here is a function of per-group sums (an MAE is the sum of
errors over the sum of counts, an F1 is made of true/false positive counts), so a bootstrap sample is a
multinomial weighting of the groups' sums: one matrix product, no loop.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def bootstrap_weights(n_groups: int, n_boot: int = 2000, seed: int = 0, strata=None) -> np.ndarray:
    """(n_boot, n_groups): how many times each group is drawn in each bootstrap sample. With `strata` (one label
    per group), each stratum's groups are drawn among themselves, as many as it has (a stratified bootstrap:
    e.g. the talkers of each class, so that every class keeps its share)."""
    rng = np.random.default_rng(seed)
    if strata is None:
        return rng.multinomial(n_groups, np.full(n_groups, 1 / n_groups), size=n_boot).astype(np.float64)
    strata = np.asarray(strata)
    if len(strata) != n_groups:
        raise ValueError(f"bootstrap_weights: {len(strata)} strata labels for {n_groups} groups")
    w = np.zeros((n_boot, n_groups))
    for s in np.unique(strata):
        idx = np.flatnonzero(strata == s)
        w[:, idx] = rng.multinomial(len(idx), np.full(len(idx), 1 / len(idx)), size=n_boot)
    return w


def cluster_bootstrap_ci(parts: dict[str, np.ndarray], stat: Callable[[dict[str, np.ndarray]], np.ndarray], *,
                         level: float = 0.95, n_boot: int = 2000, seed: int = 0, strata=None) -> np.ndarray:
    """Percentile interval of `stat` over group resamples. `parts[name]`: each group's sum of a quantity,
    shape (n_groups,) or (n_groups, k); `stat(sums)` gets the resampled sums (n_boot, ...) and returns one
    value per sample (n_boot, ...). Returns [lo, hi] (shape (2, ...)); samples where stat is NaN are left out.
    `strata`: resample within each stratum (bootstrap_weights)."""
    first = np.asarray(next(iter(parts.values())))
    w = bootstrap_weights(len(first), n_boot, seed, strata)
    vals = np.asarray(stat({k: w @ np.asarray(v, np.float64) for k, v in parts.items()}), np.float64)
    a = (1 - level) / 2
    if np.isnan(vals).all():
        return np.full((2,) + vals.shape[1:], np.nan)
    return np.nanquantile(vals, [a, 1 - a], axis=0)
