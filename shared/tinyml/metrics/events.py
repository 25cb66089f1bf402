"""Events: sensitivity on event trials, specificity on event-free trials, false alarms per hour on long
streams, and their exact intervals.

Recordings whose `activity` is "stream" are long continuous streams: they measure false alarms per hour.
"""

from __future__ import annotations

import numpy as np

from ..recording import Recording


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
