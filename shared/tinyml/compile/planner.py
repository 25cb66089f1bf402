"""Static arena planning by tensor lifetimes, with in-place overlaps.

Tensors that share storage (RESHAPE outputs) form one buffer whose lifetime is the union of its members'.
An op may also declare, per input, how far its output may overlap that input (overlap.py: O <= I + D,
the kernel's in-place contract); the overlap is used only when the input dies at that op. Buffers are
placed greedily, largest first, at the lowest offset that conflicts with no already placed buffer whose
lifetime intersects its own, an allowed overlap being no conflict. check_plan proves the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .overlap import UNBOUNDED

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
    # (input buffer id, output buffer id) -> D: the output may sit at offset <= the input's + D
    overlaps: dict[tuple[int, int], int] = field(default_factory=dict)


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def _align_down(n: int) -> int:
    return n // ALIGN * ALIGN


def _live_together(a: Buffer, b: Buffer) -> bool:
    return a.first <= b.last and b.first <= a.last


def _fits(b: Buffer, off: int, p: Buffer, overlaps: dict) -> bool:
    """b at `off` next to the placed, co-live p: apart, or an allowed overlap."""
    if off + b.size <= p.offset or p.offset + p.size <= off:
        return True
    if (p.id, b.id) in overlaps:  # p is the input, b the output
        return off <= p.offset + overlaps[(p.id, b.id)]
    if (b.id, p.id) in overlaps:  # b is the input, p the output
        return p.offset <= off + overlaps[(b.id, p.id)]
    return False


def _candidates(b: Buffer, live: list[Buffer], overlaps: dict) -> list[int]:
    cands = {0}
    for p in live:
        cands.add(_align(p.offset + p.size))
        if (p.id, b.id) in overlaps:
            d = overlaps[(p.id, b.id)]
            cands.add(_align_down(p.offset + min(d, p.size)))
            if d >= 0:
                cands.add(p.offset)
        if (b.id, p.id) in overlaps:
            cands.add(_align(p.offset - min(overlaps[(b.id, p.id)], b.size)))
    return sorted(c for c in cands if c >= 0)


def _place_in_order(order: list[Buffer], overlaps: dict, tight: bool) -> int:
    placed: list[Buffer] = []
    by_id = {b.id: b for b in order}
    for b in order:
        b.offset = -1
    for b in order:
        live = [p for p in placed if _live_together(p, b)]
        cands = _candidates(b, live, overlaps)
        if tight:  # as far into a placed input as its allowance goes
            edge = [_align_down(by_id[i].offset + min(d, by_id[i].size)) for (i, o), d in overlaps.items()
                    if o == b.id and by_id[i].offset >= 0]
            cands = [c for c in edge if c >= 0] + cands
        for off in cands:
            if all(_fits(b, off, p, overlaps) for p in live):
                b.offset = off
                break
        placed.append(b)
    return _align(max((b.offset + b.size for b in order), default=0)) or ALIGN


def place(buffers: list[Buffer], overlaps: dict | None = None, tight: bool = False) -> int:
    """Assign `offset` to every buffer; return the arena size. Greedy: largest first, and creation order
    forwards and backwards (an output that must sit below its input is placed before it), the smallest arena
    of the three. tight=True: creation order with every overlapping output as far into its input as allowed
    (tests run the kernels at the edge of their in-place contracts)."""
    overlaps = overlaps or {}
    if tight:
        return _place_in_order(sorted(buffers, key=lambda b: (b.first, -b.size, b.id)), overlaps, True)
    best = None
    for key in ((lambda b: (-b.size, b.first, b.id)), (lambda b: (b.first, -b.size, b.id)),
                (lambda b: (-b.last, -b.size, b.id))):
        arena = _place_in_order(sorted(buffers, key=key), overlaps, False)
        if best is None or arena < best[0]:
            best = (arena, [b.offset for b in buffers])
    for b, off in zip(buffers, best[1]):
        b.offset = off
    return best[0]


def _unpack(step):
    ins, outs, share = step[:3]
    overlaps = dict(step[3]) if len(step) > 3 and step[3] else {}
    if share is not None and share[0] == "inplace":  # the elementwise contract: out[i] after in[i]
        overlaps.setdefault(share[1], 0)
        share = None
    return ins, outs, share, overlaps


def plan_steps(sizes: dict[int, int], steps: list[tuple], graph_inputs: list[int], graph_outputs: list[int],
               tight: bool = False) -> Plan:
    """Plan an arena for a sequence of steps.

    sizes: tensor index -> bytes, for every tensor that lives in the arena.
    steps: per step (inputs, outputs, share[, overlaps]): share is None or ('alias', t) (the single output
           is the input t's bytes: RESHAPE); ('inplace', t) means overlaps {t: 0}; overlaps maps an input to
           D (overlap.py), how far the step's single output may overlap it.
    """
    steps = [_unpack(s) for s in steps]
    n = len(steps)
    first: dict[int, int] = {t: -1 for t in graph_inputs if t in sizes}
    last: dict[int, int] = {}
    for k, (ins, outs, _, _) in enumerate(steps):
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
    for ins, outs, share, _ in steps:
        real = [t for t in outs if t not in ins]  # a scratch buffer is among both
        if share is None or len(real) != 1 or share[1] not in sizes or real[0] not in sizes:
            continue
        rs, rd = root(share[1]), root(real[0])
        if rs == rd:
            continue
        group[rd] = rs
        members[rs] += members.pop(rd)
        glast[rs] = max(glast[rs], glast[rd])
        gfirst[rs] = min(gfirst[rs], gfirst[rd])

    buffers, buf_of = [], {}
    for i, (r, ms) in enumerate(sorted(members.items())):
        buffers.append(Buffer(i, max(sizes[m] for m in ms), gfirst[r], glast[r], sorted(ms)))
        buf_of[r] = i
    overlaps: dict[tuple[int, int], int] = {}
    for k, (ins, outs, _, ovl) in enumerate(steps):
        real_outs = [t for t in outs if t in sizes and t not in ins]
        for src, d in ovl.items():
            if src not in sizes or len(real_outs) != 1:
                continue
            rs, rd = root(src), root(real_outs[0])
            if rs != rd and glast[rs] == k and gfirst[rd] == k:
                key = (buf_of[rs], buf_of[rd])
                overlaps[key] = min(d, overlaps.get(key, UNBOUNDED))
    arena = place(buffers, overlaps, tight)
    offsets = {m: b.offset for b in buffers for m in b.members}
    return Plan(buffers, offsets, arena, {t: (first[t], last[t]) for t in sizes}, overlaps)


def check_plan(plan: Plan, sizes: dict[int, int]) -> list[str]:
    """Every pair of tensors in different buffers that are live at the same step must not overlap, unless
    the pair is an op's input and output placed within the op's in-place allowance."""
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
                    ka, kb = (owner[a], owner[b]), (owner[b], owner[a])
                    if ka in plan.overlaps and ob <= oa + plan.overlaps[ka]:
                        continue
                    if kb in plan.overlaps and oa <= ob + plan.overlaps[kb]:
                        continue
                    errors.append(f"tensors {a} and {b} are live together and overlap")
    return errors
