"""Your own labelled recordings: a folder of files in any format `tinyml predict` reads (CSV, Edge Impulse
data-acquisition JSON, WAV, ...), each file one recording of one label, read exactly as predict reads a
user's file (the app's channels, aliases, units, plausible ranges, time columns).

Where each file's label comes from, first match wins:
1. `labels.csv` in the folder, if there is one: columns `file` (path under the folder), `label`, and
   optionally `subject` (who or what was recorded: the split key) and `event_s` (the event's time in
   seconds from the file's start; one row per event when a file holds several). Only the files it lists
   are read.
2. The first folder under the root when it is one of the app's labels: `<root>/fall/trial-03.csv`.
3. The file name up to its first dot when that is one of the app's labels, Edge Impulse's export naming:
   `fall.5f2c1a.json`, `idle.12.csv`.
A file that none of these labels is refused with one line that names it (a README or other file no
reader claims is left out).

Subjects: `labels.csv`'s `subject` column, else the option `subject_pattern` (a regular expression on the
file's path under the root whose group `subject`, or first group, names the subject, e.g.
`"(?P<subject>P\\d+)"`), else each file is its own subject, with a notice: then several files of one person
can land on both sides of the split, so name subjects whenever you can.

Events: a file of one of the app's `event_labels` gets one event (label, time) unless `labels.csv` gives its
times: at the largest deviation from the file's median over the required channels (`event_time = "peak"`,
the default: an impact, a word in a clip), at its middle ("middle") or none ("none": trial labels only).
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

import numpy as np

from tinyml.errors import TinymlError
from tinyml.readers import ReadSpec, reader_for
from tinyml.recording import Recording, read_recording

# What the model card says this data is (tinyml.report).
KIND = "real recordings: labelled files read as `predict` reads them (CSV, Edge Impulse JSON, WAV, ...)"
INDEX = "labels.csv"
EVENT_TIMES = ("peak", "middle", "none")


def load(path, *, rate: float, channels, manifest=None, labels=None, event_labels=None, event_time: str = "peak",
         subject_pattern: str = "", file_rate: float | None = None, progress: bool = False) -> list[Recording]:
    """Every labelled file under `path` as a Recording at its own rate (the core resamples to `rate`).

    manifest: the app's (the core passes it): channels, aliases, units and ranges as predict reads them, and
    its labels and event labels. Without it, `channels` are read by name alone and `labels` must be given.
    file_rate: the sample rate of files that do not state theirs (a CSV without a time column), like
    predict's --rate.
    """
    root = Path(path)
    if not root.is_dir():
        raise TinymlError(f"{root}: not a folder (point [dataset] path at the folder of labelled files)")
    if event_time not in EVENT_TIMES:
        raise TinymlError(f"labelled-files: event_time must be one of {', '.join(EVENT_TIMES)}, got {event_time!r}")
    if manifest is not None:
        spec = ReadSpec.from_manifest(manifest, rate=file_rate)
        labels = list(labels or manifest.labels)
        event_labels = list(event_labels if event_labels is not None else manifest.app["event_labels"] or labels)
    else:
        spec = ReadSpec(channels=tuple(channels), rate=file_rate)
        if not labels:
            raise TinymlError("labelled-files: give the app's labels (the core passes its manifest)")
        event_labels = list(event_labels if event_labels is not None else labels)
    pattern = _pattern(subject_pattern)
    entries = _index(root, labels) if (root / INDEX).is_file() else _scan(root, labels)
    if not entries:
        raise TinymlError(f"{root}: no labelled recordings (label them by folder, by file name "
                          f"`<label>.<id>.<ext>`, or in {INDEX})")
    unnamed = [e for e in entries if not e["subject"] and not pattern]
    if unnamed:
        print(f"notice: labelled-files: {len(unnamed)} file(s) name no subject ({INDEX} `subject` column or the "
              f"subject_pattern option): each is its own subject, so one person's files may fall on both sides "
              f"of the split", file=sys.stderr)
    it = entries
    if progress:
        from tqdm import tqdm

        it = tqdm(entries, desc="labelled-files", unit="file")
    recs = []
    for e in it:
        rel = e["file"].relative_to(root).as_posix()
        r = read_recording(e["file"], spec)
        r.label, r.activity = e["label"], e["label"]
        r.subject = e["subject"] or _subject(pattern, rel) or rel
        if e["label"] in event_labels:
            times = e["events"] if e["events"] is not None else _event_times(r, len(spec.channels), event_time)
            late = [t for t in times if not 0 <= t <= r.duration]
            if late:
                raise TinymlError(f"{root / INDEX}: {rel}: event at {late[0]:g} s is outside the recording "
                                  f"(0 to {r.duration:.3g} s)")
            r.events = [(float(t), e["label"]) for t in times]
        recs.append(r)
    return recs


def _pattern(text: str):
    if not text:
        return None
    try:
        return re.compile(text)
    except re.error as e:
        raise TinymlError(f"labelled-files: subject_pattern {text!r} is not a regular expression: {e}") from None


def _subject(pattern, rel: str) -> str:
    if pattern is None:
        return ""
    mo = pattern.search(rel)
    if mo is None:
        raise TinymlError(f"{rel}: subject_pattern {pattern.pattern!r} does not match this file's path")
    return mo.group("subject") if "subject" in pattern.groupindex else mo.group(1 if mo.groups() else 0)


def _label_of(root: Path, file: Path, labels: list[str]) -> str | None:
    parts = file.relative_to(root).parts
    if len(parts) > 1 and parts[0] in labels:
        return parts[0]
    prefix = file.name.split(".", 1)[0]
    return prefix if prefix in labels and "." in file.name[len(prefix):] else None


def _readable(file: Path) -> bool:
    try:
        reader_for(file)
    except TinymlError:
        return False
    return True


def _scan(root: Path, labels: list[str]) -> list[dict]:
    """Labels from folders or file names, for every file a reader claims (hidden files and folders aside)."""
    out = []
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = file.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not _readable(file):
            continue
        label = _label_of(root, file, labels)
        if label is None:
            raise TinymlError(f"{file}: no label: put it in a folder named after one of {', '.join(labels)}, name "
                              f"it `<label>.<id>{file.suffix}`, or list it in {root / INDEX}")
        out.append({"file": file, "label": label, "subject": "", "events": None})
    return out


def _index(root: Path, labels: list[str]) -> list[dict]:
    """The files labels.csv lists, in its order; several rows of one file add its events."""
    index = root / INDEX
    with open(index, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    need = {"file", "label"}
    have = set(rows[0]) if rows else set()
    if not rows or not need <= have:
        raise TinymlError(f"{index}: needs a header with columns file, label (optional: subject, event_s)")
    by_file: dict[Path, dict] = {}
    for k, row in enumerate(rows, start=2):
        where = f"{index}:{k}"
        file = root / (row["file"] or "").strip()
        label = (row["label"] or "").strip()
        if not file.is_file():
            raise TinymlError(f"{where}: no such file {row['file']!r} under {root}")
        if label not in labels:
            raise TinymlError(f"{where}: label {label!r} is not one of the app's labels ({', '.join(labels)})")
        e = by_file.setdefault(file, {"file": file, "label": label, "subject": (row.get("subject") or "").strip(),
                                      "events": None})
        if e["label"] != label:
            raise TinymlError(f"{where}: {row['file']} is labelled both {e['label']!r} and {label!r}")
        t = (row.get("event_s") or "").strip()
        if t:
            try:
                e["events"] = [*(e["events"] or []), float(t)]
            except ValueError:
                raise TinymlError(f"{where}: event_s {t!r} is not a number of seconds") from None
    return list(by_file.values())


def _event_times(r: Recording, n_required: int, how: str) -> list[float]:
    if how == "none":
        return []
    if how == "middle":
        return [r.duration / 2]
    x = r.signal[:, :n_required].astype(np.float64)
    dev = np.sqrt(((x - np.median(x, axis=0)) ** 2).sum(axis=1))
    return [float(np.argmax(dev)) / r.rate]
