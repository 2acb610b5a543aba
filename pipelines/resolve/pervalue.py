"""Features computed once per distinct input value and joined back to the records.

Why: the comparison library's normal forms (``rid_normalise``, ``name_norm`` and the two pinyin
keys, the phone digits, the address prefix) are functions of one input column, and records repeat
those values - one person appears in several departments, a household shares an address.  On the
1.5 M person records of a 200k-person city there are about a fifth as many distinct names and IDs,
so computing the normal forms per distinct value and joining them back (a hash join on a table of
distinct values, bounded like any join) does the expensive work a fifth as often.

Which features qualify is read from the expressions themselves (DuckDB's own parser,
``json_serialize_sql``): a feature all of whose column references lead - through the library's
private ``_lib_*`` features - to one and the same input column.  Anything the parse cannot vouch
for stays per record: a subquery, a lambda, a window, a qualified or star reference, a volatile
function (``random()`` must differ per record), a reference to another public feature (a select-list
alias, which an input column of the same name would shadow).  The values are the same either way:
the same expressions run over the same values (``tests/resolve/test_pervalue.py`` compares both).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

import duckdb

from core.sqltext import q

#: functions whose value may differ between two calls on the same arguments
VOLATILE = frozenset({"random", "uuid", "gen_random_uuid", "uuidv4", "uuidv7", "nextval", "currval", "setseed"})
#: parse-tree node classes that bind names of their own or read other rows
_OPAQUE = frozenset({"SUBQUERY", "LAMBDA", "WINDOW", "STAR", "COLUMNS", "PARAMETER", "POSITIONAL_REFERENCE"})

_LOCK = threading.Lock()
_PARSER: duckdb.DuckDBPyConnection | None = None


def _parse(expr: str) -> dict[str, Any] | None:
    """The parse tree of ``SELECT (expr)`` (None: not one parsable expression)."""
    global _PARSER
    with _LOCK:
        if _PARSER is None:
            _PARSER = duckdb.connect()
        row = _PARSER.execute("SELECT json_serialize_sql(?)", [f"SELECT ({expr})"]).fetchone()
    tree: dict[str, Any] = json.loads(row[0]) if row else {"error": True}
    statements: list[dict[str, Any]] = tree.get("statements", [])
    if tree.get("error") or len(statements) != 1:
        return None
    node: dict[str, Any] = statements[0]["node"]
    return node if len(node.get("select_list", [])) == 1 else None


def column_refs(expr: str) -> frozenset[str] | None:
    """The (lower-cased) column names ``expr`` reads; None when that cannot be told safely."""
    root = _parse(expr)
    if root is None:
        return None
    refs: set[str] = set()
    stack: list[Any] = [root["select_list"]]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        cls = node.get("class")
        if cls in _OPAQUE:
            return None
        if cls == "COLUMN_REF":
            names = node.get("column_names", [])
            if len(names) != 1:
                return None
            refs.add(str(names[0]).lower())
        elif cls == "FUNCTION" and str(node.get("function_name", "")).lower() in VOLATILE:
            return None
        stack.extend(v for v in node.values() if isinstance(v, (dict, list)))
    return frozenset(refs)


@dataclass
class Group:
    """The features computed per distinct value of one input column."""

    column: str
    private: list[str] = field(default_factory=list)
    public: list[str] = field(default_factory=list)


def groups(features: dict[str, str], private: set[str]) -> list[Group]:
    """Input column -> features that depend on it alone, for every column some private feature
    depends on alone (other columns' features gain nothing from a join)."""
    deps: dict[str, frozenset[str] | None] = {}
    for name, expr in features.items():
        deps[name] = _input_columns(column_refs(expr), deps, private)
    by_col: dict[str, Group] = {}
    for name, d in deps.items():
        if d is not None and len(d) == 1:
            g = by_col.setdefault(next(iter(d)), Group(next(iter(d))))
            (g.private if name in private else g.public).append(name)
    return [g for g in by_col.values() if g.private]


def _input_columns(refs: frozenset[str] | None, deps: dict[str, frozenset[str] | None],
                   private: set[str]) -> frozenset[str] | None:
    """The input columns a feature reading ``refs`` depends on (through earlier private features)."""
    if refs is None:
        return None
    cols: set[str] = set()
    for r in refs:
        if r in private and r in deps:
            d = deps[r]
            if d is None:
                return None
            cols |= d
        elif r in deps or r in private:
            return None  # a public feature's alias (shadowed by a column of that name), or a later private one
        else:
            cols.add(r)
    return frozenset(cols)


def per_value_source(features: dict[str, str], gs: list[Group], src: str, wrap: str) -> tuple[str, set[str]]:
    """``src`` with each group's features as columns, joined on the group's column.

    Private features keep their names (other features read them as they are); every feature is
    also ``__pv_<name>``, wrapped by ``wrap`` (``blank_null``), for the outer SELECT to rename.
    Returns the FROM clause and the names of the features it computes.
    """
    joins: list[str] = []
    cols: list[str] = []
    done: set[str] = set()
    for i, g in enumerate(gs):
        key, t = f"__pv_key_{i}", f"__pv_{i}"
        inner = ", ".join(f"({features[n]}) AS {q(n)}" for n in g.private)
        outer = ", ".join([f"{q(g.column)} AS {key}", *(q(n) for n in g.private),
                           *(f"{wrap}({q(n)}) AS {q('__pv_' + n)}" for n in g.private),
                           *(f"{wrap}(({features[n]})) AS {q('__pv_' + n)}" for n in g.public)])
        table = f"(SELECT {outer} FROM (SELECT *, {inner} FROM (SELECT DISTINCT {q(g.column)} FROM {src})))"
        joins.append(f"LEFT JOIN {table} AS {t} ON __s.{q(g.column)} IS NOT DISTINCT FROM {t}.{key}")
        cols.append(f"{t}.* EXCLUDE ({key})")
        done.update(g.private, g.public)
    return f"(SELECT __s.*, {', '.join(cols)} FROM {src} AS __s {' '.join(joins)})", done
