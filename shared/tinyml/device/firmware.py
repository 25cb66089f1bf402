"""Build an app's firmware for a board: app_config.h, features_tables.c/.h (the feature chain's
windows, twiddles, filterbanks, ... when it has any) and the models' C generated into build/<app>/gen
(model.c/.h, and model_<name>.c/.h for each [models.<name>], sharing one arena), then firmware/main.c
+ the portable runtime + apps/<id>/firmware/*.c + the board's port.

Nothing here names an app: an app's firmware is whatever C sits in its `firmware/` folder.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..apps import App
from ..errors import TinymlError
from ..paths import build_dir, firmware_dir
from .board import Board, load_board
from .build import Image, build_image
from .config import app_config_h, write_app_config, write_generated


@dataclass
class AppImage:
    app: App
    board: Board
    image: Image
    gen_dir: Path
    arena_size: int | None  # bytes of the models' (shared) tensor arena (None: the app has no model)

    @property
    def elf(self) -> Path:
        return self.image.elf


def runtime_c_sources() -> list[Path]:
    return sorted((firmware_dir() / "runtime").rglob("*.c"))


def kernel_sources(gen_dir: Path) -> list[Path]:
    """The compute kernels (NN layers, DSP blocks, the generated model): built for speed, the rest for size."""
    rt = firmware_dir() / "runtime"
    return [*sorted(rt.glob("tml_nn*.c")), *sorted((rt / "dsp").glob("*.c")), *sorted(gen_dir.glob("model*.c"))]


def runtime_include_dirs() -> list[Path]:
    root = firmware_dir() / "runtime"
    dirs = {root}
    dirs.update(h.parent for h in root.rglob("*.h"))
    return sorted(dirs)


TABLES = ("features_tables.c", "features_tables.h")


def generate_feature_tables(app: App, gen_dir: Path) -> bool:
    """features_tables.c/.h from the manifest's chain (tinyml.dsp.ctables; names tml_feat_s<step>_<block>_<table>)
    and its stream stage (tml_stream_s<step>_<block>_<table>).
    Returns False, leaving no stale files, when the chain needs no tables or has a host-only block (an app
    firmware that includes the header then fails to build, naming it)."""
    from ..dsp.ctables import c_header, c_source, chain_tables, has_tables
    from ..features import FeatureExtractor, deployment_values

    m = app.manifest
    window = int(m.features["window"])
    try:
        stream = chain_tables(m.features.get("stream", []), m.rate, window, len(m.channels))
        tables = chain_tables(m.features["chain"], m.rate, window, FeatureExtractor(m).stream_channels(),
                              deployment_values(m))
    except TinymlError:
        tables, stream = [], []
    if not has_tables(tables) and not has_tables(stream):
        for stale in TABLES:
            (gen_dir / stale).unlink(missing_ok=True)
        return False
    more = ((stream, "tml_stream"),)  # the stream stage's steps: tml_stream_s<step>_<block>_<table>
    write_generated(gen_dir / TABLES[1], c_header(tables, more=more))
    write_generated(gen_dir / TABLES[0], c_source(tables, static=False, include=TABLES[1], more=more))
    return True


def _model_files(gen_dir: Path) -> list[Path]:
    return [*gen_dir.glob("model.[ch]"), *gen_dir.glob("model_*.[ch]"), gen_dir / "model.stamp"]


def generate(app: App, gen_dir: Path, config_extra: str = "", kernels: str = "auto") -> int | None:
    """app_config.h always (with `config_extra` C at its end); features_tables.c/.h when the feature chain has
    tables; the models' C when the app has a committed int8 model (and each further model), with the int8
    kernels `kernels` (the board's: tinyml.compile.lower.kernels_for). Returns the arena size."""
    write_app_config(app.manifest, gen_dir, config_extra)
    generate_feature_tables(app, gen_dir)
    if not app.tflite_path.is_file():
        for stale in _model_files(gen_dir):
            stale.unlink(missing_ok=True)
        return None
    try:
        from .. import compile as compiler
        from ..compile.models import compile_models, stem_of
    except ImportError as e:
        raise TinymlError(f"the model compiler (tinyml.compile) is not available ({e}); cannot build {app.id}'s firmware") from None
    models = {"": app.tflite_path.read_bytes()}
    for name in app.manifest.models:
        path = app.model_path(name)
        if not path.is_file():
            raise TinymlError(f"{path}: no committed model for [models.{name}]; run: make app={app.id} train, then promote")
        models[name] = path.read_bytes()
    h = hashlib.sha256(kernels.encode() + b"\0")
    for name, data in models.items():
        h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    for src in sorted(Path(compiler.__file__).parent.glob("*.py")):  # a compiler change regenerates
        h.update(src.read_bytes())
    stamp = gen_dir / "model.stamp"
    wanted = [gen_dir / f"{stem_of(n)}{ext}" for n in models for ext in (".c", ".h")]
    if stamp.is_file() and all(p.is_file() for p in wanted):
        key, _, arena = stamp.read_text().partition(" ")
        if key == h.hexdigest():
            return int(arena)
    # Emit into a private folder, then rename into gen/: parallel builds never read a half-written file.
    with tempfile.TemporaryDirectory(dir=gen_dir, prefix=".model-") as tmp:
        compiled = compile_models(models, tmp, kernels)
        for stale in _model_files(gen_dir):  # a model the manifest no longer has
            if stale not in wanted:
                stale.unlink(missing_ok=True)
        for p in wanted:
            os.replace(Path(tmp) / p.name, p)
    arena = compiled[""].arena_size
    tmp_stamp = gen_dir / f"model.stamp.{os.getpid()}"
    tmp_stamp.write_text(f"{h.hexdigest()} {int(arena)}")
    tmp_stamp.replace(stamp)
    return int(arena)


def build_app(app: App, board: str | Board, *, opt: str = "-Os", out_dir: Path | None = None,
              main: Path | None = None, extra_sources=(), extra_includes=(), config_extra: str = "") -> AppImage:
    """main: another main() than firmware/main.c (the .eim's), with its extra_sources and extra_includes;
    config_extra: C appended to app_config.h (give such a build its own out_dir)."""
    b = load_board(board) if isinstance(board, str) else board
    fw = app.dir / "firmware"
    app_sources = sorted(fw.glob("*.c")) if fw.is_dir() else []
    if not app_sources:
        raise TinymlError(f"{fw}: no app firmware (*.c implementing tml_app_init/tml_app_on_sample); see firmware/runtime/tml_app.h")
    base = build_dir(app.id) if out_dir is None else Path(out_dir)
    if app.manifest.overrides:
        # a --set run builds beside the default image, in a folder keyed by its effective config: two runs
        # with different values never share (or overwrite) an image, and the same values reuse theirs
        key = hashlib.sha256(app_config_h(app.manifest).encode()).hexdigest()[:12]
        base = base / f"set-{key}"
    from ..compile.lower import kernels_for

    kernels = kernels_for(b.word_bits)  # the generated model C differs by kernel set, so each set has its folder
    gen = base / ("gen" if kernels == "auto" else f"gen-{kernels}")
    arena = generate(app, gen, config_extra, kernels)
    sources = [main or firmware_dir() / "main.c", *extra_sources, *runtime_c_sources(), *app_sources,
               *sorted(gen.glob("*.c"))]
    includes = [gen, *map(Path, extra_includes), fw, *runtime_include_dirs()]
    out = base / b.name
    image = build_image(b, sources, includes, {}, out, opt=opt, name=app.id, fast_sources=kernel_sources(gen))
    return AppImage(app, b, image, gen, arena)
