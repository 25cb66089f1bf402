"""Verbs: `tinyml eim <app>`, `tinyml gateway --device ...`, `tinyml subscribe URL`.

eim:       build the app as an Edge Impulse Linux model, build/<id>/host/<id>.eim (tinyml.gateway.eim).
gateway:   run device links and publish their events to an MQTT broker through the store-and-forward queue.
subscribe: print the events under a topic filter as JSON lines, each event id once (a consumer's dedupe).
`tinyml run <app> --mqtt URL` publishes one device's events the same way (tinyml.device.commands).
"""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eim", help="build the app as an Edge Impulse Linux model (build/<id>/host/<id>.eim)")
    p.add_argument("app", help="app id (or a path to an app folder)")
    p.set_defaults(func=cmd_eim)

    from .options import add_broker_options

    p = sub.add_parser("gateway", help="run device links and publish their events to an MQTT broker, nothing lost")
    p.add_argument("--device", action="append", required=True, metavar="KEY=VALUE,...",
                   help="a device: app=<id>,board=host|qemu-m4|<real board>|sim[,input=rec.csv][,port=/dev/ttyACM0]"
                        "[,id=<device id>][,rate=Hz][,loop=N][,speed=X (board=sim: X times real time)]"
                        "[,cmd=program speaking the device link] (repeatable)")
    add_broker_options(p)
    p.add_argument("--telemetry", type=float, default=60.0, help="seconds between telemetry messages (default 60)")
    p.add_argument("--timeout", type=float, default=None, help="stop after this many seconds")
    p.add_argument("--drain", type=float, default=30.0,
                   help="after the devices finish, seconds to wait for the broker to take the queue (default 30)")
    p.set_defaults(func=cmd_gateway)

    p = sub.add_parser("subscribe", help="print events from an MQTT broker as JSON lines, each event id once")
    add_broker_options(p, publisher=False)
    p.add_argument("--topic", default="tinyml/#", help="topic filter (default tinyml/#; $share/<group>/... to share)")
    p.add_argument("--count", type=int, help="stop after this many distinct events")
    p.add_argument("--timeout", type=float, help="stop after this many seconds")
    p.add_argument("--all", action="store_true", help="also print status and telemetry messages")
    p.add_argument("--seen-db", help="remember seen event ids in this SQLite file (dedupe across restarts)")
    p.add_argument("--session", help="a persistent session of this name: the broker keeps events for it while away")
    p.set_defaults(func=cmd_subscribe)


    from .dashboard import register as register_dashboard
    from .fleet import register as register_fleet

    register_fleet(sub)
    register_dashboard(sub)


def cmd_eim(args) -> int:
    from ..device.commands import resolve_app
    from ..system_deps import ensure
    from .eim import build_eim

    app = resolve_app(args)
    ensure("eim")
    path = build_eim(app)
    print(f"built {path} (Edge Impulse Linux model: {app.id}; `{path} --print-info` shows what it reports)",
          file=sys.stderr)
    print(path)
    return 0


def cmd_gateway(args) -> int:
    from .service import run_gateway

    return run_gateway(args)


def cmd_subscribe(args) -> int:
    from .subscribe import run_subscribe

    return run_subscribe(args)
