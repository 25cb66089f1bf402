"""CLI verbs of the model compiler: compile, profile, bench (registered by tinyml.cli)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import TinymlError
from ..paths import build_dir


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compile", help="compile the app's int8 .tflite to C: build/<app>/gen/model.c and model.h")
    p.add_argument("app", nargs="?")
    p.add_argument("--tflite", help="compile this .tflite instead of the app's model")
    p.add_argument("--out", help="output folder (default: build/<app>/gen)")
    p.add_argument("--prefix", default="tml_model", help="C symbol prefix (default tml_model)")
    p.add_argument("--board", help="compile with the int8 kernels this board gets (an 8-bit one: the generic kernels; "
                                   "default: a 32-bit core's)")
    p.set_defaults(func=cmd_compile)

    p = sub.add_parser("profile", help="per-layer table: op, shapes, MACs, weights, arena offsets; arena vs TFLM")
    p.add_argument("app", nargs="?")
    p.add_argument("--tflite", help="profile this .tflite instead of the app's model")
    p.add_argument("--no-m4", action="store_true", help="skip the Cortex-M4 build used for kernel flash")
    p.set_defaults(func=cmd_profile)

    p = sub.add_parser("bench", help="arena, flash, Cortex-M4 instructions (QEMU) and host time vs TFLM; "
                                     "no app: every app plus the MLPerf Tiny DS-CNN, written to docs/benchmarks.md")
    p.add_argument("app", nargs="?")
    p.add_argument("--tflite", help="benchmark this .tflite")
    p.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    p.add_argument("--vectors", type=int, default=8, help="inputs run on the emulated Cortex-M4 (default 8)")
    p.add_argument("--board", action="append", default=[],
                   help="also run on this 8/16-bit board (repeatable; an app: the ones its [firmware] boards name)")
    p.set_defaults(func=cmd_bench)


def _model_bytes(args) -> tuple[str, bytes]:
    if args.tflite:
        p = Path(args.tflite)
        if not p.is_file():
            raise TinymlError(f"{p}: not found")
        return p.stem, p.read_bytes()
    from .. import hints
    from ..apps import app_from_args

    app = app_from_args(args)
    if not app.tflite_path.is_file():
        raise TinymlError(f"{app.tflite_path}: no int8 model yet; run `{hints.command('train', app.id)}` first")
    return app.id, app.tflite_path.read_bytes()


def cmd_compile(args) -> int:
    from .codegen import compile_tflite
    from .models import compile_models

    from ..device.board import load_board
    from .lower import kernels_for

    kernels = kernels_for(load_board(args.board).word_bits) if args.board else "auto"
    name, data = _model_bytes(args)
    out = Path(args.out) if args.out else build_dir(name, "gen" if kernels == "auto" else f"gen-{kernels}")
    further = {} if args.tflite else _further_models(args.app)
    if further:  # the app's models together, in one shared arena, as the firmware build does
        cms = compile_models({"": data, **further}, out, kernels)
    else:
        cms = {"": compile_tflite(data, out, prefix=args.prefix, kernels=kernels)}
    for model, cm in cms.items():
        print(f"{name}{'/' + model if model else ''}: {len(cm.layers)} ops, {cm.macs:,} MACs, arena {cm.arena_size:,} B"
              f"{' (shared)' if further else ''}, constants {cm.const_bytes:,} B -> {cm.c_path} {cm.h_path}")
    return 0


def _further_models(app_id: str) -> dict[str, bytes]:
    """The app's further models ([models.<name>]), committed beside its primary model."""
    from ..apps import load_app

    app = load_app(app_id)
    out = {}
    for model in app.manifest.models:
        p = app.model_path(model)
        if not p.is_file():
            raise TinymlError(f"{p}: no int8 model for [models.{model}] yet; train and promote first")
        out[model] = p.read_bytes()
    return out


def cmd_profile(args) -> int:
    from .codegen import compile_tflite
    from .profile import render_profile
    from .reference import tflm_arena_bytes

    name, data = _model_bytes(args)
    cm = compile_tflite(data, build_dir(name, "gen") if not args.tflite else None)
    flash = None
    if not args.no_m4:
        from .bench import m4_flash

        try:
            flash = m4_flash(data)
        except TinymlError as e:
            print(f"(no Cortex-M4 flash figures: {e})")
    print(render_profile(cm, name, tflm_arena_bytes(data), flash))
    return 0


def cmd_bench(args) -> int:
    from ..device.board import load_board
    from .bench import app_models, bench_all, bench_model, render_bench, small_boards

    for b in args.board:
        bits = load_board(b).word_bits
        if bits >= 32:
            raise TinymlError(f"--board {b}: a {bits}-bit board; the bench runs 32-bit cores on QEMU "
                              f"already, --board names 8/16-bit ones (BOARD_WORD_BITS < 32)")
    if args.tflite:
        name, data = _model_bytes(args)
        print(render_bench(bench_model(name, data, n_vectors=args.vectors, boards=args.board)))
        return 0
    if args.app:
        from ..apps import app_from_args

        _model_bytes(args)  # the primary model exists, or the error says how to make it
        app = app_from_args(args)
        boards = list(dict.fromkeys([*small_boards(app), *args.board]))
        print("\n\n".join(render_bench(bench_model(name, data, n_vectors=args.vectors, boards=boards))
                           for name, data in app_models(app)))
        return 0
    text = bench_all(n_vectors=args.vectors, write_docs=not args.no_docs)
    print(text)
    return 0
