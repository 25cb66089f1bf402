"""Run firmware and stream a signal through the device link: QEMU, a native process, or a serial port.

The output mirrors `tinyml predict` (tinyml.output_lines): window lines (scores, and values for apps with
[app] values), beat lines and event lines, with t = sample index / rate.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import hints
from ..errors import TinymlError
from ..output_lines import BEAT, EVENT, WINDOW, LineMaker, in_time_order
from .board import Board
from .link import Beat, Done, Error, Event, Hello, HostTransport, Log, ProcessTransport, QemuTransport, Scores
from .link import DeviceLink, SerialTransport, T, Timing, Values
from .qemu import qemu_command


def open_transport(board: Board, elf: Path, port: str | None = None, fast: bool = True, nv: bytes | None = None):
    """A transport to firmware `elf` on `board`: QEMU, the native executable, simavr (AVR boards), or PORT
    (real boards, after flashing). For QEMU, fast=True feeds the link through a FIFO (semihosting) instead of the
    emulated UART's receive path. nv: the emulated or host board's non-volatile page at start (None:
    erased); the page after the run is the transport's `nv_after`."""
    runner = "serial" if board.on_port(port) else board.runner
    if runner == "qemu":
        cmd = qemu_command(Path(elf).resolve(), machine=board.get("QEMU_MACHINE", "mps2-an386"), icount=True)
        return QemuTransport(cmd, nv=nv) if fast else ProcessTransport(cmd)
    if runner == "host":
        return HostTransport([str(Path(elf).resolve())], nv=nv)
    if runner == "simavr":
        from .simavr import simavr_command

        return ProcessTransport(simavr_command(board, Path(elf)))
    if not port:
        raise TinymlError(f"board {board.name} streams over a serial port: give {hints.option('--port', '/dev/ttyACM0')}")
    return SerialTransport(port, int(board.get("BAUD", "115200")))


@dataclass
class DeviceRun:
    hello: Hello
    rate: float
    labels: list[str]
    scores: list[Scores] = field(default_factory=list)
    values: list[Values] = field(default_factory=list)
    beats: list[Beat] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    timings: list[Timing] = field(default_factory=list)
    errors: list[Error] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    stages: dict[str, dict] = field(default_factory=dict)  # tml_report_stage_cost, latest per stage
    done: Done | None = None
    exit_code: int | None = None
    stderr: str = ""
    nv: bytes | None = None  # the board's non-volatile page after the run (emulated and host boards)
    refused_frames: int = 0  # frames from the device the host refused (bad CRC or header): their messages are lost

    @property
    def scores_q(self) -> np.ndarray:
        if not self.scores:
            return np.zeros((0, self.hello.outputs), np.int8)
        return np.stack([s.scores for s in self.scores])

    @property
    def times(self) -> np.ndarray:
        return np.array([s.t for s in self.scores], np.int64)

    def values_at(self, times) -> tuple[np.ndarray, list[int]]:
        """[len(times), n_values] float32: the VALUES frame of each window end in `times` (the latest when
        repeated), and the windows that got none (their rows are NaN)."""
        by_t = {v.t: v.values for v in self.values}
        n = self.hello.values
        out = np.full((len(times), n), np.nan, np.float32)
        missing = []
        for i, t in enumerate(times):
            v = by_t.get(int(t))
            if v is None or len(v) != n:
                missing.append(i)
            else:
                out[i] = v
        return out, missing

    def cost_per_inference(self) -> dict | None:
        if not self.timings:
            return None
        costs = [t.cost for t in self.timings]
        return {"unit": self.hello.cost_unit, "median": int(statistics.median(costs)), "max": max(costs),
                "inferences": len(costs)}


_STAGE = re.compile(r"cost (\S+) every=(\d+) n=(\d+) total=(\d+)")


def parse_stage_cost(text: str) -> dict | None:
    """A tml_report_stage_cost line -> {stage, every, n, total}; None for other log text."""
    mm = _STAGE.fullmatch(text.strip())
    if not mm:
        return None
    return {"stage": mm[1], "every": int(mm[2]), "n": int(mm[3]), "total": int(mm[4])}


class DeviceLines:
    """The device's messages as `tinyml predict`'s lines. A window line is complete once its SCORES and,
    for an app with [app] values, its VALUES (same t, either order) are in; a beat, an event or the DONE
    completes any window still open. Windows and events arrive in time order, so their lines go out as
    they come; an app with [app] beat_labels reports beats later than their time, so its lines are
    held and come out in time order at the DONE (`end()`)."""

    def __init__(self, manifest, hello: Hello, offset_s: float = 0.0):
        # The hello's rate is a float32: the manifest's own when it is that rate (1/900 Hz is not float32-exact,
        # and times must read as predict's), else the device's.
        rate = manifest.rate if np.float32(manifest.rate) == np.float32(hello.rate) else hello.rate
        self.maker = LineMaker(manifest, hello.out_scale, hello.out_zero_point, rate, offset_s)  # offset_s: a part's start
        self.n_values = len(manifest.values)
        self.hold = bool(manifest.beat_labels)
        self.open: dict[int, list] = {}  # t -> [scores, values]
        self.held: list[tuple[int, int, dict]] = []

    def feed(self, msg) -> list[dict]:
        """The lines `msg` completes, in order (none while held)."""
        items = []
        if isinstance(msg, (Scores, Values)):
            w = self.open.setdefault(msg.t, [None, None])
            if isinstance(msg, Scores):
                w[0] = msg.scores
            else:
                w[1] = msg.values
            if w[0] is not None and (w[1] is not None or not self.n_values):
                items.append(self._window(msg.t))
        elif isinstance(msg, (Beat, Event, Done)):
            items += [self._window(t) for t in list(self.open) if self.open[t][0] is not None]
            if isinstance(msg, Beat):
                items.append((msg.t, BEAT, self.maker.beat(msg.t, msg.label)))
            elif isinstance(msg, Event):
                items.append((msg.t, EVENT, self.maker.event(msg.t, msg.label, msg.score)))
        if self.hold:
            self.held += items
            return []
        return [line for _, _, line in items]

    def end(self) -> list[dict]:
        """At the DONE: the held lines in time order."""
        out, self.held = in_time_order(self.held), []
        return out

    def _window(self, t: int):
        scores, values = self.open.pop(t)
        return t, WINDOW, self.maker.window(t, scores, values)


def stream_signal(transport, signal: np.ndarray, *, labels: list[str], expect_app: str | None = None,
                  expect_hash: str | None = None, timeout_s: float = 120.0, on_message=None,
                  values: list[str] | None = None, beat_labels: list[str] | None = None,
                  on_link=None) -> DeviceRun:
    """Connect, check the hello against the app (`values` and `beat_labels`: the manifest's, checked when
    given), send the whole signal, collect everything until DONE, then end with QUIT where the transport allows
    (DeviceLink.ends_with_quit: an emulated or host board exits; a real board's would restart, so it gets END).

    A board that was already running (a real board on its serial port) may be mid-frame or mid-stream:
    the host flushes its parser with zero fill and sends RESET, so every session starts at sample 0.
    `on_link(link)` sees the DeviceLink first (the gateway counts its refused frames)."""
    link = DeviceLink(transport, timeout_s=timeout_s)
    quit = link.ends_with_quit
    if on_link is not None:
        on_link(link)
    try:
        h = link.connect(boot_wait=5.0 if quit else 1.0)
        if expect_app is not None and h.app_id != expect_app:
            raise TinymlError(f"the device runs app {h.app_id!r}, not {expect_app!r}; flash it first")
        if expect_hash is not None and h.feature_hash != expect_hash:
            raise TinymlError(
                f"feature hash mismatch: device {h.feature_hash}, manifest {expect_hash}; the firmware was built "
                "from another feature definition: rebuild and flash it")
        if h.outputs != len(labels):
            raise TinymlError(f"device reports {h.outputs} outputs, the manifest has {len(labels)} labels")
        for what, n, names in (("values", h.values, values), ("beat labels", h.beat_labels, beat_labels)):
            if names is not None and n != len(names):
                raise TinymlError(f"device reports {n} {what}, the manifest has {len(names)}; rebuild and flash it")
        run = DeviceRun(h, float(h.rate), list(labels))
        faults_before = link.dec.faults  # a board joined mid-stream starts with half a frame: not this session's
        link.resync()
        link.reset()
        for m in link.stream(signal):
            if isinstance(m, Scores):
                run.scores.append(m)
            elif isinstance(m, Values):
                run.values.append(m)
            elif isinstance(m, Beat):
                run.beats.append(m)
            elif isinstance(m, Event):
                run.events.append(m)
            elif isinstance(m, Timing):
                run.timings.append(m)
            elif isinstance(m, Error):
                run.errors.append(m)
            elif isinstance(m, Log):
                run.logs.append(m.text)
                st = parse_stage_cost(m.text)
                if st is not None:
                    run.stages[st.pop("stage")] = st
            elif isinstance(m, Done):
                run.done = m
            if on_message is not None:
                on_message(m, run)
        if quit:
            link.send(T.QUIT)  # the emulated or host board exits
            try:
                link.wait_for(Done, timeout=10)
            except TinymlError:
                pass
    finally:
        rc = transport.close()
    run.refused_frames = link.dec.faults - faults_before
    run.exit_code = rc
    run.stderr = transport.stderr_text() if hasattr(transport, "stderr_text") else ""
    run.nv = getattr(transport, "nv_after", None)
    return run
