"""DuckDB SQL of the engine -> Spark SQL: macros inlined, DuckDB-only functions rewritten, sqlglot.

The engine and the configurations write DuckDB SQL only (docs/ARCHITECTURE.md, "One dialect").  A
statement reaches Spark in three moves over one sqlglot tree:

1. every call of a macro (the engine's, :mod:`pipelines.resolve.macros`, and the standard's
   identifier and text macros) is replaced by the macro's body with the arguments substituted,
   repeatedly, since macros call macros; a macro with a Spark body of its own (:data:`SPARK_BODIES`)
   takes that one - ``hash63`` (DuckDB's ``md5_number`` has no Spark twin) and ``is_blank``
   (``typeof`` names types differently);
2. the few DuckDB functions Spark lacks or spells with other semantics are rewritten
   (:func:`_rewrite`): ``regexp_full_match`` (an anchored ``RLIKE``), ``str_split(s, '')``
   (characters, without Java's trailing empty string), ``try_strptime`` (``try_to_timestamp``
   with the format in Java's letters), ``hamming`` (a higher-order ``aggregate``),
   ``jaro_winkler_similarity`` and the character-table functions (Arrow UDFs,
   :mod:`pipelines.resolve.spark.functions`);
   ``FROM range(a, b) AS t(i)`` becomes Spark's ``range`` table function;
3. sqlglot writes the tree as Spark SQL (``QUALIFY`` becomes a filtered subquery, lambdas and
   lists become Spark's higher-order functions and arrays).
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlglot
import sqlglot.expressions as exp
from sqlglot.dialects.spark import Spark
from sqlglot.time import format_time

from core.errors import InputError
from standards.text import WS_CLASS

#: Macros whose DuckDB body cannot be transpiled as it is: (parameters, Spark SQL body).
#: ``hash63``: the top 63 bits of ``md5_number`` (the digest read little-endian) = bytes 9..16 of
#: the MD5 read little-endian, shifted right once: built from the hex digest's byte pairs in
#: reverse, as 15 + 1 hex digits so each part fits a BIGINT.
_LE = "concat(" + ", ".join(f"substr(md5(s), {31 - 2 * i}, 2)" for i in range(8)) + ")"
SPARK_BODIES: dict[str, tuple[tuple[str, ...], str]] = {
    "hash63": (("s",), f"(shiftleft(CAST(conv(substr({_LE}, 1, 15), 16, 10) AS BIGINT), 3) "
                       f"| shiftright(CAST(conv(substr({_LE}, 16, 1), 16, 10) AS BIGINT), 1))"),
    # any type's text: a non-string value is never blank (DuckDB asks typeof, whose names differ)
    "is_blank": (("x",), "(CAST(x AS STRING) RLIKE __ws)"),
}

#: DuckDB functions run as Spark UDFs of the same name (registered by ``functions.register_udfs``).
UDFS = {"jaro_winkler_similarity": "md_jaro_winkler", "pinyin_key": "md_pinyin_key",
        "pinyin_key_plain": "md_pinyin_key_plain", "t2s": "md_t2s", "name_norm": "md_name_norm"}


class TranslationError(InputError):
    """A statement the Spark engine cannot run (one line naming the construct)."""


def _parse(body: str, dialect: str) -> exp.Expr:
    return sqlglot.parse_one(body, read=dialect)


class Translator:
    """Translates the engine's DuckDB statements for Spark, knowing every macro by name."""

    def __init__(self) -> None:
        #: name -> (parameters, parsed body); later definitions replace earlier ones
        self._macros: dict[str, tuple[tuple[str, ...], exp.Expr]] = {}
        blank = exp.Literal.string(f"^{WS_CLASS}*\\z")
        for name, (params, body) in SPARK_BODIES.items():
            tree = _parse(body, "spark").transform(
                lambda n: blank.copy() if isinstance(n, exp.Column) and n.name == "__ws" else n)
            self._macros[name] = (params, tree)
        self._spark_owned = set(SPARK_BODIES)

    def define(self, name: str, params: Iterable[str], body: str) -> None:
        """Know a DuckDB macro (a Spark body of :data:`SPARK_BODIES` keeps precedence)."""
        if name.lower() in self._spark_owned:
            return
        self._macros[name.lower()] = (tuple(params), _parse(body, "duckdb"))

    def expand(self, tree: exp.Expr, depth: int = 0) -> exp.Expr:
        """``tree`` with every macro call replaced by its body (nested calls too)."""
        if depth > 30:
            raise TranslationError("macros nest deeper than 30 levels (a macro calling itself?)")
        changed = False

        def inline(node: exp.Expr) -> exp.Expr:
            nonlocal changed
            name = _call_name(node)
            if name is None or name not in self._macros:
                return node
            params, body = self._macros[name]
            args = _call_args(node)
            if len(args) != len(params):
                raise TranslationError(f"macro {name} takes {len(params)} argument(s), got {len(args)}")
            changed = True
            return _substitute(body, dict(zip(params, args)))

        out = tree.transform(inline, copy=True)
        return self.expand(out, depth + 1) if changed else out

    def to_spark(self, tree: exp.Expr) -> str:
        """Spark SQL text of a DuckDB tree (macros expanded, DuckDB-only functions rewritten)."""
        rewritten = self.expand(tree).transform(_rewrite, copy=False)
        return rewritten.sql(dialect="spark", unsupported_level=sqlglot.ErrorLevel.RAISE)


def _call_name(node: exp.Expr) -> str | None:
    """Lower-case name of a function call a macro could define, else None."""
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    return None


def _call_args(node: exp.Expr) -> list[exp.Expr]:
    return list(node.expressions)


def _substitute(body: exp.Expr, args: dict[str, exp.Expr]) -> exp.Expr:
    """The macro body with each unqualified parameter column replaced by its argument (bracketed
    unless atomic, so operator precedence survives)."""

    def put(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column) and not node.table and node.name in args:
            arg = args[node.name].copy()
            atomic = isinstance(arg, (exp.Column, exp.Literal, exp.Paren, exp.Func, exp.Null, exp.Boolean))
            return arg if atomic else exp.Paren(this=arg)
        return node

    return body.transform(put, copy=True)


def _udf(name: str, args: list[exp.Expr]) -> exp.Expr:
    return exp.Anonymous(this=name, expressions=args)


def _range_table(node: exp.Table) -> exp.Expr:
    """``FROM range(a, b) AS t(i)``: Spark's ``range`` table function, its ``id`` named ``i``."""
    series = node.this
    alias = node.args.get("alias")
    cols = alias.columns if alias is not None else []
    if (alias is None or not isinstance(series, exp.GenerateSeries) or not series.args.get("is_end_exclusive")
            or len(cols) != 1):
        raise TranslationError("only range(start, end) AS t(i) table functions have a Spark form here")
    start, end = series.args["start"].sql("spark"), series.args["end"].sql("spark")
    sub = _parse(f"SELECT id AS {cols[0].sql('spark')} FROM range({start}, {end})", "spark")
    return exp.Subquery(this=sub, alias=exp.TableAlias(this=alias.this.copy()))


def _rewrite(node: exp.Expr) -> exp.Expr:
    """DuckDB functions Spark lacks or gives other semantics, as Spark-expressible trees."""
    if isinstance(node, exp.Table) and isinstance(node.this, exp.GenerateSeries):
        return _range_table(node)
    if isinstance(node, exp.RegexpFullMatch):
        pattern = node.expression
        if not isinstance(pattern, exp.Literal):
            raise TranslationError("regexp_full_match with a non-literal pattern has no Spark form here")
        anchored = exp.Literal.string(f"^(?:{pattern.this})\\z")
        return exp.RegexpLike(this=node.this, expression=anchored)
    if isinstance(node, exp.JarowinklerSimilarity):
        return _udf(UDFS["jaro_winkler_similarity"], [node.this, node.expression])
    if isinstance(node, exp.Split) and isinstance(node.expression, exp.Literal) and node.expression.this == "":
        # DuckDB: the characters; Spark's split(s, '') would add a trailing ''
        return exp.Anonymous(this="regexp_extract_all", expressions=[
            node.this, exp.Literal.string("(?s)."), exp.Literal.number(0)])
    name = _call_name(node)
    if name == "hamming":
        a, b = _call_args(node)
        return _parse("aggregate(sequence(1, greatest(length(__a), 1)), 0, (__acc, __i) -> __acc + "
                      "IF(substr(__a, __i, 1) <> substr(__b, __i, 1), 1, 0))", "spark").transform(
            lambda n: (a.copy() if isinstance(n, exp.Column) and n.name == "__a"
                       else b.copy() if isinstance(n, exp.Column) and n.name == "__b" else n))
    if name == "try_strptime":
        value, fmt = _call_args(node)
        if not isinstance(fmt, exp.Literal):
            raise TranslationError("try_strptime with a non-literal format has no Spark form here")
        java = format_time(str(fmt.this), Spark.INVERSE_TIME_MAPPING, Spark.INVERSE_TIME_TRIE)
        return exp.Anonymous(this="try_to_timestamp", expressions=[value, exp.Literal.string(java)])
    if name in UDFS:
        return _udf(UDFS[name], _call_args(node))
    if name == "md5_number":
        raise TranslationError("md5_number has no Spark form; use hash63 (pipelines/resolve/macros.py)")
    return node
