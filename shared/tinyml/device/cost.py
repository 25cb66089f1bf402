"""What the app's firmware costs on the emulated Cortex-M4 (flash, RAM, instructions per inference) and
whether it agrees with Python, measured by replaying the demo: the model card's device line, with the
models and the firmware sources it was measured on (so a stale figure is caught: tinyml.card_stamp)."""

from __future__ import annotations

import hashlib
import sys
import tempfile
from pathlib import Path

from ..apps import App, models_sha256
from ..errors import TinymlError
from ..paths import firmware_dir

CARD_KEYS = ("board", "flash", "ram", "arena", "stack_static", "stack_measured", "cost_unit", "per_inference",
             "per_second_of_data", "estimate_clock_hz", "estimate_ms_per_inference", "estimate_duty_cycle",
             "stages", "realtime_clock_hz", "realtime_per_second", "realtime_load")


def device_cost(app: App, board: str = "qemu-m4") -> dict:
    """Flash, RAM and instructions per inference of the app's firmware replaying its demo on the emulated
    Cortex-M4, with the parity verdict; {"error": ...} when the firmware can't be built here."""
    if not any((app.dir / "firmware").glob("*.c")):
        return {"error": "the app has no firmware/app.c yet"}
    try:
        from .parity import device_parity

        par = device_parity(app, board)
    except (TinymlError, OSError) as e:
        print(f"device cost not measured: {e}", file=sys.stderr)
        return {"error": str(e).splitlines()[0]}
    out = {k: par.summary[k] for k in CARD_KEYS if k in par.summary}
    out["model_sha256"] = models_sha256(app)
    out["firmware_sha256"] = firmware_sha256(app, board)
    out["parity"] = "identical scores and events" if par.ok else "; ".join(par.mismatches)
    if not par.ok:
        print(f"WARNING: Python and {board} disagree: {out['parity']}", file=sys.stderr)
    return out


def firmware_sha256(app: App, board: str = "qemu-m4") -> str:
    """A short hash of everything the board's image of the app is built from, and of the demo it replays:
    firmware/main.c and the runtime, the port files the board compiles or includes, the board folder, the
    app's firmware/, the generated app_config.h, feature tables and model C (what the compiler emits for
    the models, so a compiler change that emits the same C changes nothing), and the build code (flags,
    which sources are built for speed). The app id inside app_config.h is left out, so an app copied by
    `tinyml new` keeps the template's figures (a few bytes of its name aside). Documentation (*.md) never
    counts."""
    from ..compile.models import compile_models
    from .board import load_board, port_dir
    from .config import app_config_h, c_string
    from .firmware import generate_feature_tables

    b = load_board(board)
    fw = firmware_dir()
    core: set[Path] = {fw / "main.c", *(p for p in (fw / "runtime").rglob("*") if p.is_file())}
    core.update(p for p in port_dir().iterdir() if p.is_file())
    core.update(p for p in b.dir.iterdir() if p.is_file())
    for folder in [*(Path(s).parent for s in b.sources), *map(Path, b.include_dirs)]:
        core.update(p for p in folder.iterdir() if p.is_file())
    named = {str(p.relative_to(fw.parent)): p for p in core}  # labels that do not depend on where the repo is
    pkg = Path(__file__).parent.parent
    for p in [pkg / "device" / "build.py", pkg / "device" / "firmware.py"]:  # flags, which sources build for speed
        named[str(p.relative_to(pkg.parent))] = p
    app_fw = app.dir / "firmware"  # by its place in the app: the same for a copy under another id
    if app_fw.is_dir():
        named.update({f"<app>/{p.relative_to(app.dir)}": p for p in app_fw.rglob("*") if p.is_file()})
    demo = app.dir / (app.manifest.firmware.get("demo") or "fixtures/demo.csv")
    if demo.is_file():
        named[f"<app>/{demo.relative_to(app.dir)}"] = demo
    h = hashlib.sha256()
    for label in sorted(named):
        if label.endswith(".md") or "__pycache__" in label:
            continue
        h.update(label.encode() + b"\0" + named[label].read_bytes() + b"\0")
    config = app_config_h(app.manifest).replace(c_string(app.manifest.id), '"<app>"')
    h.update(config.replace(f"'{app.manifest.id}'", "'<app>'").encode())  # and in its header comment
    with tempfile.TemporaryDirectory() as tmp:
        generate_feature_tables(app, Path(tmp))
        models = {n: app.model_path(n).read_bytes() for n in ["", *app.manifest.models] if app.model_path(n).is_file()}
        if models:  # the compiler's output, not its source: a change that emits the same C changes nothing
            from ..compile.lower import kernels_for

            compile_models(models, tmp, kernels_for(b.word_bits))
        for p in sorted(Path(tmp).iterdir()):
            h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:16]
