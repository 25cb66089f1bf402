"""`tinyml eim <app>`: the app as an Edge Impulse Linux model (.eim), for gateways that run Edge Impulse's SDK.

The .eim is a native executable built with the host board from the same app.c, runtime and generated model as
the firmware, with firmware/eim/eim_main.c as its main() (read its header for the protocol). What the SDK's
hello reports (sensor, frequency, axes, labels, thresholds) is generated here from the manifest into
eim_config.h, never written by hand; the [postprocess] thresholds become variables that `set_threshold` changes.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..apps import App
from ..device.config import c_float, c_name, c_string, write_generated
from ..errors import TinymlError
from ..paths import build_dir, firmware_dir

EIM_DIR = "eim"  # firmware/eim: the .eim's main and its JSON reader/writer

# Edge Impulse's sensor codes (model_parameters.sensor), by a word of the manifest's [signal] sensor.
SENSOR_WORDS = (("micro", 1), ("accel", 2), ("vibration", 2), ("camera", 3), ("imu", 4), ("soil", 5),
                ("environment", 5), ("temperature", 5), ("humidity", 5), ("moisture", 5))
PCM16 = 32768.0  # Edge Impulse feeds audio as int16 sample values; our manifests say "full scale" (int16 / 32768)


@dataclass(frozen=True)
class EimSpec:
    """What the .eim tells the SDK, from the manifest."""

    window: int  # raw samples per classify
    axes: list[str]  # channels, interleaved in this order
    required: int  # the first `required` axes must be finite; the others are optional (NaN = missing)
    divisor: float  # feature value / divisor = the manifest's unit
    thresholds: dict[str, float]  # [postprocess] thresholds set_threshold may change, in order
    anomaly_value: int  # index into [app] values reported as result.anomaly, or -1
    project: dict
    params: dict
    multilabel: bool = False  # [model] output = "multilabel": scores are logits, reported as sigmoid(logit) like predict
    # per axis, in the manifest's units: its plausible_range; (-inf, inf) for an axis without one, and for int16
    # audio (no other unit possible)
    ranges: tuple[tuple[float, float], ...] = ()
    units: tuple[str, ...] = ()  # per axis, the manifest's unit
    typical_top: float = 0.0  # typical_magnitude's top (0: none)

    @property
    def features(self) -> int:
        return self.window * len(self.axes)

    @property
    def limits(self) -> tuple[tuple[float, float], ...]:
        """Per axis, the (lo, hi) outside which a window's median is far outside its range (a wrong unit)."""
        from ..units import far_outside_limits

        return tuple(far_outside_limits(r) if all(map(math.isfinite, r)) else r for r in self.ranges)

    @property
    def magnitude_max(self) -> float:
        """A window whose median |required axes| is above this is in another unit (0: no check)."""
        from ..units import far_above_magnitude

        return far_above_magnitude((0.0, self.typical_top)) if self.typical_top else 0.0


def sensor_code(sensor: str) -> int:
    s = sensor.lower()
    return next((code for word, code in SENSOR_WORDS if word in s), -1)


def postprocess_thresholds(m) -> dict[str, float]:
    """[postprocess] keys named threshold or *_threshold holding a probability."""
    out = {}
    for k, v in m.postprocess.items():
        if (k == "threshold" or k.endswith("_threshold")) and isinstance(v, float) and 0.0 <= v <= 1.0:
            out[k] = v
    return out


def eim_spec(app: App) -> EimSpec:
    m = app.manifest
    window = int(m.features["window"])
    axes = list(m.channels)
    audio = sensor_code(m.signal["sensor"]) == 1 and m.signal.get("units") == "full scale"
    thresholds = postprocess_thresholds(m)
    anomaly = next((i for i, v in enumerate(m.values) if v.startswith("anomaly")), -1)
    rate = float(m.rate)
    params = {
        "sensor": sensor_code(m.signal["sensor"]),
        "frequency": rate,
        "interval_ms": 1000.0 / rate,
        "axis_count": len(axes),
        "axis_names": axes,
        "input_features_count": window * len(axes),
        "slice_size": int(m.features["hop"]) * len(axes),
        "use_continuous_mode": False,
        "labels": list(m.labels),
        "label_count": len(m.labels),
        "has_anomaly": 1 if anomaly >= 0 else 0,
        "model_type": "classification",
        "values": list(m.values),
        "events": list(m.event_names),
        "units": "int16" if audio else m.signal.get("units", ""),
        "threshold": next(iter(thresholds.values()), 0.0),
        "image_input_width": 0,
        "image_input_height": 0,
        "image_input_frames": 0,
        "image_channel_count": 0,
        "image_resize_mode": "none",
        "inferencing_engine": 0,
    }
    project = {"id": 0, "owner": "tinyml-reference", "name": m.id, "title": m.app.get("title", m.id),
               "deploy_version": int(m.features.get("version", 1)), "feature_hash": m.feature_hash()}
    from ..output_lines import scores_are_logits

    multilabel = scores_are_logits(m)
    return EimSpec(window, axes, len(m.signal["channels"]), PCM16 if audio else 1.0, thresholds, anomaly, project, params,
                   multilabel, *unit_checks(m, axes, audio))


def unit_checks(m, axes: list[str], audio: bool) -> tuple[tuple, tuple, float]:
    """(ranges, units per axis, typical_top): what `tinyml predict` judges a recording's unit by, for one window, with
    room for a sensor fault (what some apps detect; EimSpec.limits, magnitude_max): an axis median far outside its
    plausible_range, a median magnitude far above typical_magnitude's top (a quiet window, an idle machine or
    silence, is no wrong unit). None for int16 audio: its samples cannot carry another unit."""
    from ..readers import ReadSpec

    spec = ReadSpec.from_manifest(m)
    unchecked = (-float("inf"), float("inf"))
    ranges = tuple(tuple(spec.plausible_range[a]) if a in spec.plausible_range and not audio else unchecked
                   for a in axes)
    typical = spec.typical_magnitude if not audio else None
    return ranges, tuple(m.unit_of(a) for a in axes), float(typical[1]) if typical else 0.0


def brace_safe(text: str) -> str:
    """JSON text whose strings spell '{' and '}' as \\u007b and \\u007d: the SDK finds the end of a reply by
    counting braces, strings included."""
    out, in_str, esc = [], False, False
    for ch in text:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
            elif ch in "{}":
                ch = "\\u%04x" % ord(ch)
        elif ch == '"':
            in_str = True
        out.append(ch)
    return "".join(out)


def eim_config_h(spec: EimSpec) -> str:
    params = brace_safe(json.dumps(spec.params, separators=(",", ":")))
    assert params.startswith("{") and params.endswith("}")
    names = list(spec.thresholds) or [""]
    defaults = list(spec.thresholds.values()) or [0.0]
    lines = [
        "/* eim_config.h: what the .eim reports to Edge Impulse's SDK; generated by tinyml.gateway.eim. Do not edit. */",
        "#ifndef TML_EIM_CONFIG_H",
        "#define TML_EIM_CONFIG_H",
        f"#define TML_EIM_WINDOW {spec.window}",
        # event times in double from the manifest's rate, as predict computes them (a float32 rate is off by
        # seconds at one sample per 15 minutes)
        f"#define TML_EIM_RATE_HZ {float(spec.params['frequency'])!r}",
        f"#define TML_EIM_N_REQUIRED {spec.required}",
        f"#define TML_EIM_AXIS_NAMES {{{', '.join(c_string(a) for a in spec.axes)}}}",
        f"#define TML_EIM_INPUT_DIVISOR {c_float(spec.divisor)}",
        f"#define TML_EIM_ANOMALY_VALUE ({spec.anomaly_value})",
        f"#define TML_EIM_MULTILABEL {1 if spec.multilabel else 0}",
        f"#define TML_EIM_N_THRESHOLDS {len(spec.thresholds)}",
        f"#define TML_EIM_THRESHOLD_NAMES {{{', '.join(c_string(n) for n in names)}}}",
        f"#define TML_EIM_THRESHOLD_DEFAULTS {{{', '.join(c_float(v) for v in defaults)}}}",
        f"#define TML_EIM_EVENT_NAMES {{{', '.join(c_string(n) for n in spec.params['events'])}}}",
        f"#define TML_EIM_AXIS_UNITS {{{', '.join(c_string(u) for u in spec.units)}}}",
        f"#define TML_EIM_RANGE_LO {{{', '.join(_c_limit(lo) for lo, _ in spec.ranges)}}}",
        f"#define TML_EIM_RANGE_HI {{{', '.join(_c_limit(hi) for _, hi in spec.ranges)}}}",
        f"#define TML_EIM_LIMIT_LO {{{', '.join(_c_limit(lo) for lo, _ in spec.limits)}}}",
        f"#define TML_EIM_LIMIT_HI {{{', '.join(_c_limit(hi) for _, hi in spec.limits)}}}",
        f"#define TML_EIM_TYPICAL_TOP {c_float(spec.typical_top)}",
        f"#define TML_EIM_MAGNITUDE_MAX {c_float(spec.magnitude_max)}",
        f"#define TML_EIM_PROJECT_JSON {c_string(brace_safe(json.dumps(spec.project, separators=(',', ':'))))}",
        f"#define TML_EIM_PARAMS_JSON {c_string(params[1:-1])}",
    ]
    return "\n".join(lines + ["#endif", ""])


def _c_limit(x: float) -> str:
    return "INFINITY" if x == float("inf") else "(-INFINITY)" if x == float("-inf") else c_float(x)


def threshold_overrides(spec: EimSpec) -> str:
    """app_config.h of the .eim reads the thresholds from variables (set_threshold), not constants."""
    if not spec.thresholds:
        return ""
    lines = ["/* .eim build: [postprocess] thresholds are variables that set_threshold changes */",
             "extern float tml_eim_threshold[];"]
    for i, k in enumerate(spec.thresholds):
        name = c_name("TML_CFG_POSTPROCESS", k)
        lines += [f"#undef {name}", f"#define {name} (tml_eim_threshold[{i}])"]
    return "\n".join(lines)


def eim_path(app: App) -> Path:
    return build_dir(app.id) / "host" / f"{app.id}.eim"


def build_eim(app: App) -> Path:
    """Build build/<id>/host/<id>.eim (mode 0755) and return its path."""
    from ..device.firmware import build_app

    if not app.tflite_path.is_file():
        raise TinymlError(f"{app.tflite_path}: no committed model to build the .eim from")
    spec = eim_spec(app)
    base = build_dir(app.id) / "eim"
    inc = base / "include"
    write_generated(inc / "eim_config.h", eim_config_h(spec))
    src = firmware_dir() / EIM_DIR
    im = build_app(app, "host", out_dir=base, main=src / "eim_main.c", extra_sources=[src / "tml_json.c"],
                   extra_includes=[inc, src], config_extra=threshold_overrides(spec))
    out = eim_path(app)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}")
    shutil.copyfile(im.elf, tmp)
    tmp.chmod(0o755)
    tmp.replace(out)
    return out
