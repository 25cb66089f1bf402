"""Anomaly detection: the ROC curve and its area (AUC) with a DeLong interval.

The AUC is the probability that an anomalous example scores higher than a normal one (ties count half),
the Mann-Whitney statistic. DeLong et al. (1988) give its variance from the examples' placements (each
positive's fraction of negatives below it, each negative's fraction of positives above it); the interval
is computed on the logit scale, so it stays inside (0, 1) near a perfect AUC. At a complete separation
the DeLong variance is 0, and the interval would shrink to a point: it is then [(a/2)^(1/min(m, n)), 1],
the exact bound for no error in min(m, n) trials (conservative).

DeLong treats the examples as independent. When they come in groups (the captures of one machine, the
windows of one recording), pass `groups`: the interval is then a cluster bootstrap over whole groups. The
AUC is a ratio of pair counts, so with C[g, h] the (tie-halved) count of positive-over-negative pairs
between group g's positives and group h's negatives, a resample drawing the groups w times has
AUC = w C w / ((w . positives) (w . negatives)): one matrix per resample, no re-sorting. A resample that
draws no group with a positive (or a negative) has no AUC and is left out (the interval is conditional on
both being drawn). With fewer than two groups holding positives or negatives there is nothing to resample:
DeLong's interval is given, and named so. At a complete separation every resample has the same AUC, so the
interval is the exact bound above with the number of groups in place of the examples (conservative).
"""

from __future__ import annotations

import numpy as np


def _placements(pos: np.ndarray, neg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each positive, the fraction of negatives it outscores (ties half), and for each negative, the
    fraction of positives that outscore it; by sorting, O((m + n) log(m + n))."""
    neg_s, pos_s = np.sort(neg), np.sort(pos)
    below = np.searchsorted(neg_s, pos, "left")
    ties = np.searchsorted(neg_s, pos, "right") - below
    v10 = (below + 0.5 * ties) / len(neg)
    above = len(pos) - np.searchsorted(pos_s, neg, "right")
    ties_n = np.searchsorted(pos_s, neg, "right") - np.searchsorted(pos_s, neg, "left")
    v01 = (above + 0.5 * ties_n) / len(pos)
    return v10, v01


def roc_auc(is_anomaly, scores) -> float:
    y = np.asarray(is_anomaly, bool)
    s = np.asarray(scores, np.float64)
    if y.all() or not y.any():
        return float("nan")
    v10, _ = _placements(s[y], s[~y])
    return float(v10.mean())


def _pair_counts(y: np.ndarray, s: np.ndarray, group_index: np.ndarray, n_groups: int) -> np.ndarray:
    """C[g, h]: pairs (positive of group g, negative of group h) the positive outscores, ties half."""
    counts = np.zeros((n_groups, n_groups))
    neg_s, neg_g = s[~y], group_index[~y]
    for h in range(n_groups):
        neg = np.sort(neg_s[neg_g == h])
        if len(neg) == 0:
            continue
        below = np.searchsorted(neg, s[y], "left")
        wins = below + 0.5 * (np.searchsorted(neg, s[y], "right") - below)
        counts[:, h] = np.bincount(group_index[y], weights=wins, minlength=n_groups)
    return counts


def _separation_bound(auc: float, m: int, n: int, level: float) -> list[float]:
    """The exact bound for no error in min(m, n) trials, at a complete separation (see the module docstring)."""
    edge = float(((1 - level) / 2) ** (1 / min(m, n)))
    return [edge, 1.0] if auc >= 0.5 else [0.0, 1 - edge]


def _cluster_auc_ci(y, s, index: np.ndarray, pos: np.ndarray, neg: np.ndarray, auc: float,
                    level: float) -> list[float]:
    """The cluster-bootstrap interval; `index`: each example's group, `pos`/`neg`: each group's counts."""
    from .bootstrap import cluster_bootstrap_ci

    if auc in (0.0, 1.0):
        return _separation_bound(auc, int((pos > 0).sum()), int((neg > 0).sum()), level)
    k = len(pos)
    pairs = _pair_counts(y, s, index, k)

    def resampled_auc(sums):
        w = sums["draws"]  # (n_boot, k): the identity's resampled sums are the draw counts themselves
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.einsum("bg,gh,bh->b", w, pairs, w) / ((w @ pos) * (w @ neg))

    lo, hi = cluster_bootstrap_ci({"draws": np.eye(k)}, resampled_auc, level=level)
    return [float(lo), float(hi)]


def auc_metrics(is_anomaly, scores, *, level: float = 0.95, groups=None) -> dict:
    """{"auc", "auc_ci": [lo, hi], "auc_ci_method", "positives", "negatives"}: the DeLong interval (logit
    scale), or with `groups` (one id per example) the cluster bootstrap over whole groups."""
    from scipy.stats import norm

    y = np.asarray(is_anomaly, bool)
    s = np.asarray(scores, np.float64)
    m, n = int(y.sum()), int((~y).sum())
    if m == 0 or n == 0:
        nan = float("nan")
        return {"auc": nan, "auc_ci": [nan, nan], "auc_ci_method": "none", "positives": m, "negatives": n}
    v10, v01 = _placements(s[y], s[~y])
    auc = float(v10.mean())
    if groups is not None:
        if len(groups) != len(y):
            raise ValueError(f"auc_metrics: {len(groups)} group ids for {len(y)} examples")
        names, index = np.unique(np.asarray(groups), return_inverse=True)
        pos = np.bincount(index[y], minlength=len(names)).astype(np.float64)
        neg = np.bincount(index[~y], minlength=len(names)).astype(np.float64)
        k_pos, k_neg = int((pos > 0).sum()), int((neg > 0).sum())
        if min(k_pos, k_neg) >= 2:
            return {"auc": auc, "auc_ci": _cluster_auc_ci(y, s, index, pos, neg, auc, level),
                    "auc_ci_method": f"cluster bootstrap over {len(names)} groups", "positives": m, "negatives": n}
        method = f"DeLong (positives in {k_pos}, negatives in {k_neg} groups: too few to resample)"
    else:
        method = "DeLong"
    var = (v10.var(ddof=1) / m if m > 1 else 0.0) + (v01.var(ddof=1) / n if n > 1 else 0.0)
    z = float(norm.ppf(1 - (1 - level) / 2))
    if 0 < auc < 1 and var > 0:
        logit = np.log(auc / (1 - auc))
        half = z * np.sqrt(var) / (auc * (1 - auc))  # delta method
        lo, hi = 1 / (1 + np.exp(-(logit - half))), 1 / (1 + np.exp(-(logit + half)))
    else:  # complete separation: the variance estimate is 0 (see the module docstring)
        lo, hi = _separation_bound(auc, m, n, level)
    return {"auc": auc, "auc_ci": [float(lo), float(hi)], "auc_ci_method": method, "positives": m, "negatives": n}


def roc_curve(is_anomaly, scores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(false positive rate, true positive rate, threshold) at every distinct score, highest first."""
    y = np.asarray(is_anomaly, bool)
    s = np.asarray(scores, np.float64)
    order = np.argsort(-s, kind="stable")
    s, y = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tp = np.cumsum(y)[last]
    fp = np.cumsum(~y)[last]
    tpr = np.r_[0.0, tp / max(int(y.sum()), 1)]
    fpr = np.r_[0.0, fp / max(int((~y).sum()), 1)]
    return fpr, tpr, np.r_[np.inf, s[last]]
