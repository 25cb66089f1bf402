"""What goes wrong on a gateway in the field, beyond the broker tests of test_mqtt.py: a queue that cannot be written
(a full disk), a wrong --device, a consumer fed messages it cannot read, two clients with one MQTT client id, and the
exit codes of `tinyml run --mqtt` and `tinyml subscribe`. Each ends in one line naming the problem, the exit code the
README gives, and no event lost without saying so."""

from __future__ import annotations

import json
import sqlite3
from types import SimpleNamespace

import pytest

from apptest import APPS
from mqtttest import USERS, broker, predicted_events, wait_until
from tinyml.apps import load_app
from tinyml.cli import main
from tinyml.gateway.broker import free_port
from tinyml.gateway.options import parse_broker
from tinyml.gateway.store import EventStore, StoreError

pytestmark = [pytest.mark.xdist_group("mqtt")]


def app_with_events():
    """An app with a committed model whose demo raises at least one event, and predict's events on it."""
    for a in APPS:
        app = load_app(a)
        if app.tflite_path.is_file():
            want = predicted_events(app)
            if want:
                return app, want
    pytest.skip("no app with a model and demo events")


def full(store: EventStore) -> None:
    """No room for one more page: what a full disk looks like to SQLite (SQLITE_FULL)."""
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages}")


def test_a_full_queue_says_which_event_was_not_stored_and_keeps_the_others(tmp_path):
    from tinyml.gateway.devices import EventFeed

    app = load_app(APPS[0])
    store = EventStore(tmp_path / "q.sqlite")
    feed = EventFeed(app, site="lab", device="d1", session="s-0", board="host", store=store)
    feed.raise_event(100, app.manifest.event_names[0], 0.9)
    full(store)
    with pytest.raises(StoreError) as e:
        for i in range(200):  # the first page fills after a few events
            feed.raise_event(200 + i, app.manifest.event_names[0], 0.9)
    text = str(e.value)
    assert str(tmp_path / "q.sqlite") in text and "full" in text and "was not stored" in text and "\n" not in text
    assert not store.db.in_transaction
    store.close()
    db = sqlite3.connect(tmp_path / "q.sqlite")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("SELECT COUNT(*) FROM events WHERE acked IS NULL").fetchone()[0] == feed.seq - 1


def test_acknowledgements_the_queue_cannot_write_are_kept_and_written_later(tmp_path):
    """The broker acknowledged an event while the disk was full: one line, and the mark is written once it can be."""
    from tinyml.gateway.publisher import DevicePublisher

    class FlakyStore(EventStore):
        failures = 2

        def ack(self, rows):
            if self.failures:
                self.failures -= 1
                raise StoreError(f"{self.path}: cannot mark acknowledged events in the event queue: disk is full")
            super().ack(rows)

    store = FlakyStore(tmp_path / "q.sqlite")
    row = store.put("d1", "e" * 32, "tinyml/lab/d1/a/event", b"{}")
    said = []
    pub = DevicePublisher(parse_broker("mqtt://127.0.0.1:1"), store, site="lab", device="d1", apps=["a"],
                          gateway="gw", log=said.append)
    for _ in range(3):  # the broker's PUBACK for it, then two more loops of the connection
        pub.in_flight[7] = row
        pub.acked.append((7, None))
        pub._settle()
        pub.acked.clear()
    assert store.count_pending() == 0
    assert len(said) == 1 and "disk is full" in said[0], said
    store.close()


@pytest.mark.parametrize("device, expect", [
    ("board=no-such-board", "unknown board 'no-such-board'"),
    ("board=nucleo-l4r5zi", "streams over a serial port: add port="),
    ("board=qemu-m4,port=/dev/ttyACM0", "port=/dev/ttyACM0: board qemu-m4 has no serial port (it runs here); name the real board: board="),
    ("loop=x", "loop='x' is not a whole number"),
    ("rate=-5", "rate > 0"),
    ("cmd=/no/such/bridge --fast", "cmd= program '/no/such/bridge' not found"),
])
def test_a_wrong_device_is_said_before_connecting(capsys, tmp_path, device, expect):
    app = APPS[0]
    rc = main(["gateway", "--broker", f"mqtt://127.0.0.1:{free_port()}", "--queue", str(tmp_path / "q.sqlite"),
               "--device", f"app={app},{device}", "--drain", "0"])
    err = capsys.readouterr().err
    assert rc == 2 and expect in err and len(err.splitlines()) == 1 and "retrying" not in err, err


def test_the_gateway_counts_and_keeps_the_events_of_every_loop(capsys, tmp_path):
    """No broker: every loop's events stay queued, the last line counts them all, and the exit code is 1."""
    app, want = app_with_events()
    rc = main(["gateway", "--broker", f"mqtt://127.0.0.1:{free_port()}", "--queue", str(tmp_path / "q.sqlite"),
               "--device", f"app={app.id},board=sim,speed=100000,loop=3,id=d1", "--drain", "0.2"])
    last = capsys.readouterr().err.splitlines()[-1]
    n = 3 * len(want)
    assert rc == 1 and f"{n} event(s) raised; {n} still queued" in last, last


def test_run_with_mqtt_exits_1_while_events_are_still_queued(capsys, monkeypatch, tmp_path):
    import tinyml.gateway.service as service
    from tinyml.fixtures import demo_path

    app, want = app_with_events()
    monkeypatch.setattr(service, "RUN_DRAIN_S", 0.2)
    url = f"mqtt://127.0.0.1:{free_port()}/?queue={tmp_path / 'q.sqlite'}&device=d1"
    rc = main(["run", app.id, "--board", "host", "--input", str(demo_path(app)), "--events-only", "--mqtt", url])
    err = capsys.readouterr().err
    assert rc == 1 and f"{len(want)} still queued" in err and "Traceback" not in err, err


def message(payload) -> SimpleNamespace:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return SimpleNamespace(topic="tinyml/lab/d1/a/event", payload=raw)


def test_a_consumer_skips_what_it_cannot_read_says_it_once_and_goes_on():
    from tinyml.gateway.subscribe import Subscriber

    good = {"schema": 1, "kind": "event", "event_id": "a" * 32, "site": "lab", "device": "d1", "app": "a",
            "event": "fall"}
    bad = [b"not json", b"[" * 100000, [1, 2], {**good, "schema": 2}, {**good, "event_id": [1]},
           {**good, "event_id": {"a": 1}}, {**good, "event": None}, {**good, "kind": "gossip"}, {"kind": "status"}]
    got, said = [], []
    sub = Subscriber(parse_broker("mqtt://127.0.0.1:1"), on_event=lambda p, t: got.append(p), log=said.append)
    for p in bad + bad + [good, good]:
        sub._on_message(None, None, message(p))
    assert got == [good] and sub.duplicates == 1 and sub.skipped == 2 * len(bad)
    assert len(said) == len(set(said)) and len(said) <= len(bad), said
    assert any("schema version 2" in s for s in said) and all("skipped" in s for s in said)


def test_subscribe_exits_1_when_the_count_is_not_reached(capsys):
    rc = main(["subscribe", "--broker", f"mqtt://127.0.0.1:{free_port()}", "--count", "1", "--timeout", "0.5"])
    err = capsys.readouterr().err
    assert rc == 1 and "0 of 1 event(s)" in err.splitlines()[-1], err


def test_two_consumers_with_one_session_are_told_why_they_are_cut_off(tmp_path):
    """Two clients with one MQTT client id take the connection from each other: the line says so (not just "lost"),
    whether the broker gives the reason (MQTT v5 "Session taken over") or, as mosquitto does, just closes the socket."""
    from tinyml.gateway.subscribe import Subscriber

    b = broker(tmp_path, tls=False)
    subs, said = [], []
    try:
        url = parse_broker(b.url("plain", "consumer", USERS["consumer"]))
        for _ in range(2):
            s = Subscriber(url, session="twin", log=said.append)
            subs.append((s, s.start()))
            wait_until(s.subscribed.is_set, 30, "a subscription")
        wait_until(lambda: any("tinyml-sub-twin" in x for x in said), 60, "the line naming the client id")
        line = next(x for x in said if "tinyml-sub-twin" in x)
        assert "another client" in line and "--session" in line and "retrying" in line, line
    finally:
        for s, th in subs:
            s.stop()
            th.join(10)
        b.stop()


def test_a_broker_that_gives_the_reason_is_quoted_with_the_client_id():
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.reasoncodes import ReasonCode

    from tinyml.gateway.publisher import dropped_text

    text = dropped_text(ReasonCode(PacketTypes.DISCONNECT, identifier=0x8E), "tinyml-lab-d1")
    assert "Session taken over" in text and "'tinyml-lab-d1'" in text
    assert dropped_text(ReasonCode(PacketTypes.DISCONNECT, identifier=0x80), "x") == ""  # a plain loss: no reason


HANG = """
import os, sys, time
open(sys.argv[1], "w").write(str(os.getpid()))
time.sleep(600)  # a device that never answers, and ignores its input closing
"""


def test_a_gateway_stopped_while_a_device_hangs_leaves_no_process_behind(capsys, tmp_path):
    import os
    import sys

    hang, pid_file = tmp_path / "hang.py", tmp_path / "pid"
    hang.write_text(HANG)
    rc = main(["gateway", "--broker", f"mqtt://127.0.0.1:{free_port()}", "--queue", str(tmp_path / "q.sqlite"),
               "--device", f"app={APPS[0]},id=d1,cmd={sys.executable} {hang} {pid_file}", "--timeout", "2",
               "--drain", "0"])
    err = capsys.readouterr().err
    assert rc == 0 and "Traceback" not in err and "0 still queued" not in err, err  # stopped as asked: no failure
    pid = int(pid_file.read_text())
    try:
        wait_until(lambda: not os.path.exists(f"/proc/{pid}") or "zombie" in open(f"/proc/{pid}/status").read().lower(),
                   10, "the device's process to end")
    finally:
        if os.path.exists(f"/proc/{pid}"):
            os.kill(pid, 9)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    from tinyml.gateway.broker import make_certificates

    return make_certificates(tmp_path_factory.mktemp("certs"))


@pytest.mark.parametrize("case, expect", [
    ("ca-garbage", "not a CA certificate in PEM form"),
    ("key-mismatch", "the key is not the certificate's"),
    ("key-encrypted", "the key is encrypted"),
])
def test_a_tls_file_that_is_not_what_it_should_be_is_one_line(capsys, tmp_path, certs, case, expect):
    import subprocess

    ca, cert, key = certs["ca"], certs["client-consumer"], certs["client-consumer_key"]
    if case == "ca-garbage":
        ca = tmp_path / "ca.crt"
        ca.write_text("not a certificate\n")
    elif case == "key-mismatch":
        key = certs["server_key"]
    else:
        enc = tmp_path / "enc.key"
        subprocess.run(["openssl", "pkey", "-in", str(key), "-aes256", "-passout", "pass:secret", "-out", str(enc)],
                       check=True, capture_output=True)
        key = enc
    url = f"mqtts://localhost:{free_port()}/?ca={ca}&cert={cert}&key={key}"
    for argv in (["subscribe", "--broker", url, "--timeout", "0.2"],
                 ["gateway", "--broker", url, "--queue", str(tmp_path / "q.sqlite"), "--device", f"app={APPS[0]},board=sim",
                  "--drain", "0"]):
        rc = main(argv)
        err = capsys.readouterr().err
        assert rc == 2 and expect in err and len(err.splitlines()) == 1, err


def test_a_seen_db_that_cannot_be_opened_or_written_is_one_line(tmp_path):
    from tinyml.errors import TinymlError
    from tinyml.gateway.subscribe import Seen

    with pytest.raises(TinymlError, match="--seen-db .*: cannot open it"):
        Seen(str(tmp_path / "no-such-folder" / "seen.sqlite"))
    seen = Seen(str(tmp_path / "seen.sqlite"))
    assert seen.first_time("a" * 32)
    seen.db.execute("PRAGMA query_only = ON")  # as a full disk or a read-only file would refuse the write
    with pytest.raises(TinymlError, match="--seen-db .*: cannot write it"):
        seen.first_time("b" * 32)
    assert "b" * 32 not in seen.ids  # not remembered as seen: it is handed on when it comes again


@pytest.mark.parametrize("verb", ["subscribe", "dashboard"])
def test_sigterm_ends_a_consumer_as_its_own_end_does(tmp_path, verb):
    """A service manager stops with SIGTERM: the verb says its summary line and exits 0 (Python's default would die on
    the spot, and `dashboard --demo` would leave its mosquitto running)."""
    import os
    import signal
    import subprocess

    from mqtttest import TINYML

    cmd = [TINYML, verb, "--broker", f"mqtt://127.0.0.1:{free_port()}"]
    if verb == "dashboard":
        cmd += ["--listen", f"127.0.0.1:{free_port()}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        ready = "retrying" if verb == "subscribe" else "Ctrl-C stops"  # a retry line, or the page's address
        seen = ""
        while ready not in seen:
            line = proc.stderr.readline()
            assert line, f"the verb ended before the signal: {seen}"
            seen += line
        os.kill(proc.pid, signal.SIGTERM)
        err = seen + proc.communicate(timeout=30)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and f"{verb}: 0 event(s)" in err.splitlines()[-1], err


class CorruptOneEvent:
    """A transport that flips a bit in the device's first EVENT frame, as a noisy serial line would."""

    def __init__(self, inner):
        from tinyml.device.link import Decoder

        self.inner, self.dec, self.flipped = inner, Decoder(), False

    def write(self, data: bytes) -> None:
        self.inner.write(data)

    def read(self, timeout: float) -> bytes:
        from tinyml.device.link import T, encode

        out = bytearray()
        for f in self.dec.feed(self.inner.read(timeout)):
            raw = bytearray(encode(f.type, f.payload))
            if f.type == T.EVENT and not self.flipped:
                raw[-1] ^= 0x01
                self.flipped = True
            out += raw
        return bytes(out)

    def close(self, timeout: float = 5.0):
        return self.inner.close(timeout)

    def stderr_text(self) -> str:
        return self.inner.stderr_text()

    @property
    def nv_after(self):
        return self.inner.nv_after


def test_run_says_when_a_corrupt_frame_from_the_device_was_dropped(capsys, monkeypatch):
    """No silent gap: an event frame lost to a bad CRC makes `tinyml run` say so and exit 1 (it exited 0 without it)."""
    import tinyml.device.runner as runner
    from tinyml.fixtures import demo_path

    app, want = app_with_events()
    real = runner.open_transport
    monkeypatch.setattr(runner, "open_transport", lambda *a, **k: CorruptOneEvent(real(*a, **k)))
    rc = main(["run", app.id, "--board", "host", "--input", str(demo_path(app)), "--events-only"])
    out, err = capsys.readouterr()
    assert out.count('"event"') == len(want) - 1  # the corrupted one is gone ...
    assert rc == 1 and "1 frame(s) from the device arrived corrupt" in err, err  # ... and that is said


@pytest.mark.parametrize("topic", ["", "tinyml/#/event", "tinyml/lab+", "$share/g", "$share//tinyml/#", "a/b#"])
def test_a_topic_filter_the_broker_would_refuse_is_one_line(capsys, topic):
    """It was sent, refused, and retried every 0.5 s for ever."""
    rc = main(["subscribe", "--broker", f"mqtt://127.0.0.1:{free_port()}", "--topic", topic, "--timeout", "0.5"])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.splitlines()) == 1 and "--topic" in err and "retrying" not in err, err


@pytest.mark.parametrize("topic", ["tinyml/#", "#", "tinyml/+/+/fall-detect/event", "$share/dash/tinyml/lab/#"])
def test_topic_filters_a_consumer_uses_are_taken(topic):
    from tinyml.gateway.options import topic_filter

    assert topic_filter(topic) == topic


def test_a_second_sigterm_stops_waiting_for_the_broker(tmp_path):
    """The first SIGTERM / Ctrl-C waits up to --drain for the broker; a second ends the wait (it could not before), the
    events stay queued and the exit code says so."""
    import os
    import signal
    import subprocess
    import time

    from mqtttest import TINYML

    app, want = app_with_events()
    proc = subprocess.Popen([TINYML, "gateway", "--broker", f"mqtt://127.0.0.1:{free_port()}", "--queue",
                             str(tmp_path / "q.sqlite"), "--device", f"app={app.id},board=sim,speed=100000,loop=1000",
                             "--drain", "120"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(3):  # running, the broker unreachable, events queued (the simulated device is fast)
            assert "retrying" in proc.stderr.readline()
        os.kill(proc.pid, signal.SIGTERM)
        time.sleep(1.0)
        assert proc.poll() is None  # draining: waits for the broker
        os.kill(proc.pid, signal.SIGTERM)
        err = proc.communicate(timeout=20)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1 and "not waiting for the broker" in err and "still queued" in err.splitlines()[-1], err


def test_a_multilabel_models_scores_are_published_as_predict_prints_them(tmp_path):
    """[model] output = "multilabel": the int8 scores are logits; the event payload's score and scores are the
    probabilities predict prints (sigmoid), not the raw logits (outside [0, 1], against the schema)."""
    import numpy as np

    from tinyml.device.link import Event, Scores
    from tinyml.gateway.devices import EventFeed
    from tinyml.output_lines import LineMaker

    import dataclasses

    real = load_app(APPS[0])
    m = dataclasses.replace(real.manifest, model={**(real.manifest.model or {}), "output": "multilabel"})
    app = SimpleNamespace(id=real.id, manifest=m, tflite_path=real.tflite_path)
    store = EventStore(tmp_path / "q.sqlite")
    feed = EventFeed(app, site="lab", device="d1", session="s-0", board="host", store=store)
    feed.quantization(0.05, 10)
    n = len(app.manifest.labels)
    q = np.array([10 + 40] + [-128] * (n - 1), np.int8)  # logit 2, then logits -6.9
    feed.feed(Scores(100, q))
    feed.feed(Event(100, 0, int(q[0])))
    p = json.loads(store.pending("d1")[0].payload)
    want = LineMaker(m, 0.05, 10)
    assert p["scores"] == want.window(100, q)["scores"] and p["score"] == want.event(100, 0, int(q[0]))["score"]
    assert 0 < p["score"] < 1 and all(0 < v < 1 for v in p["scores"].values())
    store.close()


def test_a_terminal_ctrl_c_does_not_reach_the_local_broker(tmp_path):
    """Ctrl-C signals the terminal's whole process group: `dashboard --demo`'s mosquitto died with it, before the
    gateway had drained, which then printed a retry line per device against a broker that was gone. The broker
    is in a session of its own and stopped by its owner, after the gateway."""
    import os

    from tinyml.gateway.broker import LocalBroker

    b = LocalBroker(tmp_path / "broker", acl=False, tls=False).start()
    try:
        assert os.getpgid(b.proc.pid) != os.getpgid(0)
    finally:
        b.stop()


def test_a_local_broker_ends_when_its_owner_is_killed(tmp_path):
    """In its own session, the broker no longer dies with its owner's group: an owner killed outright
    (SIGKILL, a cancelled job) left mosquitto running for good. The parent-death signal ends it."""
    import os
    import signal
    import subprocess
    import sys
    import time

    code = ("import sys, time; from pathlib import Path; from tinyml.gateway.broker import LocalBroker; "
            "b = LocalBroker(Path(sys.argv[1]), acl=False, tls=False).start(); print(b.proc.pid, flush=True); "
            "time.sleep(60)")
    owner = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "broker")], stdout=subprocess.PIPE, text=True)
    pid = int(owner.stdout.readline())
    try:
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait(10)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            if open(f"/proc/{pid}/stat").read().split()[2] == "Z":  # exited, waiting for init to reap it
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"mosquitto {pid} outlived its killed owner")
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_the_device_option_help_names_every_key_it_takes(capsys):
    """`tinyml gateway --help` is where a user learns --device: every key parse_device takes is there, and board=sim."""
    from tinyml.gateway.devices import SPEC_KEYS

    with pytest.raises(SystemExit):
        main(["gateway", "--help"])
    flat = "".join(capsys.readouterr().out.split())  # argparse wraps the help at any character
    missing = [k for k in SPEC_KEYS if f"{k}=" not in flat]
    assert not missing and "|sim" in flat, (missing, flat)
