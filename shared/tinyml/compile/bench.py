"""`tinyml bench`: per model (every model of every app, and the MLPerf Tiny DS-CNN), our arena vs TFLM's,
flash for weights and kernels on Cortex-M4, instructions per inference on the emulated Cortex-M4 / M7 / M3
(QEMU -icount shift=0, SysTick) per layer class, an estimate of Cortex-M4 cycles, cycles and flash on the
8-bit boards an app runs on (simavr), and host time per inference ours vs the TFLM Python interpreter.
Outputs of every build are checked against TFLM."""

from __future__ import annotations

import datetime
import platform
import time

import numpy as np

from ..errors import TinymlError
from ..paths import repo_root

# The runtime's goals: arena <= 0.5x TFLM on every model; kernel code <= 8 KB; on the DS-CNN (M4 DSP build)
# <= 1.5 instructions per MAC overall, <= 1.4 in pointwise convolutions, <= 3.0 in depthwise ones.
GOALS = {"arena_ratio": 0.5, "kernel_flash": 8192, "ipm_dscnn": 1.5,
         "class_ipm_dscnn": {"pointwise conv": 1.4, "depthwise conv": 3.0}}
CLASSES = ("pointwise conv", "conv", "depthwise conv", "fully connected", "other")
# Builds run per model: (key, core, DSP kernels, kernels) -- the M4 with and without the DSP extension, the
# M4 with the generic kernels only (what the packed kernels buy, and what their weight layout costs), the
# M7 (DSP) and the M3 (portable C99: it has no DSP extension), also with the generic kernels only (what the
# packed kernels' portable C buys a 32-bit core without the DSP extension).
BUILDS = (("m4_dsp", "cortex-m4", True, "auto"), ("m4_portable", "cortex-m4", False, "auto"),
          ("m4_dsp_generic", "cortex-m4", True, "generic"), ("m7_dsp", "cortex-m7", True, "auto"),
          ("m3_portable", "cortex-m3", False, "auto"), ("m3_portable_generic", "cortex-m3", False, "generic"))
# On a board narrower than 32 bits (BOARD_WORD_BITS) the model runs with the board's kernels (the generic ones:
# lower.kernels_for) and, for the trade, with the packed kernels' portable C.
SMALL_KERNELS = (("board", None), ("packed", "auto"))


def layer_class(L) -> str:
    """pointwise conv (a 1x1 CONV_2D), conv, depthwise conv, fully connected, or other."""
    if L.op == "CONV_2D":
        n = 1
        for d in L.out_shape:
            n *= d
        in_c = L.in_shapes[0][-1] if L.in_shapes else 0
        return "pointwise conv" if L.macs and L.macs == n * in_c else "conv"
    return {"DEPTHWISE_CONV_2D": "depthwise conv", "FULLY_CONNECTED": "fully connected"}.get(L.op, "other")


def m4_flash(data: bytes, kernels: str = "auto") -> dict:
    from .cortexm import build_runner, flash_breakdown

    rb = build_runner(data, np.zeros((1, len(_dummy_input(data))), dtype=np.int8), dsp=True, opt="-Os", tag="flash",
                      kernels=kernels)
    return flash_breakdown(rb)


def _dummy_input(data: bytes) -> np.ndarray:
    from .tflite_format import parse_tflite

    m = parse_tflite(data)
    return np.zeros(m.tensors[m.inputs[0]].size, dtype=np.int8)


def _host_time(fn, rounds: int = 7, min_time: float = 0.05, max_iter: int = 5000) -> float:
    """Seconds per call: the best of several short rounds (the machine may be shared; the minimum is the
    least disturbed figure)."""
    fn()
    best = float("inf")
    for _ in range(rounds):
        n, t0 = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            dt = time.perf_counter() - t0
            if dt >= min_time or n >= max_iter:
                break
        best = min(best, dt / n)
    return best


def _by_class(layers: list[tuple[int, int]], cls_of: dict[int, str]) -> dict[str, int]:
    out = {c: 0 for c in CLASSES}
    for i, c in layers:
        out[cls_of.get(i, "other")] += c
    return out


def small_boards(app) -> list[str]:
    """The boards narrower than 32 bits that the app's [firmware] boards name (the 8-bit avr-uno)."""
    from ..device.board import load_board

    return [b for b in app.manifest.firmware.get("boards", []) if load_board(b).word_bits < 32]


def app_models(app) -> list[tuple[str, bytes]]:
    """(bench name, .tflite bytes) of each committed model of the app: the primary as <app>, a further
    [models.<name>] as <app>/<name>."""
    out = []
    for model in ["", *app.manifest.models]:
        p = app.model_path(model)
        if p.is_file():
            out.append((f"{app.id}/{model}" if model else app.id, p.read_bytes()))
    return out


def bench_small_board(board: str, data: bytes, xs: np.ndarray, ref: np.ndarray, name: str, macs: int) -> dict:
    """Cycles (or the board's cost unit) per inference and flash of the model runner on an 8/16-bit board,
    with the board's kernels and with the packed kernels' portable C; {"error": ...} when it does not fit."""
    from .cortexm import build_runner, flash_breakdown, run_runner

    out: dict = {}
    for key, kernels in SMALL_KERNELS:
        try:
            rb = build_runner(data, xs, dsp=False, opt="-O2", board=board, tag=f"{name}-bench", kernels=kernels)
            res = run_runner(rb, timeout_s=300)
        except TinymlError as e:
            return {"error": str(e).splitlines()[0][:200]}
        fl = flash_breakdown(rb)
        cost = int(np.median(res.instructions))
        out[key] = {"cost": cost, "per_mac": cost / max(macs, 1), "unit": res.unit,
                    "exact": bool((res.outputs == ref).all()), "kernel_flash": fl["kernels"],
                    "weights_flash": fl["model_rodata"], "kernels": rb.compiled.kernels}
    return out


def bench_model(name: str, data: bytes, n_vectors: int = 8, seed: int = 0, trace: bool = True,
                boards: tuple[str, ...] | list[str] = ()) -> dict:
    """boards: 8/16-bit boards to run the model on too (small_boards of its app)."""
    from .cortexm import CORES, build_runner, flash_breakdown, run_runner
    from .cycles import hot_loops, trace_layers
    from .host import HostModel
    from .reference import TflmModel, tflm_arena_bytes

    host = HostModel(data)
    cm = host.compiled
    rng = np.random.default_rng(seed)
    xs = rng.integers(-128, 128, (n_vectors, *cm.input_shape), dtype=np.int8)
    tflm = TflmModel(data)
    ref = tflm.invoke_many(xs).reshape(n_vectors, -1)
    ours_host = host.invoke_many(xs).reshape(n_vectors, -1)
    cls_of = {L.index: layer_class(L) for L in cm.layers}
    class_macs = {c: 0 for c in CLASSES}
    for L in cm.layers:
        class_macs[cls_of[L.index]] += L.macs
    r = {"name": name, "ops": len(cm.layers), "macs": cm.macs, "arena": cm.arena_size,
         "tflm_arena": tflm_arena_bytes(data), "host_exact": bool((ours_host.view(np.int8) == ref.view(np.int8)).all()),
         "class_macs": class_macs, "packed_layers": sum("packed" in L.kernel for L in cm.layers)}
    r["arena_ratio"] = r["arena"] / r["tflm_arena"]
    for key, core, dsp, kernels in BUILDS:  # speed builds (-O2); flash from the size builds (-Os) below
        rb = build_runner(data, xs, dsp=dsp, opt="-O2", tag=name, core=core, kernels=kernels)
        res = run_runner(rb)
        r[f"{key}_exact"] = bool((res.outputs == ref.view(np.int8)).all())
        r[f"{key}_instr"] = int(np.median(res.instructions))
        r[f"{key}_ipm"] = r[f"{key}_instr"] / max(cm.macs, 1)
        r[f"{key}_classes"] = _by_class(res.layers, cls_of)
        if key.startswith("m3_"):  # the portable trade on a 32-bit core: flash of the same -O2 build
            fl = flash_breakdown(rb)
            r[f"{key}_flash"] = (fl["kernels"], fl["model_rodata"])
        if key == "m4_dsp":
            r["unit"] = res.unit
            r["layers"] = [(i, next((L.op for L in cm.layers if L.index == i), "?"), c) for i, c in res.layers]
            r["layer_macs"] = {L.index: L.macs for L in cm.layers}
    r["machines"] = {core: CORES[core][1] for _, core, _, _ in BUILDS}
    r["small_boards"] = {b: bench_small_board(b, data, xs, ref.view(np.int8), name, cm.macs) for b in boards}
    if trace:  # one inference of the DSP build, instruction by instruction: a Cortex-M4 cycle estimate
        rb = build_runner(data, xs[:1], dsp=True, opt="-O2", tag=f"{name}-trace")
        idx = [i for i, _, _ in r["layers"]]  # the layers the runner's hook reports (RESHAPE has no code)
        costs = trace_layers(rb.elf, len(idx))
        r["m4_cycles"] = sum(c.cycles for c in costs)
        r["m4_traced_instr"] = sum(c.instructions for c in costs)
        r["m4_cycles_classes"] = _by_class([(i, c.cycles) for i, c in zip(idx, costs)], cls_of)
        kinds: dict[str, int] = {}
        for c in costs:
            for k, v in c.classes.items():
                kinds[k] = kinds.get(k, 0) + v
        r["m4_instr_kinds"] = kinds
        r["hot_loops"] = [h for h in hot_loops(costs) if h["share"] >= 0.005]
    fl, flg = m4_flash(data), m4_flash(data, kernels="generic")
    r.update(kernel_flash=fl["kernels"], weights_flash=fl["model_rodata"], model_code=fl["model_text"],
             per_kernel=fl["per_kernel"], generic_kernel_flash=flg["kernels"], generic_weights_flash=flg["model_rodata"])
    r["kernels"] = cm.kernels
    # Host: our invoke through ctypes vs the TFLM interpreter's invoke (inputs already set).
    host.invoke(xs[0])
    r["host_us"] = _host_time(host.lib.tml_model_invoke) * 1e6
    tflm.it.set_input(xs[0].reshape(tflm.it.get_input_details(0)["shape"]), 0)
    r["tflm_us"] = _host_time(tflm.it.invoke) * 1e6
    return r


def _all_exact(r: dict) -> bool:
    small = [v for b in r.get("small_boards", {}).values() if "error" not in b for v in b.values()]
    return r["host_exact"] and all(r[f"{k}_exact"] for k, *_ in BUILDS) and all(v["exact"] for v in small)


def _small_rows(r: dict) -> list[tuple[str, str]]:
    rows = []
    for b, res in r.get("small_boards", {}).items():
        if "error" in res:
            rows.append((f"{b}: model runner", f"not measured ({res['error']})"))
            continue
        own, pk = res["board"], res["packed"]
        rows.append((f"{b} {own['unit']} / inference, the board's kernels",
                     f"{own['cost']:,} ({own['per_mac']:.1f} per MAC; packed kernels' portable C: {pk['cost']:,}, "
                     f"{pk['per_mac']:.1f} per MAC)"))
        rows.append((f"{b} flash (-O2): kernel code + weights/constants",
                     f"{own['kernel_flash']:,} + {own['weights_flash']:,} B for "
                     f"{', '.join(k.replace('tml_', '') for k in own['kernels'])} (packed: {pk['kernel_flash']:,} + "
                     f"{pk['weights_flash']:,} B)"))
        rows.append((f"{b} bit-exact vs TFLM (board's kernels, packed)", f"{_yn(own['exact'])}, {_yn(pk['exact'])}"))
    return rows


def host_speed(ours_us: float, tflm_us: float) -> str:
    """'1.6x faster' or '1.5x slower': the ratio above 1, in the direction it goes."""
    return f"{tflm_us / ours_us:.1f}x faster" if ours_us <= tflm_us else f"{ours_us / tflm_us:.1f}x slower"


def _cpm(r: dict) -> str:
    return f"{r['m4_cycles'] / max(r['macs'], 1):.2f}" if "m4_cycles" in r else "-"


def render_bench(r: dict, markdown: bool = False) -> str:
    ratio = "met" if r["arena_ratio"] <= GOALS["arena_ratio"] else "NOT met"
    rows = [
        ("ops / MACs", f"{r['ops']} / {r['macs']:,}"),
        ("arena: ours vs TFLM", f"{r['arena']:,} B vs {r['tflm_arena']:,} B = {r['arena_ratio']:.2f}x "
                                f"(goal <= {GOALS['arena_ratio']}x: {ratio})"),
        ("weights + constants flash (M4)", f"{r['weights_flash']:,} B ({r['generic_weights_flash']:,} B with the "
                                           f"generic kernels' layout)"),
        ("kernel code flash (M4, -Os)", f"{r['kernel_flash']:,} B for {', '.join(k.replace('tml_', '') for k in r['kernels'])} "
                                        f"(goal <= 8 KB; generic kernels only: {r['generic_kernel_flash']:,} B)"),
        ("model code flash (M4, -Os)", f"{r['model_code']:,} B"),
        ("M4 instructions / inference, DSP", f"{r['m4_dsp_instr']:,} ({r['m4_dsp_ipm']:.2f} per MAC)"),
        ("M4 estimated cycles / inference, DSP", f"{r['m4_cycles']:,} ({_cpm(r)} per MAC)" if "m4_cycles" in r else "-"),
        ("M4 instructions, DSP, generic kernels only", f"{r['m4_dsp_generic_instr']:,} ({r['m4_dsp_generic_ipm']:.2f} per MAC)"),
        ("M4 instructions / inference, portable C99", f"{r['m4_portable_instr']:,} ({r['m4_portable_ipm']:.2f} per MAC)"),
        ("M7 instructions / inference, DSP", f"{r['m7_dsp_instr']:,} ({r['m7_dsp_ipm']:.2f} per MAC)"),
        ("M3 instructions / inference, portable C99", f"{r['m3_portable_instr']:,} ({r['m3_portable_ipm']:.2f} per MAC)"),
        ("M3 instructions, portable C99, generic kernels only", f"{r['m3_portable_generic_instr']:,} "
                                                               f"({r['m3_portable_generic_ipm']:.2f} per MAC)"),
        ("M3 flash (-O2): kernel code + weights/constants", "{:,} + {:,} B (generic kernels only: {:,} + {:,} B)".format(
            *r["m3_portable_flash"], *r["m3_portable_generic_flash"])),
        ("bit-exact vs TFLM (host; M4 DSP, portable, generic; M7; M3)",
         f"{_yn(r['host_exact'])}; {_yn(r['m4_dsp_exact'])}, {_yn(r['m4_portable_exact'])}, "
         f"{_yn(r['m4_dsp_generic_exact'])}; {_yn(r['m7_dsp_exact'])}; {_yn(r['m3_portable_exact'])}, "
         f"{_yn(r['m3_portable_generic_exact'])}"),
        *_small_rows(r),
        ("host time / inference: ours vs TFLM python", f"{r['host_us']:.1f} us vs {r['tflm_us']:.1f} us "
                                                       f"({host_speed(r['host_us'], r['tflm_us'])})"),
    ]
    if markdown:
        out = [f"### {r['name']}", "", "| metric | value |", "| --- | --- |"]
        out += [f"| {k} | {v} |" for k, v in rows]
        out += ["", "Instructions per MAC by layer class (cycles: the M4 DSP build's estimate):", "",
                "| layer class | MACs | M4 DSP | M4 est. cycles | M4 DSP, generic kernels | M4 portable | M7 DSP | M3 portable | "
                "M3 portable, generic kernels |",
                "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for c in CLASSES:
            m = r["class_macs"][c]
            if not m and not r["m4_dsp_classes"][c]:
                continue

            def per(v: int) -> str:
                return f"{v / m:.2f}" if m else f"{v:,} instr"
            cyc = per(r["m4_cycles_classes"][c]) if "m4_cycles_classes" in r else "-"
            out.append(f"| {c} | {m:,} | {per(r['m4_dsp_classes'][c])} | {cyc} | {per(r['m4_dsp_generic_classes'][c])} | "
                       f"{per(r['m4_portable_classes'][c])} | {per(r['m7_dsp_classes'][c])} | "
                       f"{per(r['m3_portable_classes'][c])} | {per(r['m3_portable_generic_classes'][c])} |")
        if "m4_instr_kinds" in r:
            tot = sum(r["m4_instr_kinds"].values()) or 1
            out += ["", "Executed instructions by kind (M4 DSP build, one inference): " + ", ".join(
                f"{k} {100 * v / tot:.1f}%" for k, v in sorted(r["m4_instr_kinds"].items(), key=lambda kv: -kv[1]))]
        if r.get("hot_loops"):
            out += ["", "Inner loops (M4 DSP build, the most executed block of each kernel that multiplies, from the "
                    "trace): the ideal is its multiply-accumulate instructions alone.", "",
                    "| function | instructions / iteration | MAC instructions (ideal) | MACs / iteration | "
                    "instructions / MAC (ideal) | iterations | share of the inference |",
                    "| --- | --- | --- | --- | --- | --- | --- |"]
            out += [f"| {h['function']} | {h['instructions']} | {h['mac_instructions']} | {h['macs']} | "
                    f"{h['instructions'] / h['macs']:.2f} ({h['mac_instructions'] / h['macs']:.2f}) | {h['iterations']:,} | "
                    f"{100 * h['share']:.1f}% |" for h in r["hot_loops"]]
        out += ["", "<details><summary>per layer, M4 DSP build (instructions)</summary>", "",
                "| op index | op | instructions | MACs |", "| --- | --- | --- | --- |"]
        out += [f"| {i} | {op} | {c:,} | {r['layer_macs'].get(i, 0):,} |" for i, op, c in r["layers"]]
        out += ["", "</details>", ""]
        return "\n".join(out)
    w = max(len(k) for k, _ in rows)
    out = [f"== {r['name']} =="] + [f"{k.ljust(w)}  {v}" for k, v in rows]
    out.append("instructions per MAC by class (M4 DSP): " + ", ".join(
        f"{c} {r['m4_dsp_classes'][c] / r['class_macs'][c]:.2f}" for c in CLASSES if r["class_macs"][c]))
    if "m4_cycles_classes" in r:
        out.append("estimated M4 cycles per MAC by class (DSP): " + ", ".join(
            f"{c} {r['m4_cycles_classes'][c] / r['class_macs'][c]:.2f}" for c in CLASSES if r["class_macs"][c]))
    out.append("per layer (M4 DSP, instructions): " + ", ".join(f"{op}#{i} {c:,}" for i, op, c in r["layers"]))
    return "\n".join(out)


def _yn(b: bool) -> str:
    return "yes" if b else "NO"


def bench_all(n_vectors: int = 8, write_docs: bool = True) -> str:
    from ..apps import discover, load_app
    from .zoo import ds_cnn_tflite

    models = []  # (name, .tflite, 8/16-bit boards it runs on)
    for app_id in discover():
        app = load_app(app_id)
        models += [(name, data, small_boards(app)) for name, data in app_models(app)]
    models.append(("MLPerf Tiny KWS DS-CNN (random weights)", ds_cnn_tflite(), []))
    results = []
    for name, data, boards in models:
        try:
            results.append(bench_model(name, data, n_vectors=n_vectors, boards=boards))
        except TinymlError as e:
            results.append({"name": name, "error": str(e)})
    text = "\n\n".join(render_bench(r) if "error" not in r else f"== {r['name']} ==\nerror: {r['error']}"
                       for r in results)
    if write_docs:
        (repo_root() / "docs").mkdir(exist_ok=True)
        (repo_root() / "docs" / "benchmarks.md").write_text(_markdown(results))
    return text


def _small_summary(r: dict) -> str:
    parts = []
    for b, res in r.get("small_boards", {}).items():
        if "error" in res:
            parts.append(f"{b}: not measured")
        else:
            own, pk = res["board"], res["packed"]
            parts.append(f"{b}: {own['per_mac']:.1f} ({pk['per_mac']:.1f}), "
                         f"{own['kernel_flash'] + own['weights_flash']:,} B")
    return "; ".join(parts) or "-"


def portable_verdicts(r: dict) -> list[tuple[str, bool]]:
    """The portable build must not regress (issue: the generic kernels are what every non-DSP core ran before
    the packed ones): on the M3 the kernels it gets (packed) take no more instructions than the generic ones,
    and on each 8/16-bit board the kernels it gets take no more cycles than the packed kernels' C would."""
    m3 = f"M3 portable {r['m3_portable_instr']:,} <= generic {r['m3_portable_generic_instr']:,} instructions"
    if "m3_portable_flash" in r:  # the price in flash, said beside the verdict (the trade rule)
        (kc, kw), (gc, gw) = r["m3_portable_flash"], r["m3_portable_generic_flash"]
        m3 += f", for {kc - gc:+,} B kernel code and {kw - gw:+,} B weights/constants"
    out = [(m3, r["m3_portable_instr"] <= r["m3_portable_generic_instr"])]
    for b, res in r.get("small_boards", {}).items():
        if "error" not in res:
            own, pk = res["board"], res["packed"]
            out.append((f"{b} {own['cost']:,} <= packed C {pk['cost']:,} {own['unit']}", own["cost"] <= pk["cost"]))
    return out


def _goal_lines(r: dict) -> list[str]:
    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"
    out = [f"* {r['name']}: arena {r['arena_ratio']:.2f}x TFLM ({verdict(r['arena_ratio'] <= GOALS['arena_ratio'])}, "
           f"goal <= {GOALS['arena_ratio']}x); kernel code {r['kernel_flash']:,} B "
           f"({verdict(r['kernel_flash'] <= GOALS['kernel_flash'])}, goal <= 8 KB); "
           f"{r['m4_dsp_ipm']:.2f} instructions/MAC on the M4 DSP build"]
    if "DS-CNN" in r["name"]:
        out[0] += f" ({verdict(r['m4_dsp_ipm'] <= GOALS['ipm_dscnn'])}, goal <= {GOALS['ipm_dscnn']})"
        for c, g in GOALS["class_ipm_dscnn"].items():
            v = r["m4_dsp_classes"][c] / max(r["class_macs"][c], 1)
            out[0] += f"; {c} {v:.2f} ({verdict(v <= g)}, goal <= {g})"
    out[0] += "; portable build not regressed: " + ", ".join(f"{what} ({verdict(ok)})" for what, ok in portable_verdicts(r))
    out[0] += "."
    return out


def _markdown(results: list[dict]) -> str:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    ok = [r for r in results if "error" not in r]
    head = [
        "# Runtime benchmarks",
        "",
        f"Generated by `make bench` (`tinyml bench`) on {now}, host {platform.machine()} / Python "
        f"{platform.python_version()}. Do not edit by hand.",
        "",
        "* **Arena**: ours is the static arena of the generated C (lifetime planner; RESHAPE aliases its input; "
        "elementwise, depthwise and convolution outputs may overlap their inputs within each kernel's proven "
        "in-place contract; scratch included); TFLM's is `print_allocations()` of the `tflite-micro` "
        "interpreter on this 64-bit host (a 32-bit MCU needs a little less).",
        "* **Flash**: bytes of the symbols kept in the linked Cortex-M4 ELF (`arm-none-eabi-gcc -Os`, "
        "--gc-sections): kernel code = the runtime's functions the model uses; weights + constants = the "
        "model's const arrays and layer parameter structs (the packed kernels' weight layout and per-channel "
        "requantization records included; the generic kernels' figure is beside it: the trade).",
        "* **Instructions**: executed instructions per inference on `qemu-system-arm -icount shift=0` read "
        "from SysTick (resolution 40), median over the test inputs, `-O2`: Cortex-M4 on `mps2-an386`, M7 on "
        "`mps2-an500`, M3 on `mps2-an385` (same startup and memory map). The DSP build uses the packed "
        "kernels' assembly and ACLE paths (`TML_NN_DSP=1`), the portable build the plain C99 kernels (what "
        "every non-DSP board runs: the M3, the AVR); \"generic kernels\" is the DSP build without the packed "
        "kernels (`kernels=\"generic\"`), the kernels a layer falls back to when the compiler cannot prove the "
        "fast requantization exact. The M3 figure is also given with the generic kernels only (what the packed "
        "kernels' portable C buys a 32-bit core without the DSP extension).",
        "* **8-bit boards** (an app's [firmware] boards with `BOARD_WORD_BITS` < 32: avr-uno): the model runner "
        "under simavr, cycles per inference (exact: Timer1 at the CPU clock), median over the test inputs, with "
        "the kernels the board gets (the generic ones: `tinyml.compile.lower.kernels_for`) and, for the trade, "
        "the packed kernels' portable C; flash = the runtime's functions the model uses + the model's constants "
        "in program memory, from the same `-O2` build (the app firmware builds its kernels at `-O2`).",
        "* **Estimated cycles** (`tinyml.compile.cycles`): one inference of the M4 DSP build traced "
        "instruction by instruction under QEMU, each instruction weighted by the Cortex-M4 timings of Arm's "
        "TRM (DDI 0439): zero-wait-state memory and no cache, taken branch 3, single load/store 2 (1 when "
        "pipelined behind another), LDM/STM/PUSH/POP 1 + N, divide 7, everything else 1. An estimate, to "
        "compare with engines quoted in cycles per MAC; interlocks and flash wait states are not modelled.",
        "* **Bit-exact**: int8 outputs identical to the TFLM interpreter on every test input, on the host "
        "and on every emulated build.",
        "* **Host time**: `tml_model_invoke()` through ctypes (portable kernels, `gcc -O2`) vs `Interpreter.invoke()` "
        "of the TFLM Python package, inputs already set, same machine; best of 7 rounds.",
        "",
        "## Summary",
        "",
        "| model | MACs | arena ours / TFLM | kernel flash | weights flash | M4 instr/MAC DSP (est. cycles) / generic / portable | M7 / M3 (generic) instr/MAC | 8-bit boards: cycles/MAC (packed C), flash | host us ours / TFLM | bit-exact |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in ok:
        head.append(f"| {r['name']} | {r['macs']:,} | {r['arena']:,} / {r['tflm_arena']:,} B ({r['arena_ratio']:.2f}x) | "
                    f"{r['kernel_flash']:,} B | {r['weights_flash']:,} B | {r['m4_dsp_ipm']:.2f} ({_cpm(r)}) / "
                    f"{r['m4_dsp_generic_ipm']:.2f} / {r['m4_portable_ipm']:.2f} | {r['m7_dsp_ipm']:.2f} / "
                    f"{r['m3_portable_ipm']:.2f} ({r['m3_portable_generic_ipm']:.2f}) | {_small_summary(r)} | "
                    f"{r['host_us']:.0f} / {r['tflm_us']:.0f} | {_yn(_all_exact(r))} |")
    for r in results:
        if "error" in r:
            head.append(f"| {r['name']} | error: {r['error']} | | | | | | | | |")
    goals = ["", "## Goals", ""]
    for r in ok:
        goals += _goal_lines(r)
    notes = ["", "## Notes", "",
             "* For scale (docs/reference-figures.md, with sources): TFLM's reference kernels run the DS-CNN at "
             "about 8.2 cycles per MAC on a Cortex-M4F, the best commercial engines at about 2.0. Compare those "
             "with our estimated cycles; our instruction counts are exact.",
             "* Bit-exactness with TFLM fixes the arithmetic: every output is requantized with TFLite's two "
             "roundings (saturating rounding doubling high multiply, then a rounding shift). The packed kernels "
             "compute the same value as SMMULR(2 acc, multiplier), a sign correction and one arithmetic shift "
             "with the rounding constant and the zero point folded together, then SSAT; the compiler takes "
             "that path for a layer only when it proves, from the layer's weights and bias, |acc| < 2^30 and no "
             "int32 overflow for every int8 input (tinyml.compile.packing; tests/runtime/test_packed.py checks "
             "the identity exhaustively over +-2^17 and at the proof's edges), else the layer keeps the generic "
             "kernel.",
             "* Packed convolutions and fully connected layers: weights re-ordered at compile time into the "
             "order the inner loop loads them, the input offset folded into the bias, 2 pixels x 2 filters per "
             "iteration in assembly (SXTB16 + SMLAD). Depthwise: a ring of int16 input rows pre-offset by the "
             "zero point (no border cases; the output may overwrite the input as it goes), 3x3 windows two "
             "pixels at a time, two channels per SMLAD.",
             "* Where TFLite's own reference kernels (BUILTIN_REF) differ from TFLM is recorded in "
             "tests/runtime/test_tflite_ref_vs_tflm.py: FULLY_CONNECTED by +-1 in about 0.2% of outputs, every "
             "other supported op identical. We follow TFLM."]
    body = ["", "## Per model", ""] + [render_bench(r, markdown=True) for r in ok]
    return "\n".join(head + goals + notes + body) + "\n"
