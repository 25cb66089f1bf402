"""MFCC of one frame: dct(log(mel(power_spectrum(frame * window)))).

Composition of spectrum -> mel -> log -> dct (see those modules for their arithmetic). The C twin
`tml_mfcc` chains the C twins with generated tables (window, twiddles, sparse mel filterbank, DCT
matrix). Every stage is float32 in the C twin's order (for a power-of-two n_fft), so Python and C MFCCs
are bit-exact and the int8 model input is identical on the device (tests/dsp/test_c_twins.py).
"""

from __future__ import annotations

import numpy as np

from .dct import dct, dct_matrix
from .log import log
from .mel import mel, mel_filterbank
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
    fb = mel_filterbank(rate, n_fft, n_mels, fmin, fmax, htk, norm)
    return dct(log(mel(P, fb), log_floor), n_mfcc, dct_matrix(n_mels, n_mfcc))


def mfcc_frames(
    x, rate: float, length: int, hop: int, n_mfcc: int = 13, n_mels: int = 40, n_fft: int | None = None,
    window="hann", fmin: float = 0.0, fmax: float | None = None, htk: bool = False, norm: str = "slaney",
    log_floor: float = 1e-10,
) -> np.ndarray:
    """x [n] -> float32 [n_frames, n_mfcc] (frames of `length` every `hop` samples)."""
    n_fft = length if n_fft is None else int(n_fft)
    S = spectrogram(np.asarray(x, dtype=np.float32), length, hop, window, n_fft)
    fb = mel_filterbank(rate, n_fft, n_mels, fmin, fmax, htk, norm)
    return dct(log(mel(S, fb), log_floor), n_mfcc, dct_matrix(n_mels, n_mfcc))
