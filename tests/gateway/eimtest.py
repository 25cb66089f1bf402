"""Helpers for the .eim tests: build once per app, start Edge Impulse's own runners without their hangs, and the
windows `tinyml predict` scores for the same samples."""

from __future__ import annotations

import csv
import functools
import threading
from pathlib import Path

import numpy as np
import pytest

from tinyml.apps import load_app
from tinyml.gateway.eim import build_eim, eim_spec


FIXTURE_APPS = Path(__file__).parents[1] / "firmware" / "fixtures"
# test-only apps with what no app in apps/ may have yet: [app] values and beats, a second model ([models.recon])
FIXTURES = ("two-models", "values-probe")


def any_app(name: str):
    return load_app(name, root=FIXTURE_APPS) if name in FIXTURES else load_app(name)


@functools.cache
def _built(app_dir: Path) -> Path:
    return build_eim(load_app(app_dir.name, root=app_dir.parent))


def eim_for(app) -> Path:
    if not app.tflite_path.is_file():
        pytest.skip(f"{app.id} has no committed model yet")
    return _built(app.dir)


def start(runner, timeout: float = 60.0) -> dict:
    """runner.init() in a thread: the SDK's init() loops forever when the model process dies before it creates its
    socket, so a broken .eim fails this test instead of hanging the suite."""
    out: dict = {}

    def go():
        try:
            out["info"] = runner.init()
        except BaseException as e:  # noqa: BLE001 - handed to the test thread
            out["error"] = e

    th = threading.Thread(target=go, daemon=True)
    th.start()
    th.join(timeout)
    if th.is_alive():
        proc = getattr(runner, "_runner", None)
        code = proc.poll() if proc is not None else None
        if proc is not None and code is None:
            proc.kill()
        pytest.fail(f"ImpulseRunner.init() did not return in {timeout:g} s (model process exit code {code})")
    if "error" in out:
        raise out["error"]
    return out["info"]


def demo_signal(app) -> np.ndarray:
    """The demo as `tinyml predict` reads it: device rate, manifest units, float32."""
    from tinyml.fixtures import demo_path
    from tinyml.predict import prepare, read_input

    return prepare(app, read_input(app, demo_path(app)), notice=False)


def as_features(app, window: np.ndarray) -> tuple[list, np.ndarray]:
    """(the classify list the SDK sends: interleaved axes, int16 values for audio; the float32 samples the app
    gets from it)."""
    spec = eim_spec(app)
    if spec.divisor != 1.0:
        pcm = np.clip(np.round(window * spec.divisor), -32768, 32767).astype(np.int16)
        return pcm.reshape(-1).tolist(), (pcm.astype(np.float32) / np.float32(spec.divisor)).astype(np.float32)
    w = window.astype(np.float32)
    return w.reshape(-1).tolist(), w


def write_csv(path: Path, app, window: np.ndarray) -> Path:
    """The window as a CSV a user would give `tinyml predict` (channels by name; NaN = missing), float32 exact."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(app.manifest.channels)
        for row in window:
            w.writerow(["nan" if not np.isfinite(v) else repr(float(v)) for v in row])
    return path


def predicted(app, window: np.ndarray, tmp_path: Path, overrides=()) -> dict:
    """`tinyml predict` on exactly this window: its last window line (scores, values) and its events."""
    from tinyml.predict import predict_file

    if overrides:
        app = load_app(app.id, root=app.dir.parent, overrides=overrides)
    lines = list(predict_file(app, write_csv(tmp_path / "window.csv", app, window), rate=app.manifest.rate))
    windows = [x for x in lines if "scores" in x]
    assert windows, "predict scored no window"
    return {"window": windows[-1], "events": [x for x in lines if "event" in x]}


def f32(x) -> np.float32:
    return np.float32(np.nan if x is None else x)


def assert_same_result(app, result: dict, want: dict) -> None:
    """The .eim's result and predict's lines agree: every score and value as the same float32 (predict prints
    scores to 4 decimals, so those compare at that precision; the .eim's own digits read back exactly), the
    anomaly value, and the events (name, time, score)."""
    cls = result["classification"]
    assert list(cls) == app.manifest.labels
    for lab, p in want["window"]["scores"].items():
        assert round(float(f32(cls[lab])), 4) == p, (lab, cls[lab], p)
    names = app.manifest.values
    if names:
        got = result["values"]
        assert list(got) == names
        for n in names:
            a, b = f32(got[n]), f32(want["window"]["values"][n])
            assert (np.isnan(a) and np.isnan(b)) or a == b, (n, got[n], want["window"]["values"][n])
        spec = eim_spec(app)
        if spec.anomaly_value >= 0:
            assert f32(result["anomaly"]) == f32(got[names[spec.anomaly_value]]) or np.isnan(f32(result["anomaly"]))
    ev = [(e["event"], round(e["t"], 3), round(float(f32(e["score"])), 4)) for e in result["events"]]
    assert ev == [(e["event"], e["t"], e["score"]) for e in want["events"]]


def exact_scores(app, window: np.ndarray) -> np.ndarray:
    """The last window's scores as float32 from the Python pipeline (TFLM), for a bit-exact comparison."""
    from tinyml.predict import Pipeline

    pipe = Pipeline(app)
    res = pipe.run(window)
    o = pipe.model.output
    x = (res.scores_q[-1].astype(np.float32) - np.float32(o.zero_point)) * np.float32(o.scale)
    if eim_spec(app).multilabel:  # logits: the .eim reports sigmoid(logit), as predict prints it
        return np.float32(1) / (np.float32(1) + np.exp(-x, dtype=np.float32))
    return x
