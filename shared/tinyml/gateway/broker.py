"""A local mosquitto for tests and `make fleet`: free loopback ports, generated certificates, a password file and
the example ACL (mosquitto.acl.example beside this file), started and stopped by its process id.

Listeners (all on 127.0.0.1): `plain` (MQTT, user and password), `tls` (the server certificate signed by a CA made
here, user and password), `mtls` (a client certificate is required; its CN is the user name). Persistence is on,
so a restart keeps retained messages, subscriptions of persistent sessions and queued messages.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import TinymlError

ACL_EXAMPLE = Path(__file__).with_name("mosquitto.acl.example")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cmd, what: str, **kw) -> None:
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)
    except FileNotFoundError:
        raise TinymlError(f"{cmd[0]} not found; run: tinyml system-deps mqtt") from None
    if r.returncode != 0:
        raise TinymlError(f"{what} failed: {(r.stderr or r.stdout).strip().splitlines()[-1:]}")


def make_certificates(d: Path, client_names=("consumer",)) -> dict[str, Path]:
    """A CA, a server certificate for localhost / 127.0.0.1 and one client certificate per name (CN = name)."""
    d.mkdir(parents=True, exist_ok=True)
    ossl = ["openssl"]
    out = {"ca": d / "ca.crt", "ca_key": d / "ca.key", "server": d / "server.crt", "server_key": d / "server.key"}
    _run([*ossl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
          "-subj", "/CN=tinyml test CA", "-keyout", str(out["ca_key"]), "-out", str(out["ca"])], "openssl (CA)")
    ext = d / "server.ext"
    ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                   "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")

    def signed(name: str, cn: str, extfile: Path | None) -> None:
        key, csr, crt = d / f"{name}.key", d / f"{name}.csr", d / f"{name}.crt"
        _run([*ossl, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", f"/CN={cn}",
              "-keyout", str(key), "-out", str(csr)], f"openssl ({name} key)")
        cmd = [*ossl, "x509", "-req", "-in", str(csr), "-CA", str(out["ca"]), "-CAkey", str(out["ca_key"]),
               "-CAcreateserial", "-days", "2", "-out", str(crt)]
        if extfile:
            cmd += ["-extfile", str(extfile)]
        _run(cmd, f"openssl ({name} certificate)")
        out[name], out[f"{name}_key"] = crt, key

    signed("server", "localhost", ext)
    cext = d / "client.ext"
    cext.write_text("basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n")
    for n in client_names:
        signed(f"client-{n}", n, cext)
    return out


def _end_with_parent() -> None:
    """In the child before exec: SIGTERM when the process that started it dies (Linux prctl PR_SET_PDEATHSIG;
    elsewhere nothing, and the owner's stop() is the only way). The signal follows the starting *thread*: every
    LocalBroker is started from a thread that outlives it (the CLI's main thread, a test's)."""
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM), 0, 0, 0)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


@dataclass
class LocalBroker:
    """mosquitto in `workdir` with users {name: password} and the example ACL (acl=False: everyone may do anything)."""

    workdir: Path
    users: dict = field(default_factory=dict)
    acl: bool = True
    tls: bool = True
    client_certs: tuple = ("consumer",)
    ports: dict = field(default_factory=dict)
    proc: subprocess.Popen | None = None

    def __post_init__(self):
        if not shutil.which("mosquitto"):
            raise TinymlError("mosquitto not found; run: tinyml system-deps mqtt")
        self.workdir = Path(self.workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.ports = {"plain": free_port(), **({"tls": free_port(), "mtls": free_port()} if self.tls else {})}
        self.certs = make_certificates(self.workdir / "certs", self.client_certs) if self.tls else {}
        self.conf = self.workdir / "mosquitto.conf"
        self.conf.write_text(self._config())

    def _config(self) -> str:
        d = self.workdir
        lines = ["per_listener_settings false", "persistence true", f"persistence_location {d}/",
                 "autosave_interval 1", f"log_dest file {d / 'mosquitto.log'}", "log_type error", "log_type warning",
                 "log_type notice", "max_queued_messages 100000", "max_inflight_messages 200",
                 f"listener {self.ports['plain']} 127.0.0.1"]
        if os.geteuid() == 0:
            lines.insert(0, "user root")  # as root, mosquitto would switch to its own user, who cannot read workdir
        if self.users:
            pw = d / "passwords"
            pw.write_text("")
            for user, password in self.users.items():
                _run(["mosquitto_passwd", "-b", str(pw), user, password], "mosquitto_passwd")
            lines[0:0] = ["allow_anonymous false", f"password_file {pw}"]
        else:
            lines.insert(0, "allow_anonymous true")
        if self.acl:
            lines.insert(0, f"acl_file {ACL_EXAMPLE}")
        if self.tls:
            c = self.certs
            lines += [f"listener {self.ports['tls']} 127.0.0.1", f"cafile {c['ca']}", f"certfile {c['server']}",
                      f"keyfile {c['server_key']}",
                      f"listener {self.ports['mtls']} 127.0.0.1", f"cafile {c['ca']}", f"certfile {c['server']}",
                      f"keyfile {c['server_key']}", "require_certificate true", "use_identity_as_username true"]
        return "\n".join(lines) + "\n"

    def url(self, listener: str = "plain", user: str | None = None, password: str | None = None, **params) -> str:
        scheme = "mqtt" if listener == "plain" else "mqtts"
        cred = f"{user}:{password}@" if user and password is not None else (f"{user}@" if user else "")
        host = "localhost" if listener != "plain" else "127.0.0.1"
        if listener != "plain":
            params.setdefault("ca", str(self.certs["ca"]))
        q = "&".join(f"{k}={v}" for k, v in params.items())
        return f"{scheme}://{cred}{host}:{self.ports[listener]}" + (f"/?{q}" if q else "")

    def start(self, timeout: float = 30.0) -> "LocalBroker":
        # Its own session: a terminal's Ctrl-C goes to our process group, and mosquitto dying with us would leave the
        # gateway's last events and its drain retrying a broker that is gone; its owner stops it, after them. But
        # an owner killed outright (SIGKILL, a closed terminal's whole group) must not leave it running: Linux's
        # parent-death signal ends it then.
        self.proc = subprocess.Popen(["mosquitto", "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, cwd=self.workdir, start_new_session=True,
                                     preexec_fn=_end_with_parent)
        end = time.monotonic() + timeout
        while True:  # ready when every listener accepts a connection
            if self.proc.poll() is not None:
                raise TinymlError(f"mosquitto exited with code {self.proc.returncode}: {self.log_tail()}")
            if all(self._accepts(p) for p in self.ports.values()):
                return self
            if time.monotonic() > end:
                self.stop()
                raise TinymlError(f"mosquitto did not open its ports in {timeout:g} s: {self.log_tail()}")
            time.sleep(0.02)

    @staticmethod
    def _accepts(port: int) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> None:
        """SIGTERM: mosquitto saves its state and exits (a restart); SIGKILL: it dies on the spot."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, n: int = 5) -> str:
        log = self.workdir / "mosquitto.log"
        lines = log.read_text(errors="replace").splitlines() if log.is_file() else []
        if self.proc is not None and self.proc.stderr is not None and self.proc.poll() is not None:
            lines += self.proc.stderr.read().decode(errors="replace").splitlines()
        return " | ".join(lines[-n:])

    def __enter__(self) -> "LocalBroker":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
