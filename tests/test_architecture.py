"""The architecture as tests: import direction, no cycles, short functions, docs pointing home.

The layers (docs/ARCHITECTURE.md, "Layers") from the bottom up: ``core`` (connection factory,
quoting, settings, errors), ``standards`` (the standard as code), ``pipelines`` (extract,
standardise, lake, resolve, masters), ``warehouse`` (gold store, serving), ``quality``, ``dags``;
``benchmarks`` sit on top of everything. An import only points down, whether it is written at
module level, inside a function, or as a module name handed to importlib. The checks read the
source with :mod:`ast` (nothing is imported), so a violation is reported with its file and line
even when the import would fail.

What the code still does against a rule is listed in a ``PENDING`` set with who is changing it;
the sets are to be emptied, never extended to make a test pass.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Packages from the bottom layer up; a module may import only from its own layer or below.
LAYERS = ("core", "standards", "pipelines", "warehouse", "quality", "console", "dags", "benchmarks")
MAX_FUNCTION_LINES = 80
#: Functions allowed past the limit because they declare data (one ``module:function  reason`` a line).
DATA_DECLARATIONS = Path(__file__).with_name("data_declarations.txt")

# -- known violations, each being removed by the work named beside it --------------------------------
#: Module-level imports that point up a layer.
PENDING_LAYER: set[tuple[str, str]] = set()
#: Import cycles that close only through imports inside functions.
PENDING_CYCLES: set[frozenset[str]] = set()
#: Functions over the limit that other work is shortening right now.
PENDING_LONG: set[str] = set()
#: Files whose docstrings still point at documents outside the repository.
PENDING_POINTERS: set[str] = set()
#: Imports inside functions that point up a layer on purpose, with the reason.
UPWARD_IN_FUNCTIONS = {
    ("core.db", "standards.sqlenv"): "connect() installs the standard on every connection it opens; "
    "importing it inside keeps core importable without the layers above",
}


@dataclass(frozen=True)
class Import:
    """One import statement resolved to a module of the project."""

    source: str
    target: str
    path: str
    line: int
    in_function: bool

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line} {self.source} -> {self.target}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def project_modules() -> dict[str, Path]:
    """Every module of the layered packages, by dotted name."""
    return {_module_name(p): p for pkg in LAYERS for p in sorted((ROOT / pkg).rglob("*.py"))}


def _resolve(name: str, imported: list[str]) -> list[str]:
    """Project modules an import refers to: ``from a.b import c`` is ``a.b.c`` if that is a module."""
    modules = project_modules()
    found = [f"{name}.{n}" for n in imported if f"{name}.{n}" in modules]
    if len(found) < len(imported) or not imported:
        parts = name.split(".")
        while parts and ".".join(parts) not in modules:
            parts.pop()
        if parts:
            found.append(".".join(parts))
    return found


def _absolute(module: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports_of(module: str, path: Path) -> Iterator[Import]:
    rel = str(path.relative_to(ROOT))

    def walk(node: ast.AST, in_function: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            if isinstance(child, ast.Import):
                for alias in child.names:
                    for target in _resolve(alias.name, []):
                        yield Import(module, target, rel, child.lineno, inside)
            elif isinstance(child, ast.ImportFrom):
                name = _absolute(module, path, child)
                for target in _resolve(name, [a.name for a in child.names]):
                    yield Import(module, target, rel, child.lineno, inside)
            yield from walk(child, inside)

    yield from walk(ast.parse(path.read_text(encoding="utf-8"), str(path)), False)


@cache
def all_imports() -> tuple[Import, ...]:
    """Every import between the project's modules (a module importing itself is left out)."""
    return tuple(i for m, p in project_modules().items() for i in _imports_of(m, p) if i.target != m)


def _layer(module: str) -> int:
    return LAYERS.index(module.split(".", 1)[0])


def cycles(imports: list[Import]) -> list[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    graph: dict[str, set[str]] = {}
    for i in imports:
        graph.setdefault(i.source, set()).add(i.target)
        graph.setdefault(i.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(frozenset(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def _describe(components: list[frozenset[str]]) -> list[str]:
    return [" <-> ".join(sorted(c)) for c in components]


# -- 1. no import cycles ------------------------------------------------------------------------------
def test_no_import_cycles_at_module_level() -> None:
    """Importing any module never re-enters a module that is still being imported."""
    found = cycles([i for i in all_imports() if not i.in_function])
    assert _describe(found) == []


def test_no_import_cycles_counting_imports_inside_functions() -> None:
    """An import moved into a function hides a cycle from Python, not from the design."""
    found = cycles(list(all_imports()))
    assert _describe([c for c in found if c not in PENDING_CYCLES]) == []
    assert PENDING_CYCLES <= set(found), "a pending cycle is gone: remove it from PENDING_CYCLES"


# -- 2. imports point down ------------------------------------------------------------------------------
def test_module_level_imports_point_down_the_layers() -> None:
    """core imports nothing above it, standards only core, pipelines never warehouse or quality..."""
    upward = [i for i in all_imports() if not i.in_function and _layer(i.target) > _layer(i.source)]
    assert [i.where for i in upward if (i.source, i.target) not in PENDING_LAYER] == []
    assert PENDING_LAYER <= {(i.source, i.target) for i in upward}, "a pending import is gone: remove it"


def test_imports_inside_functions_point_down_too() -> None:
    """Reported separately: an upward import inside a function is allowed only with a stated reason."""
    upward = [i for i in all_imports() if i.in_function and _layer(i.target) > _layer(i.source)]
    assert [i.where for i in upward if (i.source, i.target) not in UPWARD_IN_FUNCTIONS] == []
    assert set(UPWARD_IN_FUNCTIONS) <= {(i.source, i.target) for i in upward}, "an allowed import is gone"


def modules_named_in_strings() -> list[Import]:
    """Dotted project module names written as string literals (``importlib.import_module(name)``,
    plugin lists): a dependency the import statements do not show."""
    found = []
    for module, path in project_modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                name = node.value.split(":", 1)[0]
                if "." in name and name in project_modules() and name != module:
                    found.append(Import(module, name, str(path.relative_to(ROOT)), node.lineno, True))
    return found


def test_modules_loaded_by_name_point_down_too() -> None:
    upward = [i for i in modules_named_in_strings() if _layer(i.target) > _layer(i.source)]
    assert [i.where for i in upward] == []


def test_core_is_importable_alone_and_standards_only_needs_core() -> None:
    """The two bottom layers, spelled out (the general rule above covers them; this names them)."""
    for i in all_imports():
        if i.in_function:
            continue
        if i.source.startswith("core."):
            assert i.target.startswith("core"), i.where
        if i.source.startswith("standards."):
            assert i.target.split(".")[0] in ("core", "standards"), i.where


# -- 3. short functions ---------------------------------------------------------------------------------
def _python_files() -> list[Path]:
    skip = {".venv", ".git", "var", "__pycache__", "node_modules", "build"}
    return sorted(p for p in ROOT.rglob("*.py") if not skip & set(p.relative_to(ROOT).parts))


def long_functions() -> dict[str, int]:
    """``path:Class.function`` -> lines, for every function longer than the limit (nested ones too)."""
    out: dict[str, int] = {}

    def walk(node: ast.AST, rel: str, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (child.end_lineno or child.lineno) - child.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    out[f"{rel}:{prefix}{child.name}"] = lines
                walk(child, rel, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                walk(child, rel, f"{prefix}{child.name}.")
            else:
                walk(child, rel, prefix)

    for path in _python_files():
        walk(ast.parse(path.read_text(encoding="utf-8"), str(path)), str(path.relative_to(ROOT)), "")
    return out


def data_declarations() -> dict[str, str]:
    """The allowlist: function -> why it may be long (it declares data, it does not compute)."""
    out: dict[str, str] = {}
    for n, line in enumerate(DATA_DECLARATIONS.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, reason = line.strip().partition(" ")
            assert reason.strip(), f"{DATA_DECLARATIONS.name}:{n}: {name} needs a reason"
            out[name] = reason.strip()
    return out


def test_no_function_longer_than_80_lines_outside_data_declarations() -> None:
    long = long_functions()
    allowed = set(data_declarations()) | PENDING_LONG
    assert {f: n for f, n in long.items() if f not in allowed} == {}
    stale = (set(data_declarations()) | PENDING_LONG) - set(long)
    assert stale == set(), "now short (or renamed): remove from the allowlist / PENDING_LONG"


# -- 4. documentation points into the repository ----------------------------------------------------------
#: A document named without its ``docs/`` folder, or a path into the workspace outside the repository.
_OUTSIDE = re.compile(r"(?<!docs/)\b(?:ARCHITECTURE|STANDARDS?)\.md|\.\./shared")


def _text_files() -> Iterator[Path]:
    skip = {".venv", ".git", "var", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis",
            "docs"}
    for path in sorted(ROOT.rglob("*")):
        rel = path.relative_to(ROOT)
        if path.is_file() and not skip & set(rel.parts) and path.stat().st_size < 2_000_000:
            yield path


def test_docs_and_docstrings_point_to_the_projects_own_docs() -> None:
    """ARCHITECTURE/STANDARD documents are cited as docs/..., never as files outside the repository."""
    found: dict[str, list[int]] = {}
    for path in _text_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        rel = str(path.relative_to(ROOT))
        if rel == "tests/test_architecture.py":
            continue
        lines = [n for n, line in enumerate(text.splitlines(), start=1) if _OUTSIDE.search(line)]
        if lines:
            found[rel] = lines
    assert {f: n for f, n in found.items() if f not in PENDING_POINTERS} == {}
    assert PENDING_POINTERS <= set(found), "a pending file is fixed: remove it from PENDING_POINTERS"


# -- the checks check what they claim ----------------------------------------------------------------------
def test_cycle_finder_and_pointer_pattern_catch_what_they_should() -> None:
    a_b = [Import("a", "b", "a.py", 1, False), Import("b", "c", "b.py", 1, False), Import("c", "a", "c.py", 1, True)]
    assert cycles(a_b) == [frozenset({"a", "b", "c"})]
    assert cycles(a_b[:2]) == []
    assert _OUTSIDE.search("see " + "ARCHITECTURE.md") and _OUTSIDE.search("../" + "shared/x")
    assert _OUTSIDE.search("STANDARDS" + ".md") and not _OUTSIDE.search("docs/" + "ARCHITECTURE.md")
