"""Resolve the manifest's dataset to recordings: one or several sources, real folders and generators.

[dataset] either names one source (`name`, `path`, `options`; `generator` stands in while `path` is empty),
or lists several in `[[dataset.sources]]` (each `name`, `path` for a real one, `weight`, `options`,
`smoke_options`, `models`). In the single-source form, `with_generator = true` keeps the generator alongside a set
`path` (two sources: the real folder and the generator, each recording's cohort naming its source, so the
split draws held-out groups from each, e.g. unseen machines of the generator and an unseen load of a real
rig). A real source whose folder is missing (or whose `$VAR` is unset) is left out with a
one-line notice; when no source is left, `[dataset] generator` stands in, so training works on a fresh clone.
A source's `models` names the models its recordings train ("model" the primary [model], else a [models.<name>]);
without it, every model. Such a limited source trains only those; its validation and held-out recordings take
part in no early stopping and no held-out evaluation of the core, where they would be mixed into the other
sources' figures (e.g. real stations with their own automated labels beside a generator's): the app judges
and reports them apart (training_recordings, shared_recordings).
A real source's `path` may name several folders, separated by `:` (os.pathsep) as in $PATH, e.g. a dataset's
parts that a user keeps in different places; the missing ones are left out with a notice. A dataset whose
`load()` reads them together (to find the same file in two copies, say) says so with `MANY_FOLDERS = True`
and gets the list; any other dataset loads each folder on its own and the recordings are joined.

Generated data is cached under build/cache (outside git), keyed by the generator's source code and options,
so a changed generator never serves stale data; tinyml.data.cache stores it compactly and reads it lazily.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import numpy as np

from ..apps import load_module
from ..errors import TinymlError
from ..manifest import PRIMARY_MODEL, Manifest
from ..paths import cache_dir, datasets_dir
from ..recording import Recording
from .cache import migrate_pickle, read_cache, write_cache


def dataset_module(name: str) -> ModuleType:
    path = datasets_dir() / name / "dataset.py"
    if not path.is_file():
        avail = sorted(p.parent.name for p in datasets_dir().glob("*/dataset.py"))
        raise TinymlError(f"unknown dataset {name!r}; available: {', '.join(avail)}")
    return load_module(path, f"tinyml_datasets.{name.replace('-', '_')}")


@dataclass
class Source:
    """One source of recordings as the manifest declares it."""

    name: str  # datasets/<name>/: load() for a real format, generate() for a generator
    path: str = ""  # as written (real sources); "" for a generator
    weight: float = 1.0  # how often its training recordings are used per epoch
    options: dict = field(default_factory=dict)
    real: bool = False
    models: tuple[str, ...] | None = None  # the models it trains (PRIMARY_MODEL, [models.<name>]); None: all

    def trains(self, model: str) -> bool:
        """Whether its recordings train `model` ("" or PRIMARY_MODEL: the primary model)."""
        return self.models is None or (model or PRIMARY_MODEL) in self.models

    def folder(self, m: Manifest) -> Path | None:
        """The real source's (first) folder, None when none of its folders is there."""
        found = self.folders(m)
        return found[0] if found else None

    def folders(self, m: Manifest) -> list[Path]:
        """The real source's folders that exist (`~` and `$VAR` expanded, relative to the app), in order."""
        return [p for p in (_folder(t, m) for t in self.parts()) if p is not None]

    def parts(self) -> list[str]:
        """The folders `path` names (several separated by os.pathsep, each `~`/`$VAR` expanded as needed)."""
        return [t for t in os.path.expandvars(self.path).split(os.pathsep) if t.strip()] if self.path else []

    def describe(self) -> dict:
        out = {"name": self.name, "real": self.real, "weight": self.weight}
        return out | ({"models": list(self.models)} if self.models is not None else {})


def _folder(text: str, m: Manifest) -> Path | None:
    text = os.path.expanduser(os.path.expandvars(text.strip()))
    if not text or "$" in text:
        return None
    path = Path(text)
    path = path if path.is_absolute() else m.dir / path
    return path if path.is_dir() else None


def declared_sources(m: Manifest, smoke: bool = False) -> list[Source]:
    """The manifest's sources, options merged with smoke_options for smoke runs."""
    ds = m.dataset
    if not ds["sources"]:  # the single-source form
        options = {**ds["options"], **(ds["smoke_options"] if smoke else {})}
        if ds["path"]:
            real = Source(ds["name"], ds["path"], 1.0, dict(options.get("load", {})), real=True)
            return [_generator(m, options), real] if ds["with_generator"] else [real]
        return [_generator(m, options)]
    out = []
    for s in ds["sources"]:
        options = {**s.get("options", {}), **(s.get("smoke_options", {}) if smoke else {})}
        models = tuple(s["models"]) if "models" in s else None
        out.append(Source(s["name"], s.get("path", ""), float(s.get("weight", 1.0)), options, real="path" in s,
                          models=models))
    return out


def source_name(r: Recording, sources: list[Source]) -> str:
    """The source a recording came from, among `sources` (the declared ones, or those in use): its cohort's first
    part when there are several (build_dataset tags them), else the one source."""
    return r.cohort.split("/")[0] if len(sources) > 1 else sources[0].name


def training_recordings(m: Manifest, recs: list[Recording], model: str) -> list[Recording]:
    """The training recordings of `model` ("" or PRIMARY_MODEL: the primary): those of the sources that train
    it (a source's `models`; every source without one)."""
    declared = declared_sources(m)
    trains = {s.name: s.trains(model) for s in declared}
    return [r for r in recs if trains.get(source_name(r, declared), True)]


def limited_sources(m: Manifest) -> set[str]:
    """The names of the sources that train only some models (`models`)."""
    return {s.name for s in declared_sources(m) if s.models is not None}


def shared_recordings(m: Manifest, recs: list[Recording]) -> list[Recording]:
    """Validation or held-out recordings the core uses (early stopping, held-out evaluation): those of the
    sources that every model shares; a limited source's (`models`) are the app's to judge apart."""
    declared, limited = declared_sources(m), limited_sources(m)
    return [r for r in recs if source_name(r, declared) not in limited]


def _generator(m: Manifest, options: dict) -> Source:
    gen = m.dataset.get("generator") or options.get("generator")
    if not gen:
        raise TinymlError(f"{m.path}: [dataset] has no path and no generator")
    return Source(gen, "", 1.0, {k: v for k, v in options.items() if k not in ("generator", "load")})


def resolve_sources(m: Manifest, smoke: bool = False, notice: bool = True) -> list[Source]:
    """The sources that will be read: real ones whose folder exists and every generator; a notice for each
    real source left out; the manifest's generator when none is left."""
    declared = declared_sources(m, smoke)
    used = []
    for s in declared:
        if s.real and notice and s.folders(m):
            for part in s.parts():
                if _folder(part, m) is None:
                    print(f"notice: [dataset] source {s.name}: folder {part} is not there; read from the others",
                          file=sys.stderr)
        if s.real and s.folder(m) is None:
            if notice:
                others = [o.name for o in declared if o is not s and (not o.real or o.folder(m))]
                fallback = ", ".join(others) or (m.dataset.get("generator") or "nothing")
                why = "is not set" if "$" in os.path.expandvars(s.path) or not s.path else "is not a folder"
                print(f"notice: [dataset] source {s.name}: path {s.path or '(empty)'} {why}; left out, "
                      f"training on {fallback}", file=sys.stderr)
            continue
        used.append(s)
    if not used:
        used = [_generator(m, {**m.dataset["options"], **(m.dataset["smoke_options"] if smoke else {})})]
    return used


def build_dataset(m: Manifest, *, smoke: bool = False, progress: bool = True) -> list[Recording]:
    """Every recording of the sources in use, at the manifest's rate. With several sources, each recording's
    cohort names its source ("sisfall" or "sisfall/elderly"), for stratified splits and separate reports."""
    sources = resolve_sources(m, smoke)
    tag = len(declared_sources(m, smoke)) > 1
    out: list[Recording] = []
    for s in sources:
        mod = dataset_module(s.name)
        if s.real:
            if not hasattr(mod, "load"):
                raise TinymlError(f"{m.path}: [dataset] source {s.name} has a path but datasets/{s.name} has no load()")
            folders = s.folders(m)
            # a loader that reads files as predict does (datasets/labelled-files) asks for the manifest
            extra = {"manifest": m} if "manifest" in inspect.signature(mod.load).parameters else {}
            if getattr(mod, "MANY_FOLDERS", False):
                recs = mod.load(folders if len(folders) > 1 else folders[0], rate=m.rate, channels=m.channels,
                                **extra, **s.options)
            else:
                recs = [r for f in folders for r in mod.load(f, rate=m.rate, channels=m.channels, **extra, **s.options)]
        else:
            if not hasattr(mod, "generate"):
                raise TinymlError(f"{m.path}: [dataset] source {s.name} has no path and datasets/{s.name} "
                                  "has no generate(); a real source needs `path`")
            recs = _cached(mod, s.name, m, s.options, progress)
        if tag:
            for r in recs:
                r.cohort = f"{s.name}/{r.cohort}" if r.cohort else s.name
        out.extend(recs)
    subjects: dict[str, str] = {}
    for r in out:  # one person in two sources is one group for the split, but two names for one id is a bug
        if tag and subjects.setdefault(r.subject, r.cohort.split("/")[0]) != r.cohort.split("/")[0]:
            raise TinymlError(f"{m.path}: subject {r.subject!r} appears in sources "
                              f"{subjects[r.subject]} and {r.cohort.split('/')[0]}; subject ids must be distinct")
    return [_to_rate(r, m) for r in out]


def weighted(m: Manifest, train: list[Recording], rng: np.random.Generator) -> list[Recording]:
    """Training recordings repeated by their source's `weight` (the source is the first part of the
    cohort): 2 = twice (each copy gets its own augmentation), 0.5 = a random half, 1.5 = all once and a
    random half again. Held-out recordings are never weighted."""
    weights = {s.name: s.weight for s in declared_sources(m)}
    out: list[Recording] = []
    for r in train:
        w = weights.get(r.cohort.split("/")[0], 1.0)
        extra = w > int(w) and rng.random() < w - int(w)  # draws only for a fractional weight: all 1 = no draw
        out.extend([r] * (int(w) + int(extra)))
    return out


def _cached(mod: ModuleType, name: str, m: Manifest, opts: dict, progress: bool) -> list[Recording]:
    src = Path(mod.__file__).parent
    code = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(src.glob("*.py")))).hexdigest()
    key_doc = {"code": code, "rate": m.rate, "channels": m.channels, "seed": m.dataset["seed"], "opts": opts}
    key = hashlib.sha256(json.dumps(key_doc, sort_keys=True).encode()).hexdigest()[:16]
    folder = cache_dir("datasets", f"{name}-{key}")
    recs = read_cache(folder)
    if recs is None and migrate_pickle(folder.with_name(folder.name + ".pkl"), folder):
        recs = read_cache(folder)
    if recs is not None:
        return recs
    if progress:
        print(f"generating {name} (cached at {folder})", file=sys.stderr)
    recs = mod.generate(rate=m.rate, channels=m.channels, seed=m.dataset["seed"], progress=progress, **opts)
    bad = [r.source or r.subject for r in recs if not np.isfinite(r.signal).all()]
    if bad:  # a generator bug must not train or score silently (NaN features, NaN loss)
        raise TinymlError(f"generator {name} produced non-finite samples in {len(bad)} recording(s), e.g. {bad[0]}")
    write_cache(folder, recs)
    del recs  # the generated list held every sample in float32; from here on they are read when used
    return read_cache(folder)


def _to_rate(r: Recording, m: Manifest) -> Recording:
    if abs(r.rate - m.rate) < 1e-6:
        return r
    r.signal = m.resample(r.signal, r.rate)  # as predict does: [signal] resample and totals
    r.rate = m.rate
    return r
