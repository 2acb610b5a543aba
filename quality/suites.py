"""Expectation suites generated from the element dictionary and the source registry.

A suite is never written by hand: for a source table feeding a master, it holds one check per
rule the standard attaches to the elements the table maps -

* completeness: every ``required`` element is given (placeholders count as missing);
* validity / membership: every given value satisfies its element's ``rule`` (identifier check
  characters, phone pattern, date range, code table...), see :mod:`quality.rules`;
* uniqueness: the master's ``key`` is unique within the source table's current snapshot;
* consistency: cross-field rules wherever their elements meet - what an identifier embeds
  (:data:`quality.rules.EMBEDDED`), and the dictionary's ``not_before`` (an end date after its
  start) and ``typed_by`` (an identifier valid for the kind recorded beside it).

So editing ``standards/elements.yaml`` (a rule, ``required``, the master key) changes the suites on
the next run, and a new source gets its suite the moment its spec maps elements. The same
:class:`Check` carries the DuckDB predicate used for full-table scorecards and the Great
Expectations expectation used on pandas batches, so the two cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from core.errors import ConfigurationError
from pipelines.registry import SourceSpec, Table, registry
from quality.rules import EMBEDDED, Derivation, Lookup, derive, lit, q, rule_family
from standards.codetables import CodeTableError, load_code_table, spec_for
from standards.dictionary import Dictionary, Element, Master, dictionary
from standards.reasons import Reason

SQL_TYPES = {"varchar": "VARCHAR", "date": "DATE", "timestamp": "TIMESTAMP", "decimal": "DECIMAL(18,4)",
             "integer": "BIGINT", "boolean": "BOOLEAN"}
#: Name of the relation of duplicated key values that :func:`quality.frame.checked_sql` builds.
DUP_KEYS = "__quality_dup_keys"
DIMENSIONS = ("completeness", "validity", "membership", "uniqueness", "consistency")


class SuiteError(ConfigurationError):
    """A one-line problem building a suite (e.g. a rule naming a code table that does not exist)."""


@dataclass(frozen=True)
class Check:
    """One expectation, in both of its forms.

    ``fail_sql`` is TRUE for a row that breaks the expectation (NULL-safe: always TRUE/FALSE),
    ``scope_sql`` selects the rows it judges (the rate's denominator) and ``value_sql`` is what a
    failure sample shows. ``gx_type``/``gx_kwargs`` is the same expectation for Great Expectations.
    """

    id: str
    dimension: str
    element: str
    rule: str
    description: str
    fail_sql: str
    scope_sql: str
    value_sql: str
    gx_type: str
    gx_kwargs: dict[str, Any]
    reason_sql: str | None = None  # a column naming the defect kind of each failing row

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


@dataclass(frozen=True)
class Suite:
    """The checks of one relation: a source table's silver rows for one master, or a gold master."""

    name: str
    kind: str  # "feed" | "master"
    master: str
    source: str | None
    table: str | None
    key: str | None  # short name of the master key when this relation maps it
    elements: tuple[str, ...]  # qualified elements checked
    derived: tuple[tuple[str, str, int], ...]  # (column, SQL, stage) computed before the checks
    column_types: dict[str, str]
    checks: tuple[Check, ...]
    dictionary_version: str
    as_of: str
    not_provided: tuple[str, ...] = field(default=())  # required elements the table does not map
    base_types: dict[str, str] = field(default_factory=dict)  # element column -> SQL type (to fill gaps)
    helpers: tuple[str, ...] = field(default=())  # derived columns only the next stage reads
    lookups: tuple[Lookup, ...] = field(default=())  # derived once per distinct value (quality.rules.Lookup)

    @property
    def label(self) -> str:
        return f"{self.source}.{self.table} -> {self.master}" if self.kind == "feed" else f"master {self.master}"

    def check(self, check_id: str) -> Check:
        for c in self.checks:
            if c.id == check_id:
                return c
        raise KeyError(f"suite {self.name} has no check {check_id!r}")

    def to_dict(self) -> dict[str, Any]:
        d = _jsonable(asdict(self))
        d["derived"] = [{"column": c, "sql": s, "stage": st} for c, s, st in self.derived]
        return d

    def fingerprint(self) -> str:
        """A digest of what the suite checks; changes whenever the standard changes a check."""
        body = json.dumps([c.to_dict() for c in self.checks], sort_keys=True, ensure_ascii=False)
        return hashlib.sha1(body.encode("utf-8")).hexdigest()[:12]


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (dt.date, dt.datetime)):
        return obj.isoformat()
    return obj


def code_values(d: Dictionary) -> dict[str, list[str]]:
    """The codes of every code table the dictionary's rules name (key columns joined, as the
    standard's lookups do). A rule naming a table that does not exist is a :class:`SuiteError`."""
    out: dict[str, list[str]] = {}
    for e in d.all_elements():
        t = e.code_table
        if not t or t in out:
            continue
        try:
            tbl = load_code_table(t)
        except CodeTableError as exc:
            raise SuiteError(f"element {e.qualified}: rule {e.rule!r}: {exc}") from None
        keys = [k for k in spec_for(t, tbl.column_names).key if k in tbl.column_names]
        cols = [tbl.column(k).to_pylist() for k in keys]
        out[t] = sorted({"".join(v or "" for v in row) for row in zip(*cols, strict=True)})
    return out


# ----------------------------------------------------------------------------------------------
# building
# ----------------------------------------------------------------------------------------------


def _check(**kw: Any) -> Check:
    kw["fail_sql"] = f"coalesce(({kw['fail_sql']}), FALSE)"
    return Check(**kw)


@dataclass
class _Parts:
    """What a suite is built from: derived columns by stage, their types, and the checks."""

    elements: list[Element]
    stages: list[dict[str, str]] = field(default_factory=lambda: [{}, {}, {}, {}])
    types: dict[str, str] = field(default_factory=dict)
    helpers: set[str] = field(default_factory=set)
    lookups: list[Lookup] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    @property
    def mapped(self) -> set[str]:
        return {e.qualified for e in self.elements}


def _c(name: str, suffix: str) -> str:
    return q(f"{name}__{suffix}")


def _completeness(p: _Parts) -> None:
    """Required elements the relation maps are given (placeholders count as missing)."""
    for e in p.elements:
        if e.required:
            p.checks.append(_check(
                id=f"{e.qualified}:completeness", dimension="completeness", element=e.qualified, rule="required",
                description=f"{e.label} ({e.qualified}) is required: given, not empty or a placeholder",
                fail_sql=f"{_c(e.name, 'given')} IS NULL", scope_sql="TRUE", value_sql=_c(e.name, "text"),
                gx_type="expect_column_values_to_not_be_null", gx_kwargs={"column": f"{e.name}__given"},
                reason_sql=f"CASE WHEN {_c(e.name, 'issue')} = 'PLACEHOLDER' OR ({_c(e.name, 'text')} IS NOT NULL) "
                           f"THEN 'PLACEHOLDER' ELSE 'MISSING' END",
            ))


def _validity(p: _Parts, derivs: dict[str, Derivation]) -> None:
    """Every element whose rule asks something of a given value."""
    for e in p.elements:
        dv = derivs[e.qualified]
        if dv.validity is None:
            continue
        dim, gx_type, gx_kwargs, text = dv.validity
        p.checks.append(_check(
            id=f"{e.qualified}:{dim}", dimension=dim, element=e.qualified, rule=e.rule,
            description=f"{e.label} ({e.qualified}) {text}",
            fail_sql=f"{_c(e.name, 'reason')} IS NOT NULL", scope_sql=f"{_c(e.name, 'given')} IS NOT NULL",
            value_sql=_c(e.name, "text"), gx_type=gx_type, gx_kwargs=gx_kwargs, reason_sql=_c(e.name, "reason"),
        ))


def _uniqueness(p: _Parts, key: Element, kind: str) -> str | None:
    """The master key is unique within the relation; returns the key's short name when mapped."""
    if key.qualified not in p.mapped:
        return None
    dup = f"{key.name}__dup"
    # keys held by more than one row: a hash aggregate the relation builder provides
    # (:data:`quality.frame.DUP_KEYS`), much cheaper than a window over millions of rows
    p.stages[3][dup] = f"coalesce({_c(key.name, 'std')} IN (SELECT __k FROM {DUP_KEYS}), FALSE)"
    p.types[dup] = "BOOLEAN"
    where = "the source table's current snapshot" if kind == "feed" else "the master"
    p.checks.append(_check(
        id=f"{key.qualified}:uniqueness", dimension="uniqueness", element=key.qualified, rule="key",
        description=f"{key.label} ({key.qualified}) is the master key: unique within {where}",
        fail_sql=q(dup), scope_sql=f"{_c(key.name, 'std')} IS NOT NULL", value_sql=_c(key.name, "std"),
        gx_type="expect_column_values_to_be_unique", gx_kwargs={"column": f"{key.name}__std"},
        reason_sql="'DUPLICATE_KEY'",
    ))
    return key.name


def _embedded(p: _Parts, key: Element) -> None:
    """What the key identifier embeds agrees with the sibling recorded with it."""
    for emb in EMBEDDED:
        if key.qualified not in p.mapped or key.rule != emb.identifier_rule:
            continue
        for e in p.elements:
            if e.qualified == key.qualified or e.rule != emb.target_rule:
                continue
            if emb.target_name and e.name != emb.target_name:
                continue
            derived_col = f"{e.name}__from_{key.name}"
            fam = rule_family(e)
            sibling = _c(e.name, "std")
            value = f"{emb.macro}({_c(key.name, 'std')})"
            if fam == "date":
                value, sibling = f"CAST({value} AS DATE)", f"CAST({sibling} AS DATE)"
            if emb.only_when:
                value = f"CASE WHEN {_c(e.name, 'std')} {emb.only_when} THEN {value} END"
            p.stages[3][derived_col] = value
            p.types[derived_col] = "DATE" if fam == "date" else "VARCHAR"
            p.checks.append(_check(
                id=f"{e.qualified}:consistency:{emb.name}", dimension="consistency", element=e.qualified,
                rule=emb.name, description=f"{emb.label} ({key.qualified} -> {e.qualified})",
                fail_sql=f"{sibling} <> {q(derived_col)}",
                scope_sql=f"{sibling} IS NOT NULL AND {q(derived_col)} IS NOT NULL",
                value_sql=f"{_c(key.name, 'std')} || ' / ' || CAST({_c(e.name, 'std')} AS VARCHAR)",
                gx_type="expect_column_pair_values_to_be_equal",
                gx_kwargs={"column_A": f"{e.name}__std", "column_B": derived_col,
                           "ignore_row_if": "either_value_is_missing"},
                reason_sql="'MISMATCH'",
            ))


def _date_order(p: _Parts, m: Master) -> None:
    """An end date is not before its start (the dictionary's ``not_before``)."""
    for b in p.elements:
        if not b.not_before or f"{m.name}.{b.not_before}" not in p.mapped:
            continue
        a, first, last = m.elements[b.not_before], f"{m.name}.{b.not_before}", b.qualified
        p.checks.append(_check(
            id=f"{last}:consistency:after_{a.name}", dimension="consistency", element=last,
            rule=f"{a.name}<={b.name}", description=f"{b.label} ({last}) is not before {a.label} ({first})",
            fail_sql=f"CAST({_c(b.name, 'std')} AS DATE) < CAST({_c(a.name, 'std')} AS DATE)",
            scope_sql=f"{_c(a.name, 'std')} IS NOT NULL AND {_c(b.name, 'std')} IS NOT NULL",
            value_sql=f"CAST({_c(a.name, 'std')} AS VARCHAR) || ' > ' || CAST({_c(b.name, 'std')} AS VARCHAR)",
            gx_type="expect_column_pair_values_a_to_be_greater_than_b",
            gx_kwargs={"column_A": f"{b.name}__std", "column_B": f"{a.name}__std", "or_equal": True,
                       "ignore_row_if": "either_value_is_missing"},
            reason_sql="'DATE_ORDER'",
        ))


def _typed_identifiers(p: _Parts, m: Master, per_value: bool) -> None:
    """An identifier is valid for the kind recorded beside it (the dictionary's ``typed_by``)."""
    for i in p.elements:
        if not i.typed_by or f"{m.name}.{i.typed_by.by}" not in p.mapped:
            continue
        k, macros = m.elements[i.typed_by.by], i.typed_by.macros
        whens = " ".join(f"WHEN {lit(code)} THEN {fam}_check({_c(i.name, 'text')})" for code, fam in macros.items())
        rcol = f"{i.name}__typed_reason"
        not_given = ", ".join(lit(r) for r in (Reason.PLACEHOLDER, Reason.MISSING))
        # the kind picks the identifier family (in a master's table once per distinct (kind,
        # identifier): a holder's ID recurs on each of their licences); a rejection (not a missing
        # value) is the defect
        typed = f"CASE {_c(k.name, 'std')} {whens} END"
        if per_value:
            tchk = f"{i.name}__typed_chk"
            p.lookups.append(Lookup(tchk, (f"{k.name}__std", f"{i.name}__text"), typed, 3))
            typed = q(tchk)
        p.stages[3][rcol] = (f"CASE WHEN {_c(i.name, 'given')} IS NOT NULL THEN list_transform([{typed}], "
                             f"lambda __t: CASE WHEN __t.value IS NULL AND "
                             f"__t.reason NOT IN ({not_given}) THEN __t.reason END)[1] END")
        p.types[rcol] = "VARCHAR"
        kinds = ", ".join(sorted(macros))
        p.checks.append(_check(
            id=f"{i.qualified}:consistency:valid_for_{k.name}", dimension="consistency", element=i.qualified,
            rule=f"valid_for_{k.name}",
            description=f"{i.label} ({i.qualified}) is a valid identifier of the kind {k.qualified} states ({kinds})",
            fail_sql=f"{q(rcol)} IS NOT NULL", scope_sql=f"{_c(i.name, 'given')} IS NOT NULL AND "
            f"{_c(k.name, 'std')} IN ({', '.join(lit(x) for x in sorted(macros))})",
            value_sql=f"{_c(k.name, 'std')} || ':' || {_c(i.name, 'text')}",
            gx_type="expect_column_values_to_be_null", gx_kwargs={"column": rcol}, reason_sql=q(rcol),
        ))


def _build(name: str, kind: str, master: str, d: Dictionary, elements: list[Element], columns: set[str],
           as_of: dt.date, codes: dict[str, list[str]], source: str | None = None, table: str | None = None,
           not_provided: tuple[str, ...] = ()) -> Suite:
    m = d.masters[master]
    per_value = kind == "master"  # values recur in a master's table (quality.rules.derive)
    derivs: dict[str, Derivation] = {e.qualified: derive(e, columns, as_of, codes, per_value) for e in elements}
    p = _Parts(elements)
    for dv in derivs.values():
        for i, st in enumerate(dv.stages):
            p.stages[i].update(st)
        p.types.update(dv.types)
        p.helpers |= dv.helpers
        p.lookups += dv.lookups
    _completeness(p)
    _validity(p, derivs)
    key_short = _uniqueness(p, m.elements[m.key], kind)
    _embedded(p, m.elements[m.key])
    _date_order(p, m)
    _typed_identifiers(p, m, per_value)
    derived = tuple((col, sql, i) for i, st in enumerate(p.stages) for col, sql in st.items())
    return Suite(name=name, kind=kind, master=master, source=source, table=table, key=key_short,
                 elements=tuple(e.qualified for e in elements), derived=derived, column_types=p.types,
                 checks=tuple(p.checks), dictionary_version=d.version, as_of=as_of.isoformat(),
                 not_provided=not_provided, base_types={e.name: SQL_TYPES[e.type] for e in elements},
                 helpers=tuple(sorted(p.helpers)), lookups=tuple(p.lookups))


def feed_suite(d: Dictionary, spec: SourceSpec, table: Table, master: str, as_of: dt.date | None = None,
               codes: dict[str, list[str]] | None = None, columns: set[str] | None = None) -> Suite:
    """The suite of one source table's silver rows for one master (a "feed").

    ``columns`` are the silver files' real columns when known; without them the standard silver
    layout is assumed (``<name>_raw`` beside identifier elements, ``_issues`` on every row).
    """
    if master not in table.feeds:
        raise SuiteError(f"{spec.source}.{table.name} does not feed {master!r} (it feeds {', '.join(table.feeds)})")
    mapped = table.mapped_elements()
    elements = [e for e in d.masters[master].elements.values() if e.qualified in mapped]
    missing = tuple(e.qualified for e in d.masters[master].elements.values() if e.required and e.qualified not in mapped)
    # silver carries <name>_raw for identifier elements and _issues on every row
    if columns is None:
        columns = {"_issues"} | {f"{e.name}_raw" for e in elements if e.keeps_raw}
    return _build(f"{spec.source}.{table.name}.{master}", "feed", master, d, elements, columns,
                  as_of or dt.date.today(), codes if codes is not None else code_values(d),
                  source=spec.source, table=table.name, not_provided=missing)


def master_suite(d: Dictionary, master: str, columns: set[str] | None = None, as_of: dt.date | None = None,
                 codes: dict[str, list[str]] | None = None) -> Suite:
    """The suite of a gold master table: every element it has a column for (all, when unknown)."""
    if master not in d.masters:
        raise SuiteError(f"unknown master {master!r}; known: {', '.join(d.masters)}")
    elems = [e for e in d.masters[master].elements.values() if columns is None or e.name in columns]
    cols = {c for c in (columns or set()) if c.endswith("_raw") or c == "_issues"}
    return _build(f"master.{master}", "master", master, d, elems, cols, as_of or dt.date.today(),
                  codes if codes is not None else code_values(d))


def build_suites(d: Dictionary | None = None, specs: dict[str, SourceSpec] | None = None,
                 as_of: dt.date | None = None, sources: list[str] | None = None) -> list[Suite]:
    """Every feed suite of the registry (optionally only some sources), in source/table order."""
    d = d or dictionary()
    specs = specs if specs is not None else registry()
    codes = code_values(d)
    out = []
    for name in sorted(specs):
        if sources and name not in sources:
            continue
        spec = specs[name]
        for t in spec.tables:
            for m in t.feeds:
                out.append(feed_suite(d, spec, t, m, as_of, codes))
    return out
