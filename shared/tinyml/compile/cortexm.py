"""MCU builds of a compiled model: the model runner ELF for a board (qemu-m4 by default, or the 8-bit
avr-uno) with the portable or the DSP kernels, its emulated run (outputs + cost per inference and per
layer: instructions under QEMU, cycles under simavr), flash accounting from the linked ELF, and the
Cortex-M0+ no-DSP check.

Uses the board support in tinyml.device (build_image, run_qemu, run_simavr) and firmware/boards/<b>/.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import TinymlError
from ..paths import build_dir
from ..device.board import load_board
from .codegen import CompiledModel, compile_tflite, runtime_dir, runtime_sources
from .lower import kernels_for

RUNNER = Path(__file__).parent / "c" / "model_runner.c"
DSP_MNEMONICS = ("sxtb16", "smlad", "smlabb", "smlatt", "smuad", "sadd16", "ssat16", "qadd")


@dataclass
class RunnerResult:
    outputs: np.ndarray        # [n, output bytes] int8
    instructions: np.ndarray   # per inference
    layers: list[tuple[int, int]]  # (op index, instructions) of the last inference
    unit: str
    overhead: int


@dataclass
class RunnerBuild:
    compiled: CompiledModel
    elf: Path
    objects: list[Path]
    dsp: bool
    opt: str
    board: str = "qemu-m4"
    machine: str | None = None  # QEMU machine when not the board's (another core)


# Other Cortex-M cores the bench reports, on QEMU's MPS2 boards with the qemu-m4 board's startup, port and
# memory map (the same on these MPS2 FPGA images): core -> (CPU flags, QEMU machine).
CORES = {
    "cortex-m4": (None, "mps2-an386"),
    "cortex-m7": ("-mcpu=cortex-m7 -mthumb -mfpu=fpv5-d16 -mfloat-abi=hard", "mps2-an500"),
    "cortex-m3": ("-mcpu=cortex-m3 -mthumb -mfloat-abi=soft", "mps2-an385"),
}


def write_vectors(path: Path, xs: np.ndarray) -> None:
    xs = np.asarray(xs, dtype=np.int8).reshape(len(xs), -1)
    lines = ["/* Generated input vectors for the model runner. */", "#include <stdint.h>", '#include "tml_flash.h"',
             f"#define TML_RUNNER_VECTORS {len(xs)}",
             f"static const TML_FLASH int8_t tml_runner_vectors[{len(xs)}][{xs.shape[1]}] = {{"]
    for x in xs:
        lines.append("  {" + ",".join(str(int(v)) for v in x) + "},")
    lines.append("};")
    text = "\n".join(lines) + "\n"
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)


def build_runner(tflite_bytes: bytes, xs: np.ndarray, *, dsp: bool = True, opt: str = "-O2",
                 board: str = "qemu-m4", tag: str = "", tight: bool = False, core: str = "cortex-m4",
                 kernels: str | None = None) -> RunnerBuild:
    """tight: plan every output as far into its input as its kernel allows (tests); core: another Cortex-M
    on the qemu-m4 board's code (CORES); kernels: the board's choice (lower.kernels_for) unless named
    ("generic": no packed kernels, the bench's trade; "auto": packed where proven exact)."""
    import dataclasses

    from ..device.build import build_image

    flags, machine = CORES[core] if board == "qemu-m4" else (None, None)
    b = load_board(board)
    if flags:
        b = dataclasses.replace(b, vars={**b.vars, "BOARD_CPU_FLAGS": flags})
    if core != "cortex-m4":
        tag = f"{tag}-{core}"
    if kernels is None:
        kernels = kernels_for(b.word_bits)
    if kernels != "auto":
        tag = f"{tag}-{kernels}"

    key = hashlib.sha256(tflite_bytes + np.asarray(xs, dtype=np.int8).tobytes() + bytes([tight])).hexdigest()[:16]
    base = build_dir("runner", f"{tag or 'model'}-{key}")
    gen = base / "gen"
    cm = compile_tflite(tflite_bytes, gen, tight=tight, kernels=kernels)
    write_vectors(gen / "vectors.h", xs)
    out = base / f"{board}-{'dsp' if dsp else 'portable'}{opt}"
    defines = {"TML_NN_DSP": int(dsp)}
    if b.ram_size and b.ram_size < 64 * 1024:
        defines["TML_RUNNER_MAX_LAYERS"] = 24  # per-layer costs of small models only: 2 KB of SRAM
    img = build_image(b, [RUNNER, *runtime_sources()], [gen, runtime_dir()], defines, out, opt=opt, name="runner")
    return RunnerBuild(cm, img.elf, img.objects, dsp, opt, board, machine if core != "cortex-m4" else None)


def run_runner(rb: RunnerBuild, timeout_s: float = 120.0) -> RunnerResult:
    board = load_board(rb.board)
    if board.runner == "simavr":
        from ..device.simavr import run_simavr

        r = run_simavr(board, rb.elf, timeout_s=timeout_s)
    else:
        from ..device.qemu import run_qemu

        r = run_qemu(rb.elf, timeout_s=timeout_s, machine=rb.machine or board.get("QEMU_MACHINE", "mps2-an386"))
    if r.timed_out or r.returncode != 0:
        raise TinymlError(f"model runner failed on {rb.board} (rc {r.returncode}, timed out {r.timed_out}): "
                          f"{r.stderr.strip()[-500:]}")
    outs, instr, layers, unit, overhead = [], [], [], "?", 0
    for line in r.text.splitlines():
        f = line.split()
        if not f:
            continue
        if f[0] == "out":
            if int(f[2]) != 0:
                raise TinymlError(f"tml_model_invoke returned {f[2]} on the device")
            instr.append(int(f[3]))
            outs.append(np.frombuffer(bytes.fromhex(f[4]), dtype=np.int8))
        elif f[0] == "layer":
            layers.append((int(f[1]), int(f[2])))
        elif f[0] == "runner":
            unit = dict(kv.split("=") for kv in f[1:])["unit"]
        elif f[0] == "overhead":
            overhead = int(f[1])
    if not outs:
        raise TinymlError(f"model runner printed no outputs: {r.text[-300:]}")
    return RunnerResult(np.stack(outs), np.array(instr), layers, unit, overhead)


def _tool(name: str) -> str:
    exe = f"arm-none-eabi-{name}"
    if not shutil.which(exe):
        raise TinymlError(f"{exe} not found; run: tinyml system-deps firmware")
    return exe


def _symbols(path: Path, nm: str | None = None) -> list[tuple[str, int, str]]:
    res = subprocess.run([nm or _tool("nm"), "-S", "--defined-only", str(path)], capture_output=True, text=True)
    out = []
    for line in res.stdout.splitlines():
        f = line.split()
        if len(f) == 4:
            out.append((f[3], int(f[1], 16), f[2]))
    return out


def symbol_address(elf: Path, name: str) -> int:
    for sym, _, _ in _symbols(elf):
        if sym == name:
            res = subprocess.run([_tool("nm"), "--defined-only", str(elf)], capture_output=True, text=True)
            for line in res.stdout.splitlines():
                f = line.split()
                if len(f) == 3 and f[2] == name:
                    return int(f[0], 16)
    raise TinymlError(f"{elf.name}: no symbol {name}")


def flash_breakdown(rb: RunnerBuild) -> dict:
    """Bytes of kernel code (runtime objects), model code and model constants kept in the linked ELF (the
    board's own nm: on an AVR the constants sit in program memory, symbols of kind t)."""
    cc = load_board(rb.board).cc
    nm = cc[: -len("gcc")] + "nm" if cc.endswith("-gcc") else None
    if nm and not shutil.which(nm):
        raise TinymlError(f"{nm} not found; run: tinyml system-deps firmware")
    elf_syms = {}
    for name, size, kind in _symbols(rb.elf, nm):
        elf_syms.setdefault(name, (size, kind))
    kern_names, model_text, model_ro = set(), set(), set()
    for obj in rb.objects:
        stem = obj.name
        for name, _, kind in _symbols(obj, nm):
            if stem.startswith("tml_nn_") and kind.lower() == "t":
                kern_names.add(name)
            if stem.startswith("model_runner"):
                if kind.lower() in "rt" and name.startswith("L"):
                    model_ro.add(name)
                if kind.lower() == "t" and name.startswith("tml_model_"):
                    model_text.add(name)
    kernels = sum(elf_syms[n][0] for n in kern_names if n in elf_syms)
    per_kernel = {n: elf_syms[n][0] for n in sorted(kern_names) if n in elf_syms}
    return {"kernels": kernels, "per_kernel": per_kernel,
            "model_text": sum(elf_syms[n][0] for n in model_text if n in elf_syms),
            "model_rodata": sum(elf_syms[n][0] for n in model_ro if n in elf_syms)}


def m0plus_check(tflite_bytes: bytes) -> dict:
    """Compile the model and the runtime for Cortex-M0+ (-Werror); return object sizes and any DSP mnemonic."""
    gcc, objdump, size = _tool("gcc"), _tool("objdump"), _tool("size")
    key = hashlib.sha256(tflite_bytes).hexdigest()[:16]
    out = build_dir("runner", f"m0plus-{key}")
    gen = out / "gen"
    compile_tflite(tflite_bytes, gen)
    flags = ["-mcpu=cortex-m0plus", "-mthumb", "-std=c99", "-Wall", "-Wextra", "-Werror", "-Wvla", "-Os",
             "-ffunction-sections", "-fdata-sections", f"-I{gen}", f"-I{runtime_dir()}"]
    found, text = [], 0
    for src in [gen / "model.c", *runtime_sources()]:
        obj = out / (src.stem + ".o")
        res = subprocess.run([gcc, *flags, "-c", str(src), "-o", str(obj)], capture_output=True, text=True)
        if res.returncode != 0:
            raise TinymlError(f"Cortex-M0+ build of {src.name} failed:\n{res.stderr}")
        dis = subprocess.run([objdump, "-d", str(obj)], capture_output=True, text=True).stdout
        for m in DSP_MNEMONICS:
            if re.search(rf"\s{m}\s", dis):
                found.append(f"{src.name}:{m}")
        sz = subprocess.run([size, str(obj)], capture_output=True, text=True).stdout.splitlines()[-1].split()
        if src.parent == runtime_dir():
            text += int(sz[0])
    return {"dsp_instructions": found, "kernel_text": text}
