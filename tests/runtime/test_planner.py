"""The static arena: no two tensors that are live at the same step may overlap, for random graphs and for
real compiled models; sharing (RESHAPE aliases, in-place elementwise ops) only where it is safe."""

from __future__ import annotations

import numpy as np
import pytest

from specs import random_spec
from tinyml.apps import discover, load_app
from tinyml.compile import compile_tflite, zoo
from tinyml.compile.codegen import layer_steps
from tinyml.compile.planner import Buffer, check_plan, place, plan_steps


def independent_lifetimes(sizes, steps, graph_in, graph_out):
    """Recomputed here, not taken from the planner: step of first write and last read per tensor."""
    n = len(steps)
    first, last = {}, {}
    for t in graph_in:
        first[t] = -1
    for k, step in enumerate(steps):
        ins, outs = step[:2]
        for t in outs:
            first.setdefault(t, k)
            last[t] = max(last.get(t, k), k)
        for t in ins:
            last[t] = max(last.get(t, -1), k)
    for t in graph_out:
        last[t] = n
    return {t: (first.get(t, -1), last.get(t, first.get(t, -1))) for t in sizes}


def _alias_groups(sizes, steps):
    parent = {t: t for t in sizes}

    def root(t):
        while parent[t] != t:
            t = parent[t]
        return t
    for step in steps:
        ins, outs, share = step[:3]
        real = [t for t in outs if t not in ins]
        if share and share[0] == "alias" and len(real) == 1 and share[1] in sizes and real[0] in sizes:
            parent[root(real[0])] = root(share[1])
    return {t: root(t) for t in sizes}


def _declared_overlaps(steps):
    """(step, input, output, D) from every step: an 'inplace' share is D = 0."""
    out = []
    for k, step in enumerate(steps):
        ins, outs, share = step[:3]
        ovl = dict(step[3]) if len(step) > 3 and step[3] else {}
        if share and share[0] == "inplace":
            ovl.setdefault(share[1], 0)
        real = [t for t in outs if t not in ins]
        for src, d in ovl.items():
            if len(real) == 1:
                out.append((k, src, real[0], d))
    return out


def assert_no_live_overlap(plan, sizes, steps, graph_in, graph_out):
    """Recomputed here, not taken from the planner: two tensors live at the same step never overlap, except
    an op's output over an input that dies at that op, within the op's declared allowance (D)."""
    life = independent_lifetimes(sizes, steps, graph_in, graph_out)
    group = _alias_groups(sizes, steps)
    glife = {}
    for t, g in group.items():
        f, l = glife.get(g, life[t])
        glife[g] = (min(f, life[t][0]), max(l, life[t][1]))
    allowed = {}
    for k, src, dst, d in _declared_overlaps(steps):
        gs, gd = group[src], group[dst]
        if gs != gd and glife[gs][1] == k and glife[gd][0] == k:
            allowed[(gs, gd)] = min(d, allowed.get((gs, gd), d))
    ts = sorted(sizes)
    for a in ts:
        assert 0 <= plan.offsets[a] and plan.offsets[a] + sizes[a] <= plan.arena_size
    for step in range(-1, len(steps) + 1):
        live = [t for t in ts if life[t][0] <= step <= life[t][1]]
        for i, a in enumerate(live):
            for b in live[i + 1:]:
                if group[a] == group[b]:
                    continue
                oa, ob = plan.offsets[a], plan.offsets[b]
                if not (oa < ob + sizes[b] and ob < oa + sizes[a]):
                    continue
                if (group[a], group[b]) in allowed and ob <= oa + allowed[(group[a], group[b])]:
                    continue
                if (group[b], group[a]) in allowed and oa <= ob + allowed[(group[b], group[a])]:
                    continue
                raise AssertionError(f"step {step}: {a} and {b} overlap")


def random_graph(rng):
    """A random DAG of ops with 1-2 inputs, some aliases and in-place candidates."""
    sizes = {0: int(rng.integers(1, 400))}
    steps, avail = [], [0]
    for k in range(int(rng.integers(1, 25))):
        t = len(sizes)
        ins = list({int(rng.choice(avail)) for _ in range(int(rng.integers(1, 3)))})
        r = rng.random()
        share = None
        if r < 0.2:
            sizes[t] = sizes[ins[0]]
            share = ("alias", ins[0])
            ins = ins[:1]
        elif r < 0.4:
            sizes[t] = sizes[ins[0]]
            share = ("inplace", ins[0])
        else:
            sizes[t] = int(rng.integers(1, 400))
        overlaps = {}
        if share is None and rng.random() < 0.5:  # a kernel's in-place allowance, either sign
            overlaps = {i: int(rng.integers(-400, 400)) for i in ins}
        outs = [t]
        if rng.random() < 0.2:  # a scratch buffer live at this step only
            s = -1 - k
            sizes[s] = int(rng.integers(1, 100))
            ins, outs = ins + [s], outs + [s]
        steps.append((ins, outs, share, overlaps))
        avail.append(t)
    return sizes, steps, [0], [max(t for t in sizes)]


@pytest.mark.parametrize("seed", range(300))
@pytest.mark.parametrize("tight", [False, True])
def test_random_graphs(seed, tight):
    rng = np.random.default_rng(seed)
    sizes, steps, gi, go = random_graph(rng)
    plan = plan_steps(sizes, steps, gi, go, tight=tight)
    assert check_plan(plan, sizes) == []
    assert_no_live_overlap(plan, sizes, steps, gi, go)
    assert plan.arena_size <= sum((s + 3) // 4 * 4 for s in sizes.values())


def test_overlap_allowance_is_used_and_checked():
    # 0 -> 1 with D = -40: the output may start 40 bytes before the input, not later.
    sizes = {0: 100, 1: 100}
    steps = [([0], [1], None, {0: -40})]
    plan = plan_steps(sizes, steps, [0], [1])
    assert check_plan(plan, sizes) == []
    assert plan.arena_size == 140 and plan.offsets[1] - plan.offsets[0] == -40
    plan.offsets[1] += 4  # one word too far into its input
    assert check_plan(plan, sizes)
    with pytest.raises(AssertionError):
        assert_no_live_overlap(plan, sizes, steps, [0], [1])


def test_overlap_needs_the_input_to_die_at_the_op():
    sizes = {0: 100, 1: 100, 2: 10}
    steps = [([0], [1], None, {0: 0}), ([0, 1], [2], None)]  # 0 is read again at step 1
    plan = plan_steps(sizes, steps, [0], [2])
    assert check_plan(plan, sizes) == []
    assert plan.offsets[0] + 100 <= plan.offsets[1] or plan.offsets[1] + 100 <= plan.offsets[0]


def test_checker_catches_an_overlap():
    sizes = {0: 100, 1: 100, 2: 50}
    steps = [([0], [1], None), ([1], [2], None)]
    plan = plan_steps(sizes, steps, [0], [2])
    assert check_plan(plan, sizes) == []
    plan.offsets[1] = plan.offsets[0]  # corrupt: 0 and 1 are live together at step 0
    assert check_plan(plan, sizes)
    with pytest.raises(AssertionError):
        assert_no_live_overlap(plan, sizes, steps, [0], [2])


def test_greedy_reuses_memory_in_a_chain():
    sizes = {i: 1000 for i in range(6)}
    steps = [([i], [i + 1], None) for i in range(5)]
    plan = plan_steps(sizes, steps, [0], [5])
    assert plan.arena_size == 2000  # ping-pong, not 6000


def test_place_largest_first_fills_gaps():
    bufs = [Buffer(0, 100, 0, 1), Buffer(1, 60, 2, 3), Buffer(2, 40, 2, 3), Buffer(3, 100, 1, 2)]
    assert place(bufs) == 200


def _compiled_models():
    models = [("ds-cnn", zoo.ds_cnn_tflite())]
    models += [(f"random-{s}", zoo.tflite_for_spec(random_spec(s))) for s in (6, 9, 11, 14, 24, 29)]
    for app_id in discover():
        app = load_app(app_id)
        if app.tflite_path.is_file():
            models.append((app_id, app.tflite_path.read_bytes()))
    return models


@pytest.mark.parametrize("name,data", _compiled_models(), ids=lambda v: v if isinstance(v, str) else "")
def test_compiled_models_have_no_live_overlap(name, data):
    cm = compile_tflite(data)
    lw = cm.lowered
    steps = layer_steps(lw)
    assert check_plan(cm.plan, lw.arena_tensors) == []
    assert_no_live_overlap(cm.plan, lw.arena_tensors, steps, [lw.input.index], [lw.output.index])
    # RESHAPE never copies: its output sits on its input's bytes.
    for L in lw.layers:
        if L.op == "RESHAPE":
            assert cm.plan.offsets[L.outputs[0]] == cm.plan.offsets[L.inputs[0]] and not L.call
    # The generated C checks the plan at compile time.
    assert "<= TML_MODEL_ARENA_SIZE) ? 1 : -1]" in cm.c_source
    assert f"#define TML_MODEL_ARENA_SIZE {cm.arena_size}" in cm.h_source


def test_scratch_lives_only_during_its_step():
    # in -> a (scratch s0) -> b (scratch s1): scratches never hold the arena across steps.
    sizes = {0: 1000, 1: 1000, 2: 1000, -1: 300, -2: 300}
    steps = [([0, -1], [1, -1], None), ([1, -2], [2, -2], None)]
    plan = plan_steps(sizes, steps, [0], [2])
    assert plan.lifetimes[-1] == (0, 0) and plan.lifetimes[-2] == (1, 1)
    assert plan.arena_size == 2300
