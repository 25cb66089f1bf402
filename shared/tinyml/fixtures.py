"""Golden vectors per app (fixtures/): the demo recording, its ground truth, and for every window the
int8 model input, the int8 scores, the float32 values ([app] values), plus the beats ([app] beat_labels)
and the events, as produced by the Python pipeline with TFLM; for each further model ([models.<name>]),
every int8 input the post-processor gave it and its int8 output (`<name>_inputs_q`, `<name>_outputs_q`).

The demo recording is regenerated only when missing or when the feature version changes; the golden
outputs are rewritten whenever a model is promoted (tinyml.runs). Tests and the firmware parity check replay them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .apps import App
from .errors import TinymlError
from .recording import Recording


def demo_path(app: App) -> Path:
    demo = app.manifest.firmware.get("demo") or "fixtures/demo.csv"
    return app.dir / demo


def truth_path(app: App) -> Path:
    return demo_path(app).with_suffix(".truth.json")


def golden_path(app: App) -> Path:
    return app.fixtures_dir / "golden.npz"


def write_csv(path: Path, rec: Recording) -> None:
    """Time in ms plus one column per channel; %.9g keeps float32 values exact through text."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(len(rec.signal)) * (1000.0 / rec.rate)
    with path.open("w") as f:
        f.write("timestamp," + ",".join(rec.channels) + "\n")
        for ti, row in zip(t, rec.signal):
            f.write(f"{ti:.3f}," + ",".join(f"{v:.9g}" for v in row) + "\n")


def write_wav(path: Path, rec: Recording, float32: bool = False) -> None:
    """PCM16 WAV (for signals in full scale, -1..1): the demo of an audio app. Values on the int16 grid
    (x * 32768 an integer) survive the round trip through the WAV reader exactly. float32: a float WAV of
    the values as they are, for a signal in physical units (a vibration in g), read back bit for bit."""
    from scipy.io import wavfile

    path.parent.mkdir(parents=True, exist_ok=True)
    if float32:
        q = np.ascontiguousarray(rec.signal, np.float32)
    else:
        q = np.clip(np.round(np.asarray(rec.signal, np.float64) * 32768.0), -32768, 32767).astype(np.int16)
    wavfile.write(path, int(round(rec.rate)), q[:, 0] if q.shape[1] == 1 else q)


def truth_doc_events(rec) -> list[dict]:
    """The demo truth file's events: {"t", "event"}, and "onset" where the app's make_demo gives the
    fault's physical onset (rec.truth["event_onsets"]: (t, label, onset) for events named after it)."""
    onsets = {(round(t, 3), lab): on for t, lab, on in rec.truth.get("event_onsets", ())}
    out = []
    for t, lab in rec.events:
        e = {"t": round(t, 3), "event": lab}
        on = onsets.get((round(t, 3), lab))
        if on is not None:
            e["onset"] = round(on, 3)
        out.append(e)
    return out


def truth_events(doc: dict) -> list[tuple]:
    """A demo truth file's events as match_events takes them: (t, label), or (t, label, onset)."""
    return [(float(e["t"]), str(e["event"])) + ((float(e["onset"]),) if "onset" in e else ())
            for e in doc["events"]]


def ensure_demo(app: App) -> Path:
    m = app.manifest
    path, truth = demo_path(app), truth_path(app)
    if path.is_file() and truth.is_file():
        doc = json.loads(truth.read_text())
        if doc.get("feature_version") == m.features["version"]:
            return path
    make_demo = getattr(app.pipeline, "make_demo", None)
    if make_demo is None:
        raise TinymlError(f"{app.dir / 'pipeline.py'}: no make_demo(manifest, seed) to build {path.name}")
    rec = make_demo(m, m.dataset["seed"])
    if path.suffix.lower() == ".wav":
        write_wav(path, rec, float32=m.unit_of(m.channels[0]) != "full scale")
    else:
        write_csv(path, rec)
    truth.write_text(json.dumps({
        "feature_version": m.features["version"], "rate": rec.rate,
        "events": truth_doc_events(rec),
        "description": rec.activity,
    }, indent=1) + "\n")
    return path


def write_golden(app: App, pipe) -> Path:
    from .predict import prepare, read_input

    res = pipe.run(prepare(app, read_input(app, ensure_demo(app)), notice=False))
    out = golden_path(app)
    out.parent.mkdir(parents=True, exist_ok=True)
    extra = {}
    if app.manifest.values:
        extra["values"] = np.asarray(res.values, np.float32)
    if app.manifest.beat_labels:
        extra["beats"] = np.asarray(res.beats, np.int64).reshape(-1, 2)
    for name, (xs, ys) in res.model_io.items():
        extra[f"{name}_inputs_q"], extra[f"{name}_outputs_q"] = xs, ys
    np.savez_compressed(
        out,
        inputs_q=res.inputs_q,
        scores_q=res.scores_q,
        events=np.asarray(res.events, np.int64).reshape(-1, 3),
        feature_hash=np.array(app.manifest.feature_hash()),
        **extra,
    )
    return out


def load_golden(app: App) -> dict:
    """The golden arrays; `values` [n_windows, 0] and `beats` [0, 2] for an app without them."""
    with np.load(golden_path(app)) as z:
        g = {k: z[k] for k in z.files}
    g.setdefault("values", np.zeros((len(g["scores_q"]), 0), np.float32))
    g.setdefault("beats", np.zeros((0, 2), np.int64))
    return g


def regenerate_golden(app: App) -> Path:
    """Rewrite fixtures/golden.npz from the committed model (after a change to the post-processing or the
    output format; the demo recording stays unless the feature version changed)."""
    from .predict import Pipeline

    return write_golden(app, Pipeline(app))
