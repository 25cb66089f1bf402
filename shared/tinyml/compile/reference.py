"""The golden reference: the TFLM interpreter from the tflite-micro package (and TFLite BUILTIN_REF for
recording where the two differ). Also measures TFLM's arena via print_allocations() on fd 2."""

from __future__ import annotations

import os
import re
import tempfile

import numpy as np

from ..errors import TinymlError


def _runtime():
    try:
        from tflite_micro import runtime
    except ImportError as e:  # pragma: no cover
        raise TinymlError("the tflite-micro package is needed for the TFLM reference (pip install tflite-micro)") from e
    return runtime


class TflmModel:
    def __init__(self, tflite_bytes: bytes, arena_size: int = 1 << 22):
        self.it = _runtime().Interpreter.from_bytes(tflite_bytes, arena_size=arena_size)

    def invoke(self, x: np.ndarray) -> np.ndarray:
        self.it.set_input(np.asarray(x, dtype=np.int8).reshape(self.it.get_input_details(0)["shape"]), 0)
        self.it.invoke()
        return np.array(self.it.get_output(0))

    def invoke_many(self, xs: np.ndarray) -> np.ndarray:
        return np.stack([self.invoke(x) for x in xs])


def tflm_arena_bytes(tflite_bytes: bytes) -> int:
    """Total arena TFLM allocates for the model (64-bit host figure), from print_allocations() on fd 2."""
    it = _runtime().Interpreter.from_bytes(tflite_bytes, arena_size=1 << 22)
    with tempfile.TemporaryFile(mode="w+b") as f:
        saved = os.dup(2)
        try:
            os.dup2(f.fileno(), 2)
            it.print_allocations()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        f.seek(0)
        text = f.read().decode(errors="replace")
    m = re.search(r"Arena allocation total (\d+) bytes", text)
    if not m:
        raise TinymlError("could not read TFLM's arena size from print_allocations()")
    return int(m.group(1))


class TfliteRefModel:
    """TFLite with BUILTIN_REF kernels (never XNNPACK)."""

    def __init__(self, tflite_bytes: bytes):
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        self.it = Interpreter(model_content=tflite_bytes,
                              experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
        self.it.allocate_tensors()
        self.inp = self.it.get_input_details()[0]
        self.out = self.it.get_output_details()[0]

    def invoke(self, x: np.ndarray) -> np.ndarray:
        self.it.set_tensor(self.inp["index"], np.asarray(x, dtype=np.int8).reshape(self.inp["shape"]))
        self.it.invoke()
        return self.it.get_tensor(self.out["index"]).copy()
