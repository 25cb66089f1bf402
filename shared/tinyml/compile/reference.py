"""The golden reference: the TFLM interpreter from the tflite-micro package (and TFLite BUILTIN_REF for
recording where the two differ). TFLM's arena figure comes from tinyml.reference.tflm_arena_bytes."""

from __future__ import annotations

import numpy as np

from ..reference import load_tflm, tflm_arena_bytes  # noqa: F401  (one measurement, shared with the model card)


class TflmModel:
    """TFLM over any model the compiler takes (float or int8 ends): the op-level parity reference."""

    def __init__(self, tflite_bytes: bytes, arena_size: int = 1 << 22):
        self.it = load_tflm(tflite_bytes, arena_size)

    def invoke(self, x: np.ndarray) -> np.ndarray:
        self.it.set_input(np.asarray(x, dtype=np.int8).reshape(self.it.get_input_details(0)["shape"]), 0)
        self.it.invoke()
        return np.array(self.it.get_output(0))

    def invoke_many(self, xs: np.ndarray) -> np.ndarray:
        return np.stack([self.invoke(x) for x in xs])


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
