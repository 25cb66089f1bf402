"""End to end over the device link on the native `host` board, on `qemu-m4` and on the 8-bit `avr-uno`
(simavr): the firmware's int8
scores and events equal the Python twin's exactly; garbage, oversize and malformed frames get error
frames and the device keeps answering."""

from __future__ import annotations

import contextlib
import os
import pty
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from fwtest import demo_signal, fixture_app, need
from mean_alarm import mean_alarm

from tinyml.device import link as L
from tinyml.device.firmware import build_app
from tinyml.device.runner import open_transport, stream_signal
from tinyml.errors import TinymlError

BOARDS = ["host", "qemu-m4", "avr-uno"]
NEEDS = {"host": ("gcc",), "qemu-m4": ("arm-none-eabi-gcc", "qemu-system-arm"), "avr-uno": ("avr-gcc", "simavr")}


@pytest.fixture(params=BOARDS)
def board(request):
    need(*NEEDS[request.param])
    return request.param


def _image(board):
    app = fixture_app()
    return app, build_app(app, board)


def test_stream_matches_python_twin(board):
    app, im = _image(board)
    sig = demo_signal(app)
    m = app.manifest
    run = stream_signal(open_transport(im.board, im.elf), sig, labels=m.labels, expect_app=m.id,
                        expect_hash=m.feature_hash(), timeout_s=60)
    times, scores, events = mean_alarm(sig, m)
    assert run.hello.board == board and run.hello.app_id == "mean-alarm"
    assert run.hello.feature_hash == m.feature_hash()
    assert run.times.tolist() == times
    assert run.scores_q.tolist() == scores
    assert [(e.t, e.label, e.score) for e in run.events] == events
    assert len(events) >= 2  # the demo is built to raise events; otherwise this test proves little
    assert run.errors == []
    assert run.done.samples == len(sig) and run.done.faults == 0
    assert run.exit_code == 0
    assert len(run.timings) == len(times) and all(t.cost > 0 for t in run.timings)
    if board == "qemu-m4":
        assert run.hello.cost_unit == "instructions"
        assert 0 < run.done.stack_used < 16384
    if board == "avr-uno":  # 8-bit, 2 KB of SRAM: small link frames, cycles counted by Timer1
        assert run.hello.cost_unit == "cycles" and run.hello.max_payload <= 128 and run.hello.window == 1
        assert 0 < run.done.stack_used < 1024


def test_qemu_uart_and_fifo_inputs_agree_and_counts_reproduce():
    # Input reaches QEMU either through the emulated UART (stdin) or a FIFO read with semihosting
    # (the fast default); both must give the same outputs. The counter ticks every 40 instructions and
    # where a tick falls depends on how long the firmware waited for input, so single figures agree to
    # one tick.
    need("arm-none-eabi-gcc", "qemu-system-arm")
    app, im = _image("qemu-m4")
    sig = demo_signal(app)[:200]
    runs = [stream_signal(open_transport(im.board, im.elf, fast=fast), sig, labels=app.manifest.labels, timeout_s=60)
            for fast in (False, True, True)]
    assert all(r.scores_q.tolist() == runs[0].scores_q.tolist() for r in runs)
    assert all(r.done.samples == 200 and r.exit_code == 0 for r in runs)
    costs = [[t.cost for t in r.timings] for r in runs]
    assert costs[0] and all(len(c) == len(costs[0]) for c in costs)
    for c in costs[1:]:
        assert all(abs(a - b) <= 40 for a, b in zip(costs[0], c)), costs
    assert all(c % 40 == 0 for c in costs[0])


def _raw_frame(ftype: int, payload: bytes, *, bad_crc=False, bad_hcrc=False, claimed_len=None) -> bytes:
    import struct

    n = len(payload) if claimed_len is None else claimed_len
    hdr = struct.pack("<BH", ftype, n)
    h = L.crc8(hdr) ^ (0xFF if bad_hcrc else 0)
    crc = L.crc16(hdr + payload) ^ (0x1234 if bad_crc else 0)
    return L.SYNC + hdr + bytes([h]) + payload + struct.pack("<H", crc)


def test_fuzzed_link_gets_error_frames_and_device_keeps_running(board):
    app, im = _image(board)
    m = app.manifest
    sig = demo_signal(app)
    rng = np.random.default_rng(7)
    tx = open_transport(im.board, im.elf)
    link = L.DeviceLink(tx, timeout_s=60, idle_s=10)
    try:
        link.connect()
        good = L.samples_frame(0, sig[:3])
        abuse = [
            rng.integers(0, 256, 3000, dtype=np.uint8).tobytes(),  # line noise
            L.SYNC * 40,  # sync storms
            _raw_frame(L.T.SAMPLES, b"\x00" * 16, claimed_len=4000),  # oversize (good header crc)
            _raw_frame(L.T.SAMPLES, good[6:-2], bad_crc=True),  # payload crc
            _raw_frame(L.T.SAMPLES, good[6:-2], bad_hcrc=True),  # header crc
            L.encode(L.T.SAMPLES, b"\x00\x00\x00\x00" + b"\x01" * 5),  # not whole samples
            L.encode(L.T.SAMPLES, b"\x00\x00"),  # shorter than seq
            L.encode(0x42, b"what"),  # unknown type
            L.encode(L.T.RESET, b"x"),  # control frame with a payload
            L.samples_frame(1234, sig[:2]),  # out of sequence
            good[: len(good) // 2],  # truncated, then more noise
            bytes(rng.integers(0, 256, 500, dtype=np.uint8)),
        ]
        seen: list = []
        # A device with no room for frames in flight (window 1: the 8-bit board, 32 bytes of receive
        # buffer, no flow control on its serial line) loses a flood while it answers; its host sends a
        # frame's worth at a time and lets it drain, as any host of such a device must.
        piece = link.hello.max_payload + L.OVERHEAD if link.hello.window == 1 else None
        for chunk in abuse:
            for i in range(0, len(chunk), piece or len(chunk)):
                link.tx.write(chunk[i : i + (piece or len(chunk))])
                if piece:
                    _drain(link, seen)
            link.resync()  # zero fill: the next chunk starts on a clean parser, so each one is counted
        link.send(L.T.END)
        done = link.wait_for(L.Done, sink=seen, timeout=20)
        errors = [x for x in seen if isinstance(x, L.Error)]
        codes = {e.code for e in errors}
        for code in (L.E.OVERSIZE, L.E.CRC, L.E.HEADER, L.E.LENGTH, L.E.TYPE, L.E.SEQ):
            assert code in codes, (L.E(code).name, sorted(codes))
        assert done.faults >= len(errors) >= 7
        assert errors[-1].faults == done.faults
        # still alive and still correct: reset, then the real stream gives exactly the twin's output
        link.reset()
        got = list(link.stream(sig[:300]))
        times, scores, events = mean_alarm(sig[:300], m)
        sc = [x for x in got if isinstance(x, L.Scores)]
        assert [s.t for s in sc] == times
        assert [s.scores.tolist() for s in sc] == scores
        assert [(e.t, e.label, e.score) for e in got if isinstance(e, L.Event)] == events
        assert not [x for x in got if isinstance(x, L.Error)]
        assert link.finish().samples == 300
    finally:
        rc = tx.close()
    assert rc == 0, tx.stderr_text()


def _drain(link, sink, quiet_s=0.05):
    """Collect what the device sends until it has been quiet for quiet_s."""
    while True:
        try:
            sink.append(link.recv(timeout=quiet_s))
        except TinymlError:
            return


def test_app_errors_are_reported_and_processing_continues(board):
    app, im = _image(board)
    sig = demo_signal(app)[:100].copy()
    sig[10, 1] = 1e6  # beyond full_scale: the app reports it and skips the sample
    run = stream_signal(open_transport(im.board, im.elf), sig, labels=app.manifest.labels, timeout_s=60)
    assert [e.code for e in run.errors] == [16]
    assert "full scale" in run.errors[0].message
    assert run.done.samples == 100 and run.done.faults == 1
    assert len(run.scores) > 0


def test_feature_hash_mismatch_is_refused():
    need("gcc")
    app, im = _image("host")
    with pytest.raises(TinymlError, match="feature hash mismatch"):
        stream_signal(open_transport(im.board, im.elf), demo_signal(app), labels=app.manifest.labels,
                      expect_hash="0000000000000000", timeout_s=30)


@contextlib.contextmanager
def _host_board_behind_a_pty(im):
    """The host-board firmware behind a pseudo-terminal, as a real board sits behind /dev/ttyACM0, already
    booted (its hello long gone) when the host connects: (its process, the port's path)."""
    master, slave = pty.openpty()
    port = os.ttyname(slave)
    proc = subprocess.Popen([str(im.elf)], stdin=master, stdout=master, stderr=subprocess.PIPE)
    try:
        time.sleep(0.3)  # the boot hello goes out before anyone listens, as on a real board
        yield proc, port
    finally:
        proc.kill()
        proc.wait()
        os.close(slave)
        os.close(master)


def _serial(port: str, board: str):
    from tinyml.device.board import load_board

    tx = open_transport(load_board(board), Path("unused.elf"), port)
    assert isinstance(tx, L.SerialTransport)
    tx.ser.reset_input_buffer()
    return tx


def test_serial_transport_over_a_pty():
    """pyserial end to end, through the port."""
    need("gcc")
    app, im = _image("host")
    with _host_board_behind_a_pty(im) as (proc, port):
        sig = demo_signal(app)[:250]
        run = stream_signal(_serial(port, "nano33ble"), sig, labels=app.manifest.labels,
                            expect_hash=app.manifest.feature_hash(), timeout_s=60)
        times, scores, events = mean_alarm(sig, app.manifest)
        assert run.times.tolist() == times and run.scores_q.tolist() == scores
        assert run.done.samples == 250 and run.errors == []


def test_a_session_over_a_port_ends_with_end_and_leaves_the_board_running(monkeypatch, capsys):
    """`run board=avr-uno PORT=...` (a board emulated here, real on a port) ended its session with QUIT, as
    for simavr, after waiting 5 s for a boot hello: the real board's firmware exits on QUIT and resets by
    watchdog. Here the host-board firmware stands behind the port for the Uno."""
    import argparse
    import dataclasses

    from tinyml.device import size
    from tinyml.device.board import load_board
    from tinyml.device.commands import _session

    need("gcc")
    app, im = _image("host")
    host_size = size.image_size(im)
    monkeypatch.setattr(size, "image_size", lambda _: host_size)  # the Uno's figures would read the host's ELF
    uno = dataclasses.replace(im, board=load_board("avr-uno"))
    with _host_board_behind_a_pty(im) as (proc, port):
        args = argparse.Namespace(port=port, timeout=60, summary_json=False, calibration=None, mqtt=None)
        assert _session(args, app, uno, demo_signal(app)[:100], events_only=True) == 0
        with pytest.raises(subprocess.TimeoutExpired):  # the host firmware exits on QUIT
            proc.wait(timeout=1)
    assert "avr-uno" in capsys.readouterr().err


def test_hard_fault_inside_the_app_ends_the_session_with_its_registers(tmp_path):
    need("arm-none-eabi-gcc", "qemu-system-arm")
    from fwtest import copy_fixture

    from tinyml.apps import load_app

    d = copy_fixture(tmp_path)
    src = d / "firmware" / "app.c"
    src.write_text(src.read_text().replace(
        "    tml_ring_f32_push(&s_ring, sample);",
        "    if (sample[1] == 77.0f) { void (*volatile f)(void) = (void (*)(void))0x1000u; f(); }\n"
        "    tml_ring_f32_push(&s_ring, sample);"))
    app = load_app("mean-alarm", root=d.parent)
    im = build_app(app, "qemu-m4", out_dir=tmp_path / "b")
    sig = demo_signal(app)[:100].copy()
    sig[60, 1] = 77.0
    with pytest.raises(TinymlError) as e:
        stream_signal(open_transport(im.board, im.elf), sig, labels=app.manifest.labels, timeout_s=30)
    msg = str(e.value)
    assert "exit code 70" in msg and "HARDFAULT" in msg and "pc=0x" in msg


class _Scripted:
    """A transport that plays back given device bytes (nothing real behind it)."""

    def __init__(self, data: bytes):
        self.data = data

    def write(self, data: bytes) -> None:
        pass

    def read(self, timeout: float) -> bytes:
        out, self.data = self.data[:64], self.data[64:]
        return out

    def stderr_text(self) -> str:
        return ""


def _hello(outputs: int, values: int) -> bytes:
    import struct

    strings = b"".join(bytes([len(x)]) + x for x in (b"probe", b"0" * 16, b"host", b"ns"))
    return L.encode(L.T.HELLO, struct.pack("<BBBBHbBffB", L.VERSION, 1, outputs, 4, 512, -128, values, 1 / 256, 50.0,
                                           0) + strings)


@pytest.mark.parametrize("skip", [False, True], ids=["run", "gateway"])
def test_a_scores_or_values_frame_with_the_wrong_count_is_refused(skip):
    """Well-formed frames (good CRC) that disagree with the hello's counts: `tinyml run` stops with one line naming
    it; a gateway (skip_malformed) counts a fault and keeps the good frames."""
    import struct

    bad_scores = L.encode(L.T.SCORES, struct.pack("<IB", 10, 1) + b"\x05")
    bad_values = L.encode(L.T.VALUES, struct.pack("<IB", 10, 1) + struct.pack("<f", 1.0))
    good = L.encode(L.T.SCORES, struct.pack("<IB", 20, 2) + b"\x05\x06")
    link = L.DeviceLink(_Scripted(_hello(2, 0) + bad_scores + bad_values + good), timeout_s=5, idle_s=1)
    link.skip_malformed = skip
    link.connect(boot_wait=1)
    if not skip:
        with pytest.raises(TinymlError, match="device sent 1 scores in a frame; its hello said 2 outputs"):
            link.recv()
        return
    m = link.recv()
    assert isinstance(m, L.Scores) and m.t == 20 and link.dec.faults == 2


@pytest.mark.parametrize("keeps_running, sent", [(True, "END"), (False, "QUIT")])
def test_finish_ends_a_session_as_its_transport_allows(keeps_running, sent):
    """finish() with no word says END to a real board on its port (QUIT would restart it), QUIT to an emulator."""
    class Transport:
        pass

    tx = Transport()
    tx.keeps_running = keeps_running
    link = L.DeviceLink(tx)
    said = []
    link.send = said.append
    link.wait_for = lambda kind: kind
    link.finish()
    assert said == [getattr(L.T, sent)]


@pytest.mark.parametrize("noise, shown", [
    (b"boot ok\r\nwaiting for host\r\n" * 3, "waiting for host | boot ok | waiting for host"),
    (bytes(range(128, 256)) * 4, "512 bytes, not text (the last: f8 f9 fa fb fc fd fe ff)"),
], ids=["text", "binary"])
def test_a_device_that_sends_no_frame_is_said_in_one_line_with_its_bytes_shown(noise, shown):
    """A device that talks but sends no frame (wrong baud rate, a console instead of the link, a line of noise): one
    line saying no frame came, its last bytes shown as text on that line (line breaks as ' | ') or, when they are not
    text, counted with the last few in hex: raw binary or a log's line breaks would tear the message apart."""
    link = L.DeviceLink(_Scripted(noise), timeout_s=5, idle_s=0.2)
    with pytest.raises(TinymlError) as e:
        link.recv()
    msg = str(e.value)
    assert msg.startswith("device sent no frame for 0.2 s; bytes outside frames: ") and shown in msg, msg
    assert "\n" not in msg and "\r" not in msg and msg.isprintable(), msg


def test_a_device_silent_after_its_banner_and_frames_is_said_to_send_nothing():
    """A device that printed a boot banner, sent its hello, then went silent sent nothing during the wait: not
    'no frame' (which says it talks, but not the link)."""
    link = L.DeviceLink(_Scripted(b"boot ok\r\n" + _hello(2, 0)), timeout_s=5, idle_s=0.2)
    link.connect(boot_wait=1)
    with pytest.raises(TinymlError) as e:
        link.recv()
    assert str(e.value).startswith("device sent nothing for 0.2 s"), str(e.value)


@pytest.mark.parametrize("script, said", [
    ("echo first >&2; echo 'second line' >&2; exit 3", "sh closed the link (exit code 3); its stderr: first | second line"),
    ("echo first >&2; echo 'second line' >&2; sleep 10", "device sent nothing for 0.3 s; device stderr: first | second line"),
], ids=["exited", "silent"])
def test_a_device_programs_stderr_is_shown_on_the_errors_one_line(script, said):
    """A host or QEMU device's stderr (semihosting text, a fault dump: several lines) is shown on the error's one
    line, its line breaks as ' | '."""
    tx = L.ProcessTransport(["sh", "-c", script])
    try:
        with pytest.raises(TinymlError) as e:
            L.DeviceLink(tx, timeout_s=20, idle_s=0.3).recv()
    finally:
        tx.close(timeout=0.5)
    assert str(e.value) == said, str(e.value)


def test_a_device_program_killed_by_a_signal_is_said_so():
    """A device program killed by a signal (the OOM killer, a watchdog's SIGKILL) is named by its signal, not as
    Python's negative exit code ('exit code -9')."""
    tx = L.ProcessTransport(["sh", "-c", "kill -KILL $$"])
    try:
        with pytest.raises(L.LinkClosed) as e:
            while True:
                tx.read(5)
    finally:
        tx.close()
    assert str(e.value) == "sh closed the link (killed by SIGKILL)", str(e.value)


def test_a_board_that_goes_away_mid_session_is_said_naming_its_port():
    """A board unplugged mid-session (here: the far end of a pseudo-terminal closed) ends the session with one line
    naming the port, as a closed link, not as an internal error."""
    master, slave = pty.openpty()
    port = os.ttyname(slave)
    tx = L.SerialTransport(port)
    try:
        os.write(master, b"boot")
        assert tx.read(1) == b"boot"
        os.close(master)
        with pytest.raises(L.LinkClosed, match=f"^serial port {port}: the board went away \\(unplugged\\?\\): "):
            for _ in range(100):
                tx.read(0.05)
        with pytest.raises(L.LinkClosed, match=f"^serial port {port}: the board went away"):
            for _ in range(100):
                tx.write(b"\x00" * 64)
    finally:
        tx.close()
        os.close(slave)
