"""What the pipeline emits besides scores, end to end, on the values-probe fixture app (values, beats, an
event that is no model class, and an event finished by the end-of-input flush): `tinyml predict`'s lines, the firmware's frames for them, the
parity check (values bit for bit, beats exactly) and `tinyml run` printing predict's lines."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from fwtest import FIXTURE_APPS, need

from apptest import run_cli
from tinyml.apps import load_app
from tinyml.predict import predict_file
from tinyml.recording import Recording, read_recording

APP_DIR = FIXTURE_APPS / "values-probe"


def make_demo(n: int = 619) -> np.ndarray:
    """x: a sine (a beat every 8 samples) with a flat stretch (no beats: the rate is NaN); y: steps that
    switch the model's "c" on and off, the last window alone high (only the flush can raise it); the
    4 samples after the last window (615 of 619) hold a beat."""
    rng = np.random.default_rng(11)
    t = np.arange(n)
    x = np.sin(2 * np.pi * t / 8 + 0.3).astype(np.float32)
    x[200:280] = 0.5
    y = np.full(n, -3.0, np.float32)
    for a, b in [(100, 160), (330, 420)]:
        y[a:b] = 3.0
    y[n - 18 :] = 3.0
    y += rng.normal(0, 0.3, n).astype(np.float32)
    return np.stack([x, y], 1).astype(np.float32)


def _app(root=FIXTURE_APPS):
    return load_app("values-probe", root=root)


def test_demo_is_the_documented_scene():
    app = _app()
    rec = read_recording(app.dir / "demo.csv", app.manifest.channels)
    np.testing.assert_array_equal(rec.signal, make_demo())


def _predict(app, events_only=False):
    return [json.loads(json.dumps(x)) for x in predict_file(app, app.dir / "demo.csv", events_only=events_only)]


def test_predict_prints_values_beats_and_the_flushed_event():
    pytest.importorskip("tflite_micro")
    app = _app()
    lines = _predict(app)
    windows = [x for x in lines if "scores" in x]
    beats = [x for x in lines if "beat" in x]
    events = [x for x in lines if "event" in x]
    assert len(windows) == 60 and len(lines) == len(windows) + len(beats) + len(events)
    assert all(list(w["values"]) == ["mean_x", "peak_y", "beats_per_min"] for w in windows)
    rates = [w["values"]["beats_per_min"] for w in windows]
    assert None in rates and 375.0 in rates  # NaN -> null; 8 samples per beat at 50 Hz = 375 / min
    peak = max(w["values"]["peak_y"] for w in windows)
    assert np.float32(peak) == np.abs(make_demo()[:, 1]).max()  # the shortest text of the same float32
    assert {b["beat"] for b in beats} == {"up", "down"} and beats[-1] == {"t": 12.32, "beat": "up"}
    # "c" from the model (the last at the end of the input: the flush), "still" from [app] extra_events
    assert [(e["t"], e["event"]) for e in events] == [(2.9, "c"), (4.5, "still"), (7.1, "c"), (12.38, "c")]
    # time order; at equal t a beat, then the window, then its events
    kinds = {"beat": 0, "scores": 1, "event": 2}
    key = [(x["t"], next(v for k, v in kinds.items() if k in x)) for x in lines]
    assert key == sorted(key)
    assert _predict(app, events_only=True) == events


@pytest.mark.parametrize("board", ["host", "qemu-m4"])
def test_device_matches_predict(board):
    need("gcc") if board == "host" else need("arm-none-eabi-gcc", "qemu-system-arm")
    pytest.importorskip("tflite_micro")
    from tinyml.device.parity import device_parity

    app = _app()
    p = device_parity(app, board, app.dir / "demo.csv", timeout_s=120)
    assert p.ok, "\n".join(p.mismatches)
    assert p.windows == 60 and len(p.python_beats) > 60
    assert p.python_events[-1][0] == 619  # the flushed event made it through END


def test_run_prints_the_predict_lines():
    need("gcc")
    pytest.importorskip("tflite_micro")
    app = _app()
    r = run_cli("run", str(APP_DIR), "--board", "host", "--input", str(APP_DIR / "demo.csv"))
    assert r.returncode == 0, r.stderr
    assert [json.loads(x) for x in r.stdout.splitlines()] == _predict(app)


@pytest.mark.parametrize("drift", ["value", "beat"])
def test_parity_catches_a_value_or_beat_drift(tmp_path, drift):
    need("gcc")
    pytest.importorskip("tflite_micro")
    from tinyml.device.parity import device_parity

    d = tmp_path / "values-probe"
    shutil.copytree(APP_DIR, d)
    src = d / "firmware" / "app.c"
    old, new = {"value": ("sum / (float)WINDOW", "sum * (1.0f / (float)WINDOW)"),  # one rounding apart
                "beat": ("tml_app_samples() - 1u", "tml_app_samples()")}[drift]  # off by one sample
    assert old in src.read_text()
    src.write_text(src.read_text().replace(old, new))
    p = device_parity(_app(tmp_path), "host", d / "demo.csv", timeout_s=120)
    assert not p.ok
    assert any(("values" if drift == "value" else "beats differ") in x for x in p.mismatches), p.mismatches


def write_demo():
    """Rewrite demo.csv from make_demo() (by hand, after a change to the scene)."""
    from tinyml.fixtures import write_csv

    write_csv(APP_DIR / "demo.csv", Recording(make_demo(), 50.0, ("x", "y")))


def test_golden_vectors_carry_values_and_beats(tmp_path):
    pytest.importorskip("tflite_micro")
    from tinyml.fixtures import load_golden, regenerate_golden
    from tinyml.predict import Pipeline

    d = tmp_path / "values-probe"
    shutil.copytree(APP_DIR, d)
    (d / "demo.truth.json").write_text(json.dumps({"feature_version": 1, "events": []}))
    app = _app(tmp_path)
    regenerate_golden(app)
    g = load_golden(app)
    res = Pipeline(app).run(make_demo())
    assert g["values"].dtype == np.float32 and g["values"].shape == (60, 3)
    assert g["values"].view(np.uint32).tolist() == res.values.view(np.uint32).tolist()
    assert g["beats"].tolist() == [list(b) for b in res.beats] and len(res.beats) > 60


def test_a_firmware_built_for_other_values_is_refused():
    need("gcc")
    from tinyml.device.firmware import build_app
    from tinyml.device.runner import open_transport, stream_signal
    from tinyml.errors import TinymlError

    app = _app()
    im = build_app(app, "host")
    with pytest.raises(TinymlError, match="device reports 3 values, the manifest has 1"):
        stream_signal(open_transport(im.board, im.elf), make_demo()[:50], labels=app.manifest.labels,
                      values=["hr_bpm"], timeout_s=30)
