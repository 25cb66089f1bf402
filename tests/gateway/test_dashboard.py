"""`tinyml dashboard` against a real mosquitto and gateway: the page's state and its Server-Sent Events carry every
event once (a gateway that replays its input is deduped), statuses and telemetry, a reconnecting client gets what it
missed; and in a headless chromium the page itself shows the devices and events, those from before it opened (the
snapshot) and those that came while it was open (live)."""

from __future__ import annotations

import collections
import http.client
import json
import shutil
import subprocess
import threading
from html.parser import HTMLParser

import pytest

from mqtttest import TINYML, USERS, broker, busiest_app, gateway_cmd, run_gateway, wait_until
from tinyml.errors import TinymlError
from tinyml.gateway.dashboard import Dashboard, demo_devices, parse_listen
from tinyml.gateway.options import parse_broker

pytestmark = [pytest.mark.xdist_group("dashboard")]


@pytest.fixture
def site(tmp_path):
    """A broker (plain listener, passwords, the ACL) and a dashboard reading it as the consumer."""
    if not shutil.which("mosquitto"):
        pytest.fail("mosquitto is not installed: run tinyml system-deps mqtt (make test does)")
    b = broker(tmp_path, tls=False)
    dash = Dashboard(parse_broker(b.url("plain", "consumer", USERS["consumer"])), port=0, log=lambda m: None).start()
    try:
        wait_until(dash.sub.subscribed.is_set, 30, "the dashboard's subscription")
        yield b, dash
    finally:
        dash.stop()
        b.stop()


def publish_demo(b, tmp_path, device: str, queue: str, speed: float = 200.0):
    """A gateway run: one simulated device raising the busiest demo's events (fast), to completion."""
    app, _ = busiest_app()
    url = b.url("plain", "gw-lab", USERS["gw-lab"], site="lab")
    r = run_gateway(gateway_cmd(url, [f"app={app.id},board=sim,id={device},speed={speed}"], tmp_path / queue))
    assert r.returncode == 0, r.stderr


def finished(dash: Dashboard, key: str) -> bool:
    """The device's last status (the final message of a gateway run, after its events and telemetry) has arrived."""
    d = dash.state.devices.get(key)
    return d is not None and d["state"] == "offline" and d.get("reason") == "finished"


class Stream:
    """An SSE client of /stream in a thread: (id, kind, data) of every message until the server closes it."""

    def __init__(self, dash: Dashboard, last_id: int | None = None):
        host, port = dash.http.server_address[:2]
        self.conn = http.client.HTTPConnection(host, port, timeout=60)
        self.conn.request("GET", "/stream", headers={} if last_id is None else {"Last-Event-ID": str(last_id)})
        self.resp = self.conn.getresponse()
        assert self.resp.status == 200 and self.resp.getheader("Content-Type") == "text/event-stream"
        self.messages: list[tuple[int, str, dict]] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        mid, kind, data = None, None, []
        for raw in self.resp:
            line = raw.decode().rstrip("\n")
            if line.startswith("id: "):
                mid = int(line[4:])
            elif line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
            elif not line and kind:
                self.messages.append((mid, kind, json.loads("\n".join(data))))
                mid, kind, data = None, None, []

    def of(self, kind: str) -> list[dict]:
        return [d for _, k, d in self.messages if k == kind]


def get(dash: Dashboard, path: str) -> tuple[int, str, bytes]:
    host, port = dash.http.server_address[:2]
    c = http.client.HTTPConnection(host, port, timeout=30)
    c.request("GET", path)
    r = c.getresponse()
    return r.status, r.getheader("Content-Type"), r.read()


def test_state_and_stream_carry_every_event_once(site, tmp_path):
    b, dash = site
    app, want = busiest_app()
    stream = Stream(dash)
    wait_until(lambda: stream.of("snapshot"), 30, "the stream's first snapshot")
    publish_demo(b, tmp_path, "dev-1", "q1.sqlite")
    publish_demo(b, tmp_path, "dev-1", "q2.sqlite")  # a fresh queue replays the same events: the same ids
    wait_until(lambda: dash.sub.duplicates >= len(want) and finished(dash, "lab/dev-1"), 60,
               "the replayed events and the final status")
    state = json.loads(get(dash, "/state")[2])
    assert state["events"] == len(want) and state["duplicates"] == len(want)
    (dev,) = state["devices"]
    assert (dev["key"], dev["state"], dev["reason"], dev["apps"]) == ("lab/dev-1", "offline", "finished", [app.id])
    assert dev["counts"] == dict(collections.Counter(e["event"] for e in want))
    assert dev["telemetry"][app.id]["events"] == len(want) and dev["telemetry"][app.id]["link_faults"] == 0
    assert len({p["event_id"] for p in state["recent"]}) == min(len(want), 100)

    wait_until(lambda: stream.messages and stream.messages[-1][0] == state["id"], 30, "the stream to catch up")
    ids = [m for m, _, _ in stream.messages]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    events = stream.of("event")
    assert [(p["event"], p["t"], p["score"]) for p in sorted(events, key=lambda p: p["seq"])] == \
           [(e["event"], e["t"], e["score"]) for e in want]
    assert [s["state"] for s in stream.of("status")][-1] == "offline" and stream.of("telemetry")

    # a client back after a drop (Last-Event-ID) gets exactly the messages it missed, no snapshot
    first_event = next(m for m, k, _ in stream.messages if k == "event")
    again = Stream(dash, last_id=first_event)
    wait_until(lambda: again.messages and again.messages[-1][0] == state["id"], 30, "the replay")
    assert [m for m, _, _ in again.messages] == [m for m in ids if m > first_event] and not again.of("snapshot")

    # a page open since before the dashboard restarted (an id from the future): a fresh snapshot, then live
    old = Stream(dash, last_id=state["id"] + 1000)
    wait_until(lambda: old.of("snapshot"), 30, "the snapshot for a client from before a restart")
    assert old.of("snapshot")[0]["events"] == len(want)

    status, ctype, page = get(dash, "/")
    assert status == 200 and ctype.startswith("text/html") and b"EventSource" in page
    assert get(dash, "/nothing")[0] == 404
    dash.stop()  # open streams end (the page then says it is reconnecting)
    stream.thread.join(10)
    again.thread.join(10)
    old.thread.join(10)
    assert not stream.thread.is_alive() and not again.thread.is_alive() and not old.thread.is_alive()


class Dom(HTMLParser):
    """The dumped page: device cards (their text), event rows (their event ids), the header's summary."""

    def __init__(self):
        super().__init__()
        self.cards: dict[str, list[str]] = {}
        self.rows: list[str] = []
        self.summary = ""
        self._card = None
        self._depth = 0
        self._in_summary = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if self._card is not None:
            self._depth += 1
        elif tag == "div" and "data-device" in a:
            self._card, self._depth = a["data-device"], 1
            self.cards[self._card] = []
        if tag == "tr" and "data-event-id" in a:
            self.rows.append(a["data-event-id"])
        self._in_summary = a.get("id") == "summary"

    def handle_endtag(self, tag):
        if self._card is not None:
            self._depth -= 1
            if self._depth == 0:
                self._card = None
        self._in_summary = False

    def handle_data(self, data):
        if self._card is not None:
            self.cards[self._card].append(data)
        if self._in_summary:
            self.summary += data


def test_the_page_in_a_headless_browser_shows_devices_and_events_live(site, tmp_path):
    if not shutil.which("chromium"):
        pytest.skip("chromium is not installed: tinyml system-deps dashboard (make test installs it)")
    b, dash = site
    app, want = busiest_app()
    publish_demo(b, tmp_path, "dev-a", "qa.sqlite")  # before the page opens: it comes in the snapshot
    wait_until(lambda: dash.state.events == len(want) and finished(dash, "lab/dev-a"), 60, "dev-a's events")
    # the browser dumps the page once its stream ends (virtual time stands still while a request is open)
    browser = subprocess.Popen(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                f"--user-data-dir={tmp_path / 'chromium'}", "--virtual-time-budget=5000",
                                "--dump-dom", dash.url], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        wait_until(lambda: dash.state.streams, 120, "the page to open its stream", poll=0.1)
        publish_demo(b, tmp_path, "dev-b", "qb.sqlite")  # while the page is open: it comes live
        wait_until(lambda: dash.state.events == 2 * len(want) and finished(dash, "lab/dev-b") and
                   list(dash.state.streams.values()) == [dash.state.last_id], 60, "dev-b's events on the page")
        dash.stop()
        dom_text, _ = browser.communicate(timeout=120)
    finally:
        if browser.poll() is None:
            browser.kill()
            browser.wait()
    dom = Dom()
    dom.feed(dom_text)
    assert set(dom.cards) == {"lab/dev-a", "lab/dev-b"}, dom_text[-2000:]
    n = collections.Counter(e["event"] for e in want)
    for key, text in dom.cards.items():
        text = " ".join(text)
        assert "offline (finished)" in text and app.id in text and f"{len(want)} event(s)" in text
        assert all(f"{name}: {k}" in text for name, k in n.items()), text
        assert f"last: {want[-1]['event']}" in text
    assert len(dom.rows) == min(2 * len(want), 100) and len(set(dom.rows)) == len(dom.rows)
    assert dom.summary.strip() == f"2 device(s), 0 online, {2 * len(want)} event(s)"


def test_the_demo_has_one_simulated_device_per_app_with_a_model_and_a_demo():
    from tinyml.apps import discover, load_app
    from tinyml.fixtures import demo_path

    want = [a for a in discover() if load_app(a).tflite_path.is_file() and demo_path(load_app(a)).is_file()]
    assert want, "no app with a model and a demo"
    assert [(s.app, s.board, s.id) for s in demo_devices()] == [(a, "sim", f"{a}-demo") for a in want]


def test_the_demo_plays_a_long_demo_in_ten_minutes_and_a_short_one_in_real_time():
    """A demo of weeks (a soil season at 15 min a sample: its first event after 29 h) showed nothing on the page
    in real time; longer than DEMO_PLAY_S it is played faster, to last DEMO_PLAY_S; a shorter one keeps real time."""
    from tinyml.gateway.dashboard import DEMO_PLAY_S

    workers = [_demo_worker(s) for s in demo_devices()]
    for w in workers:
        seconds = len(w.signal) / w.app.manifest.rate
        assert w.speed == (1.0 if seconds <= DEMO_PLAY_S else seconds / DEMO_PLAY_S), (w.app.id, seconds, w.speed)
    if not any(w.speed > 1 for w in workers):
        pytest.skip("no app's demo is longer than DEMO_PLAY_S")


def _demo_worker(spec):
    from tinyml.gateway.devices import DeviceWorker

    return DeviceWorker(spec, site="demo", store=None, sink=None, log=lambda m: None, stop=threading.Event())


def test_the_demo_reads_each_demo_once(monkeypatch):
    """The demo read an app's demo three times: for its length (the speed), for the device's signal, and again for
    the events `tinyml predict` finds in it (in the device's thread, where reading notices are not safe): once now."""
    import tinyml.predict
    from tinyml.gateway import devices

    reads = collections.Counter()
    read_input = tinyml.predict.read_input

    def counted(app, path, *a, **k):
        reads[str(path)] += 1
        return read_input(app, path, *a, **k)

    monkeypatch.setattr(tinyml.predict, "read_input", counted)
    monkeypatch.setattr(devices, "_PREDICTED", {})  # the events found afresh, not those of an earlier test
    spec = demo_devices()[0]
    w = _demo_worker(spec)
    w.feed = devices.EventFeed(w.app, site="demo", device=spec.id, session="s", board="sim", store=None)
    w.stop.set()  # the first event's wait ends the pass: what it read is all it reads
    w._simulate(w.signal)
    assert len(reads) == 1 and list(reads.values()) == [1], reads


def test_each_demo_starts_from_an_empty_queue(tmp_path, monkeypatch):
    """The demo's event ids are the same every run (same demo, same loop), and the queue keeps each id once: a
    second `make dashboard` found its events already delivered and showed nothing until it passed the loops of
    the runs before (soil's first event never)."""
    from tinyml.gateway.dashboard import demo_state

    monkeypatch.setenv("TINYML_ROOT", str(tmp_path))
    old = demo_state()
    (old / "queue.sqlite").write_bytes(b"a queue of an earlier run")
    (old / "broker").mkdir()
    (old / "broker" / "mosquitto.db").write_bytes(b"and the broker's")
    new = demo_state()
    assert new == old and list(new.iterdir()) == []


def test_two_demos_at_once_keep_their_own_state(tmp_path, monkeypatch):
    """A second `make dashboard` emptied the folder the first one's broker and queue were using; each process
    has its own now, and only the folders of processes that are gone are cleared."""
    import subprocess as sp

    from tinyml.gateway.dashboard import demo_state

    monkeypatch.setenv("TINYML_ROOT", str(tmp_path))
    other = sp.Popen(["sleep", "30"])
    try:
        theirs = demo_state(pid=other.pid)
        (theirs / "queue.sqlite").write_bytes(b"in use")
        gone = demo_state(pid=2 ** 22 + 7)  # above Linux's default pid_max: no such process
        (gone / "queue.sqlite").write_bytes(b"left behind")
        mine = demo_state()
        assert mine != theirs and (theirs / "queue.sqlite").read_bytes() == b"in use"
        assert not gone.exists()
    finally:
        other.kill()
        other.wait()


def test_usage_errors_are_one_line():
    r = subprocess.run([TINYML, "dashboard"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "--broker URL" in r.stderr, r.stderr
    r = subprocess.run([TINYML, "dashboard", "--broker", "http://x"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "mqtt://" in r.stderr, r.stderr
    assert parse_listen("0.0.0.0:8080") == ("0.0.0.0", 8080)
    for bad in ("8080", "host:", "host:99999", ":80"):
        with pytest.raises(TinymlError, match="expected HOST:PORT"):
            parse_listen(bad)
