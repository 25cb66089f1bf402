"""Band envelope: the amplitude envelope of one frequency band of one channel.

y = gain * lowpass(|bandpass(x)|): a Butterworth band-pass [lo, hi] (tinyml.dsp.biquad), full-wave
rectification and a Butterworth low-pass at cutoff_hz (tinyml.dsp.envelope), then a gain. E.g. the muscle
(EMG, 20-150 Hz) activity under an ECG lead: the band that decides whether a stretch of ECG is readable lies
above the band an ECG model usually sees, so it is measured here, as a slow level, before that band is cut.

Arithmetic: float32 throughout, in this order per sample: the band-pass cascade (TDF-II of tinyml.dsp.biquad),
tinyml.dsp.envelope (|.| and the low-pass cascade), one multiply by gain (float32). The C twin
`tml_band_envelope` (firmware/runtime/dsp/tml_band_envelope.c) runs tml_biquad, tml_envelope and the same
multiply, so it is bit-exact. Causal and length-preserving from a zero state: as a stream block, one call over
a whole recording is what the device computes sample by sample. State: (band-pass state, low-pass state), float32
[n_sections, 2, *channels] each, as biquad's.
"""

from __future__ import annotations

import numpy as np

from .biquad import biquad
from .envelope import envelope


def band_envelope(x, band_sos, lp_sos, gain: float = 1.0, state=None):
    """x [n] or [n, ch] -> (float32 envelope of the same shape, (band state, low-pass state))."""
    s_band, s_lp = state if state is not None else (None, None)
    band, s_band = biquad(np.asarray(x, dtype=np.float32), band_sos, s_band)
    env, s_lp = envelope(band, lp_sos, s_lp)
    return env * np.float32(gain), (s_band, s_lp)
