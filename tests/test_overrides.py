"""`--set section.key=value` and deployment sections: validated like the manifest, with the same messages,
naming the --set (or the file) that caused the problem."""

from __future__ import annotations

import pytest

from tinyml.errors import TinymlError
from tinyml.manifest import load_manifest

from apptest import ROOT

GOOD = (ROOT / "apps" / "_template" / "app.toml").read_text()

DEPLOYED = GOOD.replace('description = ', 'deployment = ["machine", "field"]\ndescription = ') + '''
[machine]
shaft_hz = 29.95                 # Hz
balls = 9
bearing = "6205"
defect_orders = [3.585, 5.415]
has_tacho = false

[machine.allowed]
shaft_hz = [1, 500]
bearing = ["6203", "6205", "6206"]

[field]
soil = "loam"
'''


def _write(tmp_path, text, folder="scratch-app"):
    d = tmp_path / folder
    d.mkdir(exist_ok=True)
    (d / "app.toml").write_text(text)
    return d / "app.toml"


def _fails(path, sets, expect, where=None):
    with pytest.raises(TinymlError, match=expect) as e:
        load_manifest(path, overrides=sets)
    msg = str(e.value)
    assert "\n" not in msg
    assert msg.startswith(where or f"--set {sets[-1]}: "), msg
    return msg


def test_overrides_change_values_with_the_keys_type(tmp_path):
    p = _write(tmp_path, GOOD)
    m = load_manifest(p, overrides=["postprocess.threshold=0.75", "signal.rate=50", "model.params.filters=16",
                                    "postprocess.suppress_s=2", "dataset.name=other-data", "features.hop=8"])
    assert m.postprocess["threshold"] == 0.75 and m.signal["rate"] == 50 and m.model["params"] == {"filters": 16}
    assert m.postprocess["suppress_s"] == 2.0 and isinstance(m.postprocess["suppress_s"], float)  # float key
    assert m.dataset["name"] == "other-data" and m.features["hop"] == 8
    assert m.overrides == ("postprocess.threshold=0.75", "signal.rate=50", "model.params.filters=16",
                           "postprocess.suppress_s=2", "dataset.name=other-data", "features.hop=8")
    assert load_manifest(p).postprocess["threshold"] == 0.6  # the file is untouched
    assert m.feature_hash() != load_manifest(p).feature_hash()  # the rate and hop define the model input


@pytest.mark.parametrize("sets, expect", [
    (["nosuch.key=1"], r"\[nosuch\] unknown section; allowed: app, signal, "),
    (["postprocess.nosuch=1"], r"\[postprocess.nosuch\] unknown key; allowed: threshold, smooth, suppress_s"),
    (["signal.bogus=1"], r"\[signal.bogus\] unknown key; allowed: sensor, rate, channels"),
    (["model.params.nosuch=1"], r"\[model.params.nosuch\] unknown key; allowed: filters"),
    (["signal.rate=fast"], r"\[signal.rate\] must be int or float, got str 'fast'"),
    (["features.window=1.5"], r"\[features.window\] must be int, got float 1.5"),
    (["postprocess.smooth=2.5"], r"\[postprocess.smooth\] must be int, got float 2.5"),
    (["signal.rate=-5"], r"\[signal.rate\] must be > 0 Hz"),
    (["dataset.split=random"], r"\[dataset.split\] 'random' not allowed; allowed: subject"),
    (["app.id=other"], r"\[app.id\] cannot be overridden per run"),
    (["acceptance.sensitivity=0.1"], r"\[acceptance.sensitivity\] cannot be overridden per run"),
    (["postprocess.threshold"], r"expected section.key=value"),
])
def test_override_errors_are_the_manifests_naming_the_set(tmp_path, sets, expect):
    _fails(_write(tmp_path, GOOD), sets, expect)


def test_the_same_error_from_the_file_names_the_file(tmp_path):
    p = _write(tmp_path, GOOD.replace("rate = 100", "rate = -5"))
    _fails(p, [], r"\[signal.rate\] must be > 0 Hz", where=f"{p}: ")


def test_under_make_the_set_is_named_as_the_make_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYML_MAKE", "1")
    msg = _fails(_write(tmp_path, GOOD), ["signal.rate=fast"], "must be int or float", where="SET=signal.rate=fast: ")
    assert "--set" not in msg


def test_deployment_sections_load_and_override(tmp_path):
    p = _write(tmp_path, DEPLOYED)
    m = load_manifest(p)
    assert list(m.deployment) == ["machine", "field"]
    assert m.section("machine") == {"shaft_hz": 29.95, "balls": 9, "bearing": "6205",
                                    "defect_orders": [3.585, 5.415], "has_tacho": False}
    assert m.deployment_allowed["machine"] == {"shaft_hz": [1, 500], "bearing": ["6203", "6205", "6206"]}
    assert m.section("signal") is m.signal
    m = load_manifest(p, overrides=["machine.shaft_hz=24", "machine.bearing=6203", "field.soil=clay",
                                    "machine.defect_orders=[3.1, 4.9]", "machine.has_tacho=true"])
    assert m.deployment["machine"]["shaft_hz"] == 24.0 and m.deployment["machine"]["bearing"] == "6203"
    assert m.deployment["field"]["soil"] == "clay" and m.deployment["machine"]["defect_orders"] == [3.1, 4.9]
    assert m.deployment["machine"]["has_tacho"] is True


@pytest.mark.parametrize("sets, expect", [
    (["machine.shaft_hz=900"], r"\[machine.shaft_hz\] 900.0 out of range; allowed: 1 to 500"),
    (["machine.bearing=6300"], r"\[machine.bearing\] '6300' not allowed; allowed: 6203, 6205, 6206"),
    (["machine.rpm=1800"], r"\[machine.rpm\] unknown key; allowed: shaft_hz, balls, bearing, defect_orders, has_tacho"),
    (["machine.allowed=1"], r"\[machine.allowed\] unknown key"),
    (["machine.balls=8.5"], r"\[machine.balls\] must be int, got float 8.5"),
    (["machine.has_tacho=1"], r"\[machine.has_tacho\] must be bool, got int 1"),
    (["machine.shaft_hz=fast"], r"\[machine.shaft_hz\] must be int or float, got str 'fast'"),
    (["field.depth=1"], r"\[field.depth\] unknown key; allowed: soil"),
    (["patient.max_bpm=1"], r"\[patient\] unknown section; allowed: .*acceptance, .*machine, field"),
])
def test_deployment_override_errors(tmp_path, sets, expect):
    _fails(_write(tmp_path, DEPLOYED), sets, expect)


@pytest.mark.parametrize("edit, expect", [
    (lambda s: s.replace("shaft_hz = 29.95", "shaft_hz = 900.0"), r"\[machine.shaft_hz\] 900.0 out of range"),
    (lambda s: s.replace('bearing = "6205"', 'bearing = "6300"'), r"\[machine.bearing\] '6300' not allowed"),
    (lambda s: s.replace('deployment = ["machine", "field"]', 'deployment = ["machine"]'),
     r"\[field\] unknown section; allowed: .*machine \(a deployment section is named in \[app\] deployment\)"),
    (lambda s: s.replace('deployment = ["machine", "field"]', 'deployment = ["machine", "field", "patient"]'),
     r"\[patient\] is named in \[app\] deployment but the manifest has no such table"),
    (lambda s: s.replace('deployment = ["machine", "field"]', 'deployment = ["machine", "signal"]'),
     r"\[app.deployment\] 'signal' must be a new section name"),
    (lambda s: s.replace("balls = 9", "balls = { inner = 9 }"), r"\[machine.balls\] must be a number, boolean, string"),
    (lambda s: s.replace("shaft_hz = [1, 500]", "shaft_hz = [500, 1]"), r"\[machine.allowed.shaft_hz\] must be \[min, max\]"),
    (lambda s: s.replace("shaft_hz = [1, 500]", "rpm = [1, 500]"), r"\[machine.allowed.rpm\] names no key of \[machine\]"),
])
def test_deployment_errors_in_the_file(tmp_path, edit, expect):
    p = _write(tmp_path, edit(DEPLOYED))
    _fails(p, [], expect, where=f"{p}: ")
