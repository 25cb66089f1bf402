"""Score int8 models on the validation split's 1 s clips: the real validation speakers' and the validation-only
TTS talkers' (never the test split's), as the README's adoption criterion reads them.

    SPEECH_COMMANDS=<folders> .venv/bin/python apps/keyword-spotting/validation_clips.py committed <run folder> ...

Each model is given as `committed` or a training run's folder; the first one is the baseline. The clips are
the manifest's validation split: the speech-commands source's validation speakers (the speaker-hash rule fixes
them) and the synthetic-speech source's `val_random_voices` talkers (split "val", rendered as the generator's
VALIDATION_CLIPS says), which the data step puts in validation whatever else it draws.

Per model: each class's recall on the real clips and on the TTS talkers'; (1) the 12-class balanced top-1
with each class taken from the real clips where there are at least MIN_REAL of them, else from the TTS talkers
(on, off and silence); (2) the balanced top-1 on the TTS talkers alone; the share of the TTS talkers' other
words heard as on/off. Then each model minus the baseline, with 95 % intervals of a paired bootstrap that
draws talkers (not clips) within each class (the core's stratified cluster bootstrap: one draw for every model).
Nothing is chosen here: the README says what is adopted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MIN_REAL = 50  # real validation clips a class needs to be judged on them (on/off have 2, silence 0)
RESAMPLES = 2000


def validation_clips(app) -> tuple[list, list]:
    """(real, tts): the validation split's 1 s clips of the manifest's two sources."""
    from tinyml.data import dataset_module
    from tinyml.data.source import declared_sources
    from tinyml.errors import TinymlError

    m = app.manifest
    sources = {s.name: s for s in declared_sources(m)}
    real_src, tts_src = sources.get("speech-commands"), sources.get("synthetic-speech")
    folders = real_src.folders(m) if real_src else []
    if not folders:
        raise TinymlError("validation_clips: no Speech Commands folder (set $SPEECH_COMMANDS, see the README)")
    n_val = int(tts_src.options.get("val_random_voices", 0)) if tts_src else 0
    if not n_val:
        raise TinymlError("validation_clips: the synthetic-speech source declares no val_random_voices")
    options = {k: v for k, v in real_src.options.items() if k != "streams"}  # clips only
    real = [r for r in dataset_module("speech-commands").load(folders, rate=m.rate, channels=m.channels, **options)
            if r.split == "val" and r.activity not in ("stream", "keywords")]
    # only the validation talkers: each voice is seeded by its own name, so these are the data step's renders
    tts = dataset_module("synthetic-speech").generate(
        rate=m.rate, channels=m.channels, seed=m.dataset["seed"], voices=0, flite=False, random_voices=0,
        talkers=[], personas={}, kokoro_voices=0, val_random_voices=n_val, progress=True)
    return real, [r for r in tts if r.split == "val"]


def predictions(app, run: str, recs: list) -> np.ndarray:
    """Top-1 class index of the int8 model (the committed one, or a run's) on 1 s clips."""
    from tinyml.predict import Pipeline

    pipe = Pipeline(app) if run == "committed" else Pipeline(app, folder=Path(run))
    n = pipe.fx.window
    x = np.stack([np.pad(r.signal[:n, 0], (0, max(0, n - len(r.signal)))) for r in recs]).astype(np.float32)
    out = []
    for i in range(0, len(x), 512):
        feats = pipe.fx.batch(x[i : i + 512, :, None])
        out.append(pipe.int8_scores(feats)[1].argmax(1))
    return np.concatenate(out)


def _cells(recs, labels):
    """{class index: (talker index per clip, clip indices)}."""
    y = np.array([labels.index(r.label) for r in recs])
    talkers = {s: i for i, s in enumerate(sorted({r.subject for r in recs}))}
    t = np.array([talkers[r.subject] for r in recs])
    return y, {c: (t[y == c], np.flatnonzero(y == c)) for c in np.unique(y)}


def _recalls(ok, sel):
    return {c: float(np.mean(ok[i])) for c, i in sel.items()}


def measures(n_classes, from_real, ok_real, ok_tts, sel_real, sel_tts) -> dict:
    """(1) composite balanced top-1 (classes of `from_real` on the real clips, the others on the TTS talkers'),
    (2) TTS balanced top-1, per-class recalls, from one selection of clips."""
    rr, rt = _recalls(ok_real, sel_real), _recalls(ok_tts, sel_tts)
    composite = [rr[c] if c in from_real else rt[c] for c in range(n_classes) if c in from_real or c in rt]
    return {"composite": float(np.mean(composite)), "tts": float(np.mean(list(rt.values()))),
            "real": rr, "tts_recall": rt}


def intervals(n_classes, from_real, ok: dict, cells_real, cells_tts, *, baseline: str) -> dict:
    """{model: {"composite", "tts", and but for `baseline` (one of ok's models) "composite_minus", "tts_minus": its
    difference from the baseline}: [lo, hi]}, 95 %: the measures above over RESAMPLES draws of whole talkers within
    each class of each source (metrics.cluster_bootstrap_ci, strata = source and class; seed 0), the same draws for
    every model. `ok[model]`: (per real clip, per TTS clip) whether its top-1 is right."""
    from tinyml.metrics import cluster_bootstrap_ci

    if baseline not in ok:
        raise ValueError(f"intervals: baseline {baseline!r} is not one of the models {list(ok)}")
    models = [baseline, *(m for m in ok if m != baseline)]  # stat's differences are from the first column
    cells = [(src, c, idx[t == k]) for src, by_class in enumerate((cells_real, cells_tts))
             for c, (t, idx) in by_class.items() for k in np.unique(t)]  # one group per talker of a class
    hits = np.zeros((len(cells), 2, len(models), n_classes))
    clips = np.zeros((len(cells), 2, n_classes))
    for g, (src, c, idx) in enumerate(cells):
        clips[g, src, c] = len(idx)
        hits[g, src, :, c] = [ok[m][src][idx].sum() for m in models]
    tts_classes = sorted(cells_tts)
    judged = sorted(set(from_real) | set(tts_classes))  # the composite's classes, each from one source
    source = [0 if c in from_real else 1 for c in judged]

    def stat(sums):
        n = sums["clips"].reshape(-1, 2, 1, n_classes)
        with np.errstate(invalid="ignore", divide="ignore"):
            recall = sums["hits"].reshape(-1, 2, len(models), n_classes) / n
        composite = recall[:, source, :, judged].mean(axis=0)  # (draws, models)
        tts = recall[:, 1][:, :, tts_classes].mean(axis=2)
        return np.concatenate([composite, tts, composite - composite[:, :1], tts - tts[:, :1]], axis=1)

    strata = [src * n_classes + c for src, c, _ in cells]
    lo, hi = cluster_bootstrap_ci({"hits": hits.reshape(len(cells), -1), "clips": clips.reshape(len(cells), -1)},
                                  stat, n_boot=RESAMPLES, seed=0, strata=strata)
    keys, k = ("composite", "tts", "composite_minus", "tts_minus"), len(models)  # stat's columns: key-major
    return {m: {key: [float(lo[i * k + j]), float(hi[i * k + j])] for i, key in enumerate(keys)
                if j or not key.endswith("_minus")} for j, m in enumerate(models)}


def main(argv=None) -> int:
    from tinyml.apps import load_app
    from tinyml.errors import TinymlError

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="+", help="`committed` or a run folder; the first is the baseline")
    args = ap.parse_args(argv)
    try:
        app = load_app(HERE.name)
        labels = list(app.manifest.labels)
        real, tts = validation_clips(app)
        y_real, cells_real = _cells(real, labels)
        y_tts, cells_tts = _cells(tts, labels)
        preds = {m: (predictions(app, m, real), predictions(app, m, tts)) for m in args.models}
    except TinymlError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"validation clips: {len(real)} real ({len(cells_real)} classes, {len({r.subject for r in real})} "
          f"speakers), {len(tts)} TTS ({len({r.subject for r in tts})} validation-only talkers)")
    onoff = [labels.index("on"), labels.index("off")]
    full_real = {c: i for c, (_, i) in cells_real.items()}
    full_tts = {c: i for c, (_, i) in cells_tts.items()}
    from_real = {c for c, i in full_real.items() if len(i) >= MIN_REAL}
    print("classes judged on real clips: " + ", ".join(labels[c] for c in sorted(from_real)) + "; on the TTS "
          "talkers: " + ", ".join(labels[c] for c in sorted(set(full_tts) - from_real)))
    point, ok = {}, {}
    for m in args.models:
        pr, pt = preds[m]
        ok[m] = (pr == y_real, pt == y_tts)
        point[m] = measures(len(labels), from_real, *ok[m], full_real, full_tts)
        other = ~np.isin(y_tts, onoff)
        print(f"== {m}\n  (1) composite balanced top-1 {point[m]['composite']:.4f}  (2) TTS balanced "
              f"{point[m]['tts']:.4f}  TTS other words heard as on/off {np.mean(np.isin(pt[other], onoff)):.4f}"
              f"  real top-1 {np.mean(ok[m][0]):.4f}")
        print("  recall real: " + ", ".join(f"{labels[c]} {v:.3f}" for c, v in point[m]["real"].items()))
        print("  recall TTS:  " + ", ".join(f"{labels[c]} {v:.3f}" for c, v in point[m]["tts_recall"].items()))
    base = args.models[0]
    ci = intervals(len(labels), from_real, ok, cells_real, cells_tts, baseline=base)
    for m in args.models:
        for k in ("composite", "tts"):
            lo, hi = ci[m][k]
            line = f"{m} {k}: {point[m][k]:.4f} [{lo:.4f}, {hi:.4f}]"
            if m != base:
                lo, hi = ci[m][f"{k}_minus"]
                line += f"; minus {base}: {point[m][k] - point[base][k]:+.4f} [{lo:+.4f}, {hi:+.4f}]"
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
