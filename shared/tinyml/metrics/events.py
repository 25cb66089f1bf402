"""Events: sensitivity on event trials, specificity on event-free trials, false alarms per hour on long
streams, the alert latency, and their exact intervals; the same per cohort and per activity.

Recordings whose `activity` is "stream" are long continuous streams: they measure false alarms per hour.
Where the dataset names who produced what (`Recording.truth`: "event_groups", one group name per true event,
e.g. the speaker who said the command; "stream_groups", [(from_s, group)] over a stream, e.g. the speaker of
the words heard from then on), a metric's interval is a cluster bootstrap over those groups
(`cluster_intervals`): one speaker's commands, or the words of one speaker that raise false alarms, are not
independent, so intervals counting events as independent were too narrow.
A trial labelled with an event label but without an event time (a 1 s keyword-spotting clip of a command)
is neither an event trial nor an event-free one: the event metrics leave it to the window metrics (top-1).
"""

from __future__ import annotations

import numpy as np

from ..recording import Recording
from .bootstrap import cluster_bootstrap_ci

CLUSTER_RESAMPLES = 2000  # resamples of whole groups (seeded: the same recordings give the same intervals)


def event_metrics(
    recs: list[Recording], events: list[list[tuple[int, int, int]]], labels: list[str], rate: float,
    before_s: float, after_s: float, event_labels=None,
) -> dict:
    """Score predicted events (sample, label, score) against each recording's ground-truth events. The
    latency of a detected event is the time from the true event to its first matching alert (an alert is
    stamped when the device decides). event_labels: the labels that raise events; a trial with one of them
    as its label but no event time is not scored here (see the module docstring)."""
    hits = total = 0
    trials_clean = trials = 0
    stream_alarms, stream_hours = 0, 0.0
    latencies = []
    by_event_group: dict[str, list[float]] = {}  # group -> [hits, events]; None once a recording lacks groups
    by_stream_group: dict[str, list[float]] = {}  # group -> [false alarms, hours]
    grouped_events = grouped_streams = True
    for r, ev in zip(recs, events):
        pred = [(idx / rate, labels[lab]) for idx, lab, _ in ev]
        if r.activity == "stream":
            stream_hours += r.duration / 3600
            alarms = [t for t, lab in pred if not _near(t, lab, r.events, before_s, after_s)]
            stream_alarms += len(alarms)
            spans = r.truth.get("stream_groups")
            grouped_streams = grouped_streams and bool(spans)
            if grouped_streams:
                _add_stream_groups(by_stream_group, spans, alarms, r.duration)
            continue
        if r.events:
            names = r.truth.get("event_groups")
            grouped_events = grouped_events and names is not None and len(names) == len(r.events)
            for j, ((t_gt, _), t) in enumerate(match_events(r.events, pred, before_s, after_s)[0]):
                total += 1
                if grouped_events:
                    g = by_event_group.setdefault(str(names[j]), [0.0, 0.0])
                    g[0] += t is not None
                    g[1] += 1
                if t is not None:
                    hits += 1
                    latencies.append(t - t_gt)
        elif event_labels is None or r.label not in event_labels:
            trials += 1
            trials_clean += not pred
    out = {
        "sensitivity": hits / total if total else float("nan"),
        "specificity": trials_clean / trials if trials else float("nan"),
        "event_trials": total,
        "event_hits": hits,
        "event_free_trials": trials,
        "event_free_clean": trials_clean,
    }
    if latencies:
        out["latency_median_s"] = float(np.median(latencies))
        out["latency_p95_s"] = float(np.percentile(latencies, 95))
        out["latency_max_s"] = float(np.max(latencies))
    if stream_hours > 0:
        out["false_alarms_per_hour"] = stream_alarms / stream_hours
        out["false_alarms"] = stream_alarms
        out["stream_hours"] = stream_hours
    cluster = {}
    if grouped_events and total:
        cluster.update(_cluster_interval("sensitivity", by_event_group, hits == total))
    if grouped_streams and stream_hours > 0:
        cluster.update(_cluster_interval("false_alarms_per_hour", by_stream_group, False))
    if cluster:
        out["cluster_intervals"] = cluster
    return out


def _add_stream_groups(acc: dict, spans, alarms: list[float], duration: float) -> None:
    """A stream's exposure (hours) and false alarms per group: span k holds the stream from its start to the
    next span's (the first from 0, the last to the end); an alarm belongs to the span holding its time."""
    spans = sorted((float(t), str(g)) for t, g in spans)
    starts = np.asarray([t for t, _ in spans])
    ends = np.append(starts[1:], duration)
    starts[0] = 0.0
    for (_, g), a, b in zip(spans, starts, ends):
        acc.setdefault(g, [0.0, 0.0])[1] += max(b - a, 0.0) / 3600
    for t in alarms:
        k = max(int(np.searchsorted(starts, t, side="right")) - 1, 0)
        acc[spans[k][1]][0] += 1


def _cluster_interval(key: str, groups: dict, all_hit: bool, level: float = 0.95) -> dict:
    """{key: [lo, hi], key_groups: n}: the percentile interval of sum(first) / sum(second) over
    CLUSTER_RESAMPLES resamples of whole groups (metrics.cluster_bootstrap_ci, seed 0). Empty below two groups,
    and when no event was found/raised or every event was: resamples of a boundary count all give it, a
    zero-width interval; the exact interval (event_intervals) stays then."""
    names = sorted(groups)
    num = np.asarray([groups[g][0] for g in names], np.float64)
    den = np.asarray([groups[g][1] for g in names], np.float64)
    if len(names) < 2 or num.sum() == 0 or all_hit or den.sum() <= 0:
        return {}
    lo, hi = cluster_bootstrap_ci({"num": num, "den": den}, lambda s: s["num"] / np.where(s["den"] > 0, s["den"], np.nan),
                                  level=level, n_boot=CLUSTER_RESAMPLES, seed=0)
    return {key: [round(float(lo), 5), round(float(hi), 5)], f"{key}_groups": len(names)}


def headline_pool(units: list, real=None, apart=None) -> list:
    """The units (recordings, or cohorts of them) whose figures make the headline: all but those reported apart,
    narrowed to the real ones when real and generated are mixed (real ones only, or none real: all of them).
    real, apart: predicates on a unit (None: no unit is)."""
    pool = [u for u in units if apart is None or not apart(u)]
    real_units = [u for u in pool if real is not None and real(u)]
    return real_units if real_units and len(real_units) < len(pool) else pool


def event_breakdown(
    recs: list[Recording], events: list[list[tuple[int, int, int]]], peaks: list[float], labels: list[str],
    rate: float, before_s: float, after_s: float, real=None, event_labels=None, apart=None,
) -> dict:
    """The headline event metrics with, beside them, the same per cohort (`by_cohort`) and per activity of the
    headline trials (`by_activity`: trials, alerts or detections, and the highest event score each reached:
    which event-free activities come close to alerting, which events are missed).

    real: a predicate on a recording. When some held-out recordings are real (and others generated), each
    headline metric is measured on the real ones that have its material: sensitivity and specificity on real
    trials, false alarms per hour on real streams, else on all streams (`measured_on` names the cohorts).
    apart: a predicate on a recording reported per cohort only, never in the headline."""
    out_of = lambda sel: [(r, e) for r, e in zip(recs, events) if sel(r)]  # noqa: E731
    head = {id(r) for r in headline_pool(recs, real, apart)}
    head_trials = lambda r: r.activity != "stream" and id(r) in head  # noqa: E731
    pairs = out_of(head_trials)
    # the head trials hold no stream: their metrics have no false-alarm keys, which the streams' give below
    out = event_metrics([r for r, _ in pairs], [e for _, e in pairs], labels, rate, before_s, after_s, event_labels)
    # false alarms on the real streams when there are any, even where no trial is real
    head_streams = {id(r) for r in headline_pool([r for r in recs if r.activity == "stream"], real, apart)}
    streams = out_of(lambda r: id(r) in head_streams)
    if streams:
        s = event_metrics([r for r, _ in streams], [e for _, e in streams], labels, rate, before_s, after_s,
                          event_labels)
        out.update({k: s[k] for k in ("false_alarms_per_hour", "false_alarms", "stream_hours")})
        fa = {k: v for k, v in s.get("cluster_intervals", {}).items() if k.startswith("false_alarms_per_hour")}
        if fa:
            out["cluster_intervals"] = {**out.get("cluster_intervals", {}), **fa}
    cohorts = sorted({r.cohort for r in recs if r.cohort})
    if cohorts:
        out["measured_on"] = {
            "trials": sorted({r.cohort for r, _ in pairs}),
            "streams": sorted({r.cohort for r, _ in streams}),
        }
        out["by_cohort"] = {}
        for c in cohorts:
            sub = out_of(lambda r, c=c: r.cohort == c)
            out["by_cohort"][c] = {**event_metrics([r for r, _ in sub], [e for _, e in sub], labels, rate, before_s,
                                                   after_s, event_labels), "subjects": len({r.subject for r, _ in sub})}
    head = [i for i, r in enumerate(recs) if head_trials(r)]
    out["by_activity"] = _by_activity([recs[i] for i in head], [events[i] for i in head], [peaks[i] for i in head],
                                      labels, rate, before_s, after_s, event_labels)
    return out


def _by_activity(recs, events, peaks, labels, rate, before_s, after_s, event_labels=None) -> dict:
    """Per activity code of the trials (streams left out): how many, how many alerted (event-free) or were
    detected (events), and the highest event score reached (median and largest over the trials)."""
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(recs):
        if r.activity != "stream":
            groups.setdefault(r.activity, []).append(i)
    out = {}
    for code in sorted(groups):
        idx = groups[code]
        m = event_metrics([recs[i] for i in idx], [events[i] for i in idx], labels, rate, before_s, after_s, event_labels)
        p = np.asarray([peaks[i] for i in idx], np.float64)
        row = {"trials": len(idx), "peak_median": float(np.median(p)), "peak_max": float(p.max())}
        if m["event_trials"]:
            row.update(events=m["event_trials"], detected=m["event_hits"])
        if m["event_free_trials"]:
            row.update(event_free=m["event_free_trials"], alerted=m["event_free_trials"] - m["event_free_clean"])
        out[code] = row
    return out


def event_intervals(m: dict, level: float = 0.95) -> dict[str, tuple[float, float]]:
    """`level` confidence intervals of the event metrics: exact ones from the counts behind them, sensitivity and
    specificity (Clopper-Pearson over the event and the event-free trials) and false alarms per hour (Poisson
    over the alarms in the stream hours), unless the recordings named the groups the events and the stream
    time come from: then the metric's cluster-bootstrap interval (`cluster_intervals`, 95 %) replaces the exact
    one, which counts the events as independent. A few hundred commands and an hour or two of streams leave
    wide intervals: two models a few points or alarms apart may not differ at all."""
    out = {}
    n = int(m.get("event_trials", 0))
    if n and np.isfinite(m.get("sensitivity", float("nan"))):
        out["sensitivity"] = clopper_pearson(_event_hits(m), n, level)
    n = int(m.get("event_free_trials", 0))
    if n and np.isfinite(m.get("specificity", float("nan"))):
        out["specificity"] = clopper_pearson(int(m.get("event_free_clean", round(m["specificity"] * n))), n, level)
    hours = float(m.get("stream_hours", 0.0))
    if hours > 0 and "false_alarms_per_hour" in m:
        out["false_alarms_per_hour"] = poisson_rate_ci(_false_alarms(m), hours, level)
    if abs(level - 0.95) < 1e-9:
        for key, ci in m.get("cluster_intervals", {}).items():
            if key in out:
                out[key] = (float(ci[0]), float(ci[1]))
    return out


def bootstrap_groups(m: dict, key: str, level: float = 0.95) -> int | None:
    """How many groups the `level` interval of event metric `key` draws whole (a cluster bootstrap: see
    event_intervals), or None when the interval is the exact one."""
    n = m.get("cluster_intervals", {}).get(f"{key}_groups")
    return int(n) if n and abs(level - 0.95) < 1e-9 else None


def _drawn(m: dict, key: str, level: float) -> str:
    """' (cluster bootstrap over N groups)' when the interval of `key` draws groups, else ''."""
    n = bootstrap_groups(m, key, level)
    return f" (cluster bootstrap over {n} groups)" if n else ""


def poisson_rate_ci(k: int, exposure: float, level: float = 0.95) -> tuple[float, float]:
    """Exact interval of a rate: k events in `exposure` (hours, captures ...), per unit of it."""
    from scipy.stats import chi2

    a = (1 - level) / 2
    lo = float(chi2.ppf(a, 2 * k)) / 2 / exposure if k else 0.0
    return lo, float(chi2.ppf(1 - a, 2 * k + 2)) / 2 / exposure


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact interval of a proportion k / n."""
    from scipy.stats import beta

    a = (1 - level) / 2
    return (float(beta.ppf(a, k, n - k + 1)) if k else 0.0, float(beta.ppf(1 - a, k + 1, n - k)) if k < n else 1.0)


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
        parts.append(f"sensitivity {m['sensitivity']:.3f} [{lo:.3f}, {hi:.3f}] over {m['event_trials']} events"
                     + _drawn(m, "sensitivity", level))
    if "specificity" in ci:
        lo, hi = ci["specificity"]
        parts.append(f"specificity {m['specificity']:.3f} [{lo:.3f}, {hi:.3f}] over {m['event_free_trials']} "
                     "event-free trials")
    if "false_alarms_per_hour" in ci:
        lo, hi = ci["false_alarms_per_hour"]
        parts.append(f"false alarms {m['false_alarms_per_hour']:.2f} / h [{lo:.2f}, {hi:.2f}] "
                     f"({_false_alarms(m)} in {m['stream_hours']:.2f} h)" + _drawn(m, "false_alarms_per_hour", level))
    return f"{100 * level:g} % intervals: " + "; ".join(parts) if parts else ""


def match_events(truth: list[tuple], alerts: list[tuple[float, str]], before_s: float,
                 after_s: float) -> tuple[list[tuple[tuple[float, str], float | None]], list[tuple[float, str]]]:
    """Each true event (t, label) with the time of the first alert of its label from `before_s` before to
    `after_s` after it (None: missed), and the alerts that match no true event (false alarms). The rule
    every event metric and `flash`'s verdict use. A true event may be (t, label, onset) (today only demo
    truth files carry onsets, so only the demo contract and `flash` see them): a fault that is
    physically present from `onset` but named at `t`, once it has shown the evidence its label asks for (a
    probe frozen at `onset` is labelled stuck only hours later); an alert counts from the earlier of
    `onset` and t - before_s then: between the fault's onset and its label it detects a fault that is
    there, before the onset it cannot."""
    pairs = []
    for item in truth:
        t_gt, lab_gt = item[0], item[1]
        lo = _opens(item, before_s)
        found = [t for t, lab in alerts if lab == lab_gt and lo <= t <= t_gt + after_s]
        pairs.append(((t_gt, lab_gt), min(found) if found else None))
    extra = [(t, lab) for t, lab in alerts if not _near(t, lab, truth, before_s, after_s)]
    return pairs, extra


def _opens(item: tuple, before_s: float) -> float:
    """When a true event's detection window opens: before_s before it, or at its fault's onset if earlier."""
    lo = item[0] - before_s
    return min(lo, item[2]) if len(item) > 2 and item[2] is not None else lo


def _near(t, lab, truth, before_s, after_s) -> bool:
    return any(lab == g[1] and _opens(g, before_s) <= t <= g[0] + after_s for g in truth)
