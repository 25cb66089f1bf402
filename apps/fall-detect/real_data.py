"""The committed pipeline on real falls recorded by others (never committed): MobiFall v2.0 and SmartFallMM, each
sensor position apart; of a data set the model trained on (a `[[dataset.sources]]` of its card), only the
subjects its card records as held out (test), so no figure comes from a person it trained on.

    .venv/bin/python apps/fall-detect/real_data.py [--mobifall <MobiFall_Dataset_v2.0 folder>]
        [--smartfallmm <SmartFallMM-Dataset folder>] [--out apps/fall-detect/model] [--model M] [--card C]

- MobiFall v2.0 (Vavoulas et al. 2014): a Samsung Galaxy S3 in a trouser pocket, its accelerometer at about
  81-99 Hz (irregular timestamps, m/s^2, a +-2 g range); 24 people, 4 kinds of fall (3 trials each) and, for 9
  of them, 9 daily activities. Files: `<CODE>_acc_<subject>_<trial>.txt` anywhere under the folder
  (`sub<N>/{FALLS,ADL}/<CODE>/`).
- SmartFallMM (Texas State University): the same activities recorded at once by a MetaMotion sensor on the
  left hip (the waist, as this app is worn) and one on the right wrist (25-50 Hz, g), a phone in the right
  front pocket and a smartwatch on the left wrist (m/s^2); young people performed 5 kinds of fall and 9
  daily activities, older people the daily activities only. Files: `{young,old}/accelerometer/<sensor>/
  S<subject>A<activity>T<trial>.csv` (no heading: the columns are picked by number, as the refusal of a
  headerless file tells a user; a file with a heading is read by its names).

Every file is read as `tinyml predict` reads it (tinyml.predict.read_input_parts: its heading, units, time
column and rate) and scored twice:
1. as the card's held-out trials are (tinyml.scoring.evaluate_events): a fall trial's event is its peak of
   |a| (neither data set has an impact time), detected by a `fall` alert from detect_before_s before to
   detect_after_s after it; a daily-activity trial is clean when no alert comes; each trial starts after a
   lead-in (the device was worn before the trial began);
2. as `predict` streams the file (no lead-in): per trial, a fall is detected when any `fall` event comes,
   and every alert on a daily activity is a false alarm, per hour of daily activity.
Intervals: exact (Clopper-Pearson, Poisson) and a cluster bootstrap over subjects (their trials are not
independent). Figures per data set and sensor position (waist, trunk and pocket positions are the headline
for a waist device; wrist ones apart), by kind of fall and by daily activity. A diagnosis beside them: which
stage missed each fall (the model's P(fall) under fall_threshold, or the impact, stillness and posture
check), and the same trials turned so that their starting gravity reads as the training mounting's (tells
orientation from the rest; never part of the pipeline). A file `predict` refuses (too short for one window,
a clock reset, a corrupt cell) is counted with its reason, not scored. Writes real_data.json into --out and,
when --out holds the model's extras.md, the card's real-data section in it (then `tinyml card
fall-detect`). Evaluation only: nothing here is trained or tuned on. `--card` names the card whose split
decides the held-out subjects (default: the one beside --model, else the committed model's): scoring the
committed model with a candidate's card gives both on the same test subjects.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyml.data import dataset_module

HERE = Path(__file__).resolve().parent

MOBIFALL = dataset_module("mobifall")  # the loaders: their file listings, activity codes and sensors
SMARTFALLMM = dataset_module("smartfallmm")
MOBIFALL_POSITION = MOBIFALL.POSITION
# the app is a waist wearable: waist, trunk and pocket positions are its headline, the others are listed apart
HEADLINE_POSITIONS = {"hip (MetaMotion sensor)", "front trouser pocket (phone)", MOBIFALL_POSITION}
DATASETS = {
    "MobiFall v2.0": {
        "citation": "G. Vavoulas, M. Pediaditis, C. Chatzaki, E. G. Spanakis, M. Tsiknakis, \"The MobiFall Dataset: "
                    "Fall Detection and Classification with a Smartphone\", *International Journal of Monitoring "
                    "and Surveillance Technologies Research* 2(1):44-56, 2014, doi:10.4018/ijmstr.2014010103",
        "terms": "free for research from the BMI Lab (Hellenic Mediterranean University, formerly TEI of Crete), "
                 "cite the paper; no licence grants redistribution, so no trial is in this repository (read here "
                 "from a public GitHub re-upload, yehowlong/MobiAct_Dataset_v2.0-MobiFall_Dataset_v2.0, which "
                 "states no licence)",
        "devices": "a Samsung Galaxy S3 in a trouser pocket (+-2 g, m/s^2, about 81-99 Hz, irregular timestamps)",
        "activities": MOBIFALL.ACTIVITIES,
    },
    "SmartFallMM": {
        "citation": "SmartFallMM: A Multimodal Dataset Collected with Commodity Devices, Texas State University "
                    "(A. Ngu's group), github.com/txst-cs-smartfall/SmartFallMM-Dataset (its paper is announced)",
        "terms": "published on GitHub with no licence stated (all rights reserved by default): read for "
                 "training and evaluation, nothing redistributed here; cite the repository",
        "devices": "MetaMotion sensors on the left hip and the right wrist (g, 25-50 Hz), a phone in the right "
                   "front trouser pocket and a smartwatch on the left wrist (m/s^2)",
        "activities": SMARTFALLMM.ACTIVITIES,
    },
}


@dataclass(frozen=True)
class Trial:
    path: Path
    dataset: str  # a key of DATASETS
    subject: str  # "<data set>-<person>"
    code: str  # the data set's activity code, e.g. "FOL", "A10"
    label: str  # "fall" or "adl"
    position: str
    picks: tuple[str, ...] = ()  # --channel picks for a file without a heading (by column number)


def mobifall_trials(root: Path) -> list[Trial]:
    """Every MobiFall accelerometer trial under root (datasets/mobifall's listing); other sensors' files are left
    out."""
    return [Trial(p, "MobiFall v2.0", subject, code, "fall" if code in MOBIFALL.FALLS else "adl", MOBIFALL_POSITION)
            for p, subject, code in MOBIFALL.find_trials(root)]


def smartfallmm_trials(root: Path) -> list[Trial]:
    """Every SmartFallMM accelerometer trial under root, every sensor (datasets/smartfallmm's listing)."""
    out = []
    for p, subject, code, sensor, _ in SMARTFALLMM.find_trials(root):
        position, picks = SMARTFALLMM.SENSORS[sensor]
        out.append(Trial(p, "SmartFallMM", subject, code, "fall" if code in SMARTFALLMM.FALLS else "adl",
                         position, picks))
    return out


# data set -> its source in [[dataset.sources]] (a model trained on it holds out only its test subjects)
SOURCES = {"MobiFall v2.0": "mobifall", "SmartFallMM": "smartfallmm"}


def held_out_only(trials: list[Trial], card: dict) -> tuple[list[Trial], dict]:
    """The trials a model never trained on: of a data set that is one of the model's training sources (its card's
    cohorts), only the subjects the card records as test; of any other, every subject. Also, per data set, which
    (`"test subjects"` with their number, or `"every subject"`)."""
    from tinyml.data.splits import recorded_split

    kept, scope = [], {}
    for name, source in SOURCES.items():
        mine = [t for t in trials if t.dataset == name]
        if not mine:
            continue
        recorded = recorded_split(card, source)
        if recorded is None:
            kept += mine
            scope[name] = {"scored": "every subject"}
            continue
        kept += [t for t in mine if t.subject in recorded["test"]]
        scope[name] = {"scored": "test subjects", "test_subjects": len(recorded["test"]),
                       "trained_subjects": len(recorded["train"])}
    return kept, scope


def read_trial(app, trial: Trial):
    """(Recording at the file's own steady rate, its signal as predict scores it), or a one-line reason it is not
    scored: the file refused, or cut into parts at a gap (one trial, one score). A file without a heading is
    read again with the trial's picks, as its refusal tells a user to."""
    from tinyml.errors import TinymlError
    from tinyml.readers.csv import NO_HEADING

    try:
        try:
            parts = _quietly(app, trial.path, ())
        except TinymlError as e:
            if not trial.picks or NO_HEADING not in str(e):
                raise
            parts = _quietly(app, trial.path, trial.picks)
    except TinymlError as e:
        return str(e).replace(f"{trial.path}: ", "", 1)
    if len(parts) != 1:
        return f"cut into {len(parts)} parts at gaps"
    rec, sig = parts[0]
    # a fall's event at its peak of |a| (no impact time in either data set), as the loaders label their trials;
    # the cohort is the subject: evaluate_events then gives each person's counts (the subject-cluster intervals)
    return MOBIFALL.as_trial(rec, trial.subject, trial.code, trial.label, trial.subject), sig


def _quietly(app, path: Path, picks: tuple[str, ...]):
    """read_input_parts without its notices on stderr (thousands of files)."""
    from tinyml.errors import notices_held
    from tinyml.predict import read_input_parts

    with contextlib.redirect_stderr(io.StringIO()), notices_held():
        return read_input_parts(app, path, channel=list(picks) or None)


def streamed(app, pipe, trial: Trial, rec, sig) -> dict:
    """One trial as `predict` streams it: its fall alerts (s), the highest P(fall) it reached, its largest |a| (g)
    at the device rate."""
    from tinyml.features import dequantize

    m = app.manifest
    res = pipe.run(sig, deployment=rec.deployment)
    fall = m.labels.index("fall")
    o = pipe.model.output
    top = int(np.asarray(res.scores_q)[:, fall].max()) if len(res.scores_q) else -128
    alerts = [round(idx / m.rate, 2) for idx, lab, _ in res.events if lab == fall]
    return {"subject": trial.subject, "code": trial.code, "label": trial.label, "position": trial.position,
            "rate_hz": round(rec.rate, 2), "seconds": round(rec.duration, 2), "alerts_s": alerts,
            "p_fall_max": round(float(dequantize(np.int8(top), o.scale, o.zero_point)), 4),
            "peak_g": float(np.sqrt((np.asarray(sig, np.float64) ** 2).sum(axis=1)).max())}


# --- figures ---------------------------------------------------------------------------------------------


def share(k: int, n: int, groups: dict[str, tuple[int, int]]) -> dict:
    """k of n with its exact 95 % interval and, over two groups or more, a cluster bootstrap one over them."""
    from tinyml.metrics import clopper_pearson

    out = {"k": int(k), "n": int(n), "value": k / n if n else float("nan")}
    if n:
        out["exact"] = [round(v, 4) for v in clopper_pearson(int(k), int(n))]
        boot = _cluster_ci(groups)
        if boot:
            out["cluster"] = boot
            out["groups"] = len(groups)
    return out


def rate_per_hour(k: int, hours: float, groups: dict[str, tuple[float, float]]) -> dict:
    """k events in `hours`: per hour, its exact Poisson 95 % interval, a cluster bootstrap one over groups."""
    from tinyml.metrics import poisson_rate_ci

    out = {"k": int(k), "hours": round(hours, 4), "value": k / hours if hours else float("nan")}
    if hours:
        out["exact"] = [round(x, 4) for x in poisson_rate_ci(k, hours)]
        boot = _cluster_ci(groups)
        if boot:
            out["cluster"] = boot
            out["groups"] = len(groups)
    return out


def _cluster_ci(groups: dict) -> list[float] | None:
    """Percentile 95 % interval of sum(num) / sum(den) over 2,000 resamples of whole groups (seed 0); None
    below two groups or when every resample gives the same value (0 of n, n of n)."""
    from tinyml.metrics import cluster_bootstrap_ci

    if len(groups) < 2:
        return None
    num = np.asarray([groups[g][0] for g in sorted(groups)], np.float64)
    den = np.asarray([groups[g][1] for g in sorted(groups)], np.float64)
    if num.sum() == 0 or (num == den).all():
        return None
    lo, hi = cluster_bootstrap_ci({"num": num, "den": den},
                                  lambda s: s["num"] / np.where(s["den"] > 0, s["den"], np.nan), seed=0)
    return [round(float(lo), 4), round(float(hi), 4)]


def _by(rows, key) -> dict:
    out: dict = {}
    for r in rows:
        out.setdefault(r[key], []).append(r)
    return out


def user_path_figures(rows: list[dict]) -> dict:
    """`predict`'s events per trial: falls detected (any fall event), daily-activity trials with an alert,
    false alarms per hour of daily activity; each with exact and subject-cluster intervals."""
    falls = [r for r in rows if r["label"] == "fall"]
    adls = [r for r in rows if r["label"] == "adl"]
    f_groups = {s: (sum(bool(r["alerts_s"]) for r in rs), len(rs)) for s, rs in _by(falls, "subject").items()}
    a_groups = {s: (sum(not r["alerts_s"] for r in rs), len(rs)) for s, rs in _by(adls, "subject").items()}
    h_groups = {s: (sum(len(r["alerts_s"]) for r in rs), sum(r["seconds"] for r in rs) / 3600)
                for s, rs in _by(adls, "subject").items()}
    return {
        "sensitivity": share(sum(k for k, _ in f_groups.values()), len(falls), f_groups),
        "specificity": share(sum(k for k, _ in a_groups.values()), len(adls), a_groups),
        "false_alarms_per_hour": rate_per_hour(sum(k for k, _ in h_groups.values()),
                                               sum(h for _, h in h_groups.values()), h_groups),
    }


def card_path_figures(app, pipe, recs) -> dict:
    """The card's held-out event definitions (tinyml.scoring.evaluate_events) on these trials: sensitivity per
    fall event and specificity per daily-activity trial, each with exact and subject-cluster intervals (every
    recording's cohort is its subject here), and per activity code."""
    from tinyml.scoring import evaluate_events

    e = evaluate_events(app, pipe, recs)
    subjects = e.get("by_cohort", {}).values()
    hits = {i: (d["event_hits"], d["event_trials"]) for i, d in enumerate(subjects) if d["event_trials"]}
    clean = {i: (d["event_free_clean"], d["event_free_trials"]) for i, d in enumerate(subjects) if d["event_free_trials"]}
    return {"sensitivity": share(e["event_hits"], e["event_trials"], hits),
            "specificity": share(e["event_free_clean"], e["event_free_trials"], clean),
            "by_activity": e["by_activity"],
            **({"latency_median_s": e["latency_median_s"]} if "latency_median_s" in e else {})}


def evaluate(app, pipe, trials: list[Trial]) -> dict:
    """Everything real_data.json holds for these trials (see the module docstring): per data set and sensor
    position, headline positions first."""
    sets = {}
    for t in trials:
        sets.setdefault((t.dataset, t.position), []).append(t)
    order = sorted(sets, key=lambda k: (k[1] not in HEADLINE_POSITIONS, list(DATASETS).index(k[0]), k[1]))
    return {"model_sha256": hashlib.sha256(pipe.model.bytes).hexdigest(), "postprocess": dict(app.manifest.postprocess),
            "device_rate_hz": app.manifest.rate,
            "training_gravity_g": TRAINING_GRAVITY.tolist(),
            "datasets": {name: DATASETS[name] for name in dict.fromkeys(d for d, _ in order)},
            "sets": [evaluate_set(app, pipe, sets[k]) for k in order]}


def evaluate_set(app, pipe, trials: list[Trial]) -> dict:
    """One data set's trials at one sensor position."""
    rows, turned_rows, recs, unscored, starts = [], [], [], [], []
    for t in trials:
        got = read_trial(app, t)
        if isinstance(got, str):
            unscored.append({"file": t.path.name, "code": t.code, "label": t.label, "reason": got})
            continue
        rec, sig = got
        rows.append(streamed(app, pipe, t, rec, sig))
        starts.append(starting_gravity(sig, app.manifest.rate))
        turned_rows.append(streamed(app, pipe, t, rec, turned_to_training_mounting(sig, app.manifest.rate, starts[-1])))
        recs.append(rec)
    first, impact_g = trials[0], float(app.manifest.postprocess["impact_g"])
    return {
        "dataset": first.dataset, "position": first.position, "headline": first.position in HEADLINE_POSITIONS,
        "subjects": len({r["subject"] for r in rows}),
        "subjects_with_falls": len({r["subject"] for r in rows if r["label"] == "fall"}),
        "trials": len(trials), "scored": len(rows),
        "rates_hz": [min(r["rate_hz"] for r in rows), max(r["rate_hz"] for r in rows)] if rows else [],
        "adl_hours": round(sum(r["seconds"] for r in rows if r["label"] == "adl") / 3600, 4),
        "card_definitions": card_path_figures(app, pipe, recs) if recs else {},
        "predict": user_path_figures(rows),
        "missed_falls": missed_by_stage(rows, float(app.manifest.postprocess["fall_threshold"])),
        "start_gravity_g": [round(float(v), 3) for v in np.median(starts, axis=0)] if starts else [],
        "turned_to_training_mounting": {**user_path_figures(turned_rows), "by_code": _detected_by_code(turned_rows),
                                        "by_peak_g": detected_by_peak(turned_rows, impact_g)},
        "by_peak_g": detected_by_peak(rows, impact_g),
        "unscored": _unscored_summary(unscored),
    }


def _unscored_summary(unscored: list[dict]) -> dict:
    """Files not scored, per reason (numbers left out, so that alike reasons count together), with one example."""
    out: dict = {}
    for u in unscored:
        key = re.sub(r"[-+]?\d[\d.:e+-]*", "#", u["reason"].split(" (")[0])[:90]
        e = out.setdefault(key, {"files": 0, "falls": 0, "example": f"{u['file']}: {u['reason']}"[:160]})
        e["files"] += 1
        e["falls"] += u["label"] == "fall"
    return out


# How the training mounting reads gravity, standing: SisFall's belt device with y down (datasets/synthetic-falls:
# M_NOMINAL, device y = body down), so an upright wearer's accelerometer reads (0, -1, 0) g.
TRAINING_GRAVITY = np.array([0.0, -1.0, 0.0])
GRAVITY_FROM_S = 0.5  # the trial's first half second (the wearer standing or sitting, before the activity)


def starting_gravity(sig: np.ndarray, rate: float) -> np.ndarray:
    """The median acceleration (g) over the first GRAVITY_FROM_S of a signal at `rate`."""
    return np.median(np.asarray(sig[: max(1, int(GRAVITY_FROM_S * rate))], np.float64), axis=0)


def turned_to_training_mounting(sig: np.ndarray, rate: float, g: np.ndarray | None = None) -> np.ndarray:
    """The signal rotated (the smallest rotation) so that the gravity of its first GRAVITY_FROM_S (`g`, when
    known) reads as the training mounting's: a diagnosis of orientation, never part of the pipeline."""
    g = starting_gravity(sig, rate) if g is None else g
    g = g / np.linalg.norm(g)
    axis, cos = np.cross(g, TRAINING_GRAVITY), float(g @ TRAINING_GRAVITY)
    if np.linalg.norm(axis) < 1e-9:  # already along it, or opposite: a half turn about x
        rot = np.eye(3) if cos > 0 else np.diag([1.0, -1.0, -1.0])
    else:  # Rodrigues: R = I + [v]x + [v]x^2 / (1 + cos)
        vx = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
        rot = np.eye(3) + vx + vx @ vx / (1 + cos)
    return np.ascontiguousarray(np.asarray(sig, np.float64) @ rot.T, np.float32)


def missed_by_stage(rows: list[dict], threshold: float) -> dict:
    """Of the falls `predict` missed: how many the model never confirmed (P(fall) under fall_threshold in every
    window) and how many the impact, stillness and posture check held back; per kind of fall too."""
    missed = [r for r in rows if r["label"] == "fall" and not r["alerts_s"]]
    stage = lambda r: "model" if r["p_fall_max"] < threshold else "check"  # noqa: E731
    return {"model": sum(stage(r) == "model" for r in missed), "check": sum(stage(r) == "check" for r in missed),
            "by_code": {c: {"model": sum(stage(r) == "model" for r in rs), "check": sum(stage(r) == "check" for r in rs)}
                        for c, rs in _by(missed, "code").items()}}


PEAK_BINS_G = (2.0, 2.5)  # above impact_g: what soft and hard falls reach at a waist at 50 Hz


def detected_by_peak(rows: list[dict], impact_g: float) -> list[dict]:
    """Falls detected by the trial's largest |a| at the device rate: under impact_g nothing can alert; soft
    falls (onto a mat, a bent knee first) barely pass it."""
    edges = (0.0, impact_g, *PEAK_BINS_G, float("inf"))
    falls = [r for r in rows if r["label"] == "fall"]
    return [{"from_g": lo, "to_g": hi if np.isfinite(hi) else None, "trials": len(sel),
             "detected": sum(bool(r["alerts_s"]) for r in sel)}
            for lo, hi in zip(edges[:-1], edges[1:])
            for sel in [[r for r in falls if lo <= r["peak_g"] < hi]]]


def _detected_by_code(rows: list[dict]) -> dict:
    return {c: {"detected": sum(bool(r["alerts_s"]) for r in rs), "trials": len(rs)}
            for c, rs in _by([r for r in rows if r["label"] == "fall"], "code").items()}


def _card(card: str | None, model: str | None, app) -> dict:
    """The card that records the scored model's split: --card, else the one beside --model, else the app's."""
    from tinyml.errors import TinymlError

    path = Path(card) if card else (Path(model).parent if model else app.model_dir) / "card.json"
    if not path.is_file():
        if card:
            raise TinymlError(f"{card}: no such card file")
        return {}  # no card: nothing says the model trained on these data sets
    return json.loads(path.read_text())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mobifall", help="the MobiFall v2.0 folder (sub1 ... sub31)")
    ap.add_argument("--smartfallmm", help="the SmartFallMM-Dataset folder (young, old)")
    ap.add_argument("--out", default=str(HERE / "model"))
    ap.add_argument("--model", help="the int8 model to run (default: the committed one)")
    ap.add_argument("--card", help="the card.json whose split says which subjects a model trained on (default: the "
                                   "--model's folder's, else the committed one's): of a data set among its training "
                                   "sources only the test subjects are scored")
    args = ap.parse_args(argv)
    from tinyml.apps import load_app
    from tinyml.errors import TinymlError
    from tinyml.predict import Pipeline

    if not (args.mobifall or args.smartfallmm):
        ap.error("give --mobifall and/or --smartfallmm")
    app = load_app(HERE.name)
    try:
        if args.model and not Path(args.model).is_file():
            raise TinymlError(f"{args.model}: no such model file")
        pipe = Pipeline(app, Path(args.model).read_bytes() if args.model else None)
        trials = (mobifall_trials(Path(args.mobifall)) if args.mobifall else []) + (
            smartfallmm_trials(Path(args.smartfallmm)) if args.smartfallmm else [])
        trials, scope = held_out_only(trials, _card(args.card, args.model, app))
        if not trials:
            raise TinymlError("no held-out subject's trial to score (the card records every subject as trained on)")
        real = {**evaluate(app, pipe, trials), "scope": scope}
    except TinymlError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out = Path(args.out)
    (out / app.pipeline.REAL_JSON).write_text(json.dumps(real, indent=1) + "\n")
    print(app.pipeline.real_data_section(app, out))  # the card renders it from the JSON: `tinyml card fall-detect`
    return 0


if __name__ == "__main__":
    sys.exit(main())
