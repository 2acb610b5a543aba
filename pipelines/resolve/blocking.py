"""Blocking: which record pairs are compared at all.

Each rule is an equi-join on one or more keys, so the database does the work with hash joins and
no rule is ever quadratic in the table.  The left side is restricted to records the deterministic
pass left unanchored (``scope: rest``): anchored records are already settled by their key, so the
probabilistic pass costs in proportion to the messy few percent, not the whole population.

Guards against junk: NULL keys never join (placeholders are NULL in silver), and a key value held
by more than ``max_block`` records on the right side is dropped - a value that common (a shared
office phone, a filler that slipped through) cannot tell records apart and would only make pairs.
Pairs within one node are skipped (already together).
"""

from __future__ import annotations

from core.sqltext import q
from pipelines.resolve.config import BlockingRule, ResolveConfig
from pipelines.resolve.sql import Sql


def _side(rule: BlockingRule, exprs: list[str], where: str, rec: str, extra: list[str]) -> str:
    keys = [e if (rule.left or rule.right) else q(e) for e in exprs]
    cols = ", ".join(f"{k} AS k{i}" for i, k in enumerate(keys))
    extras = "".join(f", {q(c)}" for c in extra)
    inner = f"SELECT rid, node{extras}, {cols} FROM {rec} WHERE {where}"
    not_null = " AND ".join(f"k{i} IS NOT NULL" for i in range(len(keys)))
    return f"SELECT * FROM ({inner}) WHERE {not_null}"


def rule_pairs_sql(rule: BlockingRule, index: int, rec: str, left_where: str, right_where: str,
                   pair_filter: str | None = None, extra: list[str] | None = None,
                   ordered: bool = False) -> str:
    """SELECT (l, r, rule) for one rule; ``ordered`` keeps only l < r (symmetric ``all`` scope).

    The right side is first cut down to key values the left side holds (a semi-join), so the
    block-size guard counts a few thousand keys rather than grouping the whole table.
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
    return (
        f"WITH lk AS ({_side(rule, rule.left_keys, left_where, rec, extra)}), "
        f"lkeys AS (SELECT DISTINCT {key_cols} FROM lk), "
        f"rk AS (SELECT ra.* FROM ({_side(rule, rule.right_keys, right_where, rec, extra)}) AS ra "
        f"WHERE EXISTS (SELECT 1 FROM lkeys WHERE {semi})), "
        f"big AS (SELECT {key_cols} FROM rk GROUP BY {key_cols} HAVING count(DISTINCT rid) > {rule.max_block}) "
        f"SELECT DISTINCT lk.rid AS l, rk.rid AS r, {index} AS rule FROM lk JOIN rk ON {on} "
        f"WHERE {' AND '.join(conds)}"
    )


def candidate_pairs(sql: Sql, cfg: ResolveConfig, rec: str, out: str,
                    passes: list[tuple[str, str]] | None = None, pair_filter: str | None = None,
                    extra: list[str] | None = None) -> dict[str, int]:
    """Create ``out`` (l, r, rule) with l < r: the union of all rules over ``passes``.

    ``passes`` are (left_where, right_where) predicates over ``rec``; by default one pass, left =
    unanchored records for ``rest`` rules, everything for ``all`` rules.  Returns pairs per rule.
    """
    raw = f"{out}_raw"
    sql.run(f"CREATE OR REPLACE TEMP TABLE {raw} (l BIGINT, r BIGINT, rule INTEGER)")
    for i, rule in enumerate(cfg.blocking):
        plan = passes if passes is not None else [("NOT anchored" if rule.scope == "rest" else "TRUE", "TRUE")]
        for left_where, right_where in plan:
            ordered = rule.scope == "all" and passes is None and not (rule.left or rule.right)
            sql.run(f"INSERT INTO {raw} " + rule_pairs_sql(rule, i, rec, left_where, right_where, pair_filter,
                                                             extra, ordered))
    sql.run(f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT least(l, r) AS l, greatest(l, r) AS r, min(rule) AS rule "
            f"FROM {raw} GROUP BY least(l, r), greatest(l, r)")
    counts = dict(sql.rows(f"SELECT rule, count(*) FROM {out} GROUP BY rule"))
    sql.run(f"DROP TABLE {raw}")
    return {r.name: int(counts.get(i, 0)) for i, r in enumerate(cfg.blocking)}
