"""Edit a .tflite with TFLite's own flatbuffer object API (tests only): append ops the converter rarely
emits, e.g. an int8 -> int8 QUANTIZE (requantization) after the model output."""

from __future__ import annotations

import flatbuffers
import numpy as np


def append_requantize(tflite: bytes, scale: float, zero_point: int) -> bytes:
    from tensorflow.lite.python import schema_py_generated as s

    m = s.ModelT.InitFromObj(s.Model.GetRootAsModel(tflite, 0))
    g = m.subgraphs[0]
    out = g.tensors[g.outputs[0]]
    t = s.TensorT()
    t.shape = np.array(out.shape, dtype=np.int32)
    t.type = s.TensorType.INT8
    t.name = b"requantized"
    t.buffer = 0
    t.quantization = s.QuantizationParametersT()
    t.quantization.scale = [float(scale)]
    t.quantization.zeroPoint = [int(zero_point)]
    g.tensors.append(t)
    code = s.OperatorCodeT()
    code.builtinCode = s.BuiltinOperator.QUANTIZE
    code.deprecatedBuiltinCode = s.BuiltinOperator.QUANTIZE
    code.version = 1
    m.operatorCodes.append(code)
    op = s.OperatorT()
    op.opcodeIndex = len(m.operatorCodes) - 1
    op.inputs = np.array([g.outputs[0]], dtype=np.int32)
    op.outputs = np.array([len(g.tensors) - 1], dtype=np.int32)
    g.operators.append(op)
    g.outputs = np.array([len(g.tensors) - 1], dtype=np.int32)
    if m.signatureDefs:
        m.signatureDefs = []
    b = flatbuffers.Builder(len(tflite) + 1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def set_quantization(tflite: bytes, tensor: int, scale: float, zero_point: int) -> bytes:
    """The same model with tensor `tensor` quantized with (scale, zero_point): a narrow activation range
    (zero point above -128 under RELU) or a requantization the fast path cannot take (a tiny scale)."""
    from tensorflow.lite.python import schema_py_generated as s

    m = s.ModelT.InitFromObj(s.Model.GetRootAsModel(tflite, 0))
    q = m.subgraphs[0].tensors[tensor].quantization
    q.scale = [float(scale)]
    q.zeroPoint = [int(zero_point)]
    b = flatbuffers.Builder(len(tflite) + 1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())
