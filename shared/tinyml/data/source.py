"""Resolve the manifest's dataset to recordings: the real loader when a path is set, else the generator.

Generated data is cached under build/cache (outside git), keyed by the generator's source code and options,
so a changed generator never serves stale data; tinyml.data.cache stores it compactly and reads it lazily.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from types import ModuleType

import numpy as np

from ..apps import load_module
from ..errors import TinymlError
from ..manifest import Manifest
from ..paths import cache_dir, datasets_dir
from ..recording import Recording
from .cache import migrate_pickle, read_cache, write_cache


def dataset_module(name: str) -> ModuleType:
    path = datasets_dir() / name / "dataset.py"
    if not path.is_file():
        avail = sorted(p.parent.name for p in datasets_dir().glob("*/dataset.py"))
        raise TinymlError(f"unknown dataset {name!r}; available: {', '.join(avail)}")
    return load_module(path, f"tinyml_datasets.{name.replace('-', '_')}")


def build_dataset(m: Manifest, *, smoke: bool = False, progress: bool = True) -> list[Recording]:
    ds = m.dataset
    options = dict(ds["options"])
    if smoke:
        options.update(ds["smoke_options"])
    if ds["path"]:
        path = Path(ds["path"]).expanduser()
        if not path.is_absolute():
            path = m.dir / path
        if not path.is_dir():
            raise TinymlError(f"{m.path}: [dataset.path] {path} is not a folder")
        mod = dataset_module(ds["name"])
        recs = mod.load(path, rate=m.rate, channels=m.channels, **options.get("load", {}))
    else:
        gen_name = ds.get("generator") or options.get("generator")
        if not gen_name:
            raise TinymlError(f"{m.path}: [dataset] has no path and no options.generator")
        mod = dataset_module(gen_name)
        gen_opts = {k: v for k, v in options.items() if k not in ("generator", "load")}
        recs = _cached(mod, gen_name, m, gen_opts, progress)
    return [_to_rate(r, m) for r in recs]


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
