"""A few MIT-BIH Arrhythmia records in exactly the distributed layout, for tests (no real data needed):
`NNN.hea` + `NNN.dat` (format 212, gain 200/mV, baseline 1024, 360 Hz, two leads) written by wfdb.wrsamp,
and `NNN.atr` reference annotations written by wfdb.wrann: beat labels (N, V, A, L, /, ...) and rhythm
changes (`+` with aux notes `(N`, `(AFIB`).

    write_fixture(root, seconds=20.0, seed=0) -> {record: {"beats": R times s, "symbols": str, "rhythm": spans}}

Records: 101 and 106 (DS1), 100 and 202 (DS2), 201 (202's patient), 102 (paced), 114 (MLII is its second
lead, V5 the first, as in the real record). The ECG is the synthetic generator's, so beat times are known.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinyml.data import dataset_module

FS = 360
RECORDS = {"100": "MLII V5", "101": "MLII V1", "102": "V5 V2", "106": "MLII V1", "114": "V5 MLII",
           "201": "MLII V1", "202": "MLII V1"}


def write_fixture(root: Path, seconds: float = 20.0, seed: int = 0) -> dict:
    import wfdb

    from tinyml.readers.wfdb import quiet

    gen = dataset_module("synthetic-ecg")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    out = {}
    for k, (rec, leads) in enumerate(RECORDS.items()):
        rng = np.random.default_rng([seed, k])
        af = rec == "202"
        parts = [(seconds / 2, "sinus"), (seconds / 2, "af" if af else "bigeminy")]
        sc = gen.scene(rate=FS, channels=["ecg"], seed=seed, subject=k, parts=parts)
        x = sc.signal[:, 0].astype(np.float64)
        other = 0.6 * x + 0.02 * rng.standard_normal(len(x))
        names = leads.split()
        sig = np.stack([x, other] if names[0] in ("MLII",) else [other, x], axis=1)
        if rec == "102":
            sig = np.stack([other, other * 0.8], axis=1)
        with quiet():
            wfdb.wrsamp(rec, fs=FS, units=["mV", "mV"], sig_name=names, p_signal=np.clip(sig, -5.0, 5.0), fmt=["212", "212"],
                    adc_gain=[200.0, 200.0], baseline=[1024, 1024], comments=["69 M 1085 1629 x1", "fixture"],
                    write_dir=str(root))
        _mitdb_style_header(root / f"{rec}.hea")
        beats = sc.truth["beats"]
        cls = sc.truth["classes"]
        sym = ["/" if rec == "102" else ("V" if c == "V" else ("A" if c == "S" else ("L" if rec == "101" else "N")))
               for c in cls]
        samples = np.round(beats * FS).astype(np.int64)
        rhythm = [(0.0, "(N")] + ([(seconds / 2, "(AFIB")] if af else [])
        ann_s = list(samples) + [int(round(t * FS)) for t, _ in rhythm] + [int(samples[3]) + 20]
        ann_sym = sym + ["+"] * len(rhythm) + ["~"]
        ann_aux = [""] * len(sym) + [a for _, a in rhythm] + [""]
        order = np.argsort(ann_s, kind="stable")
        with quiet():
            wfdb.wrann(rec, "atr", np.asarray(ann_s)[order], symbol=[ann_sym[i] for i in order],
                   aux_note=[ann_aux[i] for i in order], fs=FS, write_dir=str(root))
        out[rec] = {"beats": samples / FS, "symbols": "".join(sym), "rhythm": rhythm, "mlii": x}
    (root / "RECORDS").write_text("\n".join(RECORDS) + "\n")
    return out


def _mitdb_style_header(hea: Path) -> None:
    """wfdb writes the gain as `200.0(1024)/mV 12 0`; the distributed headers say `200 11 1024` (gain, ADC
    resolution, ADC zero, the baseline defaulting to the ADC zero): the same values, written as MIT-BIH does."""
    lines = hea.read_text().splitlines()
    for i in range(1, len(lines)):
        f = lines[i].split()
        if len(f) >= 9 and f[2].startswith("200"):
            lines[i] = " ".join([f[0], f[1], "200", "11", "1024", *f[5:]])
    hea.write_text("\n".join(lines) + "\n")

