"""The golden int8 reference: TFLM's interpreter from the tflite-micro package.

The firmware must match it bit for bit, so predictions, evaluation and golden vectors all run through it.
"""

from __future__ import annotations

import faulthandler
import os
import re
import tempfile
from dataclasses import dataclass

import numpy as np

from .errors import TinymlError


@dataclass(frozen=True)
class QuantParams:
    scale: float
    zero_point: int
    shape: tuple[int, ...]


def tensor_quant(tflite_bytes: bytes) -> tuple[QuantParams, QuantParams]:
    """Input and output quantization (scale, zero point, shape) read by LiteRT's parser."""
    from ai_edge_litert.interpreter import Interpreter

    try:
        it = Interpreter(model_content=tflite_bytes)
    except (ValueError, RuntimeError) as e:
        raise TinymlError(f"not a valid .tflite model: {str(e).splitlines()[0]}") from None
    i, o = it.get_input_details()[0], it.get_output_details()[0]
    if i["dtype"] != np.int8 or o["dtype"] != np.int8:
        raise TinymlError(f"model must have int8 input and output, got {i['dtype'].__name__}/{o['dtype'].__name__}")
    return (
        QuantParams(float(i["quantization"][0]), int(i["quantization"][1]), tuple(int(d) for d in i["shape"])),
        QuantParams(float(o["quantization"][0]), int(o["quantization"][1]), tuple(int(d) for d in o["shape"])),
    )


def load_tflm(tflite_bytes: bytes, arena_size: int):
    """TFLM's interpreter over the model. TFLM aborts the whole process when a model fails one of its own
    checks (TFLITE_CHECK: e.g. a softmax whose input scale is too small for its fixed-point maths, as in an
    untrained deep net), so the model is first loaded in a forked child: such a model gets an error here."""
    try:
        from tflite_micro import runtime
    except ImportError:  # pragma: no cover
        raise TinymlError("the tflite-micro package is needed for the TFLM reference (pip install tflite-micro)") from None
    with tempfile.TemporaryFile() as err:
        pid = os.fork()
        if pid == 0:  # the child: load, say whether it worked, never return into the caller's code
            code = 1
            try:
                faulthandler.disable()  # its dump of the abort would go to the caller's stderr
                os.dup2(err.fileno(), 2)
                runtime.Interpreter.from_bytes(tflite_bytes, arena_size=arena_size)
                code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status):
            err.seek(0)
            said = [ln for ln in err.read().decode(errors="replace").splitlines() if ln.strip()]
            raise TinymlError("TFLM aborted loading the model (it fails one of TFLM's own checks)"
                              + (f": {said[-1].strip()}" if said else ""))
    try:
        return runtime.Interpreter.from_bytes(tflite_bytes, arena_size=arena_size)
    except (RuntimeError, ValueError) as e:
        raise TinymlError(f"TFLM could not load the model: {str(e).splitlines()[0]}") from None


class TflmModel:
    """One TFLM interpreter over an int8 model; invoke() takes and returns int8 arrays."""

    def __init__(self, tflite_bytes: bytes, arena_size: int = 256 * 1024):
        self.bytes = tflite_bytes
        self.input, self.output = tensor_quant(tflite_bytes)
        self._it = load_tflm(tflite_bytes, arena_size)

    def invoke(self, x_int8: np.ndarray) -> np.ndarray:
        x = np.asarray(x_int8, np.int8).reshape(self.input.shape)
        self._it.set_input(x, 0)
        self._it.invoke()
        out = np.array(self._it.get_output(0), np.int8).reshape(-1)
        self._it.reset()
        return out

    def invoke_batch(self, xs: np.ndarray) -> np.ndarray:
        if len(xs) == 0:
            return np.zeros((0, int(np.prod(self.output.shape))), np.int8)
        return np.stack([self.invoke(x) for x in xs])


def tflm_arena_bytes(tflite_bytes: bytes) -> int:
    """TFLM's arena need for this model, read from print_allocations() on fd 2 (64-bit host figure)."""
    it = load_tflm(tflite_bytes, 1 << 22)
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        saved = os.dup(2)
        try:
            os.dup2(tmp.fileno(), 2)
            it.print_allocations()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        text = tmp.read().decode(errors="replace")
    m = re.search(r"Arena allocation total (\d+) bytes", text)
    if not m:
        raise TinymlError("could not read TFLM's arena size from print_allocations()")
    return int(m.group(1))
