"""MIT-BIH Arrhythmia Database (PhysioNet `mitdb`), read through the `wfdb` package: 48 half-hour two-lead
records at 360 Hz (`NNN.hea`, `NNN.dat` in format 212, reference annotations `NNN.atr`).

Beats: the reference beat labels mapped to the AAMI EC57 classes (AAMI below); non-beat annotations (rhythm
`+`, noise `~`, comments ...) are not beats. Rhythms: the `+` annotations' aux strings (`(N`, `(AFIB`,
`(AFL`, `(B`, `(T`, `(VT`, ...) give labelled spans. The four paced records are excluded (AAMI practice).

Split (split="inter-patient", the default): de Chazal et al. 2004's DS1 for training (and validation) and
DS2 for testing, fixed by the dataset, never drawn at random (a random-beat split is a known way to publish
inflated numbers). Records 201 and 202 come from the same patient: 202 stays in DS2 and 201 is left out, so
no patient is on both sides. split="record" leaves the draw (by record) to the manifest's split.

load(path, *, rate, channels, lead="MLII", records=None, split="inter-patient", exclude_paced=True)
    -> list[Recording], one per record: signal [n, 1] in mV at the record's 360 Hz (the core resamples),
    subject "mitdb-<patient>", split "test" for DS2 ("" otherwise), events ("af", onset) per AFIB span,
    truth {"beats": s, "classes": AAMI letters, "rhythm": [(start, end, label)], "symbols": MIT labels}.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinyml.errors import TinymlError
from tinyml.readers import wfdb as wfdb_reader
from tinyml.recording import Recording

AAMI = {**dict.fromkeys("NLRej", "N"), **dict.fromkeys("AaJS", "S"), **dict.fromkeys("VE", "V"), "F": "F",
        **dict.fromkeys("/fQ", "Q")}
PACED = ("102", "104", "107", "217")
DS1 = ("101", "106", "108", "109", "112", "114", "115", "116", "118", "119", "122", "124", "201", "203", "205",
       "207", "208", "209", "215", "220", "223", "230")
DS2 = ("100", "103", "105", "111", "113", "117", "121", "123", "200", "202", "210", "212", "213", "214", "219",
       "221", "222", "228", "231", "232", "233", "234")
RECORDS = tuple(sorted(DS1 + DS2 + PACED))
SAME_PATIENT = {"201": "202"}  # record -> the record of the same patient kept in the split
RHYTHMS = {"N": "N", "AFIB": "AF", "AFL": "AFL", "B": "B", "T": "T", "VT": "VT", "SVTA": "SVTA", "IVR": "IVR",
           "AB": "AB", "BII": "BII", "NOD": "NOD", "P": "P", "PREX": "PREX", "SBR": "SBR", "VFL": "VFL"}


def patient(record: str) -> str:
    return SAME_PATIENT.get(record, record)


def load(path, *, rate=None, channels=("ecg",), lead="MLII", records=None, split="inter-patient",
         exclude_paced=True, progress=False, aliases=("MLII", "II", "ECG")) -> list[Recording]:
    root = Path(path)
    found = sorted(p.stem for p in root.glob("*.hea") if p.stem in RECORDS)
    if not found:
        raise TinymlError(f"{root}: no MIT-BIH Arrhythmia records (100.hea ... 234.hea) in this folder")
    wanted = [str(r) for r in records] if records else found
    if split not in ("inter-patient", "record"):
        raise TinymlError(f"mitbih-arrhythmia: split must be 'inter-patient' or 'record', got {split!r}")
    out = []
    for rec in wanted:
        if rec not in found:
            raise TinymlError(f"{root}: record {rec} not found")
        if exclude_paced and rec in PACED:
            continue
        if split == "inter-patient" and rec not in DS1 + DS2:
            continue
        if split == "inter-patient" and rec in SAME_PATIENT:
            continue  # its patient is in DS2 (see the module doc)
        out.append(read_record(root / f"{rec}.hea", channels, lead, aliases, split="test" if (
            split == "inter-patient" and rec in DS2) else "", subject=f"mitdb-{patient(rec)}"))
    return out


def read_record(hea: Path, channels, lead, aliases, split="", subject="") -> Recording:
    """One annotated WFDB record: its lead in mV, reference beats (AAMI) and rhythm spans from `.atr`."""
    x, fs, name = wfdb_reader.read_lead(hea, [lead, *aliases])
    truth = annotations(hea.with_suffix(""), "atr", fs, len(x))
    events = [(a, "af") for a, _, lab in truth["rhythm"] if lab == "AF"]
    label = "af" if events else "normal"
    return Recording(x[:, None], fs, tuple(channels), subject=subject or f"wfdb-{hea.stem}", label=label,
                     activity=f"lead {name}", events=events, source=str(hea), split=split, truth=truth)


def annotations(base: Path, ext: str, fs: float, n: int) -> dict:
    """Beats (AAMI classes) and rhythm spans of one annotation file (wfdb.rdann)."""
    import wfdb

    try:
        with wfdb_reader.quiet():
            ann = wfdb.rdann(str(base), ext)
    except FileNotFoundError:
        raise TinymlError(f"{base}.{ext}: annotation file not found") from None
    except Exception as e:
        raise TinymlError(f"{base}.{ext}: not a readable WFDB annotation file ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None
    samples = np.asarray(ann.sample, np.int64)
    symbols = list(ann.symbol)
    aux = list(ann.aux_note or [""] * len(symbols))
    beat = [i for i, s in enumerate(symbols) if s in AAMI]
    rhythm = rhythm_spans(samples, symbols, aux, fs, n)
    return {"beats": samples[beat] / fs, "classes": "".join(AAMI[symbols[i]] for i in beat),
            "symbols": "".join(symbols[i] for i in beat), "rhythm": rhythm}


def rhythm_spans(samples, symbols, aux, fs, n) -> list[tuple[float, float, str]]:
    """[(start s, end s, label)] from `+` annotations whose aux note starts with '(' (e.g. '(AFIB')."""
    marks = []
    for s, sym, a in zip(samples, symbols, aux):
        note = str(a).strip("\x00 ").strip()
        if sym == "+" and note.startswith("("):
            code = note[1:]
            marks.append((s / fs, RHYTHMS.get(code, code)))
    spans = []
    for i, (t, lab) in enumerate(marks):
        end = marks[i + 1][0] if i + 1 < len(marks) else n / fs
        if end > t:
            spans.append((float(t), float(end), lab))
    return spans
