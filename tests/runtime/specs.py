"""Random model specs for the parity tests (deterministic per seed), built by tinyml.compile.zoo."""

from __future__ import annotations

import numpy as np

ACTS = ["none", "relu", "relu6"]
KINDS = ["conv2d", "dwconv2d", "dense", "dense_rows", "pool", "gap2d", "conv1d_app", "softmax", "sigmoid",
         "add", "mul", "concat", "pad", "scale", "stack"]


def _pick(rng, xs):
    return xs[int(rng.integers(len(xs)))]


def _conv_layer(rng, h, w, depthwise=False):
    """A conv layer valid for an h x w input; returns (layer, out_h, out_w)."""
    kh, kw = int(rng.integers(1, min(h, 5) + 1)), int(rng.integers(1, min(w, 5) + 1))
    padding = _pick(rng, ["same", "valid"])
    if rng.random() < 0.35:
        strides, dil = [1, 1], [int(rng.integers(1, 3)), int(rng.integers(1, 3))]
    else:
        strides, dil = [int(rng.integers(1, 4)), int(rng.integers(1, 4))], [1, 1]
    ekh, ekw = (kh - 1) * dil[0] + 1, (kw - 1) * dil[1] + 1
    if padding == "valid" and (ekh > h or ekw > w):
        dil = [1, 1]
        ekh, ekw = kh, kw
    layer = {"type": "dwconv2d" if depthwise else "conv2d", "kernel": [kh, kw], "strides": strides,
             "padding": padding, "dilation": dil, "activation": _pick(rng, ACTS), "bias": bool(rng.random() < 0.85)}
    if depthwise:
        layer["multiplier"] = int(rng.integers(1, 4))
    else:
        layer["filters"] = int(rng.integers(1, 17))
    if padding == "same":
        oh, ow = -(-h // strides[0]), -(-w // strides[1])
    else:
        oh, ow = (h - ekh) // strides[0] + 1, (w - ekw) // strides[1] + 1
    return layer, oh, ow


def random_spec(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    kind = KINDS[seed % len(KINDS)]
    h, w, c = int(rng.integers(3, 13)), int(rng.integers(3, 13)), int(rng.integers(1, 9))
    spec = {"seed": seed, "input_mean": float(rng.normal(0, 0.5)), "input_std": float(rng.uniform(0.3, 3.0)),
            "weight_scale": float(rng.uniform(0.5, 2.0))}
    if kind in ("conv2d", "dwconv2d"):
        layer, _, _ = _conv_layer(rng, h, w, kind == "dwconv2d")
        spec.update(input=[h, w, c], layers=[layer])
    elif kind == "dense":
        spec.update(input=[int(rng.integers(1, 64))],
                    layers=[{"type": "dense", "units": int(rng.integers(1, 33)), "activation": _pick(rng, ACTS),
                             "bias": bool(rng.random() < 0.85)}])
    elif kind == "dense_rows":  # Dense on a 2-D input: FULLY_CONNECTED with several rows
        spec.update(input=[int(rng.integers(2, 9)), int(rng.integers(1, 17))],
                    layers=[{"type": "dense", "units": int(rng.integers(1, 17)), "activation": _pick(rng, ACTS)}])
    elif kind == "pool":
        ph, pw = int(rng.integers(1, min(h, 4) + 1)), int(rng.integers(1, min(w, 4) + 1))
        layer = {"type": _pick(rng, ["avgpool2d", "maxpool2d"]), "pool": [ph, pw],
                 "strides": [int(rng.integers(1, 4)), int(rng.integers(1, 4))], "padding": _pick(rng, ["same", "valid"])}
        spec.update(input=[h, w, c], layers=[layer])
    elif kind == "gap2d":
        conv, _, _ = _conv_layer(rng, h, w)
        spec.update(input=[h, w, c], layers=[conv, {"type": "gap2d", "keepdims": bool(rng.random() < 0.3)}])
    elif kind == "conv1d_app":  # the fall-detect shape: Conv1D -> GAP1D -> Dense -> Softmax
        t = int(rng.integers(8, 65))
        spec.update(input=[t, int(rng.integers(1, 7))],
                    layers=[{"type": "conv1d", "filters": int(rng.integers(2, 17)), "kernel": int(rng.integers(1, 8)),
                             "strides": int(rng.integers(1, 3)), "padding": _pick(rng, ["same", "valid"]),
                             "activation": "relu"},
                            {"type": "gap1d"},
                            {"type": "dense", "units": int(rng.integers(2, 9))},
                            {"type": "softmax"}])
    elif kind == "softmax":
        spec.update(input=[int(rng.integers(1, 40))],
                    layers=[{"type": "dense", "units": int(rng.integers(2, 20))}, {"type": "softmax"}])
        spec["weight_scale"] = float(rng.uniform(0.5, 6.0))
    elif kind == "sigmoid":
        spec.update(input=[int(rng.integers(1, 40))],
                    layers=[{"type": "dense", "units": int(rng.integers(1, 20))}, {"type": "sigmoid"}])
        spec["weight_scale"] = float(rng.uniform(0.5, 6.0))
    elif kind in ("add", "mul"):
        conv = {"type": "conv2d", "filters": c, "kernel": [int(rng.integers(1, 4))] * 2, "padding": "same",
                "activation": _pick(rng, ACTS)}
        spec.update(input=[h, w, c], layers=[{"type": f"branch_{kind}", "layers": [conv]}])
    elif kind == "concat":
        conv = {"type": "conv2d", "filters": int(rng.integers(1, 9)), "kernel": [1, 1], "activation": "relu"}
        spec.update(input=[h, w, c], layers=[{"type": "branch_concat", "layers": [conv],
                                              "axis": _pick(rng, [-1, 1, 2])}])
        if spec["layers"][0]["axis"] != -1:
            spec["layers"][0]["layers"][0]["filters"] = c
    elif kind == "pad":
        pads = [[int(rng.integers(0, 3)), int(rng.integers(0, 3))], [int(rng.integers(0, 3)), int(rng.integers(0, 3))]]
        spec.update(input=[h, w, c], layers=[{"type": "pad2d", "padding": pads},
                                             {"type": "conv2d", "filters": 4, "kernel": [2, 2]}])
    elif kind == "scale":
        spec.update(input=[h, w, c], layers=[{"type": "conv2d", "filters": 3, "kernel": [1, 1]},
                                             {"type": "scale", "value": float(rng.uniform(-3, 3))}])
    else:  # "stack": a few layers in a row, like a tiny CNN
        l1, oh, ow = _conv_layer(rng, h, w)
        layers = [l1]
        if oh >= 2 and ow >= 2:
            layers.append({"type": "maxpool2d", "pool": [2, 2], "padding": "same"})
            oh, ow = -(-oh // 2), -(-ow // 2)
        l2, oh, ow = _conv_layer(rng, oh, ow, depthwise=True)
        layers += [l2, {"type": "flatten"}, {"type": "dense", "units": int(rng.integers(2, 12)), "activation": "relu"},
                   {"type": "dense", "units": int(rng.integers(2, 6))}, {"type": "softmax"}]
        spec.update(input=[h, w, c], layers=layers)
    return spec


def make_inputs(spec: dict, shape, n: int, seed: int) -> np.ndarray:
    """Half uniform int8 (saturating corners), half int8 drawn like the calibration data."""
    rng = np.random.default_rng(seed + 1000)
    xs = rng.integers(-128, 128, (n, *shape), dtype=np.int8)
    xs[n // 2:] = np.clip(np.round(rng.normal(0, 40, (n - n // 2, *shape))), -128, 127).astype(np.int8)
    return xs


EXTRA = ["relu_alone", "relu6_alone", "padv2", "float_out"]


def extra_spec(kind: str, seed: int) -> dict:
    """Ops the converter emits only from particular graphs: standalone RELU/RELU6, PADV2, DEQUANTIZE."""
    rng = np.random.default_rng(10_000 + seed)
    n = int(rng.integers(2, 40))
    spec = {"seed": 10_000 + seed, "input": [n], "input_mean": float(rng.normal(0, 1)),
            "input_std": float(rng.uniform(0.5, 4.0))}
    dense = {"type": "dense", "units": int(rng.integers(2, 20))}
    if kind == "relu_alone":
        spec["layers"] = [{"type": "relu"}, dense]
    elif kind == "relu6_alone":
        spec["layers"] = [{"type": "relu", "max_value": 6.0}, dense]
        spec["input_std"] = float(rng.uniform(2.0, 8.0))
    elif kind == "padv2":
        spec["input"] = [int(rng.integers(2, 8)), int(rng.integers(2, 8)), int(rng.integers(1, 4))]
        spec["layers"] = [{"type": "conv2d", "filters": 3, "kernel": [1, 1]},
                          {"type": "padv2", "padding": [[int(rng.integers(0, 3)), int(rng.integers(0, 3))],
                                                        [int(rng.integers(0, 3)), int(rng.integers(0, 3))]],
                           "value": float(rng.uniform(-2, 2))}]
    elif kind == "float_out":
        spec["layers"] = [dense]
        spec["output_type"] = "float32"
    else:
        raise ValueError(kind)
    return spec


# Shapes that take each packed kernel's paths (tml_nn_gemm.c, tml_nn_dwconv.c): the DSP 2x2 blocks and
# their odd-filter and lone-pixel ends, windows packed from contiguous input, from whole rows (with
# borders) and through im2col, windows that are not a multiple of 4 or 8 values, the depthwise ring with
# the two-pixel 3x3 loop, its single pixels, partial channel groups, strides, dilations and tall filters.
PACKED = ["pointwise", "conv_rows", "conv_im2col", "conv1d", "dw3x3", "dw_general", "fc", "chain"]


def packed_spec(kind: str, seed: int) -> dict:
    rng = np.random.default_rng(20_000 + 97 * seed + PACKED.index(kind))
    spec = {"seed": 20_000 + seed, "input_mean": float(rng.normal(0, 0.5)), "input_std": float(rng.uniform(0.3, 3.0)),
            "weight_scale": float(rng.uniform(0.5, 2.0))}
    h, w = int(rng.integers(1, 9)), int(rng.integers(1, 10))
    act = _pick(rng, ACTS)
    if kind == "pointwise":
        c = int(rng.integers(1, 21))
        spec.update(input=[h, w, c], layers=[{"type": "conv2d", "filters": int(rng.integers(1, 21)), "kernel": [1, 1],
                                               "strides": [int(rng.integers(1, 3))] * 2, "activation": act}])
    elif kind == "conv_rows":  # k_w * in_c a multiple of 4: packed straight from the rows
        c = _pick(rng, [1, 2, 4, 8])
        w = max(w, 4)
        kw = _pick(rng, [k for k in (1, 2, 4, 8) if k * c % 4 == 0 and k <= w])
        spec.update(input=[max(h, 2), w, c],
                    layers=[{"type": "conv2d", "filters": int(rng.integers(1, 17)), "kernel": [int(rng.integers(1, 4)), kw],
                             "strides": [int(rng.integers(1, 3)), int(rng.integers(1, 3))],
                             "padding": _pick(rng, ["same", "valid"]), "activation": act}])
        if spec["layers"][0]["padding"] == "valid" and spec["layers"][0]["kernel"][0] > spec["input"][0]:
            spec["layers"][0]["padding"] = "same"
    elif kind == "conv_im2col":
        h, w = max(h, 3), max(w, 3)
        layer, _, _ = _conv_layer(rng, h, w)
        layer["kernel"] = [max(layer["kernel"][0], 2), max(layer["kernel"][1], 2)]
        if layer["padding"] == "valid":
            layer["padding"] = "same"
        spec.update(input=[h, w, _pick(rng, [1, 3, 5, 6])], layers=[layer])
    elif kind == "conv1d":  # windows contiguous in the input away from the borders
        t = int(rng.integers(4, 40))
        spec.update(input=[t, int(rng.integers(1, 13))],
                    layers=[{"type": "conv1d", "filters": int(rng.integers(1, 25)), "kernel": int(rng.integers(1, 8)),
                             "strides": int(rng.integers(1, 3)), "padding": _pick(rng, ["same", "valid", "causal"]),
                             "activation": act}])
        if spec["layers"][0]["kernel"] > t:
            spec["layers"][0]["kernel"] = t
    elif kind == "dw3x3":
        c = _pick(rng, [1, 2, 3, 4, 5, 7, 8, 12, 16, 20])
        spec.update(input=[max(h, 3), max(w, 2), c],
                    layers=[{"type": "dwconv2d", "kernel": [3, 3], "padding": _pick(rng, ["same", "same", "valid"]),
                             "strides": [1, 1], "activation": act, "bias": bool(rng.random() < 0.85)}])
        if spec["layers"][0]["padding"] == "valid" and w < 3:
            spec["layers"][0]["padding"] = "same"
    elif kind == "dw_general":
        layer, _, _ = _conv_layer(rng, max(h, 2), max(w, 2), depthwise=True)
        layer["multiplier"] = 1
        spec.update(input=[max(h, 2), max(w, 2), int(rng.integers(1, 11))], layers=[layer])
    elif kind == "fc":
        spec.update(input=[int(rng.integers(1, 30))],
                    layers=[{"type": "dense", "units": int(rng.integers(1, 12)), "activation": act,
                             "bias": bool(rng.random() < 0.85)}])
    else:  # "chain": conv -> depthwise 3x3 -> pointwise, the DS-CNN block that runs in place
        c = _pick(rng, [4, 8, 12])
        spec.update(input=[max(h, 3), max(w, 3), int(rng.integers(1, 4))],
                    layers=[{"type": "conv2d", "filters": c, "kernel": [3, 3], "padding": "same", "activation": "relu"},
                            {"type": "dwconv2d", "kernel": [3, 3], "padding": "same", "activation": "relu"},
                            {"type": "conv2d", "filters": c, "kernel": [1, 1], "activation": "relu"},
                            {"type": "dwconv2d", "kernel": [3, 3], "padding": "same", "activation": "relu"},
                            {"type": "conv2d", "filters": int(rng.integers(2, 9)), "kernel": [1, 1]}])
    return spec
