"""Signal-quality index of one ECG segment, 0 (unreadable) to 1 (clean) (C twin `tml_sqi`, bit-exact).

sqi(x, ref) -> (sqi, ptp): x is a band-passed ECG segment (float32, mV; e.g. one second), ref the wearer's
usual peak-to-peak amplitude (mV, tracked by the caller from good segments; 1.0 before any). Three checks:
  lead-off / flat      ptp < 0.05 mV: an open or saturated input (after the band-pass a rail is a flat line)
                       -> 0
  too large            r = ptp / ref; a = clip(3 - r, 0, 1): motion artefacts and electrode pops swing far
                       above the wearer's usual QRS (a segment between two slow beats may hold no QRS at
                       all, so a small ptp alone says nothing)
  muscle noise (EMG)   h = mean |x[i] - 2 x[i-1] + x[i-2]| / ref; e = clip((0.08 - h) / 0.05, 0, 1)
                       (clean ECG at 250 Hz: h ~ 0.003-0.016 of the QRS amplitude on MIT-BIH and on the
                       generator's clean spans)
  sqi = a * e
Float32, sequential sums from 0, the constants float32: Python and C agree exactly.
"""

from __future__ import annotations

import numpy as np

from .stats import seqsum

_F = np.float32


def _clip01(v) -> np.float32:
    return _F(min(max(_F(v), _F(0)), _F(1)))


def sqi(x, ref: float = 1.0) -> tuple[np.float32, np.float32]:
    x = np.asarray(x, np.float32)
    ptp = _F(x.max() - x.min())
    if ptp < _F(0.05) or len(x) < 3:
        return _F(0), ptp
    with np.errstate(divide="ignore", invalid="ignore"):  # ref 0 (a wearer's flat start): inf/NaN as tml_sqi
        r = _F(ptp / _F(ref))                              # gets them, without numpy's warnings on stderr
        h = _F(_F(seqsum(np.abs((x[2:] - _F(2) * x[1:-1]) + x[:-2])) / _F(len(x) - 2)) / _F(ref))
    a = _clip01(_F(3) - r)
    e = _clip01(_F(_F(0.08) - h) / _F(0.05))
    return _F(a * e), ptp
