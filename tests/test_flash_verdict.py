"""`flash` replaying the demo says whether the device's events were right: expected vs got, latency, PASS/FAIL."""

from __future__ import annotations

import json
import shutil

import pytest

from tinyml.apps import load_app
from tinyml.device.commands import demo_verdict
from tinyml.errors import TinymlError

from apptest import run_cli, template_repo


@pytest.fixture(scope="module")
def app():
    return load_app("fall-detect")  # alerts count from 1 s before to 10 s after the event


def verdict(app, tmp_path, truth, got):
    f = tmp_path / "demo.truth.json"
    f.write_text(json.dumps({"events": [{"t": t, "event": e} for t, e in truth]}))
    return demo_verdict(app, f, [{"t": t, "event": e, "score": 0.99} for t, e in got])


def test_detected_in_time_passes_with_its_latency(app, tmp_path):
    lines, ok = verdict(app, tmp_path, [(33.36, "fall")], [(36.0, "fall")])
    assert ok and "  expected fall at 33.36 s: got fall at 36.00 s (latency +2.64 s)" in lines
    assert lines[-1] == "PASS: 1 of 1 expected events, 0 unexpected"


@pytest.mark.parametrize("got, why", [
    ([], "MISSED"),
    ([(45.0, "fall")], "MISSED"),  # 11.6 s after: outside the window
    ([(36.0, "fall"), (80.0, "fall")], "unexpected fall at 80.00 s"),
])
def test_a_miss_or_a_false_alarm_fails(app, tmp_path, got, why):
    lines, ok = verdict(app, tmp_path, [(33.36, "fall")], got)
    assert not ok and any(why in x for x in lines) and lines[-1].startswith("FAIL: ")


def test_a_broken_truth_file_is_one_line(app, tmp_path):
    f = tmp_path / "demo.truth.json"
    f.write_text('{"events": [{"time": 3}]}')
    with pytest.raises(TinymlError, match=r"demo.truth.json: not a demo truth file") as e:
        demo_verdict(app, f, [])
    assert "\n" not in str(e.value)


def test_flash_prints_the_verdict_and_fails_when_the_device_is_wrong(tmp_path):
    if not shutil.which("gcc"):
        pytest.skip("gcc not installed")
    root = template_repo(tmp_path, "demo-app")
    toml = root / "apps" / "demo-app" / "app.toml"
    toml.write_text(toml.read_text().replace('id = "template-app"', 'id = "demo-app"'))
    env = {"TINYML_ROOT": str(root), "TINYML_CACHE": str(tmp_path / "cache")}
    res = run_cli("flash", "demo-app", "--board", "host", env=env)
    assert res.returncode == 0, res.stderr
    assert "PASS: " in res.stderr and "MISSED" not in res.stderr and "(latency +" in res.stderr
    truth = root / "apps" / "demo-app" / "fixtures" / "demo.truth.json"
    doc = json.loads(truth.read_text())
    doc["events"].append({"t": 5.0, "event": "burst"})  # between two bursts of the demo: nothing to see
    truth.write_text(json.dumps(doc))
    res = run_cli("flash", "demo-app", "--board", "host", env=env)
    assert res.returncode == 1
    assert "expected burst at 5.00 s: MISSED" in res.stderr and "FAIL: " in res.stderr
