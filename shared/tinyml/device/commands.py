"""Verbs: `tinyml flash <app>`, `tinyml run <app> --input file`, `tinyml size <app>`.

flash: build the firmware for --board and put it on the device. For qemu-m4 that means starting
       the emulator, for host the native process; real boards are flashed with the board's recipe
       (openocd, st-flash, bossac) and then streamed over PORT. The app's demo recording
       ([firmware] demo in app.toml) is replayed and the device's events printed as they happen,
       then flash/RAM use and the cost per inference.
run:   the same, for any recording (--input), printing the JSON lines `tinyml predict` prints (window
       lines with values, beat lines, event lines: tinyml.output_lines).
size:  flash (text + rodata + data) and RAM (data + bss + stack peak) on every board; fails when
       an image does not fit or links malloc.
<app> is an app id, or a path to an app folder (one holding app.toml).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from .. import hints
from ..apps import App, app_from_args
from ..errors import TinymlError

DEFAULT_BOARD = "qemu-m4"


def register(sub: argparse._SubParsersAction) -> None:
    def common(p):
        p.add_argument("app", help="app id (or a path to an app folder)")
        p.add_argument("--board", default=os.environ.get("BOARD") or DEFAULT_BOARD, help=f"default {DEFAULT_BOARD}")
        p.add_argument("--port", help="serial port of a real board (make ... PORT=/dev/ttyACM0)")
        p.add_argument("--input", help="a recording (CSV, Edge Impulse JSON, WAV)")
        p.add_argument("--rate", type=float, help="sample rate in Hz when the file has no time (overrides its time)")
        p.add_argument("--channel", action="append", metavar="[CH=]NAME",
                       help="the file's column/sensor/lead for a channel (repeatable; CH= when the app has several)")
        p.add_argument("--timeout", type=float, default=600.0, help="bound on the whole device session (s)")
        p.add_argument("--summary-json", action="store_true", help="end with one {\"device\": {...}} JSON line")
        p.add_argument("--calibration", metavar="FILE",
                       help="a device state learned by `calibrate`, loaded into the board's non-volatile memory")

    p = sub.add_parser("flash", help="build the firmware, flash it (or start QEMU/host) and replay the demo")
    common(p)
    p.add_argument("--dry-run", action="store_true", help="build and print the flash command, run nothing")
    p.add_argument("--all-lines", action="store_true", help="print window scores too, not only events")
    p.add_argument("--yes", action="store_true", help="install the board's flashing tool without asking, if missing")
    p.set_defaults(func=cmd_flash)

    p = sub.add_parser("run", help="replay a recording through the firmware; JSON lines like predict")
    common(p)
    p.add_argument("--events-only", action="store_true", help="print events only, no window scores")
    p.add_argument("--mqtt", metavar="URL", help="also publish the events to an MQTT broker, nothing lost: "
                   "mqtt[s]://[user@]host[:port][/?ca=FILE&site=NAME&device=ID] (README, On a gateway)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("size", help="flash and RAM of the firmware on every board")
    p.add_argument("app")
    p.add_argument("--board", action="append", help="only these boards (repeatable); default all")
    p.add_argument("--json", action="store_true", help="one JSON object per board")
    p.add_argument("--input", help=argparse.SUPPRESS)
    p.add_argument("--port", help=argparse.SUPPRESS)
    p.add_argument("--rate", type=float, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_size)


def resolve_app(args) -> App:
    """args.app is an app id or a path to an app folder; args.set its overrides."""
    p = Path(args.app or "")
    if args.app and (p / "app.toml").is_file():
        p = p.resolve()
        args.app = p.name
        return app_from_args(args, root=p.parent)
    return app_from_args(args)


def _fmt_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    return f"{n} B" if n < 1024 else f"{n / 1024:.1f} KB"


# ---- flash recipes ----


def flash_command(board, outputs: dict, port: str | None) -> list[str] | None:
    """The board's flash recipe (BOARD_FLASH_CMD) with {elf} {bin} {hex} {uf2} {port} filled in."""
    tmpl = board.get("FLASH_CMD")
    if not tmpl:
        return None
    subst = {k: shlex.quote(str(v)) for k, v in outputs.items()}
    subst["port"] = shlex.quote(port or board.get("DEFAULT_PORT", "/dev/ttyACM0"))
    try:
        return shlex.split(tmpl.format(**subst))
    except KeyError as e:
        raise TinymlError(f"{board.dir / 'board.mk'}: BOARD_FLASH_CMD uses {{{e.args[0]}}}, not produced by this board") from None


# ---- running ----


def _signal_for(app: App, path: str, rate: float | None, channel=None):
    """The recording as the device gets it: read like predict reads it (units, time, optional channels
    as NaN, which travel as float32 NaN), at the device rate; and the app as the device must be built for
    it: deployment values the file states (a CWRU record's motor speed) become build overrides, as predict
    uses them (never over the user's own --set)."""
    from ..errors import notices_held
    from ..predict import prepare, read_input

    with notices_held():
        rec = read_input(app, Path(path), rate, channel)
        return prepare(app, rec), with_recording_values(app, rec)


def _parts_for(app: App, path: str, rate: float | None, channel=None):
    """As _signal_for, for `run`: a recording cut at gaps longer than [signal] max_gap_s (and with rows
    that have no value, a time column given) as predict reads it: [(start in the file, seconds; signal)]
    in time order, each part a session of its own (the device powered off over the gap)."""
    from ..predict import read_input_parts

    parts = read_input_parts(app, Path(path), rate, channel)  # cmd_run holds the notices
    return [(rec.start_s, sig) for rec, sig in parts], with_recording_values(app, parts[0][0])


def with_recording_values(app: App, rec) -> App:
    from ..apps import load_app
    from ..features import overridden_keys

    m = app.manifest
    mine = overridden_keys(m)
    extra = [f"{section}.{key}={value!r}" for section, table in (rec.deployment or {}).items()
             if section in m.deployment for key, value in table.items()
             if key in m.deployment[section] and (section, key) not in mine and m.deployment[section][key] != value]
    if not extra:
        return app
    return load_app(app.id, app.dir.parent, overrides=[*m.overrides, *extra])


def _demo_path(app: App) -> Path:
    demo = app.manifest.firmware.get("demo") or "fixtures/demo.csv"
    p = app.dir / demo
    if not p.is_file():
        raise TinymlError(f"{app.manifest.path}: demo recording {demo!r} not found at {p}; "
                          f"set [firmware] demo = \"<file>\" or give {hints.option('--input', '<file>')}")
    return p


def summary_dict(im, run, size, n_samples: int) -> dict:
    """Flash/RAM, stack and cost figures of one device run (also used for model cards and benchmarks)."""
    rate = run.rate
    cost = run.cost_per_inference()
    d = {"board": im.board.name, "app": run.hello.app_id, "feature_hash": run.hello.feature_hash,
         "flash": size.flash, "ram": size.ram, "stack_static": size.stack_peak,
         "stack_measured": run.done.stack_used if run.done else None, "arena": size.arena,
         "windows": len(run.scores), "events": len(run.events), "faults": run.done.faults if run.done else None,
         "errors": [e.describe() for e in run.errors]}
    if cost:
        d["cost_unit"] = cost["unit"]
        d["per_inference"] = cost["median"]
        d["per_inference_max"] = cost["max"]
        seconds = n_samples / rate
        total = sum(t.cost for t in run.timings)
        d["per_second_of_data"] = round(total / seconds) if seconds else None
        clock = im.board.get("ESTIMATE_CLOCK_HZ") or im.board.get("CLOCK_HZ")
        if cost["unit"] in ("instructions", "cycles") and clock:
            hz = int(clock, 0)
            d["estimate_clock_hz"] = hz
            d["estimate_ms_per_inference"] = round(1000.0 * cost["median"] / hz, 4)
            d["estimate_duty_cycle"] = float(f"{total / hz / seconds:.4g}") if seconds else None
        elif cost["unit"] == "ns":
            d["ms_per_inference"] = round(cost["median"] / 1e6, 4)
        _realtime(d, im, run, cost)
    return d


def _realtime(d: dict, im, run, cost: dict) -> None:
    """Per-run cost of recurring stages (tml_report_stage_cost, e.g. one feature frame) and the real-time
    load: (cost per inference * inferences per second + sum of stage cost * runs per second) / clock,
    at the board's BOARD_REALTIME_CLOCK_HZ (the slowest MCU the figure is meant for) or its estimate
    clock. Counted units are instructions under QEMU: the load assumes ~1 instruction per cycle."""
    rate = run.rate
    stages = {}
    per_second = cost["median"] * rate / int(im.app.manifest.features["hop"])
    for name, st in run.stages.items():
        if st["n"] > 0 and st["every"] > 0:
            mean = st["total"] / st["n"]
            stages[name] = {"mean": round(mean), "runs": st["n"], "per_second": round(mean * rate / st["every"])}
            per_second += mean * rate / st["every"]
    if stages:
        d["stages"] = stages
    clock = im.board.get("REALTIME_CLOCK_HZ") or im.board.get("ESTIMATE_CLOCK_HZ") or im.board.get("CLOCK_HZ")
    if cost["unit"] in ("instructions", "cycles") and clock:
        hz = int(clock, 0)
        d["realtime_clock_hz"] = hz
        d["realtime_per_second"] = round(per_second)
        d["realtime_load"] = float(f"{per_second / hz:.4g}")  # significant digits: a sleepy node's load is ~1e-7


def _summary_text(d: dict) -> str:
    s = (f"{d['board']}: flash {_fmt_bytes(d['flash'])}, RAM {_fmt_bytes(d['ram'])} "
         f"(stack {d['stack_static']} B static")
    if d.get("stack_measured"):
        s += f", {d['stack_measured']} B measured"
    s += ")"
    if "per_inference" in d:
        s += f"; {d['per_inference']} {d['cost_unit']} per inference (median of {d['windows']})"
        if d.get("per_second_of_data") is not None:
            s += f", {d['per_second_of_data']} {d['cost_unit']} per second of data"
        if "estimate_ms_per_inference" in d:
            mhz = d["estimate_clock_hz"] / 1e6
            per = "instruction" if d["cost_unit"] == "instructions" else "cycle"
            s += (f"; estimate at {mhz:g} MHz and 1 {per}/cycle: {d['estimate_ms_per_inference']} ms per inference, "
                  f"duty cycle {100 * (d['estimate_duty_cycle'] or 0):.3f}%")
        if "ms_per_inference" in d:
            s += f" ({d['ms_per_inference']} ms wall clock on this host)"
    for name, st in d.get("stages", {}).items():
        s += f"; {st['mean']} {d['cost_unit']} per {name.replace('_', ' ')} (mean of {st['runs']}, {st['per_second']} per second)"
    if "realtime_load" in d:
        load = d["realtime_load"]
        per = "instruction" if d["cost_unit"] == "instructions" else "cycle"
        s += (f"; real time at {d['realtime_clock_hz'] / 1e6:g} MHz (1 {per}/cycle assumed): "
              f"{d['realtime_per_second']} {d['cost_unit']}/s = {100 * load:.1f}% load, "
              + ("keeps up" if load < 1 else "does NOT keep up"))
    s += f"; {d['events']} events, faults {d['faults']}"
    return s


def demo_verdict(app: App, truth_file: Path, got: list[dict]) -> tuple[list[str], bool]:
    """The demo's true events against the events the device raised (`got`: its event lines), by the rule
    of the held-out metrics: an alert of the same label from [postprocess] detect_before_s before to
    detect_after_s after the event. Lines to print (expected vs got, latency, PASS/FAIL), and whether it passed."""
    from ..fixtures import truth_events
    from ..metrics import match_events
    from ..scoring import event_window

    try:
        doc = json.loads(truth_file.read_text())
        truth = truth_events(doc)
    except (ValueError, KeyError, TypeError) as e:
        raise TinymlError(f"{truth_file}: not a demo truth file ({e.__class__.__name__}: {e})") from None
    before, after = event_window(app.manifest)
    pairs, extra = match_events(truth, [(float(x["t"]), x["event"]) for x in got], before, after)
    lines = [f"demo truth ({truth_file.name}): an alert counts from {before:g} s before to {after:g} s after its event"
             + (" (from the fault's onset where that is earlier)" if any(len(x) > 2 for x in truth) else "")]
    for (t, lab), t_got in pairs:
        lines.append(f"  expected {lab} at {t:.2f} s: " + (f"got {lab} at {t_got:.2f} s (latency {t_got - t:+.2f} s)"
                                                          if t_got is not None else "MISSED"))
    lines += [f"  unexpected {lab} at {t:.2f} s (no true event near it)" for t, lab in extra]
    found = sum(t is not None for _, t in pairs)
    ok = found == len(pairs) and not extra
    lines.append(f"{'PASS' if ok else 'FAIL'}: {found} of {len(pairs)} expected events, {len(extra)} unexpected")
    return lines, ok


def _built(args, app: App, *, streams: bool):
    """The firmware image for args.board, its port checked first (a session streams over it; flashing needs none)."""
    from .board import check_port, load_board
    from .size import build_to_fit

    board = load_board(args.board)
    check_port(board, args.port, streams=streams)
    return build_to_fit(app, board)


def _session(args, app: App, im, signal, *, events_only: bool, events: list | None = None,
             offset_s: float = 0.0) -> int:
    from .link import Done
    from .runner import DeviceLines, open_transport, stream_signal
    from .size import image_size

    size = image_size(im)
    nv = None
    if getattr(args, "calibration", None):
        from ..calibration import device_image, load

        if im.board.on_port(args.port):
            raise TinymlError(f"{hints.option('--calibration', args.calibration)}: on a real board the device learns "
                              "its own calibration; loading one works on the emulated and host boards")
        nv = device_image(app, load(app, args.calibration))
    mqtt = None
    if getattr(args, "mqtt", None):  # before the device starts: a bad URL or queue leaves no process behind
        from ..gateway.service import RunPublisher

        mqtt = RunPublisher(app, args.mqtt, args.input, args.rate, im.board.name)
    transport = open_transport(im.board, im.elf, args.port, nv=nv)
    m = app.manifest
    lines: list[DeviceLines] = []

    def show(msg, run):
        if mqtt is not None:
            mqtt.feed_message(msg, run)
        if not lines:
            lines.append(DeviceLines(m, run.hello, offset_s))
        out = lines[0].feed(msg) + (lines[0].end() if isinstance(msg, Done) else [])
        for line in out:
            if events is not None and "event" in line:
                events.append(line)
            if not events_only or "event" in line:
                sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()

    run = stream_signal(transport, signal, labels=m.labels, expect_app=m.id, expect_hash=m.feature_hash(),
                        timeout_s=args.timeout, on_message=show,
                        values=m.values, beat_labels=m.beat_labels)
    queued = mqtt.close() if mqtt is not None else 0
    for e in run.errors:
        print(f"device error: {e.describe()}", file=sys.stderr)
    d = summary_dict(im, run, size, len(signal))
    print(_summary_text(d), file=sys.stderr)
    if args.summary_json:
        sys.stdout.write(json.dumps({"device": d}) + "\n")
    if run.exit_code not in (None, 0):
        raise TinymlError(f"firmware exited with code {run.exit_code}{': ' + run.stderr.strip()[-800:] if run.stderr.strip() else ''}")
    if run.done is None:
        raise TinymlError("the device never confirmed the end of the stream (no DONE frame)")
    if run.done.samples != len(signal):
        raise TinymlError(f"the device processed {run.done.samples} of {len(signal)} samples")
    if run.refused_frames:  # a frame the link mangled is gone (no resend): the lines above may miss some
        print(f"device link: {run.refused_frames} frame(s) from the device arrived corrupt (bad CRC or header) and "
              "were dropped: the output above may miss windows or events", file=sys.stderr)
        return 1
    return 1 if run.errors or queued else 0  # queued: events the broker has not acknowledged (README, On a gateway)


def cmd_flash(args) -> int:
    from .size import build_to_fit

    app = resolve_app(args)
    im = _built(args, app, streams=False)  # flashing needs no port (the recipe finds the board)
    if im.board.on_port(args.port):
        cmd = flash_command(im.board, im.image.outputs, args.port)
        if cmd is None:
            raise TinymlError(f"{im.board.dir / 'board.mk'}: no BOARD_FLASH_CMD")
        print("flash: " + shlex.join(cmd), file=sys.stderr)
        if args.dry_run:
            return 0
        from ..system_deps import ensure_tool

        ensure_tool(cmd[0], im.board.get("FLASH_PKG", cmd[0]), f"flashing {im.board.name}", yes=args.yes)
        res = subprocess.run(cmd)
        if res.returncode != 0:
            raise TinymlError(f"{cmd[0]} failed with exit code {res.returncode}; is the board connected?")
        if not args.port:
            print(f"flashed; give {hints.option('--port', '/dev/ttyACM0')} to replay the demo over the board's serial port",
                  file=sys.stderr)
            return 0
    elif args.dry_run:
        print(f"{im.board.name}: built {im.elf}", file=sys.stderr)
        return 0
    signal, recorded = _signal_for(app, args.input or str(_demo_path(app)), args.rate, args.channel)
    if recorded is not app:  # the recording states deployment values (a CWRU record's speed): built with them
        app, im = recorded, build_to_fit(recorded, im.board)
    from ..fixtures import truth_path

    truth = None if args.input else truth_path(app)
    if truth is None or not truth.is_file():
        return _session(args, app, im, signal, events_only=not args.all_lines)
    got: list[dict] = []
    rc = _session(args, app, im, signal, events_only=not args.all_lines, events=got)
    lines, ok = demo_verdict(app, truth, got)  # the demo has a truth: were the device's events right?
    print("\n".join(lines), file=sys.stderr)
    return rc or (0 if ok else 1)


def cmd_run(args) -> int:
    app = resolve_app(args)
    if not args.input:
        raise TinymlError(f"no input recording given: {hints.command('run', app.id, hints.option('--input', '<file>'))}")
    if args.mqtt:  # a bad URL is said before the firmware is built
        from ..gateway.options import parse_broker

        parse_broker(args.mqtt, "--mqtt")
    from ..errors import notices_held

    with notices_held():  # refused: the one error line, no notices
        parts, app = _parts_for(app, args.input, args.rate, args.channel)
        if len(parts) > 1 and args.mqtt:
            raise TinymlError(f"{args.input}: {len(parts)} segments to score, cut at gaps longer than [signal] max_gap_s; "
                              f"{hints.option('--mqtt', args.mqtt)} publishes one session: run each segment's file")
    im = _built(args, app, streams=True)
    rc = 0
    for start_s, signal in parts:  # each part a fresh device session, its lines in the file's time base
        rc = _session(args, app, im, signal, events_only=args.events_only, offset_s=start_s) or rc
    return rc


def cmd_size(args) -> int:
    from .size import size_all

    app = resolve_app(args)
    reports, problems = size_all(app, args.board)
    for r in reports:
        if args.json:
            print(json.dumps(r.as_dict()))
            continue
        cap_f = f" / {_fmt_bytes(r.flash_capacity)}" if r.flash_capacity else ""
        cap_r = f" / {_fmt_bytes(r.ram_capacity)}" if r.ram_capacity else ""
        stack = f"{r.stack_peak} B" + ("" if r.stack_exact else " (lower bound)")
        arena = f", arena {_fmt_bytes(r.arena)}" if r.arena else ""
        print(f"{r.board:15s} flash {_fmt_bytes(r.flash):>9s}{cap_f:12s} (text+rodata {_fmt_bytes(r.text + r.rodata)}, "
              f"data {_fmt_bytes(r.data)})   RAM {_fmt_bytes(r.ram):>9s}{cap_r:12s} (data+bss {_fmt_bytes(r.data + r.bss)}"
              f"{arena}, stack peak {stack})")
        for p in r.problems:
            print(f"  problem: {p}")
    for p in problems:
        print(f"problem: {p}")
    if problems or any(r.problems for r in reports):
        raise TinymlError(f"{app.id}: the firmware does not fit (see the problems above)")
    return 0
