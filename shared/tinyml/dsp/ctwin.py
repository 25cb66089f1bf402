"""The C twins (firmware/runtime/dsp, header firmware/runtime/tml_dsp.h) as a host shared library, with
numpy-shaped wrappers that mirror the Python blocks, for parity tests and golden vectors.

    tw = CTwins()                       # builds build/host/tml_dsp-<hash>.so once (cached)
    tw.magnitude(x)  ==  tinyml.dsp.magnitude.magnitude(x)   (bit for bit)

Tables (window, twiddles, sparse mel filterbank, DCT matrix, band bins) are passed in from Python, as
the generated headers will pass them on the device.
"""

from __future__ import annotations

import ctypes as C
from pathlib import Path

import numpy as np

from ..cbuild import build_shared_lib, load_shared_lib
from ..errors import TinymlError
from ..paths import firmware_dir
from .block_summary import n_features
from .fft_band_power import band_bins, band_scale
from .harmonic_energies import REFERENCES as HARMONIC_REFERENCES
from .mel import mel_filterbank, mel_sparse
from .spectrum import _win, fft_twiddles
from .dct import dct_matrix
from .stats import STAT_NAMES
from .window import KIND_CODE

_F = C.POINTER(C.c_float)
_I32 = C.POINTER(C.c_int32)
_I16 = C.POINTER(C.c_int16)
_U8 = C.POINTER(C.c_uint8)
_i = C.c_int


def include_dir() -> Path:
    return firmware_dir() / "runtime"


def sources() -> list[Path]:
    return sorted((firmware_dir() / "runtime" / "dsp").glob("tml_*.c"))


def build(opt: str = "-O2", extra_flags: list[str] = ()) -> Path:
    return build_shared_lib("tml_dsp", sources(), [include_dir()], opt=opt, extra_flags=list(extra_flags))


class _BlockSummaryCfg(C.Structure):
    _fields_ = [("size", C.c_int), ("level", C.c_int), ("level_center", C.c_float), ("level_scale", C.c_float),
                ("delta_scale", C.c_float), ("missing", C.c_float), ("clip", C.c_float), ("resolution", C.c_float),
                ("n_sums", C.c_int), ("sum_ch", C.POINTER(C.c_int)), ("sum_scale", _F),
                ("n_means", C.c_int), ("mean_ch", C.POINTER(C.c_int)), ("mean_center", _F), ("mean_scale", _F),
                ("last", C.c_int), ("unchanged", C.c_int)]


class _BiquadT(C.Structure):
    _fields_ = [("sos", _F), ("state", _F), ("n_sections", C.c_int)]


class _BandEnvelopeT(C.Structure):
    _fields_ = [("band", _BiquadT), ("lp", _BiquadT), ("gain", C.c_float)]


class _QrsConfig(C.Structure):
    _fields_ = [("sos", _F), ("n_sections", C.c_int32), ("gain", C.c_float)] + [
        (k, C.c_int32) for k in ("mwi_n", "refractory_n", "twave_n", "learn_n", "search_n", "ring_n", "rr_init_n",
                            "locate_n")]


class _QrsDetect(C.Structure):  # mirrors tml_qrs_detect_t; only allocated and passed back here
    _fields_ = [("cfg", C.c_void_p), ("band", _BiquadT), ("s_ring", _I32), ("a_ring", _I32), ("y_ring", _F),
                ("v", C.c_int32 * 4), ("msum", C.c_int32), ("n", C.c_int64),
                ("ascending", C.c_int32), ("learned", C.c_int32), ("have", C.c_int32), ("lo", C.c_int32),
                ("pk", C.c_int32), ("pk_i", C.c_int64), ("lmax", C.c_int32), ("lsum", C.c_int64),
                ("spki", C.c_int32), ("npki", C.c_int32), ("th1", C.c_int32), ("th2", C.c_int32),
                ("last_p", C.c_int64), ("last_r", C.c_int64), ("last_sb", C.c_int64), ("last_slope", C.c_int32),
                ("sb_v", C.c_int32), ("sb_s", C.c_int32), ("sb_p", C.c_int64), ("sb_r", C.c_int64),
                ("rr", C.c_int64 * 8), ("rr_sum", C.c_int64), ("rr_k", C.c_int32), ("rr_i", C.c_int32),
                ("spks", C.c_int32), ("npks", C.c_int32), ("ths", C.c_int32), ("lamax", C.c_int32),
                ("lasum", C.c_int64)]


_SIGS = {
    "tml_clip": (None, [_F, _i, C.c_float, C.c_float, _F]),
    "tml_block_summary": (None, [C.POINTER(_BlockSummaryCfg), _F, _i, _i, _F]),
    "tml_magnitude": (None, [_F, _i, _i, _F]),
    "tml_magnitude_int": (None, [_I16, _i, _i, _I32]),
    "tml_isqrt64": (C.c_uint32, [C.c_uint64]),
    "tml_biquad_init": (None, [C.POINTER(_BiquadT), _F, _i, _F]),
    "tml_biquad_reset": (None, [C.POINTER(_BiquadT)]),
    "tml_biquad": (None, [C.POINTER(_BiquadT), _F, _F, _i, _i]),
    "tml_envelope": (None, [C.POINTER(_BiquadT), _F, _F, _i, _i]),
    "tml_window": (C.c_int, [_i, _i, _i, _F]),
    "tml_apply_window": (None, [_F, _i, _F, _i, _F]),
    "tml_stats": (None, [_F, _i, _i, _U8, _i, _F]),
    "tml_stats_zero_crossings": (C.c_int32, [_F, _i, _i]),
    "tml_fft_twiddles": (None, [_i, _F]),
    "tml_fft": (C.c_int, [_F, _F, _i, _F]),
    "tml_power_spectrum": (C.c_int, [_F, _i, _i, _F, _i, _F, _F, _F]),
    "tml_fft_band_power": (C.c_int, [_F, _i, _i, _F, _F, _I32, _I32, _i, C.c_float, _F, _F]),
    "tml_mel": (None, [_F, _I32, _I32, _F, _i, _F]),
    "tml_log": (None, [_F, _i, C.c_float, _F]),
    "tml_dct_matrix": (None, [_i, _i, _F]),
    "tml_dct": (None, [_F, _i, _F, _i, _F]),
    "tml_mfcc": (C.c_int, [_F, _i, _i, _F, _i, _F, _I32, _I32, _F, _i, C.c_float, _F, _i, _F, _F]),
    "tml_select": (None, [_F, _i, _i, _I32, _i, _F]),
    "tml_decimate": (None, [_F, _i, _i, _i, _F]),
    "tml_rr_features": (None, [_F, _i, _F, _F]),
    "tml_beat_qrs_width": (C.c_float, [_F, _i, _i, _i]),
    "tml_beat_template_corr": (C.c_float, [_F, _F, _i]),
    "tml_beat_template_update": (None, [_F, _F, _i, _i]),
    "tml_beat_template_align": (C.c_float, [_F, _F, _i, _i, C.POINTER(C.c_int)]),
    "tml_sqi": (C.c_float, [_F, _i, C.c_float, _F]),
    "tml_qrs_detect_init": (C.c_int, [C.POINTER(_QrsDetect), C.POINTER(_QrsConfig), _F, _I32, _I32, _F]),
    "tml_qrs_detect_step": (C.c_int, [C.POINTER(_QrsDetect), C.c_float, C.POINTER(C.c_uint32)]),
    "tml_fft_band_power_frames": (C.c_int, [_F, _i, _i, _i, _i, _F, _F, _I32, _I32, _i, C.c_float, _F, _F, _F]),
    "tml_detrend": (None, [_F, _i, _i, _F]),
    "tml_symlog": (None, [_F, _i, _F]),
    "tml_kurtosis_band": (C.c_int, [_F, _i, _i, _F, _i, _i, _F, _F]),
    "tml_harmonic_energies": (None, [_F, _i, C.c_float, C.c_float, _F, _i, _i, C.c_float, _i, C.c_float,
                                     C.c_float, _F]),
    "tml_normalize": (None, [_F, _i, _F]),
    "tml_band_envelope_init": (None, [C.POINTER(_BandEnvelopeT), _F, _i, _F, _F, _i, _F, C.c_float]),
    "tml_band_envelope": (None, [C.POINTER(_BandEnvelopeT), _F, _F, _i, _i]),
}
for _s in STAT_NAMES:
    if _s != "zero_crossings":
        _SIGS[f"tml_stats_{_s}"] = (C.c_float, [_F, _i, _i])


def _p(a: np.ndarray, ptr):
    return a.ctypes.data_as(ptr)


def _f32(a) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32)


class CTwins:
    """numpy-shaped wrappers over the C twins; every method mirrors the Python block of the same name."""

    def __init__(self, lib_path: Path | None = None):
        self.path = lib_path or build()
        self.lib = load_shared_lib(self.path)
        for name, (res, args) in _SIGS.items():
            fn = getattr(self.lib, name)
            fn.restype = res
            fn.argtypes = args

    # clip
    def clip(self, x, lo: float, hi: float) -> np.ndarray:
        x = _f32(x)
        out = np.empty_like(x)
        self.lib.tml_clip(_p(x, _F), x.size, lo, hi, _p(out, _F))
        return out

    # block_summary
    def block_summary(self, x, size=4, level=0, level_center=0.0, level_scale=1.0, delta_scale=1.0, sums=(), means=(),
                      missing=-1.0, clip=3.0, resolution=0.0, last=False, unchanged=False) -> np.ndarray:
        x = _f32(x)
        n = (x.shape[0] - 2) // size
        ints = lambda v: (C.c_int * max(1, len(v)))(*[int(u) for u in v])  # noqa: E731
        flts = lambda v: (C.c_float * max(1, len(v)))(*[float(u) for u in v])  # noqa: E731
        keep = [ints([s[0] for s in sums]), flts([s[1] for s in sums]), ints([m[0] for m in means]),
                flts([m[1] for m in means]), flts([m[2] for m in means])]
        cfg = _BlockSummaryCfg(size, level, level_center, level_scale, delta_scale, missing, clip, resolution, len(sums), keep[0],
                               keep[1], len(means), keep[2], keep[3], keep[4], int(bool(last)), int(bool(unchanged)))
        out = np.empty((n, n_features(sums, means, last, unchanged)), np.float32)
        self.lib.tml_block_summary(C.byref(cfg), _p(x, _F), n, x.shape[1], _p(out, _F))
        return out

    # magnitude
    def magnitude(self, x) -> np.ndarray:
        x = _f32(x if np.ndim(x) == 2 else np.asarray(x)[:, None])
        out = np.empty(x.shape[0], np.float32)
        self.lib.tml_magnitude(_p(x, _F), x.shape[0], x.shape[1], _p(out, _F))
        return out

    def magnitude_int(self, x) -> np.ndarray:
        x = np.ascontiguousarray(x if np.ndim(x) == 2 else np.asarray(x)[:, None], dtype=np.int16)
        out = np.empty(x.shape[0], np.int32)
        self.lib.tml_magnitude_int(_p(x, _I16), x.shape[0], x.shape[1], _p(out, _I32))
        return out

    def isqrt64(self, v: int) -> int:
        return int(self.lib.tml_isqrt64(v))

    # biquad: one tml_biquad_t per channel, run over the interleaved signal with stride = channels
    def biquad(self, x, sos, state=None, _fn: str = "tml_biquad"):
        x = _f32(x)
        sos = _f32(sos)
        k = sos.shape[0]
        x2 = x if x.ndim == 2 else x[:, None]
        ch = x2.shape[1]
        st = np.zeros((k, 2, ch), np.float32) if state is None else _f32(state).reshape(k, 2, ch)
        y = np.empty_like(x2)
        st_out = np.empty_like(st)
        for c in range(ch):
            buf = np.ascontiguousarray(st[:, :, c])
            f = _BiquadT()
            self.lib.tml_biquad_init(C.byref(f), _p(sos, _F), k, _p(buf, _F))
            buf[:] = st[:, :, c]  # init zeroes the state; restore the caller's
            xp = x2.ctypes.data + 4 * c
            yp = y.ctypes.data + 4 * c
            getattr(self.lib, _fn)(C.byref(f), C.cast(xp, _F), C.cast(yp, _F), x2.shape[0], ch)
            st_out[:, :, c] = buf
        if x.ndim == 1:
            return y[:, 0], st_out[:, :, 0]
        return y, st_out

    def envelope(self, x, sos, state=None):
        return self.biquad(x, sos, state, _fn="tml_envelope")

    def band_envelope(self, x, band_sos, lp_sos, gain: float = 1.0):
        """x [n] through tml_band_envelope one sample per call, as a stream: the envelope [n]."""
        x = _f32(x).reshape(-1)
        band_sos, lp_sos = _f32(band_sos), _f32(lp_sos)
        sb = np.zeros(2 * band_sos.shape[0], np.float32)
        sl = np.zeros(2 * lp_sos.shape[0], np.float32)
        e = _BandEnvelopeT()
        self.lib.tml_band_envelope_init(C.byref(e), _p(band_sos, _F), band_sos.shape[0], _p(sb, _F), _p(lp_sos, _F),
                                        lp_sos.shape[0], _p(sl, _F), C.c_float(gain))
        y = np.empty_like(x)
        for i in range(len(x)):
            self.lib.tml_band_envelope(C.byref(e), C.cast(x.ctypes.data + 4 * i, _F), C.cast(y.ctypes.data + 4 * i, _F),
                                       1, 1)
        return y

    # window
    def window(self, kind: str, n: int, symmetric: bool = False) -> np.ndarray:
        w = np.empty(n, np.float32)
        if self.lib.tml_window(KIND_CODE[kind], n, int(symmetric), _p(w, _F)) != 0:
            raise TinymlError(f"tml_window rejected kind={kind!r} n={n}")
        return w

    def apply_window(self, x, w) -> np.ndarray:
        """x [n] or [n, ch] times w along time (channel by channel through the strided C call)."""
        x = _f32(x)
        w = _f32(w)
        x2 = x if x.ndim == 2 else x[:, None]
        out = np.empty((x2.shape[1], x2.shape[0]), np.float32)
        for c in range(x2.shape[1]):
            self.lib.tml_apply_window(C.cast(x2.ctypes.data + 4 * c, _F), x2.shape[1], _p(w, _F), len(w),
                                      C.cast(out.ctypes.data + 4 * c * x2.shape[0], _F))
        return out.T.reshape(x.shape)

    # stats
    def stats(self, x, names=STAT_NAMES) -> np.ndarray:
        x = _f32(x)
        x2 = x if x.ndim == 2 else x[:, None]
        codes = np.array([STAT_NAMES.index(s) for s in names], np.uint8)
        out = np.empty((x2.shape[1], len(codes)), np.float32)
        for c in range(x2.shape[1]):
            self.lib.tml_stats(C.cast(x2.ctypes.data + 4 * c, _F), x2.shape[0], x2.shape[1], _p(codes, _U8),
                               len(codes), C.cast(out.ctypes.data + 4 * c * len(codes), _F))
        return out if x.ndim == 2 else out[0]

    def stat(self, name: str, x) -> float | int:
        x = _f32(x)
        return getattr(self.lib, f"tml_stats_{name}")(_p(x, _F), len(x), 1)

    # spectra
    def fft_twiddles(self, n: int) -> np.ndarray:
        tw = np.empty(n, np.float32)
        self.lib.tml_fft_twiddles(n, _p(tw, _F))
        return tw.reshape(2, n // 2)

    def fft(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.complex64)
        re, im = _f32(x.real).copy(), _f32(x.imag).copy()
        tw = _f32(fft_twiddles(len(x)))
        if self.lib.tml_fft(_p(re, _F), _p(im, _F), len(x), _p(tw, _F)) != 0:
            raise TinymlError(f"tml_fft rejected n={len(x)}")
        return re + 1j * im.astype(np.complex64)

    def power_spectrum(self, frame, window="hann", n_fft: int | None = None) -> np.ndarray:
        x = _f32(frame)
        n = x.shape[0]
        n_fft = n if n_fft is None else n_fft
        w = _f32(_win(window, n))
        tw = _f32(fft_twiddles(n_fft))
        work = np.empty(2 * n_fft, np.float32)
        out = np.empty(n_fft // 2 + 1, np.float32)
        if self.lib.tml_power_spectrum(_p(x, _F), 1, n, _p(w, _F), n_fft, _p(tw, _F), _p(work, _F), _p(out, _F)):
            raise TinymlError(f"tml_power_spectrum rejected n={n} n_fft={n_fft}")
        return out

    def fft_band_power(self, frame, rate: float, bands, window="hann") -> np.ndarray:
        x = _f32(frame)
        x2 = x if x.ndim == 2 else x[:, None]
        n = x2.shape[0]
        w = _f32(_win(window, n))
        tw = _f32(fft_twiddles(n))
        lo, hi = band_bins(n, rate, bands)
        scale = band_scale(w)
        work = np.empty(2 * n, np.float32)
        out = np.empty((x2.shape[1], len(lo)), np.float32)
        for c in range(x2.shape[1]):
            rc = self.lib.tml_fft_band_power(C.cast(x2.ctypes.data + 4 * c, _F), x2.shape[1], n, _p(w, _F),
                                             _p(tw, _F), _p(lo, _I32), _p(hi, _I32), len(lo), float(scale),
                                             _p(work, _F), C.cast(out.ctypes.data + 4 * c * len(lo), _F))
            if rc != 0:
                raise TinymlError(f"tml_fft_band_power rejected n={n} (a power of two is needed)")
        return out if x.ndim == 2 else out[0]

    def fft_band_power_frames(self, frame, rate: float, bands, window="hann", length: int = 0,
                              hop: int = 0) -> np.ndarray:
        """One channel: the Welch mean of tml_fft_band_power over frames of `length` every `hop`."""
        x = _f32(frame).reshape(-1)
        length = length or len(x)
        hop = hop or length
        w = _f32(_win(window, length))
        tw = _f32(fft_twiddles(length))
        lo, hi = band_bins(length, rate, bands)
        work = np.empty(2 * length, np.float32)
        band = np.empty(len(lo), np.float32)
        out = np.empty(len(lo), np.float32)
        rc = self.lib.tml_fft_band_power_frames(_p(x, _F), 1, len(x), length, hop, _p(w, _F), _p(tw, _F),
                                                _p(lo, _I32), _p(hi, _I32), len(lo), float(band_scale(w)),
                                                _p(work, _F), _p(band, _F), _p(out, _F))
        if rc != 0:
            raise TinymlError(f"tml_fft_band_power_frames rejected n={len(x)} length={length} hop={hop}")
        return out

    # decimate (also a stream-side block), detrend, symlog
    def decimate(self, x, factor: int) -> np.ndarray:
        x = _f32(x)
        out = np.empty((x.shape[0] // factor, x.shape[1]), np.float32)
        self.lib.tml_decimate(_p(x, _F), x.shape[0], x.shape[1], factor, _p(out, _F))
        return out

    def detrend(self, x) -> np.ndarray:
        x = _f32(x)
        x2 = x if x.ndim == 2 else x[:, None]
        y = np.empty_like(x2)
        for c in range(x2.shape[1]):
            self.lib.tml_detrend(C.cast(x2.ctypes.data + 4 * c, _F), x2.shape[0], x2.shape[1],
                                 C.cast(y.ctypes.data + 4 * c, _F))
        return y.reshape(x.shape)

    def symlog(self, x) -> np.ndarray:
        x = _f32(x)
        y = np.empty_like(x)
        self.lib.tml_symlog(_p(x, _F), x.size, _p(y, _F))
        return y

    # vibration
    def kurtosis_band(self, x, sos_list, skip: int = 0) -> tuple[np.ndarray, int]:
        """One channel x [n]: (the chosen band's signal from sample `skip` on, its index)."""
        x = _f32(x).reshape(-1)
        sos = _f32(np.stack([np.asarray(s, np.float32) for s in sos_list]))
        k = sos.shape[1]
        state = np.empty(2 * k, np.float32)
        out = np.empty_like(x)
        best = self.lib.tml_kurtosis_band(_p(x, _F), len(x), skip, _p(sos, _F), k, sos.shape[0], _p(state, _F),
                                          _p(out, _F))
        if best < 0:
            raise TinymlError("tml_kurtosis_band rejected its sizes")
        return out[skip:], int(best)

    def normalize(self, x) -> np.ndarray:
        x = _f32(x).reshape(-1)
        y = np.empty_like(x)
        self.lib.tml_normalize(_p(x, _F), len(x), _p(y, _F))
        return y

    def harmonic_energies(self, power, rate: float, base_hz: float, orders, harmonics: int = 1,
                          tolerance: float = 0.03, reference: str = "absolute", background: float = 0.25,
                          floor: float = 1e-12) -> np.ndarray:
        """One spectrum [bins] -> [len(orders) * harmonics]."""
        p = _f32(power).reshape(-1)
        o = _f32(orders)
        out = np.empty(len(o) * harmonics, np.float32)
        self.lib.tml_harmonic_energies(_p(p, _F), len(p), float(np.float32(rate)), float(np.float32(base_hz)),
                                       _p(o, _F), len(o), harmonics, float(np.float32(tolerance)),
                                       HARMONIC_REFERENCES.index(reference),
                                       float(np.float32(background)), float(np.float32(floor)), _p(out, _F))
        return out

    # mel / log / dct / mfcc
    def mel(self, power, fb) -> np.ndarray:
        p = _f32(power)
        start, count, wts = mel_sparse(fb)
        out = np.empty(len(start), np.float32)
        self.lib.tml_mel(_p(p, _F), _p(start, _I32), _p(count, _I32), _p(wts, _F), len(start), _p(out, _F))
        return out

    def log(self, x, floor: float = 1e-10) -> np.ndarray:
        x = _f32(x)
        y = np.empty_like(x)
        self.lib.tml_log(_p(x, _F), x.size, float(np.float32(floor)), _p(y, _F))
        return y

    def dct_matrix(self, n: int, n_out: int | None = None) -> np.ndarray:
        n_out = n if n_out is None else n_out
        d = np.empty((n_out, n), np.float32)
        self.lib.tml_dct_matrix(n, n_out, _p(d, _F))
        return d

    def dct(self, x, n_out: int | None = None, matrix=None) -> np.ndarray:
        x = _f32(x)
        d = _f32(dct_matrix(len(x), n_out) if matrix is None else matrix)
        y = np.empty(d.shape[0], np.float32)
        self.lib.tml_dct(_p(x, _F), len(x), _p(d, _F), d.shape[0], _p(y, _F))
        return y

    def mfcc(self, frame, rate: float, n_mfcc: int = 13, n_mels: int = 40, n_fft: int | None = None,
             window="hann", fmin: float = 0.0, fmax: float | None = None, htk: bool = False,
             norm: str = "slaney", log_floor: float = 1e-10) -> np.ndarray:
        x = _f32(frame)
        n = len(x)
        n_fft = n if n_fft is None else n_fft
        w = _f32(_win(window, n))
        tw = _f32(fft_twiddles(n_fft))
        start, count, wts = mel_sparse(mel_filterbank(rate, n_fft, n_mels, fmin, fmax, htk, norm))
        d = _f32(dct_matrix(n_mels, n_mfcc))
        work = np.empty(2 * n_fft + n_mels, np.float32)
        out = np.empty(n_mfcc, np.float32)
        rc = self.lib.tml_mfcc(_p(x, _F), 1, n, _p(w, _F), n_fft, _p(tw, _F), _p(start, _I32), _p(count, _I32),
                               _p(wts, _F), n_mels, float(np.float32(log_floor)), _p(d, _F), n_mfcc, _p(work, _F),
                               _p(out, _F))
        if rc != 0:
            raise TinymlError(f"tml_mfcc rejected n={n} n_fft={n_fft}")
        return out

    # select / decimate
    def select(self, x, channels) -> np.ndarray:
        x = _f32(x)
        ch = np.asarray(channels, np.int32)
        out = np.empty((x.shape[0], len(ch)), np.float32)
        self.lib.tml_select(_p(x, _F), x.shape[0], x.shape[1], _p(ch, _I32), len(ch), _p(out, _F))
        return out

    # R-R features, beat features, signal quality
    def rr_features(self, rr) -> np.ndarray:
        rr = _f32(rr).reshape(-1)
        work = np.zeros(max(2 * len(rr), 1), np.float32)
        out = np.empty(5, np.float32)
        self.lib.tml_rr_features(_p(rr, _F) if len(rr) else None, len(rr), _p(work, _F), _p(out, _F))
        return out

    def qrs_width(self, x, c: int, half: int) -> np.float32:
        x = _f32(x)
        return np.float32(self.lib.tml_beat_qrs_width(_p(x, _F), len(x), int(c), int(half)))

    def template_corr(self, x, t) -> np.float32:
        x, t = _f32(x), _f32(t)
        return np.float32(self.lib.tml_beat_template_corr(_p(x, _F), _p(t, _F), len(x)))

    def template_align(self, x, t, shift: int) -> tuple[np.float32, int]:
        x, t = _f32(x), _f32(t)
        at = C.c_int(-1)
        c = self.lib.tml_beat_template_align(_p(x, _F), _p(t, _F), len(t), int(shift), C.byref(at))
        return np.float32(c), int(at.value)

    def template_update(self, t, x, k: int = 8) -> np.ndarray:
        t, x = _f32(t).copy(), _f32(x)
        self.lib.tml_beat_template_update(_p(t, _F), _p(x, _F), len(x), k)
        return t

    def sqi(self, x, ref: float = 1.0) -> tuple[np.float32, np.float32]:
        x = _f32(x)
        ptp = np.zeros(1, np.float32)
        v = self.lib.tml_sqi(_p(x, _F), len(x), float(np.float32(ref)), _p(ptp, _F))
        return np.float32(v), ptp[0]

    # QRS detector: the stream fed one sample at a time, as on the device
    def qrs_detect(self, y, cfg) -> tuple[np.ndarray, np.ndarray]:
        """Beats of `y` through tml_qrs_detect (cfg: tinyml.dsp.qrs_detect.QrsConfig): (R indices, decision
        indices), like tinyml.dsp.qrs_detect.detect_with."""
        y = _f32(y).reshape(-1)
        sos = _f32(cfg.sos)
        c = _QrsConfig(_p(sos, _F), sos.shape[0], float(np.float32(cfg.gain)), cfg.mwi_n, cfg.refractory_n,
                       cfg.twave_n, cfg.learn_n, cfg.search_n, cfg.ring_n, cfg.rr_init_n, cfg.locate_n)
        band = np.zeros(2 * sos.shape[0], np.float32)
        s_ring = np.zeros(cfg.mwi_n, np.int32)
        a_ring = np.zeros(cfg.ring_n, np.int32)
        y_ring = np.zeros(cfg.ring_n, np.float32)
        q = _QrsDetect()
        if self.lib.tml_qrs_detect_init(C.byref(q), C.byref(c), _p(band, _F), _p(s_ring, _I32), _p(a_ring, _I32),
                                        _p(y_ring, _F)) != 0:
            raise TinymlError("tml_qrs_detect_init rejected the configuration")
        r = C.c_uint32()
        rs, ds = [], []
        step = self.lib.tml_qrs_detect_step
        for n, v in enumerate(y.tolist()):
            if step(C.byref(q), v, C.byref(r)):
                rs.append(r.value)
                ds.append(n)
        return np.asarray(rs, np.int64), np.asarray(ds, np.int64)

