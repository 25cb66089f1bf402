"""Per-layer model profile: op, shapes, MACs, weight bytes, arena offsets; totals; TFLM's arena for the same
model; flash for weights and kernels; estimated Cortex-M4 instructions (a per-kernel cost model calibrated
on QEMU runs of the DSP build, see docs/benchmarks.md)."""

from __future__ import annotations

from .codegen import CompiledModel

# Instructions per unit of work on Cortex-M4 (DSP build, -O2), measured with `tinyml bench` under QEMU.
# unit: MAC for conv/fc, output element for the rest. Plus a fixed call overhead.
M4_COST = {
    "tml_conv2d_s8": 1.6, "tml_conv2d_s8_1x1": 1.3, "tml_dwconv2d_s8": 3.2, "tml_fc_s8": 1.4,
    "tml_avgpool_s8": 4.0, "tml_maxpool_s8": 5.0, "tml_mean_s8": 3.0, "tml_softmax_s8": 350.0,
    "tml_logistic_s8": 180.0, "tml_add_s8": 45.0, "tml_mul_s8": 25.0, "tml_concat_s8": 0.5,
    "tml_pad_s8": 1.0, "tml_quantize_s8": 25.0, "tml_dequantize_s8": 60.0,
}
CALL_OVERHEAD = 60


def _numel(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def estimate_layer(L) -> int:
    if not L.kernel:
        return 0
    k = L.kernel
    if k == "tml_conv2d_s8" and "_1x1" not in k:
        p = next((c.init for c in L.consts if c.ctype == "tml_conv_params"), "")
        if ".k_h = 1," in p and ".k_w = 1," in p:
            k = "tml_conv2d_s8_1x1"
    if k in ("tml_conv2d_s8", "tml_conv2d_s8_1x1", "tml_dwconv2d_s8", "tml_fc_s8"):
        work = L.macs
    else:
        work = _numel(L.out_shape)
    return int(CALL_OVERHEAD + M4_COST.get(k, 10.0) * work)


def profile_rows(cm: CompiledModel) -> list[dict]:
    rows = []
    t = cm.lowered.model.tensors
    for L in cm.layers:
        out = L.outputs[0] if L.outputs else None
        rows.append({
            "index": L.index, "op": L.op,
            "in": " ".join("x".join(map(str, s)) for s in L.in_shapes) or "-",
            "out": "x".join(map(str, L.out_shape)),
            "macs": L.macs, "weights": L.weight_bytes, "const": L.const_bytes,
            "in_off": ",".join(str(cm.plan.offsets[i]) for i in L.inputs) or "-",
            "out_off": str(cm.plan.offsets[out]) if out is not None else "-",
            "out_bytes": t[out].size if out is not None else 0,
            "alias": L.share[0] if L.share and cm.plan.offsets.get(L.share[1]) == cm.plan.offsets.get(out) else "",
            "m4_est": estimate_layer(L),
        })
    return rows


def format_table(rows: list[dict], cols: list[tuple[str, str]]) -> str:
    head = [h for h, _ in cols]
    body = [[str(r[k]) for _, k in cols] for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]
    fmt = lambda vals: "  ".join(v.rjust(w) if v.replace(",", "").replace(".", "").isdigit() else v.ljust(w)
                                 for v, w in zip(vals, widths))
    lines = [fmt(head), "  ".join("-" * w for w in widths)] + [fmt(b) for b in body]
    return "\n".join(lines)


def render_profile(cm: CompiledModel, name: str, tflm_arena: int | None, kernel_flash: dict | None) -> str:
    rows = profile_rows(cm)
    cols = [("#", "index"), ("op", "op"), ("input", "in"), ("output", "out"), ("MACs", "macs"),
            ("weights B", "weights"), ("const B", "const"), ("in @", "in_off"), ("out @", "out_off"),
            ("out B", "out_bytes"), ("shares", "alias"), ("M4 instr (est)", "m4_est")]
    out = [f"model {name}: {len(cm.layers)} ops, input {'x'.join(map(str, cm.input_shape))} int8, "
           f"output {'x'.join(map(str, cm.output_shape))}", "", format_table(rows, cols), ""]
    macs = cm.macs
    est = sum(r["m4_est"] for r in rows)
    out.append(f"MACs total              {macs:>12,}")
    out.append(f"weights (int8)          {cm.weight_bytes:>12,} B")
    out.append(f"constants in flash      {cm.const_bytes:>12,} B  (weights, biases, requant tables, layer params)")
    line = f"arena (ours)            {cm.arena_size:>12,} B"
    if tflm_arena:
        line += f"   TFLM arena {tflm_arena:,} B (64-bit host)  ratio {cm.arena_size / tflm_arena:.2f}"
    out.append(line)
    if kernel_flash:
        out.append(f"kernel code (M4, -Os)   {kernel_flash['kernels']:>12,} B  ({', '.join(cm.kernels)})")
        out.append(f"weights+consts (M4)     {kernel_flash['model_rodata']:>12,} B   model code {kernel_flash['model_text']:,} B")
    out.append(f"M4 instructions (est)   {est:>12,}   ({est / macs:.2f} per MAC)" if macs else
               f"M4 instructions (est)   {est:>12,}")
    return "\n".join(out)
