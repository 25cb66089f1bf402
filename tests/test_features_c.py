"""The window schedule and the int8 input quantization agree between tinyml.features and tml_features.c."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyml.cbuild import build_shared_lib
from tinyml.features import quantize_input
from tinyml.paths import firmware_dir

RT = firmware_dir() / "runtime"


class _Sched(ctypes.Structure):
    _fields_ = [("seen", ctypes.c_uint32), ("since", ctypes.c_uint32)]


@pytest.fixture(scope="module")
def lib():
    lib = ctypes.CDLL(str(build_shared_lib("tml_features", [RT / "features" / "tml_features.c"], [RT])))
    lib.tml_quantize_input.argtypes = [ctypes.POINTER(ctypes.c_float), ctypes.c_int, ctypes.c_float, ctypes.c_int32,
                                       ctypes.POINTER(ctypes.c_int8)]
    lib.tml_window_due.argtypes = [ctypes.POINTER(_Sched), ctypes.c_uint32, ctypes.c_uint32]
    return lib


def _c_quantize(lib, x, scale, zp):
    x = np.ascontiguousarray(x, np.float32)
    out = np.empty(x.size, np.int8)
    lib.tml_quantize_input(x.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), x.size, scale, zp,
                           out.ctypes.data_as(ctypes.POINTER(ctypes.c_int8)))
    return out


@settings(max_examples=60, deadline=None)
@given(scale=st.floats(0.0001220703125, 8.0, width=32), zp=st.integers(-128, 127), seed=st.integers(0, 2**31))
def test_quantize_bit_exact(lib, scale, zp, seed):
    rng = np.random.default_rng(seed)
    x = (rng.normal(size=2000) * rng.uniform(0.01, 500) * scale).astype(np.float32)
    # exact half steps and huge values: the rounding and saturation edges
    x[:6] = np.float32(scale) * np.float32([0.5, -0.5, 1.5, -2.5, 1e9, -1e9])
    np.testing.assert_array_equal(_c_quantize(lib, x, scale, zp), quantize_input(x, scale, zp))


@pytest.mark.parametrize("window, hop", [(200, 25), (64, 16), (49, 1), (10, 10), (16, 32), (1, 1)])
def test_window_schedule_matches_window_starts(lib, window, hop):
    from types import SimpleNamespace

    from tinyml.features import FeatureExtractor

    n = 1000
    fx = SimpleNamespace(window=window, hop=hop)
    fx.n_windows = lambda k: FeatureExtractor.n_windows(fx, k)
    expected = (FeatureExtractor.window_starts(fx, n) + window).tolist()
    s = _Sched()
    due = [i + 1 for i in range(n) if lib.tml_window_due(ctypes.byref(s), window, hop)]
    assert due == expected
