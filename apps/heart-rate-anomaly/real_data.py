"""Real-data figures for the model card: the committed pipeline on real PhysioNet recordings that you hold.

    python apps/heart-rate-anomaly/real_data.py MITDB_FOLDER_OR_RECORD.hea ... [--cinc2017 FOLDER]
        [--out apps/heart-rate-anomaly/model] [--every-record]

Only records that no model was trained or chosen on are scored (the card's section reports held-out data only):
of MIT-BIH, de Chazal's DS2 (DS1 trains and validates; the paced records are not AAMI's), and of CinC 2017 the
manifest's test split (the physionet-2017 source split on its own, as `[dataset] split_per_source` splits it:
its train and validation recordings, and Other rhythm, which no split holds, are left out). A record of another
database is in no split and is scored. `--every-record` scores every record given (exploration, not the card).

Each record goes through `tinyml predict`'s pipeline (read_input_parts, as predict reads it: its MLII lead, resampled to 250 Hz;
then the int8 pipeline). A folder stands for every `.hea` in it. A record with its reference annotations (`.atr`
of PhysioNet's mitdb, the MIT-BIH Arrhythmia Database) is scored as AAMI EC57 does:

- QRS detection: reference beats matched within 150 ms, from the 5th minute (EC57's learning period), spans of
  ventricular flutter (`(VFL`) left out; sensitivity and positive predictivity per record and gross, with exact
  95 % intervals, over every record and over the 44 that AAMI keeps (the paced 102, 104, 107, 217 left out).
- Beat classes (AAMI: N = N L R e j, S = A a J S, V = V E, F, Q = / f Q) over the matched beats of de Chazal's
  DS2 (the test records) and DS1 (the records any rule change is chosen on); V and S positive predictivity count
  every beat we call V (S) from the 5th minute, matched or not (as the app's evaluate() does).
- AF (the reference `(AFIB` and `(AFL` spans, as the app's window labels count them): episodes found (a reference
  episode overlapped by one of ours) and ours confirmed (one of ours overlapping a reference episode), AF time
  (duration sensitivity and positive predictivity: overlap over reference / our AF time), each record's AF
  burden, the 10 s windows (P(af) and irregularity, as the card's synthetic figure), and AF events per hour on
  records without any AF.
- Events against the reference, per kind (a rule fixed before measuring): af true within an AF span (2 s before
  to detect_after_s after it); ectopy true when the reference has ectopy_per_min S, V or F beats, or a V couplet,
  in the 70 s before it (plus 2 s); brady / tachy true when the reference mean heart rate over the rate_min_s +
  10 s before it is below brady_bpm x 1.05 / above tachy_bpm x 0.95; noise is not checkable (mitdb marks no
  unreadable spans) and is counted only. False events per hour over every record and over the time in normal
  sinus rhythm (`(N` spans).

`--cinc2017 FOLDER` (PhysioNet/CinC Challenge 2017 training set: A00001.hea/.mat and REFERENCE*.csv): each
recording's classes N (normal), A (AF), O (other rhythm), ~ (noisy) against what the pipeline said: an AF event,
and AF in at least half of its windows.

Records without reference labels (pass --no-reference RECORD, or 'all') report what the pipeline measured only.
Writes real_data.md and real_data.png (the first record's strip) into --out; a model card in that folder quotes
them when rendered (`tinyml card heart-rate-anomaly`; its stamp goes stale when they change). Nothing here runs in tests or CI: the recordings are not part of this repository.
"""

from __future__ import annotations

import argparse
import csv
import functools
import re
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
LEARNING_S = 300.0  # EC57: the first 5 minutes are the detector's learning period, not scored
AF_RHYTHMS = ("AF", "AFL")  # the reference rhythms that count as AF (the app's window labels count both)
MITDB = ("the MIT-BIH Arrhythmia Database (Moody and Mark 2001; PhysioNet `mitdb` 1.0.0, Open Data Commons "
         "Attribution License v1.0)")
CINC = ("the PhysioNet/Computing in Cardiology Challenge 2017 training set (Clifford et al. 2017; PhysioNet "
        "`challenge-2017` 1.0.0, Open Data Commons Attribution License v1.0)")
PHYSIONET = ('Goldberger et al., "PhysioBank, PhysioToolkit, and PhysioNet", Circulation 101(23):e215-e220, 2000. '
             "Not in this repository.")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("records", nargs="*", help="WFDB headers (.hea) or folders of them")
    ap.add_argument("--cinc2017", help="the PhysioNet/CinC 2017 training folder (REFERENCE*.csv and A*.hea/.mat), "
                                       "or its labels file (REFERENCE-v3.csv)")
    ap.add_argument("--out", default=str(HERE / "model"))
    ap.add_argument("--model", help="the int8 model to run (default: the committed one)")
    ap.add_argument("--every-record", action="store_true",
                    help="score every record given, also those the model trained or was chosen on (not for the card)")
    ap.add_argument("--no-reference", action="append", default=[], metavar="RECORD",
                    help="a record whose .atr is not the reference (repeatable; 'all' for every record)")
    args = ap.parse_args(argv)
    from tinyml.errors import TinymlError

    try:
        return _report(args)
    except TinymlError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def _report(args) -> int:
    from tinyml.apps import load_app
    from tinyml.predict import Pipeline

    app = load_app(HERE.name)
    pipe = Pipeline(app, Path(args.model).read_bytes() if args.model else None)
    headers = _headers(args.records)
    if not args.every_record:
        headers = held_out_records(headers)
    runs = [_run_record(app, pipe, hea, _has_reference(hea, args.no_reference)) for hea in headers]
    out = Path(args.out)
    card = _card(Path(args.model).parent if args.model else out)  # the scored model's card: its split
    cinc = _run_cinc(app, pipe, Path(args.cinc2017), card, args.every_record) if args.cinc2017 else None
    text = _markdown(app, pipe, runs, cinc, held_out=not args.every_record, trained_on=_real_sources(card))
    if runs:
        text += "\n![MIT-BIH record with our R peaks and beat classes](real_data.png)\n"
        _strip(runs[0], app.manifest, out / "real_data.png")
    (out / "real_data.md").write_text(text)  # the card quotes it when rendered: `tinyml card heart-rate-anomaly`
    print(text)
    return 0


def _headers(paths) -> list[Path]:
    out = []
    for p in map(Path, paths):
        out += sorted(p.glob("*.hea")) if p.is_dir() else [p]
    return out


def held_out_records(headers: list[Path]) -> list[Path]:
    """The records no model trains or is chosen on: MIT-BIH's DS2, and any record of another database."""
    return [h for h in headers if _set_of(h.stem) in ("DS2", "")]


def cinc_test_names(app, ref: Path, card: dict | None = None) -> set[str]:
    """CinC 2017's recordings in the model's test split: those its card recorded (card.json's dataset cohorts),
    else the physionet-2017 source loaded with its options and split on its own by the manifest's rule and seed, as
    split_by_source splits each source. The draw depends on every label (Other rhythm is left out, AF strata), so it
    is redrawn only from the labels file training reads in that folder: another one (REFERENCE-v3.csv beside
    REFERENCE.csv) would move trained recordings into the test split."""
    from tinyml.data import dataset_module, split_recordings
    from tinyml.data.source import declared_sources
    from tinyml.data.splits import recorded_split
    from tinyml.errors import TinymlError

    recorded = recorded_split(card or {}, "physionet-2017")
    if recorded is not None:
        return {name.removeprefix("cinc17-") for name in recorded["test"]}
    m = app.manifest
    trained_labels = dataset_module("physionet-2017").find_reference(ref.parent)
    if ref.resolve() != trained_labels.resolve():
        raise TinymlError(f"{ref}: not the labels file training reads in that folder ({trained_labels.name}); the "
                          "test split redrawn from other labels would hold trained recordings: pass the folder")
    source = next((s for s in declared_sources(m) if s.name == "physionet-2017"), None)
    if source is None or not m.dataset["split_per_source"]:
        raise TinymlError(f"{m.path}: no physionet-2017 source split on its own ([[dataset.sources]], "
                          "split_per_source): its test split is not defined; pass --every-record")
    recs = dataset_module("physionet-2017").load(ref.parent, rate=m.rate, channels=m.channels, reference=ref,
                                                 **source.options)
    for r in recs:
        r.cohort = source.name  # as build_dataset tags a source's recordings
    ds = m.dataset
    _, _, test = split_recordings(recs, test_fraction=ds["test_fraction"], val_fraction=ds["val_fraction"],
                                  seed=ds["seed"])
    return {Path(r.source).stem for r in test}


def _card(folder: Path) -> dict:
    """The card of the model in `folder` (a card.json there, else the committed one); {} without one."""
    from tinyml.runs import read_card

    return read_card(folder) or read_card(HERE / "model")


def _real_sources(card: dict) -> list[str]:
    """The real sources the model was trained beside."""
    return [s["name"] for s in card.get("dataset", {}).get("sources", []) if s.get("real")]


def _has_reference(hea: Path, no_reference) -> bool:
    return not ({"all", hea.stem} & set(no_reference)) and hea.with_suffix(".atr").is_file()


# --- running the pipeline --------------------------------------------------------------------------------


def _run_record(app, pipe, hea: Path, reference: bool) -> dict:
    """One record through predict's path: what the pipeline said, window by window, and its reference."""
    m = app.manifest
    sig, lead = _read_as_predict(app, hea)
    res, af_active = _run_watching_af(pipe, sig)
    run = {"record": hea.stem, "path": str(hea), "sig": sig, "res": res, "af_active": af_active, "seconds": len(sig) / m.rate,
           "lead": lead, "truth": _reference(hea) if reference else None}
    run["det_t"] = np.array([i for i, _ in res.beats], np.float64) / m.rate
    run["det_c"] = np.array([m.beat_labels[b] for _, b in res.beats])
    run["events"] = [(i / m.rate, m.event_names[lab]) for i, lab, _ in res.events]
    return run


def _read_as_predict(app, path: Path) -> tuple[np.ndarray, str]:
    """The signal `tinyml predict` scores (read_input_parts: one part, as a PhysioNet record has no gaps) and
    the lead it read, from its notice (the MLII lead, else a stand-in)."""
    import contextlib
    import io

    from tinyml.errors import TinymlError
    from tinyml.predict import read_input_parts

    said = io.StringIO()
    with contextlib.redirect_stderr(said):
        parts = read_input_parts(app, path)
    if len(parts) != 1:
        raise TinymlError(f"{path}: {len(parts)} parts (a gap in its time): scored as one record only")
    lead = re.search(r"read from \w+ '([^']+)'", said.getvalue())
    return parts[0][1], lead.group(1) if lead else "the only one"


def _run_watching_af(pipe, sig):
    """pipe.run, also keeping the AF episode state after each window (the post-processor's, as the device
    holds it): the AF time and episodes that the events alone do not show."""
    pp = pipe.postprocessor()
    states = []
    decide = pp._window

    def window(end, scores_q, events):
        decide(end, scores_q, events)
        states.append(pp.ep_af.active)

    pp._window = window
    res = pipe.run(sig, postprocessor=pp)
    return res, np.asarray(states, bool)


def _reference(hea: Path) -> dict:
    from tinyml.data import dataset_module
    from tinyml.readers.wfdb import header

    ds = dataset_module("mitbih-arrhythmia")
    h = header(hea)
    return ds.annotations(hea.with_suffix(""), "atr", float(h.fs), int(h.sig_len))


def _run_cinc(app, pipe, folder: Path, card: dict, every_record: bool = False) -> dict:
    """The CinC 2017 recordings of the test split (every_record: all): class and what the pipeline said (AF
    event; share of AF windows)."""
    from tinyml.data import dataset_module
    from tinyml.errors import TinymlError

    ref = folder if folder.is_file() else dataset_module("physionet-2017").find_reference(folder)
    m = app.manifest
    said_af = _af_decider(app, pipe)
    keep = None if every_record else cinc_test_names(app, ref, card)
    rows, refused, listed = [], {}, 0
    with ref.open(newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            if len(row) < 2:
                continue
            name, cls = row[0].strip(), row[1].strip()
            listed += 1
            if keep is not None and name not in keep:
                continue
            try:
                sig, _ = _read_as_predict(app, ref.parent / f"{name}.hea")
            except TinymlError as e:
                why = re.sub(r"\d+(\.\d+)?", "#", str(e).split(": ", 1)[-1])  # one line per wording
                refused[why] = refused.get(why, 0) + 1
                rows.append((name, cls, None, None, None))
                continue
            res = pipe.run(sig)
            said = [said_af(s, v) for s, v in zip(res.scores_q, res.values)]
            event = any(m.event_names[lab] == "af" for _, lab, _ in res.events)
            rows.append((name, cls, event, float(np.mean(said)) if said else 0.0, len(sig) / m.rate))
    return {"rows": rows, "refused": refused, "reference": ref.name, "listed": listed, "held_out": keep is not None}


# --- scoring against the reference ---------------------------------------------------------------------


def _spans(truth, labels) -> list[tuple[float, float]]:
    """The reference rhythm spans with these labels, neighbours merged."""
    out = []
    for a, b, lab in truth["rhythm"]:
        if lab in labels:
            if out and a <= out[-1][1]:
                out[-1] = (out[-1][0], max(out[-1][1], b))
            else:
                out.append((a, b))
    return out


def _overlap(spans_a, spans_b) -> float:
    return sum(max(0.0, min(b, d) - max(a, c)) for a, b in spans_a for c, d in spans_b)


def _qrs(app, run) -> dict:
    """EC57 QRS counts of one record: from the 5th minute, ventricular flutter spans left out."""
    P = app.pipeline
    truth = run["truth"]
    vfl = _spans(truth, ("VFL",))
    ref_t, det_t = truth["beats"], run["det_t"]
    keep_r = (ref_t >= LEARNING_S) & ~P._in_spans(ref_t, vfl)
    keep_d = (det_t >= LEARNING_S) & ~P._in_spans(det_t, vfl)
    mt = P._match(ref_t, det_t, P.MATCH_S)
    tp = int(((mt >= 0) & keep_r).sum())
    return {"ref": int(keep_r.sum()), "tp": tp, "det": int(keep_d.sum()), "match": mt, "keep_r": keep_r,
            "keep_d": keep_d}


def _beat_confusion(app, runs) -> tuple[np.ndarray, dict]:
    """Reference AAMI class (N S V F Q) x ours (beat labels, then missed) over the scored beats of these
    records, and the V and S counts (tp, reference, ours)."""
    m = app.manifest
    rows, cols = "NSVFQ", [*m.beat_labels, "-"]
    conf = np.zeros((len(rows), len(cols)), np.int64)
    counts = dict.fromkeys(("v_tp", "v_ref", "v_det", "s_tp", "s_ref", "s_det"), 0)
    for run in runs:
        q = run["qrs"]
        ref_c = np.asarray(list(run["truth"]["classes"]))
        mt, det_c = q["match"], run["det_c"]
        for i in np.flatnonzero(q["keep_r"]):
            conf[rows.index(ref_c[i]), cols.index(det_c[mt[i]]) if mt[i] >= 0 else len(cols) - 1] += 1
        for cls in "VS":
            is_c = q["keep_r"] & (ref_c == cls)
            counts[f"{cls.lower()}_ref"] += int(is_c.sum())
            counts[f"{cls.lower()}_tp"] += sum(1 for i in np.flatnonzero(is_c) if mt[i] >= 0 and det_c[mt[i]] == cls)
            counts[f"{cls.lower()}_det"] += int((q["keep_d"] & (det_c == cls)).sum())
    return conf, counts


def _our_af_spans(app, run) -> list[tuple[float, float]]:
    """Our AF episodes as time spans: each hop of decisions while the episode state is on."""
    m = app.manifest
    hop = int(m.features["hop"]) / m.rate
    ends = np.asarray(run["res"].ends) / m.rate
    spans = []
    for e, on in zip(ends, run["af_active"]):
        if on:
            if spans and e - hop <= spans[-1][1] + 1e-6:
                spans[-1] = (spans[-1][0], e)
            else:
                spans.append((e - hop, e))
    return spans


def _af_decider(app, pipe):
    """The pipeline's AF decision of one window (P(af) >= af_threshold and irregularity >= af_irregularity)."""
    P, m = app.pipeline, app.manifest
    o = pipe.model.output
    af_q = P.score_threshold_q(m.postprocess["af_threshold"], o.scale, o.zero_point)
    af_irr, irr_i, i_af = P.F32(m.postprocess["af_irregularity"]), m.values.index("irregularity"), m.labels.index("af")
    return lambda scores_q, values: P.af_window(int(scores_q[i_af]), values[irr_i], af_q, af_irr)


def _af(app, run, said_af) -> dict:
    """AF episodes, AF time and AF windows of one record against its reference."""
    P, m = app.pipeline, app.manifest
    ref, ours = _spans(run["truth"], AF_RHYTHMS), _our_af_spans(app, run)
    long_s = float(m.postprocess["af_min_s"]) + 10
    found = [any(_overlap([r], [o]) > 0 for o in ours) for r in ref]
    out = {"ref_n": len(ref), "ref_found": sum(found),
           "ref_long_n": sum(b - a >= long_s for a, b in ref),
           "ref_long_found": sum(f for (a, b), f in zip(ref, found) if b - a >= long_s),
           "our_n": len(ours), "our_true": sum(any(_overlap([o], [r]) > 0 for r in ref) for o in ours),
           "ref_s": sum(b - a for a, b in ref), "our_s": sum(b - a for a, b in ours), "both_s": _overlap(ref, ours),
           "w_tp": 0, "w_pos": 0, "w_tn": 0, "w_neg": 0}
    res, W = run["res"], int(m.features["window"])
    for k, e in enumerate(res.ends):
        t0, t1 = (e - W) / m.rate, e / m.rate
        lab = P.window_label(run["truth"], t0, t1, m.labels)
        if lab is None or lab == m.labels.index("noise") or t0 < P.SKIP_S:
            continue
        said = said_af(res.scores_q[k], res.values[k])
        if lab == m.labels.index("af"):  # what the rhythm model calls the reference's AF windows
            top = m.labels[int(np.argmax(res.scores_q[k]))]
            out[f"af_as_{top}"] = out.get(f"af_as_{top}", 0) + 1
        key = ("w_tp", "w_pos") if lab == m.labels.index("af") else ("w_tn", "w_neg")
        out[key[0]] += said if lab == m.labels.index("af") else not said
        out[key[1]] += 1
    return out


def _ref_hr(truth, t0, t1) -> float:
    """The reference mean heart rate (bpm) over [t0, t1): 60 / the mean R-R of its beats."""
    b = truth["beats"][(truth["beats"] >= t0) & (truth["beats"] < t1)]
    return 60.0 / float(np.mean(np.diff(b))) if len(b) >= 2 else float("nan")


def _event_is_true(app, truth, t, kind) -> bool | None:
    """An event at t against the reference (the rule in the module doc); None: not checkable (noise)."""
    p, lim = app.manifest.postprocess, app.manifest.section("patient")
    if kind == "af":
        return any(a - float(p["detect_before_s"]) <= t <= b + float(p["detect_after_s"])
                   for a, b in _spans(truth, AF_RHYTHMS))
    if kind == "ectopy":
        sel = (truth["beats"] >= t - 70.0) & (truth["beats"] <= t + 2.0)
        cls = "".join(np.asarray(list(truth["classes"]))[sel])
        return sum(c in "SVF" for c in cls) >= int(lim["ectopy_per_min"]) or "VV" in cls
    if kind in ("brady", "tachy"):
        hr = _ref_hr(truth, t - float(lim["rate_min_s"]) - 10.0, t)
        if hr != hr:  # under two reference beats in the span (a long pause): not checkable
            return None
        return hr < float(lim["brady_bpm"]) * 1.05 if kind == "brady" else hr > float(lim["tachy_bpm"]) * 0.95
    return None


# --- the card's section ---------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)  # every table and figure asks it of every record
def _set_of(record: str) -> str:
    from tinyml.data import dataset_module

    ds = dataset_module("mitbih-arrhythmia")
    return "DS2" if record in ds.DS2 else "DS1" if record in ds.DS1 else "paced" if record in ds.PACED else ""


def _aami(runs) -> list:
    """The runs of the AAMI records: MIT-BIH's DS1 and DS2 (its 44 records without a pacemaker); any other
    record (another database's, a paced one) is left out of every AAMI figure alike."""
    return [r for r in runs if _set_of(r["record"]) in ("DS1", "DS2")]


def _pct(k, n) -> str:
    return f"{k / n:.4f}" if n else "n/a"


def _rate(app, name, k, n) -> str:
    """k / n with its exact 95 % interval, as the card writes it."""
    if not n:
        return f"| {name} | n/a | | 0 |"
    lo, hi = app.pipeline.clopper_pearson(k, n)
    return f"| {name} | {k / n:.4f} | {lo:.4f}-{hi:.4f} | {k} / {n} |"


def _per_hour(app, name, k, hours) -> str:
    lo, hi = app.pipeline._poisson_rate(k, hours)
    return f"| {name} | {k / hours:.2f} | {lo:.2f}-{hi:.2f} | {k} in {hours:.2f} h |"


def _markdown(app, pipe, runs, cinc, held_out: bool = False, trained_on=()) -> str:
    said_af = _af_decider(app, pipe)
    ref_runs = [r for r in runs if r["truth"] is not None]
    for r in ref_runs:
        r["qrs"] = _qrs(app, r)
        r["af"] = _af(app, r, said_af)
    checked = _checked_against_release(ref_runs)
    used = [MITDB + (f", {checked}" if checked else "")] * bool(ref_runs) + [CINC] * bool(cinc)
    out = ["## Real records (PhysioNet; not in this repository)", "",
           f"Sources: {'; '.join(used) or 'WFDB records without reference labels'}; {PHYSIONET}", ""]
    if held_out:
        out += ["Held-out records only: no model was trained or chosen on them. Of MIT-BIH, de Chazal's DS2 (DS1 "
                "trains and validates; the paced records are not AAMI's); of CinC 2017, the manifest's test split "
                "(its training and validation recordings, and Other rhythm, which no split holds, are left out).", ""]
    out += _summary(app, ref_runs, cinc, trained_on)
    if ref_runs:
        out += _qrs_section(app, ref_runs) + _beat_section(app, ref_runs) + _af_section(app, ref_runs)
        out += _event_section(app, ref_runs)
    if cinc:
        out += _cinc_section(app, cinc)
    other = [r for r in runs if r["truth"] is None]
    if other:
        out += _measured_section(app, other)
    return "\n".join(out)


def _summary(app, runs, cinc, trained_on=()) -> list[str]:
    """The figures a reader needs first, against the synthetic ones above (the model never saw real ECG)."""
    said = []
    aami = _aami(runs)
    if aami:
        tp, ref, det = (sum(r["qrs"][k] for r in aami) for k in ("tp", "ref", "det"))
        said.append(f"QRS detection on the {len(aami)} AAMI records: sensitivity {_pct(tp, ref)}, positive "
                    f"predictivity {_pct(tp, det)}")
    ds2 = [r for r in runs if _set_of(r["record"]) == "DS2"]
    if ds2:
        _, c = _beat_confusion(app, ds2)
        said.append(f"V beats on DS2: sensitivity {_pct(c['v_tp'], c['v_ref'])}, positive predictivity "
                    f"{_pct(c['v_tp'], c['v_det'])}")
    if runs and any(r["af"]["ref_n"] for r in runs):
        pos, tp = sum(r["af"]["w_pos"] for r in runs), sum(r["af"]["w_tp"] for r in runs)
        top = {lab: sum(r["af"].get(f"af_as_{lab}", 0) for r in runs) for lab in app.manifest.labels}
        most = max(top, key=top.get)
        said.append(f"{_pct(tp, pos)} of the reference AF windows are called AF (the rhythm model's top class on "
                    f"{_pct(top[most], pos)} of them is '{most}')")
    if cinc:
        a = [x for x in cinc["rows"] if x[1] == "A" and x[2] is not None]
        said.append(f"on CinC 2017's AF recordings, {_pct(sum(x[3] >= 0.5 for x in a), len(a))} are AF in at least "
                    "half of their windows")
    if not said:
        return []
    if trained_on:
        learned = (f"The model learned from synthetic ECG and the training splits of {', '.join(trained_on)}; "
                   "these records are held out from it.")
    else:
        learned = ("The model learned from synthetic ECG only; retraining on real records (`[dataset]` below) is "
                   "what these figures call for.")
    return ["In short: " + "; ".join(said) + ". " + learned, ""]


def _checked_against_release(runs) -> str:
    """How many records' files match the SHA256SUMS.txt beside them (PhysioNet's release lists every file)."""
    import hashlib

    ok = 0
    for r in runs:
        sums = Path(r["path"]).parent / "SHA256SUMS.txt"
        if not sums.is_file():
            return ""
        listed = dict(reversed(line.split(maxsplit=1)) for line in sums.read_text().splitlines() if line.strip())
        files = [Path(r["path"]).with_suffix(ext) for ext in (".hea", ".dat", ".atr")]
        ok += all(f.name in listed and hashlib.sha256(f.read_bytes()).hexdigest() == listed[f.name] for f in files)
    return f"{ok} of its {len(runs)} records checked byte for byte against the release's SHA256SUMS.txt"


def _qrs_section(app, runs) -> list[str]:
    out = ["### QRS detection (MIT-BIH Arrhythmia Database, AAMI EC57)", "",
           "Reference beats matched within 150 ms, from the 5th minute (EC57's learning period), ventricular flutter "
           "left out; the lead the pipeline read (MLII, or its stand-in on 102 and 104).", "",
           "| record | set | lead | reference beats | TP | FN | FP | sensitivity (95 % CI) | positive predictivity (95 % CI) | events |",
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    P = app.pipeline
    for r in runs:
        q = r["qrs"]
        se, pp = P.clopper_pearson(q["tp"], q["ref"]), P.clopper_pearson(q["tp"], q["det"])
        out.append(f"| {r['record']} | {_set_of(r['record'])} | {r['lead']} | {q['ref']} | {q['tp']} | "
                   f"{q['ref'] - q['tp']} | {q['det'] - q['tp']} | {_pct(q['tp'], q['ref'])} ({se[0]:.4f}-{se[1]:.4f}) | "
                   f"{_pct(q['tp'], q['det'])} ({pp[0]:.4f}-{pp[1]:.4f}) | {_event_counts(r)} |")
    out += ["", "Gross (every beat of the records counted together):", "",
            "| records | reference beats | FN | FP | sensitivity | 95 % CI | positive predictivity | 95 % CI |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, sel in (("all", runs), ("AAMI (paced left out)", _aami(runs)),
                      ("DS1", [r for r in runs if _set_of(r["record"]) == "DS1"]),
                      ("DS2", [r for r in runs if _set_of(r["record"]) == "DS2"])):
        if not sel:
            continue
        tp, ref, det = (sum(r["qrs"][k] for r in sel) for k in ("tp", "ref", "det"))
        se, pp = P.clopper_pearson(tp, ref), P.clopper_pearson(tp, det)
        out.append(f"| {name} ({len(sel)}) | {ref} | {ref - tp} | {det - tp} | {_pct(tp, ref)} | {se[0]:.4f}-{se[1]:.4f} | "
                   f"{_pct(tp, det)} | {pp[0]:.4f}-{pp[1]:.4f} |")
    err = np.concatenate([_hr_errors(app, r) for r in _aami(runs)] or [np.zeros(0)])
    if len(err):
        out += ["", f"Heart rate: each 10 s window's hr_bpm from the 5th minute against 60 / the mean R-R of the reference "
                f"beats in it, AAMI records: mean absolute error {err.mean():.2f} bpm, median {np.median(err):.2f} bpm, "
                f"{np.mean(err > 5):.1%} of {len(err)} windows off by more than 5 bpm."]
    return out + [""]


def _event_counts(run) -> str:
    kinds = [k for _, k in run["events"]]
    return ", ".join(f"{k} {kinds.count(k)}" for k in dict.fromkeys(kinds)) or "none"


def _hr_errors(app, run) -> np.ndarray:
    """|hr_bpm - the reference rate| of each window from the 5th minute with two reference beats or more."""
    m = app.manifest
    W, hr_i = int(m.features["window"]), m.values.index("hr_bpm")
    out = []
    for k, e in enumerate(run["res"].ends):
        t0, t1 = (e - W) / m.rate, e / m.rate
        v = float(run["res"].values[k][hr_i])
        ref = _ref_hr(run["truth"], t0, t1)
        if t0 >= LEARNING_S and np.isfinite(v) and np.isfinite(ref):
            out.append(abs(v - ref))
    return np.asarray(out)


def _beat_section(app, runs) -> list[str]:
    m = app.manifest
    out = []
    for name in ("DS2", "DS1"):
        sel = [r for r in runs if _set_of(r["record"]) == name]
        if not sel:
            continue
        conf, c = _beat_confusion(app, sel)
        role = "de Chazal's test records" if name == "DS2" else "the records any rule change is chosen on"
        out += [f"### Beat classes, {name} ({role}; {len(sel)} records)", "",
                "Rows: the reference's AAMI class; columns: ours (- missed), matched beats from the 5th minute.", "",
                "| ref \\ ours | " + " | ".join([*m.beat_labels, "-"]) + " |",
                "| --- |" + " --- |" * (len(m.beat_labels) + 1)]
        for i, t in enumerate("NSVFQ"):
            if conf[i].sum():
                out.append(f"| {t} | " + " | ".join(str(v) for v in conf[i]) + " |")
        out += ["", "| figure | value | 95 % CI | count |", "| --- | --- | --- | --- |",
                _rate(app, "V beats, sensitivity", c["v_tp"], c["v_ref"]),
                _rate(app, "V beats, positive predictivity", c["v_tp"], c["v_det"]),
                _rate(app, "S beats, sensitivity", c["s_tp"], c["s_ref"]),
                _rate(app, "S beats, positive predictivity", c["s_tp"], c["s_det"]), ""]
    return out


def _af_section(app, runs) -> list[str]:
    with_af = [r for r in runs if r["af"]["ref_n"]]
    without = [r for r in runs if not r["af"]["ref_n"]]
    out = ["### Atrial fibrillation (MIT-BIH Arrhythmia Database rhythm annotations)", "",
           "Reference AF: the `(AFIB` and `(AFL` spans. Ours: the AF episode state after each 2 s decision (an episode "
           f"starts after af_min_s = {app.manifest.postprocess['af_min_s']:g} s of AF decisions, so its first half "
           "minute is not ours). Burden: the share of the record in AF.", "",
           "| record | set | reference episodes (found) | our episodes (on reference AF) | reference burden | our burden | AF time found | our AF time on reference AF |",
           "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in with_af:
        a = r["af"]
        out.append(f"| {r['record']} | {_set_of(r['record'])} | {a['ref_n']} ({a['ref_found']}) | {a['our_n']} ({a['our_true']}) | "
                   f"{a['ref_s'] / r['seconds']:.1%} | {a['our_s'] / r['seconds']:.1%} | {_pct(a['both_s'], a['ref_s'])} | "
                   f"{_pct(a['both_s'], a['our_s'])} |")
    tot = {k: sum(r["af"].get(k, 0) for r in runs) for k in runs[0]["af"]}
    hours = sum(r["seconds"] for r in without) / 3600
    false_af = sum(sum(1 for _, k in r["events"] if k == "af") for r in without)
    out += ["", "| figure | value | 95 % CI | count |", "| --- | --- | --- | --- |",
            _rate(app, "AF episodes found (episode sensitivity)", tot["ref_found"], tot["ref_n"]),
            _rate(app, "AF episodes of at least af_min_s + 10 s found", tot["ref_long_found"], tot["ref_long_n"]),
            _rate(app, "our AF episodes on reference AF (episode positive predictivity)", tot["our_true"], tot["our_n"]),
            f"| AF time found (duration sensitivity) | {_pct(tot['both_s'], tot['ref_s'])} | | "
            f"{tot['both_s'] / 60:.1f} of {tot['ref_s'] / 60:.1f} min |",
            f"| our AF time on reference AF (duration positive predictivity) | {_pct(tot['both_s'], tot['our_s'])} | | "
            f"{tot['both_s'] / 60:.1f} of {tot['our_s'] / 60:.1f} min |",
            _rate(app, "AF windows, sensitivity (P(af) and irregularity, per 10 s window)", tot["w_tp"], tot["w_pos"]),
            _rate(app, "AF windows, specificity", tot["w_tn"], tot["w_neg"])]
    if hours:
        out.append(_per_hour(app, f"AF events per hour on the {len(without)} records without AF", false_af, hours))
    return out + [""]


def _event_section(app, runs) -> list[str]:
    kinds = app.manifest.event_names
    hours = sum(r["seconds"] for r in runs) / 3600
    out = ["### Events against the reference (every record)", "",
           "False: an event the reference does not bear out (the rule in `real_data.py`'s doc: AF within an AF span; "
           "ectopy with ectopy_per_min S/V/F beats or a V couplet in the 70 s before; brady/tachy with the "
           "reference rate within 5 % of the limit); noise cannot be checked (mitdb marks no unreadable spans). "
           "In sinus rhythm: events inside `(N` spans, per hour of them.", "",
           "| event | events | false | false per hour (95 % CI) | in sinus rhythm: events | false | false per hour (95 % CI) |",
           "| --- | --- | --- | --- | --- | --- | --- |"]
    sinus_of = {id(r): _spans(r["truth"], ("N",)) for r in runs}
    sinus_h = sum(_overlap(sinus_of[id(r)], [(0.0, r["seconds"])]) for r in runs) / 3600
    P = app.pipeline
    for kind in kinds:
        if kind == "normal":
            continue  # a window class, never an event
        n = f = n_s = f_s = 0
        for r in runs:
            sinus = sinus_of[id(r)]
            for t, k in r["events"]:
                if k != kind:
                    continue
                ok = _event_is_true(app, r["truth"], t, k)
                in_sinus = any(a <= t <= b for a, b in sinus)
                n += 1
                n_s += in_sinus
                f += ok is False
                f_s += in_sinus and ok is False
        if kind == "noise":
            out.append(f"| {kind} | {n} | not checkable | {_hourly(n, hours)} (all) | {n_s} | not checkable | "
                       f"{_hourly(n_s, sinus_h)} (all) |")
            continue
        out.append(f"| {kind} | {n} | {f} | {_hourly(f, hours, P)} | {n_s} | {f_s} | {_hourly(f_s, sinus_h, P)} |")
    out += ["", f"Over {hours:.1f} h of records, {sinus_h:.1f} h of them in sinus rhythm.", ""]
    return out


def _hourly(k, hours, P=None) -> str:
    """k per hour, with its exact Poisson 95 % interval when P (the app's pipeline) is given."""
    if hours <= 0:
        return "n/a"
    if P is None:
        return f"{k / hours:.2f}"
    lo, hi = P._poisson_rate(k, hours)
    return f"{k / hours:.2f} ({lo:.2f}-{hi:.2f})"


def _cinc_section(app, cinc) -> list[str]:
    rows = cinc["rows"]
    names = {"N": "normal", "A": "AF", "O": "other rhythm", "~": "too noisy"}
    out = ["### AF in short recordings (PhysioNet/CinC Challenge 2017 training set)", "",
           f"Each recording (9-61 s, 300 Hz, one lead, `{cinc['reference']}`"
           + (f"; the test split: {len(rows)} of its {cinc['listed']}" if cinc.get("held_out") else "")
           + ") through the pipeline: an AF event (the "
           "device's alert, which needs af_min_s of AF decisions), and AF decided in at least half of its 10 s windows.",
           "", "| class | recordings | read | AF event | AF in >= half the windows |", "| --- | --- | --- | --- | --- |"]
    P = app.pipeline
    for cls in "NAO~":
        sel = [r for r in rows if r[1] == cls]
        if not sel and cinc.get("held_out"):
            continue  # Other rhythm: in no split
        ok = [r for r in sel if r[2] is not None]
        ev, half = sum(r[2] for r in ok), sum(r[3] >= 0.5 for r in ok)
        ci_e, ci_h = P.clopper_pearson(ev, len(ok)), P.clopper_pearson(half, len(ok))
        out.append(f"| {cls} ({names[cls]}) | {len(sel)} | {len(ok)} | {_pct(ev, len(ok))} ({ci_e[0]:.4f}-{ci_e[1]:.4f}) | "
                   f"{_pct(half, len(ok))} ({ci_h[0]:.4f}-{ci_h[1]:.4f}) |")
    out.append("")
    if cinc["refused"]:
        out += ["Recordings refused (one line each, as `predict` says it): " + "; ".join(
            f"{n} x '{why}'" for why, n in sorted(cinc["refused"].items(), key=lambda kv: -kv[1])), ""]
    return out


def _measured_section(app, runs) -> list[str]:
    m = app.manifest
    out = ["### Records without reference labels: what the pipeline measured", "",
           "| record | minutes | beats found | median HR (bpm) | windows: " + " / ".join(m.labels) + " | beat classes | events |",
           "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in runs:
        res = r["res"]
        hr = res.values[:, m.values.index("hr_bpm")]
        share = np.bincount(np.asarray(res.scores_q).argmax(1), minlength=len(m.labels)) / max(len(res.scores_q), 1)
        ev = ", ".join(f"{k} {t:g} s" for t, k in r["events"][:6]) + (" ..." if len(r["events"]) > 6 else "")
        cl = " ".join(f"{c} {int((r['det_c'] == c).sum())}" for c in m.beat_labels)
        out.append(f"| {r['record']} | {r['seconds'] / 60:.1f} | {len(r['det_t'])} | {float(np.nanmedian(hr)):.1f} | "
                   + " / ".join(f"{100 * s:.0f} %" for s in share) + f" | {cl} | {ev or 'none'} |")
    return out + [""]


def _strip(run, m, path, seconds=12.0, start=310.0):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sig, res = run["sig"], run["res"]
    start = max(0.0, min(start, len(sig) / m.rate - seconds))  # after the learning period, or a short record's end
    a, b = int(start * m.rate), min(len(sig), int((start + seconds) * m.rate))
    t = np.arange(a, b) / m.rate
    fig, ax = plt.subplots(figsize=(11, 3))
    ax.plot(t, sig[a:b, 0], lw=0.8)
    for i, lab in res.beats:
        if a <= i < b:
            ax.axvline(i / m.rate, color="r", lw=0.5, ls=":")
            ax.text(i / m.rate, sig[a:b, 0].max(), m.beat_labels[lab], color="r", fontsize=8, ha="center")
    ax.set_xlabel("time (s)"); ax.set_ylabel("mV")
    ax.set_title(f"MIT-BIH record {run['record']} (MLII, resampled to 250 Hz): R peaks and beat classes found on it")
    fig.tight_layout(); fig.savefig(path, dpi=90); plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
