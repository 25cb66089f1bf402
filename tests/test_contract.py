"""Contract tests: every discovered app is held to these, with no registration anywhere."""

from __future__ import annotations

import hashlib
import json

import numpy as np

from tinyml.features import FeatureExtractor
from tinyml.fixtures import demo_path, load_golden, truth_path
from tinyml.predict import Pipeline, prepare
from tinyml.recording import read_recording
from tinyml.reference import TflmModel

from apptest import run_cli


def test_pipeline_hooks(app):
    p = app.pipeline
    builder = app.manifest.model["builder"]
    assert callable(getattr(p, builder, None)), f"pipeline.py lacks {builder}()"
    assert callable(getattr(p, "make_examples", None))
    assert hasattr(p, "PostProcessor") and hasattr(p.PostProcessor, "step")
    if app.manifest.values:  # [app] values: the post-processor gives each window's measurements
        assert callable(getattr(p.PostProcessor, "window_values", None)), "PostProcessor lacks window_values()"
    if app.manifest.beat_labels:
        assert callable(getattr(p.PostProcessor, "take_beats", None)), "PostProcessor lacks take_beats()"
    assert callable(getattr(p, "make_demo", None))


def test_committed_model_matches_manifest(app):
    m = app.manifest
    data = app.tflite_path.read_bytes()
    card = json.loads((app.model_dir / "card.json").read_text())
    assert card["feature_hash"] == m.feature_hash(), "features changed since training: retrain"
    assert card["model_sha256"] == hashlib.sha256(data).hexdigest(), "card.json describes another model"
    assert not card["smoke"], "the committed model is a smoke run"
    assert len(data) <= m.acceptance.get("max_model_bytes", float("inf"))
    assert card["acceptance"]["met"], card["acceptance"]["failures"]
    assert (app.model_dir / "README.md").is_file()
    model = TflmModel(data)
    assert tuple(model.input.shape[1:]) == FeatureExtractor(m).input_shape()
    assert model.output.shape[-1] == len(m.labels)


def test_golden_vectors_replay(app):
    """Demo recording -> int8 inputs -> TFLM scores -> values, beats, events: identical to the committed
    golden vectors (values bit for bit)."""
    from tinyml.device.parity import values_differ

    g = load_golden(app)
    assert str(g["feature_hash"]) == app.manifest.feature_hash()
    pipe = Pipeline(app)
    res = pipe.run(prepare(app, read_recording(demo_path(app), app.manifest.channels), notice=False))
    np.testing.assert_array_equal(res.inputs_q, g["inputs_q"])
    np.testing.assert_array_equal(res.scores_q, g["scores_q"])
    assert [tuple(e) for e in g["events"].tolist()] == [tuple(e) for e in res.events]
    assert g["values"].shape == res.values.shape and not values_differ(res.values, g["values"]).any()
    assert [tuple(b) for b in g["beats"].tolist()] == [tuple(b) for b in res.beats]


def test_golden_check_can_fail(app):
    """One flipped input byte changes the model's scores somewhere: the replay above is not vacuous."""
    g = load_golden(app)
    model = TflmModel(app.tflite_path.read_bytes())
    x = g["inputs_q"][len(g["inputs_q"]) // 2].copy()
    base = model.invoke(x)
    changed = False
    for i in range(0, x.size, max(1, x.size // 64)):
        y = x.copy().reshape(-1)
        y[i] = np.int8(127 if y[i] < 0 else -128)
        changed |= not np.array_equal(model.invoke(y.reshape(x.shape)), base)
    assert changed


def test_predict_demo_finds_the_expected_events(app):
    """`tinyml predict` on the committed demo raises exactly the ground-truth events, in time."""
    m = app.manifest
    truth = json.loads(truth_path(app).read_text())["events"]
    res = run_cli("predict", app.id, str(demo_path(app)), "--events-only")
    assert res.returncode == 0, res.stderr
    events = [json.loads(line) for line in res.stdout.splitlines()]
    assert all("event" in e for e in events)
    before = m.postprocess.get("detect_before_s", 1.0)
    after = m.postprocess.get("detect_after_s", 10.0)
    for gt in truth:
        assert any(e["event"] == gt["event"] and gt["t"] - before <= e["t"] <= gt["t"] + after for e in events), (
            f"missed {gt} in {events}")
    assert len(events) == len(truth), f"expected {len(truth)} events, got {events}"


def test_predict_output_format(app):
    res = run_cli("predict", app.id, str(demo_path(app)))
    assert res.returncode == 0, res.stderr
    lines = [json.loads(x) for x in res.stdout.splitlines()]
    windows = [x for x in lines if "scores" in x]
    fx = FeatureExtractor(app.manifest)
    n = len(read_recording(demo_path(app), app.manifest.channels).signal)
    assert len(windows) == fx.n_windows(n)
    assert set(windows[0]["scores"]) == set(app.manifest.labels)
    m = app.manifest
    assert all(list(w.get("values", {})) == m.values for w in windows)
    assert all(x["beat"] in m.beat_labels for x in lines if "beat" in x)
    assert all(abs(sum(w["scores"].values()) - 1) < 0.05 for w in windows)
    ts = [x["t"] for x in lines]
    assert ts == sorted(ts)


def test_smoke_training_run(app, tmp_path):
    res = run_cli("train", app.id, "--smoke", "--out", str(tmp_path))
    assert res.returncode == 0, res.stderr[-2000:]
    card = json.loads((tmp_path / "card.json").read_text())
    assert card["smoke"] and card["feature_hash"] == app.manifest.feature_hash()
    assert (tmp_path / "model.int8.tflite").stat().st_size > 0
    for png in ("training.png", "confusion.png", "example.png"):
        assert (tmp_path / png).stat().st_size > 1000
