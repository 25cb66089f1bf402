"""The committed model against a candidate on the VALIDATION subjects only: the figures of an adoption criterion
in the app's README ("Tried"): `--rule realpos` (default; 2026-12-06, other people's hip and pocket recordings in
training) or `--rule winback` (2026-12-07, SisFall weighed up to win back its falls).

    SISFALL=<folder> MOBIFALL=<folder> SMARTFALLMM=<folder> \
        .venv/bin/python apps/fall-detect/compare.py [--rule winback] --candidate <training run folder>

The validation split is the manifest's (every source's folder must be set): SisFall's and the generator's
validation subjects must be the ones the committed model's card records (the criterion compares on subjects
neither model trained on), else it stops. Figures, each for the committed int8 model, the candidate int8 and
the candidate float (its run's float/model.keras, for the int8 drop):
(a) the MobiFall and SmartFallMM validation subjects' hip and pocket fall trials, pooled, detected as `predict`
    streams a file (any fall alert in the trial), and the paired difference candidate minus committed with a
    95 % cluster bootstrap interval over those subjects (2,000 resamples, seed 0);
(b) SisFall validation sensitivity and specificity and the synthetic validation streams' false alarms per hour,
    by the card's event definitions (tinyml.scoring.evaluate_events), with the committed model's exact 95 %
    intervals (Clopper-Pearson; Poisson for the rate);
and, for `winback`, the SisFall validation fall windows (the card's held-out window examples, seed 0, those
labelled fall) the model confirms (P(fall) at or above fall_threshold, the post-processor's int8 compare) and
their mean P(fall).
Prints one JSON object with the rule's decision (realpos: (a), (b) and the validation part of (c); winback: (a)-(c)
and the validation part of (d)). Test subjects are never read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REAL_SOURCES = ("mobifall", "smartfallmm")  # the hip and pocket sources (their default sensors)
KEPT_SOURCES = ("sisfall", "synthetic-falls")  # the committed model's: their validation subjects must be its own


def source_of(rec) -> str:
    return rec.cohort.split("/")[0]


def check_same_validation(val, card: dict) -> None:
    """Stop when SisFall's or the generator's validation subjects differ from those the committed card records."""
    from tinyml.data.splits import recorded_split
    from tinyml.errors import TinymlError

    recorded = set().union(*((recorded_split(card, s) or {}).get("val", set()) for s in KEPT_SOURCES))
    now = {r.subject for r in val if source_of(r) in KEPT_SOURCES}
    if now != recorded:
        raise TinymlError(f"SisFall's and the generator's validation subjects differ from the committed model's "
                          f"({len(now ^ recorded)} differ, e.g. {sorted(now ^ recorded)[0]}): set SISFALL as when "
                          "it was trained; the comparison needs subjects neither model trained on")


def detected_as_predict(app, pipe, recs) -> list[bool]:
    """Per fall trial: whether `predict` streaming it (no lead-in) raises a fall alert."""
    from tinyml.predict import prepare

    fall = app.manifest.labels.index("fall")
    return [any(lab == fall for _, lab, _ in pipe.run(prepare(app, r, notice=False)).events) for r in recs]


def base_figures(app, pipe, recs) -> dict:
    """SisFall validation sensitivity and specificity, synthetic validation false alarms per hour (counts)."""
    from tinyml.scoring import evaluate_events

    e = evaluate_events(app, pipe, recs)
    return {"falls": [e["event_hits"], e["event_trials"]], "adl": [e["event_free_clean"], e["event_free_trials"]],
            "false_alarms": [e.get("false_alarms", 0), e.get("stream_hours", 0.0)], "measured_on": e.get("measured_on")}


def paired_difference(subjects: list[str], a: list[bool], b: list[bool]) -> dict:
    """Share detected by b minus by a over the same trials, with a cluster bootstrap 95 % interval over subjects."""
    from tinyml.metrics import cluster_bootstrap_ci

    names = sorted(set(subjects))
    idx = np.array([names.index(s) for s in subjects])
    diff = np.bincount(idx, np.asarray(b, float) - np.asarray(a, float), len(names))
    n = np.bincount(idx, minlength=len(names)).astype(float)
    lo, hi = cluster_bootstrap_ci({"d": diff, "n": n}, lambda s: s["d"] / s["n"], seed=0)
    return {"value": float(diff.sum() / n.sum()), "ci": [round(float(lo), 4), round(float(hi), 4)],
            "subjects": len(names), "trials": int(n.sum())}


def fall_windows(app, fx, falls) -> list[tuple[np.ndarray, np.ndarray]]:
    """The fall trials' held-out windows and their classes, a group of trials at a time (make_examples without
    augmentation, generator seed 0, as the card's window metrics draw them): built once, scored by every model
    compared."""
    from tinyml.scoring import held_out_examples

    return [(X, np.asarray(y)) for X, y, _ in held_out_examples(app, app.pipeline.make_examples, falls, fx, seed=0)]


def fall_windows_confirmed(app, pipe, windows) -> dict:
    """Of the fall trials' fall windows (fall_windows): how many the model confirms (its int8-grid fall score at or
    above the post-processor's fall_threshold compare) of how many, and their mean P(fall)."""
    from tinyml.features import dequantize

    fall = app.manifest.labels.index("fall")
    parts = [np.zeros(0, np.int8)]
    for X, y in windows:
        q = pipe.scorer(X) if pipe.scorer is not None else pipe.int8_scores(X)[1]
        parts.append(np.asarray(q, np.int8)[y == fall, fall])
    q = np.concatenate(parts)
    o = pipe.model.output
    return {"confirmed": [int((q.astype(np.int64) >= pipe.postprocessor().threshold_q).sum()), len(q)],
            "mean_p": round(float(dequantize(q, o.scale, o.zero_point).mean()), 5) if len(q) else float("nan")}


def model_figures(app, pipe, base, real_falls, sisfall_windows) -> dict:
    det = detected_as_predict(app, pipe, real_falls)
    return {"real_falls": [int(sum(det)), len(det)], "real_detected": det, **base_figures(app, pipe, base),
            "sisfall_fall_windows": fall_windows_confirmed(app, pipe, sisfall_windows)}


def compared_figures(app, pipes: dict, base, real_falls) -> dict:
    """model_figures of each pipeline (name -> Pipeline; one app, so one feature extractor) on the same trials;
    the SisFall fall trials' windows built once for all of them."""
    sisfall_falls = [r for r in base if source_of(r) == "sisfall" and r.label == "fall"]
    windows = fall_windows(app, next(iter(pipes.values())).fx, sisfall_falls)
    return {name: model_figures(app, p, base, real_falls, windows) for name, p in pipes.items()}


def _share(kn) -> float:
    """k of n as a share (nan when n is 0)."""
    return kn[0] / kn[1] if kn[1] else float("nan")


def _rate(kh) -> float:
    """k in h hours as a rate per hour (nan when h is 0)."""
    return kh[0] / kh[1] if kh[1] else float("nan")


def decide(app, comm: dict, cand: dict, flt: dict, diff: dict) -> dict:
    """The criterion's (a), (b) and the validation part of (c) (int8 drop), each with its reason."""
    from tinyml.metrics import clopper_pearson, poisson_rate_ci

    acc = app.manifest.acceptance
    sens_lo = clopper_pearson(*comm["falls"])[0]
    spec_lo = clopper_pearson(*comm["adl"])[0]
    fa_hi = poisson_rate_ci(*comm["false_alarms"])[1]
    b = {"sensitivity": _share(cand["falls"]) >= max(acc["sensitivity"], sens_lo),
         "specificity": _share(cand["adl"]) >= max(acc["specificity"], spec_lo),
         "false_alarms_per_hour": _rate(cand["false_alarms"]) <= min(acc["max_false_alarms_per_hour"], fa_hi)}
    drops = {"real_sensitivity": _share(flt["real_falls"]) - _share(cand["real_falls"]),
             "sensitivity": _share(flt["falls"]) - _share(cand["falls"]),
             "specificity": _share(flt["adl"]) - _share(cand["adl"]),
             "false_alarms_per_hour": _rate(cand["false_alarms"]) - _rate(flt["false_alarms"])}
    limit = float(acc["max_int8_drop"]) / 100
    return {"a": diff["ci"][0] > 0, "b": b, "b_bounds": {"sensitivity": round(sens_lo, 4),
                                                         "specificity": round(spec_lo, 4),
                                                         "false_alarms_per_hour": round(fa_hi, 4)},
            "c_int8_drop_points": {k: round(100 * v, 3) for k, v in drops.items()},
            "c_int8_drop_ok": all(v <= limit for v in drops.values())}


# the winback rule's bounds (README, Tried 2026-12-07), fixed before the candidate was trained
REAL_FEWER_AT_MOST = 4  # real hip/pocket validation falls the candidate may miss more than the committed model
ADL_FEWER_AT_MOST = 2  # SisFall validation daily activities it may alarm on more
FALSE_ALARM_RISE_AT_MOST = 0.16  # per hour, on the synthetic validation streams


def windows_gain(comm: dict, cand: dict) -> bool:
    """(a2): a larger share of the SisFall fall windows confirmed; when the committed model confirms every
    one, a higher mean P(fall)."""
    c, k = comm["sisfall_fall_windows"], cand["sisfall_fall_windows"]
    if c["confirmed"][0] == c["confirmed"][1]:
        return k["mean_p"] > c["mean_p"]
    return k["confirmed"][0] / k["confirmed"][1] > c["confirmed"][0] / c["confirmed"][1]


def decide_winback(app, comm: dict, cand: dict, flt: dict) -> dict:
    """The winback rule's (a)-(c) and the validation part of (d) (int8 drop), each on its own."""
    acc = app.manifest.acceptance
    a = {"sisfall_events": cand["falls"][0] >= comm["falls"][0], "sisfall_windows": windows_gain(comm, cand)}
    b = cand["real_falls"][0] >= comm["real_falls"][0] - REAL_FEWER_AT_MOST
    c = {"specificity": _share(cand["adl"]) >= acc["specificity"]
         and cand["adl"][0] >= comm["adl"][0] - ADL_FEWER_AT_MOST,
         "false_alarms_per_hour": _rate(cand["false_alarms"]) <= acc["max_false_alarms_per_hour"]
         and _rate(cand["false_alarms"]) <= _rate(comm["false_alarms"]) + FALSE_ALARM_RISE_AT_MOST + 1e-9}
    windows = lambda f: _share(f["sisfall_fall_windows"]["confirmed"])  # noqa: E731
    drops = {"sensitivity": _share(flt["falls"]) - _share(cand["falls"]),
             "fall_windows_confirmed": windows(flt) - windows(cand),
             "real_sensitivity": _share(flt["real_falls"]) - _share(cand["real_falls"]),
             "specificity": _share(flt["adl"]) - _share(cand["adl"]),
             "false_alarms_per_hour": _rate(cand["false_alarms"]) - _rate(flt["false_alarms"])}
    d = all(v <= float(acc["max_int8_drop"]) / 100 for v in drops.values())
    return {"a": a, "b": b, "c": c, "d_int8_drop_points": {k: round(100 * v, 3) for k, v in drops.items()},
            "d_int8_drop_ok": d, "adopt_on_validation": all(a.values()) and b and all(c.values()) and d}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--candidate", required=True, help="the candidate's training run folder")
    ap.add_argument("--rule", choices=("realpos", "winback"), default="realpos",
                    help="the README criterion decided: realpos (2026-12-06) or winback (2026-12-07)")
    args = ap.parse_args(argv)
    from tinyml.apps import load_app
    from tinyml.data import load_splits
    from tinyml.errors import TinymlError
    from tinyml.predict import Pipeline
    from tinyml.scoring import FloatScorer

    app = load_app(HERE.name)
    run = Path(args.candidate)
    try:
        if not (run / "model.int8.tflite").is_file() or not (run / "float" / "model.keras").is_file():
            raise TinymlError(f"{run}: not a training run folder (model.int8.tflite and float/model.keras)")
        _, val, _ = load_splits(app.manifest, progress=False)
        check_same_validation(val, json.loads((app.model_dir / "card.json").read_text()))
        if not {source_of(r) for r in val} >= set(REAL_SOURCES):
            raise TinymlError("set MOBIFALL and SMARTFALLMM: the criterion needs their validation subjects")
        base = [r for r in val if source_of(r) in KEPT_SOURCES]
        real_falls = [r for r in val if source_of(r) in REAL_SOURCES and r.label == "fall"]
        committed = Pipeline(app)
        candidate = Pipeline(app, (run / "model.int8.tflite").read_bytes())
        import keras

        o = candidate.model.output
        floated = Pipeline(app, candidate.model.bytes, scorer=FloatScorer(
            keras.models.load_model(run / "float" / "model.keras", compile=False), o.scale, o.zero_point))
        figs = compared_figures(app, {"committed": committed, "candidate": candidate, "candidate_float": floated},
                                base, real_falls)
    except TinymlError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    subjects = [r.subject for r in real_falls]
    diff = paired_difference(subjects, figs["committed"]["real_detected"], figs["candidate"]["real_detected"])
    out = {"validation_real_subjects": sorted(set(subjects)),
           "real_falls_by_source": {s: sum(source_of(r) == s for r in real_falls) for s in REAL_SOURCES},
           "paired_difference": diff,
           **{k: {kk: vv for kk, vv in v.items() if kk != "real_detected"} for k, v in figs.items()},
           "decision": (decide(app, figs["committed"], figs["candidate"], figs["candidate_float"], diff)
                        if args.rule == "realpos" else
                        decide_winback(app, figs["committed"], figs["candidate"], figs["candidate_float"]))}
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
