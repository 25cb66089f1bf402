"""Generate app_config.h from the manifest: the constants the firmware needs, nothing copied by hand.

Every scalar and array in [signal], [features] and [postprocess] becomes TML_CFG_<SECTION>_<KEY>
(nested tables and chain steps flatten with '_': TML_CFG_FEATURES_CHAIN_0_BLOCK,
TML_CFG_POSTPROCESS_SMOOTHING_N, ...). Numbers keep their float32 value exactly (9 significant
digits); arrays become brace initialisers with a _LEN (2-D: _ROWS and _COLS), usable as
`static const float th[] = TML_CFG_POSTPROCESS_THRESHOLDS;`. Plus the app id, the labels, the values and
beat labels ([app] values, beat_labels: TML_CFG_N_VALUES, TML_CFG_VALUE_<NAME>, TML_CFG_N_BEAT_LABELS,
TML_CFG_BEAT_LABEL_<NAME>), and the feature hash that the device reports in its hello frame and the host checks.

Deployment sections ([app] deployment = ["machine"]) follow the same rule: TML_CFG_MACHINE_SHAFT_HZ;
a string stays a quoted constant, and a string with declared choices ([machine.allowed]) also gets
its position among them, TML_CFG_MACHINE_BEARING_INDEX, for a `switch` in C. A `--set` override
changes the values here, and the firmware build is keyed by this text (tinyml.device.firmware).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from ..errors import TinymlError
from ..manifest import Manifest

_BAD = re.compile(r"[^A-Za-z0-9]+")


def c_name(*parts) -> str:
    return "_".join(_BAD.sub("_", str(p)).strip("_").upper() for p in parts if str(p) != "")


def c_string(s: str) -> str:
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif 32 <= ord(ch) < 127:
            out.append(ch)
        else:
            out.extend(f"\\{b:03o}" for b in ch.encode("utf-8"))
    return '"' + "".join(out) + '"'


def c_float(v: float) -> str:
    f = np.float32(v)
    if not np.isfinite(f):
        raise TinymlError(f"value {v!r} is not a finite float32")
    s = f"{float(f):.9g}"
    if "e" not in s and "." not in s:
        s += ".0"
    return s + "f"


def c_int(v: int) -> str:
    if -(2**31) <= v < 2**31:
        return str(v)
    if -(2**63) <= v < 2**63:
        return f"{v}LL"
    raise TinymlError(f"integer {v} does not fit 64 bits")


def c_scalar(v) -> str:
    """A macro body: negative numbers are parenthesised so `-TML_CFG_X` and `a-TML_CFG_X` stay right."""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, (int, float)):
        text = c_int(v) if isinstance(v, int) else c_float(v)
        return f"({text})" if text.startswith("-") else text
    if isinstance(v, str):
        return c_string(v)
    raise TypeError(type(v).__name__)


def _array(v: list) -> str:
    if all(isinstance(x, str) for x in v):
        return "{" + ", ".join(c_string(x) for x in v) + "}"
    nums = [x for x in v if isinstance(x, (int, float)) and not isinstance(x, bool)]
    if len(nums) == len(v):
        if any(isinstance(x, float) for x in v):
            return "{" + ", ".join(c_float(x) for x in v) + "}"
        return "{" + ", ".join(c_int(x) for x in v) + "}"
    if all(isinstance(x, bool) for x in v):
        return "{" + ", ".join("1" if x else "0" for x in v) + "}"
    raise TypeError("mixed array")


def _names_deployment_value(v) -> bool:
    """A chain parameter that names a deployment value ("@machine.bpfo"), alone or in a list."""
    if isinstance(v, str):
        return v.startswith("@")
    return isinstance(v, list) and any(isinstance(x, str) and x.startswith("@") for x in v)


def _emit(defs: dict[str, str], name: str, v, where: str) -> None:
    def put(k: str, text: str) -> None:
        if k in defs:
            raise TinymlError(f"{where}: two keys map to the C name {k}; rename one")
        defs[k] = text

    if v is None or _names_deployment_value(v):
        return  # "@machine.shaft_hz": the firmware reads TML_CFG_MACHINE_SHAFT_HZ itself
    if isinstance(v, dict):
        for k, sub in v.items():
            _emit(defs, c_name(name, k), sub, f"{where}.{k}")
        return
    if isinstance(v, list):
        if v and all(isinstance(x, dict) for x in v):
            put(c_name(name, "LEN"), str(len(v)))
            for i, sub in enumerate(v):
                _emit(defs, c_name(name, i), sub, f"{where}[{i}]")
            return
        if v and all(isinstance(x, list) and x and all(isinstance(y, dict) for y in x) for x in v):
            put(c_name(name, "LEN"), str(len(v)))  # lists of steps (concat branches): one level down each
            for i, sub in enumerate(v):
                _emit(defs, c_name(name, i), sub, f"{where}[{i}]")
            return
        if v and all(isinstance(x, list) for x in v):
            cols = {len(x) for x in v}
            if len(cols) != 1:
                raise TinymlError(f"{where}: rows of a 2-D array must have equal length")
            try:
                rows = [_array(x) for x in v]
            except TypeError:
                raise TinymlError(f"{where}: arrays must hold numbers, booleans or strings") from None
            put(name, "{" + ", ".join(rows) + "}")
            put(c_name(name, "ROWS"), str(len(v)))
            put(c_name(name, "COLS"), str(cols.pop()))
            return
        put(c_name(name, "LEN"), str(len(v)))
        if v:  # an empty initialiser is not C99; the _LEN says 0
            try:
                put(name, _array(v))
            except TypeError:
                raise TinymlError(f"{where}: arrays must hold numbers, booleans or strings") from None
        return
    try:
        put(name, c_scalar(v))
    except TypeError:
        raise TinymlError(f"{where}: {type(v).__name__} values cannot go into app_config.h") from None


def config_defines(m: Manifest) -> dict[str, str]:
    defs: dict[str, str] = {}
    labels = m.labels
    defs["TML_CFG_APP_ID"] = c_string(m.id)
    defs["TML_CFG_FEATURE_HASH"] = c_string(m.feature_hash())
    defs["TML_CFG_N_CHANNELS"] = str(len(m.channels))
    defs["TML_CFG_N_LABELS"] = str(len(labels))
    defs["TML_CFG_LABELS"] = _array(labels)
    for i, lab in enumerate(labels):
        defs[c_name("TML_CFG_LABEL", lab)] = str(i)
    # [app] values and beat_labels: counts, names and an index macro each (TML_CFG_VALUE_HR_BPM,
    # TML_CFG_BEAT_LABEL_N), for tml_report_values / tml_report_beat
    defs["TML_CFG_N_VALUES"] = str(len(m.values))
    if m.values:
        defs["TML_CFG_VALUES"] = _array(m.values)
    for i, name in enumerate(m.values):
        defs[c_name("TML_CFG_VALUE", name)] = str(i)
    defs["TML_CFG_N_BEAT_LABELS"] = str(len(m.beat_labels))
    if m.beat_labels:
        defs["TML_CFG_BEAT_LABELS"] = _array(m.beat_labels)
    for i, name in enumerate(m.beat_labels):
        k = c_name("TML_CFG_BEAT_LABEL", name)
        if k in defs:
            raise TinymlError(f"{m.path}: [app] beat_labels: two labels map to the C name {k}; rename one")
        defs[k] = str(i)
    # events: a label's index, or [app] extra_events after the labels (TML_CFG_EVENT_<NAME> for those)
    defs["TML_CFG_N_EVENTS"] = str(len(m.event_names))
    for i, name in enumerate(m.event_names[len(labels):], len(labels)):
        k = c_name("TML_CFG_EVENT", name)
        if k in defs or k in ("TML_CFG_EVENT_LABELS", "TML_CFG_EVENT_LABELS_LEN"):
            raise TinymlError(f"{m.path}: [app] extra_events: {name!r} maps to the C name {k}, already taken; rename it")
        defs[k] = str(i)
    ev = [labels.index(x) for x in m.app.get("event_labels", [])]
    defs["TML_CFG_EVENT_LABELS_LEN"] = str(len(ev))
    if ev:
        defs["TML_CFG_EVENT_LABELS"] = _array(ev)
    for section in ("signal", "features", "postprocess"):
        table = getattr(m, section)
        for k, v in table.items():
            _emit(defs, c_name("TML_CFG", section, k), v, f"{m.path}: [{section}] {k}")
    for section, table in m.deployment.items():
        choices = m.deployment_allowed.get(section, {})
        for k, v in table.items():
            where = f"{m.path}: [{section}] {k}"
            _emit(defs, c_name("TML_CFG", section, k), v, where)
            if isinstance(v, str) and k in choices:
                _emit(defs, c_name("TML_CFG", section, k, "INDEX"), choices[k].index(v), where)
    if "TML_CFG_SIGNAL_RATE" in defs and not defs["TML_CFG_SIGNAL_RATE"].endswith("f"):
        defs["TML_CFG_SIGNAL_RATE"] = c_float(float(m.rate))
    return defs


def app_config_h(m: Manifest, extra: str = "") -> str:
    """`extra`: more C after the definitions (a build that overrides some of them, e.g. the .eim's thresholds)."""
    lines = [
        f"/* app_config.h for app {m.id!r}: generated by tinyml.device.config from {m.path.name}. Do not edit. */",
        "#ifndef TML_APP_CONFIG_H",
        "#define TML_APP_CONFIG_H",
        "",
    ]
    for k, v in config_defines(m).items():
        lines.append(f"#define {k} {v}")
    if extra:
        lines += ["", extra.rstrip("\n")]
    lines += ["", "#endif", ""]
    return "\n".join(lines)


def write_generated(path: Path, text: str) -> Path:
    """Write a generated file only when its text changed (object files keyed on headers stay valid), and
    atomically: a parallel build never reads a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.is_file() or path.read_text() != text:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text)
        tmp.replace(path)
    return path


def write_app_config(m: Manifest, out_dir: Path, extra: str = "") -> Path:
    return write_generated(Path(out_dir) / "app_config.h", app_config_h(m, extra))
