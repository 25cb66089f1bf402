"""Contract tests: every discovered app is held to these, with no registration anywhere."""

from __future__ import annotations

import json

import numpy as np

from tinyml.features import FeatureExtractor
from tinyml.fixtures import demo_path, truth_events, truth_path
from tinyml.metrics import match_events
from tinyml.predict import read_input

from apptest import check_committed_models, check_golden_replay, golden_models, run_cli


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
    for name, spec in app.manifest.models.items():  # each further model's examples hook and builder
        assert callable(getattr(p, spec["examples"], None)), f"pipeline.py lacks {spec['examples']}() ([models.{name}])"
        assert callable(getattr(p, spec["builder"], None)), f"pipeline.py lacks {spec['builder']}() ([models.{name}])"
    assert callable(getattr(p, "make_demo", None))


def test_committed_model_matches_manifest(app):
    check_committed_models(app)


def test_golden_vectors_replay(app):
    """Demo recording -> int8 inputs -> TFLM scores -> values, beats, events (and each further model's calls):
    identical to the committed golden vectors (values bit for bit)."""
    check_golden_replay(app)


def test_golden_check_can_fail(app):
    """One flipped input byte changes each model's outputs somewhere: the replay above is not vacuous."""
    for name, model, x in golden_models(app):
        base = model.invoke(x)
        changed = False
        for i in range(0, x.size, max(1, x.size // 64)):
            y = x.copy().reshape(-1)
            y[i] = np.int8(127 if y[i] < 0 else -128)
            changed |= not np.array_equal(model.invoke(y.reshape(x.shape)), base)
        assert changed, name or "model"


def test_predict_demo_finds_the_expected_events(app):
    """`tinyml predict` on the committed demo raises exactly the ground-truth events, in time."""
    m = app.manifest
    truth = truth_events(json.loads(truth_path(app).read_text()))
    res = run_cli("predict", app.id, str(demo_path(app)), "--events-only")
    assert res.returncode == 0, res.stderr
    events = [json.loads(line) for line in res.stdout.splitlines()]
    assert all("event" in e for e in events)
    before = m.postprocess.get("detect_before_s", 1.0)
    after = m.postprocess.get("detect_after_s", 10.0)
    # the held-out metrics' rule: from `before` ahead of the event (or its fault's onset, where the truth
    # gives one and it is earlier: a fault named only once it has shown enough evidence) to `after` past it
    pairs, _ = match_events(truth, [(e["t"], e["event"]) for e in events], before, after)
    for gt, got in pairs:
        assert got is not None, f"missed {gt} in {events}"
    assert len(events) == len(truth), f"expected {len(truth)} events, got {events}"


def test_predict_output_format(app):
    res = run_cli("predict", app.id, str(demo_path(app)))
    assert res.returncode == 0, res.stderr
    lines = [json.loads(x) for x in res.stdout.splitlines()]
    windows = [x for x in lines if "scores" in x]
    fx = FeatureExtractor(app.manifest)
    n = len(read_input(app, demo_path(app)).signal)
    assert len(windows) == fx.n_windows(n)
    assert set(windows[0]["scores"]) == set(app.manifest.labels)
    m = app.manifest
    assert all(list(w.get("values", {})) == m.values for w in windows)
    assert all(x["beat"] in m.beat_labels for x in lines if "beat" in x)
    if m.model["output"] == "multilabel":  # a sigmoid per label: each a probability, no sum to 1
        assert all(0 <= v <= 1 for w in windows for v in w["scores"].values())
    else:
        assert all(abs(sum(w["scores"].values()) - 1) < 0.05 for w in windows)
    ts = [x["t"] for x in lines]
    assert ts == sorted(ts)


def test_smoke_training_run(app, tmp_path):
    res = run_cli("train", app.id, "--smoke", "--out", str(tmp_path))
    assert res.returncode == 0, res.stderr[-2000:]
    card = json.loads((tmp_path / "card.json").read_text())
    assert card["smoke"] and card["feature_hash"] == app.manifest.feature_hash()
    assert (tmp_path / "model.int8.tflite").stat().st_size > 0
    for name, spec in app.manifest.models.items():  # every further model trained, quantized and scored too
        assert app.model_path(name, tmp_path).stat().st_size > 0
        assert ("balanced_accuracy" if spec["output"] == "classes" else "mae") in card["models"][name]["metrics"]["int8"]
    for png in ("training.png", "confusion.png", "example.png"):
        assert (tmp_path / png).stat().st_size > 1000
