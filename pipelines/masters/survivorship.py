"""Golden records: for each attribute of a master, which value survives, and from which record.

Candidate values are every non-null value the cluster's records hold.  The configuration ranks
them with a chain of rules, ties going to the next rule:

* ``validated_first`` - values from records where the attribute's ``validated`` SQL holds (a
  birth date equal to the one embedded in the validated ID) come first;
* ``source_priority`` - the department listed first wins (public security for names);
* ``most_recent`` - the value seen most recently (source update time, else extraction time);
* ``most_frequent`` - the value most records agree on;
* ``non_null`` - any value (the final tie-breaks still make it deterministic).

Final tie-breaks are the value itself and then the smallest record id, so the same input always
yields the same golden record.  Every surviving value keeps the record it came from (its
``record_id``, source, table and batch) in the lineage table.

One GROUP BY (cluster, value) per attribute does the work: counts, recency and priority are
aggregates of a value's records, and the record that supplied it is an ``arg_min`` over the same
ranking - no per-record window over the whole table.
"""

from __future__ import annotations

from pipelines.resolve.config import Attribute, ResolveConfig
from pipelines.resolve.sql import Sql, lit, q

LINEAGE_COLUMNS = ("master", "master_id", "attribute", "value", "record_id", "source", "table_name", "batch_id")


def _srank(a: Attribute) -> str:
    if not a.sources:
        return "0"
    whens = " ".join(f"WHEN {lit(s)} THEN {i}" for i, s in enumerate(a.sources))
    return f"CASE _source {whens} ELSE {len(a.sources)} END"


def attribute_sql(cfg: ResolveConfig, name: str, a: Attribute, inp: str, where: str = "") -> str:
    """SELECT (master_id, value, src struct) of one attribute's surviving values."""
    value = a.value or q(name)
    ok = f"coalesce(({a.validated}), FALSE)" if a.validated else "FALSE"
    filt = f" AND {ok}" if a.validated_only else ""
    order: list[str] = []
    rec_key: list[str] = []
    for rule in a.rules:
        if rule == "validated_first":
            order.append("ok DESC")
            rec_key.append("o := NOT ok")
        elif rule == "source_priority":
            order.append("srank ASC")
            rec_key.append("s := srank")
        elif rule == "most_recent":
            order.append("ts DESC")
            rec_key.append("t := -epoch_ms(ts)")
        elif rule == "most_frequent":
            order.append("freq DESC")
    rec_key.append("r := record_id")
    order.append("value ASC")
    extra_where = f" AND ({where})" if where else ""
    return (
        f"SELECT master_id, value, src FROM (SELECT master_id, value, count(*) AS freq, max(ts) AS ts, "
        f"min(srank) AS srank, bool_or(ok) AS ok, arg_min(struct_pack(record_id := record_id, source := _source, "
        f"table_name := _table, batch_id := _batch_id), struct_pack({', '.join(rec_key)})) AS src FROM ("
        f"SELECT master_id, ({value}) AS value, record_id, _source, _table, _batch_id, "
        f"coalesce(_updated_at, _extracted_at) AS ts, {_srank(a)} AS srank, {ok} AS ok FROM {inp} "
        f"WHERE ({value}) IS NOT NULL{filt}{extra_where}) GROUP BY master_id, value) "
        f"QUALIFY row_number() OVER (PARTITION BY master_id ORDER BY {', '.join(order)}) = 1"
    )


def build_golden(sql: Sql, cfg: ResolveConfig, inp: str, out: str, lineage: str, where: str = "") -> None:
    """Create TEMP ``out`` (master_id, attributes..., record_count, sources, first_seen, last_seen)
    and TEMP ``lineage`` from ``inp`` (records + ``master_id``); ``where`` limits the masters."""
    p = cfg.master
    extra_where = f" WHERE {where}" if where else ""
    sql.run(
        f"CREATE OR REPLACE TEMP TABLE {p}_gbase AS SELECT master_id, count(*) AS record_count, "
        f"list(DISTINCT _source ORDER BY _source) AS sources, min(_extracted_at) AS first_seen, "
        f"max(_extracted_at) AS last_seen FROM {inp}{extra_where} GROUP BY master_id"
    )
    joins: list[str] = []
    cols: list[str] = []
    parts: list[str] = []
    for i, (name, a) in enumerate(cfg.attributes.items()):
        t = f"{p}_gv_{i}"
        sql.run(f"CREATE OR REPLACE TEMP TABLE {t} AS {attribute_sql(cfg, name, a, inp, where)}")
        joins.append(f"LEFT JOIN {t} AS a{i} ON a{i}.master_id = b.master_id")
        cols.append(f"a{i}.value AS {q(name)}")
        parts.append(f"SELECT {lit(p)} AS master, master_id, {lit(name)} AS attribute, CAST(value AS VARCHAR) AS value, "
                     f"src.record_id, src.source, src.table_name, src.batch_id FROM {t}")
    sql.run(
        f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT b.master_id, {', '.join(cols) + ', ' if cols else ''}"
        f"b.record_count, b.sources, b.first_seen, b.last_seen FROM {p}_gbase AS b {' '.join(joins)} "
        f"ORDER BY b.master_id"
    )
    if parts:
        sql.run(f"CREATE OR REPLACE TEMP TABLE {lineage} AS {' UNION ALL '.join(parts)}")
    else:
        sql.run(f"CREATE OR REPLACE TEMP TABLE {lineage} AS SELECT CAST(NULL AS VARCHAR) AS master, "
                f"CAST(NULL AS VARCHAR) AS master_id, CAST(NULL AS VARCHAR) AS attribute, CAST(NULL AS VARCHAR) AS value, "
                f"CAST(NULL AS VARCHAR) AS record_id, CAST(NULL AS VARCHAR) AS source, "
                f"CAST(NULL AS VARCHAR) AS table_name, CAST(NULL AS VARCHAR) AS batch_id LIMIT 0")
    for i in range(len(cfg.attributes)):
        sql.run(f"DROP TABLE {p}_gv_{i}")
    sql.run(f"DROP TABLE {p}_gbase")


def attribute_change_sql(cfg: ResolveConfig, old: str, new: str, lineage: str) -> str:
    """SELECT (master_id, attribute, old_value, new_value, batch_id) for kept ids whose value changed."""
    parts = []
    for name in cfg.attributes:
        parts.append(
            f"SELECT n.master_id, {lit(name)} AS attribute, CAST(o.{q(name)} AS VARCHAR) AS old_value, "
            f"CAST(n.{q(name)} AS VARCHAR) AS new_value, l.batch_id FROM {new} AS n JOIN {old} AS o "
            f"ON o.master_id = n.master_id LEFT JOIN {lineage} AS l ON l.master_id = n.master_id "
            f"AND l.attribute = {lit(name)} WHERE n.{q(name)} IS DISTINCT FROM o.{q(name)}"
        )
    if not parts:
        return ("SELECT CAST(NULL AS VARCHAR) AS master_id, CAST(NULL AS VARCHAR) AS attribute, "
                "CAST(NULL AS VARCHAR) AS old_value, CAST(NULL AS VARCHAR) AS new_value, "
                "CAST(NULL AS VARCHAR) AS batch_id LIMIT 0")
    return " UNION ALL ".join(parts)
