"""`tinyml subscribe`: a consumer of the gateway's topics, and how to be one. Delivery is at least once, so a consumer
keeps each event_id once (in memory, or in a SQLite file with --seen-db to survive its own restarts) and prints the
events as JSON lines. --session NAME makes the broker keep the subscription while the consumer is away (MQTT v5
session expiry, client id tinyml-sub-NAME). Several consumers share the load with a shared subscription:
--topic '$share/<group>/tinyml/#' (MQTT v5; each message goes to one member of the group).
"""

from __future__ import annotations

import json
import sqlite3
import sys
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ..errors import TinymlError
from .options import Broker, parse_broker, topic_filter
from .payloads import SCHEMA_VERSION
from .publisher import (BACKOFF_MAX_S, BACKOFF_MIN_S, DropWatch, LinkDown, dropped_text, failure_text,
                        mqtt_client, say)
from .stopping import stop_on_signals

SESSION_EXPIRY_S = 7 * 24 * 3600


class Seen:
    """Event ids already delivered to the consumer: a set, optionally backed by SQLite."""

    def __init__(self, path: str | None = None):
        self.ids: set[str] = set()
        self.db = None
        self.path = path
        if path:
            try:
                self.db = sqlite3.connect(path, isolation_level=None)
                self.db.execute("CREATE TABLE IF NOT EXISTS seen (event_id TEXT PRIMARY KEY)")
                self.ids.update(r[0] for r in self.db.execute("SELECT event_id FROM seen"))
            except sqlite3.Error as e:
                raise TinymlError(f"--seen-db {path}: cannot open it: {e}") from None

    def first_time(self, event_id: str) -> bool:
        if event_id in self.ids:
            return False
        if self.db is not None:
            try:  # remembered before it is handed on: a consumer that cannot remember stops (the broker keeps the event)
                self.db.execute("INSERT OR IGNORE INTO seen VALUES (?)", (event_id,))
            except sqlite3.Error as e:
                raise TinymlError(f"--seen-db {self.path}: cannot write it: {e}") from None
        self.ids.add(event_id)
        return True


def unreadable(payload) -> str:
    """Why a message is not one this consumer reads (schema version 1: payloads.schema.json), "" when it is. Only
    what consumers rely on is checked: a version, a kind, and for an event its id and the names it is keyed by."""
    if not isinstance(payload, dict):
        return "not a JSON object"
    if payload.get("schema") != SCHEMA_VERSION:
        return f"schema version {payload.get('schema')!r}, this consumer reads version {SCHEMA_VERSION} (update tinyml)"
    kind = payload.get("kind")
    if kind not in ("event", "status", "telemetry"):
        return f"unknown kind {kind!r}"
    keys = ("event_id", "site", "device", "app", "event") if kind == "event" else ("site", "device")
    bad = [k for k in keys if not (isinstance(payload.get(k), str) and payload.get(k))]
    return f"a {kind} without a valid {bad[0]}" if bad else ""


class Subscriber:
    """Subscribes to `topic` at QoS 1 and calls on_event(payload, topic) once per event id (duplicates counted in
    .duplicates); other messages go to on_other(payload, topic). Reconnects with backoff; run() in a thread or inline."""

    def __init__(self, broker: Broker, topic: str = "tinyml/#", *, session: str | None = None, seen: Seen | None = None,
                 on_event=None, on_other=None, log=say):
        self.broker, self.topic, self.log = broker, topic, log
        self.session = session
        self.client = mqtt_client(broker, f"tinyml-sub-{session}" if session else "")
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.seen = seen or Seen()
        self.on_event, self.on_other = on_event, on_other
        self.duplicates = 0
        self.received = 0
        self.skipped = 0  # messages this consumer cannot read (not JSON, another schema version, malformed)
        self.said: set[str] = set()  # each kind of problem is said once
        self.client_id = f"tinyml-sub-{session}" if session else ""
        self.dropped = ""
        self.drops = DropWatch(self.client_id)
        self.subscribed = threading.Event()
        self.stopping = threading.Event()
        self.refused = ""

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            self.refused = f"the broker refused the connection: {reason_code}"
            return
        self.refused = self.dropped = ""
        self.drops.connected()
        client.subscribe(self.topic, qos=1)
        self.subscribed.set()
        self.log(f"subscribe: subscribed to {self.topic} at {self.broker.where}")

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        self.dropped = dropped_text(reason_code, self.client_id)

    def _skip(self, topic: str, why: str) -> None:
        """A message this consumer cannot read: counted, and each kind of problem said once (a flood of bad
        messages does not flood stderr, and never ends the consumer)."""
        self.skipped += 1
        if why not in self.said:
            self.said.add(why)
            self.log(f"subscribe: {topic}: {why}; skipped (further such messages are counted, not shown)")

    def _on_message(self, client, userdata, msg):
        self.received += 1
        try:
            payload = json.loads(msg.payload)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
            self._skip(msg.topic, "not JSON")
            return
        why = unreadable(payload)
        if why:
            self._skip(msg.topic, why)
            return
        if payload["kind"] == "event":
            if self.seen.first_time(payload["event_id"]):
                if self.on_event:
                    self.on_event(payload, msg.topic)
            else:
                self.duplicates += 1
        elif self.on_other:
            self.on_other(payload, msg.topic)

    def _connect_properties(self):
        if not self.session:
            return None
        p = Properties(PacketTypes.CONNECT)
        p.SessionExpiryInterval = SESSION_EXPIRY_S
        return p

    def run(self, until=None) -> None:
        """Until stop() or until() is true."""
        delay = BACKOFF_MIN_S
        need_connect = True  # a socket to open (is_connected() is False until the CONNACK)
        while not self.stopping.is_set() and not (until and until()):
            try:
                if need_connect:
                    self.subscribed.clear()
                    need_connect = False
                    self.client.connect(self.broker.host, self.broker.port, keepalive=30,
                                        clean_start=not self.session, properties=self._connect_properties())
                rc = self.client.loop(timeout=0.2)
                if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                    raise LinkDown(self.refused or self.dropped
                                   or f"connection lost ({mqtt.error_string(rc)}){self.drops.lost()}")
                delay = BACKOFF_MIN_S
                continue
            except LinkDown as e:
                text = str(e)
            except (OSError, ValueError) as e:
                text = failure_text(e)
            self.subscribed.clear()
            need_connect = True
            self.log(f"subscribe: {self.broker.where}: {text}; retrying in {delay:g} s")
            self.stopping.wait(delay)
            delay = min(BACKOFF_MAX_S, delay * 2)
        try:
            self.client.disconnect()
        except (OSError, ValueError):
            pass

    def start(self) -> threading.Thread:
        th = threading.Thread(target=self.run, daemon=True, name="subscriber")
        th.start()
        return th

    def stop(self) -> None:
        self.stopping.set()


def run_subscribe(args) -> int:
    broker = parse_broker(args.broker)
    topic_filter(args.topic)
    count = 0
    out = sys.stdout

    def on_event(payload, topic):
        nonlocal count
        count += 1
        out.write(json.dumps(payload, separators=(",", ":")) + "\n")
        out.flush()

    def on_other(payload, topic):
        if args.all:
            out.write(json.dumps(payload, separators=(",", ":")) + "\n")
            out.flush()

    sub = Subscriber(broker, args.topic, session=args.session, seen=Seen(args.seen_db), on_event=on_event,
                     on_other=on_other)
    end = None if args.timeout is None else time.monotonic() + args.timeout
    with stop_on_signals(sub.stop):
        sub.run(until=lambda: (args.count is not None and count >= args.count)
                or (end is not None and time.monotonic() >= end))
    skipped = f", {sub.skipped} unreadable message(s) skipped" if sub.skipped else ""
    if args.count is not None and count < args.count:  # asked for N events and got fewer: that failed
        say(f"subscribe: {count} of {args.count} event(s) before it stopped, {sub.duplicates} duplicate(s) "
            f"dropped{skipped}")
        return 1
    say(f"subscribe: {count} event(s), {sub.duplicates} duplicate(s) dropped{skipped}")
    return 0
