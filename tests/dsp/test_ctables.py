import ctypes

import numpy as np
import pytest

from tinyml.cbuild import build_shared_lib, load_shared_lib
from tinyml.dsp.biquad import design_biquad
from tinyml.dsp.ctables import c_array, c_literal, c_source, chain_tables
from tinyml.dsp.dct import dct_matrix
from tinyml.dsp.mel import mel_filterbank, mel_sparse
from tinyml.dsp.spectrum import fft_twiddles
from tinyml.dsp.window import window
from tinyml.errors import TinymlError

_CT = {np.float32: ctypes.c_float, np.int32: ctypes.c_int32, np.uint8: ctypes.c_uint8}


def test_literals_are_exact():
    for v in [0.0, -0.0, 1.0, -1.5, 1e-45, 3.4028235e38, 0.1, np.pi]:
        f = np.float32(v)
        lit = c_literal(f, np.float32)
        assert lit.endswith("f") and "p" in lit
        assert np.float32(float.fromhex(lit[:-1])) == f and np.signbit(np.float32(float.fromhex(lit[:-1]))) == np.signbit(f)
    assert c_literal(np.int32(-7), np.int32) == "-7"
    with pytest.raises(TinymlError, match="non-finite"):
        c_literal(np.inf, np.float32)
    with pytest.raises(TinymlError, match="empty"):
        c_array("x", np.zeros(0, np.float32))


def _compile(tmp_path, src, name, extra=""):
    path = tmp_path / f"{name}.c"
    path.write_text(src + extra)
    return load_shared_lib(build_shared_lib(name, [path]))


def _read(lib, name, ref):
    ref = np.asarray(ref)
    arr = (_CT[ref.dtype.type] * ref.size).in_dll(lib, name)
    return np.ctypeslib.as_array(arr).reshape(ref.shape)


def test_imu_chain_tables_round_trip_through_the_compiler(tmp_path):
    chain = [{"block": "biquad", "kind": "bandpass", "cutoff_hz": [0.5, 15.0], "order": 2},
             {"block": "magnitude", "append": True},
             {"block": "fft_band_power", "bands": [[0, 3], [3, 8], [8, 25]]},
             ]
    t = chain_tables(chain, 50.0, 128, 3)
    assert [s["block"] for s in t] == ["biquad", "magnitude", "fft_band_power"]
    src = c_source(t, "tml_feat", static=False)
    lib = _compile(tmp_path, src, "ctables_imu", "\nfloat get_scale(void) { return TML_FEAT_S2_FFT_BAND_POWER_SCALE; }\n"
                                       "int get_nb(void) { return TML_FEAT_S2_FFT_BAND_POWER_N_BANDS; }\n")
    np.testing.assert_array_equal(_read(lib, "tml_feat_s0_biquad_sos", t[0]["tables"]["sos"]),
                                  design_biquad("bandpass", [0.5, 15.0], 50.0, 2))
    for key in ("window", "twiddles", "band_lo", "band_hi"):
        ref = t[2]["tables"][key]
        got = _read(lib, f"tml_feat_s2_fft_band_power_{key}", ref)
        assert got.dtype == ref.dtype
        np.testing.assert_array_equal(got, ref)
    np.testing.assert_array_equal(t[2]["tables"]["window"], window("hann", 128))
    lib.get_scale.restype = ctypes.c_float
    assert np.float32(lib.get_scale()) == t[2]["tables"]["scale"]
    assert lib.get_nb() == 3


def test_mfcc_chain_tables_match_the_blocks(tmp_path):
    chain = [{"block": "mfcc", "length": 480, "hop": 320, "n_fft": 512, "n_mels": 40, "n_mfcc": 10, "fmin": 20.0}]
    t = chain_tables(chain, 16000.0, 16000, 1)[0]["tables"]
    lib = _compile(tmp_path, c_source([{"block": "mfcc", "tables": t}], "kws", static=False), "ctables_kws")
    start, count, w = mel_sparse(mel_filterbank(16000.0, 512, 40, 20.0))
    for key, ref in [("window", window("hann", 480)), ("twiddles", fft_twiddles(512).reshape(-1)),
                     ("mel_start", start), ("mel_count", count), ("mel_weights", w), ("dct", dct_matrix(40, 10))]:
        np.testing.assert_array_equal(_read(lib, f"kws_s0_mfcc_{key}", ref), ref)
    assert (t["length"], t["hop"], t["n_fft"], t["n_mfcc"], t["n_mels"]) == (480, 320, 512, 10, 40)


def test_host_only_block_is_rejected():
    with pytest.raises(TinymlError, match=r"chain\[0\]: block 'resample' has no C twin"):
        chain_tables([{"block": "resample", "rate_out": 25.0}], 50.0, 128, 3)
