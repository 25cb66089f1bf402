"""Check a parsed model against what the runtime supports and lower every operator to one kernel call.

Everything a kernel needs at run time is computed here, once: requantization multipliers and shifts per
channel, activation clamps, padding, folded biases, broadcast strides. Unsupported models are refused
with one line naming the operator, its index and a hint.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import TinymlError
from . import overlap, packing, quant
from .tflite_format import ACT_NAMES, FLOAT32, INT8, INT16, INT32, PAD_SAME, PAD_VALID, TYPE_NAMES, Model, Operator, Tensor

SUPPORTED = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D", "MEAN",
             "RESHAPE", "SQUEEZE", "EXPAND_DIMS", "SOFTMAX", "LOGISTIC", "ADD", "MUL", "CONCATENATION", "PAD",
             "PADV2", "QUANTIZE", "DEQUANTIZE", "RELU", "RELU6")
ALIAS_OPS = ("RESHAPE", "SQUEEZE", "EXPAND_DIMS")
MAX_DIM = 32767
INT8_HINT = ("convert with full int8 quantization (optimizations=[tf.lite.Optimize.DEFAULT], a representative "
             "dataset, supported_ops=[TFLITE_BUILTINS_INT8], inference_input_type/inference_output_type=tf.int8)")


@dataclass
class Const:
    name: str
    ctype: str       # C element type, or a struct type when `init` is set
    values: np.ndarray | None = None
    init: str | None = None  # C initializer for structs
    # Kept in program memory (TML_FLASH) unless a kernel reads it through a pointer that may also point at
    # the arena (constant operands of ADD, MUL, CONCATENATION).
    flash: bool = True
    aligned: bool = False  # starts on a word boundary (packed weights: the DSP loops load words)

    @property
    def nbytes(self) -> int:
        if self.values is None:
            return 0
        return int(self.values.size * {"int8_t": 1, "int32_t": 4, "int16_t": 2, "tml_rq": 4}[self.ctype])


@dataclass
class Layer:
    index: int
    op: str
    inputs: list[int]    # arena tensors read
    outputs: list[int]   # arena tensors written
    call: str = ""       # C statement; {T<idx>} stands for a tensor's address
    consts: list[Const] = field(default_factory=list)
    share: tuple[str, int] | None = None  # ("alias", input tensor): the output is the input's bytes (RESHAPE)
    # input tensor -> D: the output may overlap that input up to offset <= input's + D (overlap.py)
    overlaps: dict[int, int] = field(default_factory=dict)
    macs: int = 0
    in_shapes: list[tuple] = field(default_factory=list)
    out_shape: tuple = ()
    kernel: str = ""     # C function used
    scratch: int = 0     # bytes of arena scratch live during this op only; {S} in `call`

    @property
    def weight_bytes(self) -> int:
        return sum(c.nbytes for c in self.consts if c.values is not None and c.name.endswith(("_w", "_c0", "_c1")))

    @property
    def const_bytes(self) -> int:
        return sum(c.nbytes for c in self.consts)


@dataclass
class Lowered:
    model: Model
    layers: list[Layer]
    input: Tensor
    output: Tensor
    arena_tensors: dict[int, int]  # tensor -> bytes


def _err(op: Operator, msg: str, hint: str = "") -> TinymlError:
    return TinymlError(f"op {op.index} ({op.name}): {msg}" + (f"; {hint}" if hint else ""))


def _shape_str(s) -> str:
    return "[" + ", ".join(str(d) for d in s) + "]"


KERNELS = ("auto", "generic")
# The packed kernels' portable C (any core without the Arm DSP extension) keeps four int32 accumulators per
# 2x2 block and requantizes through a 32x32 -> 64-bit multiply: native on a 32-bit core (a Cortex-M3 runs the
# DS-CNN in 2/3 of the generic kernels' instructions), library calls on an 8-bit one (twice the generic
# kernels' cycles on the ATmega328P). Below this core width a board gets the generic kernels.
PACKED_MIN_WORD_BITS = 32


def kernels_for(word_bits: int) -> str:
    """The kernels the compiler selects for a core of `word_bits` (the board's BOARD_WORD_BITS)."""
    return "auto" if word_bits >= PACKED_MIN_WORD_BITS else "generic"



class _Lowerer:
    def __init__(self, model: Model, kernels: str = "auto"):
        if kernels not in KERNELS:
            raise TinymlError(f"kernels={kernels!r}; allowed: {', '.join(KERNELS)}")
        self.m = model
        self.t = model.tensors
        self.layers: list[Layer] = []
        self.packed = kernels == "auto"  # packed kernels where the fast requantization is proven exact

    # ---- checks ----
    def tensor(self, op: Operator, pos: int, kind: str = "input") -> Tensor:
        idx = (op.inputs if kind == "input" else op.outputs)
        if pos >= len(idx) or idx[pos] < 0:
            raise _err(op, f"missing {kind} {pos}")
        return self.t[idx[pos]]

    def check_tensor(self, op: Operator, t: Tensor, allow=(INT8,)) -> None:
        sig = t.shape_signature
        if any(d < 0 for d in t.shape) or (sig is not None and any(d < 0 for d in sig)):
            raise _err(op, f"tensor {t.index} '{t.name}' has a dynamic shape {_shape_str(sig or t.shape)}",
                       "build the Keras model with keras.Input(shape, batch_size=1) so every shape is static")
        if any(d > MAX_DIM for d in t.shape) or math.prod(t.shape) > (1 << 24):
            raise _err(op, f"tensor {t.index} '{t.name}' shape {_shape_str(t.shape)} is too large for a microcontroller")
        if t.type not in allow:
            tn = TYPE_NAMES.get(t.type, f"type {t.type}")
            if t.type in (FLOAT32, 1, 10):
                hint = INT8_HINT
            elif t.type == INT16:
                hint = "int16 activations (16x8 quantization) are not supported; " + INT8_HINT
            else:
                hint = INT8_HINT
            raise _err(op, f"tensor {t.index} '{t.name}' is {tn}, the runtime supports int8 here", hint)

    def qparams(self, op: Operator, t: Tensor) -> tuple[float, int]:
        if not t.scale or not t.zero_point:
            raise _err(op, f"tensor {t.index} '{t.name}' has no quantization parameters", INT8_HINT)
        s, z = float(t.scale[0]), int(t.zero_point[0])
        if not (s > 0 and math.isfinite(s)) or not -128 <= z <= 127:
            raise _err(op, f"tensor {t.index} '{t.name}' has invalid quantization scale={s} zero_point={z}")
        return s, z

    def const_data(self, op: Operator, t: Tensor, dtype, what: str) -> np.ndarray:
        if t.data is None:
            raise _err(op, f"{what} tensor {t.index} '{t.name}' must be a constant")
        a = np.frombuffer(t.data, dtype=dtype) if len(t.data) % np.dtype(dtype).itemsize == 0 else None
        n = math.prod(t.shape)
        if a is None or a.size != n:
            raise TinymlError(f"malformed .tflite: op {op.index} ({op.name}) {what} tensor {t.index} holds "
                              f"{len(t.data)} bytes for shape {_shape_str(t.shape)}")
        return a.reshape(t.shape) if t.shape else a

    def act(self, op: Operator, out: Tensor) -> tuple[int, int]:
        a = int(op.options.get("activation", 0))
        if a not in (0, 1, 2, 3):
            raise _err(op, f"fused activation {ACT_NAMES.get(a, a)} is not supported", "use RELU, RELU6 or none")
        s, z = self.qparams(op, out)
        return quant.activation_range(a, s, z)

    def operand(self, op: Operator, t: Tensor, name: str, consts: list[Const]) -> str:
        """Address of an int8 operand: the arena, or a const array for constant operands."""
        self.check_tensor(op, t)
        if t.is_const:
            consts.append(Const(name, "int8_t", self.const_data(op, t, np.int8, "operand").ravel(), flash=False))
            return name
        return f"{{T{t.index}}}"

    # ---- lowering ----
    def run(self) -> Lowered:
        m = self.m
        if m.num_subgraphs > 1:
            raise TinymlError(f"model has {m.num_subgraphs} subgraphs; control flow (IF/WHILE/CALL_ONCE) is not "
                              "supported; export a model without control flow")
        if len(m.inputs) != 1 or len(m.outputs) != 1:
            raise TinymlError(f"model has {len(m.inputs)} inputs and {len(m.outputs)} outputs; the runtime "
                              "supports exactly one of each")
        if not m.operators:
            raise TinymlError("model has no operators")
        for op in m.operators:
            if op.name not in SUPPORTED:
                hint = ("build the Keras model with keras.Input(shape, batch_size=1)"
                        if op.name in ("SHAPE", "STRIDED_SLICE", "PACK", "FILL", "GATHER") else
                        f"supported ops: {', '.join(SUPPORTED)}")
                raise _err(op, "is not supported by the tinyml runtime", hint)
            if not op.outputs or any(o < 0 for o in op.outputs):
                raise _err(op, "has no output")
            getattr(self, "op_" + op.name.lower())(op)
        inp, out = self.t[m.inputs[0]], self.t[m.outputs[0]]
        first = m.operators[0]
        self.check_tensor(first, inp)
        if inp.is_const:
            raise TinymlError("malformed .tflite: the model input is a constant")
        self.qparams(first, inp)
        if out.type != FLOAT32:
            self.check_tensor(m.operators[-1], out)
        arena = {}
        produced = {inp.index}
        for L in self.layers:
            for i in L.inputs:
                if i not in produced:
                    raise TinymlError(f"malformed .tflite: op {L.index} ({L.op}) reads tensor {i} before any op writes it")
            for o in L.outputs:
                produced.add(o)
            for t in L.inputs + L.outputs:
                tt = self.t[t]
                arena[t] = tt.size
            if L.scratch:
                arena[scratch_id(L)] = L.scratch
        if out.index not in produced:
            raise TinymlError("malformed .tflite: no op writes the model output")
        arena.setdefault(inp.index, inp.size)
        return Lowered(m, self.layers, inp, out, arena)

    def add_layer(self, op: Operator, inputs, outputs, call, consts, kernel, macs=0, share=None, overlaps=None):
        L = Layer(op.index, op.name, list(inputs), list(outputs), call, consts, share, dict(overlaps or {}), int(macs),
                  [self.t[i].shape for i in op.inputs if i >= 0 and not self.t[i].is_const],
                  self.t[op.outputs[0]].shape, kernel)
        self.layers.append(L)
        return L

    def _conv_common(self, op: Operator, depthwise: bool):
        x, w, y = self.tensor(op, 0), self.tensor(op, 1), self.tensor(op, 0, "output")
        for t in (x, y):
            self.check_tensor(op, t)
        self.check_tensor(op, w)
        if len(x.shape) != 4 or len(w.shape) != 4 or len(y.shape) != 4:
            raise _err(op, f"expects 4-D input/filter/output, got {_shape_str(x.shape)}, {_shape_str(w.shape)}, "
                           f"{_shape_str(y.shape)}")
        if x.shape[0] != 1 or y.shape[0] != 1:
            raise _err(op, f"batch {x.shape[0]} is not supported", "build with batch_size=1")
        wd = self.const_data(op, w, np.int8, "filter").astype(np.int64)
        _, ih, iw, ic = x.shape
        _, oh, ow, oc = y.shape
        if depthwise:
            if w.shape[0] != 1 or w.shape[3] != oc or ic == 0 or oc % ic:
                raise _err(op, f"filter {_shape_str(w.shape)} does not fit input {_shape_str(x.shape)} and "
                               f"output {_shape_str(y.shape)}")
            kh, kw = w.shape[1], w.shape[2]
        else:
            if w.shape[0] != oc or w.shape[3] != ic:
                raise _err(op, f"filter {_shape_str(w.shape)} does not fit input {_shape_str(x.shape)} "
                               f"and output {_shape_str(y.shape)}", "grouped convolutions are not supported")
            kh, kw = w.shape[1], w.shape[2]
        o = op.options
        sh, sw = int(o.get("stride_h", 0)), int(o.get("stride_w", 0))
        dh, dw = int(o.get("dilation_h", 1)), int(o.get("dilation_w", 1))
        if min(sh, sw, dh, dw) < 1 or max(sh, sw, dh, dw) > MAX_DIM:
            raise _err(op, f"invalid stride {sh}x{sw} or dilation {dh}x{dw}")
        pad = int(o.get("padding", 0))
        ph, ew_h = _padding(pad, ih, kh, sh, dh, op)
        pw, ew_w = _padding(pad, iw, kw, sw, dw, op)
        if (ew_h, ew_w) != (oh, ow):
            raise _err(op, f"output {_shape_str(y.shape)} does not match the computed {oh}x{ow} -> {ew_h}x{ew_w}")
        sx, zx = self.qparams(op, x)
        sy, zy = self.qparams(op, y)
        ws = list(w.scale) or []
        if len(ws) not in (1, oc):
            raise _err(op, f"filter has {len(ws)} scales for {oc} output channels")
        if len(ws) > 1 and w.quantized_dimension != (3 if depthwise else 0):
            raise _err(op, f"filter is quantized along dimension {w.quantized_dimension}, expected "
                           f"{3 if depthwise else 0} (the output channels)")
        if any(int(z) != 0 for z in w.zero_point):
            raise _err(op, "filter zero points must be 0 (symmetric int8 weights)", INT8_HINT)
        ws = [float(s) for s in (ws * oc if len(ws) == 1 else ws)]
        if any(not (s > 0 and math.isfinite(s)) for s in ws):
            raise _err(op, "filter has an invalid scale")
        bias = self._bias(op, oc, "channels")
        mults, shifts = zip(*(quant.quantize_multiplier(sx * s / sy) for s in ws))
        lo, hi = self.act(op, y)
        if depthwise:
            wsum = wd.reshape(kh * kw, oc).sum(axis=0)
            wflat = wd.reshape(-1)
        else:
            wsum = wd.reshape(oc, -1).sum(axis=1)
            wflat = wd.reshape(-1)
        kbias = bias + (-zx) * wsum
        if np.abs(kbias).max(initial=0) >= (1 << 31):
            raise _err(op, "bias out of int32 range")
        p = f"L{op.index}"
        params = dict(in_h=ih, in_w=iw, in_c=ic, out_h=oh, out_w=ow, out_c=oc, k_h=kh, k_w=kw, stride_h=sh,
                      stride_w=sw, dil_h=dh, dil_w=dw, pad_h=ph, pad_w=pw, depth_mult=oc // ic if depthwise else 1,
                      act_min=lo, act_max=hi, in_offset=-zx, out_offset=zy)
        macs = oh * ow * oc * kh * kw * (1 if depthwise else ic)
        pconst = Const(p + "_p", "tml_conv_params", init=_struct(params))
        rq = None
        if self.packed and params["depth_mult"] == 1:
            abs_wsum = (np.abs(wd).reshape(kh * kw, oc).sum(axis=0) if depthwise else
                        np.abs(wd).reshape(oc, -1).sum(axis=1))
            rq = packing.rq_records(kbias, abs_wsum, mults, shifts, zy, doubled=depthwise, pad_to=4 if depthwise else 2)
        if rq is not None:
            if depthwise:
                fn, wp = "tml_dwconv2d_packed_s8", Const(p + "_w", "int16_t", packing.pack_depthwise(wd.reshape(kh, kw, oc)))
                scratch = packing.depthwise_scratch(kh, kw, dh, dw, sw, ow, oc)
                allow = overlap.packed_depthwise(params)
            else:
                fn, wp = "tml_conv2d_packed_s8", Const(p + "_w", "int8_t", packing.pack_gemm(wd.reshape(oc, -1)))
                scratch = packing.conv_scratch(kh, kw, ic)
                allow = overlap.packed_conv(params)
            wp.aligned = True
            consts = [wp, Const(p + "_rq", "tml_rq", rq), pconst]
            L = self.add_layer(op, [x.index], [y.index], f"{fn}(&{p}_p, {p}_rq, {{T{x.index}}}, {p}_w, {{S}}, "
                               f"{{T{y.index}}});", consts, fn, macs, overlaps={x.index: allow})
            L.scratch = scratch
            return
        consts = [Const(p + "_w", "int8_t", wflat.astype(np.int8)),
                  Const(p + "_bias", "int32_t", bias.astype(np.int32)),
                  Const(p + "_kbias", "int32_t", kbias.astype(np.int32)),
                  Const(p + "_mult", "int32_t", np.array(mults, dtype=np.int32)),
                  Const(p + "_shift", "int8_t", np.array(shifts, dtype=np.int8)),
                  pconst]
        consts.append(Const(p + "_q", "tml_channel_q",
                            init=f"{{{p}_bias, {p}_kbias, {p}_mult, {p}_shift}}"))
        fn = "tml_dwconv2d_s8" if depthwise else "tml_conv2d_s8"
        scratch = 0 if depthwise else conv_scratch_bytes(kh, kw, ic)
        sarg = "" if depthwise else ("{S}, " if scratch else "0, ")
        L = self.add_layer(op, [x.index], [y.index],
                           f"{fn}(&{p}_p, &{p}_q, {{T{x.index}}}, {p}_w, {sarg}{{T{y.index}}});", consts, fn, macs)
        L.scratch = scratch

    def _bias(self, op, n_out: int, what: str) -> np.ndarray:
        """The optional int32 bias (input 2) as int64, or zeros."""
        bias = np.zeros(n_out, dtype=np.int64)
        if len(op.inputs) > 2 and op.inputs[2] >= 0:
            b = self.t[op.inputs[2]]
            if b.type != INT32:
                raise _err(op, f"bias tensor {b.index} is {b.type_name}, expected int32", INT8_HINT)
            bias = self.const_data(op, b, np.int32, "bias").astype(np.int64).ravel()
            if bias.size != n_out:
                raise _err(op, f"bias has {bias.size} values for {n_out} {what}")
        return bias

    def op_conv_2d(self, op):
        self._conv_common(op, depthwise=False)

    def op_depthwise_conv_2d(self, op):
        self._conv_common(op, depthwise=True)

    def op_fully_connected(self, op):
        x, w, y = self.tensor(op, 0), self.tensor(op, 1), self.tensor(op, 0, "output")
        for t in (x, y, w):
            self.check_tensor(op, t)
        if len(w.shape) != 2:
            raise _err(op, f"filter must be 2-D, got {_shape_str(w.shape)}")
        m_out, n = w.shape
        size = math.prod(x.shape)
        if n == 0 or size % n or math.prod(y.shape) != size // n * m_out:
            raise _err(op, f"input {_shape_str(x.shape)} / filter {_shape_str(w.shape)} / output "
                           f"{_shape_str(y.shape)} do not fit")
        rows = size // n
        wd = self.const_data(op, w, np.int8, "filter").astype(np.int64)
        sx, zx = self.qparams(op, x)
        sy, zy = self.qparams(op, y)
        ws = [float(s) for s in w.scale]
        if len(ws) not in (1, m_out) or any(not (s > 0 and math.isfinite(s)) for s in ws):
            raise _err(op, "filter has invalid scales")
        if len(ws) > 1 and w.quantized_dimension != 0:
            raise _err(op, f"filter is quantized along dimension {w.quantized_dimension}, expected 0")
        if any(int(z) != 0 for z in w.zero_point):
            raise _err(op, "filter zero points must be 0 (symmetric int8 weights)", INT8_HINT)
        ws = ws * m_out if len(ws) == 1 else ws
        bias = self._bias(op, m_out, "outputs")
        mults, shifts = zip(*(quant.quantize_multiplier(sx * s / sy) for s in ws))
        lo, hi = self.act(op, y)
        kbias = bias + (-zx) * wd.sum(axis=1)
        if np.abs(kbias).max(initial=0) >= (1 << 31):
            raise _err(op, "bias out of int32 range")
        p = f"L{op.index}"
        params = dict(rows=rows, in_features=n, out_features=m_out, in_offset=-zx, out_offset=zy, act_min=lo,
                      act_max=hi)
        pconst = Const(p + "_p", "tml_fc_params", init=_struct(params))
        rq = None
        if self.packed:
            rq = packing.rq_records(kbias, np.abs(wd).sum(axis=1), mults, shifts, zy, pad_to=2)
        if rq is not None:
            wp = Const(p + "_w", "int8_t", packing.pack_gemm(wd.astype(np.int8)), aligned=True)
            self.add_layer(op, [x.index], [y.index],
                           f"tml_fc_packed_s8(&{p}_p, {p}_rq, {{T{x.index}}}, {p}_w, {{T{y.index}}});",
                           [wp, Const(p + "_rq", "tml_rq", rq), pconst], "tml_fc_packed_s8", rows * n * m_out,
                           overlaps={x.index: overlap.fully_connected(rows, n, m_out)})
            return
        consts = [Const(p + "_w", "int8_t", wd.reshape(-1).astype(np.int8)),
                  Const(p + "_kbias", "int32_t", kbias.astype(np.int32)),
                  Const(p + "_mult", "int32_t", np.array(mults, dtype=np.int32)),
                  Const(p + "_shift", "int8_t", np.array(shifts, dtype=np.int8)),
                  pconst]
        consts.append(Const(p + "_q", "tml_channel_q", init=f"{{0, {p}_kbias, {p}_mult, {p}_shift}}"))
        self.add_layer(op, [x.index], [y.index], f"tml_fc_s8(&{p}_p, &{p}_q, {{T{x.index}}}, {p}_w, {{T{y.index}}});",
                       consts, "tml_fc_s8", rows * n * m_out)

    def _pool(self, op, fn):
        x, y = self.tensor(op, 0), self.tensor(op, 0, "output")
        for t in (x, y):
            self.check_tensor(op, t)
        if len(x.shape) != 4 or len(y.shape) != 4 or x.shape[0] != 1:
            raise _err(op, f"expects 4-D input with batch 1, got {_shape_str(x.shape)}", "build with batch_size=1")
        _, ih, iw, c = x.shape
        _, oh, ow, oc = y.shape
        o = op.options
        kh, kw = int(o.get("filter_h", 0)), int(o.get("filter_w", 0))
        sh, sw = int(o.get("stride_h", 0)), int(o.get("stride_w", 0))
        if min(kh, kw, sh, sw) < 1 or max(kh, kw, sh, sw) > MAX_DIM or oc != c:
            raise _err(op, f"invalid window {kh}x{kw} / stride {sh}x{sw}")
        ph, eh = _padding(int(o.get("padding", 0)), ih, kh, sh, 1, op)
        pw, ew = _padding(int(o.get("padding", 0)), iw, kw, sw, 1, op)
        if (eh, ew) != (oh, ow):
            raise _err(op, f"output {_shape_str(y.shape)} does not match the computed {eh}x{ew}")
        self.qparams(op, x)
        lo, hi = self.act(op, y)
        p = f"L{op.index}"
        params = dict(in_h=ih, in_w=iw, c=c, out_h=oh, out_w=ow, k_h=kh, k_w=kw, stride_h=sh, stride_w=sw, pad_h=ph,
                      pad_w=pw, act_min=lo, act_max=hi)
        consts = [Const(p + "_p", "tml_pool_params", init=_struct(params))]
        self.add_layer(op, [x.index], [y.index], f"{fn}(&{p}_p, {{T{x.index}}}, {{T{y.index}}});", consts, fn,
                       oh * ow * c * kh * kw, overlaps={x.index: overlap.pool(params)})

    def op_average_pool_2d(self, op):
        self._pool(op, "tml_avgpool_s8")

    def op_max_pool_2d(self, op):
        self._pool(op, "tml_maxpool_s8")

    def op_mean(self, op):
        x, ax, y = self.tensor(op, 0), self.tensor(op, 1), self.tensor(op, 0, "output")
        for t in (x, y):
            self.check_tensor(op, t)
        if ax.type != INT32:
            raise _err(op, "axis tensor must be int32")
        axes = self.const_data(op, ax, np.int32, "axis").ravel().tolist()
        r = len(x.shape)
        res = []
        for a in axes:
            a2 = a + r if a < 0 else a
            if not 0 <= a2 < r:
                raise _err(op, f"axis {a} out of range for {_shape_str(x.shape)}")
            if a2 not in res:
                res.append(a2)
        dims = [(d, i in res) for i, d in enumerate(x.shape) if d != 1]
        flags = [f for _, f in dims]
        if True in flags:
            i0 = flags.index(True)
            i1 = len(flags) - flags[::-1].index(True)
            if not all(flags[i0:i1]):
                raise _err(op, f"reduction over non-adjacent axes {sorted(res)} of {_shape_str(x.shape)} is not supported")
        else:
            i0 = i1 = len(flags)
        outer = math.prod(d for d, _ in dims[:i0])
        red = math.prod(d for d, _ in dims[i0:i1])
        inner = math.prod(d for d, _ in dims[i1:])
        if outer * inner != math.prod(y.shape):
            raise _err(op, f"output {_shape_str(y.shape)} does not fit input {_shape_str(x.shape)}")
        n = math.prod(x.shape[a] for a in res)
        sx, zx = self.qparams(op, x)
        sy, zy = self.qparams(op, y)
        mult, shift = quant.mean_multiplier(sx, sy, n)
        p = f"L{op.index}"
        params = dict(outer=outer, reduce=red, inner=inner, in_zp=zx, out_zp=zy, mult=mult, shift=shift)
        consts = [Const(p + "_p", "tml_mean_params", init=_struct(params))]
        self.add_layer(op, [x.index], [y.index], f"tml_mean_s8(&{p}_p, {{T{x.index}}}, {{T{y.index}}});", consts,
                       "tml_mean_s8", math.prod(x.shape))

    def _alias(self, op):
        x, y = self.tensor(op, 0), self.tensor(op, 0, "output")
        for t in (x, y):
            self.check_tensor(op, t)
        if x.size != y.size:
            raise _err(op, f"reshapes {_shape_str(x.shape)} into {_shape_str(y.shape)} of another size")
        if x.is_const:
            raise _err(op, "reshaping a constant is not supported")
        if (x.scale[:1], x.zero_point[:1]) != (y.scale[:1], y.zero_point[:1]):
            raise _err(op, "changes quantization parameters")
        self.add_layer(op, [x.index], [y.index], "", [], "", 0, share=("alias", x.index))

    op_reshape = op_squeeze = op_expand_dims = _alias

    def op_softmax(self, op):
        x, y = self.tensor(op, 0), self.tensor(op, 0, "output")
        for t in (x, y):
            self.check_tensor(op, t)
        sx, _ = self.qparams(op, x)
        sy, zy = self.qparams(op, y)
        if zy != -128 or np.float32(sy) != np.float32(1.0 / 256):
            raise _err(op, f"output quantization must be scale 1/256, zero point -128 (got {sy}, {zy})")
        depth = x.shape[-1] if x.shape else 1
        if depth == 0 or x.size != y.size:
            raise _err(op, "invalid shapes")
        beta = float(op.options.get("beta", 1.0))
        mult, left, diff_min = quant.softmax_params(beta, sx)
        params = dict(rows=x.size // depth, depth=depth, input_multiplier=mult, input_left_shift=left, diff_min=diff_min)
        self._inplace_layer(op, x, y, "tml_softmax_s8", "tml_softmax_params", params)

    def op_logistic(self, op):
        x, y = self.tensor(op, 0), self.tensor(op, 0, "output")
        for t in (x, y):
            self.check_tensor(op, t)
        sx, zx = self.qparams(op, x)
        _, zy = self.qparams(op, y)
        if zy != -128 or x.size != y.size:
            raise _err(op, f"output zero point must be -128 (got {zy})")
        mult, left, radius = quant.logistic_params(sx)
        params = dict(size=x.size, in_zp=zx, range_radius=radius, mult=mult, left_shift=left)
        self._inplace_layer(op, x, y, "tml_logistic_s8", "tml_logistic_params", params)

    def _binary(self, op, kind):
        a, b, y = self.tensor(op, 0), self.tensor(op, 1), self.tensor(op, 0, "output")
        self.check_tensor(op, y)
        p = f"L{op.index}"
        consts: list[Const] = []
        pa = self.operand(op, a, p + "_c0", consts)
        pb = self.operand(op, b, p + "_c1", consts)
        sa, za = self.qparams(op, a)
        sb, zb = self.qparams(op, b)
        sy, zy = self.qparams(op, y)
        lo, hi = self.act(op, y)
        nd = 5
        if max(len(a.shape), len(b.shape), len(y.shape)) > nd:
            raise _err(op, "more than 5 dimensions")
        da = (1,) * (nd - len(a.shape)) + tuple(a.shape)
        db = (1,) * (nd - len(b.shape)) + tuple(b.shape)
        dy = (1,) * (nd - len(y.shape)) + tuple(y.shape)
        for i in range(nd):
            if da[i] not in (1, dy[i]) or db[i] not in (1, dy[i]) or dy[i] != max(da[i], db[i]):
                raise _err(op, f"shapes {_shape_str(a.shape)} and {_shape_str(b.shape)} do not broadcast to "
                               f"{_shape_str(y.shape)}")

        def strides(d):
            s, acc = [0] * nd, 1
            for i in range(nd - 1, -1, -1):
                s[i] = acc if d[i] != 1 else 0
                acc *= d[i]
            return s

        params = dict(dims=list(dy), stride1=strides(da), stride2=strides(db), size=math.prod(dy),
                      broadcast=int(da != dy or db != dy), in1_offset=-za, in2_offset=-zb, out_offset=zy,
                      act_min=lo, act_max=hi)
        if kind == "add":
            q = quant.add_params(sa, sb, sy)
            params.update(q)
        else:
            mo, so = quant.quantize_multiplier(sa * sb / sy)
            params.update(out_mult=mo, out_shift=so, in1_mult=0, in2_mult=0, in1_shift=0, in2_shift=0, left_shift=0)
        consts.append(Const(p + "_p", "tml_binary_params", init=_struct(params)))
        ins = [t.index for t in (a, b) if not t.is_const]
        # Same shapes: out[i] is written after in1[i] and in2[i] are read, front to back.
        ovl = {} if params["broadcast"] else {t: overlap.ELEMENTWISE for t in ins}
        fn = f"tml_{kind}_s8"
        self.add_layer(op, ins, [y.index], f"{fn}(&{p}_p, {pa}, {pb}, {{T{y.index}}});", consts, fn,
                       params["size"], overlaps=ovl)

    def op_add(self, op):
        self._binary(op, "add")

    def op_mul(self, op):
        self._binary(op, "mul")

    def op_concatenation(self, op):
        y = self.tensor(op, 0, "output")
        self.check_tensor(op, y)
        r = len(y.shape)
        axis = int(op.options.get("axis", 0))
        axis = axis + r if axis < 0 else axis
        if not 0 <= axis < max(r, 1):
            raise _err(op, f"axis {axis} out of range")
        if int(op.options.get("activation", 0)) != 0:
            raise _err(op, "fused activation on CONCATENATION is not supported")
        p = f"L{op.index}"
        consts: list[Const] = []
        ptrs, chunks, ins = [], [], []
        total = 0
        for k, ti in enumerate(op.inputs):
            if ti < 0:
                raise _err(op, "missing input")
            t = self.t[ti]
            if len(t.shape) != r or any(t.shape[i] != y.shape[i] for i in range(r) if i != axis):
                raise _err(op, f"input {_shape_str(t.shape)} does not fit output {_shape_str(y.shape)}")
            ptrs.append(self.operand(op, t, f"{p}_c{k}", consts))
            if not t.is_const:
                ins.append(ti)
            chunks.append(math.prod(t.shape[axis:]))
            total += t.shape[axis] if r else 1
        if r and total != y.shape[axis]:
            raise _err(op, "inputs do not add up to the output")
        outer = math.prod(y.shape[:axis])
        consts.append(Const(p + "_chunk", "int32_t", np.array(chunks, dtype=np.int32)))
        decl = f"const int8_t *const {p}_in[{len(ptrs)}] = {{{', '.join(ptrs)}}};"
        call = f"{{ {decl} tml_concat_s8({outer}, {len(ptrs)}, {p}_in, {p}_chunk, {{T{y.index}}}); }}"
        self.add_layer(op, ins, [y.index], call, consts, "tml_concat_s8", 0)

    def op_pad(self, op):
        x, pads, y = self.tensor(op, 0), self.tensor(op, 1), self.tensor(op, 0, "output")
        for t in (x, y):
            self.check_tensor(op, t)
        if pads.type not in (INT32,):
            raise _err(op, "paddings must be int32")
        pd = self.const_data(op, pads, np.int32, "paddings").reshape(-1)
        r = len(x.shape)
        if r > 5 or pd.size != 2 * r or len(y.shape) != r:
            raise _err(op, "invalid paddings")
        pd = pd.reshape(r, 2)
        if (pd < 0).any() or any(x.shape[i] + pd[i, 0] + pd[i, 1] != y.shape[i] for i in range(r)):
            raise _err(op, "paddings do not fit the output shape")
        _, zy = self.qparams(op, y)
        pad_value = zy
        if op.name == "PADV2" and len(op.inputs) > 2 and op.inputs[2] >= 0:
            pv = self.t[op.inputs[2]]
            self.check_tensor(op, pv)
            pad_value = int(self.const_data(op, pv, np.int8, "pad value").ravel()[0])
        lead = 5 - r
        params = dict(in_dims=[1] * lead + list(x.shape), out_dims=[1] * lead + list(y.shape),
                      before=[0] * lead + [int(v) for v in pd[:, 0]], pad_value=pad_value)
        p = f"L{op.index}"
        consts = [Const(p + "_p", "tml_pad_params", init=_struct(params))]
        self.add_layer(op, [x.index], [y.index], f"tml_pad_s8(&{p}_p, {{T{x.index}}}, {{T{y.index}}});", consts,
                       "tml_pad_s8", 0)

    op_padv2 = op_pad

    def op_quantize(self, op):
        x, y = self.tensor(op, 0), self.tensor(op, 0, "output")
        for t in (x, y):
            self.check_tensor(op, t)
        sx, zx = self.qparams(op, x)
        sy, zy = self.qparams(op, y)
        if x.size != y.size:
            raise _err(op, "input and output sizes differ")
        m, s = quant.quantize_multiplier(sx / sy)
        self._requant_layer(op, x, y, dict(size=x.size, in_zp=zx, out_zp=zy, mult=m, shift=s, act_min=-128,
                                           act_max=127))

    def _requant_layer(self, op, x, y, params):
        self._inplace_layer(op, x, y, "tml_quantize_s8", "tml_requant_params", params)

    def _inplace_layer(self, op, x, y, fn: str, params_type: str, params: dict):
        """One elementwise kernel fn(&params, in, out) whose output may overwrite its input."""
        p = f"L{op.index}"
        consts = [Const(p + "_p", params_type, init=_struct(params))]
        self.add_layer(op, [x.index], [y.index], f"{fn}(&{p}_p, {{T{x.index}}}, {{T{y.index}}});", consts,
                       fn, 0, overlaps={x.index: overlap.ELEMENTWISE})

    def op_relu(self, op):
        """TFLM: requantize input -> output, clamp below at the output zero point."""
        x, y = self.tensor(op, 0), self.tensor(op, 0, "output")
        for t in (x, y):
            self.check_tensor(op, t)
        sx, zx = self.qparams(op, x)
        sy, zy = self.qparams(op, y)
        if x.size != y.size:
            raise _err(op, "input and output sizes differ")
        m, s = quant.quantize_multiplier(sx / sy)
        self._requant_layer(op, x, y, dict(size=x.size, in_zp=zx, out_zp=zy, mult=m, shift=s,
                                           act_min=max(-128, zy), act_max=127))

    def op_relu6(self, op):
        """TFLM: a clamp to [zero, six] in the input's quantization (output assumed identical)."""
        x, y = self.tensor(op, 0), self.tensor(op, 0, "output")
        for t in (x, y):
            self.check_tensor(op, t)
        sx, zx = self.qparams(op, x)
        if x.size != y.size:
            raise _err(op, "input and output sizes differ")
        six = min(127, max(-128, quant.tfl_round(float(np.float32(6.0) / np.float32(sx))) + zx))
        one_m, one_s = quant.quantize_multiplier(1.0)
        self._requant_layer(op, x, y, dict(size=x.size, in_zp=0, out_zp=0, mult=one_m, shift=one_s, act_min=zx,
                                           act_max=six))

    def op_dequantize(self, op):
        x, y = self.tensor(op, 0), self.tensor(op, 0, "output")
        self.check_tensor(op, x)
        self.check_tensor(op, y, allow=(FLOAT32,))
        if y.index not in self.m.outputs:
            raise _err(op, "float tensors are supported only as the model output", INT8_HINT)
        sx, zx = self.qparams(op, x)
        if x.size * 4 != y.size:
            raise _err(op, "input and output sizes differ")
        self.add_layer(op, [x.index], [y.index],
                       f"tml_dequantize_s8({x.size}, {sx!r}, {zx}, {{T{x.index}}}, (float *)(void *){{T{y.index}}});",
                       [], "tml_dequantize_s8", 0)


def _padding(pad: int, n: int, k: int, s: int, d: int, op: Operator) -> tuple[int, int]:
    """(pad before, output size) as TFLite's ComputePaddingHeightWidth/ComputeOutSize."""
    ek = (k - 1) * d + 1
    if pad == PAD_SAME:
        out = (n + s - 1) // s
    elif pad == PAD_VALID:
        out = (n + s - ek) // s
    else:
        raise _err(op, f"unknown padding {pad}")
    total = max((out - 1) * s + ek - n, 0)
    return total // 2, out


def _struct(d: dict) -> str:
    def v(x):
        if isinstance(x, (list, tuple)):
            return "{" + ", ".join(str(int(i)) for i in x) + "}"
        return str(int(x))
    return "{" + ", ".join(f".{k} = {v(x)}" for k, x in d.items()) + "}"


def conv_scratch_bytes(kh: int, kw: int, ic: int) -> int:
    """CONV_2D scratch (see tml_conv2d_s8): two int8 windows unless the filter is 1x1, rounded up to 4,
    plus two windows expanded to halfword pairs for the DSP build (4 words per 4 values)."""
    ks = kh * kw * ic
    patch = 0 if kh * kw == 1 else (2 * ks + 3) // 4 * 4
    return patch + 16 * (ks // 4)


def scratch_id(L: Layer) -> int:
    """Planner id of a layer's scratch buffer (negative, never a tensor index)."""
    return -1 - L.index


def lower(model: Model, kernels: str = "auto") -> Lowered:
    """kernels="generic" keeps every layer on the generic kernels (tests compare both paths)."""
    return _Lowerer(model, kernels).run()
