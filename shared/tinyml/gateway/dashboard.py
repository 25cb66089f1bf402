"""`tinyml dashboard`: a live web page of a site's devices and their events, fed by the broker.

It is a consumer like `tinyml subscribe` (each event id once, whatever the retries) with a small web server of the
standard library, and a page with no JavaScript library (dashboard.html beside this file):

    /          the page: each device (online / offline, its app, telemetry), the latest scores and values of each,
               event counts per device and name, and the newest events; live through Server-Sent Events
    /state     a snapshot as JSON
    /stream    Server-Sent Events: first `snapshot` (the state), then `event`, `status` and `telemetry` messages with
               increasing ids; a client that reconnects (Last-Event-ID) gets what it missed, or a new snapshot

`--demo` runs everything on this machine: a local mosquitto and a gateway whose simulated devices (board=sim: the
events `tinyml predict` finds in each app's demo, raised in real time, looping) stand for one device per app. A
demo longer than DEMO_PLAY_S (soil-monitoring's season: weeks) is played faster, to last DEMO_PLAY_S.
"""

from __future__ import annotations

import collections
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .. import hints
from ..errors import TinymlError

PAGE = Path(__file__).with_name("dashboard.html")
RECENT = 100  # newest events kept for the page
REPLAY = 2000  # messages kept for clients that reconnect
KEEPALIVE_S = 15.0
DEMO_PLAY_S = 600.0  # the longest a demo device takes for one pass of its recording


def _dev_key(p: dict) -> str:
    return f"{p.get('site')}/{p.get('device')}"


class DashboardState:
    """What the page shows, built from the broker's messages (one event id once: the Subscriber dedupes)."""

    def __init__(self):
        self.cond = threading.Condition()
        self.devices: dict[str, dict] = {}
        self.recent: collections.deque[dict] = collections.deque(maxlen=RECENT)
        self.counts: dict[str, dict[str, int]] = {}  # device key -> {event name: n}
        self.log: collections.deque[tuple[int, str, dict]] = collections.deque(maxlen=REPLAY)
        self.last_id = 0
        self.closed = False
        self.events = 0
        self.streams: dict[int, int] = {}  # open /stream clients: their number -> the last message id written
        self.duplicates = lambda: 0  # the consumer's count of events dropped as already seen

    def _device(self, p: dict) -> dict:
        key = _dev_key(p)
        if key not in self.devices:
            self.devices[key] = {"key": key, "site": p.get("site"), "device": p.get("device"), "state": "unknown",
                                 "apps": [], "telemetry": {}, "last_event": None, "events": 0}
        return self.devices[key]

    def add(self, kind: str, p: dict) -> None:
        with self.cond:
            d = self._device(p)
            if kind == "event":
                self.events += 1
                d["events"] += 1
                d["last_event"] = p
                if p.get("app") and p["app"] not in d["apps"]:
                    d["apps"].append(p["app"])
                c = self.counts.setdefault(d["key"], {})
                c[p.get("event", "?")] = c.get(p.get("event", "?"), 0) + 1
                self.recent.append(p)
            elif kind == "status":
                d.update(state=p.get("state", "unknown"), reason=p.get("reason", ""), gateway=p.get("gateway", ""),
                         since=p.get("time"))
                for a in p.get("apps") or []:
                    if a not in d["apps"]:
                        d["apps"].append(a)
            else:
                d["telemetry"][p.get("app", "?")] = p
            self.last_id += 1
            self.log.append((self.last_id, kind, p))
            self.cond.notify_all()

    def snapshot(self) -> dict:
        with self.cond:
            return {"id": self.last_id, "events": self.events, "duplicates": self.duplicates(),
                    "devices": [dict(d, counts=dict(self.counts.get(k, {}))) for k, d in sorted(self.devices.items())],
                    "recent": list(self.recent)}

    def close(self) -> None:
        """End every /stream (the page says it is reconnecting)."""
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def since(self, last: int, timeout: float) -> tuple[list[tuple[int, str, dict]] | None, int]:
        """Messages after id `last` (waiting up to `timeout` for one); None when some were dropped from the replay."""
        with self.cond:
            self.cond.wait_for(lambda: self.last_id > last or self.closed, timeout)
            if self.last_id <= last:
                return [], self.last_id
            if self.log and self.log[0][0] > last + 1:
                return None, self.last_id
            return [m for m in self.log if m[0] > last], self.last_id


def _sse(kind: str, data: dict, mid: int | None = None) -> bytes:
    head = f"id: {mid}\n" if mid is not None else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def make_handler(state: DashboardState):
    page = PAGE.read_bytes()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # quiet: the page polls nothing, but keep stderr for problems
            pass

        def _send(self, code: int, ctype: str, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):  # noqa: N802 - the standard library's name
            path = self.path.split("?", 1)[0]
            if path in ("/", "/index.html"):
                self._send(200, "text/html; charset=utf-8", page)
            elif path == "/state":
                self._send(200, "application/json", json.dumps(state.snapshot(), separators=(",", ":")).encode())
            elif path == "/stream":
                self._stream()
            else:
                self._send(404, "text/plain; charset=utf-8", b"not found\n")

        def _stream(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            try:
                last = int(self.headers.get("Last-Event-ID", ""))
            except ValueError:
                last = -1
            me = id(self)
            try:
                if last < 0 or last > state.last_id:  # new, or from before this dashboard started: all of it
                    snap = state.snapshot()
                    self.wfile.write(_sse("snapshot", snap, snap["id"]))
                    last = snap["id"]
                self.wfile.flush()
                state.streams[me] = last
                while not state.closed:
                    msgs, newest = state.since(last, KEEPALIVE_S)
                    if msgs is None:  # the client was away longer than the replay holds: start it again
                        snap = state.snapshot()
                        self.wfile.write(_sse("snapshot", snap, snap["id"]))
                        last = snap["id"]
                    elif not msgs:
                        self.wfile.write(b": keepalive\n\n")
                    for mid, kind, p in msgs or ():
                        self.wfile.write(_sse(kind, p, mid))
                        last = mid
                    self.wfile.flush()
                    state.streams[me] = last
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                pass  # the browser went away
            finally:
                state.streams.pop(me, None)

    return Handler


class Dashboard:
    """The consumer and the web server; start() runs both in threads, stop() ends them."""

    def __init__(self, broker, topic: str = "tinyml/#", host: str = "127.0.0.1", port: int = 8080, log=None):
        from .publisher import say
        from .subscribe import Subscriber

        self.state = DashboardState()
        try:
            self.http = ThreadingHTTPServer((host, port), make_handler(self.state))
        except OSError as e:
            raise TinymlError(f"dashboard: cannot listen on {host}:{port}: {e.strerror or e}") from None
        self.http.daemon_threads = True
        self.sub = Subscriber(broker, topic, on_event=lambda p, t: self.state.add("event", p),
                              on_other=self._other, log=log or say)
        self.state.duplicates = lambda: self.sub.duplicates
        self.threads: list[threading.Thread] = []

    def _other(self, payload, topic) -> None:
        if isinstance(payload, dict) and payload.get("kind") in ("status", "telemetry"):
            self.state.add(payload["kind"], payload)

    @property
    def url(self) -> str:
        host, port = self.http.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self) -> "Dashboard":
        self.threads = [self.sub.start(), threading.Thread(target=self.http.serve_forever, kwargs={"poll_interval": 0.2},
                                                           daemon=True, name="dashboard-http")]
        self.threads[1].start()
        return self

    def stop(self) -> None:
        self.state.close()
        self.sub.stop()
        self.http.shutdown()
        self.http.server_close()
        for t in self.threads:
            t.join(5)


def register(sub) -> None:
    from .options import add_broker_options

    p = sub.add_parser("dashboard", help="a live web page of the devices and their events (from the broker)")
    add_broker_options(p, publisher=False, required=False)  # --demo needs none
    p.add_argument("--topic", default="tinyml/#", help="topic filter (default tinyml/#)")
    p.add_argument("--listen", default="127.0.0.1:8080", metavar="HOST:PORT",
                   help="where the page is served (default 127.0.0.1:8080; 0.0.0.0:8080 for the LAN)")
    p.add_argument("--demo", action="store_true",
                   help="no broker needed: a local mosquitto and one simulated device per app, replaying its demo")
    p.add_argument("--timeout", type=float, help="stop after this many seconds")
    p.set_defaults(func=cmd_dashboard)


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = (text or "").rpartition(":")
    try:
        n = int(port)
        if not sep or not host or not 0 <= n < 65536:
            raise ValueError
    except ValueError:
        raise TinymlError(f"{hints.option('--listen', repr(text))}: expected HOST:PORT, e.g. 127.0.0.1:8080") from None
    return host, n


def demo_devices() -> list:
    """One simulated device per app with a committed model and a demo that raises events (looping for hours); the
    device reads the demo once, and plays a longer one than DEMO_PLAY_S faster, to last DEMO_PLAY_S."""
    from ..apps import discover, load_app
    from ..fixtures import demo_path
    from .devices import DeviceSpec

    specs = []
    for a in discover():
        app = load_app(a)
        if app.tflite_path.is_file() and demo_path(app).is_file():
            specs.append(DeviceSpec(app=a, board="sim", id=f"{a}-demo", loop=10000, play_s=DEMO_PLAY_S))
    if not specs:
        raise TinymlError("--demo: no app has a committed model and a demo recording")
    return specs


def demo_state(pid: int | None = None) -> Path:
    """This process's demo broker and queue folder, emptied: its event ids repeat from run to run (the same demo,
    the same loops), and a queue that keeps each id once would take a new run's events for ones already
    delivered. One folder per process, so a second demo running at once keeps its own; those of processes
    that are gone are removed."""
    import shutil

    from ..paths import build_dir

    root = build_dir("dashboard-demo")
    pid = os.getpid() if pid is None else pid
    for old in root.glob("run-*"):
        owner = old.name[4:]
        if owner.isdigit() and int(owner) != pid and not _running(int(owner)):
            shutil.rmtree(old, ignore_errors=True)
    d = root / f"run-{pid}"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    return d


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # PermissionError: another user's process, running
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def cmd_dashboard(args) -> int:
    from .stopping import stop_on_signals

    stop = threading.Event()
    with stop_on_signals(stop.set):  # SIGTERM too: the demo's mosquitto and gateway are stopped, none left behind
        return _dashboard(args, stop)


def _dashboard(args, stop: threading.Event) -> int:
    from .options import parse_broker, topic_filter
    from .publisher import say

    host, port = parse_listen(args.listen)
    topic_filter(args.topic)
    if not args.demo and not args.broker:
        raise TinymlError("give --broker URL (the broker the gateways publish to), or --demo")
    local = gw = gw_thread = None
    try:
        if args.demo:
            from .broker import LocalBroker
            from .service import Gateway

            state = demo_state()
            local = LocalBroker(state / "broker", acl=False, tls=False).start()
            broker = parse_broker(local.url("plain"))
            gw = Gateway(broker, demo_devices(), site="demo", queue=state / "queue.sqlite",
                         telemetry_s=5.0, log=say)
        else:
            broker = parse_broker(args.broker)
        dash = Dashboard(broker, args.topic, host, port).start()
        if gw is not None:
            gw_thread = threading.Thread(target=gw.run, kwargs={"drain": 5.0}, daemon=True, name="demo-gateway")
            gw_thread.start()
        say(f"dashboard: {dash.url} (events from {broker.where}, {args.topic}); Ctrl-C stops")
        end = None if args.timeout is None else time.monotonic() + args.timeout
        while not stop.wait(0.2) and (end is None or time.monotonic() < end):
            pass
        dash.stop()
        say(f"dashboard: {dash.state.events} event(s) shown, {dash.sub.duplicates} duplicate(s) dropped")
    finally:
        if gw is not None:
            gw.stop.set()
            if gw_thread is not None:
                gw_thread.join(30)
        if local is not None:
            local.stop()
    return 0
