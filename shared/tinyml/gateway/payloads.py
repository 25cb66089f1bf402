"""MQTT topics and payloads (JSON, schema version 1: payloads.schema.json beside this file; README "On a gateway").

    tinyml/<site>/<device>/<app>/event       QoS 1, one message per event, at least once (dedupe by event_id)
    tinyml/<site>/<device>/status            QoS 1, retained: online / offline (the last will: offline, lost)
    tinyml/<site>/<device>/<app>/telemetry   QoS 0, periodic: windows, events, cost per inference, link faults

An event's id is a hash of what makes it that event (site, device, app, the device session, the sample index and
the event's name), so the same event replayed after a gateway restart has the same id and a consumer drops it.
"""

from __future__ import annotations

import hashlib
import json
import time
from functools import cache
from pathlib import Path

SCHEMA_VERSION = 1
SCHEMA_FILE = Path(__file__).with_name("payloads.schema.json")
PREFIX = "tinyml"


def event_topic(site: str, device: str, app: str) -> str:
    return f"{PREFIX}/{site}/{device}/{app}/event"


def status_topic(site: str, device: str) -> str:
    return f"{PREFIX}/{site}/{device}/status"


def telemetry_topic(site: str, device: str, app: str) -> str:
    return f"{PREFIX}/{site}/{device}/{app}/telemetry"


def event_id(site: str, device: str, app: str, session: str, sample: int, event: str) -> str:
    key = "\0".join([site, device, app, session, str(int(sample)), event])
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def event_payload(*, site: str, device: str, app: str, session: str, seq: int, sample: int, rate: float, event: str,
                  score: float, scores: dict | None, values: dict | None, model: dict, board: str,
                  created: float | None = None) -> dict:
    d = {
        "schema": SCHEMA_VERSION,
        "kind": "event",
        "event_id": event_id(site, device, app, session, sample, event),
        "site": site,
        "device": device,
        "app": app,
        "seq": int(seq),
        "session": session,
        "event": event,
        "score": score,
        "t": round(int(sample) / float(rate), 3),
        "sample": int(sample),
        "scores": scores,
        "model": model,
        "board": board,
        "created": round(time.time() if created is None else created, 6),
    }
    if values is not None:
        d["values"] = values
    return d


def status_payload(site: str, device: str, state: str, *, apps=(), gateway: str = "", reason: str = "") -> dict:
    d = {"schema": SCHEMA_VERSION, "kind": "status", "site": site, "device": device, "state": state,
         "apps": list(apps), "gateway": gateway, "time": round(time.time(), 3)}
    if reason:
        d["reason"] = reason
    return d


def telemetry_payload(site: str, device: str, app: str, stats: dict) -> dict:
    return {"schema": SCHEMA_VERSION, "kind": "telemetry", "site": site, "device": device, "app": app,
            "time": round(time.time(), 3), **stats}


def dumps(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()


@cache
def schema() -> dict:
    return json.loads(SCHEMA_FILE.read_text())
