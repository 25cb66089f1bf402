"""Core verbs: apps, system-deps, new, data, train, promote, eval, predict."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys

from .apps import discover, load_app
from .errors import TinymlError
from .paths import apps_dir, firmware_dir


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("apps", help="list the discovered apps and boards")
    p.set_defaults(func=cmd_apps)

    p = sub.add_parser("system-deps", help="install the Debian packages a purpose needs")
    p.add_argument("purpose")
    p.set_defaults(func=cmd_system_deps)

    p = sub.add_parser("new", help="copy apps/_template into a new app")
    p.add_argument("app")
    p.set_defaults(func=cmd_new)

    p = sub.add_parser("data", help="build or load the app's dataset and print a summary")
    p.add_argument("app")
    p.add_argument("--smoke", action="store_true", help="the small configuration used by tests")
    p.set_defaults(func=cmd_data)

    p = sub.add_parser("train", help="train every model, quantize to int8, evaluate and write a model card "
                                      "into a new run folder (the committed model changes only by promote)")
    p.add_argument("app")
    p.add_argument("--smoke", action="store_true", help="tiny data and epochs, for tests")
    p.add_argument("--out", help="output folder (default: a new build/<id>/runs/<date-time>/)")
    p.add_argument("--reuse-float", action="store_true",
                   help="skip fitting: quantize and evaluate the float models the last run saved "
                        "(after a change to [postprocess], [quantize] or [acceptance])")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("promote", help="make a training run the committed model (models, card, golden vectors, "
                                        "device cost), after checking it")
    p.add_argument("app")
    p.add_argument("run", nargs="?", help="run folder or its name under build/<id>/runs/ (default: the last full run)")
    p.set_defaults(func=cmd_promote)

    p = sub.add_parser("eval", help="re-evaluate the committed model; fail when a floor is missed")
    p.add_argument("app")
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--device", action="store_true",
                   help="only re-measure the firmware's cost and parity on qemu-m4 and update the model card")
    p.add_argument("--card", action="store_true",
                   help="also rewrite the model card's int8 metrics, plots and text from this evaluation "
                        "(after a change to the card, [postprocess] or the evaluation)")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("predict", help="run the whole pipeline on a recording; JSON lines out")
    p.add_argument("app")
    p.add_argument("input", nargs="?")
    p.add_argument("--rate", type=float, help="sample rate in Hz when the CSV has no time column")
    p.add_argument("--model", help="an int8 .tflite other than the committed one")
    p.add_argument("--events-only", action="store_true", help="print events only, no window scores")
    p.set_defaults(func=cmd_predict)


def boards() -> list[str]:
    return sorted(p.parent.name for p in (firmware_dir() / "boards").glob("*/board.mk"))


def cmd_apps(args) -> int:
    for app_id in discover():
        m = load_app(app_id).manifest
        print(f"{app_id:24s} {m.app['task']:9s} {m.app['title']}")
    print(f"boards: {', '.join(boards()) or '(none)'}")
    return 0


def cmd_system_deps(args) -> int:
    from .system_deps import ensure

    ensure(args.purpose)
    return 0


def cmd_new(args) -> int:
    from .manifest import APP_ID

    new_id = args.app
    if not new_id or not APP_ID.match(new_id):
        raise TinymlError(f"app id {new_id!r} must be kebab-case (a-z, 0-9, '-'), e.g. my-gesture")
    dst = apps_dir() / new_id
    if dst.exists():
        raise TinymlError(f"{dst} already exists")
    src = apps_dir() / "_template"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
    toml = dst / "app.toml"
    toml.write_text(re.sub(r"(?m)^id = \".*\"", f"id = \"{new_id}\"", toml.read_text(), count=1))
    print(f"created {dst}; edit {toml}, then: make app={new_id} train")
    return 0


def cmd_data(args) -> int:
    from .data import build_dataset

    app = load_app(args.app)
    recs = build_dataset(app.manifest, smoke=args.smoke)
    by_label: dict[str, int] = {}
    hours = 0.0
    for r in recs:
        by_label[r.label] = by_label.get(r.label, 0) + 1
        hours += r.duration / 3600
    subjects = len({r.subject for r in recs})
    print(json.dumps({"recordings": len(recs), "subjects": subjects, "hours": round(hours, 2), "by_label": by_label}))
    return 0


def cmd_train(args) -> int:
    from .train import train_app

    train_app(load_app(args.app), smoke=args.smoke, out=args.out, reuse_float=args.reuse_float)
    return 0


def cmd_promote(args) -> int:
    from .runs import promote

    promote(load_app(args.app), args.run)
    return 0


def cmd_eval(args) -> int:
    from .evaluate import eval_committed

    app = load_app(args.app)
    if args.device:
        from .device.cost import device_cost
        from .report import write_card_text

        card_path = app.model_dir / "card.json"
        if not card_path.is_file():
            raise TinymlError(f"{card_path}: no model card; run: make app={app.id} train")
        card = json.loads(card_path.read_text())
        card["device"] = device_cost(app)
        card_path.write_text(json.dumps(card, indent=2) + "\n")
        write_card_text(app, app.model_dir, card)
        print(json.dumps(card["device"]))
        return 0 if "error" not in card["device"] and card["device"]["parity"].startswith("identical") else 1
    return eval_committed(app, smoke=args.smoke, rewrite_card=args.card)


def cmd_predict(args) -> int:
    from .predict import predict_file

    app = load_app(args.app)
    if not args.input:
        raise TinymlError("no input recording given: tinyml predict <app> <file> (make ... predict INPUT=<file>)")
    for line in predict_file(app, args.input, rate=args.rate, model=args.model, events_only=args.events_only):
        sys.stdout.write(json.dumps(line) + "\n")
    return 0
