"""Static arena planning by tensor lifetimes.

Tensors that share storage (RESHAPE outputs, in-place elementwise outputs) form one buffer whose lifetime
is the union of its members'. Buffers are placed greedily, largest first, at the lowest offset that does
not overlap any already placed buffer whose lifetime intersects its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ALIGN = 4


@dataclass
class Buffer:
    id: int
    size: int
    first: int  # step that writes it (-1: before the first op, i.e. a graph input)
    last: int   # last step that reads it (n_steps: a graph output)
    members: list[int] = field(default_factory=list)
    offset: int = -1


@dataclass
class Plan:
    buffers: list[Buffer]
    offsets: dict[int, int]  # tensor index -> arena offset
    arena_size: int
    lifetimes: dict[int, tuple[int, int]]  # tensor index -> (first, last)


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def place(buffers: list[Buffer]) -> int:
    """Greedy by size: assign `offset` to every buffer; return the arena size."""
    placed: list[Buffer] = []
    for b in sorted(buffers, key=lambda b: (-b.size, b.first, b.id)):
        live = sorted((p for p in placed if p.first <= b.last and b.first <= p.last), key=lambda p: p.offset)
        off = 0
        for p in live:
            if off + b.size <= p.offset:
                break
            off = max(off, _align(p.offset + p.size))
        b.offset = off
        placed.append(b)
    return _align(max((b.offset + b.size for b in buffers), default=0)) or ALIGN


def plan_steps(sizes: dict[int, int], steps: list[tuple[list[int], list[int], int | None]],
               graph_inputs: list[int], graph_outputs: list[int]) -> Plan:
    """Plan an arena for a sequence of steps.

    sizes: tensor index -> bytes, for every tensor that lives in the arena.
    steps: per step (inputs, outputs, share) where share is None, or the input tensor whose storage the
           step's single output may take over: always for an alias (RESHAPE), when the input dies here for
           in-place ops. Use ('alias', t) / ('inplace', t) tuples; see compile_model.
    """
    n = len(steps)
    first: dict[int, int] = {t: -1 for t in graph_inputs if t in sizes}
    last: dict[int, int] = {}
    for k, (ins, outs, _) in enumerate(steps):
        for t in ins:
            if t in sizes:
                last[t] = max(last.get(t, -1), k)
        for t in outs:
            if t in sizes:
                first.setdefault(t, k)
                last[t] = max(last.get(t, k), k)
    for t in graph_outputs:
        if t in sizes:
            last[t] = n
            first.setdefault(t, -1)
    for t in sizes:
        first.setdefault(t, -1)
        last.setdefault(t, first[t])

    group: dict[int, int] = {t: t for t in sizes}

    def root(t: int) -> int:
        while group[t] != t:
            t = group[t]
        return t

    members: dict[int, list[int]] = {t: [t] for t in sizes}
    glast = dict(last)
    gfirst = dict(first)
    for k, (ins, outs, share) in enumerate(steps):
        if share is None:
            continue
        kind, src = share
        if src not in sizes or len(outs) != 1 or outs[0] not in sizes:
            continue
        dst = outs[0]
        rs, rd = root(src), root(dst)
        if rs == rd:
            continue
        if kind == "inplace":
            if glast[rs] != k or sizes[dst] > max(sizes[m] for m in members[rs]):
                continue
            if any(t in graph_outputs for t in members[rs]):
                continue
        group[rd] = rs
        members[rs] += members.pop(rd)
        glast[rs] = max(glast[rs], glast[rd])
        gfirst[rs] = min(gfirst[rs], gfirst[rd])

    buffers = []
    for i, (r, ms) in enumerate(sorted(members.items())):
        buffers.append(Buffer(i, max(sizes[m] for m in ms), gfirst[r], glast[r], sorted(ms)))
    arena = place(buffers)
    offsets = {m: b.offset for b in buffers for m in b.members}
    return Plan(buffers, offsets, arena, {t: (first[t], last[t]) for t in sizes})


def check_plan(plan: Plan, sizes: dict[int, int]) -> list[str]:
    """Every pair of tensors in different buffers that are live at the same step must not overlap."""
    errors = []
    owner = {m: b.id for b in plan.buffers for m in b.members}
    ts = sorted(sizes)
    for i, a in enumerate(ts):
        fa, la = plan.lifetimes[a]
        oa = plan.offsets[a]
        if oa < 0 or oa + sizes[a] > plan.arena_size:
            errors.append(f"tensor {a} [{oa}, {oa + sizes[a]}) outside the arena of {plan.arena_size}")
        for b in ts[i + 1:]:
            if owner[a] == owner[b]:
                continue
            fb, lb = plan.lifetimes[b]
            if fa <= lb and fb <= la:
                ob = plan.offsets[b]
                if oa < ob + sizes[b] and ob < oa + sizes[a]:
                    errors.append(f"tensors {a} and {b} are live together and overlap")
    return errors
