"""Amplitude envelope: full-wave rectification then a Butterworth lowpass (biquad cascade).

y = biquad(|x|, design_biquad("lowpass", cutoff_hz, rate, order)). Used for envelope analysis
(bearing faults: bandpass, then envelope, then spectrum) and for activity levels.

Arithmetic: |x| is exact; the filter is the float32 TDF-II of tinyml.dsp.biquad. The C twin
`tml_envelope` (firmware/runtime/dsp/tml_envelope.c) takes fabsf of each sample and runs the same
tml_biquad, so it is bit-exact. State as in biquad: float32 [n_sections, 2, *channels].
"""

from __future__ import annotations

import numpy as np

from .biquad import biquad


def envelope(x, sos, state=None):
    """x [n] or [n, ch] -> (float32 envelope of the same shape, state)."""
    return biquad(np.abs(np.asarray(x, dtype=np.float32)), sos, state)
