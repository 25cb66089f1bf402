"""Static worst-case stack from GCC's -fstack-usage / -fcallgraph-info=su output (or, for a compiler
without -fcallgraph-info such as avr-gcc 5, from -fstack-usage frames and the calls in the linked ELF's
disassembly: `graph_from_disassembly`).

Each object's .ci file gives the frame size of every function and its direct calls. The peak is
the deepest path from the entry (Reset_Handler on Cortex-M, main on host), plus the deepest
interrupt handler on top of it with the hardware exception frame (interrupts can preempt anywhere;
one level of nesting, as every handler here runs at the same priority). Functions without
information (newlib's memcpy, printf, ...) count as 0 and are listed in `unknown`; recursion,
indirect calls and dynamic frames make the figure a lower bound and are flagged. The firmware
also measures its real peak by stack painting (DONE frame, `tinyml run`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_NODE = re.compile(r'node: \{ title: "([^"]+)" label: "([^"]*)"')
_EDGE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')
_BYTES = re.compile(r"\\n(\d+) bytes \(([^)]*)\)")

# Cortex-M4F exception entry with a lazily stacked FP context: 26 words + alignment word.
EXCEPTION_FRAME_FP = 108
EXCEPTION_FRAME = 36


@dataclass
class CallGraph:
    frame: dict[str, int] = field(default_factory=dict)
    calls: dict[str, set[str]] = field(default_factory=dict)
    dynamic: set[str] = field(default_factory=set)

    def add_ci(self, path: Path) -> None:
        text = Path(path).read_text(errors="replace")
        for name, label in _NODE.findall(text):
            m = _BYTES.search(label)
            if m:
                self.frame[name] = max(self.frame.get(name, 0), int(m.group(1)))
                if "dynamic" in m.group(2):
                    self.dynamic.add(name)
        for src, dst in _EDGE.findall(text):
            self.calls.setdefault(src, set()).add(dst)


_FUNC = re.compile(r"^[0-9a-f]+ <([^>]+)>:$")
_CALL = re.compile(r"\t(call|rcall|jmp|rjmp)\t.*<([^>+]+)>")
_ICALL = re.compile(r"\t(icall|eicall)\b")  # indirect calls; ijmp is a jump table or the call-prologue's return


def graph_from_disassembly(disassembly: str, su_files: list[Path], call_bytes: int) -> CallGraph:
    """A call graph from `objdump -d` of the linked image and the .su frame sizes. Calls (and jumps to
    another function: tail calls) are edges; an indirect call marks the caller with __indirect_call. Each
    frame gets `call_bytes` for the return address its call pushed (2 on an AVR with 16-bit PC)."""
    g = CallGraph()
    for su in su_files:
        for line in Path(su).read_text(errors="replace").splitlines():
            parts = line.split("\t")
            if len(parts) >= 3:
                name = parts[0].rsplit(":", 1)[-1]
                g.frame[name] = max(g.frame.get(name, 0), int(parts[1]) + call_bytes)
                if "dynamic" in parts[2]:
                    g.dynamic.add(name)
    func = None
    for line in disassembly.splitlines():
        m = _FUNC.match(line)
        if m:
            if not m.group(1).startswith("."):  # .L labels inside a function
                func = m.group(1)
                g.frame.setdefault(func, call_bytes)
            continue
        if func is None:
            continue
        c = _CALL.search(line)
        if c and c.group(2) != func and not c.group(2).startswith("."):
            g.calls.setdefault(func, set()).add(c.group(2))
        elif _ICALL.search(line):
            g.calls.setdefault(func, set()).add("__indirect_call")
    return g


@dataclass
class StackReport:
    peak: int
    path: list[str]
    isr: str | None
    isr_bytes: int
    unknown: list[str]
    recursion: list[str]
    indirect: bool
    dynamic: list[str]

    @property
    def exact(self) -> bool:
        return not (self.recursion or self.indirect or self.dynamic)


def _deepest(g: CallGraph, root: str, unknown: set, recursion: set, flags: dict) -> tuple[int, list[str]]:
    memo: dict[str, tuple[int, list[str]]] = {}
    onstack: set[str] = set()

    def walk(f: str) -> tuple[int, list[str]]:
        if f in memo:
            return memo[f]
        if f in onstack:
            recursion.add(f)
            return 0, [f]
        if f not in g.frame:
            if f.startswith("__indirect_call") or f == "__indirect_call":
                flags["indirect"] = True
            else:
                unknown.add(f)
            return 0, [f]
        onstack.add(f)
        if f in g.dynamic:  # only a frame the program can reach makes the bound a lower one
            flags["dynamic"].add(f)
        best, best_path = 0, []
        for c in sorted(g.calls.get(f, ())):
            d, p = walk(c)
            if d > best:
                best, best_path = d, p
        onstack.discard(f)
        memo[f] = (g.frame[f] + best, [f, *best_path])
        return memo[f]

    return walk(root)


def analyse(ci_files: list[Path], *, entry: str, isr_pattern: str | None = r".*_(Handler|IRQHandler)$",
            fp: bool = True, graph: CallGraph | None = None, isr_frame: int | None = None) -> StackReport:
    """`graph` replaces the .ci files when given; `isr_frame` is what the hardware pushes on interrupt entry
    (default: the Cortex-M exception frame, with or without the FP context)."""
    g = graph if graph is not None else CallGraph()
    for p in ci_files if graph is None else ():
        g.add_ci(p)
    unknown: set[str] = set()
    recursion: set[str] = set()
    flags = {"indirect": False, "dynamic": set()}
    if entry not in g.frame:
        entry = "main"
    peak, path = _deepest(g, entry, unknown, recursion, flags)
    isr_best, isr_name = 0, None
    if isr_pattern:
        pat = re.compile(isr_pattern)
        for f in sorted(g.frame):
            if pat.match(f) and f not in ("Reset_Handler", "HardFault_Handler") and not f.startswith("Default"):
                d, _ = _deepest(g, f, unknown, recursion, flags)
                if d > isr_best:
                    isr_best, isr_name = d, f
    def short(names):  # static functions are titled "<file>:<name>"
        return [f"{Path(n.rsplit(':', 1)[0]).name}:{n.rsplit(':', 1)[1]}" if ":" in n else n for n in names]

    path, unknown_l, recursion_l = short(path), short(sorted(unknown)), short(sorted(recursion))
    hw = isr_frame if isr_frame is not None else (EXCEPTION_FRAME_FP if fp else EXCEPTION_FRAME)
    isr_total = isr_best + (hw if isr_name else 0)
    return StackReport(peak + isr_total, path, isr_name, isr_total, unknown_l, recursion_l,
                       flags["indirect"], sorted(flags["dynamic"]))
