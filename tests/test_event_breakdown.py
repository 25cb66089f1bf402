"""Event metrics per cohort and per activity, headline figures from the real recordings when generated
ones are mixed in, the alert latency, and the specificity interval."""

from __future__ import annotations

import numpy as np
import pytest

from tinyml.metrics import (clopper_pearson, event_breakdown, event_intervals, event_metrics, format_intervals,
                            headline_pool)
from tinyml.recording import Recording

RATE = 10.0
LABELS = ["adl", "fall"]


def _rec(cohort, subject, activity, seconds=20.0, event_at=None):
    return Recording(np.zeros((int(seconds * RATE), 1), np.float32), RATE, ("x",), subject=subject,
                     activity=activity, cohort=cohort, label="fall" if event_at is not None else "adl",
                     events=[(event_at, "fall")] if event_at is not None else [])


def _alert(t):
    return [(int(t * RATE), 1, 100)]


def test_headline_from_real_recordings_and_breakdowns():
    recs = [
        _rec("sisfall/adult", "SA01", "F01", event_at=5.0),  # detected 2.5 s after the impact
        _rec("sisfall/adult", "SA01", "F06", event_at=5.0),  # missed
        _rec("sisfall/adult", "SA01", "D11"),  # a false alert
        _rec("sisfall/elderly", "SE02", "D11"),  # clean
        _rec("synthetic", "syn-S01", "F01", event_at=5.0),  # detected
        _rec("synthetic", "syn-S01", "D23"),  # a false alert: generated, not in the headline
        _rec("synthetic", "syn-S01", "stream", seconds=3600.0),  # one alarm in an hour
    ]
    events = [_alert(7.5), [], _alert(3.0), [], _alert(6.0), _alert(4.0), _alert(1000.0)]
    peaks = [0.99, 0.4, 0.95, 0.2, 0.98, 0.97, 0.96]
    out = event_breakdown(recs, events, peaks, LABELS, RATE, 1.0, 10.0, real=lambda r: r.cohort.startswith("sisfall"))
    assert (out["event_trials"], out["event_hits"]) == (2, 1)  # the real falls only
    assert (out["event_free_trials"], out["event_free_clean"]) == (2, 1)
    assert out["latency_median_s"] == pytest.approx(2.5)
    assert out["false_alarms"] == 1 and out["stream_hours"] == pytest.approx(1.0)  # no real streams: generated
    assert out["measured_on"] == {"trials": ["sisfall/adult", "sisfall/elderly"], "streams": ["synthetic"]}
    syn = out["by_cohort"]["synthetic"]
    assert (syn["event_hits"], syn["specificity"], syn["false_alarms"], syn["subjects"]) == (1, 0.0, 1, 1)
    assert out["by_cohort"]["sisfall/elderly"]["specificity"] == 1.0
    d11 = out["by_activity"]["D11"]
    assert (d11["trials"], d11["alerted"], d11["peak_max"]) == (2, 1, 0.95)
    assert out["by_activity"]["F06"] == {"trials": 1, "peak_median": 0.4, "peak_max": 0.4, "events": 1, "detected": 0}
    assert "stream" not in out["by_activity"] and "D23" not in out["by_activity"]  # the headline trials only


def test_sources_reported_apart_are_per_cohort_only_even_when_no_other_source_is_real():
    """Real sources in reported_apart_sources (heart: MIT-BIH and CinC beside the generator) stay out of the
    headline, which is then the generated recordings', and keep their own by_cohort figures."""
    recs = [
        _rec("mitbih", "r100", "F01", event_at=5.0),  # missed: real, reported apart
        _rec("mitbih", "r100", "D11"),  # a false alert: reported apart
        _rec("synthetic", "syn-S01", "F01", event_at=5.0),  # detected
        _rec("synthetic", "syn-S01", "D23"),  # clean
        _rec("mitbih", "r101", "stream", seconds=3600.0),  # two alarms in an hour: reported apart
        _rec("synthetic", "syn-S01", "stream", seconds=3600.0),  # none
    ]
    events = [[], _alert(3.0), _alert(6.0), [], _alert(10.0) + _alert(2000.0), []]
    apart = lambda r: r.cohort == "mitbih"  # noqa: E731
    out = event_breakdown(recs, events, [0.4, 0.9, 0.98, 0.1, 0.9, 0.1], LABELS, RATE, 1.0, 10.0,
                          real=lambda r: False, apart=apart)
    assert (out["sensitivity"], out["specificity"], out["false_alarms"]) == (1.0, 1.0, 0)
    assert out["measured_on"] == {"trials": ["synthetic"], "streams": ["synthetic"]}
    assert out["by_cohort"]["mitbih"]["sensitivity"] == 0.0 and out["by_cohort"]["mitbih"]["false_alarms"] == 2
    assert "F01" in out["by_activity"] and out["by_activity"]["F01"]["detected"] == 1  # the headline trials only


def test_without_real_recordings_everything_is_the_headline():
    recs = [_rec("", "S1", "F01", event_at=5.0), _rec("", "S2", "D01")]
    out = event_breakdown(recs, [_alert(6.0), []], [0.9, 0.1], LABELS, RATE, 1.0, 10.0, real=lambda r: False)
    assert out["sensitivity"] == 1.0 and out["specificity"] == 1.0
    assert "by_cohort" not in out and "measured_on" not in out
    assert out == {**event_metrics(recs, [_alert(6.0), []], LABELS, RATE, 1.0, 10.0), "by_activity": out["by_activity"]}


def test_headline_pool_is_one_rule_for_recordings_and_cohorts():
    """Reported-apart units never; of the rest the real ones when real and generated are mixed, else all."""
    real = lambda c: c.startswith("sisfall")  # noqa: E731
    apart = lambda c: c == "mobifall"  # noqa: E731
    assert headline_pool(["sisfall/adult", "synthetic", "mobifall"], real, apart) == ["sisfall/adult"]
    assert headline_pool(["synthetic", "mobifall"], real, apart) == ["synthetic"]  # none real: all but apart
    assert headline_pool(["sisfall/adult", "sisfall/elderly"], real, apart) == ["sisfall/adult", "sisfall/elderly"]
    assert headline_pool(["synthetic", "mobifall"]) == ["synthetic", "mobifall"]  # no predicates: everything


def test_specificity_interval_is_clopper_pearson():
    m = {"specificity": 1.0, "event_free_trials": 10, "event_free_clean": 10}
    assert event_intervals(m)["specificity"] == (pytest.approx(0.025 ** 0.1), 1.0)
    assert "specificity 1.000 [0.692, 1.000] over 10 event-free trials" in format_intervals(m)


def _commands(said_by: list[str], missed: set[str]):
    """One keyword stream: a command every 10 s, said by `said_by` in turn; the speakers in `missed` are never
    heard, the others always (an alert at the word's end)."""
    rec = Recording(np.zeros((int((10 * len(said_by) + 10) * RATE), 1), np.float32), RATE, ("x",), subject="s",
                    activity="keywords", events=[(10.0 * (i + 1), "fall") for i in range(len(said_by))],
                    truth={"event_groups": said_by})
    return rec, [a for i, who in enumerate(said_by) if who not in missed for a in _alert(10.0 * (i + 1))]


def test_sensitivity_interval_draws_whole_speakers_not_commands():
    """20 speakers say 10 commands each; 4 of them are never heard (all 40 misses). An interval counting the
    200 commands as independent (Clopper-Pearson, or a bootstrap of commands) is far too narrow: which
    speakers happen to be in the test set moves the sensitivity by whole speakers."""
    speakers = [f"spk{i:02d}" for i in range(20)]
    rec, ev = _commands([s for s in speakers for _ in range(10)], set(speakers[:4]))
    m = event_metrics([rec], [ev], LABELS, RATE, 1.0, 2.0)
    assert m["sensitivity"] == 0.8 and m["event_trials"] == 200  # the point value does not depend on the groups
    by_speaker = event_intervals(m)["sensitivity"]
    per_command = clopper_pearson(160, 200)
    assert m["cluster_intervals"]["sensitivity_groups"] == 20
    assert by_speaker[0] < 0.7 < per_command[0] and by_speaker[1] > 0.9 > per_command[1]
    assert (by_speaker[1] - by_speaker[0]) > 2 * (per_command[1] - per_command[0])
    # the same misses spread over the speakers (each misses 2 of 10): speakers alike, an interval as narrow
    # as the commands' own, so the width above comes from the clustering, not from the method
    rec, _ = _commands([s for s in speakers for _ in range(10)], set())
    spread = [a for i in range(200) if i % 10 >= 2 for a in _alert(10.0 * (i + 1))]
    lo, hi = event_intervals(event_metrics([rec], [spread], LABELS, RATE, 1.0, 2.0))["sensitivity"]
    assert hi - lo < 1.2 * (per_command[1] - per_command[0])
    assert "cluster bootstrap over 20 groups" in format_intervals(m)


def test_false_alarm_interval_draws_the_speakers_with_their_stream_time():
    """A stream of 10 speakers' words, 6 minutes each; one speaker's words raise all 12 false alarms: the
    rate rests on one speaker, so its interval reaches 0 (resamples without that speaker) where the Poisson
    interval over 12 independent alarms does not. An alarm belongs to the span of the stream it falls in."""
    spans = [(360.0 * i, f"spk{i}") for i in range(10)]
    rec = Recording(np.zeros((3600 * int(RATE), 1), np.float32), RATE, ("x",), subject="s", activity="stream",
                    truth={"stream_groups": spans})
    alarms = [a for k in range(12) for a in _alert(360.0 * 3 + 20.0 * (k + 1))]  # all inside spk3's span
    m = event_metrics([rec], [alarms], LABELS, RATE, 1.0, 2.0)
    assert m["false_alarms_per_hour"] == pytest.approx(12.0) and m["false_alarms"] == 12
    exact = event_intervals({k: v for k, v in m.items() if k != "cluster_intervals"})["false_alarms_per_hour"]
    lo, hi = event_intervals(m)["false_alarms_per_hour"]
    assert m["cluster_intervals"]["false_alarms_per_hour_groups"] == 10
    assert lo == 0.0 < exact[0] and hi > exact[1]
    # the same alarms spread over the speakers (where each speaker's span lies): close to the Poisson interval
    even = [a for k in range(12) for a in _alert(360.0 * (k % 10) + 30.0 + k)]
    lo, hi = event_intervals(event_metrics([rec], [even], LABELS, RATE, 1.0, 2.0))["false_alarms_per_hour"]
    assert lo > 0.5 * exact[0] and hi < 1.2 * exact[1]
    # no false alarm at all: resamples cannot move a zero count; the exact interval stays
    none = event_metrics([rec], [[]], LABELS, RATE, 1.0, 2.0)
    assert "cluster_intervals" not in none and event_intervals(none)["false_alarms_per_hour"][1] > 0


def test_event_breakdown_keeps_the_streams_grouped_interval():
    spans = [(360.0 * i, f"spk{i}") for i in range(10)]
    stream = Recording(np.zeros((3600 * int(RATE), 1), np.float32), RATE, ("x",), subject="s", activity="stream",
                       truth={"stream_groups": spans})
    speakers = [f"c{i}" for i in range(8)]
    rec, ev = _commands([s for s in speakers for _ in range(5)], {"c0"})
    out = event_breakdown([rec, stream], [ev, _alert(100.0) + _alert(2000.0)], [0.9, 0.9], LABELS, RATE, 1.0, 2.0)
    ci = out["cluster_intervals"]
    assert ci["sensitivity_groups"] == 8 and ci["false_alarms_per_hour_groups"] == 10
    assert event_intervals(out)["sensitivity"] == tuple(ci["sensitivity"])
    # a recording without the groups: no grouped interval for the metric it feeds (mixing would mislead)
    bare = Recording(rec.signal, RATE, ("x",), activity="keywords", events=rec.events)
    m = event_metrics([rec, bare], [ev, ev], LABELS, RATE, 1.0, 2.0)
    assert "cluster_intervals" not in m
