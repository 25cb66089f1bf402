"""Real-data figures for the model card: the committed pipeline on real MIT-BIH records that you hold.

    python apps/heart-rate-anomaly/real_data.py RECORD.hea [RECORD.hea ...] [--out apps/heart-rate-anomaly/model]

Each record goes through `tinyml predict`'s pipeline (its MLII lead, resampled to 250 Hz). A record with its
reference annotations (`.atr` from PhysioNet's mitdb, e.g. record 100 in wfdb-python's sample-data) is scored
as EC57 does: beats matched within 150 ms, from the 5th minute (EC57's learning period), QRS sensitivity and
positive predictivity with exact 95 % intervals, and the beat classes (AAMI). Records without reference labels
(e.g. mengst/PQRST's copies, whose .atr are that project's own wave marks: pass --no-reference) report what the
pipeline measured: beats, heart rate, the share of windows per rhythm class and the events.
Writes real_data.md and real_data.png (the first record's strip) into --out and, when --out holds a model
card (card.json: a training run's folder or the committed model), rewrites its extras.md so that the card
quotes them (`tinyml promote` then renders it). Nothing here runs in tests or CI: the records are not part
of this repository.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("records", nargs="+", help="WFDB headers (.hea)")
    ap.add_argument("--out", default=str(HERE / "model"))
    ap.add_argument("--model", help="the int8 model to run (default: the committed one)")
    ap.add_argument("--no-reference", action="append", default=[], metavar="RECORD",
                    help="a record whose .atr is not the reference (repeatable; 'all' for every record)")
    args = ap.parse_args(argv)
    from tinyml.apps import load_app
    from tinyml.predict import Pipeline, prepare, read_input

    app = load_app(HERE.name)
    m = app.manifest
    pipe = Pipeline(app, Path(args.model).read_bytes() if args.model else None)
    P = app.pipeline
    rows, lines = [], []
    first = None
    for hea in args.records:
        hea = Path(hea)
        rec = read_input(app, hea)
        sig = prepare(app, rec, notice=False)
        res = pipe.run(sig)
        det = np.array([i for i, _ in res.beats], np.float64) / m.rate
        cls = "".join(m.beat_labels[b] for _, b in res.beats)
        hr = res.values[:, m.values.index("hr_bpm")]
        share = np.bincount(np.asarray(res.scores_q).argmax(1), minlength=len(m.labels)) / max(len(res.scores_q), 1)
        events = [(round(i / m.rate, 1), m.event_names[lab]) for i, lab, _ in res.events]
        row = {"record": hea.stem, "minutes": len(sig) / m.rate / 60, "beats": len(det), "hr": float(np.nanmedian(hr)),
               "share": share, "events": events, "classes": {c: cls.count(c) for c in m.beat_labels}}
        reference = not ({"all", hea.stem} & set(args.no_reference)) and hea.with_suffix(".atr").is_file()
        if reference:
            truth = _reference(hea)
            t0 = 300.0
            ref = truth["beats"][truth["beats"] >= t0]
            ref_c = np.asarray(list(truth["classes"]))[truth["beats"] >= t0]
            d_keep = det >= t0
            mt = P._match(ref, det[d_keep], P.MATCH_S)
            tp = int((mt >= 0).sum())
            row.update(ref_beats=len(ref), tp=tp, fn=len(ref) - tp, fp=int(d_keep.sum()) - tp,
                       se=P.clopper_pearson(tp, len(ref)), ppv=P.clopper_pearson(tp, int(d_keep.sum())))
            dc = np.asarray(list(cls))[d_keep]
            conf = {}
            for t, j in zip(ref_c, mt):
                conf[(t, dc[j] if j >= 0 else "-")] = conf.get((t, dc[j] if j >= 0 else "-"), 0) + 1
            row["confusion"] = conf
        rows.append(row)
        if first is None:
            first = (hea.stem, sig, res)
    text = _markdown(rows, m) + "\n![MIT-BIH record with our R peaks and beat classes](real_data.png)\n"
    out = Path(args.out)
    (out / "real_data.md").write_text(text)
    if first:
        _strip(first, m, out / "real_data.png")
    card = out / "card.json"
    if card.is_file():
        import json

        (out / "extras.md").write_text(P.model_card_extras(app, out, json.loads(card.read_text()), pipe, []))
    print(text)
    return 0


def _reference(hea: Path) -> dict:
    from tinyml.data import dataset_module

    ds = dataset_module("mitbih-arrhythmia")
    from tinyml.readers.wfdb import header

    h = header(hea)
    return ds.annotations(hea.with_suffix(""), "atr", float(h.fs), int(h.sig_len))


def _markdown(rows, m) -> str:
    out = ["## Real records (MIT-BIH Arrhythmia Database, PhysioNet; not in this repository)", ""]
    ref_rows = [r for r in rows if "tp" in r]
    if ref_rows:
        out += ["QRS detection scored as EC57 does (reference `.atr` beats, 150 ms match, from the 5th minute):", "",
                "| record | reference beats | TP | FN | FP | sensitivity (95 % CI) | positive predictivity (95 % CI) |",
                "| --- | --- | --- | --- | --- | --- | --- |"]
        for r in ref_rows:
            se, ppv = r["tp"] / max(r["ref_beats"], 1), r["tp"] / max(r["tp"] + r["fp"], 1)
            out.append(f"| {r['record']} | {r['ref_beats']} | {r['tp']} | {r['fn']} | {r['fp']} | {se:.4f} "
                       f"({r['se'][0]:.4f}-{r['se'][1]:.4f}) | {ppv:.4f} ({r['ppv'][0]:.4f}-{r['ppv'][1]:.4f}) |")
        out.append("")
        for r in ref_rows:
            conf = r["confusion"]
            classes = sorted({t for t, _ in conf})
            out += [f"Beat classes, record {r['record']} (rows: reference AAMI class; columns: ours; - missed):", "",
                    "| ref \\ ours | " + " | ".join([*m.beat_labels, "-"]) + " |",
                    "| --- |" + " --- |" * (len(m.beat_labels) + 1)]
            for t in classes:
                out.append(f"| {t} | " + " | ".join(str(conf.get((t, c), 0)) for c in [*m.beat_labels, "-"]) + " |")
            out.append("")
    out += ["What the pipeline measured on each record (no reference labels used here):", "",
            "| record | minutes | beats found | median HR (bpm) | windows: " + " / ".join(m.labels) + " | beat classes | events |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        ev = ", ".join(f"{n} {t:g} s" for t, n in r["events"][:6]) + (" ..." if len(r["events"]) > 6 else "")
        cl = " ".join(f"{k} {v}" for k, v in r["classes"].items())
        out.append(f"| {r['record']} | {r['minutes']:.1f} | {r['beats']} | {r['hr']:.1f} | "
                   + " / ".join(f"{100 * s:.0f} %" for s in r["share"]) + f" | {cl} | {ev or 'none'} |")
    out.append("")
    return "\n".join(out)


def _strip(first, m, path, seconds=12.0, start=310.0):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    name, sig, res = first
    a, b = int(start * m.rate), int((start + seconds) * m.rate)
    t = np.arange(a, b) / m.rate
    fig, ax = plt.subplots(figsize=(11, 3))
    ax.plot(t, sig[a:b, 0], lw=0.8)
    for i, lab in res.beats:
        if a <= i < b:
            ax.axvline(i / m.rate, color="r", lw=0.5, ls=":")
            ax.text(i / m.rate, sig[a:b, 0].max(), m.beat_labels[lab], color="r", fontsize=8, ha="center")
    ax.set_xlabel("time (s)"); ax.set_ylabel("mV")
    ax.set_title(f"MIT-BIH record {name} (MLII, resampled to 250 Hz): R peaks and beat classes found on it")
    fig.tight_layout(); fig.savefig(path, dpi=90); plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
