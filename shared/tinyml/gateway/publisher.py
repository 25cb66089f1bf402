"""One device's MQTT connection (paho-mqtt 2.x, MQTT v5): its retained status with a last will, its queued events at
QoS 1, its telemetry.

Delivery: an event is published only after the store has committed it, and acknowledged in the store only when the
broker's PUBACK for it arrives. paho keeps unacknowledged messages across reconnects and sends them again (with DUP);
rows still unacknowledged when the process ends are sent by the next run. So every event arrives at least once, and
in the order the device raised them except for those repeats.

Connection: our own loop (not paho's loop_start) so that every failure is one line on stderr and the retry waits
with exponential backoff (0.5 s doubling to 30 s): an unreachable broker, an unknown CA, a refused login.
"""

from __future__ import annotations

import collections
import ssl
import sys
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from ..errors import TinymlError
from .options import Broker
from .payloads import dumps, status_payload, status_topic
from .store import EventStore, StoreError

BACKOFF_MIN_S = 0.5
BACKOFF_MAX_S = 30.0
IN_FLIGHT = 200  # events handed to paho and not yet acknowledged, per device


class LinkDown(Exception):
    """The MQTT connection ended (or was refused); the text says why."""


def say(msg: str) -> None:
    sys.stderr.write(msg.rstrip() + "\n")
    sys.stderr.flush()


def mqtt_client(broker: Broker, client_id: str) -> mqtt.Client:
    """A paho client with the broker's credentials and TLS: the server's certificate is checked against ca= (or the
    system's CAs) and its host name; cert=/key= present a client certificate."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    if broker.username:
        c.username_pw_set(broker.username, broker.password)
    if broker.tls:
        c.tls_set_context(tls_context(broker))
    c.max_inflight_messages_set(IN_FLIGHT)
    # Every socket write happens in the thread that runs c.loop(): publish() from another thread (a device's, the
    # gateway's) then only queues the packet and wakes that loop. Without this callback paho writes from the caller's
    # thread too, racing the loop on the socket (a TLS stream broken mid-record: "connection lost").
    c.on_socket_register_write = lambda client, userdata, sock: None
    return c


def tls_context(broker: Broker) -> ssl.SSLContext:
    """The TLS context of ca= (or the system's CAs) and cert=/key=; a file that is not what it should be is one line
    naming it (an encrypted key is refused, never a password prompt on a gateway's console)."""
    try:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=broker.ca)
    except (ssl.SSLError, OSError) as e:
        raise TinymlError(f"ca={broker.ca}: not a CA certificate in PEM form ({_ssl_reason(e)})") from None
    if broker.cert:
        try:
            ctx.load_cert_chain(broker.cert, broker.key, password=lambda: b"")
        except (ssl.SSLError, OSError) as e:
            why = {"KEY_VALUES_MISMATCH": "the key is not the certificate's",
                   "BAD_DECRYPT": "the key is encrypted; give it unencrypted (e.g. openssl pkey -in KEY -out KEY2)"}
            reason = "BAD_DECRYPT" if _encrypted(broker.key) else _ssl_reason(e)
            raise TinymlError(f"cert={broker.cert} key={broker.key}: cannot use this client certificate: "
                              f"{why.get(reason, reason)}") from None
    return ctx


def _encrypted(key_file: str) -> bool:
    try:
        with open(key_file, "rb") as f:
            return b"ENCRYPTED" in f.read(4096)
    except OSError:
        return False


def _ssl_reason(e: Exception) -> str:
    return getattr(e, "reason", None) or getattr(e, "strerror", None) or str(e)


def acknowledged(info) -> bool:
    """The broker acknowledged this QoS 1 publish (paho raises when the connection it went out on was lost)."""
    try:
        return info.is_published()
    except (RuntimeError, ValueError):
        return False


def failure_text(e: BaseException) -> str:
    if isinstance(e, ssl.SSLCertVerificationError):
        return f"TLS: the broker's certificate is not trusted ({e.verify_message}); give its CA with ?ca=FILE"
    if isinstance(e, ssl.SSLError):
        return f"TLS: {e.reason or e}"
    if isinstance(e, ConnectionRefusedError):
        return "connection refused (is the broker running on that port?)"
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    return str(e) or e.__class__.__name__


SESSION_TAKEN_OVER = 0x8E  # MQTT v5 DISCONNECT reason: another connection with this client id


def dropped_text(reason_code, client_id: str) -> str:
    """Why the broker closed a connection it had accepted ("" when it did not say: a plain connection loss)."""
    if reason_code is None or not reason_code.is_failure or reason_code.value == 0x80:  # 0x80: unspecified
        return ""
    text = f"the broker closed the connection: {reason_code}"
    if reason_code.value == SESSION_TAKEN_OVER:
        text += (f" (another client connected with the same client id {client_id!r}: two gateways with one device "
                 "id, or two consumers with one --session?)")
    return text


class DropWatch:
    """Connections the broker closes soon after accepting them, again and again: most often two clients with one client
    id, each connect taking the session from the other (mosquitto just closes the older socket, without a reason
    code). Counted here so that the retry line can say so."""

    SHORT_S = 10.0
    TIMES = 3

    def __init__(self, client_id: str):
        self.client_id, self.since, self.short = client_id, None, 0

    def connected(self) -> None:
        self.since = time.monotonic()

    def lost(self) -> str:
        """A hint for the line of this loss ("" when none)."""
        if self.since is None:
            return ""
        self.short = self.short + 1 if time.monotonic() - self.since < self.SHORT_S else 0
        self.since = None
        if self.short < self.TIMES or not self.client_id:
            return ""
        return (f" (the broker keeps closing the connection soon after accepting it: another client with the client "
                f"id {self.client_id!r}? two gateways with one device id, or two consumers with one --session)")


class DevicePublisher:
    """Publishes one device's queued events, its status and telemetry; a thread runs the connection."""

    def __init__(self, broker: Broker, store: EventStore, *, site: str, device: str, apps, gateway: str,
                 client_id: str | None = None, log=say):
        self.broker, self.store, self.site, self.device = broker, store, site, device
        self.apps, self.gateway, self.log = list(apps), gateway, log
        self.client_id = client_id or f"tinyml-{site}-{device}"
        self.client = mqtt_client(broker, self.client_id)
        self.drops = DropWatch(self.client_id)
        will = dumps(status_payload(site, device, "offline", apps=self.apps, gateway=gateway, reason="lost"))
        self.client.will_set(status_topic(site, device), will, qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        self.lock = threading.Lock()
        self.in_flight: dict[int, int] = {}  # paho mid -> store row
        self.acked: collections.deque[int] = collections.deque()  # mids acknowledged (filled in paho's callbacks)
        self.last_row = 0  # the newest store row handed to paho (rows go to paho in order)
        self.caught_up = False  # every stored row up to last_row is with paho (at start: unknown)
        self.refused = ""
        self.dropped = ""  # why the broker closed the connection, when it said
        self.refused_events = 0
        self.final_status = None  # the publish of the status stop() sends (None: none sent)
        self.connected = threading.Event()
        self.stopping = threading.Event()
        self.sent = 0
        self.acks = 0
        self.unsaved: list[int] = []  # rows the broker acknowledged that the store could not mark yet (a full disk)
        self.store_error = ""
        self.last_error = ""
        self.thread = threading.Thread(target=self._run, name=f"mqtt-{device}", daemon=True)

    # ---- paho callbacks (run in our loop thread) ----
    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            self.refused = f"the broker refused the connection: {reason_code}"
            return
        if self.last_error:
            self.log(f"gateway: {self.device}: connected to {self.broker.where}")
        self.last_error = self.refused = self.dropped = ""
        self.drops.connected()
        self.connected.set()
        online = dumps(status_payload(self.site, self.device, "online", apps=self.apps, gateway=self.gateway))
        client.publish(status_topic(self.site, self.device), online, qos=1, retain=True)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        self.connected.clear()
        self.dropped = dropped_text(reason_code, self.client_id)

    def _on_publish(self, client, userdata, mid, reason_code, properties):
        self.acked.append((mid, reason_code))

    # ---- called from any thread ----
    def start(self) -> "DevicePublisher":
        self.thread.start()
        return self

    def offer(self, row: int, topic: str, payload: bytes) -> None:
        """A newly stored event: hand it to paho at once when nothing older waits and the in-flight window has room
        (else the loop sends it from the store, in order)."""
        with self.lock:
            if row <= self.last_row:
                return
            if self.caught_up and len(self.in_flight) < IN_FLIGHT:
                self._publish(row, topic, payload)
            else:
                self.caught_up = False

    def publish_now(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> None:
        """Telemetry and status: sent when connected, never stored."""
        if self.connected.is_set():
            self.client.publish(topic, payload, qos=qos, retain=retain)

    def outstanding(self) -> int:
        """Events stored for this device and not yet acknowledged by the broker."""
        return self.store.count_pending(self.device)

    def stop(self, state: str | None = "offline", reason: str = "finished", timeout: float = 10.0) -> None:
        """Publish the final status (retained) when connected, then disconnect cleanly (no last will). When the broker
        has not acknowledged that status in `timeout`, the disconnect asks for the last will instead (MQTT v5 reason
        0x04), so that a device never stays "online" after its gateway has gone."""
        if state and self.connected.is_set():
            info = self.final_status = self.client.publish(status_topic(self.site, self.device),
                                       dumps(status_payload(self.site, self.device, state, apps=self.apps,
                                                            gateway=self.gateway, reason=reason)), qos=1, retain=True)
            end = time.monotonic() + timeout
            while not acknowledged(info) and time.monotonic() < end and self.thread.is_alive():
                time.sleep(0.02)
        self.stopping.set()
        self.thread.join(timeout)

    # ---- our loop ----
    def _publish(self, row: int, topic: str, payload: bytes) -> None:
        info = self.client.publish(topic, payload, qos=1)
        if info.rc in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):  # NO_CONN: paho queued it
            self.in_flight[info.mid] = row
            self.last_row = max(self.last_row, row)
            self.sent += 1

    def _problem(self, text: str) -> None:
        self.log(f"gateway: {self.device}: {self.broker.where}: {text}")
        self.last_error = text

    def _store_problem(self, e: StoreError) -> None:
        if str(e) != self.store_error:  # once per distinct problem, not once per loop
            self.store_error = str(e)
            self.log(f"gateway: {self.device}: {e}; retrying")

    def _settle(self) -> None:
        """Acknowledged mids -> store rows acknowledged; then top the in-flight window up from the store."""
        rows, refused = [], []
        with self.lock:
            while self.acked:
                mid, reason = self.acked.popleft()
                row = self.in_flight.pop(mid, None)
                if row is None:
                    continue
                # a PUBACK with a failure reason (not authorized by the ACL, quota...) is no delivery: the event
                # stays queued (sent again by the next run) and the refusal is said
                (refused if reason is not None and reason.is_failure else rows).append((row, reason))
        for row, reason in refused:
            self.refused_events += 1
            if self.refused_events == 1 or self.refused_events % 100 == 0:
                self._problem(f"the broker refused {self.refused_events} event(s) ({reason}); they stay queued")
        rows = self.unsaved + [r for r, _ in rows]
        try:
            self.store.ack(rows)
        except StoreError as e:
            # delivered, not yet marked: kept and marked once the queue can be written (if the gateway stops first,
            # the next run sends them again, and consumers drop the duplicates by event id)
            self.unsaved = rows
            self._store_problem(e)
            return
        self.unsaved = []
        self.store_error = ""
        self.acks += len(rows)
        with self.lock:
            room = IN_FLIGHT - len(self.in_flight)
            if room > 0 and not self.caught_up:
                backlog = self.store.pending(self.device, after=self.last_row, limit=room)
                for q in backlog:
                    self._publish(q.row, q.topic, q.payload)
                self.caught_up = len(backlog) < room

    def _run(self) -> None:
        delay = BACKOFF_MIN_S
        need_connect = True  # a socket to open (is_connected() is False until the CONNACK)
        while not self.stopping.is_set():
            try:
                if need_connect:
                    self.client.connect(self.broker.host, self.broker.port, keepalive=30, clean_start=True)
                    need_connect = False
                rc = self.client.loop(timeout=0.2)
                if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                    raise LinkDown(self.refused or self.dropped
                                   or f"connection lost ({mqtt.error_string(rc)}){self.drops.lost()}")
                try:
                    self._settle()
                except StoreError as e:  # the backlog could not be read: said once, tried again next loop
                    self._store_problem(e)
                if self.connected.is_set():
                    delay = BACKOFF_MIN_S
                continue
            except LinkDown as e:
                self._problem(f"{e}; retrying in {delay:g} s")
            except (OSError, ssl.SSLError) as e:
                self._problem(f"{failure_text(e)}; retrying in {delay:g} s")
            except ValueError as e:  # paho: a bad host name and the like
                self._problem(f"{e}; retrying in {delay:g} s")
            self.connected.clear()
            need_connect = True
            self.stopping.wait(delay)
            delay = min(BACKOFF_MAX_S, delay * 2)
        unconfirmed = self.final_status is not None and not acknowledged(self.final_status)
        try:
            self.client.disconnect(ReasonCode(PacketTypes.DISCONNECT, "Disconnect with will message")
                                   if unconfirmed else None)
            self.client.loop(timeout=0.2)
        except (OSError, ValueError):
            pass
