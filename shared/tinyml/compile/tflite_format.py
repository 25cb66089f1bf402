"""A bounds-checked reader for the TFLite flatbuffer (schema v3), written by hand with `struct`.

Only what the compiler needs is read: tensors (shape, type, buffer, quantization), operators with their
builtin options, the subgraph's inputs/outputs and the buffers. Every offset is checked against the file,
so a malformed or truncated file raises a one-line TinymlError and never IndexError/struct.error.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field

from ..errors import TinymlError

OP_NAMES = (
    'ADD', 'AVERAGE_POOL_2D', 'CONCATENATION', 'CONV_2D', 'DEPTHWISE_CONV_2D', 'DEPTH_TO_SPACE', 'DEQUANTIZE',
    'EMBEDDING_LOOKUP', 'FLOOR', 'FULLY_CONNECTED', 'HASHTABLE_LOOKUP', 'L2_NORMALIZATION', 'L2_POOL_2D',
    'LOCAL_RESPONSE_NORMALIZATION', 'LOGISTIC', 'LSH_PROJECTION', 'LSTM', 'MAX_POOL_2D', 'MUL', 'RELU',
    'RELU_N1_TO_1', 'RELU6', 'RESHAPE', 'RESIZE_BILINEAR', 'RNN', 'SOFTMAX', 'SPACE_TO_DEPTH', 'SVDF', 'TANH',
    'CONCAT_EMBEDDINGS', 'SKIP_GRAM', 'CALL', 'CUSTOM', 'EMBEDDING_LOOKUP_SPARSE', 'PAD',
    'UNIDIRECTIONAL_SEQUENCE_RNN', 'GATHER', 'BATCH_TO_SPACE_ND', 'SPACE_TO_BATCH_ND', 'TRANSPOSE', 'MEAN', 'SUB',
    'DIV', 'SQUEEZE', 'UNIDIRECTIONAL_SEQUENCE_LSTM', 'STRIDED_SLICE', 'BIDIRECTIONAL_SEQUENCE_RNN', 'EXP',
    'TOPK_V2', 'SPLIT', 'LOG_SOFTMAX', 'DELEGATE', 'BIDIRECTIONAL_SEQUENCE_LSTM', 'CAST', 'PRELU', 'MAXIMUM',
    'ARG_MAX', 'MINIMUM', 'LESS', 'NEG', 'PADV2', 'GREATER', 'GREATER_EQUAL', 'LESS_EQUAL', 'SELECT', 'SLICE',
    'SIN', 'TRANSPOSE_CONV', 'SPARSE_TO_DENSE', 'TILE', 'EXPAND_DIMS', 'EQUAL', 'NOT_EQUAL', 'LOG', 'SUM', 'SQRT',
    'RSQRT', 'SHAPE', 'POW', 'ARG_MIN', 'FAKE_QUANT', 'REDUCE_PROD', 'REDUCE_MAX', 'PACK', 'LOGICAL_OR',
    'ONE_HOT', 'LOGICAL_AND', 'LOGICAL_NOT', 'UNPACK', 'REDUCE_MIN', 'FLOOR_DIV', 'REDUCE_ANY', 'SQUARE',
    'ZEROS_LIKE', 'FILL', 'FLOOR_MOD', 'RANGE', 'RESIZE_NEAREST_NEIGHBOR', 'LEAKY_RELU', 'SQUARED_DIFFERENCE',
    'MIRROR_PAD', 'ABS', 'SPLIT_V', 'UNIQUE', 'CEIL', 'REVERSE_V2', 'ADD_N', 'GATHER_ND', 'COS', 'WHERE', 'RANK',
    'ELU', 'REVERSE_SEQUENCE', 'MATRIX_DIAG', 'QUANTIZE', 'MATRIX_SET_DIAG', 'ROUND', 'HARD_SWISH', 'IF', 'WHILE',
    'NON_MAX_SUPPRESSION_V4', 'NON_MAX_SUPPRESSION_V5', 'SCATTER_ND', 'SELECT_V2', 'DENSIFY', 'SEGMENT_SUM',
    'BATCH_MATMUL',
)
OP = {n: i for i, n in enumerate(OP_NAMES)}

# TensorType enum
FLOAT32, FLOAT16, INT32, UINT8, INT64, STRING, BOOL, INT16, COMPLEX64, INT8, FLOAT64 = range(11)
TYPE_NAMES = {0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 5: "string", 6: "bool", 7: "int16",
              8: "complex64", 9: "int8", 10: "float64", 11: "complex128", 12: "uint64", 13: "resource",
              14: "variant", 15: "uint32", 16: "uint16", 17: "int4"}
TYPE_SIZE = {0: 4, 1: 2, 2: 4, 3: 1, 4: 8, 6: 1, 7: 2, 9: 1, 10: 8}

ACT_NONE, ACT_RELU, ACT_RELU_N1_TO_1, ACT_RELU6 = 0, 1, 2, 3
ACT_NAMES = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}
PAD_SAME, PAD_VALID = 0, 1


def op_name(code: int) -> str:
    return OP_NAMES[code] if 0 <= code < len(OP_NAMES) else f"BUILTIN_{code}"


def _bad(msg: str) -> TinymlError:
    return TinymlError(f"malformed .tflite: {msg}")


class _Reader:
    def __init__(self, data: bytes):
        self.d = data
        self.n = len(data)

    def need(self, pos: int, size: int, what: str) -> None:
        if pos < 0 or size < 0 or pos + size > self.n:
            raise _bad(f"{what} at byte {pos} (+{size}) lies outside the file ({self.n} bytes; truncated?)")

    def unpack(self, fmt: str, pos: int, what: str):
        size = struct.calcsize(fmt)
        self.need(pos, size, what)
        return struct.unpack_from(fmt, self.d, pos)


class _Table:
    """One flatbuffer table: a position and its vtable, with checked field access."""

    def __init__(self, r: _Reader, pos: int, what: str):
        self.r, self.pos, self.what = r, pos, what
        (soff,) = r.unpack("<i", pos, f"{what} table")
        self.vt = pos - soff
        self.vt_size, self.obj_size = r.unpack("<HH", self.vt, f"{what} vtable")
        if self.vt_size < 4 or self.vt_size % 2:
            raise _bad(f"{what} vtable has an invalid size {self.vt_size}")
        r.need(self.vt, self.vt_size, f"{what} vtable")
        r.need(pos, max(self.obj_size, 4), f"{what} table body")

    def _off(self, i: int) -> int:
        o = 4 + 2 * i
        if o + 2 > self.vt_size:
            return 0
        (off,) = struct.unpack_from("<H", self.r.d, self.vt + o)
        if off and off + 1 > self.obj_size:
            raise _bad(f"{self.what} field {i} points past its table")
        return off

    def scalar(self, i: int, fmt: str, default):
        off = self._off(i)
        if not off:
            return default
        return self.r.unpack("<" + fmt, self.pos + off, f"{self.what} field {i}")[0]

    def _ref(self, i: int) -> int | None:
        off = self._off(i)
        if not off:
            return None
        p = self.pos + off
        (rel,) = self.r.unpack("<I", p, f"{self.what} field {i} offset")
        return p + rel

    def table(self, i: int, what: str) -> _Table | None:
        p = self._ref(i)
        return None if p is None else _Table(self.r, p, what)

    def vector(self, i: int, fmt: str, what: str) -> tuple | None:
        p = self._ref(i)
        if p is None:
            return None
        (n,) = self.r.unpack("<I", p, f"{what} length")
        size = struct.calcsize("<" + fmt)
        self.r.need(p + 4, n * size, what)
        return struct.unpack_from(f"<{n}{fmt}", self.r.d, p + 4)

    def raw_bytes(self, i: int, what: str) -> bytes | None:
        p = self._ref(i)
        if p is None:
            return None
        (n,) = self.r.unpack("<I", p, f"{what} length")
        self.r.need(p + 4, n, what)
        return bytes(self.r.d[p + 4:p + 4 + n])

    def string(self, i: int, what: str) -> str | None:
        b = self.raw_bytes(i, what)
        return None if b is None else b.decode("utf-8", errors="replace")

    def tables(self, i: int, what: str) -> list[_Table]:
        p = self._ref(i)
        if p is None:
            return []
        (n,) = self.r.unpack("<I", p, f"{what} length")
        self.r.need(p + 4, 4 * n, what)
        out = []
        for k in range(n):
            q = p + 4 + 4 * k
            (rel,) = struct.unpack_from("<I", self.r.d, q)
            out.append(_Table(self.r, q + rel, f"{what}[{k}]"))
        return out


@dataclass
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    type: int
    buffer: int
    data: bytes | None  # constant data, or None for activations
    scale: tuple[float, ...] = ()
    zero_point: tuple[int, ...] = ()
    quantized_dimension: int = 0
    shape_signature: tuple[int, ...] | None = None
    is_variable: bool = False

    @property
    def type_name(self) -> str:
        return TYPE_NAMES.get(self.type, f"type{self.type}")

    @property
    def size(self) -> int:
        return math.prod(self.shape) * TYPE_SIZE.get(self.type, 1)

    @property
    def is_const(self) -> bool:
        return self.data is not None


@dataclass
class Operator:
    index: int
    code: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options: dict = field(default_factory=dict)
    version: int = 1
    custom_code: str | None = None

    @property
    def name(self) -> str:
        if self.code == OP["CUSTOM"] and self.custom_code:
            return f"CUSTOM({self.custom_code})"
        return op_name(self.code)


@dataclass
class Model:
    version: int
    tensors: list[Tensor]
    operators: list[Operator]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    description: str = ""
    num_subgraphs: int = 1


# Options tables: op -> (union type, [(field index, name, fmt, default)]).
_I, _B, _F = "i", "b", "f"
_OPTIONS = {
    OP["CONV_2D"]: (1, [(0, "padding", _B, 0), (1, "stride_w", _I, 0), (2, "stride_h", _I, 0),
                        (3, "activation", _B, 0), (4, "dilation_w", _I, 1), (5, "dilation_h", _I, 1)]),
    OP["DEPTHWISE_CONV_2D"]: (2, [(0, "padding", _B, 0), (1, "stride_w", _I, 0), (2, "stride_h", _I, 0),
                                  (3, "depth_multiplier", _I, 0), (4, "activation", _B, 0),
                                  (5, "dilation_w", _I, 1), (6, "dilation_h", _I, 1)]),
    OP["AVERAGE_POOL_2D"]: (5, [(0, "padding", _B, 0), (1, "stride_w", _I, 0), (2, "stride_h", _I, 0),
                                (3, "filter_w", _I, 0), (4, "filter_h", _I, 0), (5, "activation", _B, 0)]),
    OP["MAX_POOL_2D"]: (5, [(0, "padding", _B, 0), (1, "stride_w", _I, 0), (2, "stride_h", _I, 0),
                            (3, "filter_w", _I, 0), (4, "filter_h", _I, 0), (5, "activation", _B, 0)]),
    OP["FULLY_CONNECTED"]: (8, [(0, "activation", _B, 0), (1, "weights_format", _B, 0),
                                (2, "keep_num_dims", _B, 0)]),
    OP["SOFTMAX"]: (9, [(0, "beta", _F, 0.0)]),
    OP["CONCATENATION"]: (10, [(0, "axis", _I, 0), (1, "activation", _B, 0)]),
    OP["ADD"]: (11, [(0, "activation", _B, 0)]),
    OP["RESHAPE"]: (17, []),
    OP["MUL"]: (21, [(0, "activation", _B, 0)]),
    OP["PAD"]: (22, []),
    OP["MEAN"]: (27, [(0, "keep_dims", _B, 0)]),
}


def parse_tflite(data: bytes) -> Model:
    """Parse a .tflite flatbuffer into a Model; raise TinymlError on any inconsistency."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TinymlError("expected the bytes of a .tflite file")
    data = bytes(data)
    r = _Reader(data)
    if r.n < 8:
        raise _bad(f"file is only {r.n} bytes")
    if data[4:8] != b"TFL3":
        raise _bad(f"file identifier is {data[4:8]!r}, expected b'TFL3' (not a TFLite model?)")
    (root,) = r.unpack("<I", 0, "root offset")
    m = _Table(r, root, "Model")
    version = m.scalar(0, "I", 0)
    if version != 3:
        raise _bad(f"schema version {version}, expected 3")

    opcodes = []
    for t in m.tables(1, "operator_codes"):
        dep = t.scalar(0, "b", 0)
        code = t.scalar(3, "i", 0)
        opcodes.append((max(int(dep), int(code)), t.scalar(2, "i", 1), t.string(1, "custom_code")))

    buffers = []
    for k, t in enumerate(m.tables(4, "buffers")):
        off = t.scalar(1, "Q", 0)
        size = t.scalar(2, "Q", 0)
        if off > 1:
            r.need(off, size, f"buffer {k} data")
            buffers.append(data[off:off + size])
        else:
            b = t.raw_bytes(0, f"buffer {k} data")
            buffers.append(b if b else None)

    subgraphs = m.tables(2, "subgraphs")
    if not subgraphs:
        raise _bad("model has no subgraph")
    sg = subgraphs[0]
    desc = m.string(3, "description") or ""

    tensors: list[Tensor] = []
    for k, t in enumerate(sg.tables(0, "tensors")):
        shape = t.vector(0, "i", f"tensor {k} shape") or ()
        ttype = t.scalar(1, "b", 0)
        buf = t.scalar(2, "I", 0)
        if buf >= max(len(buffers), 1):
            raise _bad(f"tensor {k} refers to buffer {buf} but the model has {len(buffers)}")
        name = t.string(3, f"tensor {k} name") or f"t{k}"
        q = t.table(4, f"tensor {k} quantization")
        scale, zp, qdim = (), (), 0
        if q is not None:
            scale = tuple(float(s) for s in (q.vector(2, "f", f"tensor {k} scales") or ()))
            zp = tuple(int(z) for z in (q.vector(3, "q", f"tensor {k} zero points") or ()))
            qdim = q.scalar(6, "i", 0)
        sig = t.vector(7, "i", f"tensor {k} shape_signature")
        for d in shape:
            if d < 0 and sig is None:
                sig = tuple(shape)
        bdata = buffers[buf] if buffers else None
        tensors.append(Tensor(k, name, tuple(shape), ttype, buf, bdata, scale, zp, qdim,
                              tuple(sig) if sig is not None else None, bool(t.scalar(5, "B", 0))))

    nt = len(tensors)

    def _idx(v, what):
        v = tuple(v or ())
        for i in v:
            if i < -1 or i >= nt:
                raise _bad(f"{what} refers to tensor {i} but the subgraph has {nt}")
        return v

    inputs = _idx(sg.vector(1, "i", "subgraph inputs"), "subgraph inputs")
    outputs = _idx(sg.vector(2, "i", "subgraph outputs"), "subgraph outputs")
    if -1 in inputs or -1 in outputs:
        raise _bad("subgraph inputs/outputs contain -1")

    ops: list[Operator] = []
    for k, t in enumerate(sg.tables(3, "operators")):
        oi = t.scalar(0, "I", 0)
        if oi >= len(opcodes):
            raise _bad(f"operator {k} uses opcode {oi} but the model has {len(opcodes)}")
        code, ver, custom = opcodes[oi]
        ins = _idx(t.vector(1, "i", f"operator {k} inputs"), f"operator {k} inputs")
        outs = _idx(t.vector(2, "i", f"operator {k} outputs"), f"operator {k} outputs")
        opts: dict = {}
        spec = _OPTIONS.get(code)
        if spec is not None:
            utype, fields = spec
            ot = t.scalar(3, "B", 0)
            tab = t.table(4, f"operator {k} options")
            if tab is not None and ot not in (0, utype):
                raise _bad(f"operator {k} ({op_name(code)}) carries options of type {ot}, expected {utype}")
            for fi, fname, fmt, default in fields:
                opts[fname] = tab.scalar(fi, fmt, default) if tab is not None else default
            if code == OP["RESHAPE"] and tab is not None:
                ns = tab.vector(0, "i", f"operator {k} new_shape")
                if ns is not None:
                    opts["new_shape"] = tuple(ns)
        ops.append(Operator(k, code, ins, outs, opts, ver, custom))

    return Model(version, tensors, ops, inputs, outputs, desc, len(subgraphs))
