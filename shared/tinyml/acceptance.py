"""The manifest's [acceptance] against an evaluation: floors, ceilings and the int8 changes they bound.

Metrics are looked up in one flat view of an evaluation: the primary model's metrics and the app's own
(the pipeline's evaluate hook) by name, each further model's as "<model>.<metric>". [acceptance] keys name
them the same way: `sensitivity = 0.95` (a floor), `max_false_alarms_per_hour = 0.5` (a ceiling: max_),
and a table per further model, `[acceptance.beat] macro_f1 = 0.9` (checked as beat.macro_f1).
`max_model_bytes` at the top bounds the sum of every model's bytes; in a model's table, that model's.

int8 against float, two figures cover every model and the app's metrics:
- int8_drop, in points: the largest loss over the rate metrics, i.e. the primary model's sensitivity,
  specificity and balanced accuracy, each further classifier's balanced accuracy, and every other metric
  with a floor whose float and int8 values lie in [0, 1] (an accuracy, an AUC, an F1);
- int8_error_increase_pct, in percent: the largest relative increase of an error, i.e. each regression
  model's MAE and every app metric with a max_ ceiling (an MAE in bpm, say).
"""

from __future__ import annotations

import numpy as np

PRIMARY_RATES = ("sensitivity", "specificity", "balanced_accuracy")


def flat_metrics(metrics: dict, models: dict[str, dict]) -> dict:
    """One view: `metrics` (primary and app) as they are, each further model's `models[name]` as name.key."""
    out = dict(metrics)
    for name, mm in models.items():
        out.update({f"{name}.{k}": v for k, v in mm.items()})
    return out


def acceptance_items(acceptance: dict) -> list[tuple[str, str, float, bool]]:
    """(manifest key, metric name in the flat view, limit, is_ceiling) for every floor and ceiling."""
    items = []
    for key, limit in acceptance.items():
        if isinstance(limit, dict):  # [acceptance.<model>]
            items += [(f"{key}.{k}", f"{key}.{k[4:] if k.startswith('max_') else k}", float(v), k.startswith("max_"))
                      for k, v in limit.items()]
        else:
            items.append((key, key[4:] if key.startswith("max_") else key, float(limit), key.startswith("max_")))
    return items


def check_acceptance(acceptance: dict, flat: dict) -> list[str]:
    """One line per floor missed (or ceiling passed); a metric the evaluation lacks is a failure too."""
    failures = []
    for key, name, limit, ceiling in acceptance_items(acceptance):
        if name not in flat:
            failures.append(f"{key}: no such metric in the evaluation")
            continue
        v = flat[name]
        if not (v <= limit if ceiling else v >= limit):  # NaN fails both
            failures.append(f"{name} = {v:.4g} {'>' if ceiling else '<'} {limit:g}")
    return failures


def _finite(*vs) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in vs)


def int8_drop(float_m: dict, int8_m: dict, keys) -> float:
    """Largest loss, in percentage points, from float to int8 over `keys` (rates in [0, 1]); 0 if none."""
    # rounded to 1e-9 points (far below one trial in any held-out set): 0.60 - 0.59 is 1.0000000000000009
    # points in binary floating point, which a ceiling of 1.0 would otherwise reject
    drops = [round(100 * (float_m[k] - int8_m[k]), 9) for k in keys
             if k in float_m and k in int8_m and _finite(float_m[k], int8_m[k])]
    return max(drops, default=0.0)


def int8_error_increase(float_m: dict, int8_m: dict, keys) -> float:
    """Largest relative increase, in percent, from float to int8 over `keys` (errors > 0); 0 if none."""
    ups = [100 * (int8_m[k] - float_m[k]) / float_m[k] for k in keys
           if k in float_m and k in int8_m and _finite(float_m[k], int8_m[k]) and float_m[k] > 0]
    return max(ups, default=0.0)


def int8_changes(acceptance: dict, float_flat: dict, int8_flat: dict, outputs: dict[str, str],
                 app_keys=()) -> dict:
    """{"int8_drop": points, "int8_error_increase_pct": percent} over the metrics the module docstring
    lists, and the metrics each was taken over ("int8_drop_over", "int8_error_increase_over"). `outputs`: each further model's kind ("classes" or "regression"); `app_keys`: the names of the
    app's own metrics (the evaluate hook's)."""
    rates = list(PRIMARY_RATES) + [f"{n}.balanced_accuracy" for n, kind in outputs.items() if kind == "classes"]
    errors = [f"{n}.mae" for n, kind in outputs.items() if kind == "regression"]
    for _, name, _, ceiling in acceptance_items(acceptance):
        if "." in name or name in rates or name in errors or name in ("model_bytes", "int8_drop",
                                                                      "int8_error_increase_pct"):
            continue
        f, q = float_flat.get(name), int8_flat.get(name)
        if not _finite(f, q):
            continue
        if ceiling:
            if name in app_keys:
                errors.append(name)
        elif 0 <= f <= 1 and 0 <= q <= 1:
            rates.append(name)
    def present(keys):
        return [k for k in keys if _finite(float_flat.get(k), int8_flat.get(k))]

    return {"int8_drop": int8_drop(float_flat, int8_flat, rates),
            "int8_error_increase_pct": int8_error_increase(float_flat, int8_flat, errors),
            "int8_drop_over": present(rates), "int8_error_increase_over": present(errors)}
