"""Deployment sections reach the firmware as TML_CFG_<SECTION>_<KEY>, and `run --set` rebuilds the firmware
with the overridden values, in a build keyed by the effective config (never a stale image)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
from fwtest import copy_fixture, demo_signal, need
from mean_alarm import predict_lines

from tinyml.apps import load_app
from tinyml.paths import repo_root

ROOT = repo_root()
from tinyml.device.config import config_defines, write_app_config

PROBE = r"""
#include <stdio.h>
#include "app_config.h"
static const float orders[] = TML_CFG_MACHINE_DEFECT_ORDERS;
int main(void) {
    printf("%a|%d|%s|%d\n", (double)TML_CFG_MACHINE_SHAFT_HZ, TML_CFG_MACHINE_BALLS, TML_CFG_MACHINE_BEARING,
           TML_CFG_MACHINE_BEARING_INDEX);
    printf("%d|%a|%a|%d|%s\n", TML_CFG_MACHINE_DEFECT_ORDERS_LEN, (double)orders[0], (double)orders[1],
           TML_CFG_MACHINE_HAS_TACHO, TML_CFG_FIELD_SOIL);
    return 0;
}
"""

DEPLOYMENT = """
[machine]
shaft_hz = 29.95
balls = 9
bearing = "6205"
defect_orders = [3.585, 5.415]
has_tacho = false

[machine.allowed]
bearing = ["6203", "6205"]

[field]
soil = "loam"
"""


def _scratch(tmp_path, deployment: str, sections: str):
    d = copy_fixture(tmp_path)
    toml = d / "app.toml"
    text = toml.read_text().replace('event_labels = ["loud"]', f'event_labels = ["loud"]\ndeployment = {sections}')
    toml.write_text(text + deployment)
    return d


def _probe(tmp_path, m) -> list[str]:
    gen = write_app_config(m, tmp_path / "gen")
    (tmp_path / "probe.c").write_text(PROBE)
    exe = tmp_path / "probe"
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", f"-I{gen.parent}", str(tmp_path / "probe.c"),
                    "-o", str(exe)], check=True)
    return subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.splitlines()


def test_deployment_section_compiles_into_app_config(tmp_path):
    need("gcc")
    d = _scratch(tmp_path, DEPLOYMENT, '["machine", "field"]')
    m = load_app("mean-alarm", root=d.parent).manifest
    out = _probe(tmp_path, m)
    hz, balls, bearing, index = out[0].split("|")
    assert float.fromhex(hz) == float(np.float32(29.95)) and balls == "9" and bearing == "6205" and index == "1"
    n, o1, o2, tacho, soil = out[1].split("|")
    assert n == "2" and float.fromhex(o1) == float(np.float32(3.585)) and float.fromhex(o2) == float(np.float32(5.415))
    assert tacho == "0" and soil == "loam"
    # an override changes the generated values, nothing else
    m2 = load_app("mean-alarm", root=d.parent, overrides=["machine.shaft_hz=24.5", "machine.bearing=6203",
                                                          "field.soil=clay"]).manifest
    out = _probe(tmp_path, m2)
    assert float.fromhex(out[0].split("|")[0]) == 24.5
    assert out[0].split("|")[2:] == ["6203", "0"] and out[1].endswith("|clay")
    d1, d2 = config_defines(m), config_defines(m2)
    assert {k for k in d1 if d1[k] != d2.get(k)} == {"TML_CFG_MACHINE_SHAFT_HZ", "TML_CFG_MACHINE_BEARING",
                                                     "TML_CFG_MACHINE_BEARING_INDEX", "TML_CFG_FIELD_SOIL"}


def _tinyml(root, *args, timeout=180):
    """The CLI in a scratch repository (its build/ there too)."""
    exe = os.path.join(os.path.dirname(sys.executable), "tinyml")
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "TINYML_ROOT": str(root)})


def test_run_with_set_rebuilds_the_firmware_with_the_override(tmp_path):
    """The fixture's alarm level moves to a deployment section [alarm] read by its C code; `run --set
    alarm.level=...` then gives the events the Python twin gives with that level, and the default image
    is not touched."""
    need("gcc")
    d = _scratch(tmp_path, "\n[alarm]\nlevel = 2.5\n", '["alarm"]')
    root = d.parent.parent
    (root / "firmware").symlink_to(ROOT / "firmware")
    c = d / "firmware" / "app.c"
    c.write_text(c.read_text().replace("TML_CFG_POSTPROCESS_THRESHOLD", "TML_CFG_ALARM_LEVEL"))
    base = load_app("mean-alarm", root=d.parent)
    sig = demo_signal(base)

    def run(*sets):
        args = [a for s in sets for a in ("--set", s)]
        r = _tinyml(root, "run", str(d), "--board", "host", "--input", str(d / "demo.csv"), "--events-only", *args)
        assert r.returncode == 0, r.stderr
        return [json.loads(x) for x in r.stdout.splitlines()]

    default = run()
    assert default == predict_lines(sig, base.manifest, events_only=True)
    for level in ("1.5", "3.25"):
        twin = load_app("mean-alarm", root=d.parent, overrides=[f"postprocess.threshold={level}"]).manifest
        got = run(f"alarm.level={level}")
        assert got == predict_lines(sig, twin, events_only=True)
        assert got != default
    assert run() == default  # the default image is still the manifest's
    built = sorted(p.name for p in (root / "build" / "mean-alarm").iterdir())
    assert len([b for b in built if b.startswith("set-")]) == 2 and "host" in built
    r = _tinyml(root, "run", str(d), "--board", "host", "--input", str(d / "demo.csv"), "--set", "alarm.level=x")
    assert r.returncode == 2 and r.stderr.strip() == (
        "error: --set alarm.level=x: [alarm.level] must be int or float, got str 'x'")
