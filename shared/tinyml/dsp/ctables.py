"""Generated constants for the C twins: the tables a feature chain needs on the device, as C source.

Parity ladder step 1: windows, twiddles, filter coefficients, mel filterbanks and DCT matrices are
computed here, once, in Python, and emitted as C arrays with exact hexadecimal float literals, so the
firmware uses the very same float32 values as the numpy blocks (never a hand copy, never recomputed).

    tables = chain_tables(chain, rate=16000, window=16000, channels=1)   # {step: {name: array or scalar}}
    src = c_source(tables, prefix="tml_feat")                             # const arrays + #defines

Names are <prefix>_s<step>_<block>_<table>, e.g. tml_feat_s0_mfcc_window; steps inside a concat block's
branches are s<step>_b<branch>_<substep>, e.g. tml_feat_s0_b3_1_kurtosis_band_sos. See each block's entry
in BLOCK_TABLES for the tables and the C call they feed. A chain that names deployment values
("@machine.shaft_hz") is resolved first (tinyml.dsp.resolve_chain): blocks that use such values compute
from them at run time on the device (harmonic_energies), so their tables do not depend on them.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..errors import TinymlError
from .dct import dct_matrix
from .fft_band_power import band_bins, band_scale
from .mel import mel_filterbank, mel_sparse
from .spectrum import fft_twiddles
from .stats import STAT_NAMES
from .window import window as _window

_CTYPES = {
    np.dtype(np.float32): "float",
    np.dtype(np.int32): "int32_t",
    np.dtype(np.int16): "int16_t",
    np.dtype(np.uint8): "uint8_t",
    np.dtype(np.int8): "int8_t",
}


def c_literal(v, dtype) -> str:
    """One exact C literal: float32 as a hex float (0x1.8p+1f), integers in decimal."""
    if np.dtype(dtype) == np.float32:
        f = float(np.float32(v))
        if not np.isfinite(f):
            raise TinymlError(f"c_literal: non-finite float {f} cannot be a table constant")
        mant, exp = f.hex().split("p")
        return f"{mant.rstrip('0').rstrip('.')}p{exp}f"
    return str(int(v))


def c_array(name: str, arr, dtype=None, static: bool = True) -> str:
    """`static const <ctype> name[N] = {...};` (flattened, row-major; the shape goes in a comment)."""
    a = np.asarray(arr)
    if dtype is not None:
        a = a.astype(dtype)
    ctype = _CTYPES.get(a.dtype)
    if ctype is None:
        raise TinymlError(f"c_array: unsupported dtype {a.dtype} for {name}")
    flat = a.reshape(-1)
    if flat.size == 0:
        raise TinymlError(f"c_array: {name} is empty (C has no zero-length arrays)")
    body = ",\n    ".join(
        ", ".join(c_literal(v, a.dtype) for v in flat[i : i + 6]) for i in range(0, flat.size, 6)
    )
    shape = "x".join(map(str, a.shape)) or "scalar"
    return f"/* {shape} */\n{'static ' if static else ''}const {ctype} {name}[{flat.size}] = {{\n    {body}\n}};\n"


# ---- per-block tables: (input shape [time, features], rate, params) -> {name: array | scalar} ----


def _t_biquad(shape, rate, p):
    from .biquad import design_biquad

    sos = design_biquad(p["kind"], p["cutoff_hz"], rate, p["order"])
    return {"sos": sos, "n_sections": sos.shape[0]}  # tml_biquad_init(&f, sos, n_sections, state[2*n])


def _t_envelope(shape, rate, p):
    from .biquad import design_biquad

    sos = design_biquad("lowpass", p["cutoff_hz"], rate, p["order"])
    return {"sos": sos, "n_sections": sos.shape[0]}  # tml_biquad_init + tml_envelope


def _t_band_envelope(shape, rate, p):
    from .biquad import design_biquad

    band = design_biquad("bandpass", p["band_hz"], rate, p["order"])
    lp = design_biquad("lowpass", p["cutoff_hz"], rate, p["order"])
    return {"band_sos": band, "band_n_sections": band.shape[0], "lp_sos": lp, "lp_n_sections": lp.shape[0],
            "gain": float(p["gain"])}  # tml_band_envelope_init


def _t_window(shape, rate, p):
    return {"window": _window(p["kind"], shape[0], p["symmetric"])}  # tml_apply_window


def _t_stats(shape, rate, p):
    return {"which": np.array([STAT_NAMES.index(s) for s in p["names"]], np.uint8),
            "n_which": len(p["names"])}  # tml_stats


def _t_fft_band_power(shape, rate, p):
    n = p["length"] or shape[0]
    w = _window(p["window"], n)
    lo, hi = band_bins(n, rate, p["bands"])
    return {"window": w, "twiddles": fft_twiddles(n).reshape(-1), "band_lo": lo, "band_hi": hi,
            "n_bands": len(lo), "scale": band_scale(w), "length": n,
            "hop": p["hop"] or n}  # tml_fft_band_power (tml_fft_band_power_frames with length)


def _t_kurtosis_band(shape, rate, p):
    from .kurtosis_band import band_filters

    sos = np.stack(band_filters(p["bands"], rate, p["order"]))
    return {"sos": sos, "n_sections": sos.shape[1], "n_bands": sos.shape[0], "skip": p["skip"]}  # tml_kurtosis_band


def _frames(shape, p):
    length = p["length"] or shape[0]
    return length, (p["hop"] or length), (p["n_fft"] or length)


def _t_spectrum(shape, rate, p):
    length, hop, n_fft = _frames(shape, p)
    return {"window": _window(p["window"], length), "twiddles": fft_twiddles(n_fft).reshape(-1),
            "length": length, "hop": hop, "n_fft": n_fft}  # tml_power_spectrum per frame


def _mel_tables(rate, n_fft, p, fmax_key="fmax"):
    fb = mel_filterbank(rate, n_fft, p["n_mels"], p["fmin"], p[fmax_key] or None, p["htk"], p["norm"])
    start, count, weights = mel_sparse(fb)
    return {"mel_start": start, "mel_count": count, "mel_weights": weights, "n_mels": p["n_mels"]}


def _t_mel(shape, rate, p):
    n_fft = p["n_fft"] or 2 * (shape[1] - 1)
    return _mel_tables(rate, n_fft, p)  # tml_mel


def _t_log(shape, rate, p):
    return {"floor": np.float32(p["floor"])}  # tml_log


def _t_dct(shape, rate, p):
    n_out = p["n_out"] or shape[1]
    return {"matrix": dct_matrix(shape[1], n_out), "n_in": shape[1], "n_out": n_out}  # tml_dct


def _t_mfcc(shape, rate, p):
    length, hop, n_fft = _frames(shape, p)
    t = {"window": _window(p["window"], length), "twiddles": fft_twiddles(n_fft).reshape(-1),
         "length": length, "hop": hop, "n_fft": n_fft, "n_mfcc": p["n_mfcc"],
         "log_floor": np.float32(p["log_floor"]), "dct": dct_matrix(p["n_mels"], p["n_mfcc"])}
    t.update(_mel_tables(rate, n_fft, p))
    return t  # tml_mfcc per frame


BLOCK_TABLES: dict[str, Callable[[tuple, float, dict], dict[str, Any]]] = {
    "biquad": _t_biquad,
    "envelope": _t_envelope,
    "band_envelope": _t_band_envelope,
    "window": _t_window,
    "stats": _t_stats,
    "fft_band_power": _t_fft_band_power,
    "spectrum": _t_spectrum,
    "mel": _t_mel,
    "log": _t_log,
    "dct": _t_dct,
    "mfcc": _t_mfcc,
    "magnitude": lambda s, r, p: {},
    "magnitude_int": lambda s, r, p: {},
    "clip": lambda s, r, p: {},  # tml_clip(x, n, lo, hi, out): the bounds come from app_config.h
    "select": lambda s, r, p: {"channels": np.asarray(p["channels"], np.int32), "n": len(p["channels"])},
    "decimate": lambda s, r, p: {},  # tml_decimate(x, n, ch, factor, out): the factor comes from app_config.h
    "qrs_detect": lambda s, r, p: _qrs_tables(r, p),  # a tml_qrs_detect_config
    "kurtosis_band": _t_kurtosis_band,
    "detrend": lambda s, r, p: {},  # tml_detrend
    "symlog": lambda s, r, p: {},  # tml_symlog
    "normalize": lambda s, r, p: {},  # tml_normalize
    "harmonic_energies": lambda s, r, p: {},  # tml_harmonic_energies: every value at run time
    "concat": lambda s, r, p: {},  # its branches' steps carry the tables
}


def _qrs_tables(rate, p):
    from . import qrs_params_config

    return qrs_params_config(rate, p).tables()


def chain_tables(chain, rate: float, window: int, channels: int, values=None) -> list[dict[str, Any]]:
    """Tables of every step of a feature chain, in order ({} for steps that need none; a concat step
    has "branches": the tables of each branch's steps).

    Shapes are found by running the chain on a zero window [window, channels]; a host-only block
    (resample) raises TinymlError. values: deployment values for "@section.key" parameters.
    """
    from . import chain_refs, describe_chain, resolve_chain

    if chain_refs(chain):
        if values is None:
            raise TinymlError("chain_tables: the chain names deployment values; pass them")
        chain = resolve_chain(chain, values)
    return _tables(describe_chain(chain), np.zeros((window, channels), np.float32), float(rate), "features.chain")[0]


def _tables(described, x, rate, where):
    from . import BLOCKS, run_described

    out = []
    for i, step in enumerate(described):
        name = step["block"]
        if name not in BLOCK_TABLES:
            raise TinymlError(f"{where}[{i}]: block {name!r} has no C twin (host only)")
        entry = {"block": name, "tables": BLOCK_TABLES[name](x.shape, rate, step["params"])}
        if name == "concat":
            entry["branches"] = [_tables(b, x, rate, f"{where}[{i}].branches[{j}]")[0]
                                 for j, b in enumerate(step["params"]["branches"])]
        out.append(entry)
        y = run_described(x, rate, [step]).astype(np.float32)
        rate = BLOCKS[name].rate_out(rate, step["params"]) if BLOCKS[name].rate_out else rate
        x = y
    return out, x


def has_tables(tables: list[dict[str, Any]]) -> bool:
    return any(step["tables"] or any(has_tables(b) for b in step.get("branches", ())) for step in tables)


def c_source(tables: list[dict[str, Any]], prefix: str = "tml_feat", static: bool = True,
             include: str | None = None, more: tuple = ()) -> str:
    """C source text for chain_tables(...): const arrays for arrays, #defines for scalars.
    include: a header (c_header's) to include first, so the compiler checks the declarations.
    more: further (tables, prefix) pairs in the same file (e.g. the stream stage's, prefix tml_stream)."""
    lines = ["/* Generated by tinyml.dsp.ctables from the feature chain; do not edit. */", "#include <stdint.h>", ""]
    if include:
        lines[2:2] = [f'#include "{include}"']
    for part, pre in ((tables, prefix), *more):
        for name, a, scalar in _all_entries(part, pre):
            lines.append(scalar if scalar else c_array(name, a, static=static))
        lines.append("")
    return "\n".join(lines)


def _all_entries(tables: list[dict[str, Any]], prefix: str, path: str = "s"):
    """(C name, array, scalar #define or None) for every table of every step, concat branches included."""
    for i, step in enumerate(tables):
        yield from _entries(step, f"{path}{i}", prefix)
        for j, branch in enumerate(step.get("branches", ())):
            yield from _all_entries(branch, prefix, f"{path}{i}_b{j}_")


def _entries(step: dict[str, Any], where: str, prefix: str):
    """(C name, array, scalar #define or None) for each table of one chain step."""
    for key, v in step["tables"].items():
        name = f"{prefix}_{where}_{step['block']}_{key}"
        a = np.asarray(v)
        scalar = None
        if a.ndim == 0:
            lit = c_literal(a, np.float32) if a.dtype.kind == "f" else str(int(a))
            scalar = f"#define {name.upper()} {lit}"
        yield name, a, scalar


def c_header(tables: list[dict[str, Any]], prefix: str = "tml_feat", guard: str = "TML_FEATURES_TABLES_H",
             more: tuple = ()) -> str:
    """The header for c_source(..., static=False): extern declarations, a <NAME>_LEN per array, #defines
    for scalars (the same names, upper case)."""
    lines = ["/* Generated by tinyml.dsp.ctables from the feature chain; do not edit. */", f"#ifndef {guard}",
             f"#define {guard}", "", "#include <stdint.h>", ""]
    for name, a, scalar in (e for part, pre in ((tables, prefix), *more) for e in _all_entries(part, pre)):
        if scalar:
            lines.append(scalar)
        else:
            ctype = _CTYPES.get(a.dtype)
            if ctype is None:
                raise TinymlError(f"c_header: unsupported dtype {a.dtype} for {name}")
            lines.append(f"#define {name.upper()}_LEN {a.size}")
            lines.append(f"extern const {ctype} {name}[{a.size}];")
    lines += ["", "#endif", ""]
    return "\n".join(lines)
