"""The device link, host side: framing, messages and a session over any byte transport.

Python twin of firmware/runtime/tml_link.h (read that header for the wire format). Transports:
a child process's pipes (QEMU with -serial stdio, or the native `host` board) and pyserial for a
real board. Every wait is bounded by a timeout.
"""

from __future__ import annotations

import os
import select
import signal
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from ..errors import TinymlError

SYNC = b"\xa5\x5a"
VERSION = 2
HEADER = 6
OVERHEAD = 8
MAX_PAYLOAD = 512


class T(IntEnum):
    SAMPLES = 0x01
    RESET = 0x02
    END = 0x03
    QUIT = 0x04
    HELLO_REQ = 0x05
    HELLO = 0x81
    SCORES = 0x82
    EVENT = 0x83
    TIMING = 0x84
    ERROR = 0x85
    DONE = 0x86
    LOG = 0x87
    ACK = 0x88
    VALUES = 0x89
    BEAT = 0x8A


class E(IntEnum):
    CRC = 1
    HEADER = 2
    OVERSIZE = 3
    LENGTH = 4
    TYPE = 5
    SEQ = 6
    OVERRUN = 7
    APP = 16


def crc16(data: bytes, crc: int = 0xFFFF) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF)."""
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def crc8(data: bytes, crc: int = 0) -> int:
    """CRC-8 (poly 0x07, init 0) over the header's type and length."""
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def encode(ftype: int, payload: bytes = b"", *, max_payload: int = MAX_PAYLOAD) -> bytes:
    if len(payload) > max_payload:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {max_payload}")
    hdr = struct.pack("<BH", ftype, len(payload))
    return SYNC + hdr + bytes([crc8(hdr)]) + payload + struct.pack("<H", crc16(hdr + payload))


def samples_frame(seq: int, block: np.ndarray) -> bytes:
    """SAMPLES: u32 seq + float32 little-endian samples, interleaved [k, channels]."""
    return encode(T.SAMPLES, struct.pack("<I", seq) + np.ascontiguousarray(block, "<f4").tobytes())


@dataclass
class Frame:
    type: int
    payload: bytes


class Decoder:
    """Incremental frame parser with the framing rules of tml_link_rx_feed (on a refused frame it
    rescans from the byte after the refused sync, so no good frame behind noise is lost).

    Bytes outside frames (a fault dump on a real board's UART, boot noise) are kept in `noise`;
    refused frames are counted in `faults`.
    """

    def __init__(self, max_payload: int = MAX_PAYLOAD):
        self.max_payload = max_payload
        self.buf = bytearray()
        self.noise = bytearray()
        self.noise_total = 0  # every byte outside frames so far (noise keeps only the latest)
        self.faults = 0

    def feed(self, data: bytes) -> list[Frame]:
        self.buf += data
        out: list[Frame] = []
        b = self.buf
        while True:
            i = b.find(SYNC)
            if i < 0:
                keep = 1 if b[-1:] == SYNC[:1] else 0
                self._noise(b[: len(b) - keep])
                del b[: len(b) - keep]
                break
            self._noise(b[:i])
            del b[:i]
            if len(b) < HEADER:
                break
            hdr = bytes(b[2:5])
            ftype, n = struct.unpack("<BH", hdr)
            if b[5] != crc8(hdr) or n > self.max_payload:
                self.faults += 1
                del b[:2]
                continue
            if len(b) < HEADER + n + 2:
                break
            payload = bytes(b[HEADER : HEADER + n])
            (got,) = struct.unpack("<H", b[HEADER + n : HEADER + n + 2])
            if got != crc16(hdr + payload):
                self.faults += 1
                del b[:2]
                continue
            del b[: HEADER + n + 2]
            out.append(Frame(ftype, payload))
        if len(self.noise) > 8192:  # keep the latest out-of-frame text only (for error messages)
            del self.noise[:-4096]
        return out

    def _noise(self, data) -> None:
        self.noise += data
        self.noise_total += len(data)


def shown_bytes(data: bytes, total: int, limit: int = 400) -> str:
    """Bytes a device sent outside frames, on one line: as text with its line breaks as ' | ' (the last `limit`
    characters), or, when they are not text (binary, a wrong baud rate), their count and the last few in hex."""
    text = bytes(data).decode("utf-8", "replace")
    odd = sum(1 for c in text if c == "\ufffd" or not (c.isprintable() or c in "\r\n\t"))
    if odd > 0.1 * len(text):
        return f"{total} bytes, not text (the last: {bytes(data[-8:]).hex(' ')})"
    return one_line(text, limit)


def one_line(text: str, limit: int = 400) -> str:
    """Text (a device's console, its stderr) on one line: line breaks as ' | ', the last `limit` characters."""
    one = " | ".join(part.strip() for part in text.splitlines() if part.strip())
    one = "".join(c if c.isprintable() else " " for c in one)  # a stray tab or control byte
    return one if len(one) <= limit else "..." + one[-limit:]


# ---- messages (device -> host) ----


@dataclass
class Hello:
    version: int
    channels: int
    outputs: int
    window: int
    max_payload: int
    out_zero_point: int
    out_scale: float
    rate: float
    values: int  # [app] values per window
    beat_labels: int  # [app] beat_labels
    app_id: str
    feature_hash: str
    board: str
    cost_unit: str


@dataclass
class Scores:
    t: int
    scores: np.ndarray  # int8


@dataclass
class Event:
    t: int
    label: int
    score: int  # int8


@dataclass
class Values:
    t: int
    values: np.ndarray  # float32, [app] values order


@dataclass
class Beat:
    t: int
    label: int


@dataclass
class Timing:
    t: int
    cost: int


@dataclass
class Error:
    code: int
    frame_type: int
    faults: int
    message: str

    def describe(self) -> str:
        try:
            name = E(self.code).name.lower() if self.code < E.APP else f"app error {self.code}"
        except ValueError:
            name = f"error {self.code}"
        return f"{name}: {self.message}"


@dataclass
class Done:
    samples: int
    frames: int
    faults: int
    stack_used: int


@dataclass
class Log:
    text: str


@dataclass
class Ack:
    next_seq: int


Message = Hello | Scores | Values | Beat | Event | Timing | Error | Done | Log | Ack


def _strings(p: bytes, n: int) -> list[str]:
    out, i = [], 0
    for _ in range(n):
        k = p[i]
        out.append(p[i + 1 : i + 1 + k].decode("utf-8", "replace"))
        i += 1 + k
    return out


def parse(f: Frame) -> Message:
    p = f.payload
    try:
        if f.type == T.HELLO:
            ver = p[0]
            if ver != VERSION:  # an older layout: only the version is read (connect() refuses it by name)
                return Hello(ver, 0, 0, 0, 0, 0, 0.0, 0.0, 0, 0, "", "", "", "")
            ver, ch, outs, win, maxp, zp, nval, scale, rate, nbeat = struct.unpack_from("<BBBBHbBffB", p)
            return Hello(ver, ch, outs, win, maxp, zp, scale, rate, nval, nbeat, *_strings(p[17:], 4))
        if f.type == T.SCORES:
            t, n = struct.unpack_from("<IB", p)
            if len(p) != 5 + n:
                raise ValueError
            return Scores(t, np.frombuffer(p[5 : 5 + n], np.int8).copy())
        if f.type == T.VALUES:
            t, n = struct.unpack_from("<IB", p)
            if len(p) != 5 + 4 * n:
                raise ValueError
            return Values(t, np.frombuffer(p[5:], "<f4").astype(np.float32))
        if f.type == T.BEAT:
            t, lab = struct.unpack("<IB", p)
            return Beat(t, lab)
        if f.type == T.EVENT:
            t, lab, sc = struct.unpack("<IBb", p)
            return Event(t, lab, sc)
        if f.type == T.TIMING:
            t, cost = struct.unpack("<IQ", p)
            return Timing(t, cost)
        if f.type == T.ERROR:
            code, ft, _r, faults = struct.unpack_from("<BBHI", p)
            return Error(code, ft, faults, p[8:].decode("utf-8", "replace"))
        if f.type == T.DONE:
            return Done(*struct.unpack("<IIII", p))
        if f.type == T.LOG:
            return Log(p.decode("utf-8", "replace"))
        if f.type == T.ACK:
            return Ack(*struct.unpack("<I", p))
    except (struct.error, ValueError, IndexError):
        raise TinymlError(f"device sent a malformed frame (type 0x{f.type:02x}, {len(p)} bytes)") from None
    raise TinymlError(f"device sent an unknown frame type 0x{f.type:02x}")


# ---- transports ----


class LinkClosed(TinymlError):
    pass


def exit_text(rc: int) -> str:
    """A child's end as a user reads it: subprocess's negative code is the signal that killed it."""
    if rc >= 0:
        return f"exit code {rc}"
    try:
        return f"killed by {signal.Signals(-rc).name}"
    except ValueError:
        return f"killed by signal {-rc}"


class ProcessTransport:
    """A child process whose stdin/stdout carry the link (QEMU -serial stdio, or the host board).

    stderr (semihosting text, fault dumps) goes to a temporary file, read back on close."""

    def __init__(self, cmd: list[str], cwd=None, env: dict | None = None):
        self._err = tempfile.TemporaryFile()
        self.nv_after: bytes | None = None  # the device's non-volatile page after the run (NvPage)
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._err, cwd=cwd,
                                         env={**os.environ, **env} if env else None)
        except OSError as e:
            raise TinymlError(f"cannot start {cmd[0]}: {e}") from None
        self._out = self.proc.stdout.fileno()
        self.describe = os.path.basename(cmd[0])

    def write(self, data: bytes) -> None:
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise LinkClosed(f"{self.describe} stopped reading the link{self._exit_note()}") from None

    def read(self, timeout: float) -> bytes:
        r, _, _ = select.select([self._out], [], [], max(0.0, timeout))
        if not r:
            return b""
        data = os.read(self._out, 65536)
        if not data:
            try:
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
            raise LinkClosed(f"{self.describe} closed the link{self._exit_note()}")
        return data

    def _exit_note(self) -> str:
        rc = self.proc.poll()
        note = "" if rc is None else f" ({exit_text(rc)})"
        err = self.stderr_text().strip()
        if err:
            note += "; its stderr: " + one_line(err, 2000)
        return note

    def stderr_text(self) -> str:
        self._err.flush()
        pos = self._err.tell()
        self._err.seek(0)
        text = self._err.read().decode("utf-8", "replace")
        self._err.seek(pos)
        return text

    @property
    def returncode(self) -> int | None:
        return self.proc.poll()

    def close(self, timeout: float = 5.0) -> int | None:
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        return self.proc.returncode


class NvPage:
    """The non-volatile page of an emulated or host board (tml_port_nv_*): a file the firmware reads and
    writes, preloaded with `image` (None: erased) and read back when the run ends."""

    NAME = "tml-nv.bin"  # the qemu-m4 port opens this name in QEMU's working directory

    def __init__(self, folder: str, image: bytes | None):
        self.path = os.path.join(folder, self.NAME)
        if image is not None:
            with open(self.path, "wb") as f:
                f.write(image)

    def read(self) -> bytes | None:
        try:
            with open(self.path, "rb") as f:
                return f.read()
        except OSError:
            return None


class HostTransport(ProcessTransport):
    """The host board's executable, its non-volatile page a file named by TML_NV_FILE."""

    def __init__(self, cmd: list[str], nv: bytes | None = None):
        self._dir = tempfile.TemporaryDirectory(prefix="tml-host-")
        self._nv = NvPage(self._dir.name, nv)
        super().__init__(cmd, env={"TML_NV_FILE": self._nv.path})

    def close(self, timeout: float = 5.0) -> int | None:
        rc = super().close(timeout)
        self.nv_after = self._nv.read()
        self._dir.cleanup()
        return rc


class QemuTransport(ProcessTransport):
    """QEMU with the link input through a FIFO read by semihosting (fast) and output on the UART
    (stdout). The qemu-m4 port opens `tml-link-in.fifo` in QEMU's working directory at init; without
    it, the firmware falls back to UART input (ProcessTransport over stdin, ~20 KB/s)."""

    FIFO = "tml-link-in.fifo"

    def __init__(self, cmd: list[str], open_timeout: float = 20.0, nv: bytes | None = None):
        self._dir = tempfile.TemporaryDirectory(prefix="tml-qemu-")
        self._nv = NvPage(self._dir.name, nv)
        fifo = os.path.join(self._dir.name, self.FIFO)
        os.mkfifo(fifo)
        super().__init__(cmd, cwd=self._dir.name)
        end = time.monotonic() + open_timeout
        while True:  # the firmware opens the FIFO in tml_port_init()
            try:
                self._in = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > end:
                    self.proc.kill()
                    self.proc.wait()
                    raise LinkClosed(f"QEMU firmware never opened its link FIFO{self._exit_note()}") from None
                time.sleep(0.005)
        os.set_blocking(self._in, True)

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        try:
            while view:
                n = os.write(self._in, view)
                view = view[n:]
        except (BrokenPipeError, OSError):
            raise LinkClosed(f"{self.describe} stopped reading the link{self._exit_note()}") from None

    def close(self, timeout: float = 5.0) -> int | None:
        if self._in >= 0:
            os.close(self._in)  # end of input: main.c answers DONE and returns
            self._in = -1
        rc = super().close(timeout)
        self.nv_after = self._nv.read()
        self._dir.cleanup()
        return rc


class SerialTransport:
    """A real board's UART through pyserial (PORT=...)."""

    keeps_running = True  # a session ends with END: QUIT would restart the board (its firmware exits, then resets)

    def __init__(self, port: str, baud: int = 115200):
        try:
            import serial  # pyserial
        except ImportError:
            raise TinymlError("pyserial is not installed; pip install pyserial") from None
        try:
            self.ser = serial.Serial(port, baud, timeout=0)
        except (serial.SerialException, OSError) as e:
            raise TinymlError(f"cannot open serial port {port}: {e}") from None
        self.describe = port
        self.returncode = None

    def write(self, data: bytes) -> None:
        try:
            self.ser.write(data)
        except OSError as e:  # pyserial's SerialException is one
            raise self._gone(e) from None

    def read(self, timeout: float) -> bytes:
        end = time.monotonic() + timeout
        try:
            while True:
                n = self.ser.in_waiting
                if n:
                    return self.ser.read(n)
                if time.monotonic() >= end:
                    return b""
                time.sleep(0.002)
        except OSError as e:
            raise self._gone(e) from None

    def _gone(self, e: OSError) -> LinkClosed:
        """The port failing mid-session: the board unplugged, reset into its bootloader, or its USB bridge gone."""
        why = e.strerror or str(e) or e.__class__.__name__
        return LinkClosed(f"serial port {self.describe}: the board went away (unplugged?): {why}")

    def stderr_text(self) -> str:
        return ""

    def close(self, timeout: float = 0) -> None:
        self.ser.close()


# ---- a session ----


class DeviceLink:
    """Talk to firmware/main.c over a transport. All waits are bounded by `timeout_s` (the whole
    session) and `idle_s` (silence from the device)."""

    def __init__(self, transport, *, timeout_s: float = 120.0, idle_s: float = 20.0):
        self.tx = transport
        self.dec = Decoder()
        self.deadline = time.monotonic() + timeout_s
        self.timeout_s = timeout_s
        self.idle_s = idle_s
        self.pending: list[Message] = []
        self.hello: Hello | None = None
        # a frame with a good CRC that does not parse (unknown type, wrong length) ends the session, unless this is
        # set: then it is counted in dec.faults and skipped (a gateway keeps serving a device that sends garbage)
        self.skip_malformed = False

    # low level
    def send(self, ftype: int, payload: bytes = b"") -> None:
        self.tx.write(encode(ftype, payload))

    def _pump(self, timeout: float) -> bool:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TinymlError(f"device link timed out after {self.timeout_s:g} s{self._noise_note()}")
        data = self.tx.read(min(timeout, left))
        if not data:
            return False
        for f in self.dec.feed(data):
            try:
                msg = parse(f)
                self._check_counts(msg)
                self.pending.append(msg)
            except TinymlError:
                if not self.skip_malformed:
                    raise
                self.dec.faults += 1
        return True

    def _check_counts(self, msg: Message) -> None:
        """A SCORES or VALUES frame must carry as many numbers as the hello said: a frame that does not (a firmware
        bug, a frame mangled past its CRC) would otherwise pair scores with the wrong labels."""
        h = self.hello
        if h is None:
            return
        if isinstance(msg, Scores) and len(msg.scores) != h.outputs:
            raise TinymlError(f"device sent {len(msg.scores)} scores in a frame; its hello said {h.outputs} outputs")
        if isinstance(msg, Values) and len(msg.values) != h.values:
            raise TinymlError(f"device sent {len(msg.values)} values in a frame; its hello said {h.values}")

    def _noise_note(self) -> str:
        parts = []
        if self.dec.noise:
            parts.append("bytes outside frames: " + shown_bytes(self.dec.noise, self.dec.noise_total))
        err = self.tx.stderr_text().strip() if hasattr(self.tx, "stderr_text") else ""
        if err:
            parts.append("device stderr: " + one_line(err, 1500))
        return ("; " + "; ".join(parts)) if parts else ""

    def recv(self, timeout: float | None = None) -> Message:
        """Next message; raises TinymlError after `timeout` (default idle_s) of silence."""
        timeout = self.idle_s if timeout is None else timeout
        end = time.monotonic() + timeout
        noise_before = self.dec.noise_total
        while not self.pending:
            left = end - time.monotonic()
            if left <= 0:
                # it talked meanwhile, but not the link (a console, noise); an earlier boot banner is no such talk
                said = "no frame" if self.dec.noise_total > noise_before else "nothing"
                raise TinymlError(f"device sent {said} for {timeout:g} s{self._noise_note()}")
            self._pump(left)
        return self.pending.pop(0)

    def wait_for(self, kind: type, timeout: float | None = None, sink: list | None = None):
        """Messages until one of `kind`; the others go to `sink` (or are dropped)."""
        while True:
            m = self.recv(timeout)
            if isinstance(m, kind):
                return m
            if sink is not None:
                sink.append(m)

    # protocol
    def connect(self, boot_wait: float = 5.0) -> Hello:
        """The hello the firmware sends at boot; asks for it again when it was missed."""
        try:
            h = self.wait_for(Hello, timeout=boot_wait)
        except LinkClosed:
            raise
        except TinymlError:
            self.resync()  # a board that was already running may be mid-frame
            self.send(T.HELLO_REQ)
            h = self.wait_for(Hello)
        if h.version != VERSION:
            raise TinymlError(f"device speaks link version {h.version}, this host speaks {VERSION}; rebuild the firmware")
        self.hello = h
        return h

    def stream(self, signal: np.ndarray, *, samples_per_frame: int | None = None, first_seq: int = 0) -> Iterator[Message]:
        """Send the signal [n, channels] in SAMPLES frames with window flow control and yield the
        device's messages (Scores, Values, Beat, Event, Timing, Error, Log) as they arrive; then END (the end
        of the input: the app's flush may still report) and the messages up to the Done."""
        h = self.hello or self.connect()
        sig = np.ascontiguousarray(signal, np.float32)
        if sig.ndim != 2 or sig.shape[1] != h.channels:
            raise TinymlError(f"signal has shape {sig.shape}, device expects [n, {h.channels}]")
        k = max(1, (h.max_payload - 4) // (4 * h.channels))
        if samples_per_frame:
            k = max(1, min(k, samples_per_frame))
        window = max(1, h.window)
        n = len(sig)
        sent = first_seq
        acked = first_seq
        in_flight: list[int] = []  # end seq of each unacked frame
        while acked < first_seq + n:
            while len(in_flight) < window and sent < first_seq + n:
                a = sent - first_seq
                blk = sig[a : a + k]
                self.tx.write(samples_frame(sent, blk))
                sent += len(blk)
                in_flight.append(sent)
            m = self.recv()
            if isinstance(m, Ack):
                while in_flight and in_flight[0] <= m.next_seq:
                    in_flight.pop(0)
                acked = max(acked, m.next_seq)
            elif isinstance(m, Error) and m.code == E.SEQ:
                yield m
                raise TinymlError(f"device lost samples (sequence error after {acked} samples): {m.describe()}")
            else:
                yield m
        self.send(T.END)
        yield from self._until_done()

    def _until_done(self) -> Iterator[Message]:
        while True:
            m = self.recv()
            yield m
            if isinstance(m, Done):
                return

    def reset(self) -> None:
        self.send(T.RESET)

    def resync(self) -> None:
        """Zero bytes can never start a frame: after noise, they flush any half-parsed header."""
        self.tx.write(b"\x00" * OVERHEAD)

    @property
    def ends_with_quit(self) -> bool:
        """Whether a session here ends with QUIT (an emulated or host board exits) rather than END (a real
        board on its serial port, which QUIT would restart)."""
        return not getattr(self.tx, "keeps_running", False)

    def finish(self, quit: bool | None = None) -> Done:
        """End the session (quit: as ends_with_quit when None) and wait for DONE."""
        quit = self.ends_with_quit if quit is None else quit
        self.send(T.QUIT if quit else T.END)
        return self.wait_for(Done)
