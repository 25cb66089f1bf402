"""`tinyml new` copies apps/_template into an app that is discovered and green with no other edit, whatever
its name (the README's my-gesture, a longer id, a one-word id that is also a variable name in the core)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tinyml.app_names import core_mentions
from tinyml.apps import App
from tinyml.fixtures import demo_path, load_golden
from tinyml.manifest import load_manifest
from tinyml.predict import Pipeline, prepare, read_input

from apptest import ROOT, run_cli, template_repo


@pytest.mark.parametrize("new_id", ["my-gesture", "heart-rate-x", "a1"])
def test_new_app_from_template(tmp_path, new_id):
    root = template_repo(tmp_path, "_template")
    env = {"TINYML_ROOT": str(root)}

    res = run_cli("new", new_id, env=env)
    assert res.returncode == 0, res.stderr
    res = run_cli("new", new_id, env=env)
    assert res.returncode == 2 and "already exists" in res.stderr
    res = run_cli("new", "Bad_Name", env=env)
    assert res.returncode == 2 and "kebab-case" in res.stderr

    res = run_cli("apps", env=env)
    assert res.returncode == 0 and res.stdout.startswith(new_id), res.stdout
    # the guard test holds with the new app among the apps
    assert not core_mentions([new_id], [ROOT / "shared", ROOT / "firmware"])
    m = load_manifest(root / "apps" / new_id / "app.toml", expected_id=new_id)
    app = App(new_id, root / "apps" / new_id)

    # the copied model, golden vectors and demo hold for the new app as they are
    card = json.loads((app.model_dir / "card.json").read_text())
    assert card["feature_hash"] == m.feature_hash()
    res = run_cli("predict", new_id, str(demo_path(app)), "--events-only", env=env)
    assert res.returncode == 0, res.stderr
    truth = json.loads(demo_path(app).with_suffix(".truth.json").read_text())["events"]
    assert len(res.stdout.splitlines()) == len(truth)
    g = load_golden(app)
    out = Pipeline(app).run(prepare(app, read_input(app, demo_path(app)), notice=False))
    np.testing.assert_array_equal(out.scores_q, g["scores_q"])

    # and its firmware agrees with Python on the emulated board
    from tinyml.device.parity import device_parity

    par = device_parity(app, "qemu-m4", timeout_s=120)
    assert par.ok, par.mismatches
