"""`tinyml fleet` (`make fleet`): a load test of the MQTT path. Hundreds of simulated devices (board=sim: the events
`tinyml predict` finds in an app's demo, raised on time) publish through several gateway processes to a local
mosquitto for a bounded time; consumers on an MQTT v5 shared subscription count what arrives. Prints events per
second, end-to-end latency (from the gateway storing an event to a consumer receiving it) p50 / p99, duplicates
dropped and lost events, which must be 0 (exit code 1 otherwise).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from .. import hints
from ..apps import discover, load_app
from ..errors import TinymlError
from ..paths import build_dir

USERS = {"gw-lab": "fleet-gateway", "consumer": "fleet-consumer"}


def register(sub) -> None:
    p = sub.add_parser("fleet", help="load test: simulated devices -> gateways -> a local mosquitto; events/s, "
                                     "latency p50/p99, lost events")
    p.add_argument("--devices", type=int, default=200, help="simulated devices (default 200)")
    p.add_argument("--gateways", type=int, default=4, help="gateway processes sharing them (default 4)")
    p.add_argument("--seconds", type=float, default=20.0, help="how long the devices raise events (default 20)")
    p.add_argument("--events-per-second", type=float, default=1.0, help="per device (default 1)")
    p.add_argument("--consumers", type=int, default=2, help="consumers on one shared subscription (default 2)")
    p.add_argument("--app", dest="fleet_app", help="the app whose demo events the devices raise (default: the busiest demo)")
    p.set_defaults(func=cmd_fleet)


def busiest_app():
    """(app, its demo's events) for the app whose demo raises the most events per second."""
    from ..fixtures import demo_path
    from ..predict import predict_file

    best = None
    for a in discover():
        app = load_app(a)
        if not app.tflite_path.is_file() or not demo_path(app).is_file():
            continue
        ev = list(predict_file(app, demo_path(app), events_only=True))
        if ev and (best is None or len(ev) / max(ev[-1]["t"], 1e-3) > best[2]):
            best = (app, ev, len(ev) / max(ev[-1]["t"], 1e-3))
    if best is None:
        raise TinymlError("no app with a committed model raises an event on its demo")
    return best[0], best[1]


class Tally:
    """What the consumers received: distinct events and their latencies (thread-safe across consumers)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ids: set[str] = set()
        self.latency: list[float] = []
        self.first = self.last = None
        self.duplicates = 0

    def first_time(self, event_id: str) -> bool:
        with self.lock:
            if event_id in self.ids:
                self.duplicates += 1
                return False
            self.ids.add(event_id)
            return True

    def got(self, payload) -> None:
        now = time.time()
        with self.lock:
            self.latency.append(now - payload["created"])
            self.first = now if self.first is None else self.first
            self.last = now


def cmd_fleet(args) -> int:
    from .broker import LocalBroker
    from .options import parse_broker
    from .subscribe import Subscriber

    for flag, value, least in (("--devices", args.devices, 1), ("--gateways", args.gateways, 1),
                               ("--consumers", args.consumers, 1), ("--seconds", args.seconds, 0),
                               ("--events-per-second", args.events_per_second, 0)):
        if not value >= least or (least == 0 and value == 0):  # NaN fails too
            raise TinymlError(f"{hints.option(flag, f'{value:g}')}: must be {'above 0' if least == 0 else '1 or more'}")
    if args.fleet_app:
        from ..fixtures import demo_path
        from ..predict import predict_file

        app = load_app(args.fleet_app)
        demo = list(predict_file(app, demo_path(app), events_only=True))
        if not demo:
            raise TinymlError(f"{app.id}'s demo raises no event: pick another --app")
    else:
        app, demo = busiest_app()
    duration = max(demo[-1]["t"], 1e-3)
    loops = max(1, math.ceil(args.seconds * args.events_per_second / len(demo)))
    expected = args.devices * loops * len(demo)
    work = Path(tempfile.mkdtemp(prefix="fleet-", dir=build_dir()))
    print(f"fleet: {args.devices} simulated {app.id} devices through {args.gateways} gateways, about "
          f"{args.events_per_second:g} event/s each for {args.seconds:g} s ({expected} events); broker and queues in {work}",
          file=sys.stderr)
    tally = Tally()
    with LocalBroker(work / "broker", users=USERS, tls=False) as broker:
        consumer_url = parse_broker(broker.url("plain", "consumer", USERS["consumer"]))
        subs = []
        for i in range(args.consumers):
            s = Subscriber(consumer_url, "$share/fleet/tinyml/lab/+/+/event", seen=tally,
                           on_event=lambda p, t: tally.got(p), log=lambda m: None)
            s.start()
            subs.append(s)
        for s in subs:
            if not s.subscribed.wait(30):
                raise TinymlError("a consumer could not subscribe to the local broker")
        url = broker.url("plain", "gw-lab", USERS["gw-lab"], site="lab")
        procs = []
        t0 = time.time()
        for g in range(args.gateways):
            ids = range(g, args.devices, args.gateways)
            cmd = [str(Path(sys.executable).with_name("tinyml")), "gateway", "--broker", url, "--queue",
                   str(work / f"gateway-{g}.sqlite"), "--telemetry", "5", "--drain", "120"]
            for i in ids:
                # a little spread in pace so that devices do not all fire in the same millisecond
                speed = duration * loops * (1.0 + 0.05 * ((i * 7919) % 21 - 10) / 10) / args.seconds
                cmd += ["--device", f"app={app.id},board=sim,id=sim-{i},loop={loops},speed={speed:.6g}"]
            procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}))
        codes = [p.wait(timeout=args.seconds * 4 + 600) for p in procs]
        errors = [p.stderr.read().strip().splitlines()[-1:] for p in procs]
        end = time.monotonic() + 60
        while len(tally.ids) < expected and time.monotonic() < end:
            time.sleep(0.05)
        for s in subs:
            s.stop()
    lat = np.array(tally.latency) * 1000.0
    span = (tally.last - tally.first) if tally.first is not None and tally.last > tally.first else float("nan")
    lost = expected - len(tally.ids)
    print(f"fleet: {len(tally.ids)} of {expected} events in {time.time() - t0:.1f} s; "
          f"{len(tally.ids) / span:.0f} events/s while they flowed; latency p50 {np.percentile(lat, 50):.1f} ms, "
          f"p99 {np.percentile(lat, 99):.1f} ms, max {lat.max():.1f} ms; {tally.duplicates} duplicates dropped; "
          f"lost {lost}")
    bad = [f"gateway {g}: exit {c}: {' '.join(e)}" for g, (c, e) in enumerate(zip(codes, errors)) if c != 0]
    for b in bad:
        print(f"fleet: {b}", file=sys.stderr)
    return 1 if lost or bad else 0
