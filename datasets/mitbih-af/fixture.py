"""Two MIT-BIH AF Database records in exactly the distributed layout, for tests (no real data needed):
`NNNNN.hea` + `.dat` (format 212, 250 Hz, leads ECG1 and ECG2) by wfdb.wrsamp, rhythm annotations `.atr`
(`+` with `(N`, `(AFIB`) and beat annotations `.qrs` (all `N`) by wfdb.wrann; plus a signal-less record
(like 00735) the loader must skip.

    write_fixture(root, seconds=30.0, seed=0) -> {record: {"beats": R times s, "af": (start, end)}}
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinyml.data import dataset_module

FS = 250


def write_fixture(root: Path, seconds: float = 30.0, seed: int = 0) -> dict:
    import wfdb

    from tinyml.readers.wfdb import quiet

    gen = dataset_module("synthetic-ecg")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    out = {}
    for k, rec in enumerate(("04015", "08455")):
        a, b = seconds / 3, 2 * seconds / 3
        sc = gen.scene(rate=FS, channels=["ecg"], seed=seed, subject=20 + k, parts=[(a, "sinus"), (b - a, "af"),
                                                                                   (seconds - b, "sinus")])
        x = sc.signal[:, 0].astype(np.float64)
        sig = np.stack([x, -0.5 * x], axis=1)
        with quiet():
            wfdb.wrsamp(rec, fs=FS, units=["mV", "mV"], sig_name=["ECG1", "ECG2"], p_signal=sig, fmt=["212", "212"],
                    adc_gain=[200.0, 200.0], baseline=[0, 0], write_dir=str(root))
        af = [(a0, a1) for a0, a1, lab in sc.truth["rhythm"] if lab == "AF"][0]
        marks = [0, int(round(af[0] * FS)), int(round(af[1] * FS))]
        with quiet():
            wfdb.wrann(rec, "atr", np.asarray(marks), symbol=["+"] * 3, aux_note=["(N", "(AFIB", "(N"], fs=FS,
                   write_dir=str(root))
        beats = np.round(sc.truth["beats"] * FS).astype(np.int64)
        with quiet():
            wfdb.wrann(rec, "qrs", beats, symbol=["N"] * len(beats), fs=FS, write_dir=str(root))
        out[rec] = {"beats": beats / FS, "af": af}
    (root / "00735.hea").write_text("00735 2 250 0\n00735.dat 212 200 12 0 0 0 0 ECG1\n00735.dat 212 200 12 0 0 0 0 ECG2\n")
    return out
