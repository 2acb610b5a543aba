"""What a source spec's SQL expression may be: one scalar expression over the row's own columns.

Spec expressions (``fields[].expr``, ``derived[].expr``) are pasted into the generated
standardisation SQL, so an expression that could do anything SQL can do would be a way out of the
spec: ``(SELECT ... FROM read_text('/etc/passwd'))`` reads a file into silver, ``x; DROP ...``
runs a second statement.  An expression is therefore parsed with sqlglot in the source's dialect
and accepted only if every node of the tree is on an allowlist:

* column references (unqualified, to columns of the table), literals, NULL, booleans;
* arithmetic, comparison, logic, ``CASE``/``IF``, ``CAST``, ``IN (list)``, ``LIKE``, ``BETWEEN``;
* the string, number and date functions in :data:`ALLOWED_FUNCTIONS` - no table function, no file,
  network, environment or settings access, no subquery, no second statement.

DuckDB's external access is also switched off while ingest standardises (``core.db.confine``), so a
function that slipped through could still not reach a file outside the lake.
"""

from __future__ import annotations

import sqlglot
import sqlglot.expressions as exp

from core.errors import ConfigurationError

#: Node types that are structure, not behaviour.
_STRUCTURE: tuple[type[exp.Expression], ...] = (
    exp.Column, exp.Identifier, exp.Literal, exp.Null, exp.Boolean, exp.Paren, exp.DataType,
    exp.DataTypeParam,
)
_OPERATORS: tuple[type[exp.Expression], ...] = (
    exp.Add, exp.Sub, exp.Mul, exp.Div, exp.IntDiv, exp.Mod, exp.Neg, exp.EQ, exp.NEQ, exp.GT, exp.GTE,
    exp.LT, exp.LTE, exp.Is, exp.Not, exp.And, exp.Or, exp.In, exp.Between, exp.Like, exp.ILike,
    exp.DPipe, exp.Case, exp.If, exp.Cast, exp.TryCast, exp.NullSafeEQ, exp.NullSafeNEQ,
)
#: Functions by sqlglot class: text, numbers, dates - each works on its arguments only.
ALLOWED_FUNCTIONS: tuple[type[exp.Expression], ...] = (
    exp.Coalesce, exp.Nullif, exp.Concat, exp.ConcatWs, exp.Upper, exp.Lower, exp.Trim, exp.Substring,
    exp.Length, exp.Left, exp.Right, exp.StrPosition, exp.Pad, exp.RegexpReplace, exp.RegexpLike,
    exp.RegexpExtract, exp.Abs, exp.Round, exp.Floor, exp.Ceil, exp.Greatest, exp.Least,
    exp.StrToDate, exp.StrToTime, exp.TimeToStr, exp.TsOrDsToDate, exp.Date, exp.DateStrToDate,
    exp.Year, exp.Month, exp.Day, exp.Replace, exp.Reverse, exp.Initcap,
)
#: Functions sqlglot does not model (``exp.Anonymous``), allowed by lower-case name.
ALLOWED_NAMES = frozenset({"ltrim", "rtrim", "replace", "lpad", "rpad", "ifnull", "nvl", "isnull",
                           "substr", "instr", "char_length", "to_date", "to_char", "date_format",
                           "strftime", "translate", "regexp_matches", "left", "right", "repeat"})
_ALLOWED = _STRUCTURE + _OPERATORS + ALLOWED_FUNCTIONS


class ExpressionRefused(ConfigurationError):
    """A spec expression that is not a single scalar expression over the row (one line, says why)."""


def _describe(node: exp.Expr) -> str:
    if isinstance(node, exp.Anonymous):
        return f"function {node.name}()"
    if isinstance(node, (exp.Select, exp.Subquery, exp.Query)):
        return "a subquery (an expression is computed from the row's own columns only)"
    if isinstance(node, exp.Table):
        return f"a table reference ({node.sql()})"
    if isinstance(node, exp.Func):
        return f"function {node.sql_name().lower()}()"
    return f"{type(node).__name__} ({node.sql()[:40]})"


def check_expression(sql: str, dialect: str, columns: list[str] | None = None) -> exp.Expr:
    """Parse ``sql`` and return its tree, or raise :class:`ExpressionRefused` saying what is wrong.

    ``columns``: the columns the expression may refer to (None: do not check the names).
    """
    try:
        trees = [t for t in sqlglot.parse(sql, read=dialect) if t is not None]
    except sqlglot.errors.SqlglotError as exc:
        first = (str(exc).splitlines() or [""])[0]
        raise ExpressionRefused(f"not valid {dialect} SQL: {first[:160]}") from None
    if len(trees) != 1:
        raise ExpressionRefused(f"{len(trees)} statements: an expression must be one scalar expression")
    tree = trees[0]
    for node in tree.walk():
        if isinstance(node, exp.Anonymous):
            if node.name.lower() not in ALLOWED_NAMES:
                raise ExpressionRefused(f"uses function {node.name}(), which is not allowed in a spec expression")
            continue
        if not isinstance(node, _ALLOWED):
            raise ExpressionRefused(f"uses {_describe(node)}, which is not allowed in a spec expression")
        if isinstance(node, exp.Column) and (node.table or node.args.get("db")):
            raise ExpressionRefused(f"refers to {node.sql()!r}: only the row's own columns, unqualified")
    if columns is not None:
        unknown = sorted({c.name for c in tree.find_all(exp.Column)} - set(columns))
        if unknown:
            raise ExpressionRefused(f"refers to {unknown[0]!r}, which is not a column of the table")
    return tree
