"""Core metrics beyond classification and events: regression (MAE, RMSE, bias with cluster-bootstrap
intervals) and anomaly detection (ROC AUC with a DeLong interval): textbook values, and intervals that
hold the truth about as often as they claim."""

from __future__ import annotations

import numpy as np
import pytest

from tinyml.metrics import auc_metrics, regression_metrics, roc_auc, roc_curve, round_metrics


def test_regression_metrics_values():
    m = regression_metrics([1.0, 2.0, 3.0, 4.0], [1.5, 1.0, 3.0, 6.0])
    assert m["mae"] == pytest.approx((0.5 + 1 + 0 + 2) / 4)
    assert m["rmse"] == pytest.approx(np.sqrt((0.25 + 1 + 0 + 4) / 4))
    assert m["bias"] == pytest.approx((0.5 - 1 + 0 + 2) / 4)
    assert m["n"] == 4 and m["groups"] == 4
    lo, hi = m["mae_ci"]
    assert lo <= m["mae"] <= hi
    two = regression_metrics(np.zeros((3, 2)), np.ones((3, 2)))  # multi-output: every value counts
    assert two["mae"] == 1.0 and two["mae_ci"] == [1.0, 1.0]
    with pytest.raises(ValueError):
        regression_metrics(np.zeros(3), np.zeros(4))
    assert np.isnan(regression_metrics(np.zeros((0, 1)), np.zeros((0, 1)))["mae"])


def test_cluster_bootstrap_is_wider_than_pretending_windows_are_independent():
    """Windows of one subject share its error: resampling subjects gives the honest (wider) interval."""
    rng = np.random.default_rng(0)
    subject_bias = rng.normal(0, 1.0, 20)
    groups = np.repeat(np.arange(20), 50)
    truth = rng.normal(0, 1, len(groups))
    pred = truth + subject_bias[groups] + rng.normal(0, 0.1, len(groups))
    naive = regression_metrics(truth, pred)
    honest = regression_metrics(truth, pred, groups)
    width = lambda m: m["mae_ci"][1] - m["mae_ci"][0]  # noqa: E731
    assert honest["groups"] == 20 and width(honest) > 3 * width(naive)


def test_regression_interval_covers_the_true_mae():
    rng = np.random.default_rng(1)
    true_mae = np.sqrt(2 / np.pi)  # E|N(0, 1)|
    held = 0
    for k in range(200):
        lo, hi = regression_metrics(np.zeros(300), rng.normal(0, 1, 300), n_boot=500, seed=k)["mae_ci"]
        held += lo <= true_mae <= hi
    assert 0.90 <= held / 200 <= 0.99


def _auc_pairs(y, s):
    pos, neg = s[y], s[~y]
    return np.mean([(p > n) + 0.5 * (p == n) for p in pos for n in neg])


def test_auc_equals_pair_counting_with_ties():
    rng = np.random.default_rng(2)
    y = rng.random(120) < 0.3
    s = np.round(rng.normal(y * 0.8, 1.0), 1)  # rounded: many ties
    assert roc_auc(y, s) == pytest.approx(_auc_pairs(y, s))
    assert roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]) == 1.0
    assert roc_auc([1, 1, 0, 0], [0.1, 0.2, 0.3, 0.4]) == 0.0
    assert np.isnan(roc_auc([1, 1], [0.1, 0.2]))
    m = auc_metrics([0, 0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4, 0.5])  # complete separation: a bound, not [1, 1]
    assert m["auc"] == 1.0 and 0 < m["auc_ci"][0] < 1 and m["auc_ci"][1] == 1.0
    fpr, tpr, _ = roc_curve(y, s)
    assert fpr[0] == tpr[0] == 0 and fpr[-1] == tpr[-1] == 1
    assert np.trapezoid(tpr, fpr) == pytest.approx(roc_auc(y, s))


def test_delong_interval_covers_the_true_auc():
    """Binormal scores with separation d: the true AUC is Phi(d / sqrt(2))."""
    from scipy.stats import norm

    rng = np.random.default_rng(3)
    d = 1.2
    true_auc = norm.cdf(d / np.sqrt(2))
    held = 0
    for _ in range(300):
        y = np.r_[np.ones(60, bool), np.zeros(140, bool)]
        s = rng.normal(0, 1, 200) + d * y
        lo, hi = auc_metrics(y, s)["auc_ci"]
        held += lo <= true_auc <= hi
    assert 0.91 <= held / 300 <= 0.99


def test_grouped_auc_pair_counts_reweight_like_repeated_groups():
    """A resample that draws group g w_g times has the AUC of the data with group g repeated w_g times;
    the pair-count matrix gives it without re-sorting (and all ones gives the plain AUC)."""
    from tinyml.metrics.anomaly import _pair_counts

    rng = np.random.default_rng(5)
    g = rng.integers(0, 6, 150)
    y = rng.random(150) < 0.4
    s = np.round(rng.normal(y * 0.7 + g * 0.1, 1.0), 1)
    pairs = _pair_counts(y, s, g, 6)
    pos, neg = np.bincount(g[y], minlength=6), np.bincount(g[~y], minlength=6)
    ones = np.ones(6)
    assert ones @ pairs @ ones / (pos.sum() * neg.sum()) == pytest.approx(roc_auc(y, s))
    w = np.array([2, 0, 1, 3, 0, 1])
    keep = np.concatenate([np.flatnonzero(g == k).repeat(1) for k in range(6) for _ in range(w[k])])
    assert w @ pairs @ w / ((w @ pos) * (w @ neg)) == pytest.approx(roc_auc(y[keep], s[keep]))


def test_grouped_auc_interval_widens_when_groups_are_alike_inside():
    """Captures of one machine share its level: resampling captures (DeLong) is too narrow, resampling
    machines is not; the method is named; a group id per example is required."""
    rng = np.random.default_rng(6)
    machines = np.repeat(np.arange(12), 40)
    y = np.tile(np.r_[np.zeros(30, bool), np.ones(10, bool)], 12)
    s = rng.normal(0, 1, 12)[machines] + rng.normal(0, 0.3, len(y)) + 1.0 * y
    plain, grouped = auc_metrics(y, s), auc_metrics(y, s, groups=machines)
    assert plain["auc"] == grouped["auc"]
    assert plain["auc_ci_method"] == "DeLong" and grouped["auc_ci_method"] == "cluster bootstrap over 12 groups"
    width = lambda m: m["auc_ci"][1] - m["auc_ci"][0]
    assert grouped["auc_ci"][0] <= grouped["auc"] <= grouped["auc_ci"][1]
    assert width(grouped) > 1.5 * width(plain)
    with pytest.raises(ValueError, match="group ids"):
        auc_metrics(y, s, groups=machines[:-1])


def test_grouped_auc_interval_at_the_edges():
    """A complete separation gives the exact bound over groups (not the point [1, 1] every resample gives);
    positives in one group only leave nothing to resample: DeLong, named so."""
    y = np.tile(np.r_[np.zeros(8, bool), np.ones(4, bool)], 10)
    s = y + np.linspace(0, 0.5, len(y))
    machines = np.repeat(np.arange(10), 12)
    lo, hi = auc_metrics(y, s, groups=machines)["auc_ci"]
    assert hi == 1.0 and lo == pytest.approx(0.025 ** (1 / 10)) and lo < 1
    one = np.where(y, 0, 1 + np.arange(len(y)) % 5)  # every positive in group 0
    rng = np.random.default_rng(7)
    noisy = rng.normal(0, 1, len(y)) + y
    m = auc_metrics(y, noisy, groups=one)
    assert m["auc_ci_method"].startswith("DeLong (positives in 1, negatives in 5 groups")
    assert m["auc_ci"] == auc_metrics(y, noisy)["auc_ci"]


def test_round_metrics_rounds_inside_intervals():
    assert round_metrics({"mae": 0.1234567, "mae_ci": [0.1111111, 0.2222222], "n": 3}) == {
        "mae": 0.12346, "mae_ci": [0.11111, 0.22222], "n": 3}


def test_cluster_bootstrap_resamples_whole_groups():
    """The interval of a ratio of group sums: zero width when every group is alike, wide when one group
    differs (resampling groups, not examples), and one interval per column for a vector statistic."""
    from tinyml.metrics import cluster_bootstrap_ci

    same = {"err": np.full(10, 3.0), "n": np.full(10, 2.0)}
    lo, hi = cluster_bootstrap_ci(same, lambda s: s["err"] / s["n"])
    assert lo == hi == 1.5
    odd = {"err": np.array([3.0] * 9 + [30.0]), "n": np.full(10, 2.0)}
    lo, hi = cluster_bootstrap_ci(odd, lambda s: s["err"] / s["n"])
    assert lo < (3 * 9 + 30) / 20 < hi and hi - lo > 1.0
    tp = np.array([[5.0, 1.0]] * 8)
    ci = cluster_bootstrap_ci({"tp": tp}, lambda s: s["tp"] / 8)
    assert ci.shape == (2, 2) and np.allclose(ci, [[5.0, 1.0], [5.0, 1.0]])


def test_stratified_bootstrap_draws_each_stratum_from_itself():
    """With strata, every resample draws as many groups from each stratum as it has, and none from another (each
    class keeps its talkers); without, the draws are those every interval already used (its figures unchanged)."""
    from tinyml.metrics import cluster_bootstrap_ci
    from tinyml.metrics.bootstrap import bootstrap_weights

    strata = np.array(["a"] * 3 + ["b"] * 5 + ["c"] * 1)
    w = bootstrap_weights(len(strata), 500, seed=3, strata=strata)
    for s in "abc":
        assert (w[:, strata == s].sum(axis=1) == (strata == s).sum()).all()
    assert (w[:, strata == "c"] == 1).all() and w[:, strata == "b"].std() > 0
    plain = np.random.default_rng(3).multinomial(9, np.full(9, 1 / 9), size=500)
    assert np.array_equal(bootstrap_weights(9, 500, seed=3), plain)
    # the groups drawn from stratum a, per its size: always 1 when drawn within strata, not when drawn from all
    parts = {"a": (strata == "a").astype(float)}
    lo, hi = cluster_bootstrap_ci(parts, lambda s: s["a"] / 3, strata=strata)
    assert lo == hi == 1.0
    lo, hi = cluster_bootstrap_ci(parts, lambda s: s["a"] / 3)
    assert lo < 1.0 < hi
    with pytest.raises(ValueError, match="2 strata labels for 9 groups"):
        bootstrap_weights(9, 10, strata=["a", "b"])


def test_macro_f1_interval_brackets_the_estimate_and_widens_with_correlated_windows():
    from tinyml.metrics import macro_f1_ci, window_metrics

    rng = np.random.default_rng(3)
    # 40 recordings of 3 classes, 20 windows each; a recording is either mostly right or mostly wrong
    y = np.repeat(np.arange(40) % 3, 20)
    groups = np.repeat(np.arange(40), 20)
    good = np.repeat(rng.random(40) < 0.8, 20)
    pred = np.where(good, y, (y + 1) % 3)
    f1 = window_metrics(y, pred, ["a", "b", "c"])["macro_f1"]
    lo, hi = macro_f1_ci(y, pred, groups, 3)
    assert lo < f1 < hi
    lo_w, hi_w = macro_f1_ci(y, pred, np.arange(len(y)), 3)  # windows taken as independent: too narrow
    assert hi - lo > 2 * (hi_w - lo_w)
    assert np.allclose(macro_f1_ci(y, y, groups, 3), 1.0)  # all right: no spread


def test_match_events_counts_from_a_faults_onset_but_not_before_it():
    """A fault present from its onset but labelled hours later (a frozen probe named stuck after 6 h of
    evidence): an alert between the onset and the label detects it; one before the onset is a false alarm."""
    from tinyml.metrics import match_events

    h = 3600.0
    truth = [(10 * h, "stuck", 4 * h)]  # frozen at 4 h, labelled at 10 h
    for t_alert in (4 * h, 6 * h, 9 * h, 14 * h):
        pairs, extra = match_events(truth, [(t_alert, "stuck")], h, 4 * h)
        assert pairs[0][1] == t_alert and not extra
    for t_alert in (3 * h, 4 * h - 1, 14 * h + 1):  # before the freeze, or past the window after the label
        pairs, extra = match_events(truth, [(t_alert, "stuck")], h, 4 * h)
        assert pairs[0][1] is None and extra == [(t_alert, "stuck")]
    pairs, extra = match_events([(10 * h, "stuck")], [(6 * h, "stuck")], h, 4 * h)  # no onset: before_s only
    assert pairs[0][1] is None and extra
    pairs, _ = match_events([(10 * h, "stuck", 9.5 * h)], [(9 * h, "stuck")], h, 4 * h)  # a later onset widens nothing
    assert pairs[0][1] == 9 * h


def _correlated_windows(n_groups: int, per_group: int = 40, seed: int = 0):
    """Windows whose errors come in recordings: each recording has its own error rate (0-50 %)."""
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(n_groups), per_group)
    y = rng.integers(0, 3, len(groups))
    wrong = rng.random(len(groups)) < rng.uniform(0, 0.5, n_groups)[groups]
    pred = np.where(wrong, (y + 1 + rng.integers(0, 2, len(y))) % 3, y)
    return y, pred, groups


def test_window_intervals_bracket_the_figures_and_leave_them_unchanged():
    from tinyml.metrics import window_metrics

    y, pred, groups = _correlated_windows(30)
    plain = window_metrics(y, pred, ["a", "b", "c"])
    m = window_metrics(y, pred, ["a", "b", "c"], groups)
    assert {k: m[k] for k in plain} == plain  # the figures are the same with or without groups
    for k in ("macro_f1", "accuracy", "balanced_accuracy"):
        lo, hi = m[k + "_ci"]
        assert lo < m[k] < hi, (k, lo, m[k], hi)
    cm = np.asarray(m["confusion"])
    for j, (lo, hi) in enumerate(m["f1_ci"]):
        f1 = 2 * cm[j, j] / (cm[j].sum() + cm[:, j].sum())
        assert lo < f1 < hi
    assert m["window_groups"] == 30
    assert window_metrics(y, pred, ["a", "b", "c"], groups) == m  # one seed: deterministic
    assert m["f1_ci"] == window_metrics(y, pred, ["a", "b", "c", "d"], groups)["f1_ci"][:3]
    assert window_metrics(y, pred, ["a", "b", "c", "d"], groups)["f1_ci"][3] is None  # no such window: no F1


def test_window_intervals_resample_recordings_not_windows():
    """Windows of one recording share its error rate: taking them as independent gives a far narrower
    interval; fewer recordings (same windows each) give a wider one; one recording gives none."""
    from tinyml.metrics import window_intervals

    y, pred, groups = _correlated_windows(40)
    width = lambda ci: ci[1] - ci[0]  # noqa: E731
    by_rec = window_intervals(y, pred, groups, 3)
    by_window = window_intervals(y, pred, np.arange(len(y)), 3)
    for k in ("macro_f1_ci", "accuracy_ci", "balanced_accuracy_ci"):
        assert width(by_window[k]) < 0.7 * width(by_rec[k]), k
    few = groups < 8
    fewer = window_intervals(y[few], pred[few], groups[few], 3)
    assert width(fewer["accuracy_ci"]) > 1.5 * width(by_rec["accuracy_ci"])
    one = window_intervals(y[groups == 0], pred[groups == 0], groups[groups == 0], 3)
    assert np.isnan(one["macro_f1_ci"]).all() and one["f1_ci"] == [None] * 3


def test_format_window_intervals_names_what_was_resampled():
    from tinyml.metrics import format_window_intervals, window_metrics

    y, pred, groups = _correlated_windows(12)
    m = window_metrics(y, pred, ["a", "b", "c"], groups)
    m["window_groups_by"] = "recordings"
    line = format_window_intervals(m)
    lo, hi = m["macro_f1_ci"]
    assert f"macro-F1 {m['macro_f1']:.3f} [{lo:.3f}, {hi:.3f}]" in line
    assert "over the 12 held-out recordings their 480 windows" in line
    assert format_window_intervals(window_metrics(y, pred, ["a", "b", "c"])) == ""  # no groups, no interval


def test_weakest_f1_interval_is_the_minimum_per_resample_over_the_classes_present():
    """The weakest class F1's interval: the minimum over classes in each resample (never above the weakest
    class's own interval), a class absent from a resample left out (not an F1 of 0), one seed."""
    from tinyml.metrics import weakest_f1_ci, window_intervals

    y, pred, groups = _correlated_windows(30)
    f1_ci = window_intervals(y, pred, groups, 3)["f1_ci"]
    lo, hi = weakest_f1_ci(y, pred, groups, 3)
    assert lo <= min(c[0] for c in f1_ci) + 1e-12 and hi <= min(c[1] for c in f1_ci) + 1e-12
    one = weakest_f1_ci(y, pred, groups, 3, classes=[1])
    assert np.allclose(one, f1_ci[1])  # one class: its own interval
    # a rare class in one recording only: most resamples lack it; they do not count as F1 0
    rare_y, rare_pred = y.copy(), pred.copy()
    rare_y[(groups == 0) & (y == 0)], rare_pred[(groups == 0) & (y == 0)] = 3, 3
    rare_y[(groups != 0) & (y == 3)] = 0
    lo4, _ = weakest_f1_ci(rare_y, rare_pred, groups, 4, classes=[3])
    assert lo4 == 1.0
    assert np.array_equal(weakest_f1_ci(y, pred, groups, 3), weakest_f1_ci(y, pred, groups, 3))


def test_poisson_rate_ci_is_the_exact_interval_of_a_rate():
    from tinyml.metrics import poisson_rate_ci

    assert poisson_rate_ci(0, 2.0) == (0.0, pytest.approx(-np.log(0.025) / 2.0))  # no event: 3.69 / exposure
    lo, hi = poisson_rate_ci(3, 2.51)  # MobiFall's daily activity: 3 false alarms in 2.51 h
    assert (round(lo, 2), round(hi, 2)) == (0.25, 3.49)
    assert poisson_rate_ci(10, 1.0, level=0.5)[1] < poisson_rate_ci(10, 1.0)[1]


def test_median_ci_order_statistics():
    from tinyml.metrics import median_ci

    # n = 17 at 95 %: the 5th and 13th of the sorted values (binomial tail 0.0245 each side)
    assert median_ci(np.arange(17.0)[::-1]) == (4.0, 12.0)
    assert median_ci(np.arange(100.0)) == (39.0, 60.0)
    lo, hi = median_ci([1.0, 2.0, 3.0, 4.0, 5.0])
    assert np.isnan(lo) and np.isnan(hi)  # five values cannot bound a median at 95 %
    rng = np.random.default_rng(0)
    cover = sum(lo <= 0.0 <= hi for lo, hi in (median_ci(rng.standard_normal(25)) for _ in range(400)))
    assert cover / 400 >= 0.93  # exact coverage is at least 95 % (sampling error allowed)
