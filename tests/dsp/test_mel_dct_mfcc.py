import librosa
import numpy as np
import pytest
import scipy.fft
import scipy.signal

from tinyml.dsp.dct import dct, dct_matrix
from tinyml.dsp.log import log
from tinyml.dsp.mel import mel, mel_filterbank, mel_sparse
from tinyml.dsp.mfcc import mfcc, mfcc_frames
from tinyml.dsp.spectrum import spectrogram
from tinyml.errors import TinymlError


@pytest.mark.parametrize(
    "rate, n_fft, n_mels, fmin, fmax, htk, norm",
    [
        (16000, 512, 40, 0.0, None, False, "slaney"),
        (16000, 512, 40, 20.0, 7600.0, True, "slaney"),
        (16000, 400, 32, 0.0, 8000.0, False, None),
        (8000, 256, 20, 100.0, 3000.0, True, None),
    ],
)
def test_filterbank_matches_librosa(rate, n_fft, n_mels, fmin, fmax, htk, norm):
    fb = mel_filterbank(rate, n_fft, n_mels, fmin, fmax, htk, norm)
    ref = librosa.filters.mel(sr=rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, norm=norm)
    assert fb.shape == ref.shape == (n_mels, n_fft // 2 + 1) and fb.dtype == np.float32
    np.testing.assert_allclose(fb, ref, rtol=1e-6, atol=1e-9)


def test_mel_apply_sequential_and_sparse_form():
    fb = mel_filterbank(16000, 512, 40)
    start, count, w = mel_sparse(fb)
    dense = np.zeros_like(fb)
    off = 0
    for m in range(40):
        dense[m, start[m] : start[m] + count[m]] = w[off : off + count[m]]
        off += count[m]
    np.testing.assert_array_equal(dense, fb)
    assert off == len(w) and np.all(count > 0)
    rng = np.random.default_rng(0)
    P = rng.exponential(size=(5, 257)).astype(np.float32)
    got = mel(P, fb)
    np.testing.assert_allclose(got, P.astype(np.float64) @ fb.T.astype(np.float64), rtol=1e-5)
    f = np.float32
    for m in (0, 17, 39):
        acc = f(0)
        for k in range(start[m], start[m] + count[m]):
            acc = acc + fb[m, k] * P[2, k]
        assert got[2, m] == acc
    with pytest.raises(TinymlError, match="bins"):
        mel(P[:, :200], fb)


def test_mel_spectrogram_matches_scipy_stft_and_librosa_filters():
    # librosa.feature.melspectrogram is avoided on purpose: its numba compilation costs ~20 s on a cold cache
    rng = np.random.default_rng(1)
    y = rng.standard_normal(4000).astype(np.float32)
    S = spectrogram(y, 512, 160, "hann", 512)
    w = scipy.signal.get_window("hann", 512)
    _, _, Z = scipy.signal.spectrogram(y.astype(np.float64), 16000, window=w, nperseg=512, noverlap=512 - 160,
                                       detrend=False, scaling="spectrum", mode="complex")
    P = np.abs(Z * w.sum()) ** 2  # undo scipy's 1/sum(w) scaling
    np.testing.assert_allclose(S, P.T, rtol=1e-5, atol=1e-6 * P.max())
    fb = librosa.filters.mel(sr=16000, n_fft=512, n_mels=40)
    np.testing.assert_allclose(mel(S, mel_filterbank(16000, 512, 40)), P.T @ fb.T, rtol=1e-4, atol=1e-6 * P.max())


def test_dct_matches_scipy_ortho():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((7, 40)).astype(np.float32)
    ref = scipy.fft.dct(x.astype(np.float64), type=2, norm="ortho", axis=-1)
    np.testing.assert_allclose(dct(x), ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dct(x, 13), ref[:, :13], rtol=1e-5, atol=1e-5)
    D = dct_matrix(40, 13)
    acc = np.float32(0)
    for i in range(40):
        acc = acc + D[5, i] * x[3, i]
    assert dct(x, 13)[3, 5] == acc
    with pytest.raises(TinymlError, match="n_out"):
        dct_matrix(10, 11)


def test_log_floor():
    x = np.array([0.0, -1.0, 1e-12, 1.0, np.e], np.float32)
    np.testing.assert_allclose(log(x, 1e-10), [np.log(1e-10)] * 3 + [0.0, 1.0], rtol=1e-6)
    with pytest.raises(TinymlError, match="floor"):
        log(x, 0)


def test_mfcc_is_the_composition_and_frames_agree():
    rng = np.random.default_rng(3)
    t = np.arange(16000) / 16000.0
    y = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(16000)).astype(np.float32)
    M = mfcc_frames(y, 16000, 480, 320, n_mfcc=10, n_mels=40, n_fft=512)
    assert M.shape == (1 + (16000 - 480) // 320, 10)
    np.testing.assert_array_equal(M[7], mfcc(y[7 * 320 : 7 * 320 + 480], 16000, 10, 40, 512))
    fb = librosa.filters.mel(sr=16000, n_fft=512, n_mels=40)
    w = np.hanning(481)[:480]  # periodic hann
    P = np.abs(np.fft.rfft(y[:480].astype(np.float64) * w, 512)) ** 2
    ref = scipy.fft.dct(np.log(np.maximum(fb @ P, 1e-10)), type=2, norm="ortho")[:10]
    np.testing.assert_allclose(M[0], ref, rtol=1e-4, atol=1e-4)
