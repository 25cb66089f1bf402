"""No import cycles in the core (shared/tinyml): data flows one way, so every module can be read, tested
and changed on its own. Imports inside functions count too: a lazy import hides a cycle, it does not
remove it (train, evaluate and report once imported each other that way)."""

from __future__ import annotations

import ast
from pathlib import Path

import tinyml

CORE = Path(tinyml.__file__).parent


def core_modules(root: Path = CORE) -> dict[str, Path]:
    mods = {}
    for p in root.rglob("*.py"):
        parts = list(p.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = p
    return mods


def import_graph(mods: dict[str, Path]) -> dict[str, set[str]]:
    """module -> core modules it imports anywhere in its body. `from pkg import sub` depends on the
    submodule `sub` (not on the package's __init__) when `sub` is a module."""
    graph = {}
    for name, path in mods.items():
        is_pkg = path.name == "__init__.py"
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name in mods)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".")[: len(name.split(".")) - node.level + is_pkg]
                    prefix = ".".join(base + ([node.module] if node.module else []))
                else:
                    prefix = node.module or ""
                subs = [f"{prefix}.{a.name}" for a in node.names if f"{prefix}.{a.name}" in mods]
                deps.update(subs)
                if len(subs) < len(node.names) and prefix in mods:
                    deps.add(prefix)
        deps.discard(name)
        graph[name] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_core_has_no_import_cycles():
    graph = import_graph(core_modules())
    assert "tinyml.train" in graph and graph["tinyml.train"], "the import graph came out empty"
    found = cycles(graph)
    assert not found, "import cycles in the core: " + "; ".join(" <-> ".join(c) for c in found)


def test_cycle_finder_finds_a_lazy_cycle(tmp_path):
    pkg = tmp_path / "tinyml"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .b import f\n")
    (pkg / "b.py").write_text("def f():\n    from . import c\n")  # a lazy import
    (pkg / "c.py").write_text("import tinyml.a\n")
    (pkg / "sub" / "d.py").write_text("from .. import a\nfrom . import e\n")
    (pkg / "sub" / "e.py").write_text("")
    graph = import_graph(core_modules(pkg))
    assert graph["tinyml.sub.d"] == {"tinyml.a", "tinyml.sub.e"}
    assert cycles(graph) == [["tinyml.a", "tinyml.b", "tinyml.c"]]
