"""Event metrics per cohort and per activity, headline figures from the real recordings when generated
ones are mixed in, the alert latency, and the specificity interval."""

from __future__ import annotations

import numpy as np
import pytest

from tinyml.metrics import event_breakdown, event_intervals, event_metrics, format_intervals
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


def test_without_real_recordings_everything_is_the_headline():
    recs = [_rec("", "S1", "F01", event_at=5.0), _rec("", "S2", "D01")]
    out = event_breakdown(recs, [_alert(6.0), []], [0.9, 0.1], LABELS, RATE, 1.0, 10.0, real=lambda r: False)
    assert out["sensitivity"] == 1.0 and out["specificity"] == 1.0
    assert "by_cohort" not in out and "measured_on" not in out
    assert out == {**event_metrics(recs, [_alert(6.0), []], LABELS, RATE, 1.0, 10.0), "by_activity": out["by_activity"]}


def test_specificity_interval_is_clopper_pearson():
    m = {"specificity": 1.0, "event_free_trials": 10, "event_free_clean": 10}
    assert event_intervals(m)["specificity"] == (pytest.approx(0.025 ** 0.1), 1.0)
    assert "specificity 1.000 [0.692, 1.000] over 10 event-free trials" in format_intervals(m)
