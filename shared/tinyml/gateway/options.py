"""A broker as one URL, the same for `tinyml gateway --broker`, `tinyml subscribe --broker` and `tinyml run --mqtt`:

    mqtt://[user[:password]@]host[:port][/?key=value&...]     plain MQTT, port 1883 by default
    mqtts://[user[:password]@]host[:port][/?key=value&...]    TLS, port 8883; the server certificate is checked

Query keys: ca=FILE (the CA that signed the broker's certificate; default: the system's CAs), cert=FILE and
key=FILE (a client certificate), site=NAME (topic level, default "site"), device=ID (run --mqtt: the device id,
default <host name>-<app>), queue=FILE (the store-and-forward queue, default build/gateway/<site>-<device>.sqlite),
client=ID (MQTT client id prefix). A password may also come from TINYML_MQTT_PASSWORD (kept out of `ps`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from .. import hints
from ..errors import TinymlError

KEYS = ("ca", "cert", "key", "site", "device", "queue", "client")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")  # a topic level: no / + # and no $ at its start


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = None
    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    params: dict = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"

    def param(self, key: str, default: str | None = None) -> str | None:
        return self.params.get(key, default)


def topic_level(what: str, value: str) -> str:
    if not NAME.match(value or ""):
        raise TinymlError(f"{what} {value!r} cannot be an MQTT topic level: use letters, digits, '-', '_' or '.' "
                          "(at most 64, not starting with '.', '-' or '_')")
    return value


def topic_filter(text: str, what: str = "--topic") -> str:
    """An MQTT subscription filter as the broker would take it, checked here so that a typo is one line (exit 2) and
    not a connection refused again and again: levels split by '/', '+' a whole level, '#' the whole last level,
    `$share/<group>/<filter>` for a shared subscription."""
    body = text or ""
    if body.startswith("$share/"):
        parts = body.split("/", 2)  # $share, the group, the filter
        group, body = parts[1], parts[2] if len(parts) == 3 else ""
        if not group or any(c in group for c in "+#"):
            raise TinymlError(f"{what} {text!r}: a shared subscription is $share/<group>/<filter>, the group without "
                              "'+' or '#'")
    levels = body.split("/")
    bad = (not body or "\0" in body or any(("+" in lv and lv != "+") or ("#" in lv and lv != "#") for lv in levels)
           or "#" in levels[:-1])
    if bad:
        raise TinymlError(f"{what} {text!r}: not an MQTT topic filter ('+' stands for one whole level, '#' for the "
                          "whole rest and only at the end, e.g. tinyml/lab/# or tinyml/+/+/+/event)")
    return text


def parse_broker(url: str, what: str = "--broker") -> Broker:
    """The URL as a Broker; one line naming the problem otherwise (`what`: the option, as make or the CLI names it)."""
    where = hints.option(what, repr(url))
    try:
        u = urlsplit(url or "")
        port = u.port
    except ValueError as e:
        raise TinymlError(f"{where}: {e}") from None
    if u.scheme not in ("mqtt", "mqtts") or not u.hostname:
        raise TinymlError(f"{where}: expected mqtt://host[:port] or mqtts://host[:port] (TLS)")
    if u.path not in ("", "/"):
        raise TinymlError(f"{where}: no path expected after the port (options go after '?': ?ca=FILE&site=NAME)")
    q = parse_qs(u.query, keep_blank_values=True, strict_parsing=False)
    unknown = sorted(set(q) - set(KEYS))
    if unknown:
        raise TinymlError(f"{where}: unknown option {unknown[0]!r}; allowed: {', '.join(KEYS)}")
    params = {k: v[-1] for k, v in q.items()}
    tls = u.scheme == "mqtts"
    for k in ("ca", "cert", "key"):
        if k in params:
            if not tls:
                raise TinymlError(f"{where}: {k}= needs TLS: use mqtts://")
            if not Path(params[k]).is_file():
                raise TinymlError(f"{where}: {k}={params[k]}: file not found")
    if ("cert" in params) != ("key" in params):
        raise TinymlError(f"{where}: a client certificate needs both cert= and key=")
    for k in ("site", "device"):
        if k in params:
            topic_level(k, params[k])
    username = unquote(u.username) if u.username else None
    password = unquote(u.password) if u.password else None
    if username and password is None:
        password = os.environ.get("TINYML_MQTT_PASSWORD")
    return Broker(u.hostname, port or (8883 if tls else 1883), tls, username, password, params.get("ca"),
                  params.get("cert"), params.get("key"), params)


def add_broker_options(p, publisher: bool = True, required: bool = True) -> None:
    p.add_argument("--broker", required=required, metavar="URL",
                   help="mqtt[s]://[user[:password]@]host[:port][/?ca=FILE&cert=FILE&key=FILE&site=NAME] "
                        "(password also from TINYML_MQTT_PASSWORD)")
    if publisher:
        p.add_argument("--site", help="site name, the second topic level (default: the URL's site= or 'site')")
        p.add_argument("--queue", help="store-and-forward queue file (SQLite; default build/gateway/<site>-gateway.sqlite)")
