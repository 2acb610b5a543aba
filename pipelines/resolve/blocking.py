"""Blocking: which record pairs are compared at all.

Each rule is an equi-join on one or more keys, so the database does the work with hash joins and
no rule is ever quadratic in the table.  The left side is restricted to records the deterministic
pass left unanchored (``scope: rest``): anchored records are already settled by their key, so the
probabilistic pass costs in proportion to the messy few percent, not the whole population.

Guards against junk: NULL, empty and whitespace-only keys never join (placeholders are NULL in
silver), and a key value held by more than ``max_block`` records on the right side is dropped - a
value that common (a shared office phone, a filler that slipped through) cannot tell records apart
and would only make pairs. Pairs within one node are skipped (already together).

Before a rule makes any pair, its pair count is estimated from key counts alone (as Splink's
``count_comparisons_from_blocking_rule`` does: per key value, left records times right records, or
n(n-1)/2 when both sides are the same records), and a rule over ``max_pairs_per_rule`` is refused
with its largest key values (masked) - a one-line reason instead of an exhausted machine.
"""

from __future__ import annotations

import re

from core.errors import mask
from core.sqltext import lit, q
from pipelines.resolve.config import BlockingRule, ConfigError, ResolveConfig, Variants
from pipelines.resolve.sql import Sql
from standards.text import WS_CLASS

#: a blank character (``is_blank``)
_BLANK = re.compile(WS_CLASS)
#: a key ``unnest([f, g, ...])`` of features (the columns of blocking expressions are features)
_FEATURE_LIST = re.compile(r"unnest\(\[\s*([a-z_][a-z0-9_]*(?:\s*,\s*[a-z_][a-z0-9_]*)*)\s*\]\)")


class BlockingTooLoose(ConfigError):
    """A blocking rule would make more candidate pairs than ``max_pairs_per_rule`` allows."""


def edits_sql(variants: list[Variants]) -> str:
    """SELECT (ls, p, ins, skip): every one-keystroke edit of a string of length ``ls`` that makes
    one of ``variants``' length - the string is ``left(v, p - 1) || ins || substr(v, p + skip)``,
    ``ins`` NULL for the swap of characters p and p + 1 (:func:`variant_sql`).  The edits of
    ``id_variants_to``, in the same numbers: replace (n x alphabet), swap (n - 1) at length n,
    delete (n + 1) at n + 1, insert (n x alphabet) at n - 1."""
    parts = []
    for v in variants:
        n = v.length
        pos = f"(VALUES {', '.join(f'({p})' for p in range(1, n + 2))}) AS pos(p)"
        chars = f"(VALUES {', '.join(f'({lit(c)})' for c in v.alphabet)}) AS ch(c)"
        parts += [f"SELECT {n} AS ls, p, c AS ins, 1 AS skip FROM {pos}, {chars} WHERE p <= {n}",
                  f"SELECT {n}, p, CAST(NULL AS VARCHAR), 2 FROM {pos} WHERE p < {n}",
                  f"SELECT {n + 1}, p, '', 1 FROM {pos}",
                  f"SELECT {n - 1}, p, c, 0 FROM {pos}, {chars} WHERE p <= {n}"]
    return " UNION ALL ".join(parts)


def variant_sql(v: str, e: str = "e") -> str:
    """The variant of the string ``v`` an edit row ``e`` of :func:`edits_sql` makes."""
    return (f"left({v}, {e}.p - 1) || coalesce({e}.ins, substr({v}, {e}.p + 1, 1) || substr({v}, {e}.p, 1)) "
            f"|| substr({v}, {e}.p + {e}.skip)")


def _side(rule: BlockingRule, left: bool, where: str, rec: str, extra: list[str], guard: bool = True) -> str:
    """SELECT rid, node, ``extra``, k0.. of one side's records whose keys are all present.

    Feature keys (``keys``, or a list of features ``unnest([f, g])``) are compared as they are:
    features are never blank (``blank_null`` made '' NULL), so only expressions are checked for
    blanks.  A left side with ``variants`` joins its value with the edits (:func:`edits_sql`): a
    key per variant.  ``guard`` False skips the NULL / blank check of expression keys: a side
    semi-joined to a guarded side needs none (a key equal to a present one is present), and the
    check's pattern match over every stored record was most of a delta's blocking."""
    exprs = rule.left_keys if left else rule.right_keys
    plain = not (rule.left or rule.right)
    keys = [q(e) if plain else e for e in exprs]
    extras = "".join(f", {q(c)}" for c in extra)
    if left and rule.variants:
        return _variants_side(rule.variants, keys[0], where, rec, extra)
    listed = _FEATURE_LIST.fullmatch(keys[0]) if len(keys) == 1 else None
    if listed:  # unnest([f, g]): a SELECT per feature - a list built per record costs 6x the time
        return " UNION ALL ".join(f"SELECT rid, node{extras}, {f} AS k0 FROM {rec} WHERE ({where}) AND {f} IS NOT NULL"
                                  for f in re.split(r"\s*,\s*", listed.group(1)))
    cols = ", ".join(f"{k} AS k{i}" for i, k in enumerate(keys))
    inner = f"SELECT rid, node{extras}, {cols} FROM {rec} WHERE {where}"
    if not guard:
        return inner
    present = " AND ".join(f"k{i} IS NOT NULL" + ("" if plain else f" AND NOT is_blank(k{i})")
                           for i in range(len(keys)))
    return f"SELECT * FROM ({inner}) WHERE {present}"


def _variants_side(variants: list[Variants], value: str, where: str, rec: str, extra: list[str]) -> str:
    """The left side of a rule with ``variants``: a key per variant of each record's value.

    A variant of a value is never NULL, and one with a character inserted or replaced from an
    alphabet without blanks is never blank: only the others (a deletion, a swap) are checked -
    a check on every variant would be pushed into the join and make each variant twice."""
    extras = "".join(f", {q(c)}" for c in extra)
    blank_free = not any(_BLANK.fullmatch(ch) for v in variants for ch in v.alphabet)
    check = "(ins <> '' OR NOT is_blank(k0))" if blank_free else "NOT is_blank(k0)"
    return (f"SELECT * EXCLUDE (ins) FROM (SELECT s.rid, s.node{''.join(f', s.{q(c)}' for c in extra)}, e.ins, "
            f"{variant_sql('s.__v')} AS k0 FROM (SELECT rid, node{extras}, ({value}) AS __v FROM {rec} "
            f"WHERE {where}) AS s JOIN ({edits_sql(variants)}) AS e ON length(s.__v) = e.ls) WHERE {check}")


def rule_estimate_sql(rule: BlockingRule, rec: str, left_where: str, right_where: str, top: int = 3,
                      sides: tuple[str, str] | None = None) -> str:
    """SELECT (total pairs, key values, right-side records, pairs) for the ``top`` largest key values.

    Counts only, no pair is made: per key value, left records x right records - or, when both
    sides are the same records (same keys, every record on the right), the unordered pairs
    ``nl * (nr - nl) + nl * (nl - 1) / 2``.  Keys over ``max_block`` are left out, as blocking
    drops them.  Pairs within one node and the ``pair_filter`` are not subtracted: an upper bound.
    ``sides``: the two sides made already (:func:`side_tables_sql`), read instead of computed.
    """
    n = len(rule.left_keys)
    key_cols = ", ".join(f"k{i}" for i in range(n))
    semi = " AND ".join(f"lc.k{i} = ra.k{i}" for i in range(n))
    same = rule.left_keys == rule.right_keys and right_where == "TRUE"
    pairs = "lc.n * (rc.n - lc.n) + lc.n * (lc.n - 1) // 2" if same else "lc.n * rc.n"
    label = "[" + ", ".join(f"CAST(k{i} AS VARCHAR)" for i in range(n)) + "]"
    left, right = sides or (f"({_side(rule, True, left_where, rec, [])})",
                            f"({_side(rule, False, right_where, rec, [])})")
    # the right side made already holds only the left's key values: the left's are counted only
    # where the right holds them (an ID's millions of variants, a few thousand of them matter)
    held = (" AS la WHERE EXISTS (SELECT 1 FROM " + right + " AS rb WHERE "
            + " AND ".join(f"rb.k{i} = la.k{i}" for i in range(n)) + ")") if sides else ""
    return (
        f"WITH lc AS (SELECT {key_cols}, count(*) AS n FROM {left}{held} GROUP BY {key_cols}), "
        f"rc AS (SELECT {key_cols}, count(*) AS n, count(DISTINCT rid) AS d FROM "
        f"{right} AS ra WHERE EXISTS (SELECT 1 FROM lc WHERE {semi}) GROUP BY {key_cols}), "
        f"g AS (SELECT {', '.join(f'lc.k{i}' for i in range(n))}, rc.n AS nr, {pairs} AS pairs FROM lc "
        f"JOIN rc USING ({key_cols}) WHERE rc.d <= {rule.max_block}) "
        f"SELECT total, {label} AS key, nr, pairs FROM (SELECT *, sum(pairs) OVER () AS total FROM g) "
        f"WHERE pairs > 0 ORDER BY pairs DESC LIMIT {top}"
    )


def check_rule_budget(sql: Sql, rule: BlockingRule, index: int, rec: str, plan: list[tuple[str, str]],
                      budget: int, sides: list[tuple[str, str]] | None = None) -> int:
    """The rule's estimated pairs over all ``plan`` passes (``sides``: each pass's sides made
    already); :class:`BlockingTooLoose` over ``budget``."""
    total, largest = 0, []
    for j, (left_where, right_where) in enumerate(plan):
        rows = sql.rows(rule_estimate_sql(rule, rec, left_where, right_where, sides=sides[j] if sides else None))
        total += int(rows[0][0]) if rows else 0
        largest += [(key, int(nr), int(p)) for _t, key, nr, p in rows]
    if total > budget:
        blocks = ", ".join(f"{' | '.join(mask(k) for k in key)} {nr:,} records ({p:,} pairs)" for key, nr, p in
                           sorted(largest, key=lambda r: -r[2])[:3])
        raise BlockingTooLoose(
            f"blocking[{index}] (rule {rule.name!r}) would compare about {total:,} record pairs, over the "
            f"budget of {budget:,} (max_pairs_per_rule); largest key values: {blocks}; make the rule "
            f"stricter (more keys, a smaller max_block) or raise max_pairs_per_rule / --max-pairs-per-rule")
    return total


def side_tables_sql(rule: BlockingRule, rec: str, left_where: str, right_where: str, sides: tuple[str, str],
                    extra: list[str] | None = None) -> list[str]:
    """Statements creating a rule's two sides as TEMP tables ``sides`` (left, right): its keys
    computed once for the estimate and the pairs alike - an expression key (an ID's hundreds of
    one-keystroke variants) costs more than both queries' joins.  The right side holds only key
    values the left side holds (a semi-join on the left side as it is: making its keys distinct
    first costs as much as the semi-join), so it stays as small as the left."""
    extra = extra or []
    n = len(rule.left_keys)
    semi = " AND ".join(f"lkeys.k{i} = ra.k{i}" for i in range(n))
    left = _side(rule, True, left_where, rec, extra)
    if rule.variants:  # hundreds of variants a record, a few of which the right side holds: keep those
        right = _side(rule, False, right_where, rec, [])
        left = f"SELECT * FROM ({left}) AS la WHERE EXISTS (SELECT 1 FROM ({right}) AS rb WHERE rb.k0 = la.k0)"
    return [f"CREATE OR REPLACE TEMP TABLE {sides[0]} AS {left}",
            f"CREATE OR REPLACE TEMP TABLE {sides[1]} AS SELECT ra.* FROM "
            f"({_side(rule, False, right_where, rec, extra, guard=False)}) AS ra "
            f"WHERE EXISTS (SELECT 1 FROM {sides[0]} AS lkeys WHERE {semi})"]


def rule_pairs_sql(rule: BlockingRule, index: int, rec: str, left_where: str, right_where: str,
                   pair_filter: str | None = None, extra: list[str] | None = None,
                   ordered: bool = False, sides: tuple[str, str] | None = None) -> str:
    """SELECT (l, r, rule) for one rule; ``ordered`` keeps only l < r (symmetric ``all`` scope).

    The right side is first cut down to key values the left side holds (a semi-join), so the
    block-size guard counts a few thousand keys rather than grouping the whole table.  ``sides``:
    the two sides made already (:func:`side_tables_sql`), read instead of computed.
    """
    extra = extra or []
    n = len(rule.left_keys)
    on = " AND ".join(f"lk.k{i} = rk.k{i}" for i in range(n))
    key_cols = ", ".join(f"k{i}" for i in range(n))
    semi = " AND ".join(f"lkeys.k{i} = ra.k{i}" for i in range(n))
    big_on = " AND ".join(f"big.k{i} = rk.k{i}" for i in range(n))
    conds = ["lk.node <> rk.node", f"NOT EXISTS (SELECT 1 FROM big WHERE {big_on})"]
    if ordered:
        conds.append("lk.rid < rk.rid")
    if pair_filter:
        conds.append(f"({pair_filter})")
    head = (f"WITH lk AS (SELECT * FROM {sides[0]}), rk AS (SELECT * FROM {sides[1]}), " if sides else
            f"WITH lk AS ({_side(rule, True, left_where, rec, extra)}), "
            f"lkeys AS (SELECT DISTINCT {key_cols} FROM lk), "
            f"rk AS (SELECT ra.* FROM ({_side(rule, False, right_where, rec, extra)}) AS ra "
            f"WHERE EXISTS (SELECT 1 FROM lkeys WHERE {semi})), ")
    return (
        f"{head}big AS (SELECT {key_cols} FROM rk GROUP BY {key_cols} HAVING count(DISTINCT rid) > {rule.max_block}) "
        f"SELECT DISTINCT lk.rid AS l, rk.rid AS r, {index} AS rule FROM lk JOIN rk ON {on} "
        f"WHERE {' AND '.join(conds)}"
    )


def candidate_pairs(sql: Sql, cfg: ResolveConfig, rec: str, out: str,
                    passes: list[tuple[str, str]] | None = None, pair_filter: str | None = None,
                    extra: list[str] | None = None) -> dict[str, int]:
    """Create ``out`` (l, r, rule) with l < r: the union of all rules over ``passes``.

    ``passes`` are (left_where, right_where) predicates over ``rec``; by default one pass, left =
    unanchored records for ``rest`` rules, everything for ``all`` rules.  Returns pairs per rule.
    Each rule is a step ``rule <name>`` noting its estimated and made pairs; a rule estimated over
    ``cfg.max_pairs_per_rule`` raises :class:`BlockingTooLoose` before any pair is made.
    """
    raw = f"{out}_raw"
    sql.run(f"CREATE OR REPLACE TEMP TABLE {raw} (l BIGINT, r BIGINT, rule INTEGER)")
    for i, rule in enumerate(cfg.blocking):
        plan = passes if passes is not None else [("NOT anchored" if rule.scope == "rest" else "TRUE", "TRUE")]
        with sql.step(f"rule {rule.name}", timed=False):
            sides = [(f"{out}_lk{j}", f"{out}_rk{j}") for j in range(len(plan))]
            for j, (left_where, right_where) in enumerate(plan):
                for stmt in side_tables_sql(rule, rec, left_where, right_where, sides[j], extra):
                    sql.run(stmt)
            estimate = check_rule_budget(sql, rule, i, rec, plan, cfg.max_pairs_per_rule, sides)
            made = 0
            for j, (left_where, right_where) in enumerate(plan):
                ordered = rule.scope == "all" and passes is None and not (rule.left or rule.right)
                made += int(sql.one(f"INSERT INTO {raw} " + rule_pairs_sql(rule, i, rec, left_where, right_where,
                                                                             pair_filter, extra, ordered, sides[j])) or 0)
            for table in (t for side in sides for t in side):
                sql.run(f"DROP TABLE {table}")
            sql.note(estimated=estimate, pairs=made)
    sql.run(f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT least(l, r) AS l, greatest(l, r) AS r, min(rule) AS rule "
            f"FROM {raw} GROUP BY least(l, r), greatest(l, r)")
    counts = dict(sql.rows(f"SELECT rule, count(*) FROM {out} GROUP BY rule"))
    sql.run(f"DROP TABLE {raw}")
    return {r.name: int(counts.get(i, 0)) for i, r in enumerate(cfg.blocking)}
