"""The .tflite parser and the compiler front end must reject any malformed input with a one-line TinymlError:
never IndexError, struct.error, ValueError, a hang or a crash. Byte flips, truncation and hypothesis."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from specs import random_spec
from tinyml.compile import parse_tflite, zoo
from tinyml.compile.codegen import compile_model, emit
from tinyml.compile.lower import lower
from tinyml.errors import TinymlError


def front_end(data: bytes) -> None:
    """Everything that reads the file, up to emitting C (no C build)."""
    lw = lower(parse_tflite(data))
    plan = compile_model(lw)
    emit(lw, plan, "tml_model")


def expect_clean(data: bytes) -> None:
    try:
        front_end(data)
    except TinymlError as e:
        msg = str(e)
        assert msg and "\n" not in msg, f"error is not one line: {msg!r}"


@pytest.fixture(scope="module")
def models():
    return [zoo.tflite_for_spec(random_spec(s)) for s in (6, 14)] + [zoo.ds_cnn_tflite()]


def test_valid_models_compile(models):
    for m in models:
        front_end(m)


def test_truncation(models):
    for m in models:
        n = len(m)
        cuts = sorted({0, 1, 4, 7, 8, 12, 16, 32, n // 3, n // 2, n - 16, n - 1} |
                      set(np.random.default_rng(0).integers(0, n, 60).tolist()))
        for k in cuts:
            with pytest.raises(TinymlError):
                front_end(m[:k])


def test_byte_flips(models):
    rng = np.random.default_rng(1)
    for m in models:
        for _ in range(300):
            b = bytearray(m)
            for pos in rng.integers(0, len(b), int(rng.integers(1, 5))):
                b[pos] = int(rng.integers(0, 256))
            expect_clean(bytes(b))


def test_header_flips_are_rejected(models):
    m = models[0]
    for pos in range(0, 8):
        b = bytearray(m)
        b[pos] ^= 0xFF
        with pytest.raises(TinymlError):
            front_end(bytes(b))


def test_not_bytes():
    with pytest.raises(TinymlError):
        parse_tflite("model.tflite")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(min_size=0, max_size=256))
def test_random_bytes(data):
    expect_clean(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_hypothesis_mutations(models, data):
    m = bytearray(models[int(data.draw(st.integers(0, len(models) - 1)))])
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(m) - 1))
        kind = data.draw(st.sampled_from(["set", "u32", "cut", "insert"]))
        if kind == "set":
            m[pos] = data.draw(st.integers(0, 255))
        elif kind == "u32" and pos + 4 <= len(m):
            m[pos:pos + 4] = data.draw(st.integers(0, 2**32 - 1)).to_bytes(4, "little")
        elif kind == "cut":
            del m[pos:pos + data.draw(st.integers(1, 64))]
        else:
            m[pos:pos] = data.draw(st.binary(min_size=1, max_size=16))
    expect_clean(bytes(m))
