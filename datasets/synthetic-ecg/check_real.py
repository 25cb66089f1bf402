"""Compare the generator with real ECG records you hold: the same measurements on both.

    python datasets/synthetic-ecg/check_real.py /path/to/100.hea /path/to/106.hea ... [--subjects 24]

For every record (its first lead named MLII, II or ECG; resampled to 250 Hz) and for simulated records of
`--subjects` subjects (sinus parts only, no noise episodes), with the app's own blocks (band-pass 0.5-40 Hz,
tinyml.dsp.qrs_detect, tinyml.dsp.beat_features, tinyml.dsp.sqi's HF measure):
  hr        median heart rate (bpm) and cv the R-R coefficient of variation
  qrs_mv    median peak-to-peak amplitude of the beats (R - 100 ms .. R + 150 ms), mV
  width_ms  median QRS width as beat_features measures it (ms)
  t_ratio   median T-wave size relative to the QRS (peak |x - baseline| at R + 150..450 ms / qrs_mv)
  hf        median per-second mean |second difference| / peak to peak (muscle and sensor noise)
  wander    standard deviation of the raw signal below 0.7 Hz (mV): baseline wander
Prints one row per real record, then the generator's 5th, 50th and 95th percentiles of each: the README
records the outcome. Reads only the files named; nothing is downloaded.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from scipy import signal as sps

RATE = 250.0


def measure(x: np.ndarray, rate: float = RATE) -> dict:
    from tinyml.dsp.beat_features import qrs_width
    from tinyml.dsp.biquad import biquad, design_biquad
    from tinyml.dsp.qrs_detect import qrs_detect

    x = np.asarray(x, np.float32)
    y, _ = biquad(x, design_biquad("bandpass", [0.5, 40.0], rate, 2))
    r, _ = qrs_detect(y, rate)
    r = r[(r > int(0.2 * rate)) & (r < len(y) - int(0.5 * rate))]
    pre, post = int(0.1 * rate), int(0.15 * rate)
    amps, widths, tr = [], [], []
    for i in r:
        seg = y[i - pre : i + post + 1]
        base = float(np.mean(seg[:4]))
        qrs = float(seg.max() - seg.min())
        amps.append(qrs)
        widths.append(float(qrs_width(seg, pre, int(0.1 * rate))) / rate * 1000)
        tw = y[i + int(0.15 * rate) : i + int(0.45 * rate)]
        tr.append(float(np.max(np.abs(tw - base))) / max(qrs, 1e-6))
    rr = np.diff(r) / rate
    n = len(y) // int(rate)
    hf = []
    for k in range(n):
        s = y[k * int(rate) : (k + 1) * int(rate)]
        p = float(s.max() - s.min())
        if p > 0.05:
            hf.append(float(np.mean(np.abs(s[2:] - 2 * s[1:-1] + s[:-2]))) / p)
    lp = sps.sosfiltfilt(sps.butter(2, 0.7, "lowpass", fs=rate, output="sos"), x.astype(np.float64))
    return {"hr": 60 / np.median(rr) if len(rr) else np.nan, "cv": float(np.std(rr) / np.mean(rr)) if len(rr) else np.nan,
            "qrs_mv": float(np.median(amps)) if amps else np.nan, "width_ms": float(np.median(widths)) if widths else np.nan,
            "t_ratio": float(np.median(tr)) if tr else np.nan, "hf": float(np.median(hf)) if hf else np.nan,
            "wander": float(np.std(lp - np.median(lp)))}


KEYS = ("hr", "cv", "qrs_mv", "width_ms", "t_ratio", "hf", "wander")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("records", nargs="*", help="WFDB headers (.hea) of real records")
    ap.add_argument("--subjects", type=int, default=24)
    ap.add_argument("--minutes", type=float, default=5.0)
    args = ap.parse_args(argv)
    from tinyml.data import dataset_module
    from tinyml.dsp.resample import resample
    from tinyml.readers.wfdb import read_lead

    print("record   " + "  ".join(f"{k:>8}" for k in KEYS))
    for hea in args.records:
        x, fs, lead = read_lead(hea, ["MLII", "II", "ECG", "ECG1", "V5"])
        x = resample(x[:, None], fs, RATE)[: int(args.minutes * 60 * RATE), 0]
        v = measure(x)
        print(f"{hea.split('/')[-1][:8]:8} " + "  ".join(f"{v[k]:8.3f}" for k in KEYS))
    gen = dataset_module("synthetic-ecg")
    rows = []
    for i in range(args.subjects):
        subj = gen.make_subject(np.random.default_rng([11, i, 0]), i)
        rec = gen.record(np.random.default_rng([11, i, 1]), subj, [gen.Segment(args.minutes * 60, hr0=subj.hr_rest)], [],
                         RATE, ["ecg"], "check", "check")
        rows.append(measure(rec.signal[:, 0]))
    for q in (5, 50, 95):
        print(f"gen p{q:<4} " + "  ".join(f"{np.nanpercentile([r[k] for r in rows], q):8.3f}" for k in KEYS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
