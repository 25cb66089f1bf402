"""False accepts on household sounds nobody speaks in: two hours of them, drawn for validation only.

    .venv/bin/python apps/keyword-spotting/household_streams.py [--run <run folder>] [--minutes 120]

The real folders hold no background recording for the training or validation splits (the official test
set's `_silence_` clips are evaluation only), so validation cannot measure false accepts on the sounds of a
home from real audio. This draws them instead: one minute after another of a household sound
(tinyml.data.household: dishes, a tap, knocks and steps, a rhythmic machine, coughs and hums, music) over a
faint steady noise, through a microphone and a phone's capture path (the pipeline's `household_window`),
from a seed no training draw uses (SEED; training's household windows come from the manifest's seed).
The int8 model (the committed one, or a run's) scores them; the app's post-processor counts the commands
raised, at the manifest's point and over a few thresholds. Every command raised is a false accept.
What this cannot say: it is the same family of sounds a candidate may have been trained on, drawn anew;
the official test streams (real background recordings) stay the test.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 9001  # validation-only draws (training's household windows use the manifest's seed)
THRESHOLDS = (0.85, 0.9, 0.95, 0.98)


def household_streams(app, minutes: int, seed: int = SEED) -> list:
    """`minutes` one-minute recordings of household sounds (no speech, no command), split "val"."""
    from tinyml.recording import Recording

    m = app.manifest
    rng = np.random.default_rng(seed)
    n = int(60 * m.rate)
    out = []
    for k in range(minutes):
        x, kind = app.pipeline.household_window(m, rng, n)
        out.append(Recording(x[:, None], float(m.rate), tuple(m.channels), subject=f"household:{k}",
                             label="unknown", activity="stream", events=[], source=f"household:{kind}",
                             split="val"))
    return out


def main(argv=None) -> int:
    from tinyml.apps import load_app
    from tinyml.errors import TinymlError
    from tinyml.predict import Pipeline, prepare

    sys.path.insert(0, str(HERE))
    from operating_point import sweep

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", help="a training run's folder (default: the committed model)")
    ap.add_argument("--minutes", type=int, default=120)
    args = ap.parse_args(argv)
    try:
        app = load_app(HERE.name)
        if args.run and not (Path(args.run) / "model.int8.tflite").is_file():
            raise TinymlError(f"{args.run}: no model.int8.tflite")
        streams = household_streams(app, args.minutes)
        pipe = Pipeline(app, folder=args.run) if args.run else Pipeline(app)
        scores = [pipe.run(prepare(app, r, notice=False)).scores_q for r in streams]
        pp = app.manifest.postprocess
        rows = sweep(app, streams, scores, pipe.model.output.scale, pipe.model.output.zero_point,
                     smooths=(int(pp["smooth"]),), thresholds=THRESHOLDS)
    except TinymlError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    kinds = sorted({r.source.split(":", 1)[1] for r in streams})
    at = {}  # false accepts per kind at the manifest's point
    for kind in kinds:
        pick = [i for i, r in enumerate(streams) if r.source == f"household:{kind}"]
        row = sweep(app, [streams[i] for i in pick], [scores[i] for i in pick], pipe.model.output.scale,
                    pipe.model.output.zero_point, smooths=(int(pp["smooth"]),), thresholds=(float(pp["threshold"]),))
        at[kind] = (row[0]["false_alarms"], len(pick))
    print(f"{args.run or 'committed'}: {len(streams)} min of household sounds ({', '.join(kinds)}), "
          f"smooth {pp['smooth']}, suppress {pp['suppress_s']:g} s")
    for r in rows:
        print(f"threshold {r['threshold']:g}: {r['false_alarms']} false accepts "
              f"({r['false_alarms_per_hour']:.1f} / h)")
    print(f"at threshold {pp['threshold']:g}, by kind: "
          + ", ".join(f"{k} {fa} in {m} min" for k, (fa, m) in at.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
