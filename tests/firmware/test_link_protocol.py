"""The link protocol itself: CRC check values, Python encoder/decoder, and the C receiver and
encoder (built as a host library) agreeing with Python byte for byte."""

from __future__ import annotations

import ctypes
import struct

import numpy as np
import pytest
from fwtest import SRC, need

from tinyml.cbuild import build_shared_lib, load_shared_lib
from tinyml.device import link as L
from tinyml.paths import firmware_dir


def test_crc_check_values():
    assert L.crc16(b"123456789") == 0x29B1  # CRC-16/CCITT-FALSE
    assert L.crc8(b"123456789") == 0xF4  # CRC-8 (poly 0x07)


def test_encode_layout():
    f = L.encode(L.T.END)
    assert f[:2] == b"\xa5\x5a" and f[2] == L.T.END and f[3:5] == b"\x00\x00" and len(f) == L.OVERHEAD
    f = L.samples_frame(7, np.array([[1.5, -2.0]], np.float32))
    assert struct.unpack_from("<I", f, 6)[0] == 7
    assert np.frombuffer(f[10:-2], "<f4").tolist() == [1.5, -2.0]
    with pytest.raises(ValueError):
        L.encode(L.T.LOG, b"x" * (L.MAX_PAYLOAD + 1))


def _frames(rng, n):
    out = []
    for _ in range(n):
        t = int(rng.choice([0x01, 0x02, 0x82, 0x85, 0x87, int(rng.integers(0, 256))]))
        p = rng.integers(0, 256, int(rng.integers(0, 300)), dtype=np.uint8).tobytes()
        out.append((t, p))
    return out


def test_decoder_recovers_frames_around_noise_and_corruption():
    rng = np.random.default_rng(1)
    frames = _frames(rng, 60)
    stream = bytearray()
    expected = []
    for i, (t, p) in enumerate(frames):
        f = bytearray(L.encode(t, p))
        if i % 5 == 3:  # corrupt a payload or header byte: this frame must be dropped and counted
            f[int(rng.integers(2, len(f)))] ^= 0x40
        else:
            expected.append((t, p))
        stream += f
        stream += bytes(rng.integers(0, 0xA0, int(rng.integers(0, 20)), dtype=np.uint8))  # noise without sync
    dec = L.Decoder()
    got = []
    for k in range(0, len(stream), 37):  # arbitrary chunking
        got += [(f.type, f.payload) for f in dec.feed(bytes(stream[k : k + 37]))]
    assert got == expected
    assert dec.faults >= 1 and len(dec.noise) > 0


def test_decoder_refuses_oversize_headers():
    dec = L.Decoder()
    hdr = struct.pack("<BH", 0x82, 4000)
    assert dec.feed(L.SYNC + hdr + bytes([L.crc8(hdr)]) + b"\0" * 10 + L.encode(0x87, b"ok")) == [L.Frame(0x87, b"ok")]
    assert dec.faults == 1


@pytest.fixture(scope="module")
def clink():
    need("gcc")
    rt = firmware_dir() / "runtime"
    lib = build_shared_lib("tml_link_harness", [rt / "link" / "tml_link.c", firmware_dir() / "port" / "tml_port_weak.c",
                                                SRC / "link_harness.c"], [rt, firmware_dir() / "port"])
    c = load_shared_lib(lib)
    c.tml_crc16_ccitt.restype = ctypes.c_uint16
    c.tml_crc8.restype = ctypes.c_uint8
    c.tml_link_encode.restype = ctypes.c_size_t
    c.harness_faults.restype = ctypes.c_uint32
    return c


def test_c_encoder_matches_python(clink):
    rng = np.random.default_rng(2)
    out = ctypes.create_string_buffer(L.MAX_PAYLOAD + L.OVERHEAD)
    for t, p in _frames(rng, 50):
        n = clink.tml_link_encode(out, len(out), t, p, len(p))
        assert out.raw[:n] == L.encode(t, p)
    assert clink.tml_link_encode(out, 4, 1, b"abc", 3) == 0  # too small a buffer: refused, not overflowed
    assert clink.tml_crc16_ccitt(0xFFFF, b"123456789", 9) == 0x29B1
    assert clink.tml_crc8(0, b"123456789", 9) == 0xF4


def _c_feed(clink, data: bytes):
    frames = (ctypes.c_uint32 * 3000)()
    errs = (ctypes.c_int32 * 3000)()
    ne = ctypes.c_int()
    nf = clink.harness_feed(data, len(data), frames, 1000, errs, 3000, ctypes.byref(ne))
    return [tuple(frames[3 * i : 3 * i + 3]) for i in range(nf)], list(errs[: ne.value])


def test_c_receiver_agrees_with_python(clink):
    rng = np.random.default_rng(3)
    stream = bytearray()
    expected = []
    for i, (t, p) in enumerate(_frames(rng, 80)):
        f = bytearray(L.encode(t, p))
        if i % 4 == 1:
            f[int(rng.integers(6, len(f)))] ^= 0x01  # payload or crc corruption -> CRC error
        else:
            expected.append((t, len(p), L.crc16(p)))
        stream += f
        if i % 7 == 0:
            stream += rng.integers(0, 0xA0, 30, dtype=np.uint8).tobytes() + b"\0" * L.OVERHEAD
    got, errs = _c_feed(clink, bytes(stream))
    assert got == expected
    assert errs and set(errs) == {L.E.CRC}
    py = [(f.type, len(f.payload), L.crc16(f.payload)) for f in L.Decoder().feed(bytes(stream))]
    assert py == expected


def test_c_receiver_survives_random_bytes(clink):
    rng = np.random.default_rng(4)
    junk = rng.integers(0, 256, 200_000, dtype=np.uint8).tobytes()
    junk = junk.replace(b"\x5a", b"\x5a\xa5\x5a")  # many syncs
    tail = L.encode(0x87, b"after the storm")
    got, errs = _c_feed(clink, junk + b"\0" * L.OVERHEAD + tail)
    assert got[-1] == (0x87, len(b"after the storm"), L.crc16(b"after the storm"))
    assert set(errs) <= {L.E.CRC, L.E.HEADER, L.E.OVERSIZE}
    assert L.E.OVERSIZE in errs and L.E.HEADER in errs
    assert clink.harness_faults() == len(errs)
