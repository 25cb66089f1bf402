"""Load and validate `apps/<id>/app.toml`, the single source of truth for an app.

Every error names the file, the key and what is allowed, so a user can fix it in one go.
Sections with free-form, app-specific keys (`[model.params]`, `[postprocess]`, `[dataset.options]`)
are passed through untouched; the rest is checked against SCHEMA.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import TinymlError

TASKS = ("classify", "anomaly", "regress", "forecast")
DEVICE_DTYPES = ("int16", "int8", "float32")
APP_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")

# key -> (types, required, default). Types are python types accepted by the key.
_NUM = (int, float)
SCHEMA: dict[str, dict[str, tuple[tuple[type, ...], bool, Any]]] = {
    "app": {
        "id": ((str,), True, None),
        "title": ((str,), True, None),
        "task": ((str,), True, None),
        "labels": ((list,), True, None),
        "event_labels": ((list,), False, []),
        "events": ((list,), False, []),
        "description": ((str,), False, ""),
    },
    "signal": {
        "sensor": ((str,), True, None),
        "rate": (_NUM, True, None),
        "channels": ((list,), True, None),
        "units": ((str,), True, None),
        "dtype": ((str,), False, "float32"),
        "full_scale": (_NUM, False, None),
        "accepted_rates": ((list,), False, []),
        "aliases": ((dict,), False, {}),
        "pad_short": ((bool,), False, False),
    },
    "features": {
        "version": ((int,), True, None),
        "window": ((int,), True, None),
        "hop": ((int,), True, None),
        "chain": ((list,), False, []),
        "stream": ((list,), False, []),
    },
    "model": {
        "builder": ((str,), False, "build_model"),
        "epochs": ((int,), False, 30),
        "batch_size": ((int,), False, 64),
        "learning_rate": (_NUM, False, 1e-3),
        "lr_schedule": ((str,), False, "constant"),
        "class_weight": ((str,), False, "balanced"),
        "patience": ((int,), False, 8),
        "params": ((dict,), False, {}),
        "smoke_epochs": ((int,), False, 1),
    },
    "quantize": {
        "scheme": ((str,), False, "int8"),
        "calibration_samples": ((int,), False, 500),
    },
    "dataset": {
        "name": ((str,), True, None),
        "path": ((str,), False, ""),
        "generator": ((str,), False, ""),
        "split": ((str,), False, "subject"),
        "seed": ((int,), False, 0),
        "test_fraction": (_NUM, False, 0.25),
        "val_fraction": (_NUM, False, 0.15),
        "options": ((dict,), False, {}),
        "smoke_options": ((dict,), False, {}),
    },
    "postprocess": {},  # app-specific, free-form
    "firmware": {
        "boards": ((list,), False, ["qemu-m4", "host"]),
        "demo": ((str,), False, ""),
    },
    "acceptance": {},  # metric floors: name -> number, checked against the evaluation
}
FREE_FORM = {"postprocess", "acceptance"}
SPLITS = ("subject", "recording")
LR_SCHEDULES = ("constant", "cosine")  # cosine: decays learning_rate to 0 over the epochs
# balanced: every class weighs the same in the loss; sqrt: halfway (weights ~ 1/sqrt(count)); none: the
# training windows' own frequencies (right when they mirror deployment, e.g. mostly non-keyword audio).
CLASS_WEIGHTS = ("balanced", "sqrt", "none")


@dataclass(frozen=True)
class Manifest:
    path: Path
    app: dict[str, Any]
    signal: dict[str, Any]
    features: dict[str, Any]
    model: dict[str, Any]
    quantize: dict[str, Any]
    dataset: dict[str, Any]
    postprocess: dict[str, Any] = field(default_factory=dict)
    firmware: dict[str, Any] = field(default_factory=dict)
    acceptance: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.app["id"]

    @property
    def dir(self) -> Path:
        return self.path.parent

    @property
    def labels(self) -> list[str]:
        return list(self.app["labels"])

    @property
    def event_names(self) -> list[str]:
        """What an event's label index names: [app] events when the app raises events that are not model
        labels (e.g. a rate limit crossed), else the labels."""
        return list(self.app["events"]) or self.labels

    @property
    def channels(self) -> list[str]:
        return list(self.signal["channels"])

    @property
    def rate(self) -> float:
        return float(self.signal["rate"])

    def feature_hash(self) -> str:
        """Hash of everything that defines the model input; the firmware reports it, the card stores it."""
        spec = {
            "signal": {k: self.signal[k] for k in ("rate", "channels", "units", "dtype")},
            "features": self.features,
        }
        blob = json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


def _err(path: Path, key: str, msg: str) -> TinymlError:
    return TinymlError(f"{path}: [{key}] {msg}")


def load_manifest(path: Path, expected_id: str | None = None) -> Manifest:
    path = Path(path)
    if not path.is_file():
        raise TinymlError(f"{path}: manifest not found")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise TinymlError(f"{path}: not valid TOML: {e}") from None
    except UnicodeDecodeError:
        raise TinymlError(f"{path}: not UTF-8 text") from None

    unknown = sorted(set(raw) - set(SCHEMA))
    if unknown:
        raise _err(path, unknown[0], f"unknown section; allowed: {', '.join(SCHEMA)}")
    out: dict[str, dict[str, Any]] = {}
    for section, keys in SCHEMA.items():
        table = raw.get(section, {})
        if not isinstance(table, dict):
            raise _err(path, section, "must be a table")
        if section in FREE_FORM:
            out[section] = dict(table)
            continue
        if section not in raw and any(req for _, req, _ in keys.values()):
            raise _err(path, section, "section is required")
        extra = sorted(set(table) - set(keys))
        if extra:
            raise _err(path, f"{section}.{extra[0]}", f"unknown key; allowed: {', '.join(keys)}")
        vals: dict[str, Any] = {}
        for key, (types, required, default) in keys.items():
            if key not in table:
                if required:
                    raise _err(path, f"{section}.{key}", "is required")
                vals[key] = default
                continue
            v = table[key]
            if (isinstance(v, bool) and bool not in types) or not isinstance(v, types):  # bool is an int
                names = " or ".join(t.__name__ for t in types)
                raise _err(path, f"{section}.{key}", f"must be {names}, got {type(v).__name__} {v!r}")
            vals[key] = v
        out[section] = vals

    m = Manifest(path=path, **out)
    _check_values(m, expected_id)
    return m


def _check_values(m: Manifest, expected_id: str | None) -> None:
    p = m.path
    if not APP_ID.match(m.id):
        raise _err(p, "app.id", f"{m.id!r} must be kebab-case (a-z, 0-9, '-')")
    if expected_id is not None and m.id != expected_id:
        raise _err(p, "app.id", f"{m.id!r} must equal the folder name {expected_id!r}")
    if m.app["task"] not in TASKS:
        raise _err(p, "app.task", f"{m.app['task']!r} not allowed; allowed: {', '.join(TASKS)}")
    labels = m.app["labels"]
    if len(labels) < 1 or not all(isinstance(x, str) and x for x in labels) or len(set(labels)) != len(labels):
        raise _err(p, "app.labels", "must be a list of distinct non-empty strings")
    ev = m.app["events"]
    if ev and (not all(isinstance(x, str) and x for x in ev) or len(set(ev)) != len(ev)):
        raise _err(p, "app.events", "must be a list of distinct non-empty strings")
    bad = [x for x in m.app["event_labels"] if x not in labels]
    if bad:
        raise _err(p, "app.event_labels", f"{bad[0]!r} is not one of app.labels {labels}")
    if m.signal["rate"] <= 0:
        raise _err(p, "signal.rate", "must be > 0 Hz")
    ch = m.signal["channels"]
    if not ch or not all(isinstance(c, str) and c for c in ch) or len(set(ch)) != len(ch):
        raise _err(p, "signal.channels", "must be a list of distinct channel names")
    for name, alts in m.signal["aliases"].items():
        if name not in ch or not isinstance(alts, list) or not all(isinstance(a, str) for a in alts):
            raise _err(p, f"signal.aliases.{name}", f"must map one of the channels {ch} to a list of other names")
    if m.signal["dtype"] not in DEVICE_DTYPES:
        raise _err(p, "signal.dtype", f"{m.signal['dtype']!r} not allowed; allowed: {', '.join(DEVICE_DTYPES)}")
    if m.features["window"] < 1:
        raise _err(p, "features.window", "must be >= 1 sample")
    if not 1 <= m.features["hop"]:
        raise _err(p, "features.hop", "must be >= 1 sample")
    for part in ("stream", "chain"):
        for i, step in enumerate(m.features[part]):
            if not isinstance(step, dict) or not isinstance(step.get("block"), str):
                raise _err(p, f"features.{part}[{i}]", "each step must be a table with a 'block' name")
    if m.model["lr_schedule"] not in LR_SCHEDULES:
        raise _err(p, "model.lr_schedule", f"{m.model['lr_schedule']!r} not allowed; allowed: {', '.join(LR_SCHEDULES)}")
    if m.model["class_weight"] not in CLASS_WEIGHTS:
        raise _err(p, "model.class_weight", f"{m.model['class_weight']!r} not allowed; allowed: {', '.join(CLASS_WEIGHTS)}")
    if m.dataset["split"] not in SPLITS:
        raise _err(p, "dataset.split", f"{m.dataset['split']!r} not allowed; allowed: {', '.join(SPLITS)}")
    for k in ("test_fraction", "val_fraction"):
        if not 0 < m.dataset[k] < 0.5:
            raise _err(p, f"dataset.{k}", "must be between 0 and 0.5")
    for k, v in m.acceptance.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise _err(p, f"acceptance.{k}", f"must be a number, got {v!r}")
