"""Shared DSP blocks: numpy references, each with a C twin of the same name (firmware/runtime/dsp).

Every block is a small module with a plain function (`fn`) and a docstring that states where the
arithmetic is float32 and where integer, and what the C twin must do to match. `BLOCKS` registers the
blocks a manifest's `[features].chain` can name; each has a uniform

    apply(x2d, rate, **params) -> 2d array

taking a window [time, channels] (rate = sample rate of the underlying signal in Hz) and returning
[time', features]. A chain step is a table `{block = "name", append = false, <params>...}`; with
append = true the block's output is concatenated (along features) to its input instead of replacing it,
which needs equal time lengths. `apply_chain` runs a chain; `validate_params` checks one step.

Multi-channel outputs are channel-major: [ch0 f0, ch0 f1, ..., ch1 f0, ...].

`concat` joins several sub-chains: `{block = "concat", branches = [[steps...], [steps...]]}` runs each
branch on the step's input and concatenates their outputs along features (equal time lengths), so one
feature vector can gather statistics, band powers and envelope peaks of the same window.

A numeric parameter may name a deployment value instead of a number: `base_hz = "@machine.shaft_hz"`
(also inside lists: `orders = [1.0, "@machine.bpfo"]`). `resolve_chain(chain, values)` substitutes them
from {section: {key: value}} (the manifest's deployment sections, a recording's own values, --set), so a
machine's speed reaches the features without changing the feature definition or its hash.

`frame` (tinyml.dsp.frame) is a utility, not a chain block: the manifest's window/hop do the framing.

Stream blocks (`Block.stream`): causal and length-preserving, with their state carried from sample to sample,
so applying one to a whole recording is exactly what the device computes sample by sample. Only these may
appear in a manifest's `[features].stream`, the stage that runs over the whole signal before it is cut into
windows (a biquad filter that keeps its state, a QRS detector deriving R-R channels, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Mapping

import numpy as np

from ..errors import TinymlError
# Submodules stay reachable as tinyml.dsp.<block> (modules, not shadowed by their functions):
# use `from tinyml.dsp.stats import stats`. The functions are imported here under private names.
from .biquad import KINDS as BIQUAD_KINDS
from .block_summary import block_summary as _block_summary
from .biquad import biquad as _biquad
from .biquad import design_biquad as _design_biquad
from .dct import dct as _dct
from .detrend import detrend as _detrend
from .decimate import decimate as _decimate
from .harmonic_energies import harmonic_energies as _harmonic_energies
from .kurtosis_band import band_filters as _band_filters
from .harmonic_energies import REFERENCES as HARMONIC_REFERENCES
from .kurtosis_band import kurtosis_band as _kurtosis_band
from .normalize import normalize as _normalize
from .symlog import symlog as _symlog
from .envelope import envelope as _envelope
from .band_envelope import band_envelope as _band_envelope
from .fft_band_power import fft_band_power as _fft_band_power
from .log import log as _log
from .clip import clip as _clip
from .qrs_detect import beat_channels as _beat_channels
from .qrs_detect import detect_with as _detect_with
from .qrs_detect import qrs_config as _qrs_config
from .qrs_detect import qrs_detect as _qrs_detect
from .select import select as _select
from .magnitude import magnitude as _magnitude
from .magnitude import magnitude_int as _magnitude_int
from .mel import NORMS as MEL_NORMS
from .mel import mel as _mel
from .mel import mel_filterbank as _mel_filterbank
from .mfcc import mfcc as _mfcc
from .mfcc import mfcc_frames as _mfcc_frames
from .resample import resample as _resample
from .spectrum import power_spectrum as _power_spectrum
from .spectrum import spectrogram as _spectrogram
from .stats import STAT_NAMES
from .stats import stats as _stats
from .window import KINDS as WINDOW_KINDS
from .window import apply_window as _apply_window_fn
from .window import window as _window
from . import frame as frame  # noqa: F401  (utility module, not a chain block)


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()

_TYPE_NAMES = {float: "a number", int: "an integer", bool: "true/false", str: "a string", list: "a list"}


@dataclass(frozen=True)
class Block:
    """A registered DSP block. params: {name: (type or tuple of types, default or REQUIRED, doc)}."""

    name: str
    version: int
    numeric: str  # "float32" or "int"
    params: Mapping[str, tuple[Any, Any, str]]
    fn: Callable[..., Any]
    apply: Callable[..., np.ndarray]
    choices: Mapping[str, tuple] = field(default_factory=dict)
    rate_out: Callable[[float, dict], float] | None = None  # when the block changes the sample rate
    doc: str = ""
    stream: bool = False  # causal and length-preserving: may run in [features].stream (see the module doc)
    # apply() also takes a batch of windows [windows, time, channels] and gives each window's output exactly as
    # alone: FeatureExtractor.batch then runs a chain of such blocks once per batch, not once per window
    batched: bool = False


def _type_ok(v, types) -> bool:
    types = types if isinstance(types, tuple) else (types,)
    for t in types:
        if t is bool and isinstance(v, bool):
            return True
        if t is int and isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            return True
        if t is float and isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
            return True
        if t is str and isinstance(v, str):
            return True
        if t is list and isinstance(v, (list, tuple)):
            return True
    return False


def _type_name(types) -> str:
    types = types if isinstance(types, tuple) else (types,)
    return " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in types)


REF_PREFIX = "@"


def is_ref(v) -> bool:
    """A reference to a deployment value ("@machine.shaft_hz"), or a list holding one."""
    if isinstance(v, str):
        return v.startswith(REF_PREFIX)
    if isinstance(v, (list, tuple)):
        return any(is_ref(x) for x in v)
    return False


def validate_params(block_name: str, params: Mapping[str, Any]) -> dict:
    """Check a chain step's parameters against the block's schema; returns them with defaults filled in.

    Raises TinymlError naming the block, the parameter and what is allowed. The keys `block` and
    `append` (chain-step keys, not block parameters) are ignored.
    """
    blk = BLOCKS.get(block_name)
    if blk is None:
        raise TinymlError(f"unknown DSP block {block_name!r}; available: {', '.join(sorted(BLOCKS))}")
    given = {k: v for k, v in params.items() if k not in ("block", "append")}
    unknown = sorted(set(given) - set(blk.params))
    if unknown:
        allowed = ", ".join(blk.params) or "none"
        raise TinymlError(f"DSP block {block_name!r}: unknown parameter {unknown[0]!r}; allowed: {allowed}")
    out = {}
    for p, (types, default, doc) in blk.params.items():
        if p not in given:
            if default is REQUIRED:
                raise TinymlError(f"DSP block {block_name!r}: parameter {p!r} is required ({doc})")
            out[p] = default
            continue
        v = given[p]
        if is_ref(v):  # checked once resolved (resolve_chain)
            out[p] = v
            continue
        if not _type_ok(v, types):
            raise TinymlError(
                f"DSP block {block_name!r}: parameter {p!r} must be {_type_name(types)}, got {v!r} ({doc})"
            )
        if p in blk.choices:
            allowed = blk.choices[p]
            vals = v if isinstance(v, (list, tuple)) else [v]
            bad = [x for x in vals if x not in allowed]
            if bad:
                raise TinymlError(
                    f"DSP block {block_name!r}: parameter {p!r} value {bad[0]!r} not allowed; "
                    f"allowed: {', '.join(map(str, allowed))}"
                )
        out[p] = v
    return out


def _as2d(x, name) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise TinymlError(f"DSP block {name!r}: input must be [time, channels], got shape {x.shape}")
    return x


def _flat_channels(a: np.ndarray) -> np.ndarray:
    """[ch, k] -> [1, ch*k] channel-major."""
    return np.asarray(a, dtype=np.float32).reshape(1, -1)


# ---- apply functions: [time, ch] -> [time', features] ----


def _apply_resample(x, rate, rate_out):
    return _resample(_as2d(x, "resample"), rate, float(rate_out))


@lru_cache(maxsize=64)
def _sos_cached(kind, cutoff, rate, order):
    sos = _design_biquad(kind, list(cutoff) if isinstance(cutoff, tuple) else cutoff, rate, order)
    sos.flags.writeable = False
    return sos


@lru_cache(maxsize=64)
def _mel_cached(rate, n_fft, n_mels, fmin, fmax, htk, norm):
    fb = _mel_filterbank(rate, n_fft, n_mels, fmin, fmax, htk, norm)
    fb.flags.writeable = False
    return fb


def _hz(block: str, param: str, v, band: bool | None = None):
    """A frequency parameter as a cache key: a number, or (lo, hi) for a band; `band` True/False demands
    one form. Malformed values are refused naming the block and the parameter the user wrote."""
    form = "[lo, hi] in Hz" if band else "a number in Hz" if band is False else "Hz (a number, or [lo, hi])"
    try:
        out = tuple(float(c) for c in v) if isinstance(v, (list, tuple)) else float(v)
    except (TypeError, ValueError):
        out = None
    wrong_form = band is not None and isinstance(out, tuple) != band
    if out is None or wrong_form or (isinstance(out, tuple) and len(out) != 2):
        raise TinymlError(f"DSP block {block!r}: {param} must be {form}, got {v!r}")
    return out


def _apply_biquad(x, rate, kind, cutoff_hz, order):
    cut = _hz("biquad", "cutoff_hz", cutoff_hz)
    sos = _sos_cached(kind, cut, float(rate), int(order))
    return _biquad(_as2d(x, "biquad").astype(np.float32), sos)[0]


def _apply_envelope(x, rate, cutoff_hz, order):
    sos = _sos_cached("lowpass", _hz("envelope", "cutoff_hz", cutoff_hz, band=False), float(rate), int(order))
    return _envelope(_as2d(x, "envelope").astype(np.float32), sos)[0]


def _apply_band_envelope(x, rate, channel, band_hz, order, cutoff_hz, gain):
    x = _as2d(x, "band_envelope")
    if not 0 <= channel < x.shape[1]:
        raise TinymlError(f"DSP block 'band_envelope': channel {channel} out of range 0..{x.shape[1] - 1}")
    band = _sos_cached("bandpass", _hz("band_envelope", "band_hz", band_hz, band=True), float(rate), int(order))
    lp = _sos_cached("lowpass", _hz("band_envelope", "cutoff_hz", cutoff_hz, band=False), float(rate), int(order))
    return _band_envelope(x[:, channel].astype(np.float32), band, lp, float(gain))[0][:, None]


def _apply_window(x, rate, kind, symmetric):
    x = _as2d(x, "window")
    return _apply_window_fn(x, _window(kind, x.shape[0], symmetric), axis=0)


def _apply_clip(x, rate, lo, hi):
    return _clip(_as2d(x, "clip"), lo, hi)


def _apply_select(x, rate, channels):
    return _select(_as2d(x, "select"), channels)


def _apply_decimate(x, rate, factor):
    return _decimate(_as2d(x, "decimate"), int(factor))


def qrs_params_config(rate, p):
    """The detector's QrsConfig for one validated qrs_detect step's parameters."""
    return _qrs_config(float(rate), tuple(float(b) for b in p["band_hz"]), int(p["order"]), float(p["gain"]),
                       float(p["mwi_s"]), float(p["refractory_s"]), float(p["twave_s"]), float(p["learn_s"]),
                       float(p["search_s"]), float(p["ring_s"]), float(p["locate_s"]))


def _apply_qrs_detect(x, rate, channel, band_hz, order, gain, mwi_s, refractory_s, twave_s, learn_s, search_s,
                      ring_s, locate_s):
    x = _as2d(x, "qrs_detect")
    if not 0 <= channel < x.shape[1]:
        raise TinymlError(f"DSP block 'qrs_detect': channel {channel} out of range 0..{x.shape[1] - 1}")
    cfg = qrs_params_config(rate, dict(band_hz=band_hz, order=order, gain=gain, mwi_s=mwi_s,
                                       refractory_s=refractory_s, twave_s=twave_s, learn_s=learn_s,
                                       search_s=search_s, ring_s=ring_s, locate_s=locate_s))
    r, det = _detect_with(x[:, channel], cfg)
    return _beat_channels(r, det, x.shape[0], rate)


def _apply_magnitude(x, rate):
    return _magnitude(_as2d(x, "magnitude"))[:, None]


def _apply_magnitude_int(x, rate):
    x = _as2d(x, "magnitude_int")
    if not np.issubdtype(x.dtype, np.integer):
        x = np.clip(np.rint(x), -32768, 32767)
    return _magnitude_int(x.astype(np.int16))[:, None]


def _apply_stats(x, rate, names):
    x = _as2d(x, "stats")
    return _flat_channels(_stats(x, tuple(names)).reshape(x.shape[1], -1))


def _apply_fft_band_power(x, rate, bands, window, length, hop):
    x = _as2d(x, "fft_band_power")
    return _flat_channels(_fft_band_power(x, rate, bands, window, length, hop).reshape(x.shape[1], -1))


def _apply_detrend(x, rate):
    return _detrend(_as2d(x, "detrend"))


def _apply_symlog(x, rate):
    return _symlog(_as2d(x, "symlog"))


@lru_cache(maxsize=32)
def _band_sos_cached(bands, rate, order):
    out = _band_filters([list(b) for b in bands], rate, order)
    for sos in out:
        sos.flags.writeable = False
    return out


def _apply_kurtosis_band(x, rate, bands, order, skip):
    key = tuple(tuple(float(v) for v in b) for b in bands)
    return _kurtosis_band(_as2d(x, "kurtosis_band"), _band_sos_cached(key, float(rate), int(order)), int(skip))[0]


def _apply_harmonic_energies(x, rate, base_hz, orders, harmonics, tolerance, reference, background, floor):
    x = _as2d(x, "harmonic_energies")
    return _harmonic_energies(x, rate, float(base_hz), [float(o) for o in orders], int(harmonics), float(tolerance),
                              reference, float(background), float(floor))


def _apply_normalize(x, rate):
    return _normalize(_as2d(x, "normalize"))


_DESCRIBED: dict[int, tuple[Any, list]] = {}  # id(branches) -> (branches, described): a chain runs per window


def _apply_concat(x, rate, branches):
    hit = _DESCRIBED.get(id(branches))
    if hit is None or hit[0] is not branches:
        if len(_DESCRIBED) > 256:
            _DESCRIBED.clear()
        hit = _DESCRIBED[id(branches)] = (branches, [describe_chain(b) for b in branches])
    return _concat_described(_as2d(x, "concat"), rate, hit[1])


def _concat_described(x, rate, described_branches):
    outs = [run_described(x, rate, b) for b in described_branches]
    rows = {o.shape[0] for o in outs}
    if len(rows) != 1:
        raise TinymlError(f"DSP block 'concat': branches give {sorted(rows)} rows; they must give the same number")
    return np.concatenate([o.astype(np.float32) for o in outs], axis=1)


def _apply_block_summary(x, rate, size, level, level_center, level_scale, delta_scale, sums, means, missing, clip,
                         resolution, last, unchanged):
    x = np.asarray(x)
    return _block_summary(x if x.ndim == 3 else _as2d(x, "block_summary"), size, level, level_center, level_scale,
                          delta_scale, sums, means, missing, clip, resolution, last, unchanged)


def _frames_params(x, length, hop):
    length = length or x.shape[0]
    hop = hop or length
    return length, hop


def _apply_spectrum(x, rate, length, hop, n_fft, window):
    x = _as2d(x, "spectrum").astype(np.float32)
    length, hop = _frames_params(x, length, hop)
    S = _spectrogram(x, length, hop, window, n_fft or None)  # [frames, bins, ch]
    return np.transpose(S, (0, 2, 1)).reshape(S.shape[0], -1)


def _apply_mel(x, rate, n_mels, fmin, fmax, htk, norm, n_fft):
    x = _as2d(x, "mel")
    n_fft = n_fft or 2 * (x.shape[1] - 1)
    if n_fft // 2 + 1 != x.shape[1]:
        raise TinymlError(f"DSP block 'mel': input has {x.shape[1]} bins, n_fft={n_fft} needs {n_fft // 2 + 1}")
    fb = _mel_cached(float(rate), int(n_fft), int(n_mels), float(fmin), fmax or None, bool(htk), norm)
    return _mel(x, fb)


def _apply_log(x, rate, floor):
    return _log(_as2d(x, "log"), floor)


def _apply_dct(x, rate, n_out):
    x = _as2d(x, "dct")
    return _dct(x, n_out or None)


def _apply_mfcc(x, rate, length, hop, n_mfcc, n_mels, n_fft, window, fmin, fmax, htk, norm, log_floor):
    x = _as2d(x, "mfcc").astype(np.float32)
    length, hop = _frames_params(x, length, hop)
    outs = [
        _mfcc_frames(x[:, c], rate, length, hop, n_mfcc, n_mels, n_fft or None, window, fmin, fmax or None, htk,
                    norm, log_floor)
        for c in range(x.shape[1])
    ]
    return np.concatenate(outs, axis=1)


_LEN = (int, 0, "frame length in samples (0: the whole window)")
_HOP = (int, 0, "hop between frames in samples (0: = length)")
_NFFT = (int, 0, "FFT size, >= length, a power of two for the C twin (0: = length)")
_WIN = (str, "hann", "analysis window")

BLOCKS: dict[str, Block] = {
    b.name: b
    for b in [
        Block("resample", 1, "float32", {"rate_out": (float, REQUIRED, "output sample rate in Hz")},
              _resample, _apply_resample, rate_out=lambda rate, p: float(p["rate_out"]),
              doc="polyphase resampling (host only)"),
        Block("biquad", 1, "float32",
              {"kind": (str, "lowpass", "filter type"),
               "cutoff_hz": ((float, list), REQUIRED, "cutoff in Hz, or [lo, hi] for band filters"),
               "order": (int, 2, "Butterworth order")},
              _biquad, _apply_biquad, choices={"kind": BIQUAD_KINDS}, stream=True,
              doc="Butterworth biquad cascade, float32 TDF-II, zero initial state per window (in a stream: "
                  "from the first sample on)"),
        Block("envelope", 1, "float32",
              {"cutoff_hz": (float, REQUIRED, "lowpass cutoff in Hz"), "order": (int, 2, "Butterworth order")},
              _envelope, _apply_envelope, doc="|x| then a Butterworth lowpass, per channel, zero initial state"),
        Block("band_envelope", 1, "float32",
              {"channel": (int, 0, "input channel"),
               "band_hz": (list, REQUIRED, "the band [lo, hi] in Hz whose envelope is measured"),
               "order": (int, 2, "Butterworth order of the band-pass and of the low-pass"),
               "cutoff_hz": (float, REQUIRED, "low-pass cutoff of the rectified band in Hz"),
               "gain": (float, 1.0, "the envelope is multiplied by this (into the model input's range)")},
              _band_envelope, _apply_band_envelope, stream=True,
              doc="gain * lowpass(|bandpass(one channel)|) -> 1 feature, zero initial state (in a stream: from "
                  "the first sample on)"),
        Block("window", 1, "float32",
              {"kind": (str, "hann", "window shape"),
               "symmetric": (bool, False, "symmetric (filter design) instead of periodic (spectra)")},
              _window, _apply_window, choices={"kind": WINDOW_KINDS}, doc="multiply by a window along time"),
        Block("clip", 1, "float32",
              {"lo": (float, REQUIRED, "lowest value kept"), "hi": (float, REQUIRED, "highest value kept")},
              _clip, _apply_clip, stream=True, doc="saturate every value to [lo, hi]"),
        Block("select", 1, "float32", {"channels": (list, REQUIRED, "channel indices to keep, in order")},
              _select, _apply_select, stream=True, doc="keep some channels, in the given order"),
        Block("decimate", 1, "float32", {"factor": (int, REQUIRED, "keep one (mean) sample in `factor`")},
              _decimate, _apply_decimate, rate_out=lambda rate, p: float(rate) / int(p["factor"]),
              doc="mean of every `factor` samples (a boxcar low-pass and downsampling)"),
        Block("qrs_detect", 1, "int",
              {"channel": (int, 0, "input channel: a band-passed ECG in mV"),
               "band_hz": (list, [5.0, 15.0], "detection band-pass [lo, hi] in Hz (Pan-Tompkins: 5-15)"),
               "order": (int, 2, "Butterworth order of the detection band-pass"),
               "gain": (float, 200.0, "integer counts per mV into the detector"),
               "mwi_s": (float, 0.15, "moving-window integration length in seconds"),
               "refractory_s": (float, 0.2, "no second QRS within this time"),
               "twave_s": (float, 0.36, "a peak this soon after a QRS with half its slope is a T wave"),
               "learn_s": (float, 2.0, "learning period at the start (no beats reported)"),
               "search_s": (float, 0.25, "R-peak search span before the integrator's peak"),
               "ring_s": (float, 1.0, "history kept for the R-peak search (device RAM)"),
               "locate_s": (float, 0.075, "the R peak is sought this far before the QRS's steepest sample")},
              _qrs_detect, _apply_qrs_detect, stream=True,
              doc="streaming Pan-Tompkins QRS detector -> [rr_s (held R-R interval, s), lag (decided beat: "
                  "samples back to its R peak, else 0)]"),
        Block("magnitude", 1, "float32", {}, _magnitude, _apply_magnitude, stream=True,
              doc="sqrt of the sum of squares over channels -> 1 feature"),
        Block("magnitude_int", 1, "int", {}, _magnitude_int, _apply_magnitude_int,
              doc="int16 samples -> exact floor integer magnitude (int32) -> 1 feature"),
        Block("block_summary", 1, "float32",
              {"size": (int, 4, "samples per block (the window is 2 + size * blocks samples)"),
               "level": (int, 0, "channel whose level, range, step and glitch are summarized"),
               "level_center": (float, 0.0, "level feature = (mean - center) * scale"),
               "level_scale": (float, 1.0, "level feature = (mean - center) * scale"),
               "delta_scale": (float, 1.0, "range, step and glitch = signed sqrt(change / delta_scale)"),
               "sums": (list, [], "[channel, scale] pairs: sqrt(block sum / scale)"),
               "means": (list, [], "[channel, center, scale]: (block mean - center) / scale"),
               "missing": (float, -1.0, "a sum or mean over a block with a NaN sample"),
               "clip": (float, 3.0, "every feature is clipped to [-clip, clip]"),
               "resolution": (float, 0.0, "> 0: every feature rounded to this grid (0: not)"),
               "last": (bool, False, "also the block's newest sample, scaled as the level (after the glitch)"),
               "unchanged": (bool, False, "also the share of the block's readings equal to the one before (after last)")},
              _block_summary, _apply_block_summary, batched=True,
              doc="per block of samples: level, range, step, glitch (optionally newest reading, share unchanged) "
                  "of one channel, sums and means of others"),
        Block("stats", 1, "float32", {"names": (list, list(STAT_NAMES), "statistics to compute, in order")},
              _stats, _apply_stats, choices={"names": STAT_NAMES},
              doc="per-channel statistics -> [1, ch*len(names)]"),
        Block("fft_band_power", 3, "float32",
              {"bands": (list, REQUIRED, "list of [lo, hi] bands in Hz (lo <= f < hi)"), "window": _WIN,
               "length": (int, 0, "frame length for Welch's mean over frames (0: one frame, the whole window)"),
               "hop": (int, 0, "hop between frames in samples (0: = length)")},
              _fft_band_power, _apply_fft_band_power, choices={"window": WINDOW_KINDS},
              doc="band powers of the window (or the mean over its frames) per channel -> [1, ch*n_bands]"),
        Block("detrend", 1, "float32", {}, _detrend, _apply_detrend, doc="remove each channel's mean"),
        Block("symlog", 1, "float32", {}, _symlog, _apply_symlog, doc="sign(x) * ln(1 + |x|), elementwise"),
        Block("kurtosis_band", 1, "float32",
              {"bands": (list, REQUIRED, "candidate [lo, hi] bands in Hz"),
               "order": (int, 2, "Butterworth order of each band-pass"),
               "skip": (int, 0, "samples dropped at the start (the filters' start-up), output and kurtosis")},
              _kurtosis_band, _apply_kurtosis_band,
              doc="the window band-passed in the candidate band of highest kurtosis (spectral-kurtosis choice)"),
        Block("harmonic_energies", 1, "float32",
              {"base_hz": (float, REQUIRED, "base frequency in Hz (e.g. the shaft speed)"),
               "orders": (list, REQUIRED, "multiples of base_hz to look at"),
               "harmonics": (int, 1, "harmonics of each order (1: the order itself)"),
               "tolerance": (float, 0.03, "relative half-width of the search around each target (slip)"),
               "reference": (str, "absolute", "what the peak is measured against: nothing, its neighbourhood, "
                                              "the spectrum's mean"),
               "background": (float, 0.25, "relative half-width of the neighbourhood"),
               "floor": (float, 1e-12, "values below are raised to this before log")},
              _harmonic_energies, _apply_harmonic_energies, choices={"reference": HARMONIC_REFERENCES},
              doc="ln peak power at orders of a base frequency in power spectra -> [frames, orders*harmonics]"),
        Block("normalize", 1, "float32", {}, _normalize, _apply_normalize,
              doc="each row over its sum (band powers -> the spectrum's shape)"),
        Block("concat", 1, "float32", {"branches": (list, REQUIRED, "sub-chains, each a list of steps")},
              _apply_concat, _apply_concat, doc="run each branch on the input and join the outputs along features"),
        Block("spectrum", 2, "float32", {"length": _LEN, "hop": _HOP, "n_fft": _NFFT, "window": _WIN},
              _power_spectrum, _apply_spectrum, choices={"window": WINDOW_KINDS},
              doc="framed power spectrum -> [frames, ch*(n_fft/2+1)]"),
        Block("mel", 1, "float32",
              {"n_mels": (int, 40, "number of mel filters"),
               "fmin": (float, 0.0, "lowest frequency in Hz"),
               "fmax": (float, 0.0, "highest frequency in Hz (0: rate/2)"),
               "htk": (bool, False, "HTK mel scale instead of Slaney"),
               "norm": (str, "slaney", "filter normalisation"),
               "n_fft": (int, 0, "FFT size of the input spectrum (0: 2*(bins-1))")},
              _mel, _apply_mel, choices={"norm": MEL_NORMS}, doc="mel filterbank on a power spectrum"),
        Block("log", 2, "float32", {"floor": (float, 1e-10, "values below are raised to this before log")},
              _log, _apply_log, doc="natural log with a floor"),
        Block("dct", 1, "float32", {"n_out": (int, 0, "coefficients kept (0: all)")}, _dct, _apply_dct,
              doc="orthonormal DCT-II along features"),
        Block("mfcc", 2, "float32",
              {"length": _LEN, "hop": _HOP, "n_fft": _NFFT, "window": _WIN,
               "n_mfcc": (int, 13, "coefficients kept"), "n_mels": (int, 40, "mel filters"),
               "fmin": (float, 0.0, "lowest mel frequency in Hz"),
               "fmax": (float, 0.0, "highest mel frequency in Hz (0: rate/2)"),
               "htk": (bool, False, "HTK mel scale"), "norm": (str, "slaney", "mel filter normalisation"),
               "log_floor": (float, 1e-10, "floor before the log")},
              _mfcc, _apply_mfcc, choices={"window": WINDOW_KINDS, "norm": MEL_NORMS},
              doc="MFCC per frame -> [frames, ch*n_mfcc]"),
    ]
}


def describe_chain(chain, where: str = "features.chain") -> list[dict]:
    """Validated, canonical form of a chain (defaults filled, block versions added, concat branches
    described in turn): hash this."""
    out = []
    if not isinstance(chain, (list, tuple)):
        raise TinymlError(f"{where}: must be a list of steps")
    for i, step in enumerate(chain):
        if not isinstance(step, Mapping) or not isinstance(step.get("block"), str):
            raise TinymlError(f"{where}[{i}]: each step must be a table with a 'block' name")
        append = step.get("append", False)
        if not isinstance(append, bool):
            raise TinymlError(f"{where}[{i}] ({step['block']}): append must be true or false")
        params = validate_params(step["block"], step)
        if step["block"] == "concat":
            br = params["branches"]
            if not br or not all(isinstance(b, (list, tuple)) and b for b in br):
                raise TinymlError(f"{where}[{i}] (concat): branches must be a non-empty list of non-empty step lists")
            params = {"branches": [describe_chain(b, f"{where}[{i}].branches[{j}]") for j, b in enumerate(br)]}
        out.append({"block": step["block"], "version": BLOCKS[step["block"]].version, "append": append,
                    "params": params})
    return out


def chain_refs(chain) -> set[str]:
    """Every "@section.key" a chain names (inside concat branches too)."""
    refs: set[str] = set()

    def walk(v):
        if isinstance(v, str) and v.startswith(REF_PREFIX):
            refs.add(v[len(REF_PREFIX):])
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(x)
        elif isinstance(v, Mapping):
            for x in v.values():
                walk(x)

    walk(chain)
    return refs


def resolve_chain(chain, values: Mapping[str, Mapping[str, Any]], where: str = "features.chain"):
    """The chain with every "@section.key" replaced by values[section][key] (a number), then validated."""

    def sub(v):
        if isinstance(v, str) and v.startswith(REF_PREFIX):
            section, _, key = v[len(REF_PREFIX):].partition(".")
            table = values.get(section)
            if table is None or key not in table:
                have = ", ".join(f"{s}.{k}" for s, t in values.items() for k in t) or "none"
                raise TinymlError(f"{where}: {v} names no deployment value (have: {have})")
            x = table[key]
            if isinstance(x, bool) or not isinstance(x, (int, float)):
                raise TinymlError(f"{where}: {v} must be a number, got {x!r}")
            return float(x)
        if isinstance(v, list):
            return [sub(x) for x in v]
        if isinstance(v, Mapping):
            return {k: sub(x) for k, x in v.items()}
        return v

    out = sub(list(chain))
    describe_chain(out, where)  # the substituted values pass the blocks' schemas
    return out


def apply_chain(x: np.ndarray, rate: float, chain, values: Mapping[str, Mapping[str, Any]] | None = None,
                described: list[dict] | None = None) -> np.ndarray:
    """Run a manifest feature chain over one window x [time, channels]; returns [time', features].
    values: deployment values for "@section.key" parameters; described: describe_chain(the resolved
    chain), to skip validating it again (a chain run on thousands of windows)."""
    y = _as2d(x, "chain input")
    if described is None:
        if chain_refs(chain):
            if values is None:
                raise TinymlError(f"features.chain names deployment values ({', '.join(sorted(chain_refs(chain)))}) "
                                  "but none were given")
            chain = resolve_chain(chain, values)
        described = describe_chain(chain)
    return run_described(y, rate, described)


def run_described(y: np.ndarray, rate: float, described: list[dict]) -> np.ndarray:
    """apply_chain's loop over an already described (validated, resolved) chain."""
    for step in described:
        blk = BLOCKS[step["block"]]
        if step["block"] == "concat":
            out = _concat_described(y, rate, step["params"]["branches"])
        else:
            out = np.asarray(blk.apply(y, rate, **step["params"]))
        if out.ndim != 2:
            raise TinymlError(f"DSP block {blk.name!r} returned shape {out.shape}, expected 2-D")
        if step["append"]:
            if out.shape[0] != y.shape[0]:
                raise TinymlError(
                    f"DSP block {blk.name!r} with append=true: output has {out.shape[0]} rows, input {y.shape[0]}"
                )
            out = np.concatenate([y.astype(np.float32), out.astype(np.float32)], axis=1)
        if blk.rate_out is not None:
            rate = blk.rate_out(rate, step["params"])
        y = out
    return y


__all__ = ["BLOCKS", "Block", "REQUIRED", "STAT_NAMES", "apply_chain", "chain_refs", "describe_chain", "is_ref",
           "resolve_chain", "validate_params"]
