"""Discover apps by `apps/<id>/app.toml` (folders starting with '_' are templates) and load them."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import ModuleType

from .errors import TinymlError
from .manifest import Manifest, load_manifest
from .paths import apps_dir


def discover() -> list[str]:
    root = apps_dir()
    return sorted(p.parent.name for p in root.glob("*/app.toml") if not p.parent.name.startswith("_"))


@dataclass
class App:
    id: str
    dir: Path
    overrides: tuple[str, ...] = field(default=())  # `--set section.key=value` texts for this run

    @cached_property
    def manifest(self) -> Manifest:
        return load_manifest(self.dir / "app.toml", expected_id=self.id, overrides=self.overrides)

    @cached_property
    def pipeline(self) -> ModuleType:
        """The app's pipeline.py: model builder, app post-processing, dataset hook."""
        return load_module(self.dir / "pipeline.py", f"tinyml_apps.{self.id.replace('-', '_')}.pipeline")

    @property
    def model_dir(self) -> Path:
        return self.dir / "model"

    @property
    def tflite_path(self) -> Path:
        """The primary model ([model])."""
        return self.model_dir / "model.int8.tflite"

    def model_path(self, name: str, folder: Path | None = None) -> Path:
        """A further model ([models.<name>]) in the committed model folder, or in `folder` (a training run)."""
        return (folder or self.model_dir) / model_file(name)

    @property
    def fixtures_dir(self) -> Path:
        return self.dir / "fixtures"


def model_file(name: str) -> str:
    """File name of a model in a model folder: the primary is model.int8.tflite, a further one <name>.int8.tflite."""
    return f"{name or 'model'}.int8.tflite"


def models_sha256(app: App, folder: Path | None = None) -> str:
    """One short hash of every model of the app (the primary and each [models.<name>]) in `folder` (default:
    the committed model folder), by file name: what the device figures of a card were measured on."""
    import hashlib

    folder = folder or app.model_dir
    h = hashlib.sha256()
    for name in ["", *app.manifest.models]:
        p = folder / model_file(name)
        h.update(model_file(name).encode() + b"\0" + (hashlib.sha256(p.read_bytes()).digest() if p.is_file() else b"-"))
    return h.hexdigest()[:16]


def load_app(app_id: str | None, root: Path | None = None, overrides=()) -> App:
    """The app `app_id` (under `root`, default apps/), with `overrides` applied to its manifest, which is
    loaded and validated here so that a bad --set fails before any work."""
    from . import hints

    if not app_id:
        raise TinymlError(f"no app given ({hints.app_arg()}); one of: {', '.join(discover()) or '(none)'}")
    base = root or apps_dir()
    d = base / app_id
    if not (d / "app.toml").is_file():
        raise TinymlError(f"unknown app {app_id!r}; available: {', '.join(discover()) or '(none)'}")
    if app_id.startswith("_"):  # a template (apps/_template): named by its folder, its manifest holds its id
        app = App(load_manifest(d / "app.toml").id, d, tuple(overrides or ()))
    else:
        app = App(app_id, d, tuple(overrides or ()))
    if app.overrides:
        app.manifest  # noqa: B018 - validate the overrides now
    return app


def app_from_args(args, root: Path | None = None) -> App:
    """The app a CLI verb names (args.app), with the verb's `--set` overrides."""
    return load_app(args.app, root=root, overrides=getattr(args, "set", None) or ())


def load_module(path: Path, name: str) -> ModuleType:
    """Import a file by path under a unique module name (apps and datasets are not packages)."""
    if not path.is_file():
        raise TinymlError(f"{path}: not found")
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    try:
        spec.loader.exec_module(mod)
    except Exception:
        del sys.modules[name]
        raise
    return mod
