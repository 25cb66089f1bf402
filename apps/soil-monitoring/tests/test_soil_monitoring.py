"""soil-monitoring: what the post-processor decides, what a window's label means, what the rule and dry-down
baselines do on constructed windows, the [field] section, the 8-bit storage grid, and predict on the
logger and ISMN formats users have."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from tinyml.apps import load_app
from tinyml.device.config import app_config_h
from tinyml.errors import TinymlError
from tinyml.features import FeatureExtractor
from tinyml.recording import Recording

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests"))
from apptest import ROOT, run_cli  # noqa: E402

APP = load_app("soil-monitoring")
M = APP.manifest
P = APP.pipeline
W = int(M.features["window"])


def _frame(v, rain=0.0):
    f = np.zeros((W, 5), np.float32)
    f[:, 0] = v + 0.001 * np.sin(np.arange(W))  # a live sensor: never exactly constant
    f[:, 1] = 20.0
    f[:, 2] = 0.3
    f[:, 3] = rain
    f[:, 4] = 0.02
    return f


def _frozen(v, rain=0.1):
    """A reading frozen throughout the window while 8 mm of water arrive: the stuck label's evidence."""
    f = _frame(v, rain)
    f[:, 0] = np.float32(v)
    return f


FX = FeatureExtractor(M)


def _possible(lim, frame, sat):
    return lim.possible(frame, sat, list(M.labels), FX.features(frame))


def _scores(cls=None, p=0.95):
    s = np.full(len(M.labels), -128, np.int8)
    s[0 if cls is None else M.labels.index(cls)] = np.int8(int(round(p * 256)) - 128)
    if cls is not None:
        s[0] = np.int8(int(round((1 - p) * 256)) - 128)
    return s


def test_fault_events_on_the_rising_edge_then_quiet():
    pp = P.PostProcessor(M, 1 / 256, -128)
    f = _frame(0.25)
    got = []
    for k, cls in enumerate([None, "noisy", "noisy", None, "noisy", None, "spike", None, "spike"]):
        end = W + 4 * k
        got += [(end, M.labels[lab]) for lab, _ in pp.step(f, f[-4:], end - 4, _scores(cls))]
    quiet = int(M.postprocess["fault_quiet_s"] * M.rate)
    assert got[0] == (W + 4, "noisy") and quiet > 12  # the second noisy onset (3 h later) is within the quiet time
    assert [g for g in got if g[1] == "noisy"] == [(W + 4, "noisy")]
    assert [g for g in got if g[1] == "spike"] == [(W + 24, "spike"), (W + 32, "spike")]  # spikes: 1 h apart
    vals = pp.window_values()
    fld = P.field_params(M)
    now = float(np.mean(f[-4:, 0]))
    assert vals[1] == pytest.approx((fld["fc"] - now) / (fld["fc"] - fld["wp"]), rel=1e-5)
    assert np.isnan(vals[0]) and vals[3] == 0.0  # no forecast model: no forecast, no irrigation


class _Forecast:
    """An int8 forecast model's contract (the core's invoker) that always answers `change`."""

    class Q:
        def __init__(self, scale, zero_point, shape):
            self.scale, self.zero_point, self.shape = scale, zero_point, shape

    def __init__(self, change):
        self.input = self.Q(0.03, 0, (1, *FeatureExtractor(M).input_shape()))
        self.output = self.Q(0.01, 0, (1, 1))
        self.q = np.int8(int(round(change / 0.01)))

    def invoke(self, x_int8):
        assert x_int8.dtype == np.int8 and x_int8.shape == self.input.shape[1:]
        return np.array([self.q], np.int8)


def test_irrigation_from_the_forecast_and_never_on_a_faulty_sensor():
    fld = P.field_params(M)
    dry = float(fld["fc"] - (fld["fc"] - fld["wp"]) * 0.3)  # depletion 0.3 now ...
    drop = -(fld["fc"] - fld["wp"]) * 0.2 * P.FORECAST_SCALE  # ... 0.5 tomorrow (mad 0.4)
    pp = P.PostProcessor(M, 1 / 256, -128, models={"forecast": _Forecast(drop)})
    irr = len(M.labels) + M.app["extra_events"].index("irrigate")
    f = _frame(dry)
    assert [lab for lab, _ in pp.step(f, f[-4:], W - 4, _scores("noisy"))] == [M.labels.index("noisy")]
    assert pp.window_values()[3] == 0.0  # a fault is reported: the valve stays shut
    ev = pp.step(f, f[-4:], W, _scores())
    assert [lab for lab, _ in ev] == [irr]
    vals = pp.window_values()
    assert vals[2] == pytest.approx(0.5, abs=0.01) and vals[3] == pytest.approx(
        (fld["fc"] - vals[0]) * 1000 * fld["root_depth_m"], rel=1e-5)
    assert pp.step(f, f[-4:], W + 4, _scores()) == []  # once a day


def test_a_stuck_reading_holds_irrigation_until_it_moves():
    """Once `stuck` is reported the valve stays shut while the reading stays frozen, even when the score fades."""
    fld = P.field_params(M)
    dry = float(fld["fc"] - (fld["fc"] - fld["wp"]) * 0.3)
    drop = -(fld["fc"] - fld["wp"]) * 0.2 * P.FORECAST_SCALE
    pp = P.PostProcessor(M, 1 / 256, -128, models={"forecast": _Forecast(drop)})
    irr = len(M.labels) + M.app["extra_events"].index("irrigate")
    frozen = _frozen(dry)
    assert [lab for lab, _ in pp.step(frozen, frozen[-4:], W - 4, _scores("stuck"))] == [M.labels.index("stuck")]
    for k in range(3):  # the score fades, the reading does not move: no irrigation
        assert pp.step(frozen, frozen[-4:], W + 4 * k, _scores()) == []
    live = _frame(dry)
    assert [lab for lab, _ in pp.step(live, live[-4:], W + 12, _scores())] == [irr]


def test_stuck_is_raised_once_per_episode_while_the_reading_stays_frozen():
    """One event per fault episode: while the stuck latch holds (the reading has not moved since stuck was
    reported), stuck is not raised again however its score comes and goes, past the quiet time too; once the
    reading has moved, a new freeze is a new episode."""
    pp = P.PostProcessor(M, 1 / 256, -128)
    frozen = _frozen(0.25)
    quiet = int(M.postprocess["fault_quiet_s"] * M.rate)
    stuck = M.labels.index("stuck")
    got = []
    for k in range(3 * quiet // 4):  # score on, off, on ... for three quiet times, frozen throughout
        end = W + 4 * k
        got += [(end, lab) for lab, _ in pp.step(frozen, frozen[-4:], end - 4, _scores("stuck" if k % 3 == 0 else None))]
    assert got == [(W, stuck)]
    live = _frame(0.25)
    end = W + 4 * (3 * quiet // 4)
    assert pp.step(live, live[-4:], end - 4, _scores()) == []  # the reading moves: the latch is released
    assert [lab for lab, _ in pp.step(frozen, frozen[-4:], end, _scores("stuck"))] == [stuck]  # a new episode


def test_a_drop_just_after_a_spike_is_the_spikes_return():
    """A spike's return to its baseline reads as a step down: a drop up to fault_quiet_s after a spike event
    is part of the spike's episode and raises nothing; later, or with no spike before it, a drop is raised."""
    quiet = int(M.postprocess["fault_quiet_s"] * M.rate)
    spike, drop = M.labels.index("spike"), M.labels.index("drop")
    f = _frame(0.25)

    def run(drop_at):
        pp = P.PostProcessor(M, 1 / 256, -128)
        got = []
        for k in range(drop_at // 4 + 2):
            end = W + 4 * k
            cls = "spike" if k == 0 else "drop" if 4 * k == drop_at else None
            got += [(end - W, lab) for lab, _ in pp.step(f, f[-4:], end - 4, _scores(cls))]
        return got

    for h in (1, 2, 4, 6):
        assert run(4 * h) == [(0, spike)], h
    assert run(quiet + 4) == [(0, spike), (quiet + 4, drop)]
    pp = P.PostProcessor(M, 1 / 256, -128)
    assert [lab for lab, _ in pp.step(f, f[-4:], W - 4, _scores("drop"))] == [drop]


def test_a_frozen_reading_raises_no_fault_that_needs_it_to_change():
    """While the stuck latch holds, the classes [postprocess] muted_while_stuck flags (a frozen reading cannot
    spike, drop, jump, rise or be noisy) raise nothing, however long past the quiet time; plateau and out of
    range (a frozen reading can be either) still are; once the reading moves, a drop is raised again."""
    muted = [c for c, on in zip(M.labels, M.postprocess["muted_while_stuck"]) if on]
    assert set(muted) == {"spike", "drop", "jump", "rise_no_rain", "noisy"}
    quiet = int(M.postprocess["fault_quiet_s"] * M.rate)
    frozen = _frozen(0.7)  # frozen above the physical range: out_of_range may be raised
    pp = P.PostProcessor(M, 1 / 256, -128)
    assert [M.labels[lab] for lab, _ in pp.step(frozen, frozen[-4:], W - 4, _scores("stuck"))] == ["stuck"]
    got = []
    for k, cls in enumerate(muted + ["plateau", "out_of_range"] + muted, start=1):  # 2 h apart, then 14 h on
        end = W + 8 * k + (quiet if k > len(muted) + 2 else 0)
        got += [M.labels[lab] for lab, _ in pp.step(frozen, frozen[-4:], end - 4, _scores(cls))]
        got += [M.labels[lab] for lab, _ in pp.step(frozen, frozen[-4:], end, _scores())]
    assert got == ["plateau", "out_of_range"]
    live = _frame(0.25)
    end = W + 8 * (2 * len(muted) + 4) + quiet
    assert [M.labels[lab] for lab, _ in pp.step(live, live[-4:], end - 4, _scores("drop"))] == ["drop"]


def test_stuck_and_out_of_range_need_their_physical_precondition():
    """stuck is raised (and latched) only once the reading has stayed exactly the same for stuck_constant_s (the
    6 h its label needs), out_of_range only while the newest reading is outside the physical range, whatever
    the model's score; every other class as its score says. The evaluation's node scores follow the same check."""
    n = int(M.postprocess["stuck_constant_s"] * M.rate)
    sat = P.field_params(M)["sat"]
    stuck, oor = M.labels.index("stuck"), M.labels.index("out_of_range")
    short = _frame(0.25)
    short[-(n - 1):, 0] = short[-n, 0] + np.float32(0.003)  # constant for one sample less than 6 h
    pp = P.PostProcessor(M, 1 / 256, -128)
    assert pp.step(short, short[-4:], W - 4, _scores("stuck")) == [] and not pp.stuck_hold
    assert pp.fault_on  # the score still holds the valve
    frozen = short.copy()
    frozen[-n:, 0] = frozen[-1, 0]
    assert [lab for lab, _ in pp.step(frozen, frozen[-4:], W, _scores("stuck"))] == [stuck] and pp.stuck_hold
    live = _frame(0.25)
    pp = P.PostProcessor(M, 1 / 256, -128)
    assert pp.step(live, live[-4:], W - 4, _scores("out_of_range")) == []
    for x in (-0.01, 0.61, sat + 0.03):
        high = _frame(0.25)
        high[-1, 0] = x
        pp = P.PostProcessor(M, 1 / 256, -128)
        assert [lab for lab, _ in pp.step(high, high[-4:], W - 4, _scores("out_of_range"))] == [oor], x
    lim = P.PhysicalLimits(M)
    ok = _possible(lim, live, sat)
    assert not ok[stuck] and not ok[oor] and ok[[c for c in range(len(M.labels)) if c not in (stuck, oor)]].all()
    assert _possible(lim, frozen, sat)[stuck] and _possible(lim, high, sat)[oor]
    nan = frozen.copy()
    nan[-1, 0] = np.nan  # a missing reading is neither constant nor out of range
    assert not _possible(lim, nan, sat)[[stuck, oor]].any()


def test_stuck_needs_the_evidence_its_label_needs():
    """A reading constant for 6 h is stuck-possible only when the window's hour summaries show why a working probe
    would have read otherwise (the stuck label's evidence): water while frozen, or changing before it froze. A
    window frozen throughout in a dry spell (a coarse probe at rest reads so) raises nothing and sets no latch;
    its score still holds the valve."""
    lim, sat = P.PhysicalLimits(M), P.field_params(M)["sat"]
    stuck = M.labels.index("stuck")
    dry = _frozen(0.25, rain=0.0)
    assert not _possible(lim, dry, sat)[stuck]
    pp = P.PostProcessor(M, 1 / 256, -128)
    assert pp.step(dry, dry[-4:], W - 4, _scores("stuck")) == [] and not pp.stuck_hold and pp.fault_on
    wet = _frozen(0.25, rain=0.0)
    wet[-8:-4, M.channels.index("rain_mm")] = 1.3  # 5.2 mm while frozen
    assert _possible(lim, wet, sat)[stuck]
    wet[-8:-4, M.channels.index("rain_mm")] = 1.0  # 4 mm: not enough
    assert not _possible(lim, wet, sat)[stuck]
    n = int(M.postprocess["stuck_constant_s"] * M.rate)
    moved = _frame(0.25)  # a fine probe moving on every sample, then frozen for 6 h
    moved[-n:, 0] = moved[-n - 1, 0]
    assert _possible(lim, moved, sat)[stuck]
    once = _frozen(0.25, rain=0.0)  # one step 15 h ago, then constant: a coarse probe resting
    once[:20, 0] = 0.26
    assert not _possible(lim, once, sat)[stuck]
    gone = _frozen(0.25, rain=0.0)  # without a rain gauge (missing): only the motion before can show it
    gone[:, M.channels.index("rain_mm")] = np.nan
    assert not _possible(lim, gone, sat)[stuck]


def test_the_stuck_evidence_thresholds_are_the_labels():
    """[postprocess] stuck_water_mm and stuck_moving are window_labels' own thresholds: the node's check and the
    labels must not drift apart."""
    assert M.postprocess["stuck_water_mm"] == P.STUCK_WATER_MM and M.postprocess["stuck_moving"] == P.STUCK_MOVING


@pytest.mark.parametrize("key,value", [("stuck_water_mm", "0.0"), ("stuck_water_mm", "-5.0"), ("stuck_moving", "1.5")])
def test_a_bad_stuck_evidence_threshold_is_refused(key, value):
    """Refused at load in one line naming the key (a 0 would make every frozen window stuck-possible)."""
    app = load_app(APP.id, overrides=[f"postprocess.{key}={value}"])
    with pytest.raises(TinymlError, match=f"{key} must be a number above 0"):
        app.pipeline.PhysicalLimits(app.manifest)
    src = next((ROOT / "datasets" / "ismn" / "fixture").rglob("DEMO_DEMO_Field-A_sm_*.stm"))
    res = run_cli("predict", APP.id, str(src), "--set", f"postprocess.{key}={value}")
    errors = [ln for ln in res.stderr.splitlines() if not ln.startswith("notice:")]
    assert res.returncode == 2 and len(errors) == 1 and key in errors[0], res.stderr


def test_every_window_labelled_stuck_meets_the_nodes_evidence():
    """The node's stuck evidence is looser than the label's: no window the labels call stuck is ruled out (else
    the node could never reach the rules' stuck recall). On simulated seasons with many stuck episodes."""
    from tinyml.data.source import dataset_module

    gen = dataset_module("synthetic-soil")
    recs = gen.generate(rate=M.rate, channels=M.channels, seed=7, seasons_per_region=1, max_days=40,
                        episodes_per_30d=8.0)
    lim, stuck, shown = P.PhysicalLimits(M), P.FAULTS.index("stuck"), 0
    for r in recs:
        ends, frames = P._recording_windows(r, FX)
        y = P.window_labels(r, ends, W)
        for f in frames[y == stuck]:
            assert lim.constant(f[:, 0]) and lim.evidence.shown(FX.features(f))
            shown += 1
    assert shown > 50


def _labels_of(episodes, vwc=None, n=400, rain=None, young_scored=False):
    """window_labels of a made-up recording: `episodes` of (class, first sample, end sample); vwc level 0 or
    the given trace, rain 0 or the given one. Returns {window end: label}."""
    fault = np.zeros(n, np.int8)
    age = np.zeros(n, np.int32)
    for cls, a, b in episodes:
        fault[a:b], age[a:b] = P.FAULTS.index(cls), np.arange(b - a)
    x = np.zeros((n, 5), np.float32)
    if vwc is not None:
        x[:, 0] = vwc
    if rain is not None:
        x[:, M.channels.index("rain_mm")] = rain
    r = Recording(x, 1 / 900, tuple(M.channels), truth={"fault": fault, "fault_age": age})
    ends = np.arange(W, n + 1, 4)
    return dict(zip(ends.tolist(), P.window_labels(r, ends, W, young_scored).tolist()))


def test_window_labels_wait_for_evidence_and_skip_ambiguous_hours():
    stuck = P.FAULTS.index("stuck")
    live = 0.2 + 0.001 * (np.arange(400) % 2)  # a fine probe that moves until it freezes at sample 200
    live[200:300] = live[199]
    y = _labels_of([("stuck", 200, 300), ("spike", 150, 151)], live)
    assert y[154] == P.FAULTS.index("spike") and y[150] == 0  # judged with the sample after it
    assert y[158] == 0 and y[170] == 0  # the hours after a spike: ok (it left no step)
    assert y[218] == -1 and y[226] == stuck  # 6 h of constancy before it is named
    assert y[302] == -1 and y[318] == -1 and y[322] == 0  # the hours after an episode: not scored


def test_a_spike_whose_return_is_not_in_view_and_a_young_step_are_not_scored():
    """A 2-sample spike whose second sample is the newest and a step of 2 samples look alike in the window (two
    raised readings, the return not yet in view): neither is scored. Once the spike's return is in view it is a
    spike; once 3 readings show the step it is the step."""
    spike, jump, drop = (P.FAULTS.index(c) for c in ("spike", "jump", "drop"))
    y = _labels_of([("spike", 160, 162)])  # window ending at 162: samples 160 and 161 raised, 162 not yet seen
    assert y[162] == -1 and y[166] == spike
    y = _labels_of([("spike", 161, 162)])  # a 1-sample spike in the newest sample: as before
    assert y[162] == -1 and y[166] == spike
    y = _labels_of([("jump", 160, 240)])  # windows end at 162 (age 1: 2 raised readings), 166 (age 5)
    assert y[162] == -1 and y[166] == jump
    y = _labels_of([("drop", 160, 240)])
    assert y[162] == -1 and y[166] == drop
    y = _labels_of([("jump", 159, 240)])  # age 2: 3 raised readings, longer than any spike
    assert y[162] == jump
    # the labels before the change (the card reports its figures on them too): both scored
    assert _labels_of([("spike", 160, 162)], young_scored=True)[162] == spike
    assert _labels_of([("jump", 160, 240)], young_scored=True)[162] == jump
    assert _labels_of([("spike", 161, 162)], young_scored=True)[162] == -1  # 1 sample: judged with the next, as before


def test_the_card_states_the_figures_on_the_labels_before_the_change():
    """The same model on the labels before issue 21's change beside the labels now: what the labels moved."""
    now = {"f1_spike": 0.8, "f1_drop": 0.95, "f1_jump": 0.9, "f1_stuck": 0.85, "min_class_f1": 0.8,
           "fault_classes_fewer_false_flags": 8}
    before = {**now, "f1_spike": 0.7, "f1_jump": 0.87, "min_class_f1": 0.7, "fault_classes_fewer_false_flags": 7}
    text = P._labels_before_text(now, before)
    assert "spike 0.700 -> 0.800, drop 0.950 -> 0.950, jump 0.870 -> 0.900" in text
    assert "weakest class F1 0.700 (spike) -> 0.800" in text and "7 -> 8 classes" in text


def test_the_labels_before_text_stands_labels_that_gave_no_class_f1():
    """Labels before the change with no fault class scored (fault_metrics: no f1_ keys, min_class_f1 0.0)."""
    now = {"f1_spike": 0.8, "min_class_f1": 0.8, "fault_classes_fewer_false_flags": 8}
    before = {"min_class_f1": 0.0, "fault_classes_fewer_false_flags": 0}
    assert "weakest class F1 0.000 -> 0.800" in P._labels_before_text(now, before)


def test_the_card_states_the_ismn_figures_the_label_change_removed():
    """Real ISMN: classes whose windows the label change moved, with the figures on the labels before; nothing
    for an ismn.json measured before the change (no "classes_before")."""
    cls = lambda n, r: {"ismn_windows": n, "model_recall": r, "model_precision": 0.1, "rule_recall": 0.0}
    ismn = {"classes": {"spike": cls(133, 0.0), "plateau": cls(18040, 0.69)},
            "classes_before": {"spike": cls(315, 0.0), "jump": cls(608, 0.37), "plateau": cls(18040, 0.69)}}
    text = P._ismn_before_text(ismn)
    assert "spike 315 -> 133 windows" in text and "jump 608 -> 0 windows (model recall 0.37" in text
    assert "plateau" not in text and "its jump flags are no longer compared" in text
    assert P._ismn_before_text({"classes": ismn["classes"]}) == ""


def test_stuck_is_named_on_the_evidence_the_window_shows():
    """A constant reading is stuck when the window shows a working probe would have changed: water came while it
    was frozen, or the probe was moving before it froze; a coarse probe at rest through a dry spell is not."""
    stuck = P.FAULTS.index("stuck")
    coarse = np.full(400, 0.21)  # constant before and after the onset: nothing tells it from a dry spell
    y = _labels_of([("stuck", 200, 380)], coarse)
    assert y[226] == -1 and y[302] == -1
    rain = np.zeros(400)
    rain[240:244] = 2.0  # 8 mm an hour at sample 240, and the reading does not answer
    y = _labels_of([("stuck", 200, 380)], coarse, rain=rain)
    assert y[238] == -1 and y[246] == stuck and y[318] == stuck
    assert y[330] == -1  # the rain has left the window (82 samples): no evidence in view any more
    rain = np.zeros(400)
    rain[240:242] = 3.0  # 6 mm in two samples
    y = _labels_of([("stuck", 200, 380)], coarse, rain=rain)
    assert y[318] == stuck  # in the window's summarized hours
    assert y[322] == -1  # only in its first two samples (the first hour's history): no hour summary shows it
    live = 0.2 + 0.001 * (np.arange(400) % 2)
    live[200:380] = live[199]
    y = _labels_of([("stuck", 200, 380)], live)
    assert y[226] == stuck and y[270] == stuck  # the motion before the freeze is still in view
    assert y[290] == -1  # 20 h frozen: the window holds only the constant


def test_a_rise_without_rain_is_named_once_it_has_risen():
    rise = P.FAULTS.index("rise_no_rain")
    vwc = np.full(400, 0.2)
    vwc[200:260] += np.linspace(0.0, 0.04, 60)  # 0.04 over 15 h: 0.02 is reached at sample 230
    y = _labels_of([("rise_no_rain", 200, 260)], vwc)
    assert y[210] == -1 and y[226] == -1  # two hours old, but only ~0.01 up: not yet shown
    assert y[238] == rise and y[258] == rise


def test_a_stuck_episode_whose_first_samples_are_unscored_still_gives_its_truth_event():
    # synthetic-soil marks a frozen probe's first samples -1 (not scored) until a working probe would have moved
    n, i, hidden = 400, 100, 40
    fault, age = np.zeros(n, np.int32), np.zeros(n, np.int32)
    age[i:300] = np.arange(200)
    fault[i:300] = P.FAULTS.index("stuck")
    fault[i : i + hidden] = -1
    events, onsets = P.fault_episode_events(fault, age, M, 1 / 900)
    assert [name for _, name in events] == ["stuck"]
    assert events[0][0] == P.fx_end(i + max(P.EVIDENCE["stuck"], hidden), M) * 900
    assert onsets[0][2] == P.fx_end(i, M) * 900
    fault[i:300] = -1  # a stretch never scored names nothing
    assert P.fault_episode_events(fault, age, M, 1 / 900) == ([], [])


def test_rule_baseline_and_drydown_on_constructed_windows():
    lim = P.PhysicalLimits(M)
    assert P.rule_baseline(_frame(0.25), sat=0.45, limits=lim) == 0
    f = _frame(0.25)
    f[-3, 0] = 0.45
    assert P.rule_baseline(f, sat=0.45, limits=lim) == P.FAULTS.index("spike")
    f = _frame(0.25)
    f[-24:, 0] = 0.1234  # exactly constant
    assert P.rule_baseline(f, sat=0.45, limits=lim) == P.FAULTS.index("stuck")
    assert P.rule_baseline(_frame(-0.05), sat=0.45, limits=lim) == P.FAULTS.index("out_of_range")
    # a coarse probe's 0.43 at saturation 0.41 is the limit itself: in range for the rules as for the node (the
    # same float32 check; a float64 one called it out of range for the rules only)
    edge = _frame(0.42)
    edge[-1, 0] = 0.43
    oor = P.FAULTS.index("out_of_range")
    assert P.rule_baseline(edge, sat=0.41, limits=lim) != oor and not lim.possible(edge, 0.41, P.FAULTS, FX.features(edge))[oor]
    edge[-1, 0] = 0.44
    assert P.rule_baseline(edge, sat=0.41, limits=lim) == oor and lim.possible(edge, 0.41, P.FAULTS, FX.features(edge))[oor]
    t = np.arange(W - 2) / 4.0
    f = _frame(0.0)
    f[2:, 0] = 0.12 + 0.1 * np.exp(-t / 48.0)  # a clean dry-down
    f[:2, 0] = f[2, 0]
    now = float(np.mean(f[-4:, 0]))
    pred = P.drydown_forecast(f, wp=0.12)
    assert pred < now and pred == pytest.approx(0.12 + (now - 0.12) * np.exp(-24 / 48.0), rel=0.02)
    wet = _frame(0.25, rain=1.0)
    assert P.drydown_forecast(wet, wp=0.12) == pytest.approx(float(np.mean(wet[-4:, 0])))  # rain: persistence


def test_field_soil_sets_the_water_limits_everywhere():
    clay = load_app("soil-monitoring", overrides=["field.soil=clay"])
    fld = P.field_params(clay.manifest)
    assert (fld["fc"], fld["wp"]) == (0.36, 0.22)
    h = app_config_h(clay.manifest)
    assert '#define TML_CFG_FIELD_SOIL_INDEX 6' in h and "TML_CFG_POSTPROCESS_SOIL_FC" in h
    own = load_app("soil-monitoring", overrides=["field.soil=clay", "field.fc=0.4"])
    assert P.field_params(own.manifest)["fc"] == 0.4


def test_the_history_fits_one_signed_byte_per_feature():
    step = dict(M.features["chain"][0])
    assert step["clip"] / step["resolution"] < 127.5  # app.c keeps steps of the resolution in int8


@pytest.mark.parametrize("name,pick", [("CR300_demo_avg.dat", "vwc=VWC_20cm_Avg"), ("HOBO_demo.csv", "vwc=Water Content 10 CM")])
def test_predict_reads_logger_exports(name, pick, tmp_path):
    src = ROOT / "tests" / "fixtures" / "loggers" / name
    res = run_cli("predict", APP.id, str(src), "--channel", pick)
    # a day of half-hourly records is one window of 24 h only after resampling to 15 minutes
    assert res.returncode in (0, 2), res.stderr
    if res.returncode == 2:
        assert "shorter than one window" in res.stderr and res.stderr.count("\n") <= 3
    else:
        assert '"scores"' in res.stdout and '"values"' in res.stdout


def test_predict_reads_an_ismn_file():
    src = next((ROOT / "datasets" / "ismn" / "fixture").rglob("DEMO_DEMO_Field-A_sm_*.stm"))
    res = run_cli("predict", APP.id, str(src), "--events-only")
    assert res.returncode == 0, res.stderr
    assert "resampled" in res.stderr  # hourly -> 15 minutes


def test_a_rule_recall_the_node_cannot_reach_is_reported_not_counted_as_every_negative():
    """Where the node scores a class -inf (precondition not met) on more of its windows than the rules miss, no
    threshold reaches the rules' recall: NaN false flags and the class named, not a -inf threshold that flags
    every negative window."""
    stuck = P.FAULTS.index("stuck")
    y = np.array([stuck, stuck, stuck, 0, 0, 0])
    prob = np.full((6, len(P.FAULTS)), -5.0, np.float32)
    prob[:, 0] = 1.0
    prob[:3, stuck] = [2.0, -np.inf, -np.inf]  # the node can name one of the three
    rule = np.array([stuck, stuck, 0, 0, 0, 0])  # the rules find two, with no false flag
    fm = P.fault_metrics(y, prob, rule)
    assert np.isnan(fm["false_flags_stuck"]) and fm["recall_not_reachable"] == ["stuck"]
    assert fm["fault_classes_fewer_false_flags"] == 0
    assert "n/a: recall not reachable" == P._false_flags_cell(fm["false_flags_stuck"])
    rule[1] = 0  # the rules find one: the node reaches it with no false flag
    fm = P.fault_metrics(y, prob, rule)
    assert fm["false_flags_stuck"] == 0 and fm["recall_not_reachable"] == [] and fm["fault_classes_fewer_false_flags"] == 1


@pytest.mark.parametrize("seconds", ["0.0", "74250.0"])
def test_a_stuck_constancy_the_window_cannot_hold_is_refused(seconds):
    """0 samples (Python compared the whole window, app.c none) or more than the window's 82 (Python never,
    app.c after enough equal readings) would part the twins: refused at load, naming the key and the range."""
    app = load_app(APP.id, overrides=[f"postprocess.stuck_constant_s={seconds}"])
    with pytest.raises(TinymlError, match=r"stuck_constant_s = .* it must be 1 to 82 \(the window\): from 450 s"):
        app.pipeline.PhysicalLimits(app.manifest)
    assert load_app(APP.id, overrides=["postprocess.stuck_constant_s=74249.0"]).pipeline.PhysicalLimits(M).constant_n == 24
    src = next((ROOT / "datasets" / "ismn" / "fixture").rglob("DEMO_DEMO_Field-A_sm_*.stm"))
    res = run_cli("predict", APP.id, str(src), "--set", f"postprocess.stuck_constant_s={seconds}")
    errors = [ln for ln in res.stderr.splitlines() if not ln.startswith("notice:")]  # the reader's notices first
    assert res.returncode == 2 and len(errors) == 1 and "stuck_constant_s" in errors[0], res.stderr


def test_evaluation_checks_each_windows_physics_once_for_the_node_and_the_rules(monkeypatch):
    """_fault_windows made the physical checks twice per window (once for the node's preconditions, again inside
    the rule baseline): once now, and the node's scores and the rules' classes are the per-window ones."""
    from types import SimpleNamespace

    hop = int(M.features["hop"])
    n = W + 40 * hop
    x = np.tile(_frame(0.25), (n // W + 1, 1))[:n]
    x[W + 5 * hop : W + 15 * hop, 0] = 0.1234  # frozen: constant windows
    x[W + 25 * hop :, 0] = 0.7  # out of range
    rec = Recording(x, M.rate, tuple(M.channels), subject="field", truth={"sat": 0.45})
    out = SimpleNamespace(scale=1 / 256, zero_point=-128)
    pipe = SimpleNamespace(model=SimpleNamespace(output=out), app=APP)
    scorer = lambda feats: np.zeros((len(feats), len(P.FAULTS)), np.int8)  # noqa: E731
    calls = {"constant": 0, "out_of_range": 0}
    for name in calls:
        def counted(self, *a, _name=name, _f=getattr(P.PhysicalLimits, name)):
            calls[_name] += 1
            return _f(self, *a)
        monkeypatch.setattr(P.PhysicalLimits, name, counted)
    y, prob, rule, _ = P._fault_windows([rec], FeatureExtractor(M), pipe, scorer)
    assert calls == {"constant": len(y), "out_of_range": len(y)}
    lim = P.PhysicalLimits(M)
    ends, frames = P._recording_windows(rec, FeatureExtractor(M))
    possible = np.array([lim.possible(f, 0.45, P.FAULTS, FeatureExtractor(M).features(f)) for f in frames])
    assert np.array_equal(np.isfinite(prob), possible)
    assert list(rule) == [P.rule_baseline(f, 0.45, lim) for f in frames]
    assert {P.FAULTS[c] for c in rule} >= {"stuck", "out_of_range"}


def _real(v, fault=None, rain=None, resolution=0.001):
    """A hand-made real record (ISMN-like: no gauge unless `rain` is given, flags as `fault`)."""
    n = len(v)
    sig = np.full((n, 5), np.nan, np.float32)
    sig[:, 0] = v
    if rain is not None:
        sig[:, 3] = rain
    f = np.zeros(n, np.int8) if fault is None else fault
    return Recording(sig, 1 / 900, tuple(M.channels), missing=() if rain is not None else ("rain_mm",),
                     truth={"fault": f, "real": True, "resolution": resolution})


def test_real_forecast_targets_score_dry_hours_with_good_flags_only():
    """Real records have no gauge: a window is scored only if the probe shows no wetting in its next 24 h
    (a rise above the noise and the probe's resolution) and every sample of the window and the 24 h after
    carries ISMN's G flag."""
    n = 1200
    v = (0.10 + 0.15 * np.exp(-np.arange(n) / 800.0)).astype(np.float32)  # a dry-down, no water
    ends = np.arange(W, n + 1, 4)
    inside = ends + P.HORIZON <= n
    dry = P.forecast_targets(_real(v), ends, W)
    assert np.isfinite(dry[inside]).all() and np.isnan(dry[~inside]).all()
    later = float(np.mean(v[ends[0] + P.HORIZON - 4 : ends[0] + P.HORIZON])) - float(np.mean(v[ends[0] - 4 : ends[0]]))
    assert dry[0] == pytest.approx(later * P.FORECAST_SCALE, abs=1e-5)
    # a wetting at sample 600 (+0.03, then drying again): every window whose next 24 h hold it is not scored
    wet = v.copy()
    wet[600:] += np.float32(0.03)
    t = P.forecast_targets(_real(wet), ends, W)
    sees = (ends < 600) & (ends + P.HORIZON > 600)
    assert sees.any() and np.isnan(t[sees]).all()
    assert np.isfinite(t[inside & ~sees & (ends < 600)]).all()
    # a rise within the noise (0.004 m³/m³) or one step of a coarse probe (0.01) is no water
    assert np.isfinite(P.forecast_targets(_real(v + np.float32(0.004) * (np.arange(n) >= 600)), ends, W)[sees]).all()
    flick = v.copy()
    flick[600:608] += np.float32(0.01)  # two hours: one hourly mean holds it whole
    whole = (ends < 600) & (ends + P.HORIZON >= 608)
    assert np.isfinite(P.forecast_targets(_real(flick, resolution=0.01), ends, W)[whole]).all()
    assert np.isnan(P.forecast_targets(_real(flick, resolution=0.001), ends, W)[whole]).all()
    # a sample ISMN did not flag G (a fault, or -1: unscored) excludes every window and horizon holding it
    for flag in (P.FAULTS.index("spike"), -1):
        fault = np.zeros(n, np.int8)
        fault[700] = flag
        t = P.forecast_targets(_real(v, fault), ends, W)
        holds = (ends - W <= 700) & (ends + P.HORIZON > 700)
        assert np.isnan(t[holds]).all() and np.isfinite(t[inside & ~holds]).all()
    # a file with a gauge: rain in the horizon excludes too, as in the simulation
    rain = np.zeros(n, np.float32)
    rain[900] = 2.0
    t = P.forecast_targets(_real(v, rain=rain), ends, W)
    assert np.isnan(t[(ends <= 900) & (ends + P.HORIZON > 900)]).all()


def test_ismn_probe_resolution_is_its_most_common_step():
    from tinyml.data import dataset_module

    res = dataset_module("ismn").resolution
    assert res(np.array([0.25, 0.25, 0.24, 0.24, 0.23, 0.25, np.nan, 0.25])) == pytest.approx(0.01)
    assert res(np.array([0.2501, 0.2502, 0.2503, 0.2513, 0.2514])) == pytest.approx(0.0001)
    assert res(np.full(5, 0.3)) == 0.0


def test_the_real_forecast_figures_score_what_predict_outputs():
    """real_forecast_metrics (ismn_report's forecast) scores the committed int8 forecaster as predict runs it:
    its MAE is that of the pipeline's values.vwc_24h against the hourly mean 24 h later, on the scored windows."""
    from tinyml.predict import Pipeline

    pipe = Pipeline(APP)
    n = 700
    t = np.arange(n)
    v = (0.12 + 0.15 * np.exp(-t / 900.0) + 0.002 * np.sin(2 * np.pi * t / 96)).astype(np.float32)
    v = np.round(v, 3)  # a 0.001 probe
    rec = _real(v)
    rec.subject = "ismn:NET:one"
    res = pipe.run(rec.signal)
    y = P.forecast_targets(rec, res.ends, W)
    sel = np.isfinite(y)
    later = np.array([np.mean(v[e + P.HORIZON - 4 : e + P.HORIZON]) for e in res.ends[sel]])
    expect = float(np.mean(np.abs(res.values[sel, 0] - later)))
    got = P.real_forecast_metrics([rec], pipe)
    assert sel.sum() > 50 and got["forecast_hours"] == sel.sum()
    assert got["forecast_mae"] == pytest.approx(expect, abs=1e-6)
    assert got["stations"] == 1 and list(got["networks"]) == ["NET"]


def test_the_card_shows_the_real_forecast_figures_per_network_and_says_when_they_miss_the_floors():
    q = lambda mae, gp, gd: {"forecast_mae": mae, "persistence_mae": 0.005, "drydown_mae": 0.004, "stations": 3,
                             "forecast_hours": 12345, "forecast_gain_vs_persistence": gp, "forecast_gain_vs_drydown": gd,
                             "forecast_mae_ci": [0.001, 0.002]}
    f = q(0.0044, 0.07, -0.23) | {"networks": {"NETA": q(0.003, 0.26, -0.10), "NETB": q(0.0045, 0.06, -0.25)}}
    text = P._ismn_forecast_text(f, M.acceptance)
    assert "| all | 3 | 12,345 | 0.0044 [0.0010, 0.0020] |" in text and "| NETA |" in text and "| NETB |" in text
    assert "does not meet the floors" in text and "7% over persistence" in text
    good = q(0.002, 0.6, 0.3)
    assert "does not meet" not in P._ismn_forecast_text(good, M.acceptance)
    assert P._ismn_forecast_text({}, M.acceptance) == ""


def test_ismn_stations_split_by_station_stratified_by_network_and_deterministic():
    from tinyml.data import dataset_module

    split = dataset_module("ismn").station_split
    subjects = [f"ismn:BIG:s{i}" for i in range(20)] + [f"ismn:SMALL:s{i}" for i in range(5)] + ["ismn:TINY:a"]
    got = split(subjects * 2, (0.6, 0.2, 0.2), seed=7)
    assert got == split(list(reversed(subjects)), (0.6, 0.2, 0.2), seed=7) and set(got) == set(subjects)
    count = lambda net, part: sum(1 for s, p in got.items() if s.split(":")[1] == net and p == part)
    assert (count("BIG", "train"), count("BIG", "val"), count("BIG", "test")) == (12, 4, 4)
    assert (count("SMALL", "val"), count("SMALL", "test")) == (1, 1) and got["ismn:TINY:a"] == "train"
    assert split(subjects, (0.6, 0.2, 0.2), seed=8) != got
    # another network added: the others' draw stays
    more = split(subjects + ["ismn:NEW:x", "ismn:NEW:y", "ismn:NEW:z"], (0.6, 0.2, 0.2), seed=7)
    assert {s: p for s, p in more.items() if not s.startswith("ismn:NEW")} == got


def test_both_labellings_are_scored_in_one_pass_with_the_figures_of_two():
    """The card and the ISMN report give the figures on the labels now and before issue 21's change: each
    window is scored once for both (they scored every window twice), and each labelling's windows, scores
    and rules are those of its own pass."""
    from types import SimpleNamespace

    hop = int(M.features["hop"])
    n = W + 60 * hop
    x = np.tile(_frame(0.25), (n // W + 1, 1))[:n]
    fault = np.zeros(n, np.int8)
    fault[W + 10 * hop + 1] = P.FAULTS.index("spike")  # young spikes and steps: labelled differently before
    x[W + 10 * hop + 1, 0] = 0.45
    fault[W + 30 * hop + 2 :] = P.FAULTS.index("drop")
    x[W + 30 * hop + 2 :, 0] = 0.15
    rec = Recording(x, M.rate, tuple(M.channels), subject="field", truth={"sat": 0.45, "fault": fault})
    out = SimpleNamespace(scale=1 / 256, zero_point=-128)
    pipe = SimpleNamespace(model=SimpleNamespace(output=out), app=APP)
    scored = []

    def scorer(feats):
        scored.append(len(feats))  # scores that depend on the window (its last hour's summaries)
        return np.clip(np.round(40 * feats[:, -1, : len(P.FAULTS)]), -128, 127).astype(np.int8)

    sets = P._fault_window_sets([rec, rec], FeatureExtractor(M), pipe, scorer, stride=3)
    one_pass = sum(scored)
    scored.clear()
    for young in (False, True):
        alone = P._fault_windows([rec, rec], FeatureExtractor(M), pipe, scorer, stride=3, young_scored=young)
        for a, b in zip(alone, sets[young][:4]):
            np.testing.assert_array_equal(a, b)
        assert list(sets[young][4]) == list(alone[3])  # each window's recording
    assert not np.array_equal(sets[False][0], sets[True][0])
    assert one_pass < sum(scored) and one_pass >= max(len(sets[False][0]), len(sets[True][0]))
