"""The verbs as a user runs them: `tinyml run|flash|size <app>` on the fixture app (given as a path)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from fwtest import FIXTURE_APPS, demo_signal, fixture_app, need
from mean_alarm import predict_lines

APP = str(FIXTURE_APPS / "mean-alarm")


def tinyml(*args, timeout=120, env=None):
    exe = os.path.join(os.path.dirname(sys.executable), "tinyml")
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})


@pytest.mark.parametrize("board", ["host", "qemu-m4"])
def test_run_prints_predict_lines(board):
    need("gcc", "arm-none-eabi-gcc", "qemu-system-arm")
    app = fixture_app()
    r = tinyml("run", APP, "--board", board, "--input", str(app.dir / "demo.csv"), "--summary-json")
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    summary = lines.pop()["device"]
    assert lines == predict_lines(demo_signal(app), app.manifest)
    assert summary["board"] == board and summary["faults"] == 0 and summary["flash"] > 0 and summary["ram"] > 0
    assert summary["per_inference"] > 0
    if board == "qemu-m4":
        assert summary["cost_unit"] == "instructions" and "estimate_ms_per_inference" in summary
        assert summary["stack_measured"] > 0
        assert "instructions per inference" in r.stderr


def test_flash_default_board_replays_the_demo_events():
    need("arm-none-eabi-gcc", "qemu-system-arm")
    app = fixture_app()
    r = tinyml("flash", APP)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert lines == predict_lines(demo_signal(app), app.manifest, events_only=True)
    assert "qemu-m4: flash" in r.stderr and "RAM" in r.stderr and "instructions per inference" in r.stderr


def test_flash_real_board_dry_run_prints_the_recipe():
    need("arm-none-eabi-gcc")
    r = tinyml("flash", APP, "--board", "nano33ble", "--port", "/dev/ttyUSB7", "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "bossac -d --port=/dev/ttyUSB7 -U -i -e -w" in r.stderr and "mean-alarm.bin -R" in r.stderr
    r = tinyml("run", APP, "--board", "nucleo-l4r5zi", "--input", str(fixture_app().dir / "demo.csv"))
    assert r.returncode == 2 and "--port /dev/ttyACM0" in r.stderr
    r = tinyml("run", APP, "--board", "nucleo-l4r5zi", "--input", str(fixture_app().dir / "demo.csv"),
               env={"TINYML_MAKE": "1"})  # as `make ... run` runs it
    assert r.returncode == 2 and "PORT=/dev/ttyACM0" in r.stderr and "--port" not in r.stderr


def test_size_lists_every_board():
    need("gcc", "arm-none-eabi-gcc")
    r = tinyml("size", APP, "--json")
    assert r.returncode == 0, r.stderr
    rows = {json.loads(x)["board"]: json.loads(x) for x in r.stdout.splitlines()}
    assert {"host", "qemu-m4", "nucleo-l4r5zi", "nano33ble"} <= set(rows)
    assert all(v["problems"] == [] for v in rows.values())
    assert rows["nano33ble"]["ram_capacity"] == 256 * 1024


def test_user_errors_are_one_line(tmp_path):
    r = tinyml("run", APP, "--board", "host")
    assert r.returncode == 2 and r.stderr.startswith("error: no input")
    r = tinyml("run", APP, "--board", "nope", "--input", str(fixture_app().dir / "demo.csv"))
    assert r.returncode == 2 and "unknown board" in r.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("time_ms,x\n0,1\n")
    r = tinyml("run", APP, "--board", "host", "--input", str(bad))
    assert r.returncode == 2 and "lacks column" in r.stderr


def test_flash_real_board_never_installs_its_flasher_silently():
    """Without a terminal to ask at and without --yes (YES=1), a missing flashing tool is one line saying how to
    install it; nothing is installed."""
    need("arm-none-eabi-gcc")
    import shutil

    if shutil.which("openocd"):
        pytest.skip("openocd is installed")
    r = tinyml("flash", APP, "--board", "nucleo-l4r5zi")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 2, r.stderr  # the recipe, then the error
    assert r.stderr.splitlines()[-1] == ("error: openocd not found (flashing nucleo-l4r5zi needs it); install it: "
                                         "apt-get install -y openocd, or give --yes to let tinyml install it")
    assert not shutil.which("openocd")


def test_a_port_goes_to_the_real_board_and_an_emulated_board_without_one_refuses_it():
    """`flash board=avr-uno PORT=...` (a real Uno, README) ran the simulator and said PASS, the port ignored; an
    emulated board given a port (board= forgotten) replayed on QEMU instead of the device on that port."""
    need("avr-gcc")
    r = tinyml("flash", "soil-monitoring", "--board", "avr-uno", "--port", "/dev/ttyUSB7", "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "flash: avrdude -p atmega328p -c arduino -P /dev/ttyUSB7" in r.stderr, r.stderr
    for verb in (["flash", APP], ["run", APP, "--input", str(fixture_app().dir / "demo.csv")]):
        r = tinyml(*verb, "--port", "/dev/ttyACM0", env={"TINYML_MAKE": "1"})
        assert r.returncode == 2 and len(r.stderr.splitlines()) == 1, r.stderr
        assert r.stderr.startswith("error: PORT=/dev/ttyACM0: board qemu-m4 has no serial port"), r.stderr


def test_a_serial_board_without_its_port_is_refused_before_any_build():
    """`run` on a board that streams over a serial port, with no port: said first (it was said after building the
    firmware, so a machine without the cross compiler got the compiler's error instead)."""
    r = tinyml("run", APP, "--board", "nucleo-l4r5zi", "--input", str(fixture_app().dir / "demo.csv"))
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1, r.stderr
    assert r.stderr.startswith("error: board nucleo-l4r5zi streams over a serial port: add --port /dev/ttyACM0"), r.stderr
