"""The validation subjects' falls at other mountings: how far detection depends on the device sitting as in training.

    SISFALL=<folder> .venv/bin/python apps/fall-detect/rotations.py [--model <run>/model.int8.tflite]

A device sits any way up (a phone in a pocket, a tag clipped on either way round), so the same fall reaches the
model turned. Every validation fall trial (SisFall and synthetic validation subjects; never a held-out one) is
scored under a few fixed, uniformly random rotations (`augment.random_rotation`, seeded: the same rotations for
every model compared), applied to the recording before the pipeline, by the card's event definitions
(tinyml.scoring.evaluate_events). Beside it the same validation data as recorded: the card's headline
sensitivity and specificity (SisFall validation trials) and false alarms per hour (synthetic validation
streams). Prints one JSON object. Evaluation only: model selection by the criterion in the app's README.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROTATION_SEED = 20261206  # fixed: every model is scored under the same rotations
N_ROTATIONS = 4


def fixed_rotations(n: int = N_ROTATIONS, seed: int = ROTATION_SEED) -> list[np.ndarray]:
    """n uniformly random 3x3 rotations, the same for the same seed."""
    from tinyml.data import augment

    rng = np.random.default_rng(seed)
    return [augment.random_rotation(rng, None) for _ in range(n)]


def turned(rec, rotation: np.ndarray):
    """The recording as a device mounted `rotation` away would have recorded it (every sample turned): a plain
    Recording with the same fields (a dataset cache's recording reads its samples from disk, so it is not copied)."""
    from tinyml.recording import Recording

    kept = {f.name: getattr(rec, f.name) for f in fields(Recording) if f.name != "signal"}
    return Recording(signal=np.ascontiguousarray(rec.signal @ np.asarray(rotation, np.float32).T, np.float32), **kept)


def fall_trials(recs) -> list:
    """The trials with a true fall (streams aside)."""
    return [r for r in recs if r.activity != "stream" and any(lab == "fall" for _, lab in r.events)]


def pooled_sensitivity(result: dict) -> dict:
    """Falls detected over every cohort together (the headline counts only the real cohort's)."""
    cohorts = result.get("by_cohort") or {"": result}
    hits = sum(int(c.get("event_hits", 0)) for c in cohorts.values())
    trials = sum(int(c.get("event_trials", 0)) for c in cohorts.values())
    return {"value": hits / trials if trials else float("nan"), "detected": hits, "falls": trials,
            "by_cohort": {k: [int(c.get("event_hits", 0)), int(c.get("event_trials", 0))] for k, c in cohorts.items()}}


def measure(app, pipe, val, rotations) -> dict:
    """The criterion's figures on the validation recordings `val`: as recorded, and every fall trial turned."""
    from tinyml.scoring import evaluate_events

    e = evaluate_events(app, pipe, val)
    falls = fall_trials(val)
    turned_falls = [turned(r, R) for R in rotations for r in falls]
    rot = evaluate_events(app, pipe, turned_falls)
    return {
        "as_recorded": {"sensitivity": e["sensitivity"], "specificity": e["specificity"],
                        "false_alarms_per_hour": e.get("false_alarms_per_hour"), "stream_hours": e.get("stream_hours"),
                        "falls_pooled": pooled_sensitivity(e), "measured_on": e.get("measured_on")},
        "rotated": {"rotations": len(rotations), "seed": ROTATION_SEED, "sensitivity_pooled": pooled_sensitivity(rot)},
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="the int8 model to score (default: the committed one)")
    args = ap.parse_args(argv)
    from tinyml.apps import load_app
    from tinyml.data import load_splits
    from tinyml.errors import TinymlError
    from tinyml.predict import Pipeline

    app = load_app(HERE.name)
    try:
        if args.model and not Path(args.model).is_file():
            raise TinymlError(f"{args.model}: no such model file")
        pipe = Pipeline(app, Path(args.model).read_bytes() if args.model else None)
        _, val, _ = load_splits(app.manifest, progress=False)
        out = measure(app, pipe, val, fixed_rotations())
    except TinymlError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out["model"] = args.model or str(app.tflite_path)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
