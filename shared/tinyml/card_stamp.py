"""Is a committed model card still true? What it was made from, recorded, and compared with what is there now.

A card has three kinds of content, each made by its own step and each recorded with what it came from:
- measured figures (card.json `metrics`, written by `train` or `tinyml eval <id> --card`): the models'
  SHA-256 (card.json `model_sha256`, `models.<name>.model_sha256`) and the `[postprocess]` table they were
  measured under (`postprocess_sha256`: the alerts, hence every event metric, depend on it; a card measured
  before this was recorded gets today's at its next rendering, with a note in its text, `postprocess_assumed`);
- device figures (card.json `device`, written by promote, `tinyml eval <id> --device` or `tinyml card <id>
  --device`): the models and the firmware they were measured on (`device.model_sha256`,
  `device.firmware_sha256`: every source of the qemu-m4 image, see tinyml.device.cost.firmware_sha256);
- rendered text and plots (README.md and PNGs, written by `tinyml card <id>`): the README's last line is a
  stamp with the SHA-256 of card.json, app.toml, extras.md, the card generator's source (GENERATOR) and, for
  an app with a `model_card_appendix` hook, the appendix's text as it would render now and the files the hook
  names in its `reads` attribute (it reads other committed files: a new measurement there makes the card
  stale, its plots included).

`card_problems(app)` lists what no longer matches, each with the command that refreshes it; the card contract
test fails on any. Not covered: a change to the evaluation code itself (re-measuring every app for that would
need every app's data); `tinyml eval <id> --card` after such a change.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from . import hints
from .apps import App, model_file, models_sha256
from .errors import TinymlError

# The card generator: these modules make the README and plots from card.json (paths in this package).
GENERATOR = ("report.py", "glossary.py", "card_stamp.py")
STAMP = re.compile(r"^<!-- card stamp: (\{.*\}) -->\s*$", re.M)
SHORT = 16  # hex digits of a SHA-256 kept in the stamp: enough to tell files apart


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha(path: Path) -> str:
    return sha256_hex(path.read_bytes())[:SHORT] if path.is_file() else "none"


def generator_sha256() -> str:
    """Of the generator's source: a change to how cards are written makes every card stale until re-rendered."""
    here = Path(__file__).parent
    h = hashlib.sha256()
    for name in GENERATOR:
        h.update(name.encode() + b"\0" + (here / name).read_bytes())
    return h.hexdigest()[:SHORT]


def postprocess_sha256(m) -> str:
    """Of the manifest's [postprocess] table as loaded (its values, not its comments or layout)."""
    return sha256_hex(json.dumps(m.postprocess, sort_keys=True).encode())[:SHORT]


def appendix_text(app: App, folder: Path, out_dir: Path | None = None) -> str:
    """The app's model_card_appendix hook's sections (after a blank line), or "" without the hook."""
    hook = getattr(app.pipeline, "model_card_appendix", None)
    if hook is None:
        return ""
    return "\n" + hook(app, folder, out_dir).rstrip("\n") + "\n"


def render_stamp(app: App, folder: Path, text: str) -> dict:
    """What a rendered README comes from (card.json as written just before it), and its own text (a hand edit
    shows)."""
    stamp = {"card.json": _file_sha(folder / "card.json"), "app.toml": _file_sha(app.manifest.path),
             "extras.md": _file_sha(folder / "extras.md"), "generator": generator_sha256(),
             "text": sha256_hex(text.encode())[:SHORT]}
    appendix = appendix_text(app, folder)
    if appendix:
        stamp["appendix"] = _appendix_sha(app, folder, appendix)
    return stamp


def _appendix_sha(app: App, folder: Path, text: str) -> str:
    """Of the appendix's text and of the files its hook says it reads (`model_card_appendix.reads`, names in
    the model folder): a plot drawn from numbers the text does not show goes stale with them."""
    h = hashlib.sha256(text.encode())
    for name in getattr(app.pipeline.model_card_appendix, "reads", ()):
        p = Path(folder) / name
        h.update(b"\0" + name.encode() + b"\0" + (p.read_bytes() if p.is_file() else b"(none)"))
    return h.hexdigest()[:SHORT]


def stamp_line(stamp: dict) -> str:
    return f"<!-- card stamp: {json.dumps(stamp, sort_keys=True)} -->\n"


def read_stamp(text: str) -> dict | None:
    mo = STAMP.search(text)
    try:
        return json.loads(mo.group(1)) if mo else None
    except json.JSONDecodeError:
        return None


def without_stamp(text: str) -> str:
    """The README's text as rendered, before its stamp line was added."""
    return STAMP.sub("", text).rstrip("\n") + "\n"


def card_problems(app: App, *, device: bool = True) -> list[str]:
    """Everything that makes the committed card untrue now, one line each with the command that fixes it
    (empty: the card is fresh). device=False leaves the device figures out (a check that must not depend on
    the firmware's sources)."""
    folder = app.model_dir
    card_path, readme = folder / "card.json", folder / "README.md"
    if not card_path.is_file():
        return [f"{card_path}: no model card; run: {hints.command('train', app.dir.name)}, then "
                f"{hints.command('promote', app.dir.name)}"]
    card = json.loads(card_path.read_text())
    problems = []
    retrain = f"{hints.command('train', app.dir.name)}, then {hints.command('promote', app.dir.name)}"
    shas = {"": card.get("model_sha256"), **{n: e.get("model_sha256") for n, e in card.get("models", {}).items()}}
    for name in ["", *app.manifest.models]:
        p = folder / model_file(name)
        if not p.is_file() or shas.get(name) != sha256_hex(p.read_bytes()):
            problems.append(f"{card_path}: describes another {model_file(name)} than the committed one; run: {retrain}")
    measure = f"run: tinyml eval {app.dir.name} --card (re-measures on the held-out data)"
    if card.get("postprocess_sha256") != postprocess_sha256(app.manifest):
        problems.append(f"{card_path}: its metrics were measured under another [postprocess] than app.toml's "
                        f"(or it does not say which); {measure}")
    if device:
        problems += device_problems(app, card)
    text = readme.read_text() if readme.is_file() else ""
    stamp = read_stamp(text)
    render = f"run: {hints.command('card', app.dir.name)}"
    if stamp is None:
        problems.append(f"{readme}: not rendered by the card generator (no stamp); {render}")
    else:
        now = render_stamp(app, folder, without_stamp(text))
        # both sides' keys: an appendix that appeared or went away since the rendering counts too
        changed = [k for k in sorted(set(now) | set(stamp)) if stamp.get(k) != now.get(k) and k != "text"]
        if changed:
            problems.append(f"{readme}: rendered from another {', '.join(changed)}; {render}")
        elif stamp.get("text") != now["text"]:
            problems.append(f"{readme}: edited by hand since it was rendered (write in app.toml's [card] glossary "
                            f"or the app's model_card_extras instead); {render}")
    return problems


def device_problems(app: App, card: dict) -> list[str]:
    """The card's device figures against the committed models and the firmware sources now."""
    from .device.cost import firmware_sha256

    d = card.get("device") or {}
    fix = f"run: {hints.command('card', app.dir.name, hints.option('--device'))} (re-measures on qemu-m4)"
    if not d:
        return [f"{app.model_dir / 'card.json'}: no device figures; {fix}"]
    if "error" in d:
        return []  # the card says they were not measured, and why
    out = []
    if d.get("model_sha256") != models_sha256(app):
        out.append(f"{app.model_dir / 'card.json'}: device figures measured on other models (or not recorded); {fix}")
    try:
        firmware = firmware_sha256(app, d.get("board", "qemu-m4"))
    except TinymlError as e:  # e.g. a committed model the compiler refuses: the figures cannot be true
        return [*out, f"{app.model_dir / 'card.json'}: device figures cannot be checked ({e})"]
    if d.get("firmware_sha256") != firmware:
        out.append(f"{app.model_dir / 'card.json'}: device figures measured on other firmware sources (or not "
                   f"recorded); {fix}")
    return out
