"""Helpers for the MQTT tests: a broker of their own, a consumer that collects, the gateway as a user runs it, and
what `tinyml predict` says the events are. Waits are bounded polls on what was received, never fixed sleeps."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import jsonschema
import pytest

from tinyml.errors import TinymlError
from tinyml.gateway.broker import LocalBroker
from tinyml.gateway.options import parse_broker
from tinyml.gateway.payloads import schema
from tinyml.gateway.subscribe import Subscriber

USERS = {"consumer": "consumer-pw", "gw-lab": "gateway-pw", "belt-7": "belt-pw"}
TINYML = str(Path(sys.executable).with_name("tinyml"))


def broker(tmp_path: Path, **kw) -> LocalBroker:
    return LocalBroker(tmp_path / "broker", users=USERS, **kw).start()


def wait_until(cond, timeout: float, what: str, poll: float = 0.02):
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(poll)


class Collector:
    """A consumer (tinyml.gateway.subscribe.Subscriber) that keeps every event and every other message; every
    payload is checked against the schema as it arrives."""

    def __init__(self, b: LocalBroker, listener: str = "tls", topic: str = "tinyml/#", session: str | None = "tests"):
        self.events: list[dict] = []
        self.others: list[tuple[str, dict]] = []
        self.invalid: list[str] = []
        self.lock = threading.Lock()
        self.sub = Subscriber(parse_broker(b.url(listener, "consumer", USERS["consumer"])), topic, session=session,
                              on_event=self._event, on_other=self._other, log=lambda m: None)
        self.thread = self.sub.start()
        wait_until(self.sub.subscribed.is_set, 30, "the consumer's subscription")

    def _check(self, payload):
        try:
            jsonschema.validate(payload, schema())
        except jsonschema.ValidationError as e:
            self.invalid.append(f"{e.message} in {payload}")

    def _event(self, payload, topic):
        self._check(payload)
        assert topic == f"tinyml/{payload['site']}/{payload['device']}/{payload['app']}/event"
        with self.lock:
            self.events.append(payload)

    def _other(self, payload, topic):
        self._check(payload)
        with self.lock:
            self.others.append((topic, payload))

    def statuses(self, device: str) -> list[dict]:
        with self.lock:
            return [p for t, p in self.others if p.get("kind") == "status" and p["device"] == device]

    def telemetry(self, device: str) -> list[dict]:
        with self.lock:
            return [p for t, p in self.others if p.get("kind") == "telemetry" and p["device"] == device]

    def stop(self):
        self.sub.stop()
        self.thread.join(10)


def gateway_cmd(url: str, devices, queue: Path, *extra: str) -> list[str]:
    cmd = [TINYML, "gateway", "--broker", url, "--queue", str(queue), "--telemetry", "0.5"]
    for d in devices:
        cmd += ["--device", d]
    return cmd + list(extra)


def run_gateway(cmd, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})


def start_gateway(cmd) -> subprocess.Popen:
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def kill(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)


def predicted_events(app, input_path: Path | None = None) -> list[dict]:
    """`tinyml predict`'s event lines on the input (default: the app's demo)."""
    from tinyml.fixtures import demo_path
    from tinyml.predict import predict_file

    return [x for x in predict_file(app, input_path or demo_path(app), events_only=True)]


def assert_events_match(got: list[dict], want: list[dict], app) -> None:
    """The delivered events, in their device order (seq), are predict's events: name, time and score."""
    got = sorted(got, key=lambda p: p["seq"])
    assert [p["seq"] for p in got] == list(range(1, len(got) + 1))
    assert [(p["event"], p["t"], p["score"]) for p in got] == [(e["event"], e["t"], e["score"]) for e in want]
    for p in got:
        assert p["app"] == app.id and p["model"]["feature_hash"] == app.manifest.feature_hash()
        assert ("values" in p) == bool(app.manifest.values)
        assert p["scores"] is None or list(p["scores"]) == app.manifest.labels


@functools.cache
def _busiest():
    from tinyml.gateway.fleet import busiest_app as busiest

    try:
        return busiest()
    except TinymlError as e:
        return str(e)


def busiest_app():
    """(app, predict's events on its demo) for the app whose demo raises the most events per second: simulated
    devices (board=sim) replay them."""
    found = _busiest()
    if isinstance(found, str):
        pytest.skip(found)
    return found
