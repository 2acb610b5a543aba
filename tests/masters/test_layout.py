"""The build's shape: no import cycle among the platform's modules, and none hidden in functions.

A cycle dodged by importing inside a function (the build and the delta importing each other) still
ties two modules into one; the build's packages import at module level only, so the module-level
graph is the real one, and it must be acyclic.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "standards", "pipelines", "warehouse", "quality")
#: Modules that import at module level only.
BUILD = ("pipelines.masters", "pipelines.resolve")


def _modules() -> dict[str, ast.Module]:
    out = {}
    for package in PACKAGES:
        for f in (ROOT / package).rglob("*.py"):
            name = ".".join(f.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            out[name] = ast.parse(f.read_text(encoding="utf-8"))
    return out


def _imported(node: ast.AST, modules: dict[str, ast.Module]) -> set[str]:
    """Project modules an import statement names (``from a import b`` is ``a.b`` when a module)."""
    names: set[str] = set()
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        for a in node.names:
            full = f"{node.module}.{a.name}"
            names.add(full if full in modules else node.module)
    elif isinstance(node, ast.Import):
        names |= {a.name for a in node.names}
    return names & set(modules)


def test_module_level_imports_have_no_cycle() -> None:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, tree in modules.items():
        deps: set[str] = set()
        for stmt in tree.body:
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                deps |= _imported(stmt, modules)
        graph[name] = deps - {name}
    try:
        list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        raise AssertionError(f"import cycle: {' -> '.join(exc.args[1])}") from None


def test_the_build_imports_at_module_level_only() -> None:
    modules = _modules()
    hidden = []
    for name, tree in modules.items():
        if not name.startswith(BUILD):
            continue
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                hidden += [f"{name}.{fn.name} imports {m}" for node in ast.walk(fn) for m in _imported(node, modules)]
    assert not hidden, hidden
