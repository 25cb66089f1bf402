"""Choose `[postprocess]` smooth and threshold on the validation split's real streams (never the test split's).

    SPEECH_COMMANDS=<folders> .venv/bin/python apps/keyword-spotting/operating_point.py [--run <run folder>]

The streams are the `speech-commands` source's validation streams as the manifest declares them
(`options.streams.val`: hours of non-keyword speech from the validation-split speakers' clips, and commands
spoken among it, in household noise). The int8 model (the committed one, or a run's) scores them once; the
app's own post-processor (ThresholdEvents, the device's integer arithmetic, end-of-input flush included) then
runs over the saved scores for every smooth x threshold x suppress_s. The choice is the point nearest both
stream targets of `[acceptance]`: least max(FA/h / ceiling, false rejects / (1 - sensitivity floor)), fewer
false accepts first on a tie, among the points at which the model still hears the shipped demo scene exactly
(`demo_heard`: every command of `fixtures/demo.wav`, nothing else, as `make flash` judges it; the rule of
2026-12-07, README: a point that drops a clearly spoken command is no operating point). Writes model/operating_point.json (the table, the hours, the choice); the README
cites it. The int8 drop at a new point needs the float model's streams too: `train --reuse-float` with the
point in app.toml measures it, and a point is adopted only within `max_int8_drop`.
The 0.25 h of validation streams the first real-speech model was tuned on proved far too short (4 FA/h
there, 49/h on the test streams): false accepts are rare events, and only hours of streams count them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SMOOTHS = (1, 2, 3, 4, 5)
THRESHOLDS = (0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.96, 0.97, 0.98, 0.99, 0.995)
HOLDS = (1.0, 1.5, 2.0)  # suppress_s: a repeat of the same command within this time is the same word (TFLM: 1.5 s)


def _app():
    from tinyml.apps import load_app

    return load_app(HERE.name)


def val_streams(app) -> list:
    """The validation split's streams of the manifest's speech-commands source (its folders must exist)."""
    from tinyml.data import dataset_module
    from tinyml.data.source import declared_sources
    from tinyml.errors import TinymlError

    m = app.manifest
    src = next((s for s in declared_sources(m) if s.real), None)
    folders = src.folders(m) if src else []
    if not folders:
        raise TinymlError("operating_point: no Speech Commands folder (set $SPEECH_COMMANDS, see the README)")
    want = src.options.get("streams", {}).get("val")
    if not want:
        raise TinymlError("operating_point: the speech-commands source declares no validation streams")
    options = {**src.options, "streams": {"val": want}}  # as the data step builds them (same seeds)
    recs = dataset_module(src.name).load(folders, rate=m.rate, channels=m.channels, **options)
    return [r for r in recs if r.split == "val" and r.activity in ("stream", "keywords")]


def _events(app, fx, n, scores, out_scale, out_zero_point, smooth, threshold, suppress_s) -> list:
    """The app's post-processor's events (sample, label, score) over n samples given their windows' int8 scores,
    at smooth, threshold and suppress_s. It reads only the windows' lengths: zero views stand for the audio."""
    from tinyml.postprocess import ThresholdEvents
    from tinyml.predict import postprocess

    mm = app.pipeline.with_postprocess(app.manifest, smooth=smooth, threshold=threshold, suppress_s=suppress_s)
    frames = np.broadcast_to(np.zeros((1, fx.window, 1), np.float32), (fx.n_windows(n), fx.window, 1))
    sig = np.broadcast_to(np.zeros((1, 1), np.float32), (n, 1))
    pp = ThresholdEvents(mm, out_scale, out_zero_point)  # the app's PostProcessor, unrecorded
    return postprocess(pp, frames, fx.window, fx.hop, scores, sig)


def sweep(app, streams, scores, out_scale, out_zero_point, smooths=SMOOTHS, thresholds=THRESHOLDS,
          holds=None) -> list[dict]:
    """FA/h and false rejects of the app's post-processor over `streams` (Recordings; only their length,
    activity and events are read) given each one's int8 scores, for every smooth x threshold x suppress_s
    (holds; default the manifest's)."""
    from tinyml.features import FeatureExtractor
    from tinyml.metrics import event_metrics

    m = app.manifest
    fx = FeatureExtractor(m)
    before, after = float(m.postprocess["detect_before_s"]), float(m.postprocess["detect_after_s"])
    rows = []
    holds = holds or (float(m.postprocess["suppress_s"]),)
    grid = [(s, t, h) for s in smooths for t in thresholds for h in holds]
    for smooth, th, hold in grid:
        events = [_events(app, fx, len(r.signal), sq, out_scale, out_zero_point, smooth, th, hold)
                  for r, sq in zip(streams, scores)]
        em = event_metrics(streams, events, m.labels, m.rate, before, after)
        rows.append({"smooth": smooth, "threshold": th, "suppress_s": hold,
                     "false_alarms": int(em.get("false_alarms", 0)),
                     "stream_hours": round(float(em.get("stream_hours", 0.0)), 4),
                     "false_alarms_per_hour": round(float(em.get("false_alarms_per_hour", float("nan"))), 3),
                     "commands": int(em["event_trials"]), "false_rejects": round(1 - float(em["sensitivity"]), 4)})
    return rows


def hears_demo(app, run, rows) -> None:
    """Mark each row `demo_heard`: at its smooth, threshold and suppress_s, the int8 model raises exactly the
    demo scene's true commands (`fixtures/demo.wav` against its truth file, by `make flash`'s verdict)."""
    from tinyml.device.commands import demo_verdict
    from tinyml.features import FeatureExtractor
    from tinyml.fixtures import demo_path, truth_path
    from tinyml.predict import Pipeline, prepare, read_input

    m = app.manifest
    sig = prepare(app, read_input(app, demo_path(app)), notice=False)
    pipe = Pipeline(app, folder=run) if run else Pipeline(app)
    scores = pipe.run(sig).scores_q
    fx = FeatureExtractor(m)
    for row in rows:
        ev = _events(app, fx, len(sig), scores, pipe.model.output.scale, pipe.model.output.zero_point,
                     row["smooth"], row["threshold"], row["suppress_s"])
        got = [{"t": i / m.rate, "event": m.labels[lab]} for i, lab, _ in ev]
        row["demo_heard"] = demo_verdict(app, truth_path(app), got)[1]


def choose(rows, acceptance, suppress_s=1.5) -> dict:
    """The row nearest both stream targets among those that hear the demo (`demo_heard`, where marked):
    least max(FA/h / ceiling, false rejects / allowed share); on a tie fewer false accepts, then the
    suppression nearest `suppress_s` (the manifest's), then the higher threshold."""
    fa_max = float(acceptance["max_false_alarms_per_hour"])
    frr_max = 1.0 - float(acceptance["sensitivity"])
    rows = [r for r in rows if r.get("demo_heard", True)]
    if not rows:
        from tinyml.errors import TinymlError

        raise TinymlError("operating_point: no point hears the demo scene's commands")
    return min(rows, key=lambda r: (max(r["false_alarms_per_hour"] / fa_max, r["false_rejects"] / frr_max),
                                    r["false_alarms_per_hour"], abs(r.get("suppress_s", suppress_s) - suppress_s),
                                    -r["threshold"]))


def _score(app, run):
    from tinyml.predict import Pipeline, prepare

    streams = val_streams(app)
    pipe = Pipeline(app, folder=run) if run else Pipeline(app)
    scores = [pipe.run(prepare(app, r, notice=False)).scores_q for r in streams]
    return streams, scores, pipe.model.output.scale, pipe.model.output.zero_point


def _write_scores(path, sha, streams, scores, scale, zero_point):
    meta = [{"n": len(r.signal), "activity": r.activity, "events": [[float(t), lab] for t, lab in r.events]}
            for r in streams]
    np.savez_compressed(path, scores=np.concatenate(scores).astype(np.int8), lengths=[len(s) for s in scores],
                        meta=json.dumps({"model_sha256": sha, "streams": meta, "scale": float(scale),
                                         "zero_point": int(zero_point)}))


def _read_scores(path, sha, rate):
    """Saved scores of this very model (None when the file is missing or holds another model's)."""
    from tinyml.recording import Recording

    if not Path(path).exists():
        return None
    with np.load(path) as z:
        d = json.loads(str(z["meta"]))
        if d["model_sha256"] != sha:
            return None
        scores = np.split(z["scores"], np.cumsum(z["lengths"])[:-1])
    streams = [Recording(np.broadcast_to(np.zeros((1, 1), np.float32), (s["n"], 1)), rate, ("audio",),
                         label="unknown", activity=s["activity"], events=[(t, lab) for t, lab in s["events"]],
                         split="val")
               for s in d["streams"]]
    return streams, scores, d["scale"], d["zero_point"]


def main(argv=None) -> int:
    from tinyml.errors import TinymlError

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", help="a training run's folder (default: the committed model)")
    ap.add_argument("--out", default=str(HERE / "model" / "operating_point.json"))
    ap.add_argument("--scores", help="a .npz of the streams' int8 scores: read when it exists, else written")
    args = ap.parse_args(argv)
    try:
        app = _app()
        model = Path(args.run) / "model.int8.tflite" if args.run else HERE / "model" / "model.int8.tflite"
        if not model.is_file():
            raise TinymlError(f"{model}: no int8 model")
        sha = hashlib.sha256(model.read_bytes()).hexdigest()
        t0 = time.time()
        saved = _read_scores(args.scores, sha, float(app.manifest.rate)) if args.scores else None
        streams, scores, scale, zero_point = saved or _score(app, args.run)
        if args.scores and not saved:
            _write_scores(args.scores, sha, streams, scores, scale, zero_point)
        rows = sweep(app, streams, scores, scale, zero_point, holds=HOLDS)
        hears_demo(app, args.run, rows)
        best = choose(rows, app.manifest.acceptance, float(app.manifest.postprocess["suppress_s"]))
    except TinymlError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for r in rows:
        print(f"smooth {r['smooth']} threshold {r['threshold']:g} suppress {r['suppress_s']:g} s: "
              f"{r['false_alarms_per_hour']:.2f} FA/h ({r['false_alarms']} in {r['stream_hours']:.2f} h), "
              f"false rejects {100 * r['false_rejects']:.1f} % "
              f"of {r['commands']}" + ("" if r["demo_heard"] else ", misses the demo"))
    print(f"chosen: smooth {best['smooth']}, threshold {best['threshold']:g}, suppress_s {best['suppress_s']:g} "
          f"({time.time() - t0:.0f} s)")
    out = {"split": "val", "model_sha256": sha,
           "stream_hours": rows[0]["stream_hours"], "commands": rows[0]["commands"],
           "chosen": {k: best[k] for k in ("smooth", "threshold", "suppress_s")}, "rows": rows}
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
