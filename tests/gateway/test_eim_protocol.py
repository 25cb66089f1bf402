"""The .eim's socket protocol under abuse: requests are unterminated JSON objects, so the server finds each message's
end itself. Braces inside strings, several messages in one write, one message over many writes, malformed JSON,
wrong feature counts, huge messages, bytes outside any object and a client that leaves mid-message each get an
answer (`success: false` with an `error` where wrong) and the server keeps serving."""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from apptest import APPS
from eimtest import eim_for
from tinyml.apps import load_app
from tinyml.gateway.eim import eim_spec

pytestmark = [pytest.mark.xdist_group("eim")]


def _app_with_model():
    for a in APPS:
        if load_app(a).tflite_path.is_file():
            return load_app(a)
    pytest.skip("no app has a committed model")


class Server:
    def __init__(self, path, tmp_path, sock_path=None):
        self.sock_path = str(sock_path or tmp_path / "eim.sock")
        self.proc = subprocess.Popen([str(path), self.sock_path], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        end = time.monotonic() + 30
        while not _answers(self.sock_path):  # a socket left there by a run that died is there but refuses
            assert self.proc.poll() is None, self.proc.stderr.read().decode()
            assert time.monotonic() < end, "the .eim never created its socket"
            time.sleep(0.01)

    def connect(self) -> "Client":
        return Client(self.sock_path)

    def stop(self):
        self.proc.terminate()
        assert self.proc.wait(timeout=30) == 0
        assert not os.path.exists(self.sock_path)


def _answers(path) -> bool:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


class Client:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(60)
        self.s.connect(path)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data if isinstance(data, bytes) else data.encode())

    def reply(self) -> dict:
        while b"\0" not in self.buf:
            chunk = self.s.recv(65536)
            assert chunk, "the server closed the connection"
            self.buf += chunk
        text, _, self.buf = self.buf.partition(b"\0")
        text = text.decode()
        # what the SDK does: count braces (strings included) to find the object
        assert text.count("{") == text.count("}"), text
        return json.loads(text)

    def ask(self, msg) -> dict:
        self.send(json.dumps(msg) if isinstance(msg, dict) else msg)
        return self.reply()

    def close(self):
        self.s.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    app = _app_with_model()
    srv = Server(eim_for(app), tmp_path_factory.mktemp("eim"))
    srv.app = app
    yield srv
    srv.stop()


@pytest.fixture
def client(server):
    c = server.connect()
    yield c
    c.close()


def zeros(server, n=None):
    n = eim_spec(server.app).features if n is None else n
    return [0.0] * n


def test_braces_and_quotes_inside_strings_do_not_end_a_message(client):
    r = client.ask('{"id": 1, "note": "} {{ \\" ]", "hello": 1, "more": {"a": "}"}}')
    assert r["success"] and r["id"] == 1 and r["model_parameters"]["labels"]


def test_several_messages_in_one_write_get_one_reply_each_in_order(client, server):
    batch = "".join(json.dumps(m) for m in ({"id": 1, "hello": 1}, {"id": 2, "classify": zeros(server)},
                                            {"id": 3, "hello": 1}))
    client.send(batch)
    replies = [client.reply() for _ in range(3)]
    assert [r["id"] for r in replies] == [1, 2, 3] and all(r["success"] for r in replies)
    assert "classification" in replies[1]["result"]


def test_a_message_split_over_many_writes(client, server):
    text = json.dumps({"id": 7, "classify": zeros(server)})
    for i in range(0, len(text), 97):
        client.send(text[i : i + 97])
    r = client.reply()
    assert r["success"] and r["id"] == 7
    head = '{"id": 8, "hel'
    client.send(head)
    client.send('lo": 1}')
    assert client.reply()["id"] == 8


@pytest.mark.parametrize("msg, error", [
    ('{"id": 5, "classify": [1, 2,, 3]}', "malformed JSON"),
    ('{"id": 5, "classify": [1, 2, 3],}', "trailing comma"),
    ('{"id": 5, "hello": tru}', "malformed JSON"),
    ('{"id": 5 "hello": 1}', "malformed JSON"),
    ('{"id": 5, "classify": [1, "two", 3]}', "classify must be an array of numbers"),
    ('{"id": 5, "classify": {"a": 1}}', "expected a JSON array"),
    ('{"id": 5, "classify": [1, 2, 3]}', "wrong feature count: expected"),
    ('{"id": 5, "classify_shm": {"elements": 3}}', "wrong feature count: expected"),
    ('{"id": 5, "classify_shm": {}}', "classify_shm needs"),
    ('{"id": 5, "goodbye": 1}', "unknown request"),
    ('{"id": 5, "hello": 1, "classify": []}', "one request per message"),
    ('{"id": 5, "x": ' + "[" * 100 + "]" * 100 + ', "hello": 1}', "nested too deeply"),
    ('{"id": 5, "set_threshold": {"id": 9999, "min_score": 0.5}}', "no threshold with that"),
    ('{"id": 5, "note": "\\q", "hello": 1}', "bad escape"),
])
def test_bad_requests_get_an_error_and_the_server_keeps_serving(client, msg, error):
    r = client.ask(msg)
    assert r["success"] is False and error in r["error"] and r["id"] == 5, r
    assert client.ask({"id": 6, "hello": 1})["success"]


def test_non_finite_features(client, server):
    n = eim_spec(server.app).features
    r = client.ask('{"id": 1, "classify": [NaN' + ", 0" * (n - 1) + "]}")
    assert not r["success"] and "not a finite number" in r["error"]
    r = client.ask('{"id": 2, "classify": [1e999' + ", 0" * (n - 1) + "]}")
    assert not r["success"] and "not a finite number" in r["error"]


def test_a_string_id_is_echoed(client):
    r = client.ask('{"id": "req-{1}", "hello": 1}')
    assert r["id"] == "req-{1}" and r["success"]


def test_bytes_outside_any_object_are_reported_once_per_run(client):
    client.send("]] not json ")
    r = client.reply()
    assert r["success"] is False and "outside a JSON object" in r["error"] and r["id"] is None
    assert client.ask({"id": 2, "hello": 1})["id"] == 2


def test_a_huge_message_is_refused_whole_and_the_next_one_served(client, server):
    n = eim_spec(server.app).features
    huge = '{"id": 3, "classify": [' + ", ".join(["1.2345678901234567e-05"] * (n * 3 + 100000)) + "]}"
    client.send(huge + '{"id": 4, "hello": 1}')
    r = client.reply()
    assert r["success"] is False and "message larger than" in r["error"], r
    assert client.reply()["id"] == 4


def test_a_client_that_leaves_mid_message_does_not_poison_the_next(server):
    c = server.connect()
    c.send('{"id": 1, "classify": [1, 2, {"deep": "')
    c.close()
    c2 = server.connect()
    try:
        assert c2.ask({"id": 2, "hello": 1})["success"]
    finally:
        c2.close()


def test_usage_errors_are_one_line(server, tmp_path):
    r = subprocess.run([str(eim_for(server.app))], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1 and "usage:" in r.stderr


def _refused(server, path, *, user=()):
    r = subprocess.run([*user, str(eim_for(server.app)), str(path)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1, (r.returncode, r.stderr)
    assert r.stderr.startswith(f"error: socket {path}: "), r.stderr
    return r.stderr.strip()


def test_a_socket_path_that_cannot_be_made_is_said_in_one_line_naming_it(server, tmp_path):
    """Each way the socket path fails gets one line naming the path and the problem, exit 2 as the CLI's errors for
    what the user can fix (it said the system's words, "cannot listen on ...: No such file or directory"); a file
    or folder already at the path is refused, never replaced (the .eim renamed its socket over a file, then deleted
    it when it stopped)."""
    long_path = tmp_path / ("x" * 200)
    assert _refused(server, long_path).endswith("path longer than 107 bytes, a Unix socket's limit")
    missing = tmp_path / "no-such-dir"
    assert _refused(server, missing / "s.sock").endswith(f"folder {missing} does not exist")
    data = tmp_path / "data.csv"
    data.write_text("t,x\n")
    assert _refused(server, data).endswith("a file that is not a socket is there; give a path that does not exist")
    assert data.read_text() == "t,x\n"
    assert _refused(server, tmp_path).endswith("a folder is there; give a path that does not exist")
    assert _refused(server, data / "s.sock").endswith(f"{data} is not a folder")
    (tmp_path / "busy.sock.tmp").write_text("mine")  # its name while it starts: not deleted either
    assert _refused(server, tmp_path / "busy.sock").endswith("busy.sock.tmp (its name while it starts) is a file that "
                                                            "is not a socket")
    assert (tmp_path / "busy.sock.tmp").read_text() == "mine"
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o555)
        assert _refused(server, locked / "s.sock").endswith(f"no permission to create a file in {locked}")
        return
    # root writes anywhere: the .eim runs as nobody, in a folder of root's that others may read but not write
    if not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv: no way to be refused permission")
    closed = [p for p in eim_for(server.app).parents if p.stat().st_mode & 0o005 != 0o005]
    if closed:
        pytest.skip(f"{closed[0]} is closed to other users: nobody cannot run the .eim")
    locked = Path(tempfile.mkdtemp(prefix="tinyml-eim-"))
    try:
        os.chmod(locked, 0o755)
        nobody = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")
        assert _refused(server, locked / "s.sock", user=nobody).endswith(f"no permission to create a file in {locked}")
    finally:
        shutil.rmtree(locked)


def test_the_socket_appears_only_once_it_accepts_connections(server, tmp_path):
    """The SDK connects the moment the socket file exists (a connect between bind and listen would be refused)."""
    path = str(eim_for(server.app))
    for i in range(20):
        sock_path = str(tmp_path / f"s{i}.sock")
        proc = subprocess.Popen([path, sock_path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            end = time.monotonic() + 30
            while not os.path.exists(sock_path):  # as eager as a client can be: no sleep
                assert proc.poll() is None and time.monotonic() < end, "the .eim never created its socket"
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(sock_path)
            s.close()
        finally:
            proc.terminate()
            proc.wait(30)
        assert not os.path.exists(sock_path) and not os.path.exists(sock_path + ".tmp")


SLOW_LISTEN = """
#define _GNU_SOURCE
#include <dlfcn.h>
#include <unistd.h>
int listen(int fd, int backlog)
{
    int (*real)(int, int) = (int (*)(int, int))dlsym(RTLD_NEXT, "listen");
    usleep(300000); /* the window between bind and listen, made wide */
    return real(fd, backlog);
}
"""


FAILING_LISTEN = """
#include <errno.h>
int listen(int fd, int backlog)
{
    (void)fd, (void)backlog;
    errno = ENOBUFS;
    return -1;
}
"""


def _with_listen(tmp_path, source: str) -> dict:
    """The environment that runs the .eim with listen() replaced by `source` (LD_PRELOAD)."""
    if not shutil.which("gcc"):
        pytest.skip("needs gcc")
    shim = tmp_path / "listen.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(shim), "-x", "c", "-", "-ldl"], input=source,
                   text=True, check=True, timeout=60)
    return {**os.environ, "LD_PRELOAD": str(shim)}


@pytest.mark.parametrize("length", [90, 104, 107])
def test_the_socket_appears_only_once_it_listens_at_any_length(server, tmp_path, length):
    """The window between bind() and listen() widened to 0.3 s (LD_PRELOAD): a client connecting the moment the
    path exists is served. A path of 104-107 bytes had no room for the .tmp name and was bound at once: refused."""
    env = _with_listen(tmp_path, SLOW_LISTEN)
    folder = tmp_path / "s"
    folder.mkdir()
    sock_path = str(_path_of(folder, length))
    proc = subprocess.Popen([str(eim_for(server.app)), sock_path], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env)
    try:
        end = time.monotonic() + 30
        while not os.path.exists(sock_path):  # as eager as a client can be: no sleep
            assert proc.poll() is None and time.monotonic() < end, proc.stderr.read().decode()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sock_path)
        s.close()
    finally:
        proc.terminate()
        assert proc.wait(30) == 0
    assert sorted(os.listdir(folder)) == []  # its socket and the temporary name are gone


@pytest.mark.parametrize("length", [90, 105])
def test_a_listen_failure_is_one_line_and_leaves_no_file(server, tmp_path, length):
    folder = tmp_path / "s"
    folder.mkdir()
    sock_path = _path_of(folder, length)
    r = subprocess.run([str(eim_for(server.app)), str(sock_path)], capture_output=True, text=True, timeout=60,
                       env=_with_listen(tmp_path, FAILING_LISTEN))
    assert r.returncode == 1 and r.stderr == f"error: socket {sock_path}: cannot listen: {os.strerror(errno.ENOBUFS)}\n", r.stderr
    assert os.listdir(folder) == []


def _stale_socket(path) -> None:
    """A socket file no server answers on: what a run that died leaves."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(path))
    s.close()


def _path_of(folder: Path, length: int) -> Path:
    """A path in `folder` of exactly `length` bytes."""
    pad = length - len(str(folder)) - 1
    if pad < 1:
        pytest.skip(f"{folder} is too long for a socket path of {length} bytes")
    return folder / ("s" * pad)


def _serves(server, sock_path):
    srv = Server(eim_for(server.app), None, sock_path)
    try:
        c = srv.connect()
        assert c.ask({"id": 1, "hello": 1})["success"]
        c.close()
    finally:
        srv.stop()  # and the socket is gone
    assert not os.path.exists(f"{sock_path}.tmp")


@pytest.mark.parametrize("length", [90, 104, 107])
def test_a_socket_left_by_a_run_that_died_is_replaced(server, tmp_path, length):
    """A socket no server answers on (left at the path, or at its .tmp name, by a run that was killed) is
    replaced (a leftover socket was refused: "<path>.tmp ... is a file that is not a socket"). A path of 104-107
    bytes is made from its folder (its .tmp name is too long for a socket address here)."""
    sock = _path_of(tmp_path, length)
    _stale_socket(sock)
    _serves(server, sock)
    if length + 4 < 108:
        _stale_socket(f"{sock}.tmp")
        _serves(server, sock)


@pytest.mark.parametrize("length", [90, 105])
def test_a_socket_a_server_listens_on_is_refused_and_keeps_serving(server, tmp_path, length):
    """Another running .eim's socket is not taken over (it was renamed over, and deleted at exit): one line,
    exit 2, naming the path; the first server keeps answering on it."""
    sock = _path_of(tmp_path, length)
    first = Server(eim_for(server.app), None, sock)
    try:
        assert _refused(server, sock).endswith(f"a server is already listening on {sock}")
        c = first.connect()
        assert c.ask({"id": 1, "hello": 1})["success"]
        c.close()
    finally:
        first.stop()


def test_a_folder_at_the_tmp_name_is_named_a_folder(server, tmp_path):
    (tmp_path / "s.sock.tmp").mkdir()
    assert _refused(server, tmp_path / "s.sock").endswith("s.sock.tmp (its name while it starts) is a folder")
    assert (tmp_path / "s.sock.tmp").is_dir() and not (tmp_path / "s.sock").exists()


def test_at_exit_only_the_socket_it_made_is_removed(server, tmp_path):
    """A file put at the path while the .eim runs (its socket moved away) stays when it stops."""
    sock = tmp_path / "s.sock"
    srv = Server(eim_for(server.app), None, sock)
    os.rename(sock, tmp_path / "moved.sock")
    sock.write_text("mine")
    srv.proc.terminate()
    assert srv.proc.wait(timeout=30) == 0
    assert sock.read_text() == "mine"


_SDK_USER = """
import sys, time
from edge_impulse_linux.runner import ImpulseRunner
runner = ImpulseRunner(sys.argv[1])
info = runner.init()
print(info["features_shm"]["name"], flush=True)
time.sleep(120)
"""


def _pidfd_open_works() -> bool:
    """The .eim watches its starter with pidfd_open (Linux 5.3 and later); elsewhere it cannot."""
    try:
        os.close(os.pidfd_open(os.getpid()))
        return True
    except (AttributeError, OSError):
        return False


def _child_running(pid: int, program: Path) -> tuple[int, list[str]]:
    """(pid, argv) of the child of pid that runs program (here: the .eim the SDK started)."""
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        children = [int(c) for c in f.read().split()]
    for child in children:
        with open(f"/proc/{child}/cmdline", "rb") as f:
            argv = [a.decode() for a in f.read().split(b"\0")[:-1]]
        if argv and os.path.basename(argv[0]) == program.name:
            return child, argv
    raise AssertionError(f"no child of {pid} runs {program}")


def _gone(pid: int, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:  # the .eim is the killed program's child: reaped by init once it exits
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def test_a_runner_killed_with_sigkill_takes_its_eim_along():
    """The SDK's program killed (SIGKILL, the OOM killer) cannot stop its .eim: the .eim sees the process that
    started it and was its client die, and ends as on SIGTERM (socket and shared memory removed), instead of
    serving nobody forever."""
    import signal
    import sys

    pytest.importorskip("edge_impulse_linux")
    if not _pidfd_open_works():
        pytest.skip("pidfd_open is unavailable (Linux 5.3 and later): the .eim cannot watch its starter here")
    app = _app_with_model()
    eim = eim_for(app)
    sdk = subprocess.Popen([sys.executable, "-c", _SDK_USER, str(eim)], stdout=subprocess.PIPE, text=True)
    pid = 0
    try:
        shm = sdk.stdout.readline().strip()
        pid, argv = _child_running(sdk.pid, eim)
        sock = argv[1]
        sdk.send_signal(signal.SIGKILL)
        sdk.wait(timeout=30)
        assert _gone(pid, 10), "the .eim still runs after the program that started it was killed"
        assert not os.path.exists(sock) and not os.path.exists("/dev/shm/" + shm.lstrip("/"))
    finally:
        sdk.kill()
        if pid and not _gone(pid, 0.1):
            os.kill(pid, signal.SIGKILL)


def test_a_server_started_by_a_program_that_is_not_its_client_outlives_it(tmp_path):
    """A launcher that starts the .eim and exits (a service script) is not its client: the .eim keeps serving."""
    app = _app_with_model()
    sock = tmp_path / "eim.sock"
    launcher = ("import subprocess, sys; print(subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, "
                "stderr=subprocess.DEVNULL).pid)")
    import sys

    pid = int(subprocess.run([sys.executable, "-c", launcher, str(eim_for(app)), str(sock)], capture_output=True,
                             text=True, check=True, timeout=30).stdout)
    try:
        end = time.monotonic() + 30
        while not _answers(str(sock)):
            assert time.monotonic() < end, "the .eim never created its socket"
            time.sleep(0.01)
        c = Client(str(sock))
        assert c.ask({"id": 1, "hello": 1})["success"]
        c.close()
        time.sleep(0.5)
        c = Client(str(sock))
        assert c.ask({"id": 2, "hello": 1})["success"]
        c.close()
    finally:
        os.kill(pid, 15)
        assert _gone(pid, 10)
    assert not sock.exists()


def test_a_launcher_that_says_hello_and_exits_leaves_it_serving(tmp_path):
    """A launcher that starts the .eim, connects once (a probe: hello), closes and exits is no dying
    client: the .eim keeps serving a later client. Only a starter that dies while still connected stops it. (One
    that exits at the very moment it closes may still take it along: the .eim cannot tell it from a killed one.)"""
    app = _app_with_model()
    sock = tmp_path / "eim.sock"
    launcher = _PROBE_LAUNCHER
    import sys

    pid = int(subprocess.run([sys.executable, "-c", launcher, str(eim_for(app)), str(sock)], capture_output=True,
                             text=True, check=True, timeout=60).stdout)
    try:
        time.sleep(0.5)  # the .eim has seen the probe's connection end and its launcher exit
        c = Client(str(sock))
        assert c.ask({"id": 2, "hello": 1})["success"]
        c.close()
    finally:
        if not _gone(pid, 0.1):
            os.kill(pid, 15)
        assert _gone(pid, 10)


def test_its_starters_death_does_not_cut_off_a_client_being_served(tmp_path):
    """The starter probes (hello, close), another client is served, then the starter exits: that client is still
    served (the starter was not connected when it died)."""
    import sys

    app = _app_with_model()
    sock = tmp_path / "eim.sock"
    launcher = subprocess.Popen([sys.executable, "-c", _PROBE_LAUNCHER + "input()\n", str(eim_for(app)), str(sock)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    pid = int(launcher.stdout.readline())
    try:
        time.sleep(0.3)  # the .eim has seen the probe's end
        c = Client(str(sock))
        assert c.ask({"id": 1, "hello": 1})["success"]
        launcher.communicate("\n", timeout=30)
        time.sleep(0.5)
        assert c.ask({"id": 2, "hello": 1})["success"]
        c.close()
    finally:
        launcher.kill()
        if not _gone(pid, 0.1):
            os.kill(pid, 15)
        assert _gone(pid, 10)


_PROBE_LAUNCHER = """
import json, socket, subprocess, sys, time
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
end = time.monotonic() + 30
while True:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(sys.argv[2])
        break
    except OSError:
        s.close()
        assert time.monotonic() < end and p.poll() is None
        time.sleep(0.01)
s.sendall(json.dumps({"id": 1, "hello": 1}).encode())
buf = b""
while b"\\0" not in buf:
    buf += s.recv(65536)
assert json.loads(buf.split(b"\\0")[0])["success"]
s.close()
time.sleep(0.3)  # closed first, exits after: one exiting at the very moment it closes is the known race (docstring)
print(p.pid, flush=True)
"""


def test_a_window_in_another_unit_is_refused_naming_the_unit(app_id, tmp_path):
    """A window in another unit than the manifest's (mg for g, % for m3/m3, uV for mV: here the demo x 1000) is
    refused in one line naming the expected unit, by the figures `tinyml predict` judges units by
    (plausible_range, typical_magnitude) on the window's bulk, instead of being scored as nonsense; the demo's own
    window is scored, and so is one with a single reading far out of range (a sensor fault, not a unit)."""
    from eimtest import as_features, demo_signal

    app = load_app(app_id)
    if not app.tflite_path.is_file():
        pytest.skip(f"{app_id} has no committed model yet")
    spec = eim_spec(app)
    if spec.divisor != 1.0:
        pytest.skip("int16 audio samples cannot carry another unit")
    window = demo_signal(app)[-spec.window:]
    srv = Server(eim_for(app), tmp_path)
    try:
        c = srv.connect()
        assert c.ask({"id": 1, "classify": as_features(app, window)[0]})["success"]
        r = c.ask({"id": 2, "classify": as_features(app, window * 1000)[0]})
        assert not r["success"] and ("is far outside its plausible range in" in r["error"]
                                     or "median magnitude" in r["error"]), r
        assert f"in {app.manifest.unit_of(spec.axes[0])}" in r["error"] and "\n" not in r["error"]
        # a fault's reading far out of range (what a sensor-fault class is for) is no wrong unit: it is scored
        fault = window.copy()
        fault[len(fault) // 2, 0] = 3 * max(abs(x) for x in spec.limits[0] if np.isfinite(x)) if np.isfinite(
            spec.limits[0][1]) else 1000 * np.nanmax(np.abs(window[:, 0]))
        assert c.ask({"id": 3, "classify": as_features(app, fault)[0]})["success"]
        c.close()
    finally:
        srv.stop()


def test_a_soil_window_somewhat_above_its_range_is_a_fault_scored_and_one_in_percent_refused(tmp_path):
    """A vwc stuck somewhat above 1 m3/m3 is a sensor fault the app reports (out_of_range), not another unit: it
    is scored; the same window in % (25) is refused naming the plausible range, not the widened limits."""
    from eimtest import as_features, demo_signal

    app = load_app("soil-monitoring")
    spec = eim_spec(app)
    window = demo_signal(app)[-spec.window:].copy()
    srv = Server(eim_for(app), tmp_path)
    try:
        c = srv.connect()
        for i, vwc in enumerate((1.2, 1.5)):
            window[:, 0] = vwc
            r = c.ask({"id": i, "classify": as_features(app, window)[0]})
            assert r["success"], r
            scores = r["result"]["classification"]
            assert max(scores, key=scores.get) == "out_of_range", scores
        window[:, 0] = 25.0
        r = c.ask({"id": 9, "classify": as_features(app, window)[0]})
        assert not r["success"] and "axis vwc" in r["error"] and "(-0.3 to 1)" in r["error"], r
        c.close()
    finally:
        srv.stop()
