"""The 24 h forecaster's multi-seed study (README, Tried and left out): is adding real ISMN stations to its
training worth the core work it needs, once a refit's own seed-to-seed spread is known?

Two arms, each fitted with new model seeds (crc32 of "<dataset seed>:forecast:s1", ...; never the committed
model's "<dataset seed>:forecast"), everything else as app.toml's [models.forecast], int8 as the core quantizes:
  G    the generator's training windows only, early stopping on the generator's validation (the committed recipe)
  G+I  the generator's plus every ISMN-train station's windows, unweighted, early stopping on both validations
  G+I-es  (--early-stop generator) G+I's training windows, early stopping on the generator's validation only, as G
       (then the ISMN validation stations only judge)
The ISMN stations are split 60/20/20 by station (datasets/ismn `station_split`, the dataset seed). Each int8
model is scored on the ISMN validation stations (per station, for the paired station bootstrap) and on the
generator's validation (forecast_metrics); the ISMN test stations are never scored. Nothing is adopted or
written into the app: results go to a JSON file under build/.

Run (hours of CPU; on a shared machine keep it to one core):
    nice -n 10 env TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 OMP_NUM_THREADS=1 \\
        .venv/bin/python apps/soil-monitoring/forecast_study.py --ismn <your ISMN download folder>
Options: --seeds N (default 3), --out FILE (default build/soil-study/forecast_study.json, or
forecast_study_es.json with --early-stop generator), --early-stop both|generator (the candidate arm's
early-stopping set), --reuse-g FILE (the G arm from an earlier run's JSON, same seeds and stations: not refitted).

--candidate FILE: no fit; a trained int8 forecaster (a `tinyml train` run's forecast.int8.tflite) against the
committed one, by the adoption rule of 2026-12-06 (README): criteria (1) and (2) (`adoption`); (3), the 8-bit
target's limits and parity, is the card's and the device checks'. Default out: build/soil-source/candidate.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import zlib
from pathlib import Path

import numpy as np

from tinyml.data.splits import recorded_split
from tinyml.errors import TinymlError
from tinyml.runs import read_card

CANDIDATES = {"both": "G+I", "generator": "G+I-es"}  # --early-stop -> the candidate arm's name
GUARD = 1.05  # criterion (b): mean G+I generator-validation MAE at most 5 % above mean G
ADOPT_GUARD = 1.10  # the adoption rule's (2): the candidate's generator-validation MAE at most 10 % above the committed


def study_seed(dataset_seed: int, k: int) -> int:
    """The k-th study seed of the forecast model (k >= 1): the core's crc32 scheme with a suffix, so no study
    fit repeats the committed model's seed."""
    return int(zlib.crc32(f"{dataset_seed}:forecast:s{k}".encode()))


def seed_averaged_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per station, arm a's error sum averaged over its seeds minus arm b's: a, b of shape (seeds, stations),
    the stations in the same order in both (paired by station, not by seed)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise TinymlError(f"seed_averaged_difference: arrays (seeds, stations) with the same stations expected, "
                          f"got shapes {a.shape} and {b.shape}")
    return a.mean(axis=0) - b.mean(axis=0)


def paired_difference(a: np.ndarray, b: np.ndarray, hours: np.ndarray) -> dict:
    """G+I minus G on the ISMN validation stations: the hours-weighted MAE difference of the seed-averaged
    station errors and its 95 % station-bootstrap interval."""
    from tinyml.metrics import cluster_bootstrap_ci

    d = seed_averaged_difference(a, b)
    hours = np.asarray(hours, np.float64)
    ci = cluster_bootstrap_ci({"d": d, "n": hours}, lambda s: s["d"] / np.maximum(s["n"], 1))
    return {"diff": float(d.sum() / hours.sum()), "diff_ci": [float(x) for x in ci]}


def early_stopping_set(early_stop: str, generator_set: tuple, ismn_set: tuple) -> tuple:
    """The candidate arm's early-stopping windows (X, y): the generator's validation and the ISMN validation's
    ("both", the study's G+I), or the generator's only ("generator", G's own recipe)."""
    if early_stop not in CANDIDATES:
        raise TinymlError(f"--early-stop {early_stop!r}: expected one of {', '.join(CANDIDATES)}")
    if early_stop == "generator":
        return generator_set
    return tuple(np.concatenate([g, i]) for g, i in zip(generator_set, ismn_set))


REUSED_KEYS = {"seed", "model_seed", "ismn_val_station_sums", "ismn_val_station_hours", "ismn_val_mae",
               "generator_val_mae", "generator_val_floors_met"}
MIN_SEEDS = 3  # the written criterion's seeds per arm: fewer is "not decided"


def reused_g_arm(path: Path, n_seeds: int, dataset_seed: int, stations: list, hours: list) -> list:
    """The G arm's entries from an earlier run's JSON, refused unless it holds seeds 1..n_seeds with this study's
    model seeds, scored on the same ISMN validation stations and hours (the windows a flag change moves)."""
    try:
        old = json.loads(path.read_text())
        g, old_stations = old["arms"]["G"], old["ismn_val_stations"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise TinymlError(f"--reuse-g {path}: not a forecast_study result ({type(e).__name__}: {e})") from None
    if old_stations != stations:
        raise TinymlError(f"--reuse-g {path}: scored on other ISMN validation stations than this run's")
    if not isinstance(g, list) or not all(isinstance(s, dict) and REUSED_KEYS <= s.keys() for s in g):
        raise TinymlError(f"--reuse-g {path}: its G entries lack {', '.join(sorted(REUSED_KEYS))}")
    by_seed = {s.get("seed"): s for s in g}
    for k in range(1, n_seeds + 1):
        if k not in by_seed or by_seed[k].get("model_seed") != study_seed(dataset_seed, k):
            raise TinymlError(f"--reuse-g {path}: no G fit of seed {k} (model seed {study_seed(dataset_seed, k)})")
        if list(by_seed[k].get("ismn_val_station_hours", [])) != list(hours):
            raise TinymlError(f"--reuse-g {path}: G seed {k} was scored on other ISMN validation windows "
                              f"({sum(by_seed[k].get('ismn_val_station_hours', []))} hours, this run {sum(hours)}); "
                              "refit G instead")
    return [by_seed[k] for k in range(1, n_seeds + 1)]


def verdict(res: dict) -> dict:
    """The written criterion on the seeds measured (fewer than `wanted` seeds per arm: not decided)."""
    g, gi = res["arms"]["G"], res["arms"][res.get("candidate", "G+I")]
    n = min(len(g), len(gi))
    if n == 0:
        return {"decided": False, "seeds_per_arm": 0}
    g, gi = g[:n], gi[:n]
    if any(list(s["ismn_val_station_hours"]) != list(g[0]["ismn_val_station_hours"]) for s in g + gi):
        raise TinymlError("forecast_study: the arms were scored on other ISMN validation windows: not paired")
    a = np.array([s["ismn_val_station_sums"] for s in gi])
    b = np.array([s["ismn_val_station_sums"] for s in g])
    hours = np.array(g[0]["ismn_val_station_hours"])
    paired = paired_difference(a, b, hours)
    mean = lambda runs, k: float(np.mean([s[k] for s in runs]))
    gen_g, gen_gi = mean(g, "generator_val_mae"), mean(gi, "generator_val_mae")
    cand = res.get("candidate", "G+I")
    out = {"seeds_per_arm": n, "ismn_val_mae_mean": {"G": mean(g, "ismn_val_mae"), cand: mean(gi, "ismn_val_mae")},
           "ismn_val_paired": paired, "generator_val_mae_mean": {"G": gen_g, cand: gen_gi},
           "generator_val_rise_pct": 100 * (gen_gi / gen_g - 1),
           "G_generator_val_spread": [min(s["generator_val_mae"] for s in g), max(s["generator_val_mae"] for s in g)]}
    out["a"] = out["ismn_val_mae_mean"][cand] < out["ismn_val_mae_mean"]["G"] and paired["diff_ci"][1] < 0
    out["b"] = gen_gi <= GUARD * gen_g
    out["c"] = all(s["generator_val_floors_met"] for s in gi)
    out["decided"] = n >= max(MIN_SEEDS, res["seeds_wanted"])
    out["worth_adopting"] = (out["a"] and out["b"] and out["c"]) if out["decided"] else None
    return out


def adoption(committed: dict, candidate: dict) -> dict:
    """The adoption rule's criteria (1) and (2) on two score() results of one model each (the committed
    forecaster's and the candidate's, the same windows): (1) ISMN validation MAE below the committed one's with
    the paired station-bootstrap 95 % interval of the difference wholly below 0; (2) the manifest's floors met on
    the generator's validation and its MAE at most ADOPT_GUARD x the committed one's."""
    if list(committed["ismn_val_station_hours"]) != list(candidate["ismn_val_station_hours"]):
        raise TinymlError("forecast_study --candidate: the two models were scored on other ISMN validation windows")
    paired = paired_difference(np.array([candidate["ismn_val_station_sums"]]),
                               np.array([committed["ismn_val_station_sums"]]), np.array(committed["ismn_val_station_hours"]))
    rise = candidate["generator_val_mae"] / committed["generator_val_mae"]
    out = {"ismn_val_paired": paired, "generator_val_rise_pct": 100 * (rise - 1),
           "1": candidate["ismn_val_mae"] < committed["ismn_val_mae"] and paired["diff_ci"][1] < 0,
           "2": candidate["generator_val_floors_met"] and rise <= ADOPT_GUARD}
    return out | {"adopt_1_2": out["1"] and out["2"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ismn", required=True, help="folder of an ISMN download (the *_sm_*.stm files under it)")
    ap.add_argument("--seeds", type=int, default=MIN_SEEDS)
    ap.add_argument("--out", default=None)
    ap.add_argument("--early-stop", default="both", choices=list(CANDIDATES),
                    help="the candidate arm's early-stopping set: both validations (G+I) or the generator's (G+I-es)")
    ap.add_argument("--reuse-g", default=None, help="an earlier run's JSON whose G arm is taken, not refitted")
    ap.add_argument("--candidate", default=None, help="a trained forecast.int8.tflite scored against the committed "
                                                       "one by the adoption rule (no fit)")
    args = ap.parse_args(argv)
    if args.seeds < 1:
        ap.error("--seeds: at least 1 (the criterion decides on 3)")
    out = args.out or ("build/soil-study/forecast_study.json" if args.early_stop == "both"
                       else "build/soil-study/forecast_study_es.json")
    try:
        if args.candidate:
            compare(Path(args.ismn), Path(args.candidate), Path(args.out or "build/soil-source/candidate.json"))
            return 0
        run(Path(args.ismn), args.seeds, Path(out), args.early_stop, Path(args.reuse_g) if args.reuse_g else None)
    except TinymlError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


def generated(recs: list) -> list:
    """The generator's recordings (with $ISMN set, the manifest's split holds the ISMN stations' too)."""
    return [r for r in recs if not r.truth.get("real")]


def study_data(ismn_path: Path):
    """The app, its features, the generator's train and validation recordings and the ISMN stations' (split by
    station as the manifest's ismn source: its split_fractions and split_seed)."""
    from tinyml.apps import load_app
    from tinyml.data import dataset_module, load_splits
    from tinyml.features import FeatureExtractor

    if not ismn_path.is_dir():
        raise TinymlError(f"{ismn_path}: not a folder (--ismn wants the folder of an ISMN download)")
    app = load_app("soil-monitoring")
    m, P = app.manifest, app.pipeline
    train, val, _ = load_splits(m)
    split = P.ismn_split(m)
    if "split_fractions" not in split:
        raise TinymlError(f"{m.path}: no [[dataset.sources]] ismn with options.split_fractions: the study needs "
                          "the manifest's station split")
    ismn = dataset_module("ismn").load(ismn_path, rate=m.rate, channels=m.channels, faults=P.FAULTS, **split)
    return app, FeatureExtractor(m), generated(train), generated(val), ismn


def check_recorded_val(stations: list[str], card: dict, ismn_path: Path) -> None:
    """The ISMN validation stations drawn now must be those the committed model's card records: another download
    draws another split, whose validation could hold stations the committed forecaster trained on."""
    recorded = recorded_split(card, "ismn")
    if recorded is not None and set(stations) != recorded["val"]:
        raise TinymlError(f"{ismn_path}: its ISMN validation stations ({len(stations)}) are not the "
                          f"{len(recorded['val'])} the committed model's card records (another download draws "
                          "another split): the comparison could score stations the committed forecaster trained on")


def compare(ismn_path: Path, candidate: Path, out: Path) -> None:
    """The adoption rule's (1) and (2): a trained forecaster against the committed one, validation only."""
    if not candidate.is_file():
        raise TinymlError(f"--candidate {candidate}: no such file (a run's forecast.int8.tflite)")
    t0 = time.time()
    app, fx, _, val, ismn = study_data(ismn_path)
    i_va = [r for r in ismn if r.split == "val"]
    stations = sorted({r.subject for r in i_va})
    check_recorded_val(stations, read_card(app.model_dir), ismn_path)
    floors = floors_of(app.manifest)
    res = {"candidate_file": str(candidate), "ismn_val_stations": stations,
           "committed": score(app.pipeline, fx, app.model_path("forecast").read_bytes(), val, i_va, stations, floors),
           "candidate": score(app.pipeline, fx, candidate.read_bytes(), val, i_va, stations, floors)}
    res["adoption"] = adoption(res["committed"], res["candidate"])
    write(out, res)
    log(t0, json.dumps({k: res[k]["generator_val"] | {"ismn_val_mae": res[k]["ismn_val_mae"]}
                        for k in ("committed", "candidate")}))
    log(t0, json.dumps(res["adoption"]))


def run(ismn_path: Path, n_seeds: int, out: Path, early_stop: str = "both", reuse_g: Path | None = None) -> None:
    t0 = time.time()
    app, fx, train, val, ismn = study_data(ismn_path)
    m, P = app.manifest, app.pipeline
    seed = int(m.dataset["seed"])
    i_tr = [r for r in ismn if r.split == "train"]
    i_va = [r for r in ismn if r.split == "val"]
    val_stations = sorted({r.subject for r in i_va})
    log(t0, f"loaded: {len(train)} generator train, {len(val)} val; ISMN {len(i_tr)} train / {len(i_va)} val "
            f"recordings, {len(val_stations)} val stations")
    cand = CANDIDATES[early_stop]
    # the early-stopping sets do not depend on the seed (no augmentation): built once per arm
    stop_sets = {"G": P.forecast_examples(val, fx, m, None, False)[:2]}
    stop_sets[cand] = early_stopping_set(early_stop, stop_sets["G"], P.forecast_examples(i_va, fx, m, None, False)[:2])
    res = {"seeds_wanted": n_seeds, "candidate": cand, "early_stop": early_stop, "ismn_val_stations": val_stations,
           "arms": {"G": [], cand: []}}
    committed = score(P, fx, app.model_path("forecast").read_bytes(), val, i_va, val_stations, floors_of(m))
    res["committed"] = committed  # reference only: the criterion compares the study's own fits
    if reuse_g is not None:  # its windows checked against today's (the committed model's scored hours)
        res["arms"]["G"] = reused_g_arm(reuse_g, n_seeds, seed, val_stations, committed["ismn_val_station_hours"])
        res["g_reused_from"] = str(reuse_g)
    log(t0, f"committed: generator val MAE {committed['generator_val_mae']:.6f}, ISMN val MAE "
            f"{committed['ismn_val_mae']:.6f}")
    floors = floors_of(m)
    arms = [cand] if reuse_g is not None else ["G", cand]
    for k in range(1, n_seeds + 1):  # seed by seed, both arms: a cut-short run still pairs its arms
        for arm in arms:
            tfl, epochs, n_train = fit_arm(app, fx, train, i_tr if arm == cand else [], stop_sets[arm],
                                           study_seed(seed, k))
            entry = score(P, fx, tfl, val, i_va, val_stations, floors) | {
                "seed": k, "model_seed": study_seed(seed, k), "epochs": epochs, "train_examples": n_train,
                "bytes": len(tfl)}
            res["arms"][arm].append(entry)
            res["verdict"] = verdict(res)
            write(out, res)
            log(t0, f"{arm} s{k}: generator val MAE {entry['generator_val_mae']:.6f}, ISMN val MAE "
                    f"{entry['ismn_val_mae']:.6f}, {epochs} epochs")
    log(t0, json.dumps(res["verdict"]))


def fit_arm(app, fx, train, ismn_train, stop_set, model_seed: int):
    """One fit of [models.forecast] as the core's _train_one fits it, the ISMN-train recordings added to the
    training recordings; the int8 model's bytes, the epochs run and the training examples."""
    from tinyml.data.source import weighted
    from tinyml.fit import fit_model, seed_everything
    from tinyml.quant import calibration_set, quantize_model
    from tinyml.train import model_specs

    m, P = app.manifest, app.pipeline
    spec = next(s for s in model_specs(app) if s.name == "forecast")
    seed_everything(model_seed)
    rng = np.random.default_rng(model_seed)
    Xtr, ytr = P.forecast_examples(weighted(m, train, rng) + list(ismn_train), fx, m, rng, True)[:2]
    model, history = fit_model(getattr(P, spec.spec["builder"]), spec.spec, Xtr, ytr, *stop_set, n_outputs=1,
                               output="regression", smoke=False, where="forecast_study [models.forecast]")
    calib = calibration_set(Xtr, m.quantize["calibration_samples"], int(m.dataset["seed"]), None)
    return quantize_model(model, calib, int(m.dataset["seed"])), len(history["loss"]), int(len(Xtr))


def score(P, fx, tfl: bytes, val, i_va, stations, floors) -> dict:
    """One int8 model on the generator's validation and, per station, on the ISMN validation stations."""
    from tinyml.reference import TflmModel

    invoke = P.forecast_invoker(TflmModel(tfl))
    gen = P.forecast_metrics(val, fx, invoke)
    sums, hours = np.zeros(len(stations)), np.zeros(len(stations), np.int64)
    at = {s: i for i, s in enumerate(stations)}
    for r in i_va:
        if (e := P.forecast_errors(r, fx, invoke)) is not None:
            sums[at[r.subject]] += float(e[0].sum())
            hours[at[r.subject]] += len(e[0])
    return {"generator_val_mae": float(gen["forecast_mae"]),
            "generator_val": {k: float(gen[k]) for k in ("forecast_mae", "forecast_gain_vs_persistence",
                                                         "forecast_gain_vs_drydown")},
            "generator_val_floors_met": bool(gen["forecast_gain_vs_persistence"] >= floors["forecast_gain_vs_persistence"]
                                             and gen["forecast_gain_vs_drydown"] > floors["forecast_gain_vs_drydown"]),
            "ismn_val_mae": float(sums.sum() / max(hours.sum(), 1)),
            "ismn_val_station_sums": sums.tolist(), "ismn_val_station_hours": hours.tolist()}


def floors_of(m) -> dict:
    return {k: m.acceptance[k] for k in ("forecast_gain_vs_persistence", "forecast_gain_vs_drydown")}


def write(out: Path, res: dict) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1))


def log(t0: float, text: str) -> None:
    print(f"[{time.time() - t0:6.0f} s] {text}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
