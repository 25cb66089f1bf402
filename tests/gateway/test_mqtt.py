"""The gateway against a real mosquitto (its own, on free loopback ports, with generated certificates, a password file
and the example ACL): every event arrives with the right payload (checked against the JSON Schema), nothing is lost
when the broker restarts or the gateway is killed mid-stream, garbage on a device link changes nothing, bad
credentials and unknown CAs get one line and a retry with backoff, and the ACL holds."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from apptest import APPS
from mqtttest import (TINYML, USERS, Collector, assert_events_match, broker, busiest_app, gateway_cmd, kill,
                      predicted_events, run_gateway, start_gateway, wait_until)
from tinyml.apps import load_app

pytestmark = [pytest.mark.xdist_group("mqtt")]


@pytest.fixture(autouse=True)
def _mosquitto():
    if not shutil.which("mosquitto"):
        pytest.fail("mosquitto is not installed: run tinyml system-deps mqtt (make test does)")


def with_model(app_id):
    app = load_app(app_id)
    if not app.tflite_path.is_file():
        pytest.skip(f"{app_id} has no committed model yet")
    return app


def test_every_event_of_the_demo_arrives_with_the_right_payload(app_id, tmp_path):
    app = with_model(app_id)
    want = predicted_events(app)
    b = broker(tmp_path)
    try:
        c = Collector(b)
        url = b.url("tls", "gw-lab", USERS["gw-lab"], site="lab")
        r = run_gateway(gateway_cmd(url, [f"app={app.id},board=host,id=dev-1"], tmp_path / "q.sqlite"))
        assert r.returncode == 0, r.stderr
        assert "all acknowledged by the broker" in r.stderr.splitlines()[-1]
        wait_until(lambda: len(c.events) >= len(want) and c.statuses("dev-1")[-1:]
                   and c.statuses("dev-1")[-1]["state"] == "offline", 60, "the events and the final status")
        assert not c.invalid, c.invalid[:3]
        assert_events_match(c.events, want, app)
        assert all(p["site"] == "lab" and p["device"] == "dev-1" and p["board"] == "host" for p in c.events)
        states = [s["state"] for s in c.statuses("dev-1")]
        assert states[0] == "online" and states[-1] == "offline" and c.statuses("dev-1")[-1]["reason"] == "finished"
        tele = c.telemetry("dev-1")
        assert tele and tele[-1]["events"] == len(want) and tele[-1]["windows"] > 0 and tele[-1]["link_faults"] == 0
        c.stop()
        # the status is retained: a consumer that comes later still reads it
        late = Collector(b, session=None)
        wait_until(lambda: late.statuses("dev-1"), 30, "the retained status")
        assert late.statuses("dev-1")[0]["state"] == "offline"
        late.stop()
    finally:
        b.stop()


def test_a_device_on_the_emulated_cortex_m4_reports_instructions_per_inference(tmp_path):
    """board=qemu-m4: the firmware on the emulated board; its events are predict's, its telemetry counts instructions."""
    app = with_model(next(a for a in APPS if load_app(a).tflite_path.is_file()))
    want = predicted_events(app)
    b = broker(tmp_path, tls=False)
    try:
        c = Collector(b, listener="plain")
        url = b.url("plain", "gw-lab", USERS["gw-lab"], site="lab")
        r = run_gateway(gateway_cmd(url, [f"app={app.id},board=qemu-m4,id=m4-1"], tmp_path / "q.sqlite"))
        assert r.returncode == 0, r.stderr
        wait_until(lambda: len(c.events) >= len(want) and c.telemetry("m4-1")
                   and c.telemetry("m4-1")[-1]["events"] == len(want), 60, "the events and the last telemetry")
        assert not c.invalid, c.invalid[:3]
        assert_events_match(c.events, want, app)
        assert all(p["board"] == "qemu-m4" for p in c.events)
        tele = c.telemetry("m4-1")[-1]
        assert tele["cost_unit"] == "instructions" and tele["cost_per_inference"] > 1000 and tele["link_faults"] == 0
        c.stop()
    finally:
        b.stop()


def test_run_publishes_one_device_with_its_own_login_over_a_client_certificate_listener(tmp_path):
    """`tinyml run --mqtt`: a device logs in as itself (the ACL lets it publish under its own id only); the consumer
    reads over the listener that requires a client certificate."""
    app = with_model(next(a for a in APPS if load_app(a).tflite_path.is_file()))
    want = predicted_events(app)
    from tinyml.fixtures import demo_path

    b = broker(tmp_path)
    try:
        c = Collector(b, listener="tls")
        url = b.url("tls", "belt-7", USERS["belt-7"], site="ward", device="belt-7", queue=tmp_path / "run.sqlite")
        r = run_gateway([TINYML, "run", app.id, "--board", "host",
                         "--input", str(demo_path(app)), "--events-only", "--mqtt", url])
        assert r.returncode == 0, r.stderr
        assert "all acknowledged" in r.stderr
        wait_until(lambda: len(c.events) >= len(want), 60, "the events")
        assert_events_match(c.events, want, app)
        printed = [x for x in r.stdout.splitlines() if '"event"' in x]
        assert len(printed) == len(want)
        c.stop()
        # a consumer with a client certificate (CN = consumer) and no password
        from tinyml.gateway.options import parse_broker
        from tinyml.gateway.subscribe import Subscriber

        cert = b.url("mtls", cert=b.certs["client-consumer"], key=b.certs["client-consumer_key"])
        got = []
        sub = Subscriber(parse_broker(cert), "tinyml/ward/#", on_other=lambda p, t: got.append(p), log=lambda m: None)
        th = sub.start()
        wait_until(lambda: any(p.get("kind") == "status" for p in got), 30, "the retained status over mTLS")
        sub.stop()
        th.join(10)
    finally:
        b.stop()


def sim_devices(app, events_per_device: int, n: int, seconds: float) -> tuple[list[str], int]:
    """n simulated devices replaying the demo's events (loops of them), each taking about `seconds`."""
    ev = predicted_events(app)
    loops = max(1, -(-events_per_device // len(ev)))
    speed = ev[-1]["t"] * loops / seconds + 1e-9
    return [f"app={app.id},board=sim,id=sim-{i},loop={loops},speed={speed:.6g}" for i in range(n)], n * loops * len(ev)


def test_broker_restart_mid_stream_loses_nothing(tmp_path):
    app, _ = busiest_app()
    devices, total = sim_devices(app, 40, 3, seconds=6.0)
    b = broker(tmp_path)
    gw = None
    try:
        c = Collector(b)
        gw = start_gateway(gateway_cmd(b.url("tls", "gw-lab", USERS["gw-lab"], site="lab"), devices,
                                       tmp_path / "q.sqlite", "--drain", "120"))
        wait_until(lambda: len(c.events) >= total // 4, 120, "a quarter of the events")
        assert len(c.events) < total, "the stream ended before the broker restart: make it longer"
        b.restart()  # SIGTERM: mosquitto saves its state, then comes back on the same ports
        wait_until(lambda: len(c.events) >= total, 180, f"all {total} events after the restart")
        assert gw.wait(120) == 0, gw.stderr.read()
        ids = [p["event_id"] for p in c.events]
        assert len(ids) == len(set(ids)) == total  # the consumer kept each once
        by_device = {}
        for p in c.events:
            by_device.setdefault((p["device"], p["session"]), []).append(p["seq"])
        assert all(sorted(s) == list(range(1, len(s) + 1)) for s in by_device.values())
        assert not c.invalid
    finally:
        if gw is not None and gw.poll() is None:
            kill(gw)
        b.stop()


def test_gateway_killed_mid_stream_and_restarted_loses_nothing(tmp_path):
    app, _ = busiest_app()
    devices, total = sim_devices(app, 40, 3, seconds=6.0)
    b = broker(tmp_path)
    try:
        c = Collector(b)
        cmd = gateway_cmd(b.url("tls", "gw-lab", USERS["gw-lab"], site="lab"), devices, tmp_path / "q.sqlite",
                          "--drain", "120")
        gw = start_gateway(cmd)
        wait_until(lambda: len(c.events) >= total // 3, 120, "a third of the events")
        assert len(c.events) < total, "the stream ended before the kill: make it longer"
        kill(gw)  # SIGKILL: no goodbye; the broker publishes the last will
        wait_until(lambda: any(s.get("reason") == "lost" for s in c.statuses("sim-0")), 60, "the last will")
        r = run_gateway(cmd)  # the same queue: what was stored and not acknowledged goes first
        assert r.returncode == 0, r.stderr
        wait_until(lambda: len(c.events) >= total, 120, f"all {total} events")
        ids = [p["event_id"] for p in c.events]
        assert len(ids) == len(set(ids)) == total
        # the final status is the last message of the run: it may reach the consumer a moment after the events
        wait_until(lambda: c.statuses("sim-0")[-1]["state"] == "offline", 30, "the final status")
        assert c.statuses("sim-0")[-1]["reason"] == "finished"
        assert not c.invalid
    finally:
        b.stop()


GARBAGE_PROXY = r'''
# between the firmware's frames: random bytes, a header with a wrong CRC, a frame of an unknown type and a SCORES
# frame of the wrong length (both with good CRCs), and a copy of the frame with one byte flipped
import os, random, subprocess, sys, threading
from tinyml.device.link import Decoder, encode
fw = subprocess.Popen([sys.argv[1]], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
def feed():
    while True:
        data = os.read(0, 65536)
        if not data:
            fw.stdin.close()
            return
        fw.stdin.write(data)
        fw.stdin.flush()
threading.Thread(target=feed, daemon=True).start()
rng = random.Random(7)
dec = Decoder()
out = sys.stdout.buffer
while True:
    data = os.read(fw.stdout.fileno(), 4096)
    if not data:
        break
    for f in dec.feed(data):
        real = encode(f.type, f.payload)
        flipped = bytearray(real)
        flipped[rng.randrange(6, len(real))] ^= 0x40
        junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
        out.write(junk + b"\xa5\x5a\x82\x05\x00\x00" + encode(0x7F, b"junk") + encode(0x82, b"\x01") + bytes(flipped) + real)
    out.flush()
sys.exit(fw.wait())
'''


def test_garbage_on_the_device_link_loses_no_event(tmp_path):
    """A link that adds noise and broken frames between the device's frames: every event still arrives once and the
    telemetry counts the faults."""
    from tinyml.device.firmware import build_app

    app = with_model(next(a for a in APPS if load_app(a).tflite_path.is_file()))
    want = predicted_events(app)
    elf = build_app(app, "host").elf
    proxy = tmp_path / "noisy_link.py"
    proxy.write_text(GARBAGE_PROXY)
    b = broker(tmp_path)
    try:
        c = Collector(b)
        dev = f"app={app.id},id=noisy,cmd={sys.executable} {proxy} {elf}"
        r = run_gateway(gateway_cmd(b.url("tls", "gw-lab", USERS["gw-lab"], site="lab"), [dev], tmp_path / "q.sqlite"))
        assert r.returncode == 0, r.stderr
        wait_until(lambda: len(c.events) >= len(want) and c.telemetry("noisy") and
                   c.statuses("noisy")[-1:] and c.statuses("noisy")[-1]["state"] == "offline", 60, "the events")
        assert_events_match(c.events, want, app)
        assert max(t["link_faults"] for t in c.telemetry("noisy")) > 0
        assert "link fault(s)" in r.stderr.splitlines()[-1]  # the operator reads it in the last line too
    finally:
        b.stop()


def _retry_lines(stderr: str, device: str) -> list[str]:
    lines = [x for x in stderr.splitlines() if x.startswith(f"gateway: {device}:")]
    assert "Traceback" not in stderr and lines, stderr
    return lines


@pytest.mark.parametrize("case, expect", [
    ("password", "the broker refused the connection: "),  # mosquitto says "Not authorized" to MQTT v5 clients
    ("ca", "TLS: the broker's certificate is not trusted"),
    ("closed", "connection refused (is the broker running on that port?)"),
])
def test_a_broker_that_refuses_or_cannot_be_reached_gets_one_line_and_a_retry_with_backoff(tmp_path, case, expect):
    app = with_model(next(a for a in APPS if load_app(a).tflite_path.is_file()))
    b = broker(tmp_path)
    try:
        if case == "password":
            url = b.url("tls", "gw-lab", "wrong", site="lab")
        elif case == "ca":
            url = f"mqtts://gw-lab:{USERS['gw-lab']}@localhost:{b.ports['tls']}/?site=lab"  # no ca=: system CAs
        else:
            from tinyml.gateway.broker import free_port

            url = f"mqtt://gw-lab:x@127.0.0.1:{free_port()}/?site=lab"
        r = run_gateway(gateway_cmd(url, [f"app={app.id},board=sim,id=dev-1,speed=1000"], tmp_path / "q.sqlite",
                                    "--drain", "3"))
        lines = _retry_lines(r.stderr, "dev-1")
        assert all(expect in x for x in lines), lines
        delays = [float(x.rsplit("retrying in ", 1)[1].split(" s")[0]) for x in lines]
        assert delays[:3] == [0.5, 1.0, 2.0][: len(delays[:3])] and len(delays) >= 2, lines
        if predicted_events(app):
            assert r.returncode == 1 and "still queued" in r.stderr.splitlines()[-1], r.stderr
    finally:
        b.stop()


def test_the_acl_lets_a_device_publish_under_its_own_id_only(tmp_path):
    app, want = busiest_app()
    b = broker(tmp_path)
    try:
        c = Collector(b)
        url = b.url("plain", "belt-7", USERS["belt-7"], site="lab")
        r = run_gateway(gateway_cmd(url, [f"app={app.id},board=sim,id=belt-8,speed=1000"], tmp_path / "q.sqlite",
                                    "--timeout", "30", "--drain", "3"))
        assert r.returncode == 1, r.stderr
        assert "the broker refused" in r.stderr and "Not authorized" in r.stderr and "still queued" in r.stderr
        r = run_gateway(gateway_cmd(url, [f"app={app.id},board=sim,id=belt-7,speed=1000"], tmp_path / "q2.sqlite"))
        assert r.returncode == 0, r.stderr
        wait_until(lambda: len(c.events) >= len(want), 60, "belt-7's events")
        assert {p["device"] for p in c.events} == {"belt-7"}
    finally:
        b.stop()


def test_subscribe_prints_each_event_once_as_json_lines(tmp_path):
    import json
    import subprocess

    app, want = busiest_app()
    b = broker(tmp_path)
    try:
        sub = subprocess.Popen([TINYML, "subscribe", "--broker", b.url("tls", "consumer", USERS["consumer"]),
                                "--count", str(len(want)), "--timeout", "180"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert "subscribed to tinyml/#" in sub.stderr.readline()
        url = b.url("tls", "gw-lab", USERS["gw-lab"], site="lab")
        assert run_gateway(gateway_cmd(url, [f"app={app.id},board=sim,id=dev-1,speed=1000"],
                                       tmp_path / "q.sqlite")).returncode == 0
        out, err = sub.communicate(timeout=180)
        lines = [json.loads(x) for x in out.splitlines()]
        assert sub.returncode == 0 and len(lines) == len(want), err
        assert [(p["event"], p["t"]) for p in lines] == [(e["event"], e["t"]) for e in want]
        assert f"subscribe: {len(want)} event(s)" in err
    finally:
        b.stop()


def test_a_consumer_keeps_each_event_id_once_across_its_restarts(tmp_path):
    from types import SimpleNamespace

    from tinyml.gateway.options import parse_broker
    from tinyml.gateway.subscribe import Seen, Subscriber

    got = []
    seen_db = str(tmp_path / "seen.sqlite")
    event = {"schema": 1, "kind": "event", "event_id": "e1" * 16, "site": "s", "device": "d", "app": "a", "event": "x"}
    msg = SimpleNamespace(topic="tinyml/s/d/a/event", payload=json.dumps(event).encode())
    for _ in range(2):  # the consumer restarts with the same seen-db
        sub = Subscriber(parse_broker("mqtt://127.0.0.1:1"), on_event=lambda p, t: got.append(p), seen=Seen(seen_db))
        sub._on_message(None, None, msg)
        sub._on_message(None, None, msg)
    assert len(got) == 1 and sub.duplicates == 2


def test_a_simulated_device_publishes_the_values_its_firmware_would(tmp_path):
    """board=sim (the dashboard's demo, load tests) raises predict's events: each carries the [app] values of the
    window that raised it, as the firmware's events do (an irrigation amount, a forecast), not none."""
    from tinyml.fixtures import demo_path
    from tinyml.predict import prepare, read_input

    apps = [a for a in APPS if load_app(a).manifest.values and load_app(a).tflite_path.is_file()]
    if not apps:
        pytest.skip("no app with [app] values and a model")
    app = load_app(apps[0])
    want = predicted_events(app)
    if not want:
        pytest.skip(f"{app.id}'s demo raises no event")
    seconds = len(prepare(app, read_input(app, demo_path(app)), notice=False)) / app.manifest.rate
    b = broker(tmp_path)
    try:
        c = Collector(b)
        url = b.url("tls", "gw-lab", USERS["gw-lab"], site="lab")
        devices = [f"app={app.id},board=host,id=fw", f"app={app.id},board=sim,id=sim,speed={max(1.0, seconds / 2):g}"]
        r = run_gateway(gateway_cmd(url, devices, tmp_path / "q.sqlite"))
        assert r.returncode == 0, r.stderr
        wait_until(lambda: len(c.events) >= 2 * len(want), 60, "both devices' events")
        assert not c.invalid, c.invalid[:3]

        def published(device):
            return [(p["event"], p["t"], p["values"]) for p in sorted(c.events, key=lambda p: p["seq"])
                    if p["device"] == device]

        assert published("sim") == published("fw") and len(published("fw")) == len(want)
        c.stop()
    finally:
        b.stop()
