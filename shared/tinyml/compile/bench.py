"""`tinyml bench`: per model, our arena vs TFLM's, flash for weights and kernels on Cortex-M4, instructions
per inference on the emulated Cortex-M4 (QEMU -icount shift=0, SysTick), instructions per MAC, and host
time per inference ours vs the TFLM Python interpreter. Outputs on the device are checked against TFLM."""

from __future__ import annotations

import datetime
import platform
import time

import numpy as np

from ..errors import TinymlError
from ..paths import repo_root

GOALS = {"arena_ratio": 0.7, "kernel_flash": 8192, "ipm_dscnn": 2.0}


def m4_flash(data: bytes) -> dict:
    from .cortexm import build_runner, flash_breakdown

    rb = build_runner(data, np.zeros((1, len(_dummy_input(data))), dtype=np.int8), dsp=True, opt="-Os", tag="flash")
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


def bench_model(name: str, data: bytes, n_vectors: int = 8, seed: int = 0) -> dict:
    from .cortexm import build_runner, run_runner
    from .host import HostModel
    from .reference import TflmModel, tflm_arena_bytes

    host = HostModel(data)
    cm = host.compiled
    rng = np.random.default_rng(seed)
    xs = rng.integers(-128, 128, (n_vectors, *cm.input_shape), dtype=np.int8)
    tflm = TflmModel(data)
    ref = tflm.invoke_many(xs).reshape(n_vectors, -1)
    ours_host = host.invoke_many(xs).reshape(n_vectors, -1)
    r = {"name": name, "ops": len(cm.layers), "macs": cm.macs, "arena": cm.arena_size,
         "tflm_arena": tflm_arena_bytes(data), "host_exact": bool((ours_host.view(np.int8) == ref.view(np.int8)).all())}
    r["arena_ratio"] = r["arena"] / r["tflm_arena"]
    # Cortex-M4 (qemu-m4): DSP and portable kernels, speed build (-O2); flash from the size build (-Os).
    for dsp in (True, False):
        rb = build_runner(data, xs, dsp=dsp, opt="-O2", tag=name)
        res = run_runner(rb)
        key = "dsp" if dsp else "portable"
        r[f"m4_{key}_exact"] = bool((res.outputs == ref.view(np.int8)).all())
        r[f"m4_{key}_instr"] = int(np.median(res.instructions))
        r[f"m4_{key}_ipm"] = r[f"m4_{key}_instr"] / max(cm.macs, 1)
        if dsp:
            r["unit"] = res.unit
            ops = {L.index: L.op for L in cm.layers}
            macs = {L.index: L.macs for L in cm.layers}
            r["layers"] = [(i, ops.get(i, "?"), c) for i, c in res.layers]
            r["layer_macs"] = {i: macs.get(i, 0) for i, _ in res.layers}
    fl = m4_flash(data)
    r.update(kernel_flash=fl["kernels"], weights_flash=fl["model_rodata"], model_code=fl["model_text"],
             per_kernel=fl["per_kernel"])
    r["kernels"] = cm.kernels
    # Host: our invoke through ctypes vs the TFLM interpreter's invoke (inputs already set).
    host.invoke(xs[0])
    r["host_us"] = _host_time(host.lib.tml_model_invoke) * 1e6
    tflm.it.set_input(xs[0].reshape(tflm.it.get_input_details(0)["shape"]), 0)
    r["tflm_us"] = _host_time(tflm.it.invoke) * 1e6
    return r


def render_bench(r: dict, markdown: bool = False) -> str:
    rows = [
        ("ops / MACs", f"{r['ops']} / {r['macs']:,}"),
        ("arena: ours vs TFLM", f"{r['arena']:,} B vs {r['tflm_arena']:,} B = {r['arena_ratio']:.2f}x (goal <= 0.7x)"),
        ("weights + constants flash (M4)", f"{r['weights_flash']:,} B"),
        ("kernel code flash (M4, -Os)", f"{r['kernel_flash']:,} B for {', '.join(k.replace('tml_', '') for k in r['kernels'])} "
                                        "(goal <= 8 KB)"),
        ("model code flash (M4, -Os)", f"{r['model_code']:,} B"),
        ("M4 instructions / inference, DSP", f"{r['m4_dsp_instr']:,} ({r['m4_dsp_ipm']:.2f} per MAC)"),
        ("M4 instructions / inference, portable", f"{r['m4_portable_instr']:,} ({r['m4_portable_ipm']:.2f} per MAC)"),
        ("bit-exact vs TFLM (host, M4 DSP, M4 portable)",
         f"{_yn(r['host_exact'])}, {_yn(r['m4_dsp_exact'])}, {_yn(r['m4_portable_exact'])}"),
        ("host time / inference: ours vs TFLM python", f"{r['host_us']:.1f} us vs {r['tflm_us']:.1f} us "
                                                       f"({r['tflm_us'] / r['host_us']:.1f}x faster)"),
    ]
    if markdown:
        out = [f"### {r['name']}", "", "| metric | value |", "| --- | --- |"]
        out += [f"| {k} | {v} |" for k, v in rows]
        by_op: dict[str, list[int]] = {}
        for i, op, c in r["layers"]:
            t = by_op.setdefault(op, [0, 0])
            t[0] += c
            t[1] += r["layer_macs"].get(i, 0)
        total = sum(c for _, _, c in r["layers"]) or 1
        out += ["", "Where the M4 DSP build spends its instructions:", "",
                "| op | instructions | share | MACs | instructions / MAC |", "| --- | --- | --- | --- | --- |"]
        out += [f"| {op} | {c:,} | {100 * c / total:.0f}% | {m:,} | {c / m:.2f} |" if m else
                f"| {op} | {c:,} | {100 * c / total:.0f}% | - | - |" for op, (c, m) in by_op.items()]
        out += ["", "<details><summary>per layer, M4 DSP build (instructions)</summary>", "",
                "| op index | op | instructions |", "| --- | --- | --- |"]
        out += [f"| {i} | {op} | {c:,} |" for i, op, c in r["layers"]]
        out += ["", "</details>", ""]
        return "\n".join(out)
    w = max(len(k) for k, _ in rows)
    out = [f"== {r['name']} =="] + [f"{k.ljust(w)}  {v}" for k, v in rows]
    out.append("per layer (M4 DSP, instructions): " + ", ".join(f"{op}#{i} {c:,}" for i, op, c in r["layers"]))
    return "\n".join(out)


def _yn(b: bool) -> str:
    return "yes" if b else "NO"


def bench_all(n_vectors: int = 8, write_docs: bool = True) -> str:
    from ..apps import discover, load_app
    from .zoo import ds_cnn_tflite

    models = []
    for app_id in discover():
        app = load_app(app_id)
        if app.tflite_path.is_file():
            models.append((app_id, app.tflite_path.read_bytes()))
    models.append(("MLPerf Tiny KWS DS-CNN (random weights)", ds_cnn_tflite()))
    results = []
    for name, data in models:
        try:
            results.append(bench_model(name, data, n_vectors=n_vectors))
        except TinymlError as e:
            results.append({"name": name, "error": str(e)})
    text = "\n\n".join(render_bench(r) if "error" not in r else f"== {r['name']} ==\nerror: {r['error']}"
                       for r in results)
    if write_docs:
        (repo_root() / "docs").mkdir(exist_ok=True)
        (repo_root() / "docs" / "benchmarks.md").write_text(_markdown(results))
    return text


def _markdown(results: list[dict]) -> str:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    ok = [r for r in results if "error" not in r]
    head = [
        "# Runtime benchmarks",
        "",
        f"Generated by `make bench` (`tinyml bench`) on {now}, host {platform.machine()} / Python "
        f"{platform.python_version()}. Do not edit by hand.",
        "",
        "* **Arena**: ours is the static arena of the generated C (lifetime planner, in-place RESHAPE and "
        "elementwise ops, conv scratch included); TFLM's is `print_allocations()` of the `tflite-micro` "
        "interpreter on this 64-bit host (a 32-bit MCU needs a little less).",
        "* **Flash**: bytes of the symbols kept in the linked Cortex-M4 ELF (`arm-none-eabi-gcc 12 -Os`, "
        "--gc-sections): kernel code = the runtime's functions the model uses; weights + constants = the "
        "model's const arrays and layer parameter structs.",
        "* **Instructions**: executed instructions per inference on `qemu-system-arm -M mps2-an386 -icount "
        "shift=0`, read from SysTick (resolution 40), median over the test inputs, `-O2`. The DSP build uses "
        "the ACLE SIMD paths (`TML_NN_DSP=1`), the portable build the plain C99 kernels.",
        "* **Bit-exact**: int8 outputs identical to the TFLM interpreter on every test input, on the host "
        "and on the emulated Cortex-M4 (both builds).",
        "* **Host time**: `tml_model_invoke()` through ctypes (portable kernels, `gcc -O2`) vs `Interpreter.invoke()` "
        "of the TFLM Python package, inputs already set, same machine; best of 7 rounds.",
        "",
        "## Summary",
        "",
        "| model | MACs | arena ours / TFLM | kernel flash | weights flash | M4 instr/MAC (DSP / portable) | host us ours / TFLM | bit-exact |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in ok:
        head.append(f"| {r['name']} | {r['macs']:,} | {r['arena']:,} / {r['tflm_arena']:,} B ({r['arena_ratio']:.2f}x) | "
                    f"{r['kernel_flash']:,} B | {r['weights_flash']:,} B | {r['m4_dsp_ipm']:.2f} / {r['m4_portable_ipm']:.2f} | "
                    f"{r['host_us']:.0f} / {r['tflm_us']:.0f} | "
                    f"{_yn(r['host_exact'] and r['m4_dsp_exact'] and r['m4_portable_exact'])} |")
    for r in results:
        if "error" in r:
            head.append(f"| {r['name']} | error: {r['error']} | | | | | | |")
    goals = ["", "## Goals", ""]
    for r in ok:
        goals.append(f"* {r['name']}: arena {r['arena_ratio']:.2f}x TFLM "
                     f"({'met' if r['arena_ratio'] <= GOALS['arena_ratio'] else 'NOT met'}, goal <= 0.7x); kernel code "
                     f"{r['kernel_flash']:,} B ({'met' if r['kernel_flash'] <= GOALS['kernel_flash'] else 'NOT met'}, "
                     f"goal <= 8 KB); {r['m4_dsp_ipm']:.2f} instructions/MAC on the M4 DSP build"
                     + (f" ({'met' if r['m4_dsp_ipm'] <= GOALS['ipm_dscnn'] else 'NOT met'}, goal <= 2.0 on DS-CNN)"
                        if "DS-CNN" in r["name"] else "") + ".")
    notes = ["", "## Notes", "",
             "* For scale (docs/reference-figures.md, with sources): TFLM's reference kernels run the DS-CNN at about 8.2 cycles per MAC on a "
             "Cortex-M4F, the best commercial engines at about 2.0. Our figures are executed instructions "
             "(QEMU does not model cycles); on an M4 most of these instructions take one cycle, loads and "
             "taken branches more.",
             "* Bit-exactness with TFLM fixes the arithmetic: every output is requantized with TFLite's two "
             "roundings (saturating rounding doubling high multiply, then a rounding shift), about 20-30 "
             "instructions per output. That is cheap for 1x1 convolutions (64 MACs per output on the DS-CNN) "
             "and dominant for 3x3 depthwise layers (9 MACs per output).",
             "* The DSP build uses SMLAD on sign-extended byte pairs (SXTB16) with 2 pixels x 2 filters per "
             "inner loop for convolutions and fully connected layers (im2col for windows larger than 1x1), and "
             "SMLABB/SMLATT over 4 channels for depthwise layers. The inner loops are plain C with ACLE "
             "intrinsics; GCC 12 spills a register or two in them.",
             "* Where TFLite's own reference kernels (BUILTIN_REF) differ from TFLM is recorded in "
             "tests/runtime/test_tflite_ref_vs_tflm.py: FULLY_CONNECTED by +-1 in about 0.2% of outputs, every "
             "other supported op identical. We follow TFLM."]
    body = ["", "## Per model", ""] + [render_bench(r, markdown=True) for r in ok]
    return "\n".join(head + goals + notes + body) + "\n"
