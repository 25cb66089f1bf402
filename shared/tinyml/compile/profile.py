"""Per-layer model profile: op, shapes, MACs, weight bytes, arena offsets, live memory (peak marked); totals; TFLM's arena for the same
model; flash for weights and kernels; estimated Cortex-M4 instructions (a per-kernel cost model calibrated
on QEMU runs of the DSP build, see docs/benchmarks.md)."""

from __future__ import annotations

from .codegen import CompiledModel

# Cortex-M4 cost model of the DSP build at -O2: instructions = per_mac * MACs + per_out * output elements
# + per_call, fitted to per-layer QEMU counts of `tinyml bench` runs over the DS-CNN, the app models and
# the randomized test models. An estimate: small layers are dominated by loop overheads it ignores.
M4_COST = {  # kernel: (per MAC, per output element, per call)
    "tml_conv2d_s8": (1.81, 36.0, 200), "tml_conv2d_s8_1x1": (1.13, 54.0, 200), "tml_dwconv2d_s8": (3.6, 40.0, 200),
    "tml_fc_s8": (2.62, 35.0, 100), "tml_avgpool_s8": (2.4, 30.0, 50),
    # the packed kernels (the DSP build's choice wherever the compiler proves their requantization exact)
    "tml_conv2d_packed_s8": (1.25, 12.0, 500), "tml_conv2d_packed_s8_1x1": (1.1, 5.8, 200),
    "tml_dwconv2d_packed_s8": (2.4, 5.0, 300), "tml_fc_packed_s8": (1.6, 20.0, 160), "tml_maxpool_s8": (6.0, 20.0, 50),
    "tml_mean_s8": (6.0, 38.0, 50), "tml_softmax_s8": (0.0, 370.0, 100), "tml_logistic_s8": (0.0, 330.0, 50),
    "tml_add_s8": (0.0, 87.0, 70), "tml_mul_s8": (0.0, 43.0, 40), "tml_concat_s8": (0.0, 7.3, 50),
    "tml_pad_s8": (0.0, 2.2, 1200), "tml_quantize_s8": (0.0, 25.0, 40), "tml_dequantize_s8": (0.0, 60.0, 40),
}


def _numel(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def estimate_layer(L) -> int:
    if not L.kernel:
        return 0
    k = L.kernel
    if k in ("tml_conv2d_s8", "tml_conv2d_packed_s8") and L.macs == _numel(L.out_shape) * L.in_shapes[0][-1]:
        k += "_1x1"
    per_mac, per_out, per_call = M4_COST.get(k, (2.0, 20.0, 100))
    return int(per_call + per_mac * L.macs + per_out * _numel(L.out_shape))


def live_bytes(cm: CompiledModel) -> list[int]:
    """Per layer: arena bytes holding a tensor live at that layer (the union of their byte ranges, so an
    output written over its dying input counts once)."""
    sizes = cm.lowered.arena_tensors
    out = []
    for k in range(len(cm.layers)):
        spans = sorted((cm.plan.offsets[t], cm.plan.offsets[t] + n) for t, n in sizes.items()
                       if n and cm.plan.lifetimes[t][0] <= k <= cm.plan.lifetimes[t][1])
        total, end = 0, 0
        for a, b in spans:
            if b > end:
                total += b - max(a, end)
                end = b
        out.append(total)
    return out


def profile_rows(cm: CompiledModel) -> list[dict]:
    rows = []
    t = cm.lowered.model.tensors
    live = live_bytes(cm)
    peak = max(live, default=0)
    for k, L in enumerate(cm.layers):
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
            "live": live[k], "peak": "<- peak" if live[k] == peak and peak else "",
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
            ("out B", "out_bytes"), ("shares", "alias"), ("M4 instr (est)", "m4_est"), ("live B", "live"),
            ("", "peak")]
    out = [f"model {name}: {len(cm.layers)} ops, input {'x'.join(map(str, cm.input_shape))} int8, "
           f"output {'x'.join(map(str, cm.output_shape))}", "", format_table(rows, cols), ""]
    macs = cm.macs
    est = sum(r["m4_est"] for r in rows)
    out.append(f"MACs total              {macs:>12,}")
    out.append(f"weights (int8)          {cm.weight_bytes:>12,} B")
    out.append(f"constants in flash      {cm.const_bytes:>12,} B  (weights, biases, requant tables, layer params)")
    out.append(f"peak live memory        {max(r['live'] for r in rows) if rows else 0:>12,} B  (layer "
               f"{next((r['index'] for r in rows if r['peak']), '-')}; the arena adds only alignment and placement)")
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
