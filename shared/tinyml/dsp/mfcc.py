"""MFCC of one frame: dct(log(mel(power_spectrum(frame * window)))).

Composition of spectrum -> mel -> log -> dct (see those modules for their arithmetic). The C twin
`tml_mfcc` chains the C twins with generated tables (window, twiddles, sparse mel filterbank, DCT
matrix). Every stage is float32 in the C twin's order (for a power-of-two n_fft), so Python and C MFCCs
are bit-exact and the int8 model input is identical on the device (tests/dsp/test_c_twins.py).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .dct import dct, dct_matrix
from .log import log
from .mel import mel_apply, mel_filterbank, mel_steps
from .spectrum import power_spectrum, spectrogram


def mfcc(
    frame, rate: float, n_mfcc: int = 13, n_mels: int = 40, n_fft: int | None = None, window="hann",
    fmin: float = 0.0, fmax: float | None = None, htk: bool = False, norm: str = "slaney",
    log_floor: float = 1e-10,
) -> np.ndarray:
    """frame [n] -> float32 [n_mfcc]."""
    x = np.asarray(frame, dtype=np.float32)
    n_fft = x.shape[0] if n_fft is None else int(n_fft)
    P = power_spectrum(x, window, n_fft)
    idx, w, D = _tables(float(rate), n_fft, n_mels, fmin, fmax, htk, norm, n_mfcc)
    return dct(log(mel_apply(P, idx, w), log_floor), n_mfcc, D)


def mfcc_frames(
    x, rate: float, length: int, hop: int, n_mfcc: int = 13, n_mels: int = 40, n_fft: int | None = None,
    window="hann", fmin: float = 0.0, fmax: float | None = None, htk: bool = False, norm: str = "slaney",
    log_floor: float = 1e-10,
) -> np.ndarray:
    """x [n] -> float32 [n_frames, n_mfcc] (frames of `length` every `hop` samples)."""
    n_fft = length if n_fft is None else int(n_fft)
    S = spectrogram(np.asarray(x, dtype=np.float32), length, hop, window, n_fft)
    idx, w, D = _tables(float(rate), n_fft, n_mels, fmin, fmax, htk, norm, n_mfcc)
    return dct(log(mel_apply(S, idx, w), log_floor), n_mfcc, D)


@lru_cache(maxsize=32)
def _tables(rate, n_fft, n_mels, fmin, fmax, htk, norm, n_mfcc):
    """The filterbank (in mel_steps form) and DCT matrix of one configuration, built once rather than
    for every window; read-only, since the cache hands the same arrays to every caller."""
    idx, w = mel_steps(mel_filterbank(rate, n_fft, n_mels, fmin, fmax, htk, norm))
    D = dct_matrix(n_mels, n_mfcc)
    for a in (idx, w, D):
        a.flags.writeable = False
    return idx, w, D
