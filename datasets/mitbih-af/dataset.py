"""MIT-BIH Atrial Fibrillation Database (PhysioNet `afdb`), read through the `wfdb` package: 23 ten-hour
two-lead records at 250 Hz (`NNNNN.hea`, `.dat` in format 212). Rhythm annotations in `.atr` (`(AFIB`,
`(AFL`, `(J`, `(N`) are the reference; beat positions come from `.qrsc` (manually corrected, some records)
or else `.qrs` (an automatic detector's, unaudited: truth["beats_source"] says which). Records 00735 and
03665 have no signals and are skipped.

load(path, *, rate, channels, lead="ECG1", records=None) -> list[Recording], one per record: signal [n, 1] mV,
subject "afdb-<record>" (each record is a different patient; the manifest's split draws by subject), events
("af", onset) per AFIB span, truth {"rhythm": [(start, end, label)], "beats": s, "classes": "N"..., "beats_source"}.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinyml.data import dataset_module
from tinyml.errors import TinymlError
from tinyml.readers import wfdb as wfdb_reader
from tinyml.recording import Recording

RECORDS = ("04015", "04043", "04048", "04126", "04746", "04908", "04936", "05091", "05121", "05261", "06426",
           "06453", "06995", "07162", "07859", "07879", "07910", "08215", "08219", "08378", "08405", "08434",
           "08455")
_MITDB = dataset_module("mitbih-arrhythmia")


def load(path, *, rate=None, channels=("ecg",), lead="ECG1", records=None, progress=False,
         aliases=("ECG", "ECG2")) -> list[Recording]:
    root = Path(path)
    found = sorted(p.stem for p in root.glob("*.hea") if p.stem in RECORDS and p.with_suffix(".dat").is_file())
    if not found:
        raise TinymlError(f"{root}: no MIT-BIH AF Database records (04015.hea ... 08455.hea with .dat) here")
    out = []
    for rec in ([str(r) for r in records] if records else found):
        if rec not in found:
            raise TinymlError(f"{root}: record {rec} not found")
        hea = root / f"{rec}.hea"
        x, fs, name = wfdb_reader.read_lead(hea, [lead, *aliases])
        rhythm = _MITDB.annotations(hea.with_suffix(""), "atr", fs, len(x))["rhythm"]
        truth = {"rhythm": rhythm, "beats": np.zeros(0), "classes": "", "beats_source": "none"}
        for ext in ("qrsc", "qrs"):
            if hea.with_suffix(f".{ext}").is_file():
                b = _MITDB.annotations(hea.with_suffix(""), ext, fs, len(x))
                truth.update(beats=b["beats"], classes=b["classes"], beats_source=ext)
                break
        events = [(a, "af") for a, _, lab in rhythm if lab == "AF"]
        out.append(Recording(x[:, None], fs, tuple(channels), subject=f"afdb-{rec}", label="af" if events else "normal",
                             activity=f"lead {name}", events=events, source=str(hea), truth=truth))
    return out
