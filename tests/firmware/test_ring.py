"""tml_ring.h: the byte FIFO (UART receive) and the float sample ring (sliding windows), against a
Python model, built as a host library."""

from __future__ import annotations

import ctypes
from collections import deque

import numpy as np
import pytest
from fwtest import need

from tinyml.cbuild import build_shared_lib, load_shared_lib
from tinyml.paths import firmware_dir


class RingU8(ctypes.Structure):
    _fields_ = [("buf", ctypes.c_void_p), ("mask", ctypes.c_uint32), ("head", ctypes.c_uint32),
                ("tail", ctypes.c_uint32), ("dropped", ctypes.c_uint32)]


class RingF32(ctypes.Structure):
    _fields_ = [("buf", ctypes.c_void_p), ("frames", ctypes.c_uint32), ("channels", ctypes.c_uint32),
                ("head", ctypes.c_uint32), ("count", ctypes.c_uint32), ("total", ctypes.c_uint32)]


@pytest.fixture(scope="module")
def ring():
    need("gcc")
    rt = firmware_dir() / "runtime"
    lib = load_shared_lib(build_shared_lib("tml_ring", [rt / "tml_ring.c"], [rt]))
    lib.tml_ring_u8_read.restype = ctypes.c_size_t
    lib.tml_ring_f32_at.restype = ctypes.c_float
    return lib


def test_u8_ring_is_a_bounded_fifo(ring):
    r = RingU8()
    store = (ctypes.c_uint8 * 16)()
    assert ring.tml_ring_u8_init(ctypes.byref(r), store, 12) == -1  # not a power of two
    assert ring.tml_ring_u8_init(ctypes.byref(r), store, 16) == 0
    model: deque[int] = deque()
    rng = np.random.default_rng(0)
    out = (ctypes.c_uint8 * 64)()
    dropped = 0
    for step in range(2000):
        for _ in range(int(rng.integers(0, 9))):
            b = int(rng.integers(0, 256))
            ok = ring.tml_ring_u8_put(ctypes.byref(r), b)
            if len(model) < 16:
                assert ok == 1
                model.append(b)
            else:
                assert ok == 0
                dropped += 1
        want = int(rng.integers(0, 9))
        n = ring.tml_ring_u8_read(ctypes.byref(r), out, want)
        assert list(out[:n]) == [model.popleft() for _ in range(min(want, len(model)))]
        assert ring.tml_ring_u8_count(ctypes.byref(r)) == len(model)
    assert r.dropped == dropped > 0


def test_f32_ring_windows(ring):
    frames, ch = 7, 3
    r = RingF32()
    store = (ctypes.c_float * (frames * ch))()
    assert ring.tml_ring_f32_init(ctypes.byref(r), store, frames, ch) == 0
    hist = []
    out = (ctypes.c_float * (frames * ch))()
    rng = np.random.default_rng(1)
    for i in range(40):
        s = rng.normal(size=ch).astype(np.float32)
        hist.append(s)
        ring.tml_ring_f32_push(ctypes.byref(r), s.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        for n in range(1, frames + 1):
            rc = ring.tml_ring_f32_window(ctypes.byref(r), out, n)
            if n > len(hist):
                assert rc == -1
                continue
            assert rc == 0
            got = np.frombuffer(out, np.float32)[: n * ch].reshape(n, ch)
            assert np.array_equal(got, np.stack(hist[-n:]))
        assert ring.tml_ring_f32_at(ctypes.byref(r), 0, 2) == hist[-1][2]
        assert ring.tml_ring_f32_at(ctypes.byref(r), frames, 0) == 0.0  # out of range
    assert r.total == 40 and r.count == frames
    ring.tml_ring_f32_reset(ctypes.byref(r))
    assert ring.tml_ring_f32_window(ctypes.byref(r), out, 1) == -1
