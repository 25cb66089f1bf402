"""Several models in one firmware ([model] and each [models.<name>]): each compiled to C with its own
prefix (tml_model_*, tml_model_<name>_*), their tensors planned together into ONE static arena.

The models run one after another, never at once, so the planner sees them on one timeline: a model's
intermediate tensors live only while it runs and share bytes with the other models' intermediates. Each
model's input and output live throughout: an app fills an input, invokes, and may read an output after
running another model (a beat classifier after the rhythm model, say), so those never share. The arena
is the largest model's working set plus every model's input and output, not the sum of the models'.

Files: model.c/.h for the primary model (it defines the shared arena `tml_model_arena`), and
model_<name>.c/.h for each further model (prefix tml_model_<name>, TML_MODEL_<NAME>_INPUT_SCALE, ...).
"""

from __future__ import annotations

from pathlib import Path

from .codegen import CompiledModel, compile_model, emit, layer_steps, write_if_changed
from .lower import lower
from .planner import Plan, plan_steps
from .tflite_format import parse_tflite

ARENA = "tml_model_arena"


def prefix_of(name: str) -> str:
    return f"tml_model_{name}" if name else "tml_model"


def stem_of(name: str) -> str:
    """File stem: model (the primary), model_<name> (a further model)."""
    return f"model_{name}" if name else "model"


def plan_together(lowered: dict) -> dict[str, Plan]:
    """One arena for models run in turn (see the module docstring); a Plan view per model, its tensor
    offsets in the shared arena and the shared arena's size."""
    sizes: dict[tuple, int] = {}
    steps, inputs, outputs = [], [], []
    for name, lw in lowered.items():
        sizes.update({(name, t): n for t, n in lw.arena_tensors.items()})
        steps += layer_steps(lw, key=lambda t, name=name: (name, t))
        inputs.append((name, lw.input.index))
        outputs.append((name, lw.output.index))
    joint = plan_steps(sizes, steps, inputs, outputs + inputs)
    views = {}
    for name, lw in lowered.items():
        offsets = {t: joint.offsets[(name, t)] for t in lw.arena_tensors}
        lifetimes = {t: joint.lifetimes[(name, t)] for t in lw.arena_tensors}
        views[name] = Plan([], offsets, joint.arena_size, lifetimes)
    return views


def shared_arena_bytes(models: dict[str, bytes]) -> int:
    """Bytes of the one tensor arena these models share on the device (planned together, as compile_models
    emits them; one model alone: its own arena)."""
    return next(iter(compile_models(models).values())).arena_size


def compile_models(models: dict[str, bytes], out_dir: str | Path | None = None,
                   kernels: str = "auto") -> dict[str, CompiledModel]:
    """Compile every model ("" the primary) into out_dir, sharing one arena when there are several. One
    model alone compiles exactly as compile_tflite does (a static arena of its own). kernels: as for
    compile_tflite (a board's choice: lower.kernels_for)."""
    lowered = {name: lower(parse_tflite(data), kernels) for name, data in models.items()}
    if len(lowered) == 1:
        plans = {name: compile_model(lw) for name, lw in lowered.items()}
    else:
        plans = plan_together(lowered)
    owner = "" if "" in lowered else next(iter(lowered))
    out = {}
    for name, lw in lowered.items():
        shared = len(lowered) > 1
        c_src, h_src = emit(lw, plans[name], prefix_of(name), arena=ARENA if shared else None,
                            owns_arena=name == owner, header=f"{stem_of(name)}.h")
        cm = CompiledModel(lw, plans[name], prefix_of(name), c_src, h_src)
        if out_dir is not None:
            d = Path(out_dir)
            d.mkdir(parents=True, exist_ok=True)
            cm.c_path, cm.h_path = d / f"{stem_of(name)}.c", d / f"{stem_of(name)}.h"
            write_if_changed(cm.c_path, c_src)
            write_if_changed(cm.h_path, h_src)
        out[name] = cm
    return out
