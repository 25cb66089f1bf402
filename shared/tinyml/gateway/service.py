"""`tinyml gateway`: devices -> the store-and-forward queue -> the broker, and `tinyml run --mqtt` for one device.

Each device has its own thread for its link (tinyml.gateway.devices), its own MQTT connection (its status topic
needs its own last will) and shares the gateway's queue. When every device has finished, the gateway waits until
the broker has acknowledged every queued event (at most --drain seconds), marks the devices offline and exits:
0 when all was delivered, 1 when some events are still queued (the next run sends them). SIGTERM / Ctrl-C stop
it the same way; SIGKILL loses nothing either (the queue is on disk).
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

from ..errors import TinymlError
from ..paths import build_dir
from .devices import DeviceWorker, EventFeed, parse_device, session_id
from .options import Broker, parse_broker, topic_level
from .payloads import dumps, telemetry_payload, telemetry_topic
from .publisher import DevicePublisher, say
from .stopping import stop_on_signals
from .store import EventStore


def site_of(broker: Broker, site: str | None) -> str:
    return topic_level("site", site or broker.param("site") or "site")


def default_queue(site: str, name: str) -> Path:
    return build_dir("gateway", f"{site}-{name}.sqlite")


def telemetry_stats(feed: EventFeed | None, faults: int, queued: int) -> dict:
    st = feed.stats if feed else None
    cost = None
    if st and st.costs:
        cost = int(sorted(st.costs)[len(st.costs) // 2])
    return {"samples": st.samples if st else 0, "windows": st.windows if st else 0, "events": st.events if st else 0,
            "link_faults": int(faults), "queued": int(queued), "uptime_s": round(time.monotonic() - st.started, 3) if st else 0.0,
            "cost_per_inference": cost, "cost_unit": st.cost_unit if st else None}


class Gateway:
    def __init__(self, broker: Broker, specs, *, site: str, queue: Path, telemetry_s: float = 60.0, log=say):
        self.broker, self.site, self.log, self.telemetry_s = broker, site, log, telemetry_s
        ids = [s.id for s in specs]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise TinymlError(f"two devices share the id {dup[0]!r}; give each its own id=")
        self.store = EventStore(queue)
        self.stop = threading.Event()
        self.hurry = threading.Event()  # a second SIGTERM / Ctrl-C: stop waiting for the broker (the queue keeps all)
        self.name = f"{socket.gethostname().split('.')[0]}"
        self.publishers: dict[str, DevicePublisher] = {}
        self.workers: list[DeviceWorker] = []
        for spec in specs:
            pub = DevicePublisher(broker, self.store, site=site, device=spec.id, apps=[spec.app], gateway=self.name,
                                  client_id=broker.param("client") and f"{broker.param('client')}-{spec.id}", log=log)
            self.publishers[spec.id] = pub
            self.workers.append(DeviceWorker(spec, site=site, store=self.store, sink=pub.offer, log=log, stop=self.stop))

    def telemetry(self) -> None:
        for w in self.workers:
            pub = self.publishers[w.spec.id]
            p = telemetry_payload(self.site, w.spec.id, w.app.id,
                                  telemetry_stats(w.feed, w.link_faults, pub.outstanding()))
            pub.publish_now(telemetry_topic(self.site, w.spec.id, w.app.id), dumps(p), qos=0)

    def run(self, timeout: float | None = None, drain: float = 30.0) -> int:
        for pub in self.publishers.values():
            pub.start()
        for w in self.workers:
            w.start()
        end = None if timeout is None else time.monotonic() + timeout
        next_telemetry = time.monotonic() + self.telemetry_s
        try:
            while not all(w.done.is_set() for w in self.workers) and not self.stop.is_set():
                if end is not None and time.monotonic() >= end:
                    self.stop.set()
                    break
                self.stop.wait(0.2)
                if time.monotonic() >= next_telemetry:
                    self.telemetry()
                    next_telemetry = time.monotonic() + self.telemetry_s
            for w in self.workers:  # stopped early: sessions still running end now (their events so far are stored)
                w.abort()
            end_abort = time.monotonic() + 5.0
            for w in self.workers:
                w.thread.join(max(0.0, end_abort - time.monotonic()))
            self.telemetry()
            left = self.drain(drain)
        finally:
            self.stop.set()
            reason = "finished" if all(w.done.is_set() and not w.error for w in self.workers) else "stopped"
            for pub in self.publishers.values():
                pub.stop("offline", reason)
            self.store.close()
        events = sum(w.events for w in self.workers)
        faults = sum(w.link_faults for w in self.workers)
        self.log(f"gateway: {len(self.workers)} device(s), {events} event(s) raised; "
                 + ("all acknowledged by the broker" if not left else f"{left} still queued in {self.store.path}")
                 + (f"; {faults} link fault(s) (refused frames, device error frames: an event in a refused frame "
                    "is lost)" if faults else ""))
        return 1 if left or any(w.error for w in self.workers) else 0

    def interrupt(self) -> None:
        """SIGTERM / Ctrl-C: the first stops the devices and waits --drain for the broker; a second stops waiting."""
        if self.stop.is_set():
            if not self.hurry.is_set():
                self.log(f"gateway: not waiting for the broker; what it has not acknowledged stays in {self.store.path}")
            self.hurry.set()
        self.stop.set()

    def drain(self, seconds: float) -> int:
        """Wait until the broker has acknowledged every queued event (or `seconds`); the number left."""
        end = time.monotonic() + seconds
        while True:
            left = self.store.count_pending()
            if not left or time.monotonic() >= end or self.hurry.wait(0.05):
                return left


def run_gateway(args) -> int:
    broker = parse_broker(args.broker)
    site = site_of(broker, args.site)
    specs = [parse_device(d, i) for i, d in enumerate(args.device)]
    queue = Path(args.queue) if args.queue else default_queue(site, "gateway")
    gw = Gateway(broker, specs, site=site, queue=queue, telemetry_s=args.telemetry)

    with stop_on_signals(gw.interrupt):
        return gw.run(timeout=args.timeout, drain=args.drain)


RUN_DRAIN_S = 30.0  # `tinyml run --mqtt`: how long the run waits for the broker to take its queue at the end


class RunPublisher:
    """`tinyml run <app> --mqtt URL`: the events of one device session published as the gateway does; close()
    returns how many are still queued (the run then exits 1, as the gateway does)."""

    def __init__(self, app, url: str, input_path: str, rate, board: str):
        from .options import parse_broker as parse

        broker = parse(url, "--mqtt")
        self.site = site_of(broker, None)
        device = topic_level("device", broker.param("device") or f"{socket.gethostname().split('.')[0]}-{app.id}")
        queue = Path(broker.param("queue")) if broker.param("queue") else default_queue(self.site, device)
        self.store = EventStore(queue)
        self.pub = DevicePublisher(broker, self.store, site=self.site, device=device, apps=[app.id],
                                   gateway=socket.gethostname().split(".")[0]).start()
        self.feed = EventFeed(app, site=self.site, device=device, session=session_id(Path(input_path), rate, 0),
                              board=board, store=self.store, sink=self.pub.offer)
        self.hello_seen = False

    def feed_message(self, msg, run) -> None:
        if not self.hello_seen:
            self.feed.hello(run.hello)
            self.hello_seen = True
        self.feed.feed(msg)

    def close(self, drain: float | None = None) -> int:
        end = time.monotonic() + (RUN_DRAIN_S if drain is None else drain)
        while self.store.count_pending() and time.monotonic() < end:
            time.sleep(0.05)
        left = self.store.count_pending()
        self.pub.publish_now(telemetry_topic(self.site, self.pub.device, self.feed.app.id),
                             dumps(telemetry_payload(self.site, self.pub.device, self.feed.app.id,
                                                     telemetry_stats(self.feed, self.feed.stats.device_errors, left))))
        self.pub.stop("offline", "finished")
        self.store.close()
        say(f"mqtt: {self.feed.stats.events} event(s) to {self.pub.broker.where} as {self.pub.device}; "
            + ("all acknowledged" if not left else f"{left} still queued in {self.store.path} (the next run sends them)"))
        return left
