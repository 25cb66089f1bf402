"""fall-detect: the post-processor's rules on constructed signals, its C twin on a stream full of candidates,
and `tinyml predict` on a fall recorded by sensors at 20 to 200 Hz."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from tinyml.apps import load_app
from tinyml.data import dataset_module
from tinyml.fixtures import write_csv
from tinyml.predict import Pipeline, postprocess, predict_file, prepare
from tinyml.recording import Recording

APP = load_app("fall-detect")
M = APP.manifest
RATE = M.rate
P = M.postprocess
W, HOP = int(M.features["window"]), int(M.features["hop"])


# --- the post-processor on constructed signals, every window scored "fall" ---------------------------------


def _scene(after: str, impact_s: float = 10.0, total_s: float = 30.0, seed: int = 0) -> tuple[np.ndarray, int]:
    """Standing upright (y down), an impact of 4 g at impact_s, then `after`: "lie" (still, on the back),
    "walk" (upright, stepping), "stand" (still, upright), "roll" (lying, turning over slowly), "slide" (lying,
    sliding and struggling for 2 s before lying still), "struggle" (lying, struggling for 10 s)."""
    rng = np.random.default_rng(seed)
    n, i = int(total_s * RATE), int(impact_s * RATE)
    t = np.arange(n) / RATE
    x = np.tile(np.float32([0.0, -1.0, 0.0]), (n, 1))
    x[:i, 1] += 0.25 * np.sin(2 * np.pi * 1.8 * t[:i])  # walking before
    if after == "lie":
        x[i:] = [0.0, 0.0, 1.0]
    elif after == "roll":
        ang = np.clip((t[i:] - t[i] - 1.0) / 2.0, 0, 1) * np.pi / 2  # on the back, then onto the side
        x[i:] = np.stack([np.sin(ang), np.zeros_like(ang), np.cos(ang)], 1)
    elif after == "walk":
        x[i:, 1] += 0.25 * np.sin(2 * np.pi * 1.8 * t[i:])
    elif after in ("slide", "struggle"):
        x[i:] = [0.0, 0.0, 1.0]
        k = i + int((2.0 if after == "slide" else 10.0) * RATE)
        x[i:k, 2] += 0.3 * np.sin(2 * np.pi * 2.5 * t[i:k])
    x[i : i + 2] = x[i] * 4.0
    x += rng.normal(0, 0.01, x.shape)
    return x.astype(np.float32), i


def _alerts(x: np.ndarray, score: int = 127) -> list[int]:
    from tinyml.features import FeatureExtractor

    fx = FeatureExtractor(M)
    pp = APP.pipeline.PostProcessor(M, 1 / 256, -128)
    frames = fx.frames(x)
    scores = np.tile(np.int8([-128, score]), (len(frames), 1))
    return [idx for idx, _, _ in postprocess(pp, frames, W, HOP, scores)]


def test_a_fall_alerts_once_soon_after_the_impact():
    x, i = _scene("lie")
    (alert,) = _alerts(x)
    due = i + (P["settle_s"] + P["still_s"]) * RATE  # the check's last sample
    assert due <= alert < due + HOP + 1  # at the first window end after the check: latency ~settle + still


@pytest.mark.parametrize("after", ["walk", "stand"])
def test_no_alert_when_the_wearer_walks_on_or_stays_upright(after):
    x, _ = _scene(after)
    assert _alerts(x) == []


def test_a_slide_after_the_first_contact_delays_the_alert():
    x, i = _scene("slide")
    (alert,) = _alerts(x)
    assert i + (P["settle_s"] + P["still_s"]) * RATE + HOP < alert <= i + P["still_by_s"] * RATE + HOP


def test_no_alert_while_the_wearer_struggles_past_the_check():
    x, _ = _scene("struggle")
    assert _alerts(x) == []


def test_turning_over_while_lying_is_still_a_fall():
    x, i = _scene("roll")
    assert len(_alerts(x)) == 1


def test_a_low_score_never_alerts():
    x, _ = _scene("lie")
    assert _alerts(x, score=-128) == []


def test_refractory_time_holds_a_second_alert():
    a, _ = _scene("lie", impact_s=10.0, total_s=20.0)
    b, _ = _scene("lie", impact_s=5.0, total_s=20.0, seed=1)
    c, _ = _scene("lie", impact_s=5.0, total_s=40.0, seed=2)
    stand = np.tile(np.float32([0.0, -1.0, 0.0]), (int(2 * RATE), 1))
    close = np.concatenate([a, stand, b])  # second impact 7 s after the first alert: held
    far = np.concatenate([a, stand, np.tile(stand, (10, 1)), c])  # second impact 27 s later: alerts
    assert len(_alerts(close)) == 1
    assert len(_alerts(far)) == 2


# --- the C twin on a stream of candidates: falls, lying down quickly, collapsing into a chair, jumps --------


def _candidate_stream() -> Recording:
    gen = dataset_module("synthetic-falls")
    recs = gen.generate(rate=RATE, channels=M.channels, seed=5, subjects=1, trials_per_activity=1, stream_hours=0,
                        activities=["F01", "F06", "F13", "D11", "D13", "D10", "D19", "D23"], workers=1)
    sig = np.concatenate([r.signal for r in recs])
    return Recording(sig, RATE, tuple(M.channels), source="candidates")


def test_c_twin_raises_the_same_alerts_on_a_stream_of_candidates(tmp_path):
    if not shutil.which("gcc"):
        pytest.skip("needs gcc (the host board)")
    from tinyml.device.parity import device_parity

    rec = _candidate_stream()
    path = tmp_path / "candidates.csv"
    write_csv(path, rec)
    pipe = Pipeline(APP)
    res = pipe.run(prepare(APP, rec, notice=False))
    thr = APP.pipeline.PostProcessor(M, pipe.model.output.scale, pipe.model.output.zero_point).threshold_q
    candidates = int((res.scores_q[:, M.labels.index("fall")] >= thr).sum())
    assert candidates > len(res.events) >= 1  # alerts and rejected candidates both happen here
    p = device_parity(APP, "host", path)
    assert p.ok, "\n".join(p.mismatches)
    assert p.device_events == p.python_events


# --- predict on a fall recorded at 20-200 Hz ----------------------------------------------------------------


@pytest.mark.parametrize("rate", [20, 25, 50, 100, 200])
def test_predict_catches_a_fall_at_every_sensor_rate(tmp_path, rate):
    """An unseen simulated wearer walks, sits, stands up, walks and falls (forward trip), recorded by a
    sensor at `rate` (its own anti-alias filter, clock error and jitter); `predict` resamples to the device
    rate and must raise exactly one alert, between the impact and 4 s after it."""
    gen = dataset_module("synthetic-falls")
    rec = gen.scene(rate=float(rate), channels=M.channels, seed=11, subject=901, fall_code="F04")
    path = tmp_path / f"fall_{rate}hz.csv"
    write_csv(path, rec)
    events = [e for e in predict_file(APP, path, events_only=True) if "event" in e]
    impact = rec.events[0][0]
    assert len(events) == 1, events
    assert impact <= events[0]["t"] <= impact + 4.0


def test_predict_catches_a_fall_from_a_jittery_20hz_tag(tmp_path, capsys):
    """A BLE tag at about 20 Hz: timestamps jitter by a few ms and 3 % of the samples never arrive. The
    readers resample it onto a steady grid with a notice; the fall is still caught, once."""
    gen = dataset_module("synthetic-falls")
    rec = gen.scene(rate=20.0, channels=M.channels, seed=12, subject=902, fall_code="F01")
    rng = np.random.default_rng(0)
    n = len(rec.signal)
    t_ms = np.arange(n) * 50.0 + rng.normal(0, 4.0, n)
    keep = np.sort(rng.choice(n, size=int(0.97 * n), replace=False))
    path = tmp_path / "tag.csv"
    with path.open("w") as f:
        f.write("timestamp,ax,ay,az\n")
        for k in keep:
            f.write(f"{t_ms[k]:.1f}," + ",".join(f"{v:.5f}" for v in rec.signal[k]) + "\n")
    events = [e for e in predict_file(APP, path, events_only=True) if "event" in e]
    impact = rec.events[0][0]
    assert len(events) == 1 and impact <= events[0]["t"] <= impact + 4.0, events
    assert "notice" in capsys.readouterr().err


def test_a_short_trial_whose_impact_leaves_no_whole_window_gives_no_examples_not_a_crash():
    """Held-out evaluation asks for one trial's windows at a time: a real 5 s fall trial (MobiFall, SmartFallMM)
    whose impact comes 0.6 s in has no window with the impact in place and no whole window before it."""
    from tinyml.features import FeatureExtractor

    x = np.tile(np.float32([0.0, -1.0, 0.0]), (int(5 * RATE), 1))
    x[30] = [0.0, -4.0, 0.0]
    rec = Recording(x, RATE, tuple(M.channels), subject="s", label="fall", activity="A10", events=[(0.6, "fall")])
    fx = FeatureExtractor(M)
    X, y = APP.pipeline.make_examples([rec], fx, M, np.random.default_rng(0), False)
    assert X.shape == (0, *fx.input_shape()) and y.shape == (0,)
