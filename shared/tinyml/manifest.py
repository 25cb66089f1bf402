"""Load and validate `apps/<id>/app.toml`, the single source of truth for an app.

Every error names the file, the key and what is allowed, so a user can fix it in one go.
Sections with free-form, app-specific keys (`[model.params]`, `[postprocess]`, `[dataset.options]`)
are passed through untouched; the rest is checked against SCHEMA.

Deployment sections hold the physical configuration a user changes per installation (a machine's
shaft speed and bearing, a field's soil and crop, a patient's rate limits). An app declares them by
name, `[app] deployment = ["machine"]`, and writes each as its own table of scalars or arrays; a
nested `allowed` table may bound a number (`shaft_hz = [1, 500]`, inclusive) or list a string's
choices (`soil = ["sand", "loam", "clay"]`). They reach the firmware as TML_CFG_<SECTION>_<KEY>.

`[model]` is the primary model: its outputs are the window scores over [app] labels. An app may have
further models, one `[models.<name>]` table each, with the keys of [model] plus `examples` (the
pipeline.py function that gives their training examples), `output` ("classes" or "regression"),
`labels` (a classifier's), and `loss`; see MODEL_EXTRA. `[acceptance.<name>]` holds such a model's own
floors.

`[model] output`: "classes" is one softmax over the labels (a window is one class); "multilabel" is one
independent sigmoid per label (two may be high at once), trained with binary cross-entropy on the model's
LOGITS, which are also its int8 scores: a softmax's fixed 1/256 output grid ties every small probability at
-128, logits keep their resolution at the tails. A multilabel builder ends in a linear Dense; a probability
threshold p is the logit log(p / (1 - p)).

Any value can be overridden for one run with `--set section.key=value` (`load_manifest(...,
overrides=[...])`): the key must exist (in SCHEMA or in the file), the value is TOML (a bare word is
a string) and must have the key's type; the result is validated like the file, and an error caused
by an override names it instead of the file.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import hints
from .errors import TinymlError

TASKS = ("classify", "anomaly", "regress", "forecast")
DEVICE_DTYPES = ("int16", "int8", "float32")
APP_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
VALUE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")  # [app] values: a measurement and its unit, e.g. hr_bpm
MAX_VALUES = 64  # values per window line (one VALUES link frame: 5 + 4 * n bytes)
MAX_BEAT_LABELS = 255  # a beat's label travels as one byte

# key -> (types, required, default). Types are python types accepted by the key.
_NUM = (int, float)
SCHEMA: dict[str, dict[str, tuple[tuple[type, ...], bool, Any]]] = {
    "app": {
        "id": ((str,), True, None),
        "title": ((str,), True, None),
        "task": ((str,), True, None),
        "labels": ((list,), True, None),
        "event_labels": ((list,), False, []),
        "extra_events": ((list,), False, []),
        "values": ((list,), False, []),
        "beat_labels": ((list,), False, []),
        "description": ((str,), False, ""),
        "deployment": ((list,), False, []),
    },
    "signal": {
        "sensor": ((str,), True, None),
        "rate": (_NUM, True, None),
        "channels": ((list,), True, None),
        "units": ((str, dict), True, None),  # one unit for every channel, or a table per channel
        "dtype": ((str,), False, "float32"),
        "full_scale": (_NUM, False, None),
        "accepted_rates": ((list,), False, []),
        "aliases": ((dict,), False, {}),
        # names of a related signal read in place of a channel when the file has none of its own names, with a
        # notice (heart's lead I for the lead II the model learned): after aliases, in order of preference
        "stand_ins": ((dict,), False, {}),
        "pad_short": ((bool,), False, False),
        # inputs (read by tinyml.readers / recording.read_recording; see _check_inputs)
        "optional_channels": ((list,), False, []),
        "plausible_range": ((list, dict), False, None),
        "typical_magnitude": ((list,), False, None),
        "counts_per_unit": (_NUM + (dict,), False, None),
        "may_be_flat": ((list,), False, None),  # required channels that may hold one value over a whole file
        "max_gap_s": (_NUM, False, None),
        # resampling to `rate`: "fir" (default) or "linear" (slow states: soil moisture, temperatures), and the
        # channels that hold amounts per sample (rain in mm per interval), which keep their sum
        "resample": ((str,), False, "fir"),
        "totals": ((list,), False, []),
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
        # a classifier's logits minus tau * log(training prior), folded into its last Dense bias before
        # quantization (tinyml.logit_adjust); 0 keeps the learnt prior
        "logit_adjust_tau": (_NUM, False, 0.0),
        # the labels among which logit_adjust_tau makes the prior equal, the others' logits unchanged
        # (tinyml.logit_adjust); [] = every label
        "logit_adjust_labels": ((list,), False, []),
        "patience": ((int,), False, 8),
        "output": ((str,), False, "classes"),  # or "multilabel" (the primary model only; module docstring)
        "params": ((dict,), False, {}),
        "smoke_epochs": ((int,), False, 1),
    },
    "quantize": {
        "scheme": ((str,), False, "int8"),
        "calibration_samples": ((int,), False, 500),
        "calibration": ((str,), False, "random"),  # or "per_class" (CALIBRATIONS)
    },
    "dataset": {
        "name": ((str,), False, ""),  # required unless `sources` lists them
        "path": ((str,), False, ""),
        "generator": ((str,), False, ""),
        # true: the generator trains alongside a real `path` (both sources, split each by its own groups),
        # not only in its stead while `path` is empty
        "with_generator": ((bool,), False, False),
        "split": ((str,), False, "subject"),
        "seed": ((int,), False, 0),
        "test_fraction": (_NUM, False, 0.25),
        "val_fraction": (_NUM, False, 0.15),
        # sources (by name) that give no validation group: their groups train or are held out for test, and
        # validation comes from the other sources (data/splits.py split_recordings)
        "no_val_sources": ((list,), False, []),
        # sources (by name) whose groups are drawn after all others', so adding them leaves the others' split as
        # it was (a model trained before they were added is compared on groups it never trained on)
        "draw_last_sources": ((list,), False, []),
        # real sources (by name) reported per cohort but kept out of the headline metrics that [acceptance] checks
        # (scoring.is_real): a harder data set added later (another body position) leaves what the floors measure
        "reported_apart_sources": ((list,), False, []),
        # true: each source is split on its own (data/splits.py split_by_source): a source with a fixed test
        # split (MIT-BIH DS2) keeps it and the other sources still draw their own held-out groups
        "split_per_source": ((bool,), False, False),
        "options": ((dict,), False, {}),
        "smoke_options": ((dict,), False, {}),
        "sources": ((list,), False, []),  # [[dataset.sources]]: several sources (data/source.py)
    },
    "postprocess": {},  # app-specific, free-form
    "firmware": {
        "boards": ((list,), False, ["qemu-m4", "host"]),
        "demo": ((str,), False, ""),
    },
    "acceptance": {},  # metric floors: name -> number, checked against the evaluation
    # the model card (tinyml.report): the app's own words for a metric the card shows, replacing or
    # extending the generic definition (tinyml.glossary), e.g. specificity = "1 s clips with no command ..."
    "card": {
        "glossary": ((dict,), False, {}),
    },
}
FREE_FORM = {"postprocess", "acceptance"}
# [models.<name>]: the keys of [model] plus these. An autoencoder is a regression on its own input.
MODEL_EXTRA: dict[str, tuple[tuple[type, ...], bool, Any]] = {
    "examples": ((str,), True, None),  # pipeline.py: examples(recordings, fx, manifest, rng, augment) -> (X, y[, groups])
    "output": ((str,), False, "classes"),
    "labels": ((list,), False, []),
    "loss": ((str,), False, ""),  # "" = crossentropy for classes, mse for regression
}
OUTPUTS = ("classes", "regression")  # a further model's
LABEL_OUTPUTS = ("classes", "multilabel")  # the primary model's: both score [app] labels
LOSSES = {"classes": ("crossentropy",), "regression": ("mse", "mae", "huber")}
MODEL_NAME = re.compile(r"^[a-z][a-z0-9_]*$")  # a C identifier part: tml_model_<name>_invoke()
PRIMARY_MODEL = "model"  # the primary model's name where models are named ([[dataset.sources]] models; its file)
MODELS = "models"  # the section of the further models
SECTION_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
ALLOWED = "allowed"  # a deployment section's nested table of bounds and choices
# Not overridable per run: the id names the folder, and a floor is lowered only in app.toml, with a reason.
NOT_OVERRIDABLE = ("app.id", "app.deployment", "acceptance")
SPLITS = ("subject", "recording")
# [[dataset.sources]] keys: a real source has `path`; a generator has none; `models` limits the models it trains
SOURCE_KEYS = {"name": (str,), "path": (str,), "weight": _NUM, "options": (dict,), "smoke_options": (dict,),
               "models": (list,)}
LR_SCHEDULES = ("constant", "cosine")  # cosine: decays learning_rate to 0 over the epochs
# balanced: every class weighs the same in the loss; sqrt: halfway (weights ~ 1/sqrt(count)); none: the
# training windows' own frequencies (right when they mirror deployment, e.g. mostly non-keyword audio).
CLASS_WEIGHTS = ("balanced", "sqrt", "none")
# [quantize] calibration: which training examples set the int8 ranges. random: drawn at random (a class of
# 0.4 % of the windows gives ~3 of 800); per_class: equal shares of each training label (all of a label with
# fewer), so a rare class's activations set the ranges too; a regression model draws at random either way.
CALIBRATIONS = ("random", "per_class")


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
    # deployment section -> its keys and values (without the `allowed` table), in [app] deployment order
    deployment: dict[str, dict[str, Any]] = field(default_factory=dict)
    # deployment section -> key -> [min, max] (numbers) or choices (strings)
    deployment_allowed: dict[str, dict[str, list]] = field(default_factory=dict)
    overrides: tuple[str, ...] = ()  # the `--set section.key=value` texts applied, in order
    models: dict[str, dict[str, Any]] = field(default_factory=dict)  # [models.<name>], in manifest order
    card: dict[str, Any] = field(default_factory=dict)  # [card]: the model card's glossary words

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
        """What an event's label index names: the model's labels, then [app] extra_events (events that are
        no class of the model, e.g. "brady" from a measured rate, "anomaly" from a second model)."""
        return list(self.app["labels"]) + list(self.app["extra_events"])

    @property
    def values(self) -> list[str]:
        """[app] values: the names of the measurements in each window line, in the order the app gives them."""
        return list(self.app["values"])

    @property
    def beat_labels(self) -> list[str]:
        """[app] beat_labels: the classes of the beat (or cycle) lines."""
        return list(self.app["beat_labels"])

    @property
    def channels(self) -> list[str]:
        """Every channel the pipeline receives: the required ones, then [signal] optional_channels."""
        return [*self.signal["channels"], *self.signal["optional_channels"]]

    def unit_of(self, channel: str) -> str:
        u = self.signal["units"]
        return u.get(channel, "") if isinstance(u, dict) else u

    def resample(self, x, rate_in: float):
        """x [n, channels] at rate_in to the device rate, with [signal] resample and totals."""
        from .dsp.resample import resample_signal

        totals = tuple(self.channels.index(c) for c in self.signal.get("totals") or ())
        return resample_signal(x, rate_in, self.rate, self.signal.get("resample") or "fir", totals)

    @property
    def max_gap_s(self) -> float:
        """The longest gap between timestamps that is interpolated over (default: 10 device samples)."""
        return float(self.signal["max_gap_s"] or 10.0 / self.rate)

    @property
    def rate(self) -> float:
        return float(self.signal["rate"])

    def section(self, name: str) -> dict[str, Any]:
        """Any section by name: a core one ([signal], [postprocess] ...) or a deployment one ([machine])."""
        if name in self.deployment:
            return self.deployment[name]
        if name in SCHEMA:
            return getattr(self, name)
        raise KeyError(name)

    def feature_hash(self) -> str:
        """Hash of everything that defines the model input; the firmware reports it, the card stores it."""
        keys = ("rate", "channels", "units", "dtype") + (("optional_channels",) if self.signal["optional_channels"] else ())
        # an empty stream stage is no stage: manifests without one keep the hash they had before the key existed
        features = {k: v for k, v in self.features.items() if not (k == "stream" and not v)}
        spec = {
            "signal": {k: self.signal[k] for k in keys},
            "features": features,
        }
        blob = json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


class _Source:
    """Where a value came from, for error messages: the file, or the `--set` that overrode it."""

    def __init__(self, path: Path, sets: dict[str, str] | None = None):
        self.path = path
        self.sets = sets or {}  # dotted key -> the --set text

    def __call__(self, key: str) -> str:
        for k, text in self.sets.items():
            if key == k or key.startswith(k + ".") or k.startswith(key + "."):
                return hints.option("--set", text)
        return str(self.path)


def _err(src: Path | _Source, key: str, msg: str) -> TinymlError:
    where = src(key) if isinstance(src, _Source) else src
    return TinymlError(f"{where}: [{key}] {msg}")


def _type_error(types: tuple[type, ...], v: Any) -> str | None:
    if (isinstance(v, bool) and bool not in types) or not isinstance(v, types):  # bool is an int
        names = " or ".join(t.__name__ for t in types)
        return f"must be {names}, got {type(v).__name__} {v!r}"
    return None


def load_manifest(path: Path, expected_id: str | None = None, overrides=()) -> Manifest:
    """Load, apply `overrides` ("section.key=value" texts, as given to --set) and validate."""
    path = Path(path)
    if not path.is_file():
        raise TinymlError(f"{path}: manifest not found")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise TinymlError(f"{path}: not valid TOML: {e}") from None
    except UnicodeDecodeError:
        raise TinymlError(f"{path}: not UTF-8 text") from None

    src = _Source(path)
    deployment = _deployment_names(raw, src)
    unknown = sorted(set(raw) - set(SCHEMA) - set(deployment) - {MODELS})
    if unknown:
        raise _err(src, unknown[0], f"unknown section; allowed: {', '.join([*SCHEMA, MODELS, *deployment])} "
                                    "(a deployment section is named in [app] deployment)")
    overrides = tuple(overrides)
    for text in overrides:
        src.sets[_apply_override(raw, text, deployment)] = text
    out: dict[str, dict[str, Any]] = {}
    for section, keys in SCHEMA.items():
        table = raw.get(section, {})
        if not isinstance(table, dict):
            raise _err(src, section, "must be a table")
        if section in FREE_FORM:
            out[section] = dict(table)
            continue
        if section not in raw and any(req for _, req, _ in keys.values()):
            raise _err(src, section, "section is required")
        out[section] = _check_table(src, section, table, keys)
    tables, allowed = _deployment_tables(raw, deployment, src)

    models = _load_models(src, raw.get(MODELS, {}))
    m = Manifest(path=path, **out, deployment=tables, deployment_allowed=allowed, overrides=overrides, models=models)
    _check_values(m, expected_id, src)
    return m


def _check_table(src: _Source, where: str, table: dict, keys: dict) -> dict[str, Any]:
    """A table against its schema: no unknown key, every required one, each of an allowed type."""
    extra = sorted(set(table) - set(keys))
    if extra:
        raise _err(src, f"{where}.{extra[0]}", f"unknown key; allowed: {', '.join(keys)}")
    vals: dict[str, Any] = {}
    for key, (types, required, default) in keys.items():
        if key not in table:
            if required:
                raise _err(src, f"{where}.{key}", "is required")
            vals[key] = default
            continue
        v = table[key]
        bad = _type_error(types, v)
        if bad:
            raise _err(src, f"{where}.{key}", bad)
        vals[key] = v
    return vals


def _check_adjust_labels(src, where: str, spec: dict, labels) -> None:
    """[..] logit_adjust_labels: distinct labels of the model (two at least), and only with a tau to apply."""
    among = spec["logit_adjust_labels"]
    if not among:
        return
    if not spec["logit_adjust_tau"]:
        raise _err(src, f"{where}.logit_adjust_labels", "needs logit_adjust_tau > 0 (it says among which labels "
                                                      "the prior is made equal)")
    unknown = [x for x in among if x not in labels]
    if unknown or len(set(among)) != len(among) or len(among) < 2:
        raise _err(src, f"{where}.logit_adjust_labels", "must be two or more distinct labels of the model"
                   + (f"; not labels: {', '.join(map(str, unknown))}" if unknown else ""))


# ---- further models ----


def _load_models(src: _Source, raw: Any) -> dict[str, dict[str, Any]]:
    """[models.<name>] tables: validated like [model], plus MODEL_EXTRA."""
    if not isinstance(raw, dict):
        raise _err(src, MODELS, "must hold one table per further model: [models.<name>]")
    out = {}
    for name, table in raw.items():
        where = f"{MODELS}.{name}"
        if not MODEL_NAME.match(name) or name == PRIMARY_MODEL:
            raise _err(src, where, f"model name {name!r} must be lower-case letters, digits and '_' "
                                   "(a C identifier part), and not 'model' (the primary model's file)")
        if not isinstance(table, dict):
            raise _err(src, where, "must be a table")
        spec = _check_table(src, where, table, {**SCHEMA["model"], **MODEL_EXTRA})
        if spec["output"] not in OUTPUTS:
            raise _err(src, f"{where}.output", f"{spec['output']!r} not allowed; allowed: {', '.join(OUTPUTS)}")
        labels = spec["labels"]
        if spec["output"] == "classes":
            if len(labels) < 2 or not all(isinstance(x, str) and x for x in labels) or len(set(labels)) != len(labels):
                raise _err(src, f"{where}.labels", "a classifier needs a list of at least two distinct names")
        elif labels:
            raise _err(src, f"{where}.labels", "only a classifier (output = \"classes\") has labels")
        if spec["loss"] and spec["loss"] not in LOSSES[spec["output"]]:
            raise _err(src, f"{where}.loss", f"{spec['loss']!r} not allowed for {spec['output']}; "
                                             f"allowed: {', '.join(LOSSES[spec['output']])}")
        spec["loss"] = spec["loss"] or LOSSES[spec["output"]][0]
        if spec["logit_adjust_tau"] < 0 or (spec["logit_adjust_tau"] and spec["output"] != "classes"):
            raise _err(src, f"{where}.logit_adjust_tau", "must be >= 0, and 0 unless output = \"classes\"")
        _check_adjust_labels(src, where, spec, labels)
        for k, allowed in (("lr_schedule", LR_SCHEDULES), ("class_weight", CLASS_WEIGHTS)):
            if spec[k] not in allowed:
                raise _err(src, f"{where}.{k}", f"{spec[k]!r} not allowed; allowed: {', '.join(allowed)}")
        out[name] = spec
    return out


# ---- deployment sections ----


def _deployment_names(raw: dict, src: _Source) -> list[str]:
    names = raw.get("app", {}).get("deployment", []) if isinstance(raw.get("app"), dict) else []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
        raise _err(src, "app.deployment", "must be a list of distinct section names")
    for n in names:
        if not SECTION_NAME.match(n) or n in SCHEMA:
            raise _err(src, "app.deployment", f"{n!r} must be a new section name (a-z, 0-9, '_'), not one of "
                                               f"{', '.join(SCHEMA)}")
        if not isinstance(raw.get(n), dict):
            raise _err(src, n, "is named in [app] deployment but the manifest has no such table")
    return names


def _is_scalar(v: Any) -> bool:
    return isinstance(v, (bool, int, float, str))


def _deployment_tables(raw: dict, names: list[str], src: _Source):
    """Each section's values (scalars, or arrays of scalars of one kind) and its `allowed` bounds/choices."""
    tables: dict[str, dict[str, Any]] = {}
    allowed: dict[str, dict[str, list]] = {}
    for name in names:
        table = dict(raw[name])
        limits = table.pop(ALLOWED, {})
        if not isinstance(limits, dict):
            raise _err(src, f"{name}.{ALLOWED}", "must be a table: key = [min, max] or key = [choices]")
        if not table:
            raise _err(src, name, "a deployment section needs at least one key")
        for key, v in table.items():
            ok = _is_scalar(v) or (isinstance(v, list) and all(_is_scalar(x) for x in v)
                                   and len({_kind(x) for x in v}) <= 1)
            if not ok:
                raise _err(src, f"{name}.{key}", "must be a number, boolean, string or an array of one of them")
        for key, lim in limits.items():
            if key not in table:
                raise _err(src, f"{name}.{ALLOWED}.{key}", f"names no key of [{name}]; keys: {', '.join(table)}")
            v = table[key]
            if isinstance(v, str):
                if not isinstance(lim, list) or not lim or not all(isinstance(c, str) for c in lim):
                    raise _err(src, f"{name}.{ALLOWED}.{key}", "must list the allowed strings")
            elif _kind(v) == "number":
                if (not isinstance(lim, list) or len(lim) != 2 or not all(_kind(x) == "number" for x in lim)
                        or lim[0] > lim[1]):
                    raise _err(src, f"{name}.{ALLOWED}.{key}", "must be [min, max] with min <= max")
            else:
                raise _err(src, f"{name}.{ALLOWED}.{key}", "only numbers (a range) and strings (choices) take limits")
        tables[name] = table
        allowed[name] = limits
    return tables, allowed


def _kind(v: Any) -> str:
    """Number, bool, str, list or table: the type classes an override must keep (an int may go into a float)."""
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    return {str: "str", list: "list", dict: "table"}.get(type(v), type(v).__name__)


def _check_deployment(m: Manifest, src: _Source) -> None:
    for name, limits in m.deployment_allowed.items():
        for key, lim in limits.items():
            v = m.deployment[name][key]
            if isinstance(v, str):
                if v not in lim:
                    raise _err(src, f"{name}.{key}", f"{v!r} not allowed; allowed: {', '.join(lim)}")
            elif not lim[0] <= v <= lim[1]:
                raise _err(src, f"{name}.{key}", f"{v!r} out of range; allowed: {lim[0]} to {lim[1]}")


# ---- --set section.key=value ----


def parse_set(text: str) -> tuple[list[str], str]:
    """'machine.shaft_hz=29.5' -> (['machine', 'shaft_hz'], '29.5')."""
    key, eq, value = text.partition("=")
    parts = key.strip().split(".")
    if not eq or len(parts) < 2 or not all(parts):
        raise TinymlError(f"{hints.option('--set', text)}: expected section.key=value, "
                          f"e.g. {hints.option('--set', 'signal.rate=100')}")
    return parts, value.strip()


def _parse_value(value: str, like: Any) -> Any:
    """TOML syntax for numbers, booleans and arrays; a bare word is a string when the key holds one."""
    try:
        v = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        return value
    if isinstance(like, str) and not isinstance(v, str):
        return value  # a bearing code 6205 or a word that looks like a number stays text
    if isinstance(like, float) and isinstance(v, int) and not isinstance(v, bool):
        return float(v)
    return v


def _same_type(like: Any, v: Any) -> str | None:
    """An override keeps the type of the value it replaces (an int may replace a float)."""
    types = (int, float) if isinstance(like, float) else (type(like),)
    return _type_error(types, v)


def _apply_override(raw: dict, text: str, deployment: list[str]) -> str:
    """Write one --set into the raw manifest; returns the dotted key. Errors name the --set."""
    parts, value = parse_set(text)
    key = ".".join(parts)
    src = _Source(Path(), {key: text})
    section = parts[0]
    if section not in SCHEMA and section not in deployment and section != MODELS:
        raise _err(src, section, f"unknown section; allowed: {', '.join([*SCHEMA, MODELS, *deployment])}")
    if section in NOT_OVERRIDABLE or ".".join(parts[:2]) in NOT_OVERRIDABLE:
        raise _err(src, key, "cannot be overridden per run; edit app.toml")
    table = raw.setdefault(section, {})
    schema = {} if section in FREE_FORM else SCHEMA.get(section, {})
    if schema:
        name = parts[1]
        if name not in schema:
            raise _err(src, f"{section}.{name}", f"unknown key; allowed: {', '.join(schema)}")
        types, _, default = schema[name]
        if len(parts) == 2:  # the loader checks the value against SCHEMA's types
            like = table.get(name, default)
            if like is None:
                like = "" if str in types else 0.0 if float in types else None
            table[name] = _parse_value(value, like)
            return key
        if name not in table and isinstance(default, dict):
            table[name] = dict(default)
    for depth, name in enumerate(parts[1:], start=1):
        keys = [k for k in table if not (section in deployment and depth == 1 and k == ALLOWED)]
        if name not in keys:
            raise _err(src, ".".join(parts[: depth + 1]), f"unknown key; allowed: {', '.join(keys) or '(none)'}")
        if depth == len(parts) - 1:
            like = table[name]
            v = _parse_value(value, like)
            bad = _same_type(like, v)
            if bad:
                raise _err(src, key, bad)
            table[name] = v
            return key
        if not isinstance(table[name], dict):
            raise _err(src, ".".join(parts[: depth + 1]), f"is {type(table[name]).__name__}, not a table")
        table = table[name]
    return key


def _check_values(m: Manifest, expected_id: str | None, src: _Source | None = None) -> None:
    p = src or _Source(m.path)
    if not APP_ID.match(m.id):
        raise _err(p, "app.id", f"{m.id!r} must be kebab-case (a-z, 0-9, '-')")
    if expected_id is not None and m.id != expected_id:
        raise _err(p, "app.id", f"{m.id!r} must equal the folder name {expected_id!r}")
    if m.app["task"] not in TASKS:
        raise _err(p, "app.task", f"{m.app['task']!r} not allowed; allowed: {', '.join(TASKS)}")
    labels = m.app["labels"]
    if len(labels) < 1 or not all(isinstance(x, str) and x for x in labels) or len(set(labels)) != len(labels):
        raise _err(p, "app.labels", "must be a list of distinct non-empty strings")
    bad = [x for x in m.app["event_labels"] if x not in labels]
    if bad:
        raise _err(p, "app.event_labels", f"{bad[0]!r} is not one of app.labels {labels}")
    extra = m.app["extra_events"]
    if not all(isinstance(x, str) and x for x in extra) or len(set(labels + extra)) != len(labels + extra):
        raise _err(p, "app.extra_events", "must be a list of distinct non-empty strings, none of them a label")
    values = m.app["values"]
    if (not all(isinstance(x, str) and VALUE_NAME.match(x) for x in values) or len(set(values)) != len(values)
            or len(values) > MAX_VALUES):
        raise _err(p, "app.values", f"must be at most {MAX_VALUES} distinct names in snake_case that end with "
                   "their unit (e.g. hr_bpm, rmssd_ms, sqi)")
    beats = m.app["beat_labels"]
    if (not all(isinstance(x, str) and x for x in beats) or len(set(beats)) != len(beats)
            or len(beats) > MAX_BEAT_LABELS):
        raise _err(p, "app.beat_labels", f"must be a list of at most {MAX_BEAT_LABELS} distinct non-empty strings")
    if m.signal["rate"] <= 0:
        raise _err(p, "signal.rate", "must be > 0 Hz")
    ch = m.signal["channels"]
    if not ch or not all(isinstance(c, str) and c for c in ch) or len(set(ch)) != len(ch):
        raise _err(p, "signal.channels", "must be a list of distinct channel names")
    _check_inputs(m, p)
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
    if m.model["output"] not in LABEL_OUTPUTS:
        raise _err(p, "model.output", f"{m.model['output']!r} not allowed; allowed: {', '.join(LABEL_OUTPUTS)} "
                                      "(the primary model scores [app] labels)")
    if m.model["logit_adjust_tau"] < 0 or (m.model["logit_adjust_tau"] and m.model["output"] != "classes"):
        raise _err(p, "model.logit_adjust_tau", "must be >= 0 (0: off), and 0 unless output = \"classes\"")
    _check_adjust_labels(p, "model", m.model, m.labels)
    if m.quantize["calibration"] not in CALIBRATIONS:
        raise _err(p, "quantize.calibration", f"{m.quantize['calibration']!r} not allowed; allowed: {', '.join(CALIBRATIONS)}")
    if m.dataset["split"] not in SPLITS:
        raise _err(p, "dataset.split", f"{m.dataset['split']!r} not allowed; allowed: {', '.join(SPLITS)}")
    _check_sources(m)
    for key in ("no_val_sources", "draw_last_sources", "reported_apart_sources"):
        if not all(isinstance(v, str) and v for v in m.dataset[key]):
            raise _err(p, f"dataset.{key}", "must be a list of source names, e.g. [\"cwru\"]")
    for k in ("test_fraction", "val_fraction"):
        if not 0 < m.dataset[k] < 0.5:
            raise _err(p, f"dataset.{k}", "must be between 0 and 0.5")
    for k, v in m.acceptance.items():
        if isinstance(v, dict) and k in m.models:  # [acceptance.<model>]: that model's own floors
            for kk, vv in v.items():
                if isinstance(vv, bool) or not isinstance(vv, (int, float)):
                    raise _err(p, f"acceptance.{k}.{kk}", f"must be a number, got {vv!r}")
            continue
        if isinstance(v, dict):
            raise _err(p, f"acceptance.{k}", f"a table here must be named after one of [models.*] "
                                            f"({', '.join(m.models) or 'none declared'})")
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise _err(p, f"acceptance.{k}", f"must be a number, got {v!r}")
    for k, v in m.card["glossary"].items():
        if not isinstance(v, str) or not v.strip():
            raise _err(p, f"card.glossary.{k}", "must be a non-empty text: what the metric means in this app")
    _check_deployment(m, p)


def _check_inputs(m: Manifest, p: Path) -> None:
    """[signal] keys that say how recordings are read: optional channels, units, plausible ranges."""
    sig = m.signal
    ch = sig["channels"]
    opt = sig["optional_channels"]
    if not all(isinstance(c, str) and c for c in opt) or len(set(opt)) != len(opt) or set(opt) & set(ch):
        raise _err(p, "signal.optional_channels", "must be a list of distinct channel names, none of them in channels")
    every = [*ch, *opt]
    for key in ("aliases", "stand_ins"):
        for name, alts in sig[key].items():
            if name not in every or not isinstance(alts, list) or not all(isinstance(a, str) for a in alts):
                raise _err(p, f"signal.{key}.{name}", f"must map one of the channels {every} to a list of other names")
    units = sig["units"]
    if isinstance(units, dict) and (sorted(units) != sorted(every) or not all(isinstance(u, str) for u in units.values())):
        raise _err(p, "signal.units", f"a table must give one unit (a string) for each channel: {', '.join(every)}")

    def pair(key, v, low=None):
        ok = isinstance(v, list) and len(v) == 2 and all(isinstance(x, _NUM) and not isinstance(x, bool) for x in v)
        if not ok or not v[0] < v[1] or (low is not None and v[0] < low):
            floor = f", lo >= {low}" if low is not None else ""
            raise _err(p, key, f"must be [lo, hi] numbers with lo < hi{floor}, got {v!r}")

    rng = sig["plausible_range"]
    if isinstance(rng, dict):
        for c, v in rng.items():
            if c not in every:
                raise _err(p, f"signal.plausible_range.{c}", f"is not a channel; channels: {', '.join(every)}")
            pair(f"signal.plausible_range.{c}", v)
    elif rng is not None:
        pair("signal.plausible_range", rng)
    if sig["typical_magnitude"] is not None:
        pair("signal.typical_magnitude", sig["typical_magnitude"], low=0)
        if len({m.unit_of(c) for c in ch}) != 1:
            raise _err(p, "signal.typical_magnitude", "needs the required channels to share one unit")
    cpu = sig["counts_per_unit"]
    for c, v in (cpu.items() if isinstance(cpu, dict) else [("", cpu)] if cpu is not None else []):
        key = "signal.counts_per_unit" + (f".{c}" if c else "")
        if c and c not in every:
            raise _err(p, key, f"is not a channel; channels: {', '.join(every)}")
        if isinstance(v, bool) or not isinstance(v, _NUM) or not v > 0:
            raise _err(p, key, f"must be a number > 0 (raw counts per {m.unit_of(c or ch[0]) or 'unit'}), got {v!r}")
    flat = sig["may_be_flat"] or []
    if not all(isinstance(c, str) for c in flat) or not set(flat) <= set(ch):
        raise _err(p, "signal.may_be_flat", f"must list required channels ({', '.join(ch)}), got {flat!r}")
    if sig["max_gap_s"] is not None and not sig["max_gap_s"] > 0:
        raise _err(p, "signal.max_gap_s", f"must be > 0 seconds, got {sig['max_gap_s']!r}")
    from .dsp.resample import METHODS

    if sig["resample"] not in METHODS:
        raise _err(p, "signal.resample", f"{sig['resample']!r} not allowed; allowed: {', '.join(METHODS)}")
    bad = [c for c in sig["totals"] if c not in every]
    if bad:
        raise _err(p, "signal.totals", f"{bad[0]!r} is not a channel; channels: {', '.join(every)}")


def _check_sources(m: Manifest) -> None:
    p, ds = m.path, m.dataset
    if not ds["sources"]:
        if not ds["name"]:
            raise _err(p, "dataset.name", "is required (or list the sources in [[dataset.sources]])")
        return
    names = []
    for i, src in enumerate(ds["sources"]):
        where = f"dataset.sources[{i}]"
        if not isinstance(src, dict):
            raise _err(p, where, "must be a table ([[dataset.sources]])")
        extra = sorted(set(src) - set(SOURCE_KEYS))
        if extra:
            raise _err(p, f"{where}.{extra[0]}", f"unknown key; allowed: {', '.join(SOURCE_KEYS)}")
        for key, types in SOURCE_KEYS.items():
            v = src.get(key)
            if v is not None and ((isinstance(v, bool)) or not isinstance(v, types)):
                names_t = " or ".join(t.__name__ for t in types)
                raise _err(p, f"{where}.{key}", f"must be {names_t}, got {type(v).__name__} {v!r}")
        if not src.get("name"):
            raise _err(p, f"{where}.name", "is required (a folder under datasets/)")
        if src.get("weight", 1.0) < 0:
            raise _err(p, f"{where}.weight", f"must be >= 0, got {src['weight']}")
        if "models" in src:
            _check_source_models(m, f"{where}.models", src["models"])
        names.append(src["name"])
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise _err(p, "dataset.sources", f"source {dup[0]!r} is listed twice")
    for model in [PRIMARY_MODEL, *m.models]:
        if all(model not in src.get("models", [model]) for src in ds["sources"]):
            section = "model" if model == PRIMARY_MODEL else f"{MODELS}.{model}"
            raise _err(p, "dataset.sources", f"no source trains [{section}]: add {model!r} to a source's models "
                                             "(or leave `models` out of one: it then trains every model)")


def _check_source_models(m: Manifest, where: str, models: list) -> None:
    """A source's `models`: the models it trains, by name ("model" the primary, else a [models.<name>])."""
    known = [PRIMARY_MODEL, *m.models]
    if not models:
        raise _err(m.path, where, f"must name at least one model (leave it out to train every model); models: "
                                  f"{', '.join(known)}")
    for name in models:
        if not isinstance(name, str) or name not in known:
            raise _err(m.path, where, f"{name!r} is no model of this app; models: {', '.join(known)} "
                                      f"({PRIMARY_MODEL!r} is [model])")
    dup = sorted({n for n in models if models.count(n) > 1})
    if dup:
        raise _err(m.path, where, f"names {dup[0]!r} twice")
