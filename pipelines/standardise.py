"""Standardise: turn one raw batch into rows of the unified standard (silver) or quarantine.

The whole batch is one generated DuckDB statement per output, built from the source spec:

* each mapped element's value is the source column (or the spec's SQL expression, parsed by sqlglot
  in the source's own dialect and transpiled to DuckDB), trimmed, with empty strings as NULL;
* code elements go through the spec's code map, then the standard code table's codes, names and
  aliases (``standards/codes``); dates through the spec's format; identifiers through the repair and
  validation macros of ``standards.identifiers``; names, addresses and text through the Chinese text
  normalisation of ``standards.text``.

Two kinds of problems are told apart.  A value that cannot be *read* (a date that does not parse,
a code value no map knows, a number that is not a number) makes the row unusable as the source
meant it: the row goes to quarantine with the source, field, value and reason, and its original
text.  A value that is readable but *wrong* (an ID failing its check, a placeholder 不详, a dummy
phone) keeps the row in silver with the element set to NULL, the raw text kept in ``<element>_raw``
and the problem listed in ``_issues``, because the rest of the row still links the person (and the
raw ID is what fuzzy matching at edit distance 1 needs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import sqlglot.expressions as exp

from core.sqltext import lit, q
from pipelines.registry import SourceSpec, Table
from pipelines.specsql import check_expression
from standards.codetables import with_halfwidth_keys
from standards.dictionary import IDENTIFIER_RULES, Dictionary, Element, Master, dictionary
from standards.reasons import Reason
from standards.text import DUMMY_PHONE_PATTERN, PHONE_PATTERN

HARD_REASONS = (Reason.BAD_DATE, Reason.UNMAPPED_CODE, Reason.BAD_NUMBER)
SQL_TYPES = {"varchar": "VARCHAR", "date": "DATE", "timestamp": "TIMESTAMP", "decimal": "DECIMAL(18,4)",
             "integer": "BIGINT", "boolean": "BOOLEAN"}
PLACEHOLDER_DATES = ("1900-01-01", "1899-12-31", "1970-01-01", "0001-01-01", "9999-12-31")


@lru_cache(maxsize=512)
def transpile(expr: str, dialect: str) -> str:
    """A spec expression from the source's dialect into DuckDB, made total.

    Date parsing and casts become their ``try`` forms, so one row's bad value yields NULL (and the
    row is then judged like any other unreadable value) instead of failing the whole batch.  The
    expression is checked again here (:mod:`pipelines.specsql`): only a scalar expression over the
    row is ever pasted into the generated SQL, whoever built the spec object.
    """
    tree = check_expression(expr, dialect)
    for node in tree.find_all(exp.StrToTime, exp.StrToDate):
        node.set("safe", True)
    tree = tree.transform(lambda n: exp.TryCast(**n.args) if type(n) is exp.Cast else n)
    return tree.sql(dialect="duckdb")


@dataclass
class ElementSQL:
    """How one element of one table is computed: its value, and its problem (NULL when fine)."""

    element: Element
    raw: str          # SQL: the text as received (NULL for empty)
    value: str        # SQL: the standard value, typed
    problem: str      # SQL: a reason code or NULL
    hard: str         # SQL: boolean, the row cannot be read as the source meant it
    pre: dict[str, str] = field(default_factory=dict)  # helper column -> SQL, computed once per row
    #: the elements whose raw text value, problem and hard read (itself, and the kind of a typed
    #: identifier): all three are functions of these texts alone, so they can be computed once per
    #: distinct combination of them (:func:`answers_sql`)
    reads: tuple[str, ...] = ()
    #: a typed identifier's kind element and the SQL of its value: value and problem read it from
    #: the column ``k:<kind>``, computed once per distinct kind text (:func:`answers_sql`); None when
    #: the SQL is inline (no ``ref``) or the element is not a typed identifier
    kind: tuple[str, str] | None = None


class Pre:
    """Helper expressions of one element (a placeholder test, an identifier check...).

    Value and problem both need them; computed once in their own query stage (``staged``) they are
    referred to by column name, which roughly halves the standardisation time, since DuckDB does
    not share a macro call between the branches of two CASE expressions.
    """

    def __init__(self, element: str, staged: bool) -> None:
        self.element = element
        self.staged = staged
        self.exprs: dict[str, str] = {}

    def __call__(self, key: str, sql: str) -> str:
        column = f"x:{key}:{self.element}"
        self.exprs[column] = sql
        return q(column) if self.staged else f"({sql})"


def _raw_sql(expr_sql: str) -> str:
    return f"NULLIF(trim(CAST(({expr_sql}) AS VARCHAR)), '')"


def _code_sql(e: Element, raw: str, codes: dict[str, str] | None, pre: Pre) -> tuple[str, str, str]:
    """A source's own code map wins (its '0' may mean female), then the standard table's codes,
    names and aliases, both read half-width (a code typed with a Chinese IME is the same code); only
    a value neither knows can be a placeholder (不详), NULL with an issue (so the table's own 0 未知
    stays a code); anything else unknown is fatal."""
    table = e.code_table
    assert table
    spec_map = "NULL"
    if codes:
        whens = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in sorted(with_halfwidth_keys(codes).items()))
        spec_map = f"CASE fw2hw({raw}) {whens} END"
    lookup = f"(SELECT std_code FROM std_alias_{table} WHERE std_alias = fw2hw({raw}))"
    # the lookup is a subquery: no other helper of the same stage may refer to it, so the
    # placeholder test is its own helper and the two are combined in the value and problem
    mapped = pre("code", f"coalesce({spec_map}, {lookup})")
    placeholder = f"({mapped} IS NULL AND {pre('ph', f'is_placeholder({raw})')})"
    value = f"CASE WHEN {placeholder} THEN NULL ELSE {mapped} END"
    problem = (f"CASE WHEN {raw} IS NULL THEN NULL WHEN {placeholder} THEN '{Reason.PLACEHOLDER}' "
               f"WHEN {mapped} IS NULL THEN '{Reason.UNMAPPED_CODE}' END")
    hard = f"coalesce({raw} IS NOT NULL AND NOT {placeholder} AND {mapped} IS NULL, FALSE)"
    return value, problem, hard


def _date_sql(e: Element, raw: str, fmt: str | None, pre: Pre) -> tuple[str, str, str]:
    """A date in the spec's format (ISO without one), read half-width.  A placeholder, the zero date
    0000-00-00, a filler date (1900-01-01, 9999-12-31, anything before 1890) and, for an end date
    marked ``open_end``, a word for "no end" (长期) are no date: NULL with an issue.  Any other
    unparseable text is fatal."""
    folded = pre("hw", f"fw2hw({raw})")
    if fmt:
        parsed_sql = f"try_strptime({folded}, {lit(fmt)})"
    else:
        parsed_sql = (f"coalesce(try_cast({folded} AS TIMESTAMP), "
                      f"try_cast(try_cast({folded} AS DATE) AS TIMESTAMP))")
    parsed = pre("ts", parsed_sql)
    typed = f"CAST({parsed} AS {SQL_TYPES[e.type]})"
    placeholder = (f"(CAST({parsed} AS DATE) IN ({', '.join(f'DATE {lit(d)}' for d in PLACEHOLDER_DATES)}) "
                   f"OR CAST({parsed} AS DATE) < DATE '1890-01-01')")
    filler = f"is_placeholder({raw}) OR is_zero_date({raw})" + (f" OR is_open_end({raw})" if e.open_end else "")
    unreadable = pre("bad", f"{raw} IS NOT NULL AND {parsed} IS NULL AND NOT ({filler})")
    value = f"CASE WHEN {placeholder} THEN NULL ELSE {typed} END"
    problem = (f"CASE WHEN {unreadable} THEN '{Reason.BAD_DATE}' "
               f"WHEN {raw} IS NOT NULL AND ({parsed} IS NULL OR {placeholder}) THEN '{Reason.PLACEHOLDER}' END")
    return value, problem, f"coalesce({unreadable}, FALSE)"


def _number_sql(e: Element, raw: str, pre: Pre) -> tuple[str, str, str]:
    value = pre("num", f"try_cast(replace(replace(fw2hw({raw}), ',', ''), ' ', '') AS {SQL_TYPES[e.type]})")
    bad = pre("bad", f"{raw} IS NOT NULL AND {value} IS NULL AND NOT is_placeholder({raw})")
    problem = (f"CASE WHEN {bad} THEN '{Reason.BAD_NUMBER}' "
               f"WHEN {raw} IS NOT NULL AND {value} IS NULL THEN '{Reason.PLACEHOLDER}' END")
    return value, problem, f"coalesce({bad}, FALSE)"


def _phone_sql(raw: str, pre: Pre) -> tuple[str, str]:
    digits = pre("digits", f"phone_digits({raw})")
    placeholder = pre("ph", f"is_placeholder({raw}) OR regexp_full_match({digits}, {lit(DUMMY_PHONE_PATTERN)})")
    valid = pre("ok", f"regexp_full_match({digits}, {lit(PHONE_PATTERN)})")
    value = f"CASE WHEN {raw} IS NULL OR {placeholder} OR NOT {valid} THEN NULL ELSE {digits} END"
    problem = (f"CASE WHEN {raw} IS NULL THEN NULL WHEN {placeholder} "
               f"THEN '{Reason.PLACEHOLDER}' WHEN NOT {valid} THEN '{Reason.BAD_PHONE}' END")
    return value, problem


def _typed_identifier_sql(e: Element, raw: str, kind: str | None, pre: Pre) -> tuple[str, str]:
    """An identifier validated by the kind recorded beside it (``typed_by``); ``kind`` is the SQL
    of that sibling's standard value.  Kinds without a rule keep the text (upper-cased, half-width)."""
    assert e.typed_by
    macros = e.typed_by.macros
    t = kind or "NULL"
    kinds = " ".join(f"WHEN {lit(k)} THEN {m}_check({raw})" for k, m in macros.items())
    ck = pre("ck", f"CASE {t} {kinds} END")
    value = (f"coalesce({ck}.value, CASE WHEN {t} NOT IN ({', '.join(lit(k) for k in macros)}) "
             f"OR {t} IS NULL THEN upper(fw2hw({raw})) END)")
    problem = f"CASE WHEN {raw} IS NULL THEN '{Reason.MISSING}' ELSE {ck}.reason END"
    return value, problem


def element_sql(e: Element, raw: str, codes: dict[str, str] | None, fmt: str | None,
                kind: str | None = None, pre: Pre | None = None) -> ElementSQL:
    """The value/problem SQL of one element, given the SQL of its raw text (and, for an identifier
    typed by a sibling element, the SQL of that sibling's value)."""
    pre = pre or Pre(e.qualified, staged=False)
    no = "FALSE"
    rule = e.rule
    value: str
    problem: str
    hard = no
    if e.typed_by:
        value, problem = _typed_identifier_sql(e, raw, kind, pre)
    elif rule in IDENTIFIER_RULES:
        ck = pre("ck", f"{IDENTIFIER_RULES[rule]}_check({raw})")
        value = f"{ck}.value"
        problem = f"CASE WHEN {raw} IS NOT NULL THEN {ck}.reason END"
    elif rule.startswith("code:"):
        value, problem, hard = _code_sql(e, raw, codes, pre)
    elif e.type in ("date", "timestamp"):
        value, problem, hard = _date_sql(e, raw, fmt, pre)
    elif e.type in ("decimal", "integer"):
        value, problem, hard = _number_sql(e, raw, pre)
    elif e.type == "boolean":
        value = pre("bool", f"CASE WHEN lower({raw}) IN ('1','true','t','y','yes','是','已删除') THEN TRUE "
                            f"WHEN {raw} IS NULL OR lower({raw}) IN ('0','false','f','n','no','否') THEN FALSE END")
        problem = f"CASE WHEN {raw} IS NOT NULL AND {value} IS NULL THEN '{Reason.BAD_FORMAT}' END"
    elif rule == "phone":
        value, problem = _phone_sql(raw, pre)
    elif rule == "reg_no":
        norm = pre("norm", f"regexp_replace(fw2hw({raw}), '\\s', '', 'g')")
        value = f"CASE WHEN regexp_full_match({norm}, '[0-9]{{13}}|[0-9]{{15}}') THEN {norm} END"
        problem = (f"CASE WHEN {raw} IS NOT NULL AND is_placeholder({raw}) THEN '{Reason.PLACEHOLDER}' "
                   f"WHEN {raw} IS NOT NULL AND ({value}) IS NULL THEN '{Reason.BAD_FORMAT}' END")
    elif e.master == "meta":
        value, problem = raw, "CAST(NULL AS VARCHAR)"  # keys and flags: as received
    else:
        if rule == "name":
            norm_sql = f"name_norm({raw})"
        elif rule == "address":
            norm_sql = f"NULLIF(trim(t2s(fw2hw({raw}))), '')"
        else:
            norm_sql = f"NULLIF(trim(fw2hw({raw})), '')"
        placeholder = pre("ph", f"is_placeholder({raw})")
        value = f"CASE WHEN {raw} IS NULL OR {placeholder} THEN NULL ELSE {norm_sql} END"
        problem = f"CASE WHEN {raw} IS NOT NULL AND {placeholder} THEN '{Reason.PLACEHOLDER}' END"
    return ElementSQL(e, raw, value, problem, hard, dict(pre.exprs))


def table_elements(spec: SourceSpec, table: Table, d: Dictionary | None = None,
                   ref: Callable[[str], str] | None = None) -> dict[str, ElementSQL]:
    """Every element the table maps or derives, keyed by qualified name.

    ``ElementSQL.raw`` is always the expression over the source columns.  With ``ref``, the value
    and problem expressions refer to ``ref(name)`` instead (a column already holding the raw text),
    so a two-stage query computes each raw expression once.
    """
    d = d or dictionary()
    raws: dict[str, tuple[str, dict[str, str] | None, str | None]] = {}
    for f in table.fields:
        if not f.element:
            continue
        src = transpile(f.expr, spec.dialect) if f.expr else q(f.column)
        raws[f.element] = (_raw_sql(src), f.codes, f.format)
    for dv in table.derived:
        raws[dv.element] = (_raw_sql(transpile(dv.expr, spec.dialect)), None, None)

    def use(name: str) -> str:
        return ref(name) if ref else raws[name][0]

    out: dict[str, ElementSQL] = {}
    # an identifier typed by a sibling element needs the sibling's value: kinds first
    typed: dict[str, str] = {}  # typed identifier -> its kind element
    for n in raws:
        e = d.element(n)
        if e.typed_by:
            typed[n] = f"{e.master}.{e.typed_by.by}"
    kinds: dict[str, str] = {}  # kind element -> the SQL of its value, read from its raw text
    for name in sorted(raws, key=lambda n: n not in typed.values()):
        raw, codes, fmt = raws[name]
        k = typed.get(name, "")
        # with ``ref`` the kind's value is a column of its own, ``k:<kind>`` (see ``ElementSQL.kind``)
        kind = (q("k:" + k) if ref else kinds[k]) if k in kinds else None
        el = element_sql(d.element(name), use(name), codes, fmt, kind, Pre(name, staged=ref is not None))
        _limit_length(el, use(name), d.max_length_of(el.element))
        el.raw = raw
        el.reads = (name, k) if k in kinds else (name,)
        el.kind = (k, kinds[k]) if ref and k in kinds else None
        out[name] = el
        if name in typed.values():
            # its value without the length limit, as the typed identifier has always read it
            kinds[name] = f"({element_sql(d.element(name), use(name), codes, fmt).value})"
    return out


def _limit_length(el: ElementSQL, raw: str, limit: int) -> None:
    """A value longer than its element allows sends the row to quarantine (TOO_LONG), whatever the
    element's other rules would have said about it."""
    too_long = f"coalesce(length({raw}) > {limit}, FALSE)"
    el.value = f"CASE WHEN {too_long} THEN NULL ELSE {el.value} END"
    el.problem = f"CASE WHEN {too_long} THEN '{Reason.TOO_LONG}' ELSE {el.problem} END"
    el.hard = f"({too_long} OR {el.hard})"


def identity_sql(master: Master, cols: dict[str, str]) -> str:
    """A row must carry something that identifies its subject, else it can never be linked: a
    value in every group of the master's ``feed.identity`` (``cols``: qualified element, or
    ``<element>_raw`` for the text an identifier was received as -> its SQL)."""
    def v(e: Element) -> str:
        return cols.get(e.qualified + "_raw" if e.keeps_raw else e.qualified, "NULL")

    def present(group: list[str]) -> str:
        vals = [v(master.elements[n]) for n in group]
        return f"{vals[0] if len(vals) == 1 else 'coalesce(' + ', '.join(vals) + ')'} IS NOT NULL"

    return " AND ".join(present(g) for g in master.feed.identity) or "TRUE"


def answers_sql(elems: dict[str, ElementSQL], src: str, ref: Callable[[str], str], per_value: bool = True) -> str:
    """``src`` (rows holding each element's raw text in column ``ref(name)``, as
    :func:`table_elements` was told) with each element's ``v:``, ``p:`` and ``h:`` columns added:
    its value, problem and hard flag.

    Why per value: an element's answers are a function of the raw texts it ``reads`` alone, and
    records repeat them (a code has a handful of values, a birth date a few thousand in a table of
    hundreds of thousands, a name one for every two records), so the expressions - code lookups,
    date parsing, the Python text functions, a typed identifier's checks - run once per distinct
    text (or pair) and are joined back.  Elements whose texts hardly repeat (:func:`_repeats`) stay
    per row, where the DISTINCT and the join would only add work.  ``per_value=False`` computes
    every element row by row, the reference the tests compare against: the same expressions over
    the same texts, so the same answers.
    """
    joined = {n: e for n, e in elems.items() if per_value and _repeats(e)}
    if joined:
        src = _joined_sql(joined, src, ref)
    rest = {n: e for n, e in elems.items() if n not in joined}
    if not rest:
        return src
    kinds = {q("k:" + e.kind[0]): e.kind[1] for e in rest.values() if e.kind}
    if kinds:
        src = f"(SELECT *, {', '.join(f'{sql} AS {col}' for col, sql in kinds.items())} FROM {src})"
    helpers = ", ".join(f"{sql} AS {q(col)}" for e in rest.values() for col, sql in e.pre.items())
    inner = f"(SELECT *{', ' + helpers if helpers else ''} FROM {src})"
    return f"(SELECT *, {', '.join(_answer_columns(n, e) for n, e in rest.items())} FROM {inner})"


def _repeats(e: ElementSQL) -> bool:
    """Whether an element's texts repeat within a table enough to compute it per distinct text:
    not an ID number or phone (one per person: measured nearly all distinct in the city's tables,
    so the distinct pass and the join cost more than they save), nor the source's own keys and
    flags (``meta``: taken as received, or a timestamp per record)."""
    el = e.element
    if e.kind:
        return True  # the typed identifier's kind is read once per distinct kind text only per value
    return el.master != "meta" and el.rule not in IDENTIFIER_RULES and el.rule != "phone"


def _joined_sql(elems: dict[str, ElementSQL], src: str, ref: Callable[[str], str]) -> str:
    """``src`` left-joined to each element's answers computed per distinct text."""
    joins: list[str] = []
    cols: list[str] = []
    for i, (n, e) in enumerate(elems.items()):
        keys = [ref(r) for r in e.reads]
        helpers = ", ".join(f"{sql} AS {q(col)}" for col, sql in e.pre.items())
        distinct = f"(SELECT DISTINCT {', '.join(keys)} FROM {src})"
        if e.kind:
            distinct = _with_kind(distinct, e.kind, src, ref)
        per_value_sql = (f"(SELECT {', '.join(keys)}, {_answer_columns(n, e)} "
                         f"FROM (SELECT *{', ' + helpers if helpers else ''} FROM {distinct}))")
        on = " AND ".join(f"__s.{k} IS NOT DISTINCT FROM __pv{i}.{k}" for k in keys)
        joins.append(f"LEFT JOIN {per_value_sql} AS __pv{i} ON {on}")
        cols.extend(f"__pv{i}.{q(c + n)}" for c in ("v:", "p:", "h:"))
    return f"(SELECT __s.*, {', '.join(cols)} FROM {src} AS __s {' '.join(joins)})"


def _with_kind(distinct: str, kind: tuple[str, str], src: str, ref: Callable[[str], str]) -> str:
    """``distinct`` (rows holding the kind's raw text) with the kind's value ``k:<kind>``, computed
    once per distinct kind text (a handful) instead of once per identifier."""
    name, sql = kind
    col, key = q("k:" + name), ref(name)
    values = f"(SELECT {key}, {sql} AS {col} FROM (SELECT DISTINCT {key} FROM {src}))"
    return (f"(SELECT __d.*, __k.{col} FROM {distinct} AS __d LEFT JOIN {values} AS __k "
            f"ON __d.{key} IS NOT DISTINCT FROM __k.{key})")


def _answer_columns(name: str, e: ElementSQL) -> str:
    return f"{e.value} AS {q('v:' + name)}, {e.problem} AS {q('p:' + name)}, {e.hard} AS {q('h:' + name)}"
