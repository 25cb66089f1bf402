"""Device sessions for the gateway: which devices (`--device app=...,board=...`), and the events they raise.

A device is a firmware reached over the device link (tinyml.device): the `host` board's process, QEMU, a real
board on a serial port (port=), or any program that speaks the link on its stdin/stdout (cmd=, e.g. a bridge to a
radio). The gateway replays a recording through it (input=, default the app's demo), exactly as `tinyml run`
does, and turns each EVENT the device sends into an event payload with the window's scores and values.
`board=sim` is a simulated device for load tests: the events `tinyml predict` finds in the input, raised on
time (at speed x real time) with no firmware.
"""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import hints
from ..apps import App, load_app
from ..errors import TinymlError
from .options import topic_level
from .payloads import dumps, event_payload, event_topic
from .store import StoreError

SPEC_KEYS = ("app", "board", "input", "port", "cmd", "id", "rate", "loop", "speed")


@dataclass
class DeviceSpec:
    app: str
    board: str = "host"
    input: str | None = None
    port: str | None = None
    cmd: str | None = None
    id: str = ""
    rate: float | None = None
    loop: int = 1
    speed: float = 1.0
    play_s: float | None = None  # board=sim: one pass of a longer input is played faster, to last this long


def parse_device(text: str, index: int = 0) -> DeviceSpec:
    """`app=fall-detect,board=host,input=rec.csv,id=belt-7` -> DeviceSpec; one line naming the problem otherwise."""
    where = f"{hints.option('--device', text)}"
    kv = {}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        k, eq, v = part.partition("=")
        if not eq or k not in SPEC_KEYS:
            raise TinymlError(f"{where}: expected key=value pairs with keys {', '.join(SPEC_KEYS)}; got {part!r}")
        kv[k] = v
    if not kv.get("app"):
        raise TinymlError(f"{where}: app=<id> is required")

    def number(key: str, kind, default):
        try:
            return kind(kv[key]) if kv.get(key) else default
        except ValueError:
            raise TinymlError(f"{where}: {key}={kv[key]!r} is not a {'whole ' if kind is int else ''}number") from None

    spec = DeviceSpec(kv["app"], kv.get("board", "host"), kv.get("input"), kv.get("port"), kv.get("cmd"),
                      kv.get("id") or f"{socket.gethostname().split('.')[0]}-{kv['app']}-{index}",
                      number("rate", float, None), number("loop", int, 1), number("speed", float, 1.0))
    topic_level("device id", spec.id)
    if spec.loop < 1 or not spec.speed > 0 or (spec.rate is not None and not spec.rate > 0):
        raise TinymlError(f"{where}: loop must be >= 1, speed and rate > 0")
    if spec.input and not Path(spec.input).is_file():
        raise TinymlError(f"{where}: input {spec.input}: file not found")
    return spec


def device_signal(app: App, path: Path, rate: float | None):
    """The recording as the device gets it, read as `tinyml predict` and `tinyml run` read it."""
    from ..errors import notices_held
    from ..predict import prepare, read_input

    with notices_held():
        return prepare(app, read_input(app, Path(path), rate, None))


def model_info(app: App) -> dict:
    d = {"feature_hash": app.manifest.feature_hash()}
    if app.tflite_path.is_file():
        d["sha256"] = hashlib.sha256(app.tflite_path.read_bytes()).hexdigest()
    return d


def session_id(input_path: Path, rate: float | None, loop: int) -> str:
    """The same replay gets the same session (and so its events the same ids); each loop over it is another."""
    h = hashlib.sha256(Path(input_path).read_bytes())
    h.update(f"\0{rate}".encode())
    return f"{h.hexdigest()[:16]}-{loop}"


@dataclass
class DeviceStats:
    samples: int = 0
    windows: int = 0
    events: int = 0
    device_errors: int = 0
    costs: list = field(default_factory=list)
    cost_unit: str | None = None
    started: float = field(default_factory=time.monotonic)


class EventFeed:
    """Link messages of one device session -> stored and published event payloads (tinyml.device.link messages:
    Hello, Scores, Values, Event, Timing, Error, Done). `sink(row, topic, payload)` gets each newly stored event."""

    def __init__(self, app: App, *, site: str, device: str, session: str, board: str, store, sink=None):
        from ..output_lines import value_json

        self.app, self.m = app, app.manifest
        self.site, self.device, self.session, self.board = site, device, session, board
        self.store, self.sink = store, sink
        self.topic = event_topic(site, device, app.id)
        self.model = model_info(app)
        self.value_json = value_json
        self.stats = DeviceStats()
        self.seq = 0
        self.scores: dict | None = None
        self.values: dict | None = None
        self.rate = float(self.m.rate)
        self.quantization(1.0 / 256, -128)  # until the hello gives the scores' quantization

    def hello(self, h) -> None:
        # times from the manifest's rate, as predict computes them (the link carries a float32 rate)
        self.quantization(h.out_scale, h.out_zero_point)
        self.stats.cost_unit = h.cost_unit

    def quantization(self, scale: float, zero_point: int) -> None:
        from ..output_lines import LineMaker

        self.lines = LineMaker(self.m, scale, zero_point)

    def feed(self, msg) -> None:
        from ..device.link import Done, Error, Event, Hello, Scores, Timing, Values

        if isinstance(msg, Hello):
            self.hello(msg)
        elif isinstance(msg, Scores):
            self.scores = self.lines.scores(msg.scores)
            self.stats.windows += 1
        elif isinstance(msg, Values):
            self.values = {n: self.value_json(v) for n, v in zip(self.m.values, msg.values)}
        elif isinstance(msg, Event):
            e = self.lines.event(msg.t, msg.label, msg.score)  # name and score as predict prints them
            self.raise_event(msg.t, e["event"], e["score"])
        elif isinstance(msg, Timing):
            self.stats.costs.append(msg.cost)
            del self.stats.costs[:-1000]
        elif isinstance(msg, Error):
            self.stats.device_errors += 1
        elif isinstance(msg, Done):
            self.stats.samples = msg.samples

    def raise_event(self, sample: int, name: str, score: float, created: float | None = None) -> None:
        self.seq += 1
        self.stats.events += 1
        p = event_payload(site=self.site, device=self.device, app=self.app.id, session=self.session, seq=self.seq,
                          sample=sample, rate=self.rate, event=name, score=score, scores=self.scores,
                          values=self.values if self.m.values else None, model=self.model, board=self.board,
                          created=created)
        try:
            row = self.store.put(self.device, p["event_id"], self.topic, dumps(p))
        except StoreError as e:  # never a silent loss: the device stops here, saying which event was not kept
            raise StoreError(f"{e}; event {name!r} at t={p['t']:g} s (seq {self.seq}) was not stored") from None
        if row is not None and self.sink is not None:
            self.sink(row, self.topic, dumps(p))


class DeviceWorker:
    """One device: its sessions (loop= replays of the input), run in a thread, feeding an EventFeed."""

    def __init__(self, spec: DeviceSpec, *, site: str, store, sink, log, stop: threading.Event):
        self.spec, self.site, self.store, self.sink, self.log, self.stop = spec, site, store, sink, log, stop
        self.app = load_app(spec.app)
        self.board = self._board()  # a wrong board or a missing port: said now, before any connection
        self.input = Path(spec.input) if spec.input else self._demo()
        self.signal = self._signal()  # here, in the gateway's thread: reading notices are not thread-safe
        self.speed = self._speed()
        self.feed: EventFeed | None = None
        self.past_events = 0  # raised in the sessions (loops) before the current one
        self.link = None
        self.transport = None  # the current session's (its process, its serial port)
        self.error: str | None = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"device-{spec.id}", daemon=True)

    def _board(self):
        if self.spec.cmd:
            import shutil

            program = self.spec.cmd.split()[0]
            if not shutil.which(program):
                raise TinymlError(f"device {self.spec.id}: cmd= program {program!r} not found (or not executable)")
            return None
        if self.spec.board == "sim":
            return None
        from ..device.board import check_port, load_board

        board = load_board(self.spec.board)
        check_port(board, self.spec.port, streams=True, spell=lambda key, value: f"{key}={value}",
                   where=f"device {self.spec.id}: ")
        return board

    def _demo(self) -> Path:
        from ..fixtures import demo_path

        p = demo_path(self.app)
        if not p.is_file():
            raise TinymlError(f"device {self.spec.id}: no input= and {self.app.id} has no demo recording at {p}")
        return p

    @property
    def events(self) -> int:
        """Events raised in every session (loop) so far."""
        return self.past_events + (self.feed.stats.events if self.feed else 0)

    @property
    def link_faults(self) -> int:
        n = self.feed.stats.device_errors if self.feed else 0
        return n + (self.link.dec.faults if self.link is not None else 0)

    def start(self) -> "DeviceWorker":
        self.thread.start()
        return self

    def abort(self) -> None:
        """The gateway is stopping while this device's session runs (a device that hangs, SIGTERM): end the device's
        process (the firmware, QEMU, a cmd= bridge) so that none outlives the gateway; the thread then ends."""
        if not self.thread.is_alive():
            return
        proc = getattr(self.transport, "proc", None)
        if proc is not None and proc.poll() is None:
            proc.kill()

    def _run(self) -> None:
        try:
            signal = self.signal
            for loop in range(self.spec.loop):
                if self.stop.is_set():
                    break
                if self.feed is not None:
                    self.past_events += self.feed.stats.events
                self.feed = EventFeed(self.app, site=self.site, device=self.spec.id, board=self.spec.board,
                                      session=session_id(self.input, self.spec.rate, loop), store=self.store,
                                      sink=self.sink)
                if self.spec.board == "sim":
                    self._simulate(signal)
                else:
                    self._session(signal)
        except TinymlError as e:
            if self.stop.is_set() and not isinstance(e, StoreError):
                return  # the gateway is stopping (SIGTERM, --timeout) and ended the session: no failure
            self.error = str(e)
            self.log(f"gateway: {self.spec.id}: {e}")
        except Exception as e:  # noqa: BLE001 - a bug: one line, and the other devices go on
            self.error = f"internal error: {e.__class__.__name__}: {e}"
            self.log(f"gateway: {self.spec.id}: {self.error}")
        finally:
            self.done.set()

    def _signal(self):
        return device_signal(self.app, self.input, self.spec.rate)

    def _speed(self) -> float:
        """speed=, or with play_s the speed at which one pass of a longer input lasts play_s (real time if shorter)."""
        seconds = len(self.signal) / self.app.manifest.rate
        return seconds / self.spec.play_s if self.spec.play_s and seconds > self.spec.play_s else self.spec.speed

    def _session(self, signal) -> None:
        from ..device.link import ProcessTransport
        from ..device.runner import open_transport, stream_signal

        m = self.app.manifest
        if self.spec.cmd:
            transport = ProcessTransport(self.spec.cmd.split())
        else:
            from ..device.size import build_to_fit

            im = build_to_fit(self.app, self.board)
            transport = open_transport(self.board, im.elf, self.spec.port)
        self.transport = transport

        def on_link(link):
            link.skip_malformed = True  # counted as link faults (telemetry), the session goes on
            self.link = link

        def on_message(msg, run):
            if self.stop.is_set():
                raise TinymlError("stopped")
            if self.feed.stats.cost_unit is None:  # the hello (read by connect) gives the scores' quantization
                self.feed.hello(run.hello)
            self.feed.feed(msg)

        run = stream_signal(transport, signal, labels=m.labels, expect_app=m.id, expect_hash=m.feature_hash(),
                            timeout_s=max(600.0, 10 * len(signal) / m.rate), on_message=on_message,
                            values=m.values, beat_labels=m.beat_labels, on_link=on_link)
        if run.exit_code not in (None, 0):
            raise TinymlError(f"the device's firmware exited with code {run.exit_code}")

    def _simulate(self, signal) -> None:
        """The events `tinyml predict` finds in the input, raised when the device would have (speed x real time)."""
        pipe, res = _predicted(self.app, self.input, self.spec.rate, signal)
        o = pipe.model.output
        self.feed.quantization(o.scale, o.zero_point)
        mk = self.feed.lines
        ends = list(res.ends)
        values = res.values if res.values is not None and res.values.shape[1:] == (len(self.app.manifest.values),) \
            else None  # as predict prints them: apps with [app] values
        t0 = time.monotonic()
        w = 0
        for sample, label, score in res.events:
            while w < len(ends) and ends[w] <= sample:  # the window that raised it
                self.feed.scores = mk.scores(res.scores_q[w])
                if values is not None:
                    self.feed.values = {n: self.feed.value_json(v) for n, v in zip(self.app.manifest.values, values[w])}
                w += 1
            self.feed.stats.windows, self.feed.stats.samples = w, int(sample)
            due = t0 + sample / self.feed.rate / self.speed
            if self.stop.wait(max(0.0, due - time.monotonic())):
                return
            e = mk.event(sample, label, score)
            self.feed.raise_event(sample, e["event"], e["score"])
        self.feed.stats.samples = len(signal)
        self.feed.stats.windows = len(ends)


_PREDICTED: dict = {}
_PREDICTED_LOCK = threading.Lock()


def _predicted(app: App, path: Path, rate, signal):
    """The Python pipeline's result on a recording (`signal`: the file as the device gets it), once per (app, file)
    in a process (simulated devices share it)."""
    key = (app.id, str(path), rate)
    with _PREDICTED_LOCK:
        if key not in _PREDICTED:
            from ..predict import Pipeline

            pipe = Pipeline(app)
            _PREDICTED[key] = (pipe, pipe.run(signal))
        return _PREDICTED[key]

