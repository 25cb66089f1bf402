"""Core verbs: apps, system-deps, new, data, train, promote, eval, card, golden, predict, calibrate."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from pathlib import Path

from . import hints
from .apps import app_from_args, discover, load_app
from .errors import TinymlError
from .paths import apps_dir, firmware_dir, repo_root


def _recording_args(p) -> None:
    """A verb that reads one recording (predict, calibrate): the file, its rate, its channels."""
    p.formatter_class = _LaterHelp
    p.epilog = _FORMATS
    p.add_argument("input", nargs="?", help="the recording (or --input)")
    p.add_argument("--input", dest="input_option", metavar="INPUT", help="the recording, as for run and flash")
    p.add_argument("--rate", type=float, help="sample rate in Hz when the file has no time (overrides its time)")
    p.add_argument("--channel", action="append", metavar="[CH=]NAME",
                   help="the file's column/sensor/lead for a channel (repeatable; CH= when the app has several)")


class _Later(str):
    """Help text made only when --help prints it (_LaterHelp), not on every command's start-up, where making it would
    read files or import modules: a plain placeholder that carries the function making the text. Python 3.14's
    argparse expands an argument's help inside add_argument (a %(name)s filled in afterwards fails there); the
    placeholder has nothing to expand, and that check does not call _LaterHelp's methods that make the text."""

    def __new__(cls, placeholder: str, make):
        text = super().__new__(cls, placeholder)
        text.make = make
        return text


class _LaterHelp(argparse.RawDescriptionHelpFormatter):
    """Prints a _Later description, epilog or argument help as the text it makes."""

    def add_text(self, text):
        super().add_text(text.make() if isinstance(text, _Later) else text)

    def _format_action(self, action):
        if isinstance(action.help, _Later):
            import copy

            action = copy.copy(action)
            action.help = action.help.make().replace("%", "%%")  # the text as written: argparse %-expands help
        return super()._format_action(action)


def _formats_text() -> str:
    """What --help says a recording may be: each reader's first sentence (its docstring, read as text, so
    help costs no imports), found like the readers themselves (a new reader module is listed here)."""
    import textwrap

    lines = ["recordings read (the format is told by content, else by suffix):"]
    for f in sorted((Path(__file__).parent / "readers").glob("[!_]*.py")):
        m = re.match(r'\s*"""(.*?)(?:\n\s*\n|""")', f.read_text(encoding="utf-8"), re.S)
        first = " ".join((m.group(1) if m else "").split())
        first = _headline(first.split(". ")[0].rstrip("."))
        lines += textwrap.wrap(f"{f.stem}: {first}", 100, initial_indent="  ", subsequent_indent="      ")
    lines += ["", "Units are taken from the file (a heading such as `ax (m/s^2)` or `ecg_uV`, a WAV's PCM, a WFDB",
              "header) or told by the values' size, and other rates within the app's [signal] accepted_rates are",
              "resampled, each with a notice on stderr. Bad input ends with one `error:` line and exit code 2.",
              "What each app accepts: its README's predict section (apps/<id>/README.md)."]
    return "\n".join(lines)


_FORMATS = _Later("(the recording formats)", _formats_text)  # the readers' docstrings


def _headline(sentence: str, width: int = 100) -> str:
    """A long sentence up to its first colon outside brackets ("WAV (RIFF/WAVE)": the rest is detail)."""
    if len(sentence) <= width:
        return sentence
    depth = 0
    for i, c in enumerate(sentence):
        depth += {"(": 1, ")": -1}.get(c, 0)
        if c == ":" and depth == 0:
            return sentence[:i]
    return sentence


def _purposes_text() -> str:
    """system-deps' purpose help: importing tinyml.system_deps for every command's parser cost about 5 ms of each
    start."""
    from .system_deps import NEEDS

    return f"one of {', '.join(NEEDS)} (README, System packages)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("apps", help="list the discovered apps and boards")
    p.set_defaults(func=cmd_apps)

    p = sub.add_parser("system-deps", help="install the Debian packages a purpose needs", formatter_class=_LaterHelp)
    p.add_argument("purpose", help=_Later("one of the purposes (README, System packages)", _purposes_text))
    p.add_argument("--yes", action="store_true", help="enable Debian's contrib/non-free sections without asking "
                                                      "when the purpose needs them (voices)")
    p.set_defaults(func=cmd_system_deps)

    p = sub.add_parser("new", help="copy apps/_template into a new app")
    p.add_argument("new_id", metavar="app", help="the new app's id (kebab-case)")
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
                   help="skip fitting: quantize and evaluate the float models the last run saved (after a change to "
                        "[postprocess], [quantize] or [acceptance]; a further model it lacks is fitted)")
    p.add_argument("--keep", action="append", default=[], metavar="MODEL",
                   help="a further model ([models.MODEL]) stays the committed one: its int8 file as it is, not fitted "
                        "or quantized again (repeatable); its float figures are its int8 ones")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("promote", help="make a training run the committed model (models, card, golden vectors, "
                                        "device cost), after checking it")
    p.add_argument("app")
    p.add_argument("run", nargs="?", help="run folder or its name under build/<id>/runs/ (default: the last full run)")
    p.add_argument("--models", nargs="+", metavar="NAME",
                   help="promote only these further models ([models.<name>]); the others stay the committed ones")
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

    p = sub.add_parser("card", help="re-render model cards (README.md and plots) from card.json: no data, no "
                                     "training; no app: every app and the template")
    p.add_argument("app", nargs="?")
    p.add_argument("--device", action="store_true",
                   help="also re-measure the device figures on qemu-m4 where they are stale (other models or firmware)")
    p.add_argument("--check", action="store_true", help="write nothing; list what is stale (exit 1 if anything is)")
    p.set_defaults(func=cmd_card)

    p = sub.add_parser("golden", help="rewrite the app's golden vectors (fixtures/golden.npz) from the committed model")
    p.add_argument("app")
    p.set_defaults(func=cmd_golden)

    p = sub.add_parser("predict", help="run the whole pipeline on a recording; JSON lines out")
    p.add_argument("app")
    _recording_args(p)
    p.add_argument("--model", help="an int8 .tflite other than the committed one, or a model folder (a training "
                                    "run: build/<id>/runs/<run>, with every model of the app)")
    p.add_argument("--events-only", action="store_true", help="print events only, no window scores")
    p.add_argument("--calibration", metavar="FILE", help="start from a device state learned by `calibrate`")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("calibrate", help="learn the device state (e.g. a machine's healthy baseline) from a recording")
    p.add_argument("app")
    _recording_args(p)
    p.add_argument("--out", help="the calibration file (default: <recording>.calibration.json beside it)")
    p.set_defaults(func=cmd_calibrate)


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

    ensure(args.purpose, yes=args.yes)
    return 0


def cmd_new(args) -> int:
    from .app_names import core_mentions
    from .manifest import APP_ID

    new_id = args.new_id
    if not new_id:
        raise TinymlError(f"no app id given: {hints.command('new', '<new-id>')}")
    if not APP_ID.match(new_id):
        raise TinymlError(f"app id {new_id!r} must be kebab-case (a-z, 0-9, '-'), e.g. my-gesture")
    dst = apps_dir() / new_id
    if dst.exists():
        raise TinymlError(f"{dst} already exists")
    clash = core_mentions([new_id], [repo_root() / "shared", firmware_dir()])
    if clash:  # the guard test could not tell the core's own word from a mention of the app
        raise TinymlError(f"app id {new_id!r} is a word the core uses ({clash[0]}, and {len(clash) - 1} more); "
                          "choose another id")
    src = apps_dir() / "_template"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
    toml = dst / "app.toml"
    toml.write_text(re.sub(r"(?m)^id = \".*\"", f"id = \"{new_id}\"", toml.read_text(), count=1))
    if (dst / "model" / "card.json").is_file():  # the copied card now names the new app (same model, same data)
        from .report import render_card

        render_card(load_app(new_id), dst / "model")
    print(f"created {dst}; edit {toml}, then: {hints.command('train', new_id)}")
    return 0


def cmd_data(args) -> int:
    from .data import build_dataset

    app = app_from_args(args)
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

    train_app(app_from_args(args), smoke=args.smoke, out=args.out, reuse_float=args.reuse_float,
              keep=tuple(args.keep))
    return 0


def _committed_app(args, why: str):
    """The app of a verb that writes committed artefacts: those go with the manifest as committed, so any
    --set is refused (a bad one first gets the manifest loader's message, as on every verb)."""
    app = app_from_args(args)
    if getattr(args, "set", None):
        raise TinymlError(f"{why}; drop {hints.option('--set')}")
    return app


def cmd_promote(args) -> int:
    from .runs import promote

    promote(_committed_app(args, "promote commits a run for the manifest as committed"), args.run, args.models)
    return 0


def cmd_eval(args) -> int:
    from .evaluate import eval_committed

    app = app_from_args(args)
    if args.device:
        from .device.cost import device_cost
        from .report import render_card

        card_path = app.model_dir / "card.json"
        if not card_path.is_file():
            raise TinymlError(f"{card_path}: no model card; run: {hints.command('train', app.id)}")
        card = json.loads(card_path.read_text())
        card["device"] = device_cost(app)
        render_card(app, app.model_dir, card)
        print(json.dumps(card["device"]))
        return 0 if "error" not in card["device"] and card["device"]["parity"].startswith("identical") else 1
    return eval_committed(app, smoke=args.smoke, rewrite_card=args.card)


def card_apps() -> list:
    """Every app with a committed model card, and the templates (apps/_*/) that have one."""
    folders = [*discover(), *sorted(p.parent.name for p in apps_dir().glob("_*/app.toml"))]
    return [a for a in map(load_app, folders) if (a.model_dir / "card.json").is_file()]


def cmd_card(args) -> int:
    from .card_stamp import card_problems, device_problems
    from .report import render_card

    if args.app:  # an app, or a template by its folder name (apps/_template)
        targets = [_committed_app(args, "a model card describes the manifest as committed")]
    else:
        if getattr(args, "set", None):
            raise TinymlError(f"a model card describes the manifest as committed; drop {hints.option('--set')}")
        targets = card_apps()
    stale = 0
    for app in targets:
        card_path = app.model_dir / "card.json"
        if not card_path.is_file():
            raise TinymlError(f"{card_path}: no model card; run: {hints.command('train', app.id)}, then "
                              f"{hints.command('promote', app.id)}")
        if not args.check:
            card = json.loads(card_path.read_text())
            if args.device and device_problems(app, card):
                from .device.cost import device_cost

                print(f"{app.id}: measuring the device figures on qemu-m4", file=sys.stderr)
                card["device"] = device_cost(app)
            render_card(app, app.model_dir, card)
            print(f"rendered {app.model_dir / 'README.md'}", file=sys.stderr)
        problems = card_problems(app)
        for p in problems:
            print(f"{'stale' if args.check else 'still stale'}: {p}", file=sys.stderr)
        stale += bool(problems)
    return 1 if stale else 0


def cmd_golden(args) -> int:
    from .fixtures import regenerate_golden

    app = _committed_app(args, "golden vectors are written from the manifest as committed")
    print(f"wrote {regenerate_golden(app)}", file=sys.stderr)
    return 0


def _input_path(args, app, verb: str) -> str:
    if args.input and args.input_option and args.input != args.input_option:
        raise TinymlError(f"two input recordings given ({args.input} and {args.input_option}); give one")
    path = args.input or args.input_option
    if not path:
        raise TinymlError(f"no input recording given: {hints.command(verb, app.id, hints.option('--input', '<file>'))}")
    return path


def cmd_predict(args) -> int:
    from .predict import predict_file

    app = app_from_args(args)
    path = _input_path(args, app, "predict")
    calibration = None
    if args.calibration:  # loaded here: tinyml.calibration learns through predict (no import cycle)
        from .calibration import load

        calibration = load(app, args.calibration)
    for line in predict_file(app, path, rate=args.rate, model=args.model, events_only=args.events_only,
                             channel=args.channel, calibration=calibration):
        sys.stdout.write(json.dumps(line) + "\n")
    return 0


def cmd_calibrate(args) -> int:
    from pathlib import Path

    from .calibration import learn, write

    app = app_from_args(args)
    path = Path(_input_path(args, app, "calibrate"))
    out = Path(args.out) if args.out else path.with_name(path.name.split(".")[0] + ".calibration.json")
    state = learn(app, path, rate=args.rate, channel=args.channel)
    write(app, state, out)
    print(f"wrote {out}: {app.id}'s device state learned from {path.name}", file=sys.stderr)
    return 0
