"""`tinyml new` copies apps/_template into an app that is discovered and green with no other edit."""

from __future__ import annotations

import json

import numpy as np

from tinyml.apps import App
from tinyml.fixtures import demo_path, load_golden
from tinyml.manifest import load_manifest
from tinyml.predict import Pipeline, prepare
from tinyml.recording import read_recording

from apptest import run_cli, template_repo


def test_new_app_from_template(tmp_path):
    root = template_repo(tmp_path, "_template")
    env = {"TINYML_ROOT": str(root)}

    res = run_cli("new", "my-gesture", env=env)
    assert res.returncode == 0, res.stderr
    res = run_cli("new", "my-gesture", env=env)
    assert res.returncode == 2 and "already exists" in res.stderr
    res = run_cli("new", "Bad_Name", env=env)
    assert res.returncode == 2 and "kebab-case" in res.stderr

    res = run_cli("apps", env=env)
    assert res.returncode == 0 and res.stdout.startswith("my-gesture"), res.stdout
    m = load_manifest(root / "apps" / "my-gesture" / "app.toml", expected_id="my-gesture")
    app = App("my-gesture", root / "apps" / "my-gesture")

    # the copied model, golden vectors and demo hold for the new app as they are
    card = json.loads((app.model_dir / "card.json").read_text())
    assert card["feature_hash"] == m.feature_hash()
    res = run_cli("predict", "my-gesture", str(demo_path(app)), "--events-only", env=env)
    assert res.returncode == 0, res.stderr
    truth = json.loads(demo_path(app).with_suffix(".truth.json").read_text())["events"]
    assert len(res.stdout.splitlines()) == len(truth)
    g = load_golden(app)
    out = Pipeline(app).run(prepare(app, read_recording(demo_path(app), m.channels), notice=False))
    np.testing.assert_array_equal(out.scores_q, g["scores_q"])

    # and its firmware agrees with Python on the emulated board
    from tinyml.device.parity import device_parity

    par = device_parity(app, "qemu-m4", timeout_s=120)
    assert par.ok, par.mismatches
