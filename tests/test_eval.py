"""`tinyml eval` re-evaluates the committed model and fails (exit 2, one line) when a floor is missed."""

from __future__ import annotations

from apptest import run_cli, template_repo


def _template_repo(tmp_path, floors: dict):
    root = template_repo(tmp_path, "demo-app")
    toml = root / "apps" / "demo-app" / "app.toml"
    text = toml.read_text().replace('id = "template-app"', 'id = "demo-app"')
    for key, value in floors.items():
        text = text.replace(f"\n{key} = ", f"\n{key} = {value}  # was ")
    toml.write_text(text)
    return {"TINYML_ROOT": str(root), "TINYML_CACHE": str(tmp_path / "cache")}


def test_eval_passes_on_met_floors(tmp_path):
    res = run_cli("eval", "demo-app", env=_template_repo(tmp_path, {}))
    assert res.returncode == 0, res.stderr
    assert "acceptance floors met" in res.stderr


def test_eval_fails_on_missed_floor(tmp_path):
    res = run_cli("eval", "demo-app", env=_template_repo(tmp_path, {"sensitivity": 1.01, "max_model_bytes": 100}))
    assert res.returncode == 2, res.stderr
    line = res.stderr.strip().splitlines()[-1]
    assert line.startswith("error: demo-app misses its acceptance floors")
    assert "sensitivity" in line and "model_bytes" in line


def test_class_weights_modes():
    import numpy as np
    import pytest

    from tinyml.train import class_weights

    y = np.array([0] * 90 + [1] * 10)
    b = class_weights(y, 2, "balanced")
    assert b[0] * 90 == pytest.approx(b[1] * 10)  # each class weighs the same in total
    s = class_weights(y, 2, "sqrt")
    assert s[1] == pytest.approx(np.sqrt(b[1])) and s[0] == pytest.approx(np.sqrt(b[0]))
    assert class_weights(y, 2, "none") == {0: 1.0, 1: 1.0}
