"""`make fleet` in miniature: a few simulated devices through two gateway processes to a local mosquitto; the
report line says how many events arrived, their rate and latency, and that none was lost."""

from __future__ import annotations

import re
import shutil

import pytest

from apptest import run_cli

pytestmark = [pytest.mark.xdist_group("mqtt")]


def test_a_small_fleet_loses_nothing():
    if not shutil.which("mosquitto"):
        pytest.fail("mosquitto is not installed: run tinyml system-deps mqtt (make test does)")
    r = run_cli("fleet", "--devices", "6", "--gateways", "2", "--seconds", "2", "--events-per-second", "3",
                timeout=600)
    assert r.returncode == 0, r.stderr + r.stdout
    mo = re.search(r"fleet: (\d+) of (\d+) events .*; (\d+) events/s while they flowed; latency p50 ([\d.]+) ms, "
                   r"p99 ([\d.]+) ms, max [\d.]+ ms; \d+ duplicates dropped; lost (\d+)", r.stdout)
    assert mo, r.stdout
    got, expected, rate, p50, p99, lost = mo.groups()
    assert int(got) == int(expected) >= 6 and int(lost) == 0
    assert float(p50) <= float(p99)
