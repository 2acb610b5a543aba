"""What each rule of the element dictionary means as SQL over silver (or gold) rows.

The dictionary gives every element a ``rule`` (``resident_id``, ``phone``, ``date``, ``code:gb2260``...).
This module turns a rule into derived columns that DuckDB computes with the standard's own macros
(``rid_check``, ``uscc_check``, ``fw2hw``...), so the quality checks re-judge the data against the
*current* standard instead of trusting what standardisation decided when the batch was loaded:

``<n>__text``   the text as received (``<n>_raw`` for identifiers; for other elements the value, or
                the raw value silver kept in ``_issues`` when it nulled the element)
``<n>__issue``  what silver noted for the element (``PLACEHOLDER``, ``BAD_PHONE``...), if anything
``<n>__given``  the text when the source really gave a value (placeholders such as 不详 or
                000000000000000000 count as not given), else NULL - completeness looks at this
``<n>__std``    the value in the standard's form under the rule (normalised identifier, typed date)
``<n>__reason`` why a given value breaks its rule (``BAD_CHECK``, ``OUT_OF_RANGE``...), NULL when fine
``<n>__repaired`` TRUE when the value was only accepted after a cosmetic repair (identifiers)

The same columns feed the DuckDB scorecards (full tables) and the Great Expectations batches
(pandas samples), so both judge a row identically. Nothing here is written per source: a source's
checks follow from the elements it maps.

Cross-field rules are declared once: by rule in :data:`EMBEDDED` (what an identifier embeds), and
per element in the dictionary (``not_before``: an end date after its start; ``typed_by``: an
identifier valid for the kind recorded beside it); they apply wherever their elements meet in one row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from core.sqltext import lit, q
from standards.dictionary import IDENTIFIER_RULES, Element
from standards.identifiers import licence_pair_sql
from standards.reasons import REPAIR_REASONS, Reason
from standards.text import DUMMY_PHONE_PATTERN, PHONE_PATTERN

#: Oldest date any element may carry (the identifier validators use the same year for births).
MIN_DATE = dt.date(1890, 1, 1)
#: How far past "today" an element's date may lie, in years (default 0: no future dates). A
#: licence's validity end is in the future by nature; its start may be set a little ahead.
FUTURE_YEARS: dict[str, int] = {"licence.valid_to": 100, "licence.valid_from": 1}
#: Code tables small enough to list in a Great Expectations ``value_set`` (larger ones, like the
#: 3,000+ GB/T 2260 divisions, are checked through the ``__reason`` column instead).
GX_MAX_VALUE_SET = 100

#: Defect codes the quality checks add to the standard's reason codes (standards/reasons.py).
QUALITY_DEFECTS: dict[str, str] = {
    "NOT_GIVEN": "a required element is missing or only a placeholder",
    "OUT_OF_RANGE": "a date before 1890 or later than the element allows, or a negative number",
    "DUPLICATE_KEY": "the master key is shared by more than one record of the source table",
    "MISMATCH": "two fields of one record contradict each other (see the rule)",
    "DATE_ORDER": "an end date lies before its start date",
}
#: Everything a validity ``__reason`` may hold, with its meaning, for the report.
DEFECT_TEXT: dict[str, str] = {**{r.value: r.text for r in Reason}, **QUALITY_DEFECTS}

_NOT_GIVEN = (Reason.PLACEHOLDER.value, Reason.MISSING.value)
_REPAIRS = tuple(sorted(r.value for r in REPAIR_REASONS))


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(lit(v) for v in values) + ")"


def date_window(e: Element, as_of: dt.date) -> tuple[dt.date, dt.date]:
    """The dates an element may hold: from 1890 to ``as_of`` (plus the element's allowance)."""
    years = FUTURE_YEARS.get(e.qualified, 0)
    try:
        upper = as_of.replace(year=as_of.year + years)
    except ValueError:  # 29 February
        upper = as_of.replace(year=as_of.year + years, day=28)
    return MIN_DATE, upper


def rule_family(e: Element) -> str:
    """Which SQL family judges the element: an identifier family, or phone/date/number/code/...

    The rule decides, except that a ``date`` typed element is always judged as a date (whatever
    its format rule), because its value is typed.
    """
    if e.rule in IDENTIFIER_RULES:
        return "identifier"
    if e.rule.startswith("code:"):
        return "code"
    if e.type in ("date", "timestamp") or e.rule == "date":
        return "date"
    if e.rule in ("decimal", "integer") or e.type in ("decimal", "integer"):
        return "number"
    return e.rule  # phone, name, address, reg_no, text


class Lookup(NamedTuple):
    """A derived column computed once per distinct value of ``keys`` (columns of earlier stages) and
    joined back, before the other columns of ``stage`` (which may read it): a check that costs
    microseconds per value, over a column whose values recur, runs once per value."""

    column: str
    keys: tuple[str, ...]
    sql: str
    stage: int


@dataclass
class Derivation:
    """The derived columns of one element, by stage (a stage may use the columns of earlier ones).

    ``validity`` describes the element's validity check (None when the rule asks nothing of a
    given value, e.g. free ``text``): its dimension, the GX expectation that says the same thing,
    and a one-line description.
    """

    element: Element
    stages: list[dict[str, str]] = field(default_factory=lambda: [{}, {}, {}])
    validity: tuple[str, str, Mapping[str, object], str] | None = None  # (dimension, gx type, kwargs, text)
    types: dict[str, str] = field(default_factory=dict)  # column -> DuckDB type (for empty frames)
    #: columns only the next stage reads (``__chk`` structs, ``__digits``...): dropped before the
    #: checked relation is materialised (quality.frame)
    helpers: set[str] = field(default_factory=set)
    #: columns computed once per distinct value of other columns and joined back (quality.frame):
    #: (column, key columns, SQL over the keys, stage)
    lookups: list[Lookup] = field(default_factory=list)

    def col(self, suffix: str) -> str:
        return f"{self.element.name}__{suffix}"


@dataclass(frozen=True)
class _Cols:
    """What a rule family's SQL is written over: the element's columns (quoted), the stage-2
    helper columns it may add, and the inputs it may need."""

    e: Element
    d: Derivation
    col: str
    text: str
    text_sql: str  # the SQL ``text`` is computed by (stage 0)
    std: str
    base_given: str
    as_of: dt.date
    code_values: dict[str, list[str]]
    per_value: bool  # checks as lookups (once per distinct value), see derive()

    @property
    def reason_null(self) -> tuple[str, Mapping[str, object]]:
        return ("expect_column_values_to_be_null", {"column": self.d.col("reason")})


#: (given, std, reason, repaired) SQL of one element under its rule family
_Sqls = tuple[str, str, str, str]
_NO_REASON = "CAST(NULL AS VARCHAR)"


def _identifier(c: _Cols) -> _Sqls:
    macro = IDENTIFIER_RULES[c.e.rule]
    chk = q(c.d.col("chk"))
    # the guard keeps the macro off NULLs: most secondary identifiers (spouse, guardian,
    # employer) are empty, and the macro costs the same on an empty value as on a real one
    if not c.per_value:
        c.d.stages[1][c.d.col("chk")] = f"CASE WHEN {c.text} IS NOT NULL THEN {macro}_check({c.text}) END"
    elif macro == "licence_id":
        # unique per row, but its type + issuer part is shared by thousands: what depends on that
        # part alone is computed once per distinct part (standards.identifiers: licence_id_check_split)
        pair, facts = c.d.col("pair"), c.d.col("facts")
        c.d.stages[0][pair] = licence_pair_sql(f"({c.text_sql})")
        c.d.lookups.append(Lookup(facts, (pair,), f"licence__pair_facts({q(pair)})", 1))
        c.d.stages[1][c.d.col("chk")] = (f"CASE WHEN {c.text} IS NOT NULL THEN "
                                         f"licence_id_check_split({c.text}, {q(facts)}) END")
        c.d.helpers |= {pair, facts}
    else:
        # once per distinct value: an ID number or an issuer code recurs in many rows of a master
        c.d.lookups.append(Lookup(c.d.col("chk"), (c.d.col("text"),),
                                  f"CASE WHEN {c.text} IS NOT NULL THEN {macro}_check({c.text}) END", 1))
    c.d.helpers.add(c.d.col("chk"))
    c.d.validity = ("validity", *c.reason_null, f"{c.e.rule}: normalises under the standard ({macro}_check: "
                    "check character, length, characters, embedded codes)")
    return (f"{c.base_given} AND coalesce({chk}.reason NOT IN {_in(_NOT_GIVEN)}, TRUE)", f"{chk}.value",
            f"CASE WHEN {chk}.value IS NULL THEN {chk}.reason END",
            f"coalesce({chk}.value IS NOT NULL AND {chk}.reason IN {_in(_REPAIRS)}, FALSE)")


def _phone(c: _Cols) -> _Sqls:
    digits = q(c.d.col("digits"))
    c.d.stages[1][c.d.col("digits")] = f"phone_digits({c.text})"
    c.d.helpers.add(c.d.col("digits"))
    c.d.validity = ("validity", *c.reason_null, f"phone: a mainland mobile or landline number ({PHONE_PATTERN})")
    return (f"{c.base_given} AND NOT is_placeholder({c.text}) AND "
            f"NOT regexp_full_match({digits}, {lit(DUMMY_PHONE_PATTERN)})",
            f"CASE WHEN regexp_full_match({digits}, {lit(PHONE_PATTERN)}) THEN {digits} END",
            f"CASE WHEN NOT regexp_full_match({digits}, {lit(PHONE_PATTERN)}) THEN '{Reason.BAD_PHONE}' END", "FALSE")


def _date(c: _Cols) -> _Sqls:
    lo, hi = date_window(c.e, c.as_of)
    typ = "TIMESTAMP" if c.e.type == "timestamp" else "DATE"
    c.d.validity = ("validity", "expect_column_values_to_be_between",
                    {"column": c.d.col("std"), "min_value": lo, "max_value": hi},
                    f"date: parses and lies between {lo.isoformat()} and {hi.isoformat()}")
    c.d.types[c.d.col("std")] = typ
    return (c.base_given, f"TRY_CAST({c.col} AS {typ})",
            f"CASE WHEN {c.std} IS NULL THEN '{Reason.BAD_DATE}' WHEN CAST({c.std} AS DATE) < DATE "
            f"{lit(lo.isoformat())} OR CAST({c.std} AS DATE) > DATE {lit(hi.isoformat())} THEN 'OUT_OF_RANGE' END",
            "FALSE")


def _number(c: _Cols) -> _Sqls:
    typ = "BIGINT" if c.e.type == "integer" else "DOUBLE"
    c.d.validity = ("validity", "expect_column_values_to_be_between", {"column": c.d.col("std"), "min_value": 0},
                    f"{c.e.rule}: a number, not negative")
    c.d.types[c.d.col("std")] = typ
    return (c.base_given, f"TRY_CAST({c.col} AS {typ})",
            f"CASE WHEN {c.std} IS NULL THEN '{Reason.BAD_NUMBER}' WHEN {c.std} < 0 THEN 'OUT_OF_RANGE' END", "FALSE")


def _code(c: _Cols) -> _Sqls:
    table = c.e.code_table or ""
    codes = c.code_values[table]
    gx = (("expect_column_values_to_be_in_set", {"column": c.d.col("std"), "value_set": list(codes)})
          if len(codes) <= GX_MAX_VALUE_SET else c.reason_null)
    c.d.validity = ("membership", *gx, f"code:{table}: one of the {len(codes)} codes of {table}")
    return (c.base_given, f"CAST({c.col} AS VARCHAR)",
            f"CASE WHEN {c.std} IS NULL OR {c.std} NOT IN (SELECT __code FROM {q('quality_codes_' + table)}) "
            f"THEN '{Reason.UNMAPPED_CODE}' END", "FALSE")


def _name(c: _Cols) -> _Sqls:
    c.d.validity = ("validity", *c.reason_null, "name: holds letters (Han or Latin), at most 100 characters")
    return (c.base_given, f"CAST({c.col} AS VARCHAR)",
            f"CASE WHEN NOT regexp_matches({c.text}, '\\p{{L}}') THEN '{Reason.BAD_CHARS}' "
            f"WHEN length({c.text}) > 100 THEN '{Reason.BAD_LENGTH}' END", "FALSE")


def _address(c: _Cols) -> _Sqls:
    c.d.validity = ("validity", *c.reason_null, "address: written in Chinese characters")
    return (c.base_given, f"CAST({c.col} AS VARCHAR)",
            f"CASE WHEN NOT regexp_matches({c.text}, '\\p{{Han}}') THEN '{Reason.BAD_FORMAT}' END", "FALSE")


def _reg_no(c: _Cols) -> _Sqls:
    clean = f"regexp_replace(fw2hw({c.text}), '\\s', '', 'g')"
    c.d.validity = ("validity", *c.reason_null, "reg_no: 13 or 15 digits")
    return (f"{c.base_given} AND NOT is_placeholder({c.text})",
            f"CASE WHEN regexp_full_match({clean}, '[0-9]{{13}}|[0-9]{{15}}') THEN {clean} END",
            f"CASE WHEN {c.std} IS NULL THEN '{Reason.BAD_FORMAT}' END", "FALSE")


def _text(c: _Cols) -> _Sqls:
    """Free text: nothing to check beyond presence."""
    return c.base_given, f"CAST({c.col} AS VARCHAR)", _NO_REASON, "FALSE"


_FAMILIES: dict[str, Callable[[_Cols], _Sqls]] = {
    "identifier": _identifier, "phone": _phone, "date": _date, "number": _number, "code": _code, "name": _name,
    "address": _address, "reg_no": _reg_no,
}


def derive(e: Element, columns: set[str], as_of: dt.date, code_values: dict[str, list[str]],
           per_value: bool = False) -> Derivation:
    """The derived columns and the validity check of element ``e`` over a relation with ``columns``.

    ``columns`` tells whether silver's ``<n>_raw`` and ``_issues`` are there (silver) or not
    (a gold master table, whose values are already standard). ``code_values`` holds the codes of
    each code table the dictionary refers to. ``per_value`` checks identifiers as :class:`Lookup`s,
    once per distinct value: worth it where values recur (a golden licence table: holders, issuers,
    78 type + issuer pairs in 0.9 M identifiers); in a feed, where an ID is mostly unique, the
    extra join only costs planning time (+0.035 s a query, measured over the 100 small feeds).
    """
    d = Derivation(e)
    n = e.name
    col = q(n)
    text, issue = q(d.col("text")), q(d.col("issue"))
    has_issues = "_issues" in columns
    if f"{n}_raw" in columns:
        text_sql = q(f"{n}_raw")
    elif has_issues:
        text_sql = (f"CASE WHEN {col} IS NOT NULL THEN CAST({col} AS VARCHAR) WHEN len(_issues) > 0 THEN "
                    f"list_filter(_issues, lambda __i: __i.element = {lit(e.qualified)})[1].value END")
    else:
        text_sql = f"CAST({col} AS VARCHAR)"
    issue_sql = (f"CASE WHEN len(_issues) > 0 THEN list_filter(_issues, lambda __i: __i.element = "
                 f"{lit(e.qualified)})[1].reason END") if has_issues else _NO_REASON
    d.stages[0][d.col("text")] = text_sql
    d.stages[0][d.col("issue")] = issue_sql
    base_given = f"{text} IS NOT NULL AND {issue} IS DISTINCT FROM {lit(Reason.PLACEHOLDER.value)}"
    cols = _Cols(e, d, col, text, text_sql, q(d.col("std")), base_given, as_of, code_values, per_value)
    given_sql, std_sql, reason_sql, repaired_sql = _FAMILIES.get(rule_family(e), _text)(cols)
    d.types.setdefault(d.col("std"), "VARCHAR")
    s3 = d.stages[2]
    s3[d.col("given")] = f"CASE WHEN {given_sql} THEN {text} END"
    s3[d.col("std")] = std_sql
    # a value that was not given cannot be invalid: that is completeness, counted once
    s3[d.col("reason")] = f"CASE WHEN {given_sql} THEN {reason_sql} END"
    s3[d.col("repaired")] = repaired_sql
    d.types.update({d.col("text"): "VARCHAR", d.col("issue"): "VARCHAR", d.col("given"): "VARCHAR",
                    d.col("reason"): "VARCHAR", d.col("repaired"): "BOOLEAN"})
    return d


# ----------------------------------------------------------------------------------------------
# Cross-field rules
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Embedded:
    """A value an identifier embeds, which a sibling element of the same record must agree with.

    Applies where the master's *key* has ``identifier_rule`` and a sibling element has
    ``target_rule`` (and ``target_name``, when the rule alone is ambiguous: a person has a birth
    and a death date). ``only_when`` limits the comparison to sibling values the identifier can
    speak about (an ID's parity says male or female, nothing about code 9 "not stated").
    """

    identifier_rule: str
    target_rule: str
    macro: str
    label: str
    target_name: str | None = None
    only_when: str | None = None

    @property
    def name(self) -> str:
        return f"{self.identifier_rule}_embeds_{self.target_name or self.target_rule.replace('code:', '')}"


EMBEDDED: tuple[Embedded, ...] = (
    Embedded("resident_id", "date", "rid_birth_date", "birth date agrees with the ID number's embedded date",
             target_name="birth_date"),
    Embedded("resident_id", "code:gb2261_sex", "rid_sex", "sex agrees with the ID number's parity (odd = male)",
             only_when="IN ('1', '2')"),
    Embedded("uscc", "org_code", "uscc_org_code", "the USCC embeds the organisation code recorded with it"),
)
