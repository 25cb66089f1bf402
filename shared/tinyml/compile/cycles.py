"""Instruction classes of a model runner's inference under QEMU, and a Cortex-M4 cycle estimate from them.

QEMU counts instructions (-icount), not cycles. To compare with engines quoted in cycles per MAC, we run
the runner once more with `-d in_asm,exec,nochain`: every translated block's instructions (QEMU's
disassembly) and every block executed, in order. Each executed instruction is classed and weighted by the
Cortex-M4 timings of Arm's Technical Reference Manual (DDI 0439, table 3-1). Assumptions, stated with the
figure: zero-wait-state memory and no cache (flash accelerators and wait states add cycles on real parts;
the TRM's numbers assume none); a taken branch costs 1 + P with P = 2 (the TRM gives 1 to 3); a single load
or store takes 2 cycles, 1 when it directly follows another single load or store (the TRM's pipelining,
assumed whenever possible); LDRD/STRD/LDM/STM/PUSH/POP take 1 + N; SDIV/UDIV 7 (2 to 12: data dependent);
VDIV/VSQRT 14; everything else, multiplies and DSP instructions included, 1. An estimate: interlocks and
bus contention are not modelled.

Layers are told apart by the runner's per-layer hook (model_runner.c), which reads the cost counter
(tml_port_instructions) twice after each layer: the blocks between the hook's calls belong to one layer.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import TinymlError

BRANCH_REFILL = 2  # P
DIV_CYCLES = 7
VFP_SLOW = {"vdiv", "vsqrt"}
CLASSES = ("alu", "mul", "simd", "load", "store", "load_multi", "store_multi", "branch_taken", "branch_not_taken",
           "div", "other")

_LINE = re.compile(r"^0x([0-9a-f]+):\s+([0-9a-f]{4})(?: ([0-9a-f]{4}))?\s+(\S+)\s*(.*)$")
_TRACE = re.compile(r"^Trace \d+: 0x[0-9a-f]+ \[[0-9a-f]+/([0-9a-f]+)/[0-9a-f]+/([0-9a-f]+)\] ?(\S*)")
_CONDS = ("eq", "ne", "cs", "cc", "hs", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le", "al")


def _base(mn: str) -> str:
    """Mnemonic without width suffix, condition and flag-setting 's' where that is unambiguous."""
    m = mn.split(".")[0]
    return m


def classify(mn: str, ops: str) -> tuple[str, int]:
    """(class, base cycles) of one instruction; loads/stores are refined by the caller (pipelining)."""
    m = _base(mn)
    if m in ("b", "bl", "blx", "bx", "cbz", "cbnz", "tbb", "tbh") or (
            m.startswith("b") and m[1:] in _CONDS):
        return "branch", 1
    if m.startswith(("ldm", "pop")) or m == "ldrd":
        n = 2 if m == "ldrd" else max(1, ops.count(",") + 1 - ops[:ops.find("{")].count(",")) if "{" in ops else 1
        if "pc" in ops and m != "ldrd":
            return "load_multi_pc", 1 + n
        return "load_multi", 1 + n
    if m.startswith(("stm", "push")) or m == "strd":
        n = 2 if m == "strd" else max(1, ops.count(",") + 1 - ops[:ops.find("{")].count(",")) if "{" in ops else 1
        return "store_multi", 1 + n
    if m.startswith("ldr") or m.startswith("ldrex") or m == "ldrsb" or m == "ldrsh":
        if ops.startswith("pc"):
            return "load_pc", 2
        return "load", 2
    if m.startswith("str"):
        return "store", 2
    if m.startswith("vldr") or m.startswith("vpop") or m.startswith("vldm"):
        return "load", 2
    if m.startswith("vstr") or m.startswith("vpush") or m.startswith("vstm"):
        return "store", 2
    if m in ("sdiv", "udiv"):
        return "div", DIV_CYCLES
    if m in VFP_SLOW:
        return "other", 14
    if m.startswith(("mul", "mla", "mls", "smul", "umul", "smla", "umla", "smull", "umull", "smmul", "smmla",
                     "smmls", "smuad", "smusd", "smlsd", "umaal")):
        return "mul", 1
    if m.startswith(("sxtb16", "sxtab16", "uxtb16", "sadd", "ssub", "uadd", "usub", "qadd", "qsub", "shadd", "sel",
                     "ssat", "usat", "pkh", "sasx", "ssax", "usad")):
        return "simd", 1
    return "alu", 1


@dataclass
class Block:
    func: str
    insns: list[tuple[int, int, str, str]]  # (address, size, mnemonic, operands)


@dataclass
class LayerCost:
    instructions: int = 0
    cycles: int = 0
    classes: Counter = field(default_factory=Counter)
    functions: Counter = field(default_factory=Counter)  # instructions per function
    blocks: Counter = field(default_factory=Counter)  # (function, first address) -> executions
    block_mnemonics: dict = field(default_factory=dict)  # (function, first address) -> mnemonics


# Multiply-accumulates one instruction performs (SMLAD/SMLADX/SMUAD: two 16x16 products).
MACS_PER_INSN = {"smlad": 2, "smladx": 2, "smuad": 2, "smuadx": 2, "smlabb": 1, "smlabt": 1, "smlatb": 1,
                 "smlatt": 1, "mla": 1, "smlal": 1}


def hot_loops(costs: list[LayerCost]) -> list[dict]:
    """Per function, its most executed block that multiplies (the inner loop): instructions per iteration,
    multiply-accumulates in it, iterations, and its share of all traced instructions."""
    total = sum(c.instructions for c in costs) or 1
    execs: Counter = Counter()
    mns: dict = {}
    for c in costs:
        execs.update(c.blocks)
        mns.update(c.block_mnemonics)
    best: dict[str, tuple] = {}
    for key, n in execs.items():
        m = mns[key]
        macs = sum(MACS_PER_INSN.get(_base(x), 0) for x in m)
        if macs and (key[0] not in best or n * len(m) > best[key[0]][0] * len(mns[best[key[0]][1]])):
            best[key[0]] = (n, key)
    out = []
    for func, (n, key) in best.items():
        m = mns[key]
        macs = sum(MACS_PER_INSN.get(_base(x), 0) for x in m)
        out.append({"function": func, "instructions": len(m), "macs": macs, "iterations": n,
                    "mac_instructions": sum(_base(x) in MACS_PER_INSN for x in m),
                    "share": n * len(m) / total, "mnemonics": m})
    return sorted(out, key=lambda d: -d["share"])


def _parse_blocks_and_trace(log: Path):
    """Yield (block, pc) for every executed block, in order."""
    pending: dict[int, Block] = {}
    known: dict[tuple[int, str], Block] = {}
    cur: Block | None = None
    with open(log, errors="replace") as f:
        for line in f:
            if line.startswith("IN:"):
                cur = Block(line[3:].strip(), [])
                continue
            if cur is not None:
                m = _LINE.match(line)
                if m:
                    size = 4 if m.group(3) else 2
                    cur.insns.append((int(m.group(1), 16), size, m.group(4), m.group(5)))
                    continue
                if cur.insns:
                    pending[cur.insns[0][0]] = cur
                cur = None
            if line.startswith("Trace"):
                m = _TRACE.match(line)
                if not m:
                    continue
                pc, cflags = int(m.group(1), 16), m.group(2)
                key = (pc, cflags)
                if pc in pending:
                    known[key] = pending.pop(pc)
                b = known.get(key)
                if b is not None:
                    yield b, pc


def trace_layers(elf: Path, n_layers: int, *, machine: str = "mps2-an386", timeout_s: float = 300.0,
                 marker: str = "tml_port_instructions") -> list[LayerCost]:
    """Per layer of the runner's first inference (n_layers of them): instructions, estimated M4 cycles,
    classes, instructions per function."""
    from ..device.qemu import qemu_command
    from .cortexm import symbol_address

    entry = symbol_address(elf, marker)

    with tempfile.TemporaryDirectory(prefix="tml-trace-") as d:
        log = Path(d) / "trace.log"
        cmd = qemu_command(elf, machine=machine, icount=True)
        cmd[1:1] = ["-d", "in_asm,exec,nochain", "-D", str(log)]
        try:
            res = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout_s)
        except subprocess.TimeoutExpired as e:
            raise TinymlError(f"traced QEMU run of {elf.name} timed out after {timeout_s:.0f} s") from e
        if res.returncode != 0:
            raise TinymlError(f"traced QEMU run of {elf.name} failed (rc {res.returncode})")
        return _layers_from_log(log, marker, entry & ~1)[:n_layers]


def _layers_from_log(log: Path, marker: str, entry: int) -> list[LayerCost]:
    calls = 0
    layers: dict[int, LayerCost] = {}
    prev_ls = False
    last: tuple[Block, int] | None = None

    def account(b: Block, next_pc: int | None) -> None:
        nonlocal prev_ls
        seg = calls  # the number of marker calls before this block
        if seg < 3 or seg % 2 == 0 or b.func == marker:
            prev_ls = False
            return
        L = layers.setdefault((seg - 3) // 2, LayerCost())
        for i, (addr, size, mn, ops) in enumerate(b.insns):
            cls, cyc = classify(mn, ops)
            if cls == "branch":
                is_last = i == len(b.insns) - 1
                taken = is_last and next_pc is not None and next_pc != addr + size
                cls = "branch_taken" if taken else "branch_not_taken"
                cyc = 1 + BRANCH_REFILL if taken else 1
            elif cls in ("load", "store"):
                if prev_ls:
                    cyc = 1
            elif cls in ("load_pc", "load_multi_pc"):
                cyc += BRANCH_REFILL
                cls = "load" if cls == "load_pc" else "load_multi"
            prev_ls = cls in ("load", "store")
            L.instructions += 1
            L.cycles += cyc
            L.classes[cls] += 1
            L.functions[b.func] += 1
        key = (b.func, b.insns[0][0]) if b.insns else None
        if key is not None:
            L.blocks[key] += 1
            L.block_mnemonics.setdefault(key, [mn for _, _, mn, _ in b.insns])

    for b, pc in _parse_blocks_and_trace(log):
        if last is not None:
            account(last[0], pc)
        if pc == entry:
            calls += 1
        last = (b, pc)
    if last is not None:
        account(last[0], None)
    return [layers[k] for k in sorted(layers)]

